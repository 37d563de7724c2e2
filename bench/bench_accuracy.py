"""Accuracy of the serving model on measurements it never saw (`make bench`).

    python bench/bench_accuracy.py            # print the table
    python bench/bench_accuracy.py --write    # ... and store it in bench/results/accuracy.md

Calibration runs: the AIConfigurator silicon sample (shared/calibration/aic_silicon_sample.csv,
Apache-2.0, ai-dynamo/aiconfigurator) and the published figures in bench/data/. The factors are
refitted per fold (tokenfab.calibrate.fit: bounded least-squares per accelerator family x engine
x version era) and every run is predicted by a fit that never saw its group:

* by configuration -- 5 folds that hold a configuration's runs (other lengths and loads) out
  together;
* leave one model family out (DeepSeek R1/V3/V3.1 one family, Llama 3.x one ...);
* leave one accelerator family out.

"before" is the error with the factors stored in data/efficiency.csv (what estimates use
today). The frozen validation set is predicted in bench/frozen_set.py, report only: with the
stored factors, and with factors fitted here on the calibration runs alone.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import frozen_set  # noqa: E402  (bench/ is not a package)
from tokenfab.calibrate import adapter, fit, groups  # noqa: E402
from tokenfab.calibrate.importers import read_files  # noqa: E402
from tokenfab.calibrate.run import GroupReport, write_catalog  # noqa: E402
from tokenfab.catalog import Catalog, default_catalog  # noqa: E402

RESULTS = HERE / "results" / "accuracy.md"


def calibration_files() -> tuple[list[Path], str]:
    files = [
        HERE / "data" / "measured_throughput.csv",
        HERE / "data" / "measured_throughput_added.csv",
    ]
    shared = frozen_set.shared_dir(HERE.resolve())
    aic = shared / "calibration" / "aic_silicon_sample.csv" if shared else None
    if aic and aic.is_file():
        return [aic, *files], ""
    return files, "(shared/calibration/aic_silicon_sample.csv not found: published figures only)"


def medians(err: np.ndarray, metric: np.ndarray) -> dict[str, float]:
    out = {m: float(np.nanmedian(err[metric == m])) for m in adapter.METRICS if (metric == m).any()}
    out["all"] = float(np.nanmedian(err))
    return out


def pct(x: float | None) -> str:
    return "-" if x is None or np.isnan(x) else f"{x:.1%}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store the table in bench/results/")
    args = ap.parse_args()
    cat = default_catalog()
    t0 = time.perf_counter()
    files, note = calibration_files()
    runs, issues = read_files(files, cat)
    prep = adapter.prepare(runs, cat)
    ms = [runs[r] for r in prep.record]
    keys = [fit.factor_key_family_engine_era(m, cat) for m in ms]
    bounds = fit.measured_bounds(cat)
    t_read = time.perf_counter() - t0

    before = fit.abs_error(adapter.predict(prep, adapter.stored_factors(prep, cat)), prep.measured)
    t1 = time.perf_counter()
    full = fit.fit(prep, keys, measured=bounds)
    t_fit = time.perf_counter() - t1
    insample = fit.abs_error(adapter.predict(prep, full.factors_for(keys)), prep.measured)
    cfg = groups.group_ids([groups.config_key(m) for m in ms])
    fam = groups.group_ids([groups.model_family(m.model) for m in ms])
    accf = groups.group_ids([cat.accelerator(m.accelerator).family for m in ms])
    t2 = time.perf_counter()
    cv_cfg = fit.abs_error(fit.cross_validate(prep, keys, cfg, k=5, measured=bounds), prep.measured)
    t_cv = time.perf_counter() - t2
    cv_fam = fit.abs_error(
        fit.cross_validate(prep, keys, fam, k=None, measured=bounds), prep.measured
    )
    cv_acc = fit.abs_error(
        fit.cross_validate(prep, keys, accf, k=None, measured=bounds), prep.measured
    )
    t_all = time.perf_counter() - t0

    cols = [
        ("stored factors (before; in sample for bench/data rows)", medians(before, prep.metric)),
        ("refit, in sample (regression guard)", medians(insample, prep.metric)),
        ("held out by configuration (5 folds)", medians(cv_cfg, prep.metric)),
        ("leave one model family out", medians(cv_fam, prep.metric)),
        ("leave one accelerator family out", medians(cv_acc, prep.metric)),
    ]
    n = {m: int((prep.metric == m).sum()) for m in adapter.METRICS}
    lines = [
        "| median abs error | "
        + " | ".join(f"{m} (n={n[m]})" for m in adapter.METRICS)
        + " | all |",
        "|---|" + "---:|" * (len(adapter.METRICS) + 1),
    ]
    for label, med in cols:
        lines.append(
            f"| {label} | " + " | ".join(pct(med.get(m)) for m in (*adapter.METRICS, "all")) + " |"
        )
    table = "\n".join(lines)

    # the frozen validation set, predicted only (never fitted): stored factors, and factors
    # fitted above on the calibration runs alone, written as a catalog the run path reads
    stored = frozen_set.summary(frozen_set.predict_rows(frozen_set_path(), cat))
    sw_keys = [fit.factor_key_family_software(m, cat) for m in ms]
    refit = fit.fit(prep, sw_keys, measured=bounds)
    with tempfile.TemporaryDirectory() as tmp:
        reports = [
            GroupReport(str(g[0]), str(g[1]), 0, refit.rows[g], 0.0, None, refit.groups[g])
            for g in sorted(refit.groups)
        ]
        keys_arr = np.array([f"{a}|{b}" for a, b in sw_keys])
        write_catalog(Path(tmp), reports, np.full(prep.size, np.nan), keys_arr, files)
        refitted = frozen_set.summary(frozen_set.predict_rows(frozen_set_path(), Catalog([tmp])))
    val = "\n".join(
        [
            "| frozen validation set (report only) | rows predicted | median abs error | pairs | median ratio error |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {label} | {s['predicted']} of {s['rows']} | {pct(s['median_abs_error'])} | "
                f"{s['pairs']} | {pct(s['median_ratio_error'])} |"
                for label, s in (
                    ("stored factors", stored),
                    ("refit on calibration runs", refitted),
                )
            ),
        ]
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    expressed = len({int(r) for r in prep.record})
    foot = (
        f"{len(runs)} runs read from {len(files)} files ({len(issues)} records not used), "
        f"{expressed} expressible by today's model, {prep.size} measured values; "
        f"{len(full.groups)} factor groups (family x engine x era). {note}\n"
        f"Time: read {t_read:.1f} s, one fit {t_fit:.1f} s, 5-fold CV {t_cv:.1f} s, everything "
        f"{t_all:.1f} s; peak memory {peak_mb:.0f} MB."
    )
    print(table, val, foot, sep="\n\n")
    if args.write:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            f"# Accuracy on held-out measurements\n\nGenerated by `python bench/bench_accuracy.py "
            f"--write` on {date.today().isoformat()}.\n\n{table}\n\n{val}\n\n{foot}\n"
        )
    return 0


def frozen_set_path() -> Path:
    shared = frozen_set.shared_dir(HERE.resolve())
    if shared is None:
        raise SystemExit("bench_accuracy: shared/ (calibration and validation data) not found")
    return shared / frozen_set.FILE


if __name__ == "__main__":
    sys.exit(main())
