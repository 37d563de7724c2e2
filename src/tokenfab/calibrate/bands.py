"""Error bands from grouped cross-validation residuals, and how well they carry to new runs.

A band for a held-out split and a metric is the pair of quantiles of ``measured / predicted``
over the runs that split held out, enclosing ``coverage`` of them (0.9: the 5th and 95th
percentiles). Its *held-out coverage* is measured one level further out: for each fold, the
band taken from the residuals of the other folds only, and the share of that fold's runs
inside it -- the chance that a new run (a configuration, a model family, an accelerator
family the residuals never included) falls inside its estimate's band.

The run path reads the bands from ``data/error_bands.csv``
(:func:`tokenfab.perf.calibration.error_band`); this module only computes them.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tokenfab.calibrate import adapter
from tokenfab.fileio import check_output_folder
from tokenfab.perf.calibration import MIN_BAND_RESIDUALS

BAND_COLUMNS = (
    "id",
    "split",
    "metric",
    "coverage",
    "measured_over_predicted_low",
    "measured_over_predicted_high",
    "measured_over_predicted_median",
    "residuals",
    "holdout_coverage",
    "source",
    "as_of",
    "notes",
)


BAND_METRICS = (*adapter.METRICS, "ttft_s_concurrent")
"""Figures with a band: the fitted metrics, and TTFT under closed-loop concurrency (predicted,
its two closed-loop terms refitted in each fold: :mod:`tokenfab.calibrate.closed_loop`)."""


def quantile_band(ratio: NDArray, coverage: float) -> tuple[float, float]:
    """(low, high) quantiles of ``ratio`` enclosing the central ``coverage`` share.

    The 5th and 95th percentiles of 1, 2, ..., 101 (linear interpolation: 1 + 0.05 x 100 and
    1 + 0.95 x 100):

    >>> [round(x, 9) for x in quantile_band(np.arange(1.0, 102.0), 0.9)]
    [6.0, 96.0]
    """
    tail = (1.0 - coverage) / 2.0
    lo, hi = np.quantile(np.asarray(ratio, dtype=float), [tail, 1.0 - tail])
    return float(lo), float(hi)


def holdout_coverage(ratio: NDArray, folds: Sequence[NDArray], coverage: float) -> float:
    """Share of runs inside the band taken from the *other* folds' residuals.

    ``ratio`` holds one value a run; ``folds`` the run indices of each fold (every run in
    one). Folds whose complement is empty are skipped.
    """
    ratio = np.asarray(ratio, dtype=float)
    inside = total = 0
    everything = np.arange(ratio.size)
    for test in folds:
        train = np.setdiff1d(everything, test)
        if train.size == 0 or test.size == 0:
            continue
        lo, hi = quantile_band(ratio[train], coverage)
        inside += int(np.sum((ratio[test] >= lo) & (ratio[test] <= hi)))
        total += int(test.size)
    return inside / total if total else float("nan")


def band_rows(
    predicted: Mapping[str, NDArray],
    folds: Mapping[str, Sequence[NDArray]],
    measured: NDArray,
    metric: NDArray,
    rows: NDArray,
    coverage: float = 0.9,
) -> list[dict[str, object]]:
    """One band per (split, metric) from held-out predictions.

    Parameters
    ----------
    predicted : mapping
        Split name -> held-out prediction of every target.
    folds : mapping
        Split name -> target indices of each of its folds.
    measured, metric : ndarray
        Measured value and metric name of every target (``ttft_s_concurrent`` for TTFT under
        closed-loop concurrency).
    rows : ndarray of bool
        Targets the bands describe (the aggregated runs the catalog's factors serve).
    """
    out: list[dict[str, object]] = []
    for split, pred in predicted.items():
        for m in BAND_METRICS:
            sel = rows & (metric == m) & np.isfinite(pred)
            idx = np.flatnonzero(sel)
            if idx.size < MIN_BAND_RESIDUALS:
                continue
            ratio = measured[idx] / pred[idx]
            pos = {int(t): k for k, t in enumerate(idx)}
            sub = [
                np.array([pos[int(t)] for t in f if int(t) in pos], dtype=int) for f in folds[split]
            ]
            lo, hi = quantile_band(ratio, coverage)
            out.append(
                {
                    "split": split,
                    "metric": m,
                    "coverage": coverage,
                    "measured_over_predicted_low": round(lo, 4),
                    "measured_over_predicted_high": round(hi, 4),
                    "measured_over_predicted_median": round(float(np.median(ratio)), 4),
                    "residuals": int(idx.size),
                    "holdout_coverage": round(holdout_coverage(ratio, sub, coverage), 4),
                }
            )
    return out


def band_counts(
    predicted: Mapping[str, NDArray],
    metric: NDArray,
    rows: NDArray,
    splits: Sequence[str] = ("configuration", "model_family"),
) -> list[dict[str, object]]:
    """How many held-out values each (split, metric) band has, and whether
    :func:`band_rows` writes it (at least :data:`MIN_BAND_RESIDUALS`); a split the runs could
    not hold out (one configuration, one model family) has none.

    Examples
    --------
    >>> pred = {"configuration": np.array([1.0, 1.0, np.nan])}
    >>> m = np.array(["tpot_s", "tpot_s", "tpot_s"])
    >>> band_counts(pred, m, np.ones(3, bool), ("configuration",))[1]
    {'split': 'configuration', 'metric': 'tpot_s', 'held_out_values': 2, 'written': False}
    """
    out: list[dict[str, object]] = []
    for split in splits:
        pred = predicted.get(split)
        for m in BAND_METRICS:
            n = 0 if pred is None else int(np.sum(rows & (metric == m) & np.isfinite(pred)))
            out.append(
                {
                    "split": split,
                    "metric": m,
                    "held_out_values": n,
                    "written": n >= MIN_BAND_RESIDUALS,
                }
            )
    return out


def bands_summary(counts: Sequence[Mapping[str, object]], folder: Path) -> str:
    """One line on the bands a calibration wrote and those it left to the built-in table.

    Examples
    --------
    >>> c = [
    ...     {"split": "configuration", "metric": "tpot_s", "held_out_values": 7, "written": True},
    ...     {"split": "configuration", "metric": "ttft_s", "held_out_values": 3, "written": False},
    ... ]
    >>> print(bands_summary(c, Path("cal")))
    error bands: written for configuration tpot_s (7 held-out values); not written, fewer than 5 held-out values: configuration ttft_s (3); an estimate with --catalog cal shows the built-in band for those and says so (band source)
    """
    written = [c for c in counts if c["written"]]
    left = [c for c in counts if not c["written"]]
    parts = []
    if written:
        parts.append(
            "written for "
            + ", ".join(
                f"{c['split']} {c['metric']} ({c['held_out_values']} held-out values)"
                for c in written
            )
        )
    if left:
        parts.append(
            f"{'not written' if written else 'none written'}, fewer than {MIN_BAND_RESIDUALS} "
            "held-out values: "
            + ", ".join(f"{c['split']} {c['metric']} ({c['held_out_values']})" for c in left)
        )
        parts.append(
            f"an estimate with --catalog {folder} shows the built-in band for those and says so "
            "(band source)"
        )
    return "error bands: " + "; ".join(parts)


def write_bands(out: Path, rows: list[dict[str, object]], source: str) -> Path:
    """Write ``out/error_bands.csv`` (the ``error-bands`` catalog)."""
    out = check_output_folder(out)  # a new folder, never a missing parent
    out.mkdir(exist_ok=True)
    path = out / "error_bands.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=BAND_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    "id": f"{str(r['split']).replace('_', '-')}-{str(r['metric']).replace('_', '-')}",
                    **r,
                    "source": source,
                    "as_of": date.today().isoformat(),
                    "notes": f"{r['coverage']:.0%} of held-out runs' measured / predicted "
                    f"between the two ratios; holdout_coverage: the same band from the other "
                    "folds only",
                }
            )
    return path
