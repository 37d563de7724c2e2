"""Exact percentiles by selection (analyses.exact_quantiles) against NumPy's type 7.

NumPy's default ``np.quantile`` (method "linear") is Hyndman and Fan's type 7, the definition
the report states; selection must give the same order statistics, so the figures agree to
rounding of the final interpolation (1e-12 relative), whatever the bucket count.
"""

from __future__ import annotations

import ibis
import numpy as np
import pytest

from tokenfab.usage import analyses

PS = (0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0)


def _check(rows, x, ps=PS):
    for p in ps:
        want = np.quantile(x, p)
        assert rows[analyses._pname(p)] == pytest.approx(want, rel=1e-12, abs=0.0), p


def test_hand_values():
    # 1..6: h = 5p (from 0); p50 -> 2.5 -> 3 + 0.5 (4 - 3) = 3.5, p90 -> 4.5 -> 5.5, p99 -> 5.95
    t = ibis.memtable({"x": [6.0, 2.0, 4.0, 1.0, 5.0, 3.0]})
    r = analyses.exact_quantiles(t, "x", (0.5, 0.9, 0.99))[0]
    assert (r["p50"], r["p90"], r["p99"]) == pytest.approx((3.5, 5.5, 5.95), rel=1e-15)
    assert (r["n"], r["mean"]) == (6, pytest.approx(3.5))


