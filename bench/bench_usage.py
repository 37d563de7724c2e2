"""Usage report at scale: DuckDB over 100M synthetic requests, beside pandas on 10M.

The input is generated once (``tokenfab usage synth``'s generator) into bench/.cache/usage/
(ignored by git) and reused. Each run is a child process so its peak memory (ru_maxrss from
wait4) is its own. DuckDB runs with 2 threads and a 4 GB memory limit, spilling beyond it.

    python bench/bench_usage.py [--rows 100000000] [--pandas-rows 10000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
CACHE = HERE / ".cache" / "usage"

DUCKDB_CHILD = """
import sys
from tokenfab.usage import analyses, engines
con = engines.connect(memory_limit=sys.argv[2], threads=int(sys.argv[3]))
con.raw_sql("SET temp_directory = '{tmp}'")
r = analyses.report(con, [sys.argv[1]])
print(r["summary"]["requests"], r["summary"]["spend_usd"], r["latency_s"]["all"]["p99"], r["outcomes"]["tasks"])
"""

PANDAS_CHILD = """
import sys
import numpy as np
import pandas as pd
df = pd.read_parquet(sys.argv[1])
for c in ("model", "provider", "app", "category", "status"):
    df[c] = df[c].astype("category")
df["day"] = df["timestamp"].dt.floor("D")
df["prompt_bin"] = np.floor(np.log2(df["input_tokens"] + 1.0)).astype("int64")
df["spend_usd"] = df["cost_usd"]
cube = df.groupby(["day", "model", "provider", "app", "category", "status", "prompt_bin"], observed=True).agg(
    requests=("input_tokens", "size"), input_tokens=("input_tokens", "sum"),
    cached_input_tokens=("cached_input_tokens", "sum"), output_tokens=("output_tokens", "sum"),
    reasoning_tokens=("reasoning_tokens", "sum"), spend_usd=("spend_usd", "sum"))
ps = [0.5, 0.9, 0.95, 0.99]
lat = df["latency_s"].quantile(ps)  # pandas' default "linear" = type 7, as in the report
lat_by = df.groupby("model", observed=True)["latency_s"].quantile(ps)
ttft = df["ttft_s"].quantile(ps)
prompt = df["input_tokens"].quantile([0.1, 0.5, 0.9, 0.99])
spend = df["spend_usd"].quantile(ps)
order = df.sort_values("timestamp")
per = order.groupby("task_id").agg(n=("status", "size"), spend=("spend_usd", "sum"), last=("status", "last"))
print(int(cube["requests"].sum()), float(cube["spend_usd"].sum()), float(lat.iloc[-1]), len(per))
"""


def ensure(rows: int) -> Path:
    from tokenfab.usage.synth import synth

    path = CACHE / f"synth_{rows}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        tmp = path.with_suffix(".tmp.parquet")
        synth(rows, tmp, days=30, seed=0)
        tmp.rename(path)
        print(f"generated {rows:,} rows in {time.perf_counter() - t0:.0f} s -> {path}", flush=True)
    return path


def run(code: str, *args: str) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS [MB] and stdout of a child Python."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read() if p.stdout else ""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"child failed (status {status}): {code.splitlines()[1]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, out.strip()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--pandas-rows", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB")
    a = ap.parse_args()
    big, small = ensure(a.rows), ensure(a.pandas_rows)
    spill = CACHE / "spill"
    duck = DUCKDB_CHILD.replace("{tmp}", str(spill))
    rows = [("duckdb", a.rows, big, duck, (a.memory_limit, str(a.threads)))]
    if a.pandas_rows != a.rows:
        rows.append(("duckdb", a.pandas_rows, small, duck, (a.memory_limit, str(a.threads))))
    rows.append(("pandas", a.pandas_rows, small, PANDAS_CHILD, ()))
    print(
        f"{'engine':8} {'rows':>13} {'file MB':>8} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}"
        "  check (requests, spend, p99 latency, tasks)"
    )
    for engine, n, path, code, extra in rows:
        load0 = os.getloadavg()[0]
        wall, cpu, rss, out = run(code, str(path), *extra)
        mb = path.stat().st_size / 1e6
        print(
            f"{engine:8} {n:>13,} {mb:>8.0f} {wall:>8.1f} {cpu:>8.1f} {rss:>8.0f}  {out}"
            f"  (load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after)",
            flush=True,
        )
    print(
        f"\nmachine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end (shared machine)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
