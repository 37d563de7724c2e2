"""Monte Carlo, tornado and Sobol on analytic functions whose answers are known (fixed seeds).

The model under test is the statistics, so the "models" here are plain functions of their
inputs; the scenario pipeline has its own vector = scalar tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.errors import InfeasibleError, ScenarioError
from tokenfab.scenario import Distribution, InputRange
from tokenfab.uncertainty import (
    FEASIBLE,
    MAX_SAMPLES,
    Result,
    draw,
    monte_carlo,
    quantile,
    sobol,
    swing,
    tornado,
)


def uniform(low: float, high: float) -> Distribution:
    return Distribution(dist="uniform", low=low, high=high)


def function_model(f, base: dict[str, float], feasible=None):
    """A model from ``f(**inputs) -> {kpi: values}``: inputs not sampled stay at ``base``."""

    def run(samples):
        n = max([len(v) for v in samples.values()] or [1])
        x = {
            k: np.broadcast_to(np.asarray(samples.get(k, v), float), (n,)) for k, v in base.items()
        }
        kpis = f(**x)
        ok = np.ones(n, bool) if feasible is None else feasible(**x)
        reasons = {"x above 0.5": int((~ok).sum())} if (~ok).any() else {}
        return Result(n, kpis, ok, reasons)

    return run


# ------------------------------------------------------------------------------------------
# Monte Carlo
# ------------------------------------------------------------------------------------------


def test_a_constant_input_gives_zero_spread():
    # a uniform of zero width and a normal of sd 0 are constants: every statistic is the value
    dists = {
        "a": uniform(3.0, 3.0),
        "b": Distribution(dist="normal", mean=2.0, sd=0.0),
    }
    model = function_model(lambda a, b: {"y": a * b}, {"a": 1.0, "b": 1.0})
    mc = monte_carlo(model, dists, 10_000, seed=7)
    y = mc.kpis["y"]
    assert (y.mean, y.p5, y.p50, y.p95) == (6.0, 6.0, 6.0, 6.0)  # 3 x 2
    assert mc.feasible_share == 1.0


def test_mean_of_a_linear_kpi_matches_the_analytic_mean():
    # y = 3a + 2b - c + 100 with
    #   a ~ U(1, 3):               E = 2,  Var = 2^2/12 = 1/3
    #   b ~ triangular(0, 1, 5):   E = (0+1+5)/3 = 2,  Var = (0+1+25-0-0-5)/18 = 7/6
    #   c ~ N(10, 2):              E = 10, Var = 4
    # E[y] = 6 + 4 - 10 + 100 = 100; Var[y] = 9/3 + 4*7/6 + 4 = 11.67, sd 3.416.
    # With 200,000 samples the standard error of the mean is 3.416 / sqrt(2e5) = 0.0076;
    # the tolerance is 5 of those.
    dists = {
        "a": uniform(1.0, 3.0),
        "b": Distribution(dist="triangular", low=0.0, mode=1.0, high=5.0),
        "c": Distribution(dist="normal", mean=10.0, sd=2.0),
    }
    model = function_model(
        lambda a, b, c: {"y": 3 * a + 2 * b - c + 100}, {"a": 0.0, "b": 0.0, "c": 0.0}
    )
    mc = monte_carlo(model, dists, 200_000, seed=1)
    assert abs(mc.kpis["y"].mean - 100.0) < 5 * 0.0076
    # the spread too: P95 - P5 of a near-normal y is 2 x 1.645 x 3.416 = 11.24 (2 % tolerance)
    assert_allclose(mc.kpis["y"].p95 - mc.kpis["y"].p5, 2 * 1.6449 * math.sqrt(11.667), rtol=0.02)


def test_percentiles_of_a_uniform_and_the_mean_of_a_lognormal():
    # U(10, 20): P5 = 10.5, P50 = 15, P95 = 19.5. Lognormal(median 2, sigma 0.5): mean is
    # median x exp(sigma^2 / 2) = 2 x exp(0.125) = 2.2663 (standard result for the lognormal).
    dists = {"u": uniform(10.0, 20.0), "g": Distribution(dist="lognormal", median=2.0, sigma=0.5)}
    model = function_model(lambda u, g: {"u": u, "g": g}, {"u": 0.0, "g": 1.0})
    mc = monte_carlo(model, dists, 400_000, seed=3)
    u = mc.kpis["u"]
    assert_allclose([u.p5, u.p50, u.p95], [10.5, 15.0, 19.5], atol=0.02)
    assert_allclose(mc.kpis["g"].mean, 2 * math.exp(0.125), rtol=0.005)
    assert_allclose(mc.kpis["g"].p50, 2.0, rtol=0.005)


def test_the_same_seed_gives_the_same_figures_whatever_the_chunk_size():
    dists = {"a": uniform(0.0, 1.0), "b": Distribution(dist="normal", mean=0.0, sd=1.0)}
    model = function_model(lambda a, b: {"y": a + b**2}, {"a": 0.0, "b": 0.0})
    one = monte_carlo(model, dists, 5_000, seed=11, chunk_size=65_536)
    many = monte_carlo(model, dists, 5_000, seed=11, chunk_size=333)
    assert one.as_dict() == many.as_dict()
    other = monte_carlo(model, dists, 5_000, seed=12)
    assert other.kpis["y"].mean != one.kpis["y"].mean


def test_infeasible_samples_are_counted_not_dropped_silently():
    # x ~ U(0, 1), feasible when x <= 0.5: share 0.5; the statistics describe the feasible
    # samples, x | x <= 0.5 ~ U(0, 0.5) with mean 0.25
    model = function_model(lambda x: {"x": x}, {"x": 0.0}, feasible=lambda x: x <= 0.5)
    mc = monte_carlo(model, {"x": uniform(0.0, 1.0)}, 100_000, seed=5)
    assert_allclose(mc.feasible_share, 0.5, atol=0.01)
    assert_allclose(mc.kpis["x"].mean, 0.25, atol=0.003)
    assert mc.reasons["x above 0.5"] == round((1 - mc.feasible_share) * 100_000)
    assert set(mc.as_dict()) == {"samples", "feasible_share", "kpis"}
    assert set(mc.as_dict()["kpis"]["x"]) == {"mean", "p5", "p50", "p95"}


def test_no_feasible_sample_gives_nan_figures_and_share_zero():
    model = function_model(lambda x: {"x": x}, {"x": 0.0}, feasible=lambda x: x > 2)
    mc = monte_carlo(model, {"x": uniform(0.0, 1.0)}, 1_000)
    assert mc.feasible_share == 0.0
    assert math.isnan(mc.kpis["x"].mean)


@pytest.mark.parametrize("n", [0, -5, MAX_SAMPLES + 1, 10**12, 2.5, True])
def test_an_absurd_sample_count_is_refused_with_the_limit(n):
    model = function_model(lambda x: {"x": x}, {"x": 0.0})
    with pytest.raises(ScenarioError, match=r"^samples: .* allowed: 1 to 1,000,000$"):
        monte_carlo(model, {"x": uniform(0.0, 1.0)}, n)


def test_a_negative_seed_is_refused():
    model = function_model(lambda x: {"x": x}, {"x": 0.0})
    with pytest.raises(ScenarioError, match=r"^seed: -1"):
        monte_carlo(model, {"x": uniform(0.0, 1.0)}, 10, seed=-1)


# ------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------


def test_triangular_quantiles_by_hand():
    # triangular(0, 1, 4): F(x) = x^2/4 on [0, 1] (so F(1) = 1/4), 1 - (4-x)^2/12 on [1, 4]
    d = Distribution(dist="triangular", low=0.0, mode=1.0, high=4.0)
    x = quantile(d, np.array([0.0, 0.04, 0.25, 1 - 4 / 12, 1.0]))
    assert_allclose(x, [0.0, 0.4, 1.0, 2.0, 4.0], atol=1e-12)  # 0.4^2/4 = 0.04; (4-2)^2/12 = 1/3


def test_a_normal_is_truncated_to_its_field_range_and_a_whole_number_rounded():
    d = Distribution(dist="normal", mean=0.5, sd=0.2)
    x = quantile(d, np.linspace(0, 1, 10_001), InputRange(0.0, 1.0, low_open=True))
    assert x.min() > 0 and x.max() <= 1
    d = Distribution(dist="uniform", low=1.0, high=8.0)
    n = quantile(d, np.array([0.0, 0.5, 0.99]), InputRange(1, None, integer=True))
    assert_allclose(n, [1.0, 4.0, 8.0])  # 1 + 0.5 x 7 = 4.5 rounds to even 4; 7.93 -> 8


def test_draw_is_reproducible_and_independent_across_inputs():
    dists = {"a": uniform(0, 1), "b": uniform(0, 1)}
    x = draw(dists, 50_000, seed=2)
    y = draw(dists, 50_000, seed=2)
    assert_allclose(x["a"], y["a"])
    # independent uniforms: correlation within 4 / sqrt(n) = 0.018 of 0
    assert abs(np.corrcoef(x["a"], x["b"])[0, 1]) < 0.018


# ------------------------------------------------------------------------------------------
# Tornado
# ------------------------------------------------------------------------------------------


def test_tornado_order_matches_a_hand_built_case():
    # y = a + 5b + 2c at base a = 5, b = 2, c = 0:
    #   a swung 0 -> 10:                          y 10 -> 20, swing 10
    #   b low/base/high 1 / 2 / 2.5:              y 10 -> 22.5, swing 5 x 1.5 = 7.5
    #   c ~ N(0, 1), P5..P95 = -1.645 .. 1.645:   swing 2 x 3.29 = 6.58
    #   d ~ U(0, 100), absent from y:            swing 0
    model = function_model(
        lambda a, b, c, d: {"y": a + 5 * b + 2 * c + 0 * d},
        {"a": 5.0, "b": 2.0, "c": 0.0, "d": 0.0},
    )
    dists = {
        "d": uniform(0.0, 100.0),
        "c": Distribution(dist="normal", mean=0.0, sd=1.0),
        "a": uniform(0.0, 10.0),
        "b": Distribution(dist="low-base-high", low=1.0, base=2.0, high=2.5),
    }
    t = tornado(model, dists, "y")
    assert [r.input for r in t.rows] == ["a", "b", "c", "d"]
    assert t.base == 15.0  # 5 + 10 + 0
    assert_allclose([r.swing for r in t.rows], [10.0, 7.5, 2 * 2 * 1.644854, 0.0], rtol=1e-6)
    a = t.rows[0]
    assert (a.low, a.high, a.kpi_at_low, a.kpi_at_high) == (0.0, 10.0, 10.0, 20.0)


def test_tornado_lists_an_input_that_makes_the_point_infeasible_first():
    # x at its high end (1.0) fails the x <= 0.5 test: the largest effect there is
    model = function_model(
        lambda x, w: {"y": x + 100 * w}, {"x": 0.2, "w": 0.0}, feasible=lambda x, w: x <= 0.5
    )
    t = tornado(model, {"w": uniform(0.0, 1.0), "x": uniform(0.0, 1.0)}, "y")
    assert [r.input for r in t.rows] == ["x", "w"]
    assert (t.rows[0].feasible_at_low, t.rows[0].feasible_at_high) == (True, False)
    assert t.reasons == {"x above 0.5": 1}


def test_an_unknown_kpi_names_the_nearest():
    model = function_model(lambda x: {"cost_usd_per_mtok_blended": x}, {"x": 0.0})
    with pytest.raises(ScenarioError, match="did you mean: cost_usd_per_mtok_blended"):
        tornado(model, {"x": uniform(0, 1)}, "cost_usd_per_mtok_blend")


def test_swing_of_a_lognormal_is_its_5th_and_95th_percentile():
    # median 100, sigma 0.1: 100 x exp(-/+ 1.644854 x 0.1) = 84.83, 117.88
    lo, hi = swing(Distribution(dist="lognormal", median=100.0, sigma=0.1))
    assert_allclose([lo, hi], [100 * math.exp(-0.1644854), 100 * math.exp(0.1644854)])


def test_a_split_lognormal_has_its_three_percentiles_and_a_sigma_each_side():
    # median 1, p5 0.7065, p95 1.7888 (configuration-tpot-s before the smooth GEMM maximum):
    # sigma below ln(1 / 0.7065) / 1.644854 = 0.2112, above ln(1.7888) / 1.644854 = 0.3536; the
    # quantile at u = Phi(-1) = 0.158655 is exp(-0.2112), at Phi(1) = 0.841345 exp(0.3536)
    d = Distribution(dist="split-lognormal", median=1.0, p5=0.7065, p95=1.7888)
    u = np.array([0.05, 0.158655253931457, 0.5, 0.841344746068543, 0.95])
    lo, hi = math.log(1 / 0.7065) / 1.6448536, math.log(1.7888) / 1.6448536
    assert_allclose(quantile(d, u), [0.7065, math.exp(-lo), 1.0, math.exp(hi), 1.7888], rtol=1e-6)
    assert_allclose(swing(d), [0.7065, 1.7888], rtol=1e-9)
    # a field range cuts it as a lognormal's: every sample inside (0, 1.5]
    x = quantile(d, np.linspace(0, 1, 1001), InputRange(0.0, 1.5, low_open=True))
    assert x.min() > 0 and x.max() <= 1.5


# ------------------------------------------------------------------------------------------
# Sobol
# ------------------------------------------------------------------------------------------


def ishigami(x1, x2, x3, x4):
    """Ishigami & Homma (1990), a = 7, b = 0.1; x4 is a dummy input that does nothing."""
    return {"y": np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1) + 0 * x4}


def test_sobol_on_the_ishigami_function_matches_its_published_indices():
    # Analytic indices of the Ishigami function with x_i ~ U(-pi, pi), a = 7, b = 0.1
    # (T. Ishigami and T. Homma, ISUMA 1990; variances as in I. M. Sobol' and Y. L. Levitan,
    # Comput. Phys. Commun. 117, 1999):
    #   V   = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2        = 13.8446
    #   V1  = b pi^4/5 + b^2 pi^8/50 + 1/2                = 4.3459
    #   V2  = a^2/8                                       = 6.1250
    #   V13 = b^2 pi^8 (1/18 - 1/50) = 8 b^2 pi^8 / 225   = 3.3737
    #   S1 = V1/V = 0.3139, S2 = 0.4424, S3 = 0
    #   ST1 = (V1 + V13)/V = 0.5576, ST2 = 0.4424, ST3 = V13/V = 0.2437
    # (the SALib documentation quotes S1 0.314, 0.442, 0.0 and ST 0.558, 0.442, 0.244)
    a, b, pi = 7.0, 0.1, math.pi
    v = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    v1 = b * pi**4 / 5 + b**2 * pi**8 / 50 + 0.5
    v13 = 8 * b**2 * pi**8 / 225
    s1 = [v1 / v, a**2 / 8 / v, 0.0, 0.0]
    st = [(v1 + v13) / v, a**2 / 8 / v, v13 / v, 0.0]
    assert_allclose(s1[:3], [0.3139, 0.4424, 0.0], atol=1e-4)
    assert_allclose(st[:3], [0.5576, 0.4424, 0.2437], atol=1e-4)

    box = uniform(-pi, pi)
    dists = {"x1": box, "x2": box, "x3": box, "x4": box}
    model = function_model(ishigami, dict.fromkeys(dists, 0.0))
    res = sobol(model, dists, "y", base_samples=4096, seed=1)
    got = {r.input: r for r in res.rows}
    for j, name in enumerate(dists):
        assert abs(got[name].s1 - s1[j]) < 0.03, (name, got[name].s1, s1[j])
        assert abs(got[name].st - st[j]) < 0.03, (name, got[name].st, st[j])
    assert res.evaluations == 4096 * (4 + 2)
    # order by total index, and the dummy input reported as not mattering
    assert [r.input for r in res.rows] == ["x1", "x2", "x3", "x4"]
    assert [r.matters for r in res.rows] == [True, True, True, False]
    assert all(r.s1_conf > 0 and r.st_conf > 0 for r in res.rows[:3])
    # the variance of the sample is the analytic V within 3 %
    assert_allclose(res.variance, v, rtol=0.03)


def test_sobol_of_a_linear_function_gives_variance_shares():
    # y = a + 2b with a, b ~ U(0, 1): V = 1/12 + 4/12, shares 1/5 and 4/5, no interaction
    model = function_model(lambda a, b: {"y": a + 2 * b}, {"a": 0.0, "b": 0.0})
    res = sobol(model, {"a": uniform(0, 1), "b": uniform(0, 1)}, "y", base_samples=2048)
    got = {r.input: r for r in res.rows}
    assert_allclose([got["a"].s1, got["b"].s1], [0.2, 0.8], atol=0.02)
    assert_allclose([got["a"].st, got["b"].st], [0.2, 0.8], atol=0.02)


def test_sobol_of_a_constant_kpi_is_zero_for_every_input():
    model = function_model(lambda a: {"y": 0 * a + 3}, {"a": 0.0})
    res = sobol(model, {"a": uniform(0, 1)}, "y", base_samples=64)
    assert (res.rows[0].s1, res.rows[0].st, res.rows[0].matters) == (0.0, 0.0, False)


def test_sobol_refuses_a_kpi_undefined_on_part_of_the_inputs():
    model = function_model(lambda x: {"y": np.where(x > 0.5, np.nan, x)}, {"x": 0.0})
    with pytest.raises(InfeasibleError, match=r"^y: \d[\d,]* of 3,072 Sobol samples"):
        sobol(model, {"x": uniform(0, 1)}, "y", base_samples=1024)


@pytest.mark.parametrize("method", ["tornado", "sobol"])
def test_a_kpi_empty_at_every_feasible_point_is_refused_by_name(method):
    # A KPI the scenario leaves null everywhere (a rental line of a bought fleet: `sensitivity
    # --kpi cost_rental_usd_per_hour` on ownership buy) printed a tornado of dashes, "base -",
    # exit 0; Sobol counted every sample as "no value (no value)". Both now refuse it by name.
    model = function_model(lambda x: {"rent": np.full_like(x, np.nan), "y": x}, {"x": 0.0})
    dists = {"x": uniform(0, 1)}
    with pytest.raises(ScenarioError, match=r"^kpi: rent has no value in this scenario"):
        if method == "tornado":
            tornado(model, dists, "rent")
        else:
            sobol(model, dists, "rent", base_samples=4)
    # a KPI empty only where the point is infeasible is not refused: those samples are counted
    half = function_model(
        lambda x: {"y": np.where(x > 0.5, np.nan, x)}, {"x": 0.0}, feasible=lambda x: x <= 0.5
    )
    assert tornado(half, dists, "y").base == 0.0


def test_sobol_refuses_one_base_sample_whose_interval_would_read_zero():
    # y = a + 2b (true first-order shares 0.2 and 0.8). With N = 1 SALib's bootstrap resamples
    # one base row, every resample is that row, and the interval is 0 whatever the estimate:
    # `sensitivity --method sobol --samples 1` printed first-order 3.277 ± 0.000 and -2.241 ±
    # 0.000 for indices that lie in [0, 1]. Refused, naming the field; N = 2 runs and its
    # interval is no longer 0 (it says how little two rows tell).
    model = function_model(lambda a, b: {"y": a + 2 * b}, {"a": 0.0, "b": 0.0})
    dists = {"a": uniform(0, 1), "b": uniform(0, 1)}
    with pytest.raises(ScenarioError, match=r"^samples: 1 base sample .* from 2$"):
        sobol(model, dists, "y", base_samples=1)
    res = sobol(model, dists, "y", base_samples=2)
    assert all(r.s1_conf > 0 and r.st_conf > 0 for r in res.rows)


@pytest.mark.parametrize("n", [1000, 0, 2**17])
def test_sobol_refuses_a_base_count_that_is_not_a_power_of_two_or_too_large(n):
    model = function_model(lambda x: {"y": x}, {"x": 0.0})
    with pytest.raises(ScenarioError, match=r"^samples: "):
        sobol(model, {"x": uniform(0, 1)}, "y", base_samples=n)


def test_sobol_of_feasibility_names_the_input_that_causes_failures():
    # feasible when x <= 0.5, whatever w: the indicator depends on x alone, so x carries all
    # its variance (S1 = ST = 1) and w none; its mean is the feasible share, 0.5
    model = function_model(
        lambda x, w: {"y": x + w}, {"x": 0.0, "w": 0.0}, feasible=lambda x, w: x <= 0.5
    )
    res = sobol(model, {"x": uniform(0, 1), "w": uniform(0, 1)}, FEASIBLE, base_samples=1024)
    got = {r.input: r for r in res.rows}
    assert_allclose([got["x"].s1, got["x"].st], [1.0, 1.0], atol=0.05)
    assert_allclose([got["w"].s1, got["w"].st], [0.0, 0.0], atol=0.02)
    assert_allclose(res.mean, 0.5, atol=0.01)


def test_charts_of_the_analyses_are_written(tmp_path):
    # the chart functions the commands call, fed with analytic results
    from tokenfab import charts

    model = function_model(lambda a, b: {"y": a + 2 * b}, {"a": 0.5, "b": 0.5})
    dists = {"a": uniform(0, 1), "b": uniform(0, 1)}
    s = monte_carlo(model, dists, 2_000).kpis["y"]
    panel = {"name": "y", "counts": s.counts, "edges": s.edges, "marks": {"mean": s.mean}}
    assert s.counts.sum() == 2_000  # every feasible sample is in a bar
    t = tornado(model, dists, "y")
    sob = sobol(model, dists, "y", base_samples=64)
    written = [
        charts.histogram_chart(tmp_path / "h.html", [panel], "Monte Carlo"),
        charts.tornado_chart(
            tmp_path / "t.png",
            [{"name": r.input, "at_low": r.kpi_at_low, "at_high": r.kpi_at_high} for r in t.rows],
            t.base,
            "Tornado",
            "y",
        ),
        charts.sobol_chart(
            tmp_path / "s.html", [r.__dict__ | {"name": r.input} for r in sob.rows], "Sobol"
        ),
    ]
    for html, png in written:
        assert html.suffix == ".html" and html.stat().st_size > 1000
        assert png.suffix == ".png" and png.read_bytes()[:4] == b"\x89PNG"
