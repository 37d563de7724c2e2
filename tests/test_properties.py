"""Property tests over Scenario fields (issue 8).

Invariant: any scenario the schema accepts gives finite, non-negative KPIs and operating
point figures, or a ``TokenfabError`` with a one-line message -- never another exception, a
NaN, an infinity or a negative number.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenfab.catalog import Catalog
from tokenfab.errors import TokenfabError
from tokenfab.planning import evaluate
from tokenfab.scenario import Scenario

CAT = Catalog()
MODELS = ["llama-3.1-8b", "llama-3.1-70b", "qwen3-30b-a3b", "gpt-oss-120b", "mistral-small-3.1"]
ACCELERATORS = ["h100-sxm", "b200", "mi300x", "rtx-4090", "a100-sxm-80gb", "tpu-v6e", "gaudi3"]
# figures that may legitimately be absent (null) or are not quantities
SKIP = {"cost_error", "cost_basis", "api_provider", "stale_prices"}


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    sc: dict = {
        "model": draw(st.sampled_from(MODELS)),
        "accelerator": draw(st.sampled_from(ACCELERATORS)),
        "input_tokens": draw(st.integers(1, 60_000)),
        "output_tokens": draw(st.integers(1, 8_000)),
        "region": draw(st.sampled_from(["us", "eu", "china", "singapore"])),
        "ownership": draw(st.sampled_from(["buy", "rent"])),
    }
    if draw(st.booleans()):
        sc["precision"] = draw(st.sampled_from(["bf16", "fp8", "fp4"]))
    if draw(st.booleans()):
        sc["prefix_cache_hit_rate"] = draw(st.floats(0.0, 0.99))
    if draw(st.booleans()):
        sc["reasoning_tokens"] = draw(st.integers(0, 4_000))
    demand = draw(st.sampled_from(["none", "tokens", "rate"]))
    if demand == "tokens":
        sc["tokens_per_day"] = draw(st.floats(1e3, 1e11))
        sc["peak_to_average"] = draw(st.floats(1.0, 5.0))
    elif demand == "rate":
        sc["requests_per_second"] = draw(st.floats(1e-3, 50.0))
    else:
        if draw(st.booleans()):
            sc["utilization"] = draw(st.floats(0.01, 1.0))
        if draw(st.booleans()):
            sc["batch_size"] = draw(st.integers(1, 512))
    if (demand == "none" or draw(st.booleans())) and draw(st.booleans()):
        sc["accelerators"] = draw(st.sampled_from([1, 2, 4, 8, 16]))
    if draw(st.booleans()):
        sc["ttft_slo_s"] = draw(st.floats(0.01, 100.0))
    if draw(st.booleans()):
        sc["tpot_slo_s"] = draw(st.floats(0.001, 1.0))
    if draw(st.booleans()):
        sc["speculative_tokens"] = draw(st.integers(1, 4))
        sc["acceptance_rate"] = draw(st.floats(0.0, 1.0))
    if draw(st.booleans()):
        sc["disaggregated"] = True
    if draw(st.booleans()):
        sc["software_licence"] = "nvidia-ai-enterprise"
    return sc


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_valid_input_gives_finite_non_negative_figures_or_a_tokenfab_error(data):
    try:
        est = evaluate(Scenario.parse(data), CAT)
    except TokenfabError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and ": " in msg
        return
    for key, value in est.as_dict().items():
        if key in SKIP or value is None or isinstance(value, (str, bool, list, dict)):
            continue
        assert math.isfinite(value), (key, value)
        assert value >= 0, (key, value)
    assert est.accelerators_needed >= 1
    assert 0 < est.utilization <= 1
    if est.cost is not None:
        # the same installed cost every hour: monthly cost is accelerators x hourly x 730 h
        assert est.kpis.monthly_cost_usd == pytest.approx(
            est.accelerators_needed * float(est.kpis.cost_usd_per_accelerator_hour) * 730.0,
            rel=1e-9,
        )
