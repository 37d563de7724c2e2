"""Memory stays bounded: the report runs with DuckDB's memory limit below the file's size.

The limit binds: the same report under 16 MiB stops with DuckDB's out-of-memory error (tried
2026-11-30). What the limit does not govern are holistic aggregate states: DuckDB's exact
``quantile_cont`` over 10M rows and four columns held 590 MB of resident memory under a
300 MB limit (measured 2026-11-30), which is why the report finds its exact percentiles by
selection (two grouped counts, ``analyses.exact_quantiles``); they must still equal NumPy's
type 7 on the whole column.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tokenfab.usage import analyses, engines
from tokenfab.usage.synth import synth

ROWS = 1_000_000
LIMIT_BYTES = 40 * 2**20


def test_report_under_a_memory_limit_below_the_file_size(tmp_path):
    path = synth(ROWS, tmp_path / "log.parquet", days=30, seed=0)
    assert path.stat().st_size > LIMIT_BYTES  # ~43 MB of Parquet (zstd) against a 40 MiB limit
    con = engines.connect(memory_limit="40MiB", threads=1)
    con.raw_sql(f"SET temp_directory = '{tmp_path / 'spill'}'")
    r = analyses.report(con, [str(path)])
    t = pq.read_table(path, columns=["cost_usd", "input_tokens", "task_id", "latency_s"])
    assert r["summary"]["requests"] == ROWS
    assert r["summary"]["input_tokens"] == pc.sum(t["input_tokens"]).as_py()
    # the logged cost is null only for the one unknown model, so spend = logged + list of those
    logged = pc.sum(t["cost_usd"]).as_py()
    assert r["summary"]["logged_cost_usd"] == pytest.approx(logged, rel=1e-9)
    assert r["outcomes"]["tasks"] == pc.count_distinct(t["task_id"]).as_py()
    # exact type-7 percentiles under the limit (NumPy's default is type 7)
    lat = t["latency_s"].to_numpy()
    assert r["latency_s"]["all"]["p99"] == pytest.approx(np.quantile(lat, 0.99), rel=1e-12)
    assert r["latency_s"]["all"]["p50"] == pytest.approx(np.quantile(lat, 0.5), rel=1e-12)
    prompt = t["input_tokens"].to_numpy()
    assert r["prompt_length"]["percentiles"]["p90"] == np.quantile(prompt, 0.9)
