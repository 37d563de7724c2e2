"""Routing and cascades: cost per successful outcome (tokenfab.routing)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab import routing as rt
from tokenfab.catalog import Catalog
from tokenfab.errors import ScenarioError


def test_router_sending_everything_to_the_big_model_equals_no_routing():
    c = rt.cascade(0.02, 0.001, 0.0, np.array([0.0, 0.5, 1.0]), success_big=0.9)
    assert_allclose(c.cost_usd_after, c.cost_usd_before, rtol=0)
    assert_allclose(c.success_after, c.success_before, rtol=0)
    assert_allclose(c.savings, 0.0, atol=0)


def test_closed_form_saving_with_perfect_big_model_and_detection():
    # saving = s (q - r) with r = c_small / c_big = 0.1: 0.7 x (0.9 - 0.1) = 0.56
    c = rt.cascade(0.01, 0.001, 0.7, 0.9)
    assert_allclose(c.savings, 0.56, rtol=1e-12)


def test_undetected_failures_lower_success_and_raise_cost_per_success():
    # no detection: success = 0.3 + 0.7 x 0.8 = 0.86; cost = 0.3 x 0.01 + 0.7 x 0.001 = 0.0037
    c = rt.cascade(0.01, 0.001, 0.7, 0.8, failure_detection=0.0)
    assert_allclose(c.success_after, 0.86, rtol=1e-12)
    assert_allclose(c.cost_usd_after, 0.0037, rtol=1e-12)
    assert_allclose(c.cost_per_success_usd_after, 0.0037 / 0.86, rtol=1e-12)


def test_grid_marks_where_40_to_70_percent_holds():
    # r = 0.1: s = 0.5, q = 0.9 -> 0.40 (holds); s = 0.3, q = 0.95 -> 0.255 (does not)
    _s, _q, g = rt.savings_grid(1.0, 0.1, (0.3, 0.5), (0.9, 0.95))
    assert_allclose(g, [[0.24, 0.255], [0.40, 0.425]], rtol=1e-12)


def test_prompt_caching_discount_from_the_catalog():
    # GPT-4o with caching: $2.50 in, $1.25 cached, $10 out (api_prices.csv)
    p = Catalog().table("api-prices")["openai-gpt-4o-cached-2024-10"]
    full = rt.request_cost_from_price(p, 10_000, 500)
    half = rt.request_cost_from_price(p, 10_000, 500, cache_hit_rate=0.5)
    assert_allclose(full, (10_000 * 2.5 + 500 * 10) / 1e6, rtol=1e-12)  # 0.030
    assert_allclose(half, (5_000 * 2.5 + 5_000 * 1.25 + 500 * 10) / 1e6, rtol=1e-12)  # 0.02375


def test_cache_without_a_cached_price_is_refused():
    with pytest.raises(ScenarioError, match=r"^cache_hit_rate:"):
        rt.request_cost_usd(1000, 10, 1.0, 2.0, None, 0.3)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("routed_share", {"routed_share": 1.2}),
        ("success_small", {"success_small": -0.1}),
        ("success_big", {"success_big": 0.0}),
        ("cost_usd_big", {"cost_usd_big": 0.0}),
    ],
)
def test_bad_input_names_the_field(field, kwargs):
    args = {
        "cost_usd_big": 0.01,
        "cost_usd_small": 0.001,
        "routed_share": 0.5,
        "success_small": 0.8,
    }
    with pytest.raises(ScenarioError, match=f"^{field}:"):
        rt.cascade(**{**args, **kwargs})


def test_a_vanishing_success_rate_is_refused_naming_the_field_not_a_numpy_warning():
    # QA (schemathesis-style input): success_big = 5e-324, the smallest float above 0, made
    # cost / success overflow (0.1125 / 5e-324 > 1.8e308, the largest float) with a NumPy
    # RuntimeWarning and an inf in the JSON; it is now one line naming the field
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        c = rt.cascade(0.1125, 0.0075, 0.7, 0.85, success_big=5e-324)
        with pytest.raises(ScenarioError, match=r"^success_big: .*undefined"):
            c.cost_per_success_usd_before  # noqa: B018
        # every request routed, none right, none escalated: success after = 0 (no outcome
        # succeeds), so cost per success after is undefined, named as the small model's
        c = rt.cascade(0.1125, 0.0075, 1.0, 0.0, failure_detection=0.0)
        assert c.success_after == 0.0
        with pytest.raises(ScenarioError, match=r"^success_small: .*lower routed_share"):
            c.savings  # noqa: B018
    # a small but representable rate still has its cost: 0.1125 / 1e-300 = 1.125e299 USD
    c = rt.cascade(0.1125, 0.0075, 0.7, 0.85, success_big=1e-300)
    assert_allclose(c.cost_per_success_usd_before, 1.125e299, rtol=1e-12)


def test_route_cli_refuses_a_vanishing_success_rate_in_one_line():
    import subprocess
    import sys

    def route(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-c", "from tokenfab.cli import main; main()", "route", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    for args, field in [
        (("--success-big", "5e-324"), "success_big"),
        (
            ("--routed-share", "1", "--success-small", "0", "--failure-detection", "0"),
            "success_small",
        ),
    ]:
        r = route(*args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(f"error: {field}: "), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


# -- published router studies (data/router_studies.csv) ----------------------------------------


@pytest.mark.parametrize(
    ("name", "strong_calls", "retained"),
    [
        # RouteLLM (Ong et al., arXiv:2406.18665v4), Table 1: matrix factorization trained on
        # Arena + GPT-4-judge data needs CPT(50%) = 13.40% GPT-4 calls; the caption: the score
        # there, 8.8, "is 95% that of GPT-4's score (9.3)"
        ("routellm-mt-bench", 0.1340, 0.95),
        # Table 1, the same router on Arena data only: CPT(50%) = 25.32%
        ("routellm-mt-bench-arena", 0.2532, 0.95),
        # Table 2: matrix factorization on Arena + gold MMLU labels, 35.46%; "75, is 92% ... (81)"
        ("routellm-mmlu", 0.3546, 0.92),
        # Table 3: causal LLM on Arena + judge labels, 33.64%; "75, is 87% ... (86)"
        ("routellm-gsm8k", 0.3364, 0.87),
        # Hybrid LLM (Ding et al., arXiv:2404.14618), abstract: "up to 40% fewer calls to the
        # large model, with no drop in response quality"
        ("hybrid-llm", 0.60, 1.0),
    ],
)
def test_study_rows_reproduce_the_papers_stated_operating_points(name, strong_calls, retained):
    st = rt.router_study(name)
    assert_allclose(st.routed_share, 1 - strong_calls, rtol=1e-12)
    # the stated percentages are whole (Table 2 prints 75/81 = 92.6 % as "92%", Table 1
    # 8.8/9.3 = 94.6 % as "95%"): within one point of the ratio of the stated scores
    assert abs(st.quality_retained - retained) < 0.01
    assert st.failure_detection == 0.0  # routers call one model per query
    assert st.source and st.as_of and st.retrieved and st.notes


@pytest.mark.parametrize("name", ["routellm-mt-bench", "routellm-mmlu", "hybrid-llm"])
def test_a_studys_inputs_keep_the_stated_quality_of_the_mix(name):
    # no escalation: success after = (1 - s) p + s q with q = p (R - c)/(1 - c), c = 1 - s,
    # which is p R: the mix keeps the share R of the big model's success the study states
    st = rt.router_study(name)
    c = rt.cascade(0.1, 0.01, success_big=0.9, **st.inputs(0.9))
    assert_allclose(c.success_after / c.success_before, st.quality_retained, rtol=1e-12)


def test_mt_bench_study_small_success_by_hand():
    # (8.8/9.3 - 0.134) / 0.866 = 0.93792 of the big model's success
    st = rt.router_study("routellm-mt-bench")
    assert_allclose(st.success_small_relative, (8.8 / 9.3 - 0.134) / 0.866, rtol=1e-12)
    assert_allclose(st.success_small_relative, 0.93792, atol=1e-5)


def test_unknown_study_is_one_line_naming_the_field_and_the_studies():
    with pytest.raises(ScenarioError) as e:
        rt.router_study("frugalgpt")
    msg = str(e.value)
    assert msg.startswith("study: unknown 'frugalgpt'; allowed: ") and "\n" not in msg
    assert all(n in msg for n in rt.router_studies())


def test_default_study_is_a_row():
    assert rt.DEFAULT_STUDY in rt.router_studies()


def test_a_study_row_whose_quality_is_below_its_strong_share_is_refused():
    # 0.2 quality retained with 30 % to the strong model leaves the weak model a negative rate
    row = {
        "id": "x",
        "benchmark": "b",
        "router": "r",
        "strong_model": "s",
        "weak_model": "w",
        "strong_call_share": 0.3,
        "quality_router": 2,
        "quality_strong": 10,
        "quality_unit": "score",
        "failure_detection": 0,
        "source": "s",
        "as_of": "2024-01-01",
    }
    with pytest.raises(ValueError, match="below the strong-call share"):
        rt.RouterStudy.model_validate(row)


def test_the_grid_carries_the_success_rate_after_routing():
    # with escalation (failure detection 1) and the big model right 95 %: at 70 % routed and
    # the small model right 80 %, S = 0.3 x 0.95 + 0.7 x (0.8 + 0.2 x 0.95) = 0.978; with no
    # escalation S = 0.3 x 0.95 + 0.7 x 0.8 = 0.845
    from tokenfab import operations
    from tokenfab.catalog import default_catalog

    op = operations.get("route")
    for detect, expected in ((1.0, 0.978), (0.0, 0.845)):
        r = op.run({"failure_detection": detect}, default_catalog())
        g = r.grid
        i, j = g.routed_share.index(0.7), g.success_small.index(0.8)
        assert_allclose(g.success_rate_after[i][j], expected, rtol=1e-12)
        assert g.failure_detection == detect and g.success_big == 0.95


def test_a_tiny_small_model_success_rate_prints_as_a_multiple_not_millions_of_percent():
    # --success-small 0.000001 --routed-share 1, no failure detection: every request goes to
    # the small model, which succeeds once in a million. cost per success after = cost per
    # request / 1e-6; the saving 1 - after/before is about -6.3 million % (the arithmetic is
    # right: a success costs ~63,000x the big model's), printed as "-6333233.3%". Not refused:
    # the figure is finite and means what it says; only a rate whose cost per success
    # overflows is (routing._per_success).
    from tokenfab import operations
    from tokenfab.catalog import default_catalog
    from tokenfab.cli_econ import saving_text

    r = operations.get("route").run(
        {"success_small": 1e-6, "routed_share": 1.0, "failure_detection": 0.0},
        default_catalog(),
    )
    assert r.success_rate_after == pytest.approx(1e-6)
    assert r.cost_per_success_usd_after == pytest.approx(r.cost_usd_per_request_after / 1e-6)
    ratio = r.cost_per_success_usd_after / r.cost_per_success_usd_before
    assert r.savings_per_success == pytest.approx(1 - ratio)
    assert ratio > 1e4
    text = saving_text(
        r.savings_per_success, r.cost_per_success_usd_after, r.cost_per_success_usd_before
    )
    assert text.startswith(f"none: a successful outcome costs {ratio:,.0f}x as much")
    assert "%" not in text


def test_a_price_id_borrows_the_cached_price_of_its_caching_twin():
    # QA: `route --big openai-gpt-4o-2024-08 --cache-hit-rate 0.5` was refused ("this price
    # has no cached-input rate") while `usage whatif` priced the same row's cached tokens at
    # $1.25, from OpenAI's prompt-caching row of the same $2.50 / $10 prices. 6,000 prompt
    # tokens half cached, 300 out: (3,000 x 2.5 + 3,000 x 1.25 + 300 x 10) / 1e6 = $0.01425
    from tokenfab.catalog import default_catalog
    from tokenfab.routing import api_price, request_cost_from_price

    row = api_price(default_catalog(), "big", "openai-gpt-4o-2024-08")
    assert row.cached_input_usd_per_mtok == 1.25
    assert_allclose(request_cost_from_price(row, 6000, 300, 0.5), 0.01425, rtol=1e-12)
    # a row with no such twin keeps no cached price: a cache hit rate on it is still refused
    # (GPT-4o of May 2024, $5 / $15: OpenAI's caching row lists the later $2.50 / $10)
    old = api_price(default_catalog(), "big", "openai-gpt-4o-2024-05")
    assert old.cached_input_usd_per_mtok is None


def test_a_model_routed_in_front_of_itself_is_refused():
    # big == small: the study's success gap (Claude Opus 4.1 at 0.95 as big, 0.891 as
    # "small") turned one model into two and printed a -5.7% "saving"; the request is
    # contradictory and is refused naming small
    from tokenfab import operations
    from tokenfab.catalog import default_catalog

    op = operations.get("route")
    opus = "anthropic-claude-opus-4-1-2025-08"
    with pytest.raises(ScenarioError, match=f"^small: {opus} is also the big model"):
        op.run(op.parse({"big": opus, "small": opus}), default_catalog())
