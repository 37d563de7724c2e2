"""The throughput-versus-interactivity frontier (tokenfab.perf.frontier)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.perf.frontier import frontier, pareto_mask
from tokenfab.perf.operating import estimate
from tokenfab.scenario import Scenario

SCENARIO = Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8, precision="fp8")


def dominated_pairs(x: np.ndarray, y: np.ndarray) -> int:
    """Pairs (i, j) where point i beats point j on both axes (O(n^2), for checking only)."""
    return int(np.sum((x[:, None] > x[None, :]) & (y[:, None] > y[None, :])))


def test_pareto_mask_hand_example():
    # points (x, y): A (1, 5), B (2, 4), C (3, 1), D (3, 2), E (0.5, 5)
    #   C is beaten by D (same x, higher y); E by A (higher x, same y); A, B, D are the front.
    x = np.array([1.0, 2.0, 3.0, 3.0, 0.5])
    y = np.array([5.0, 4.0, 1.0, 2.0, 5.0])
    assert pareto_mask(x, y).tolist() == [True, True, False, True, False]


def test_pareto_mask_edge_cases():
    # a single point is its own front; identical points keep one; a chain where each point is
    # better on both axes keeps only the last
    assert pareto_mask(np.array([1.0]), np.array([1.0])).tolist() == [True]
    assert pareto_mask(np.array([2.0, 2.0]), np.array([3.0, 3.0])).sum() == 1
    assert pareto_mask(np.arange(5.0), np.arange(5.0)).tolist() == [False] * 4 + [True]
    # an anti-diagonal is all front
    assert pareto_mask(np.arange(5.0), -np.arange(5.0)).all()


def test_pareto_mask_random_points_are_non_dominated_and_complete():
    rng = np.random.default_rng(3)
    x, y = rng.random(400), rng.random(400)
    m = pareto_mask(x, y)
    assert dominated_pairs(x[m], y[m]) == 0
    # every point off the front is beaten (weakly on one axis, strictly on the other) by a front point
    fx, fy = x[m], y[m]
    for i in np.flatnonzero(~m):
        assert np.any((fx >= x[i]) & (fy >= y[i]) & ((fx > x[i]) | (fy > y[i])))


@pytest.fixture(scope="module")
def front():
    return frontier(SCENARIO)


def test_frontier_is_non_dominated(front):
    u, a = front.tok_s_per_user, front.tok_s_per_accelerator
    assert u.size >= 5
    assert dominated_pairs(u, a) == 0
    # sorted by interactivity; along the front throughput per accelerator then falls
    assert np.all(np.diff(u) > 0)
    assert np.all(np.diff(a) < 0)
    assert dominated_pairs(front.roofline_tok_s_per_user, front.roofline_tok_s_per_accelerator) == 0


def test_frontier_layouts_fit_the_deployment(front):
    ranks = np.maximum(front.tensor_parallel, front.expert_parallel)
    assert np.all(8 % (front.pipeline_parallel * ranks) == 0)
    assert np.all(front.batch_size >= 1)
    assert front.precision == "fp8"
    assert len(front.rows()) == front.tok_s_per_user.size


def test_frontier_ends_match_the_estimate(front):
    # The offline estimate maximises tokens/s per accelerator: the front's top throughput.
    # The min-latency estimate is batch 1 of the fastest layout: the front's top interactivity.
    offline = estimate(SCENARIO)
    assert_allclose(
        front.tok_s_per_accelerator.max(), offline.output_tok_s_per_accelerator, rtol=1e-9
    )
    fastest = estimate(SCENARIO.with_(objective="min-latency"))
    assert_allclose(front.tok_s_per_user.max(), fastest.output_tok_s_per_user, rtol=1e-9)


def test_roofline_frontier_lies_above_the_estimate(front):
    # At efficiency 1 the hardware can do at least as well on both axes.
    assert front.roofline_tok_s_per_user.max() >= front.tok_s_per_user.max()
    assert front.roofline_tok_s_per_accelerator.max() >= front.tok_s_per_accelerator.max()


def test_a_frontier_over_several_accelerators_leaves_out_those_that_do_not_fit():
    # Llama 3.1 405B in BF16: 405e9 x 2 bytes = 810 GB of weights (812 GB with the
    # embeddings); 8 x H100 (80 GB each, 640 GB) cannot hold it, 8 x B200 (180 GB each,
    # 1,440 GB) can. The request failed whole; now B200's frontier comes with H100 left out
    # and why, in the GB figures of estimate.
    from tokenfab import operations
    from tokenfab.catalog import default_catalog
    from tokenfab.errors import InfeasibleError

    op = operations.get("frontier")
    cat = default_catalog()
    given = {"model": "llama-3.1-405b", "accelerators": 8}
    fronts = op.compute(op.parse({**given, "accelerator": ["h100-sxm", "b200"]}), cat)
    assert [f.accelerator for f in fronts] == ["b200"]
    [(acc, reason)] = fronts.left_out
    assert acc == "h100-sxm"
    assert reason.startswith("accelerators: llama-3.1-405b in bf16 (812 GB of weights")
    assert "needs at least 16 x h100-sxm (80 GiB = 85.9 GB each); got 8" in reason
    result = op.present(fronts, cat).model_dump()
    assert result["left_out"] == [{"accelerator": "h100-sxm", "reason": reason}]
    # none fits (H100 and A100 80GB alike): one line with each accelerator's reason
    with pytest.raises(InfeasibleError) as exc:
        op.compute(op.parse({**given, "accelerator": ["h100-sxm", "a100-sxm-80gb"]}), cat)
    assert "\n" not in str(exc.value)
    assert "16 x h100-sxm" in str(exc.value) and "16 x a100-sxm-80gb" in str(exc.value)


def test_a_misspelt_accelerator_in_a_frontier_list_is_refused_not_left_out():
    # Leaving out an accelerator that cannot run the model is an answer; leaving out one
    # that does not exist hid a typo behind exit 0 ("left out h100-sx: unknown id"). The
    # request is refused with the catalog's unknown-id line, as plan refuses it.
    from tokenfab import operations
    from tokenfab.catalog import default_catalog
    from tokenfab.errors import TokenfabError

    op = operations.get("frontier")
    req = op.parse({"model": "llama-3.1-8b", "accelerator": ["h100-sxm", "h100-sx"]})
    with pytest.raises(TokenfabError, match="unknown id 'h100-sx' in accelerators"):
        op.compute(req, default_catalog())


def test_the_frontier_table_says_its_rates_are_output_tokens(front):
    # the table's columns read "tok/s per user" and "tok/s per accelerator"; the points are
    # output tokens a second (FrontierPoint.tok_s_per_user is 1 / TPOT), as the chart's axes
    # and estimate's "output tok/s per user" row say
    from tokenfab.render import frontier_table

    headers = [c.header for c in frontier_table("llama-3.1-8b", front).columns]
    assert headers[:2] == ["output tok/s per user", "output tok/s per accelerator"]


def test_a_frontier_point_names_every_degree_an_estimate_needs_to_reproduce_it():
    # DeepSeek-V3 on 8 H200 with TP 2 x attention DP 4 given: a stage of 8 ranks whose experts
    # the search splits by expert 1 or 4 ways (MoE TP 8 or 2). The points named TP / PP / EP
    # only, so "TP 2 EP 4" read back as attention DP 4 / 2 = 2 (4 ranks), another layout;
    # with attention_data_parallel in the point, estimate at its degrees and batch gives its
    # TPOT (1 / tok_s_per_user) and its tok/s per accelerator.
    from tokenfab import operations
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    base = {"model": "deepseek-v3", "accelerators": 8}
    op = operations.get("frontier")
    given = {**base, "tensor_parallel": 2, "attention_data_parallel": 4}
    result = op.run({**given, "accelerator": ["h200-sxm"]}, cat).model_dump()
    points = result["points"]
    assert {(p["tensor_parallel"], p["attention_data_parallel"]) for p in points} == {(2, 4)}
    for p in points[:: max(1, len(points) // 4)]:
        # moe_tp x ep = tp x adp, the ranks of a stage
        assert p["moe_tensor_parallel"] * p["expert_parallel"] == 2 * 4
        op_point = estimate(
            Scenario(
                **base,
                accelerator="h200-sxm",
                tensor_parallel=p["tensor_parallel"],
                pipeline_parallel=p["pipeline_parallel"],
                expert_parallel=p["expert_parallel"],
                attention_data_parallel=p["attention_data_parallel"],
                batch_size=p["batch_size"],
            )
        )
        assert op_point.tpot_s == pytest.approx(1.0 / p["tok_s_per_user"], rel=1e-9)
        assert op_point.output_tok_s_per_accelerator == pytest.approx(
            p["tok_s_per_accelerator"], rel=1e-9
        )


def test_a_disaggregated_frontier_point_is_what_its_estimate_carries_on_whole_pools():
    # Llama 3.1 70B FP8 on 8 H100s, prefill and decode pools apart. At TP 4 (2 replicas: one
    # prefill, one decode) and batch 75 the decode replica makes 75 / TPOT output tok/s and the
    # estimate divides it over all 8 accelerators (perf.serving.disaggregated_split); the
    # frontier divided the continuous split's rate, in which a fraction of a replica prefills:
    # 1.3 to 2 x the estimate (TP 2 batch 690: 1,839 against 1,408 tok/s per accelerator).
    from tokenfab import operations
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    base = {"model": "llama-3.1-70b", "accelerators": 8, "precision": "fp8"}
    base = {**base, "disaggregated": True}
    result = operations.get("frontier").run({**base, "accelerator": ["h100-sxm"]}, cat)
    points = result.model_dump()["points"]
    for p in points[:: max(1, len(points) // 4)]:
        op_point = estimate(
            Scenario(
                **base,
                accelerator="h100-sxm",
                tensor_parallel=p["tensor_parallel"],
                pipeline_parallel=p["pipeline_parallel"],
                expert_parallel=p["expert_parallel"],
                attention_data_parallel=p["attention_data_parallel"],
                batch_size=p["batch_size"],
            )
        )
        assert op_point.prefill_replicas >= 1 and op_point.decode_replicas >= 1
        assert op_point.tpot_s == pytest.approx(1.0 / p["tok_s_per_user"], rel=1e-9)
        assert op_point.output_tok_s_per_accelerator == pytest.approx(
            p["tok_s_per_accelerator"], rel=1e-9
        )


@pytest.mark.parametrize("prefill_accelerators", [None, 16])
def test_a_two_type_frontier_point_is_what_its_estimate_carries_on_whole_pools(
    prefill_accelerators,
):
    # DeepSeek-V3 decoding on 16 H200 with prompts on H100s: 673 GB of FP8 weights need a
    # prefill replica of 16 H100 (80 GiB each), so the estimate's fleet is 16 + 16 and its
    # output is spread over 32 accelerators. The frontier spread it over 16 plus the fraction
    # of a prefill replica the decode pool keeps busy: 159 against 83 output tok/s per
    # accelerator at TP 8, batch 28 (1,656 against 1,438 at attention DP 8, batch 4,616).
    from tokenfab import operations
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    base = {"model": "deepseek-v3", "accelerators": 16, "prefill_accelerator": "h100-sxm"}
    if prefill_accelerators:
        base["prefill_accelerators"] = prefill_accelerators
    result = operations.get("frontier").run({**base, "accelerator": ["h200-sxm"]}, cat)
    points = result.model_dump()["points"]
    degrees = ("tensor_parallel", "pipeline_parallel", "expert_parallel")
    degrees = (*degrees, "attention_data_parallel", "batch_size")
    for p in points[:: max(1, len(points) // 4)]:
        request = {**base, "accelerator": "h200-sxm", **{k: p[k] for k in degrees}}
        est = operations.get("estimate").run(request, cat).model_dump()
        assert est["accelerators"] == 32  # 16 decoding + one prefill replica of 16
        assert est["tpot_s"] == pytest.approx(1.0 / p["tok_s_per_user"], rel=1e-9)
        assert est["output_tok_s_per_accelerator"] == pytest.approx(
            p["tok_s_per_accelerator"], rel=1e-9
        )
