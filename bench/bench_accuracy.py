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
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import frozen_set  # noqa: E402  (bench/ is not a package)
from tokenfab.calibrate import adapter, closed_loop, fit, groups  # noqa: E402
from tokenfab.calibrate.bands import band_rows, write_bands  # noqa: E402
from tokenfab.calibrate.importers import read_files  # noqa: E402
from tokenfab.calibrate.run import catalog_keys, group_reports, write_catalog  # noqa: E402
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


REPORTED = ("ttft_s", "ttft_s_concurrent", "tpot_s", "output_tok_s")
"""Metrics reported: TTFT at a fixed batch (fitted), TTFT under closed-loop concurrency
(predicted with the queueing wait; the efficiency factors are not fitted to it, only its two
closed-loop terms -- front end and first wave, per software class, refitted in every fold:
tokenfab.calibrate.closed_loop), TPOT and output throughput (fitted)."""


def medians(err: np.ndarray, metric: np.ndarray) -> dict[str, float]:
    out = {m: float(np.nanmedian(err[metric == m])) for m in REPORTED if (metric == m).any()}
    fitted = metric != "ttft_s_concurrent"
    out["all"] = float(np.nanmedian(err[fitted])) if fitted.any() else float("nan")
    return out


def pct(x: float | None) -> str:
    return "-" if x is None or np.isnan(x) else f"{x:.1%}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--write",
        action="store_true",
        help="store the table in bench/results/ and the fitted factors and error bands in "
        "src/tokenfab/data/ (efficiency.csv, error_bands.csv)",
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="the published figures in bench/data/ only (a quick check of this script; writes "
        "nothing)",
    )
    args = ap.parse_args()
    if args.smoke and args.write:
        ap.error("--smoke writes nothing: drop --write")
    cat = default_catalog()
    t0 = time.perf_counter()
    files, note = calibration_files()
    if args.smoke:
        files, note = files[-2:], "(smoke run: bench/data/ only)"
    runs, issues = read_files(files, cat)
    prep = adapter.prepare(runs, cat)
    ms = [runs[r] for r in prep.record]
    # the factor groups estimates look up: accelerator family x software class, with a compute
    # efficiency per matrix rate (a disaggregated decode pool its own group, with no catalog
    # row)
    keys = [fit.factor_key_family_software_rate(m, cat) for m in ms]
    era_keys = [fit.factor_key_family_engine_era(m, cat) for m in ms]
    # a diagnostic grouping the catalog cannot hold (no format column): the weight format's
    # width as well (docs/method.md 6.5)
    fmt_keys = [fit.factor_key_family_software_format(m, cat) for m in ms]
    agg = np.array([m.mode == "agg" for m in ms])
    label = np.where(prep.fitted, prep.metric, "ttft_s_concurrent")
    bounds = fit.measured_bounds(cat)
    t_read = time.perf_counter() - t0

    before = fit.abs_error(adapter.predict(prep, adapter.stored_factors(prep, cat)), prep.measured)
    t1 = time.perf_counter()
    full = fit.fit(prep, keys, measured=bounds)
    t_fit = time.perf_counter() - t1
    # the closed-loop TTFT terms (front end, first wave) per software class, fitted on the
    # aggregated closed-loop runs with the full fit's factors (tokenfab.calibrate.closed_loop)
    loop_rows = agg & closed_loop.targets(prep)
    coef = closed_loop.coefficients(prep, full.factors_for(keys))
    loop_table = closed_loop.closed_loop_rows(coef, prep.measured, prep.arrays.software, loop_rows)
    loop_terms = {str(r["id"]): (r["frontend_ms"], r["requests_per_client"]) for r in loop_table}
    insample = fit.abs_error(
        closed_loop.apply(coef, prep.arrays.software, loop_terms), prep.measured
    )
    cfg = groups.group_ids([groups.config_key(m) for m in ms])
    fam = groups.group_ids([groups.model_family(m.model) for m in ms])
    accf = groups.group_ids([cat.accelerator(m.accelerator).family for m in ms])
    folds = {
        "configuration": groups.grouped_folds(cfg, 5),
        "model_family": [np.flatnonzero(fam == g) for g in np.unique(fam)],
        "accelerator_family": [np.flatnonzero(accf == g) for g in np.unique(accf)],
    }
    t2 = time.perf_counter()
    # every fold refits the factors and the closed-loop terms (closed_loop.cross_validate)
    cv = closed_loop.cross_validate
    held = {"configuration": cv(prep, keys, cfg, k=5, measured=bounds, rows=loop_rows)}
    t_cv = time.perf_counter() - t2
    held["model_family"] = cv(prep, keys, fam, k=None, measured=bounds, rows=loop_rows)
    held["accelerator_family"] = cv(prep, keys, accf, k=None, measured=bounds, rows=loop_rows)
    era_cfg = fit.abs_error(
        cv(prep, era_keys, cfg, k=5, measured=bounds, rows=loop_rows), prep.measured
    )
    fmt_cfg = fit.abs_error(
        cv(prep, fmt_keys, cfg, k=5, measured=bounds, rows=loop_rows), prep.measured
    )
    err = {k: fit.abs_error(v, prep.measured) for k, v in held.items()}
    t_all = time.perf_counter() - t0

    def block(rows: np.ndarray) -> list[tuple[str, dict[str, float]]]:
        m = label[rows]
        return [
            ("stored factors (before)", medians(before[rows], m)),
            ("refit, in sample (regression guard)", medians(insample[rows], m)),
            ("held out by configuration (5 folds)", medians(err["configuration"][rows], m)),
            ("leave one model family out", medians(err["model_family"][rows], m)),
            ("leave one accelerator family out", medians(err["accelerator_family"][rows], m)),
            (
                "held out by configuration, factors per family x engine x era x mode",
                medians(era_cfg[rows], m),
            ),
            (
                "held out by configuration, factors per family x software x weight-format "
                "width (not in the catalog)",
                medians(fmt_cfg[rows], m),
            ),
        ]

    def render(title: str, rows: np.ndarray) -> str:
        n = {m: int((label[rows] == m).sum()) for m in REPORTED}
        lines = [
            f"| {title} | " + " | ".join(f"{m} (n={n[m]})" for m in REPORTED) + " | all fitted |",
            "|---|" + "---:|" * (len(REPORTED) + 1),
        ]
        for name, med in block(rows):
            lines.append(
                f"| {name} | " + " | ".join(pct(med.get(m)) for m in (*REPORTED, "all")) + " |"
            )
        return "\n".join(lines)

    table = "\n\n".join(
        [
            render("aggregated runs (what estimates use): median abs error", agg),
            render("all runs, disaggregated decode pools included", np.ones_like(agg)),
            render("disaggregated decode pools only (own factor groups)", ~agg),
        ]
    )
    # bands of the figures estimates show, from the aggregated runs: the fitted metrics (TTFT
    # at a fixed batch: an estimate's TTFT is its prompt's time plus an open-loop wait) and
    # TTFT under closed-loop concurrency (an estimate given clients)
    bands = band_rows(held, folds, prep.measured, label, agg)
    # closed-loop TTFT by clients, held out by configuration: where the queueing model misses
    clients = np.array([m.concurrency or m.batch or 1.0 for m in ms], dtype=float)
    loop_cfg = held["configuration"]
    bins_lines = [
        "| TTFT under concurrency, held out by configuration | runs | median abs error | "
        "median predicted / measured |",
        "|---|---:|---:|---:|",
    ]
    for lo, hi in ((2, 4), (5, 16), (17, 64), (65, 256), (257, np.inf)):
        sel = loop_rows & (clients >= lo) & (clients <= hi) & np.isfinite(loop_cfg)
        if sel.any():
            ratio = loop_cfg[sel] / prep.measured[sel]
            name = f"{lo} - {hi:g} clients" if np.isfinite(hi) else f"over {lo - 1} clients"
            bins_lines.append(
                f"| {name} | {int(sel.sum())} | {pct(float(np.median(np.abs(ratio - 1))))} | "
                f"{float(np.median(ratio)):.2f} |"
            )
    bins_table = "\n".join(bins_lines)
    band_table = "\n".join(
        [
            "| error band (90%): split | metric | measured / predicted P5 | P95 | runs | "
            "held-out coverage |",
            "|---|---|---:|---:|---:|---:|",
            *(
                f"| {b['split']} | {b['metric']} | {b['measured_over_predicted_low']:.3f} | "
                f"{b['measured_over_predicted_high']:.3f} | {b['residuals']} | "
                f"{pct(float(b['holdout_coverage']))} |"
                for b in bands
            ),
        ]
    )

    # the frozen validation set, predicted only (never fitted): stored factors, and the factors
    # and bands fitted above on the calibration runs alone, written as a catalog the run path
    # reads
    stored = frozen_set.summary(frozen_set.predict_rows(frozen_set_path(), cat))
    # the catalog's cv columns: fitted metrics only (closed-loop TTFT is reported apart)
    cv_cfg = np.where(prep.fitted, err["configuration"], np.nan)
    keys_arr = catalog_keys(keys)
    reports = group_reports(full, keys, prep, before, cv_cfg, ms)
    source = (
        "fitted by bench/bench_accuracy.py (tokenfab.calibrate.fit) to the AIConfigurator "
        "silicon sample (ai-dynamo/aiconfigurator, Apache-2.0) and the published figures in "
        "bench/data/; bounded by data/gpu_measurements.csv"
    )
    loop_source = (
        "fitted by bench/bench_accuracy.py (tokenfab.calibrate.closed_loop) to the closed-loop "
        "TTFT of the aggregated AIConfigurator silicon runs (ai-dynamo/aiconfigurator, "
        "Apache-2.0) with the factors refitted there"
    )
    band_source = (
        "bench/bench_accuracy.py: grouped cross-validation residuals of the aggregated "
        "calibration runs (shared/calibration/aic_silicon_sample.csv, bench/data/)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_catalog(Path(tmp), reports, cv_cfg, keys_arr, files, source)
        write_bands(Path(tmp), bands, band_source)
        closed_loop.write_closed_loop(Path(tmp), loop_table, loop_source)
        refitted = frozen_set.summary(frozen_set.predict_rows(frozen_set_path(), Catalog([tmp])))
        if args.write:
            data = HERE.parent / "src" / "tokenfab" / "data"
            shutil.copy(Path(tmp) / "efficiency.csv", data / "efficiency.csv")
            shutil.copy(Path(tmp) / "error_bands.csv", data / "error_bands.csv")
            shutil.copy(Path(tmp) / "closed_loop.csv", data / "closed_loop.csv")
    val = "\n".join(
        [
            "| frozen validation set (report only) | rows predicted | median abs error | pairs "
            "| median ratio error | inside the 90% band |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| {label} | {s['predicted']} of {s['rows']} | {pct(s['median_abs_error'])} | "
                f"{s['pairs']} | {pct(s['median_ratio_error'])} | "
                f"{pct(s['band_coverage'])} of {s['banded']} |"
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
        f"{expressed} expressible by the model, {prep.size} measured values "
        f"({int(agg.sum())} aggregated, {int((~agg).sum())} disaggregated decode TPOT; "
        f"{int((~prep.fitted).sum())} TTFT under concurrency, to which only the closed-loop "
        "terms are fitted); "
        f"{len({fit.tie_group(g) for g in full.groups})} factor groups (family x software "
        "class with a compute efficiency per matrix rate, disaggregated decode pools apart). "
        f"{note}\n"
        f"Not expressed: {dict(Counter(r for _, r in prep.skipped))}.\n"
        f"Time: read {t_read:.1f} s, one fit {t_fit:.1f} s, 5-fold CV {t_cv:.1f} s, everything "
        f"{t_all:.1f} s; peak memory {peak_mb:.0f} MB."
    )
    loop_text = "\n".join(
        [
            "| closed-loop TTFT terms (fitted, in sample) | front end [ms] | requests per client "
            "| runs | median abs error without | with |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| {r['id']} | {r['frontend_ms']:g} | {r['requests_per_client']:g} | "
                f"{r['runs']} | {pct(float(r['median_abs_error_before']))} | "
                f"{pct(float(r['median_abs_error']))} |"
                for r in loop_table
            ),
        ]
    )
    print(table, band_table, loop_text, bins_table, val, foot, sep="\n\n")
    if args.write:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            f"# Accuracy on held-out measurements\n\nGenerated by `python bench/bench_accuracy.py "
            f"--write` on {date.today().isoformat()}.\n\n{table}\n\n{band_table}\n\n{loop_text}\n\n"
            f"{bins_table}\n\n"
            f"{val}\n\n"
            f"{foot}\n"
        )
    return 0


def frozen_set_path() -> Path:
    shared = frozen_set.shared_dir(HERE.resolve())
    if shared is None:
        raise SystemExit("bench_accuracy: shared/ (calibration and validation data) not found")
    return shared / frozen_set.FILE


if __name__ == "__main__":
    sys.exit(main())
