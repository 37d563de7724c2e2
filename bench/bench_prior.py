"""What an uncalibrated accelerator family x engine should borrow (docs/method.md 6.5).

    python bench/bench_prior.py

Calibration runs only (as bench/bench_accuracy.py reads them). Leave one accelerator family
out: every fold refits the factors without the family (tokenfab.calibrate.fit), then predicts
its aggregated runs (fitted metrics) with

* (a) the median of the fitted groups of its software class at the run's matrix rate, column
  by column (what ``perf.calibration.choose_engine`` does today for a family with no row);
* (b) the same software class's fitted group of the architectural predecessor (PREDECESSOR),
  where that group was fitted; otherwise (a);
* the pooled fit of the fold (what bench_accuracy's leave-one-family-out split reports).

Then the disaggregated decode pools of Blackwell Ultra (B300, GB300) x TensorRT-LLM, which no
aggregated group saw, predicted with each option's aggregated factors from the full fit; and,
as a check of (c) fitting a family from its decode pools alone, Blackwell's aggregated runs
predicted with Blackwell's own decode-pool factors.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_accuracy import calibration_files  # noqa: E402
from tokenfab.calibrate import adapter, fit  # noqa: E402
from tokenfab.calibrate.importers import read_files  # noqa: E402
from tokenfab.catalog import default_catalog  # noqa: E402
from tokenfab.perf.calibration import FACTORS  # noqa: E402

PREDECESSOR = {  # family -> the architecture it succeeds in the same vendor line
    "blackwell-ultra": "blackwell",
    "blackwell": "hopper",
    "hopper": "ampere",
    "ada": "ampere",
}


def median_of(groups: dict, software: str, rate: str) -> dict[str, float]:
    picked = [
        f
        for g, f in groups.items()
        if fit.partition(g) == "agg" and g[1] == software and g[-1] == rate
    ]
    if not picked:
        picked = [f for g, f in groups.items() if fit.partition(g) == "agg" and g[-1] == rate]
    return {k: float(statistics.median([f[k] for f in picked])) for k in FACTORS}


def predict_with(prep, rows, factor_rows: list[dict[str, float]]) -> np.ndarray:
    f = {k: np.array([d[k] for d in factor_rows]) for k in FACTORS}
    return adapter.predict(prep.subset(rows), f)


def main() -> int:
    cat = default_catalog()
    files, _ = calibration_files()
    runs, _ = read_files(files, cat)
    prep = adapter.prepare(runs, cat)
    ms = [runs[r] for r in prep.record]
    keys = [fit.factor_key_family_software_rate(m, cat) for m in ms]
    fam = np.array([cat.accelerator(m.accelerator).family for m in ms])
    sw = np.array([adapter.software_class(m) for m in ms])
    agg = np.array([m.mode == "agg" for m in ms])
    fitted = prep.fitted if prep.fitted is not None else np.ones(prep.size, bool)
    bounds = fit.measured_bounds(cat)
    every = np.arange(prep.size)
    print("| held-out family | software | runs | (a) class median | (b) predecessor | pooled |")
    print("|---|---|---:|---:|---:|---:|")
    allerr: dict[str, list] = {"a": [], "b": [], "p": []}
    for held in PREDECESSOR:
        test_all = np.flatnonzero(fam == held)
        if test_all.size == 0:
            continue
        f = fit.fit(prep, keys, np.setdiff1d(every, test_all), bounds)
        test = test_all[agg[test_all] & fitted[test_all]]
        fa = [median_of(f.groups, keys[i][1], keys[i][-1]) for i in test]
        fb = [
            f.groups.get((PREDECESSOR[held], keys[i][1], keys[i][-1])) or fa[j]
            for j, i in enumerate(test)
        ]
        ea = fit.abs_error(predict_with(prep, test, fa), prep.measured[test])
        eb = fit.abs_error(predict_with(prep, test, fb), prep.measured[test])
        fp = f.factors_for([keys[i] for i in test])
        ep = fit.abs_error(adapter.predict(prep.subset(test), fp), prep.measured[test])
        # its decode pools (TensorRT-LLM, SGLang), with the decode-pool groups of the fold
        for s_ in ("trtllm", "sglang"):
            dr = test_all[~agg[test_all] & (sw[test_all] == s_)]
            if dr.size == 0:
                continue
            dis = [f for g, f in f.groups.items() if fit.partition(g) == "disagg" and g[1] == s_]
            da = {k: float(statistics.median([x[k] for x in dis])) for k in FACTORS}
            db = f.groups.get((PREDECESSOR[held], s_, "disagg"))
            xa = fit.abs_error(predict_with(prep, dr, [da] * dr.size), prep.measured[dr])
            xb = fit.abs_error(predict_with(prep, dr, [db or da] * dr.size), prep.measured[dr])
            pa = np.median(predict_with(prep, dr, [da] * dr.size) / prep.measured[dr])
            pb = np.median(predict_with(prep, dr, [db or da] * dr.size) / prep.measured[dr])
            print(
                f"| {held} decode pools, decode-pool factors | {s_}{'' if db else ' (no predecessor group)'} "
                f"| {dr.size} | {np.median(xa):.1%} ({pa:.2f}) | {np.median(xb):.1%} ({pb:.2f}) | |"
            )
        has = np.array([(PREDECESSOR[held], keys[i][1], keys[i][-1]) in f.groups for i in test])
        for s in sorted(set(sw[test])):
            sel = sw[test] == s
            tag = "" if has[sel].all() else " (no predecessor group: (b) = (a))"
            print(
                f"| {held} | {s}{tag} | {int(sel.sum())} | {np.median(ea[sel]):.1%} | "
                f"{np.median(eb[sel]):.1%} | {np.median(ep[sel]):.1%} |"
            )
            if has[sel].all():
                allerr["a"].append(ea[sel])
                allerr["b"].append(eb[sel])
                allerr["p"].append(ep[sel])
        sys.stdout.flush()
    cat_ = {k: np.concatenate(v) for k, v in allerr.items()}
    print(
        f"| all with a predecessor group | | {cat_['a'].size} | {np.median(cat_['a']):.1%} | "
        f"{np.median(cat_['b']):.1%} | {np.median(cat_['p']):.1%} |"
    )
    full = fit.fit(prep, keys, every, bounds)
    print(
        "\n| decode pools (TPOT) | runs | (a) class median | (b) predecessor | own decode-pool fit (in sample) |"
    )
    print("|---|---:|---:|---:|---:|")
    for family, pred in (
        ("blackwell-ultra", "blackwell"),
        ("blackwell", "hopper"),
        ("hopper", "ampere"),
    ):
        rows = np.flatnonzero((fam == family) & (sw == "trtllm") & ~agg)
        if rows.size == 0:
            continue
        # a decode pool at the rate its format computes at (the aggregated groups' key)
        from tokenfab.perf.calibration import efficiency_column

        rates = [
            efficiency_column(cat.accelerator(ms[i].accelerator), ms[i].precision) for i in rows
        ]
        fa = [median_of(full.groups, "trtllm", r) for r in rates]
        fb = [full.groups.get((pred, "trtllm", r)) or fa[j] for j, r in enumerate(rates)]
        own = full.factors_for([keys[i] for i in rows])
        ea = fit.abs_error(predict_with(prep, rows, fa), prep.measured[rows])
        eb = fit.abs_error(predict_with(prep, rows, fb), prep.measured[rows])
        eo = fit.abs_error(adapter.predict(prep.subset(rows), own), prep.measured[rows])
        ra = predict_with(prep, rows, fa) / prep.measured[rows]
        rb = predict_with(prep, rows, fb) / prep.measured[rows]
        print(
            f"| {family} x trtllm (borrowing {pred}) | {rows.size} | {np.median(ea):.1%} "
            f"(pred/meas {np.median(ra):.2f}) | {np.median(eb):.1%} (pred/meas {np.median(rb):.2f}) | "
            f"{np.median(eo):.1%} |"
        )
        # the family's own aggregated factors on its own decode pools: how far agg -> disagg
        fo = [full.groups.get((family, "trtllm", r)) for r in rates]
        if all(fo):
            e = fit.abs_error(predict_with(prep, rows, fo), prep.measured[rows])
            print(
                f"| {family} x trtllm, its own aggregated factors | {rows.size} | | | {np.median(e):.1%} |"
            )
        # (c): the family's decode-pool factors on its aggregated runs
        arows = np.flatnonzero((fam == family) & (sw == "trtllm") & agg & fitted)
        dis = full.groups.get((family, "trtllm", "disagg"))
        if dis and arows.size:
            e = fit.abs_error(predict_with(prep, arows, [dis] * arows.size), prep.measured[arows])
            print(
                f"| (c) {family} x trtllm aggregated runs, with its decode-pool factors | {arows.size} | | | {np.median(e):.1%} |"
            )
        sys.stdout.flush()
    for g in sorted(full.groups, key=str):
        if g[0] in ("blackwell-ultra", "blackwell") and g[1] == "trtllm":
            print(g, {k: round(v, 4) for k, v in full.groups[g].items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