@pytest.mark.parametrize("buckets", [1, 4, 65_536])
@pytest.mark.parametrize("n", [1, 2, 3, 1_000, 50_000])
def test_matches_numpy_type7_with_ties_and_zeros(n, buckets):
    rng = np.random.default_rng(n)
    # a long right tail, rounded so values repeat, and a block of zeros (free requests)
    x = np.round(rng.lognormal(1.0, 1.5, n), 2)
    x[: n // 10] = 0.0
    t = ibis.memtable({"x": x})
    _check(analyses.exact_quantiles(t, "x", PS, buckets=buckets)[0], x)


def test_by_group_and_nulls_left_out():
    rng = np.random.default_rng(7)
    x = rng.exponential(3.0, 3_000)
    g = rng.choice(["a", "b", "c"], 3_000)
    x_null = np.where(rng.random(3_000) < 0.1, np.nan, x)  # NaN -> null in the memtable
    t = ibis.memtable({"x": x_null, "g": g}).mutate(x=ibis._.x.nullif(float("nan")))
    rows = analyses.exact_quantiles(t, "x", PS, by="g", buckets=8)
    assert [r["g"] for r in rows] == ["a", "b", "c"]
    for r in rows:
        keep = (g == r["g"]) & ~np.isnan(x_null)
        assert r["n"] == keep.sum()
        _check(r, x_null[keep])


def test_one_repeated_value_and_an_empty_column():
    t = ibis.memtable({"x": [2.5] * 7, "y": [None] * 7}, schema={"x": "float64", "y": "float64"})
    r = analyses.exact_quantiles(t, "x", PS)[0]
    assert all(r[analyses._pname(p)] == 2.5 for p in PS)
    assert analyses._quantiles(t, "y")[0]["p50"] is None  # no value: no percentile


def test_whole_column_from_the_by_group_counts_equals_its_own_counts():
    # hand log: model a latencies 1, 2, 3, 10; model b 0, 0, 4; a null model 5.
    # whole column sorted 0 0 1 2 3 4 5 10 (n = 8): p50 h = 3.5 -> 2 + 0.5 (3 - 2) = 2.5;
    # p90 h = 6.3 -> 5 + 0.3 (10 - 5) = 6.5; by model a: p50 h = 1.5 -> 2.5
    t = ibis.memtable(
        {
            "x": [1.0, 2.0, 3.0, 10.0, 0.0, 0.0, 4.0, 5.0],
            "m": ["a", "a", "a", "a", "b", "b", "b", None],
        }
    )
    ps = (0.5, 0.9, 0.99)
    total = {"n": 8, "lo": 0.0, "hi": 10.0, "mean": 25.0 / 8}
    for buckets in (1, 3, 65_536):
        stats = [
            {"m": "a", "n": 4, "lo": 0.0, "hi": 10.0, "mean": 4.0},
            {"m": "b", "n": 3, "lo": 0.0, "hi": 4.0, "mean": 4.0 / 3},
            {"m": None, "n": 1, "lo": 0.0, "hi": 5.0, "mean": 5.0},
        ]
        rows = analyses.exact_quantiles(t, "x", ps, "m", stats, buckets, total=total)
        alone = analyses.exact_quantiles(t, "x", ps, "m", stats, buckets)
        assert rows[:-1] == alone  # the groups' figures are unchanged
        whole = rows[-1]
        assert "m" not in whole
        assert whole == analyses.exact_quantiles(t, "x", ps, buckets=buckets)[0] | {
            "mean": 25.0 / 8
        }
        assert (whole["p50"], whole["p90"]) == pytest.approx((2.5, 6.5), rel=1e-15)
        assert rows[0]["p50"] == pytest.approx(2.5, rel=1e-15)
        _check(whole, np.array([1.0, 2.0, 3.0, 10.0, 0.0, 0.0, 4.0, 5.0]), ps)


def test_integer_column_counted_by_value_in_one_pass():
    # token counts (integers): each value its own bucket, no second count; the figures
    # are NumPy's type 7 all the same, by group and for the whole column
    rng = np.random.default_rng(11)
    x = rng.integers(0, 5_000, 20_000)
    x[:2_000] = 0  # ties at the floor
    g = rng.choice(["a", "b"], 20_000)
    t = ibis.memtable({"x": x, "g": g})
    s = analyses._Selection(t, "x", PS)
    s.count_buckets()
    assert s.direct and s.need == []  # nothing left for a second count
    _check(s.rows()[0], x)
    whole = {"n": x.size, "lo": 0.0, "hi": float(x.max()), "mean": float(x.mean())}
    rows = analyses.exact_quantiles(t, "x", PS, by="g", total=whole)
    for r in rows[:-1]:
        _check(r, x[g == r["g"]])
    _check(rows[-1], x)


def test_integer_column_spanning_too_many_values_takes_buckets():
    # a span of DIRECT_VALUES_MAX or more integers: buckets and a second count, same figures
    x = np.array([0, 1, 2, analyses.DIRECT_VALUES_MAX + 5, 7, 7, 3], dtype="int64")
    s = analyses._Selection(ibis.memtable({"x": x}), "x", PS)
    s.count_buckets()
    assert not s.direct and s.need
    s.count_values()
    _check(s.rows()[0], x)


def test_groups_counted_by_hash_give_the_same_figures():
    # DuckDB's hash of the model name in place of the name: the same counts, the same rows
    rng = np.random.default_rng(5)
    x = np.round(rng.lognormal(0.0, 1.0, 5_000), 3)
    m = rng.choice(["gpt-4o", "o3-mini", "claude-3-5-sonnet"], 5_000)
    t = ibis.memtable({"x": x, "m": m})
    whole = {"n": x.size, "lo": 0.0, "hi": float(x.max()), "mean": float(x.mean())}
    spec = {"q": {"col": "x", "ps": PS, "by": "m", "total": whole}}
    plain = analyses.exact_quantiles_many(t, spec)["q"]
    s = analyses._Selection(t, **spec["q"])
    s.hash_groups()
    assert s.names is not None and set(s.names.values()) == set(m)
    hashed = analyses.exact_quantiles_many(t, spec, hash_keys=True)["q"]
    assert hashed == plain
    for r in hashed[:-1]:
        _check(r, x[m == r["m"]])
    _check(hashed[-1], x)


def test_a_mean_not_given_is_summed_in_the_first_count():
    # stats with n, lo and hi but no mean (the report's latency and TTFT): the first count
    # sums the values too; mean of 1..6 = 3.5, of the groups a (1, 2, 3, 10) 4.0, b (0, 0, 4)
    # 4/3, and the whole column's (25 / 8 with the null-model 5) from the same count
    t = ibis.memtable({"x": [6.0, 2.0, 4.0, 1.0, 5.0, 3.0]})
    r = analyses.exact_quantiles(
        t, "x", (0.5,), stats=[{"n": 6, "lo": 0.0, "hi": 6.0, "mean": None}]
    )
    assert (r[0]["mean"], r[0]["p50"]) == (pytest.approx(3.5, rel=1e-15), 3.5)
    t = ibis.memtable(
        {
            "x": [1.0, 2.0, 3.0, 10.0, 0.0, 0.0, 4.0, 5.0],
            "m": ["a", "a", "a", "a", "b", "b", "b", None],
        }
    )
    stats = [
        {"m": "a", "n": 4, "lo": 0.0, "hi": 10.0, "mean": None},
        {"m": "b", "n": 3, "lo": 0.0, "hi": 10.0, "mean": None},
        {"m": None, "n": 1, "lo": 0.0, "hi": 10.0, "mean": None},
    ]
    total = {"n": 8, "lo": 0.0, "hi": 10.0, "mean": None}
    rows = analyses.exact_quantiles(t, "x", (0.5,), "m", stats, total=total)
    assert [r["mean"] for r in rows] == pytest.approx([4.0, 4.0 / 3, 5.0, 25.0 / 8], rel=1e-15)
    # every value equal (hi = lo): no count runs, the mean is the value
    t = ibis.memtable({"x": [2.5] * 3})
    r = analyses.exact_quantiles(
        t, "x", (0.5,), stats=[{"n": 3, "lo": 2.5, "hi": 2.5, "mean": None}]
    )
    assert r[0]["mean"] == 2.5
