"""Portability: the same Ibis analyses on DuckDB and on PySpark in local mode.

Counts are identical, sums agree within 1e-9 relative, and percentiles agree: both engines
run the same two grouped counts that select the order statistics of the exact Hyndman-Fan
type-7 percentiles (``analyses.exact_quantiles``; NumPy's default, DuckDB's
``quantile_cont``, Spark's ``percentile``).
Skipped, saying why, where pyspark or a Java runtime (17+ for Spark 4) is missing.
"""

from __future__ import annotations

import shutil

import pytest

from tokenfab.usage import analyses, engines
from tokenfab.usage.synth import synth

pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[test]')")
if shutil.which("java") is None:
    pytest.skip(
        "no Java runtime: `make test` installs openjdk-17-jre-headless as root",
        allow_module_level=True,
    )

ROWS = 5_000


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return str(synth(ROWS, tmp_path_factory.mktemp("spark") / "log.parquet", days=14, seed=3))


@pytest.fixture(scope="module")
def spark_con():
    import ibis
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("tokenfab-usage-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(session)
    session.stop()


def _run(con, path):
    ld = analyses.load(con, [path])
    t, _, _ = analyses.priced(ld)
    c = (
        analyses.cube(t)
        .to_pyarrow()
        .sort_by([(k, "ascending") for k in ("day", "model", "app", "status", "prompt_bin")])
    )
    return {
        "quality": analyses.quality(ld, check_order_max_rows=0),
        "cube": c.to_pylist(),
        "latency": analyses._quantiles(t, "latency_s"),
        "latency_by_model": analyses._quantiles(t, "latency_s", by="model"),
        "prompt": analyses._quantiles(t, "input_tokens", (0.1, 0.5, 0.9, 0.99)),
        "outcomes": analyses.outcomes(t, True),
    }


def _close(a, b, key):
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), key
    else:
        assert a == b, key


def test_duckdb_and_spark_agree(log, spark_con):
    d = _run(engines.connect(), log)
    s = _run(spark_con, log)
    assert d["quality"]["rows_read"] == s["quality"]["rows_read"] == ROWS
    assert d["quality"]["valid_rows"] == s["quality"]["valid_rows"]
    assert len(d["cube"]) == len(s["cube"])
    for rd, rs in zip(d["cube"], s["cube"], strict=True):
        for k in (
            "model",
            "app",
            "category",
            "status",
            "prompt_bin",
            "requests",
            "input_tokens",
            "output_tokens",
            "reasoning_tokens",
            "cached_input_tokens",
            "rows_off",
        ):
            _close(rd[k], rs[k], k)
        for k in ("spend_usd", "list_cost_usd"):
            _close(rd[k], rs[k], k)
        assert rd["day"].replace(tzinfo=None) == rs["day"].replace(tzinfo=None)
    for name in ("latency", "latency_by_model", "prompt"):
        for rd, rs in zip(d[name], s[name], strict=True):
            for k in rd:
                _close(rd[k], rs[k], f"{name}.{k}")
    for k in d["outcomes"]:
        _close(d["outcomes"][k], s["outcomes"][k], k)
