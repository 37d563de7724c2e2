"""The frozen validation set: tokenfab's prediction of each published result, REPORT ONLY.

``shared/validation/mlperf_inference.csv`` (MLPerf Inference v4.0-v5.1 closed-division results
and one SGLang blog figure) is never used to fit, tune or choose anything: this module only
predicts its rows with a catalog it is given (whose factors came from elsewhere) and measures
the error. Keep any fitting code out of this file.

Each row becomes a Scenario on the system's accelerators with the dataset-mean lengths;
Offline rows take the maximum-throughput point, Server rows the maximum throughput that meets
the round's TTFT and TPOT limits. The ratio error compares two systems within one round,
scenario and model, where the workload cancels: ``|(pred_a / pred_b) / (meas_a / meas_b) - 1|``.
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenfab.calibrate.records import accelerator_id, model_id, precision_of
from tokenfab.catalog import Catalog
from tokenfab.errors import TokenfabError
from tokenfab.perf.operating import estimate
from tokenfab.scenario import Scenario

FILE = Path("validation") / "mlperf_inference.csv"


@dataclass
class Row:
    line: int
    label: str
    round: str
    scenario: str
    model: str | None
    accelerator: str | None
    measured: float
    predicted: float | None
    why_not: str | None
    low: float | None = None  # the estimate's error band of output throughput
    high: float | None = None
    point: object = None  # the estimate's OperatingPoint (layout, batch), for bench_peers.py


def shared_dir(start: Path) -> Path | None:
    """The nearest ``shared/`` directory above ``start`` (the checkout's sibling)."""
    for p in [start, *start.parents]:
        if (p / "shared" / "validation").is_dir():
            return p / "shared"
    return None


def predict_rows(path: Path, catalog: Catalog) -> list[Row]:
    """Predicted output tokens per second of every row (None with the reason where not)."""
    out: list[Row] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for rec in reader:
            line = reader.line_num
            rnd = re.search(r"v\d+\.\d+", rec["benchmark"])
            row = Row(
                line=line,
                label=f"{rec['benchmark']} | {rec['model']} | {rec['scenario']} | "
                f"{rec['accelerators_per_system']}x {rec['accelerator']}",
                round=rnd.group(0) if rnd else rec["benchmark"],
                scenario=rec["scenario"],
                model=model_id(rec["model"], catalog),
                accelerator=accelerator_id(rec["accelerator"], catalog),
                measured=float(rec["throughput_tok_s_per_system"]),
                predicted=None,
                why_not=None,
            )
            out.append(row)
            if row.model is None:
                row.why_not = f"model {rec['model']!r} not in the catalog"
                continue
            if row.accelerator is None:
                row.why_not = f"accelerator {rec['accelerator']!r} not in the catalog"
                continue
            if not rec["mean_output_tokens"]:
                row.why_not = "output length not published (decode nodes only)"
                continue
            server = rec["scenario"].startswith("Server")
            try:
                op = estimate(
                    Scenario(
                        model=row.model,
                        accelerator=row.accelerator,
                        accelerators=int(rec["accelerators_per_system"]),
                        precision=precision_of(rec["precision"]),
                        input_tokens=round(float(rec["mean_input_tokens"])),
                        output_tokens=round(float(rec["mean_output_tokens"])),
                        ttft_slo_s=float(rec["ttft_limit_s"])
                        if server and rec["ttft_limit_s"]
                        else None,
                        tpot_slo_s=float(rec["tpot_limit_s"])
                        if server and rec["tpot_limit_s"]
                        else None,
                    ),
                    catalog,
                )
            except TokenfabError as exc:
                row.why_not = str(exc)
                continue
            row.predicted = float(op.output_tok_s_total)
            row.point = op
            band = op.error_band_keys()
            row.low, row.high = band["output_tok_s_total_low"], band["output_tok_s_total_high"]
    return out


def summary(rows: list[Row]) -> dict[str, float | int]:
    """Median absolute error, median ratio error within round x scenario x model, the share
    of rows whose measured throughput falls inside the estimate's error band, counts."""
    ok = [r for r in rows if r.predicted is not None]
    err = np.array([abs(r.predicted / r.measured - 1) for r in ok])
    ratios = []
    key = lambda r: (r.round, r.scenario.split(" ")[0], r.model)  # noqa: E731
    for _, grp in itertools.groupby(sorted(ok, key=key), key=key):
        for a, b in itertools.combinations(list(grp), 2):
            ratios.append(abs((a.predicted / b.predicted) / (a.measured / b.measured) - 1))
    banded = [r for r in ok if r.low is not None and r.high is not None]
    inside = [r.low <= r.measured <= r.high for r in banded]
    return {
        "rows": len(rows),
        "predicted": len(ok),
        "banded": len(banded),
        "band_coverage": float(np.mean(inside)) if inside else float("nan"),
        "median_abs_error": float(np.median(err)) if err.size else float("nan"),
        "pairs": len(ratios),
        "median_ratio_error": float(np.median(ratios)) if ratios else float("nan"),
    }
