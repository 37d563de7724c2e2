"""Speed of the pipeline beside the scalar estimate, in the same run (issue #13, Speed).

For each scenario: the scalar path (``tokenfab.planning.evaluate``, what ``tokenfab estimate``
runs) timed per call and projected to a million samples; the pipeline
(``tokenfab.pipeline.evaluate``) on 1,000,000 samples at the base case's layout and batch
(memory and targets re-checked per sample) and on 100,000 samples with the batch re-chosen per
sample. Samples vary eight inputs at once (bandwidth, peak, price, electricity, PUE,
utilisation or demand, an efficiency, prompt length), uniform over +-15 % of the base value,
and every numeric ``estimate --json`` key is returned.

Targets: 1e6 fixed-point samples in <= 2 s on 2 cores with peak memory <= 2 GB; 1e5
re-optimised samples in <= 10 s. Wall time is what a user waits; CPU time (all threads,
``time.process_time``) is reported beside it because a shared machine inflates wall time (other
processes on the same cores), and the load average before each scenario says how shared it was.
Peak memory is the largest Python/NumPy allocation during the call (``tracemalloc``), measured
in a second call, since tracing every allocation slows the call it traces.

Usage: ``python bench/bench_pipeline.py [--samples N] [--reoptimised N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from tokenfab import pipeline
from tokenfab.catalog import default_catalog
from tokenfab.planning import evaluate as scalar_evaluate

SCENARIOS = {
    "dense 70B, 8xH100 FP8, SLOs, buy": dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        accelerators=8,
        precision="fp8",
        ttft_slo_s=2,
        tpot_slo_s=0.1,
    ),
    "MoE DeepSeek-V3, 16xH200, SLOs": dict(
        model="deepseek-v3", accelerator="h200-sxm", accelerators=16, ttft_slo_s=5, tpot_slo_s=0.05
    ),
    "dense 70B, sized for 2e9 tok/day, rent": dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        ownership="rent",
        tokens_per_day=2e9,
        ttft_slo_s=2,
        tpot_slo_s=0.1,
    ),
    "MoE Mixtral, 4xA100, 2.5 req/s, eu": dict(
        model="mixtral-8x7b",
        accelerator="a100-sxm-80gb",
        accelerators=4,
        requests_per_second=2.5,  # 4 x A100 carry 2.84 req/s since the 2026-11-30 refit
        region="eu",
    ),
}


def samples_for(scenario: dict, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Eight inputs, each uniform over +-15 % of its base value (ranges respected)."""
    f = pipeline.fields(scenario)
    acc, region = scenario["accelerator"], scenario.get("region", "us")
    wanted = [
        f"accelerators.{acc}.memory_bandwidth_tb_s",
        f"accelerators.{acc}.bf16_dense_tflops",
        f"accelerators.{acc}.price_usd",
        f"regions.{region}.electricity_usd_per_kwh",
        f"regions.{region}.pue",
        "efficiency.bw_efficiency",
        "input_tokens",
        "tokens_per_day"
        if f["tokens_per_day"].base
        else ("requests_per_second" if f["requests_per_second"].base else "utilization"),
    ]
    rng = np.random.default_rng(seed)
    out = {}
    for k in wanted:
        spec = f[k]
        lo, hi = spec.base * 0.85, spec.base * 1.15
        lo, hi = max(lo, spec.low), min(hi, spec.high)
        out[k] = rng.uniform(lo, hi, n)
    return out


def scalar_ms(scenario: dict, repeats: int = 20) -> float:
    cat = default_catalog()
    scalar_evaluate(scenario, cat)
    t = time.perf_counter()
    for _ in range(repeats):
        scalar_evaluate(scenario, cat)
    return (time.perf_counter() - t) / repeats * 1e3


def estimate_json_ms(scenario: dict, repeats: int = 20) -> tuple[float, float]:
    """``estimate --json`` per call [ms]: the scalar estimate presented as it was
    (``EstimateResult.from_estimate``) and as ``tokenfab estimate``, the HTTP API and the web
    page present it now, the numbers from the pipeline's one sample
    (``pipeline.estimate_result``)."""
    from tokenfab.schema import EstimateResult

    cat = default_catalog()
    out = []
    for present in (EstimateResult.from_estimate, pipeline.estimate_result):
        present(scalar_evaluate(scenario, cat), cat)
        t = time.perf_counter()
        for _ in range(repeats):
            present(scalar_evaluate(scenario, cat), cat)
        out.append((time.perf_counter() - t) / repeats * 1e3)
    return out[0], out[1]


def timed(scenario: dict, samples: dict, reoptimise: bool) -> tuple[float, float, float, float]:
    """Wall s, CPU s, peak MB, feasible share of a pipeline call (timed untraced; the peak
    from a second, traced call)."""
    t, c = time.perf_counter(), time.process_time()
    r = pipeline.evaluate(scenario, samples, reoptimise=reoptimise)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    share = r.feasible_share
    del r
    tracemalloc.start()
    pipeline.evaluate(scenario, samples, reoptimise=reoptimise)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return wall, cpu, peak, share


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--reoptimised", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="first scenario only")
    args = ap.parse_args()
    names = list(SCENARIOS)[:1] if args.quick else list(SCENARIOS)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at start (other processes share them)")
    print(
        f"{'scenario':42s} {'load':>4s} {'scalar':>9s} {'scalar x1e6':>11s} | "
        f"{'pipeline ' + format(args.samples, ',') + ' fixed':>27s} | "
        f"{format(args.reoptimised, ',') + ' re-optimised':>27s}"
    )
    print(
        f"{'':42s} {'':4s} {'ms/call':>9s} {'(projected)':>11s} | {'wall s':>6s} {'CPU s':>6s} "
        f"{'peak MB':>7s} {'feas.':>5s} | {'wall s':>6s} {'CPU s':>6s} {'peak MB':>7s} "
        f"{'feas.':>5s}"
    )
    for name in names:
        sc = SCENARIOS[name]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        ms = scalar_ms(sc)
        fixed = timed(sc, samples_for(sc, args.samples), False)
        reopt = timed(sc, samples_for(sc, args.reoptimised, seed=1), True)
        print(
            f"{name:42s} {load:4.1f} {ms:9.2f} {ms * 1e3:10.0f}s | {fixed[0]:6.2f} {fixed[1]:6.2f} "
            f"{fixed[2]:7.0f} {fixed[3]:5.2f} | {reopt[0]:6.2f} {reopt[1]:6.2f} {reopt[2]:7.0f} "
            f"{reopt[3]:5.2f}",
            flush=True,
        )
    print(
        "targets: 1e6 fixed <= 2 s and <= 2,000 MB on 2 cores; 1e5 re-optimised <= 10 s. "
        "'feas.': share of samples feasible (infeasible ones are counted, their KPIs NaN)."
    )
    print(f"\n{'one estimate --json':42s} {'scalar ms':>10s} {'pipeline ms':>12s} {'ratio':>6s}")
    for name in names:
        a, b = estimate_json_ms(SCENARIOS[name])
        print(f"{name:42s} {a:10.2f} {b:12.2f} {b / a:6.2f}", flush=True)


if __name__ == "__main__":
    main()
