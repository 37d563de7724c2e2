"""Memory stays bounded: the report runs with DuckDB's memory limit below the file's size."""

from __future__ import annotations

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
    t = pq.read_table(path, columns=["cost_usd", "input_tokens", "task_id"])
    assert r["summary"]["requests"] == ROWS
    assert r["summary"]["input_tokens"] == pc.sum(t["input_tokens"]).as_py()
    # the logged cost is null only for the one unknown model, so spend = logged + list of those
    logged = pc.sum(t["cost_usd"]).as_py()
    assert r["summary"]["logged_cost_usd"] == pytest.approx(logged, rel=1e-9)
    assert r["outcomes"]["tasks"] == pc.count_distinct(t["task_id"]).as_py()
