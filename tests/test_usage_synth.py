"""Generator check: the synthetic log reproduces its own parameters (not a validation)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokenfab.usage import analyses, engines
from tokenfab.usage import synth as synth_mod
from tokenfab.usage.schema import UsageLogError

N = 200_000


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = synth_mod.synth(N, tmp_path_factory.mktemp("synth") / "s.parquet", days=28, seed=1)
    return pq.read_table(path)


def test_category_shares(log):
    cats = np.asarray(log["category"].to_pylist())
    for c, share in zip(
        synth_mod.CATEGORIES, synth_mod.PARAMS["category_share"].value, strict=True
    ):
        # binomial standard error at 200k rows is below 0.0011; tasks cluster rows, so 0.01
        assert np.mean(cats == c) == pytest.approx(share, abs=0.01), c


def test_steps_per_task(log):
    con = duckdb.connect()
    con.register("log", log)
    t = con.sql(
        "SELECT category, count(*) / count(DISTINCT task_id) FROM log GROUP BY 1"
    ).fetchall()
    means = dict(
        zip(synth_mod.CATEGORIES, synth_mod.PARAMS["steps_per_task_mean"].value, strict=True)
    )
    for cat, steps in t:
        assert steps == pytest.approx(means[cat], rel=0.05), cat


def test_error_rate_and_output_median(log):
    status = np.asarray(log["status"].to_pylist())
    assert np.mean(status == "error") == pytest.approx(
        synth_mod.PARAMS["error_rate"].value, abs=0.002
    )
    visible = np.asarray(log["output_tokens"]) - np.asarray(log["reasoning_tokens"])
    assert np.median(visible) == pytest.approx(
        synth_mod.PARAMS["visible_output_median_tokens"].value, rel=0.03
    )


def test_prompt_growth(log):
    # log(prompt / category median) = b * t + noise; b = ln(4) / 365 a day (seed 004's fourfold a year)
    cats = np.asarray(log["category"].to_pylist())
    med = dict(
        zip(synth_mod.CATEGORIES, synth_mod.PARAMS["prompt_median_tokens"].value, strict=True)
    )
    y = np.log(np.asarray(log["input_tokens"], float) / np.vectorize(med.get)(cats))
    ts = log["timestamp"].cast("int64").to_numpy() / 86400e6
    b = np.polyfit(ts - ts.min(), y, 1)[0]
    # standard error ~ 1.05 / sqrt(2e5 * 65) = 0.0003 a day, 8% of b
    assert b == pytest.approx(
        np.log(synth_mod.PARAMS["prompt_growth_per_year"].value) / 365, rel=0.3
    )


def test_cached_and_reasoning_rules(log):
    cached = np.asarray(log["cached_input_tokens"])
    prompt = np.asarray(log["input_tokens"])
    assert np.all(cached <= prompt)
    reasoning = np.asarray(log["reasoning_tokens"])
    models = np.asarray(log["model"].to_pylist())
    reasoning_models = {m[0] for m in synth_mod.MODELS if m[2]}
    assert np.all(reasoning[~np.isin(models, list(reasoning_models))] == 0)


def test_every_parameter_has_a_source():
    for row in synth_mod.parameters():
        assert row["source"].strip(), row["name"]
        assert "seed" in row["source"] or "assumed" in row["source"] or "catalog" in row["source"]


def test_bad_arguments(tmp_path):
    with pytest.raises(UsageLogError, match="--rows: must be at least 1"):
        synth_mod.synth(0, tmp_path / "x.parquet")
    with pytest.raises(UsageLogError, match=r"--out: .*allowed file types"):
        synth_mod.synth(10, tmp_path / "x.txt")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": float("nan")}, "--days: must be at least 1 and at most 36600 (got nan)"),
        ({"days": float("inf")}, "--days: must be at least 1 and at most 36600 (got inf)"),
        ({"seed": -1}, "--seed: must be 0 or more (got -1)"),
        ({"rows": 10**12}, "--rows: must be at least 1 and at most 10,000,000,000"),
    ],
)
def test_bad_numbers_are_refused_before_the_file_is_opened(tmp_path, kwargs, message):
    # nan/inf days and a negative seed were bug reports; 1e12 rows ran for hours on a 0-byte file
    out = tmp_path / "x.parquet"
    with pytest.raises(UsageLogError) as info:
        synth_mod.synth(**{"rows": 10, "out": out, **kwargs})
    assert str(info.value).startswith(message)
    assert not out.exists()


def test_rows_are_written_in_time_order_across_chunks(tmp_path, monkeypatch):
    # QA (new-user pass): `usage report` on the tool's own synthetic log said "19,814 rows
    # earlier than the row before them" (of 100,000): synth wrote each task's steps together,
    # while gateways and providers append requests as they happen. Input: 2,500 rows in
    # chunks of 1,000 over 30 days, so three chunks whose tasks start in days 0-10, 10-20 and
    # 20-30; a task's later steps (20 s apart) past its chunk's window wait for the next one.
    monkeypatch.setattr(synth_mod, "CHUNK_ROWS", 1_000)
    path = synth_mod.synth(2_500, tmp_path / "s.parquet", days=30, seed=2)
    t = pq.read_table(path)
    ts = t.column("timestamp").cast(pa.int64()).to_numpy()
    assert t.num_rows == 2_500
    assert (np.diff(ts) >= 0).all()  # non-decreasing: no row earlier than the one before it
    # every chunk's window holds rows: the log still spans the 30 days (> 29 days first to last)
    assert (ts[-1] - ts[0]) / 86400e6 > 29
    # tasks still numbered 0..N-1 with none lost to the reordering
    tasks = t.column("task_id").to_numpy()
    assert np.array_equal(np.unique(tasks), np.arange(tasks.max() + 1))
    con = engines.connect()
    assert analyses.quality(analyses.load(con, [str(path)]))["out_of_order_rows"] == 0
