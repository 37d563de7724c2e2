"""Two-pool (heterogeneous prefill/decode) identities (tokenfab.perf.hetero)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.errors import TokenfabError
from tokenfab.perf import hetero as ht


def test_same_accelerator_in_both_pools_matches_the_disaggregated_identity():
    # one accelerator type in both pools at W watts: J = W (r/X_p + 1/X_d) = W / X, where
    # X = 1/(1/X_d + r/X_p) is serving.disaggregated_state's per-accelerator output rate;
    # e.g. r = 20, X_p = 50,000, X_d = 2,000: X = 1/(5e-4 + 4e-4) = 1,111.1 tok/s, 700 W: 0.63 J
    j, share = ht.two_pool_joules_per_output_token(20, 50_000, 700, 2_000, 700)
    assert_allclose(j, 700 / (1 / (1 / 2_000 + 20 / 50_000)), rtol=1e-12)
    assert_allclose(j, 0.63, rtol=1e-12)
    assert_allclose(share, 4e-4 / 9e-4, rtol=1e-12)


def test_break_even_power_spends_exactly_the_budget():
    # at the break-even decode power the two pools spend the budget exactly
    jp, _ = ht.two_pool_joules_per_output_token(20, 133_930, 2_300, 1.0, 1.0)
    w = ht.break_even_decode_w(2.0, float(jp) - 1.0, 8_000)  # jp - 1 J: the 1/1 decode term
    j, _ = ht.two_pool_joules_per_output_token(20, 133_930, 2_300, 8_000, w)
    assert_allclose(j, 2.0, rtol=1e-12)


def test_vector_equals_scalar():
    xd = np.array([500.0, 1_000.0, 8_000.0])
    j, s = ht.two_pool_joules_per_output_token(20, 1e5, 2_000, xd, 500)
    for k, x in enumerate(xd):
        jk, sk = ht.two_pool_joules_per_output_token(20, 1e5, 2_000, float(x), 500)
        assert_allclose(j[k], jk, rtol=1e-12)
        assert_allclose(s[k], sk, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prefill_w": 0.0}, "prefill_w"),
        ({"decode_output_tok_s_per_accelerator": -1.0}, "decode_output_tok_s_per_accelerator"),
        ({"prompt_per_output_token": float("nan")}, "prompt_per_output_token"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    args = {
        "prompt_per_output_token": 20,
        "prefill_prompt_tok_s_per_accelerator": 1e5,
        "prefill_w": 2_000,
        "decode_output_tok_s_per_accelerator": 1_000,
        "decode_w": 500,
        **kwargs,
    }
    with pytest.raises(TokenfabError, match=rf"^{field}:"):
        ht.two_pool_joules_per_output_token(**args)


# ------------------------------------------------------------------------------------------
# The two pools in the performance core
# ------------------------------------------------------------------------------------------

from tokenfab.perf.operating import resolve  # noqa: E402
from tokenfab.perf.serving import disaggregated_state, layout  # noqa: E402
from tokenfab.scenario import Scenario  # noqa: E402


def _pool_args(acc: str, model: str = "llama-3.1-70b"):
    s = resolve(Scenario(model=model, accelerator=acc, precision="fp8"))
    return s, (s.shape, s.hw, s.engine.engine)


@pytest.mark.parametrize("acc", ["h100-sxm", "b200", "mi300x"])
def test_pools_on_one_accelerator_are_disaggregated_state(acc):
    # the two halves on the same accelerator give serving.disaggregated_state back:
    # X = 1 / (1/X_d + (i/o)/X_p) per replica, TPOT the decode step, TTFT one prompt + transfer
    s, args = _pool_args(acc)
    lay = layout(np.array([4.0, 8.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    col = lay.column()
    b = np.array([[1.0, 16.0, 128.0]] * 2)
    fmt = (s.weight_bytes_per_param, s.kv_bytes_per_element)
    ref = disaggregated_state(*args, col, *fmt, b, 2000, 500, 0.25)
    pr = ht.prefill_pool_rates(*args, col, *fmt, 2000, 0.25)
    dr = ht.decode_pool_rates(*args, col, *fmt, b, 2000, 500)
    r = 2000 * 0.75 / 500
    assert_allclose(1 / (1 / dr.output_tok_s + r / pr.prompt_tok_s), ref.output_tok_s, rtol=1e-12)
    assert_allclose(dr.tpot_s, ref.tpot_s, rtol=1e-12)
    link = (
        np.where(
            np.isnan(s.hw.scaleout_bytes_per_s), s.hw.link_bytes_per_s, s.hw.scaleout_bytes_per_s
        )
        / 2
    )
    # Llama 3.1 70B: 2 x 80 layers x 8 KV heads x 128 elements a token, at the engine's KV
    # format (FP8 on TensorRT-LLM: 163,840 B; vLLM keeps BF16 on MI300X: 327,680 B)
    kv = 2 * 80 * 8 * 128 * s.kv_bytes_per_element * 2000
    assert_allclose(
        np.broadcast_to(pr.prompt_s + kv / link, ref.ttft_service_s.shape),
        ref.ttft_service_s,
        rtol=1e-12,
    )


def test_decode_rates_vector_equals_scalar():
    s, args = _pool_args("h100-sxm")
    fmt = (s.weight_bytes_per_param, s.kv_bytes_per_element)
    b = np.array([1.0, 32.0, 256.0])
    vec = ht.decode_pool_rates(*args, layout(8, 1, 1), *fmt, b, 1000, 200)
    for k, x in enumerate(b):
        one = ht.decode_pool_rates(*args, layout(8, 1, 1), *fmt, x, 1000, 200)
        assert_allclose(vec.output_tok_s[k], one.output_tok_s, rtol=1e-12)
        assert_allclose(vec.tpot_s[k], one.tpot_s, rtol=1e-12)


CHAT_B200_H200 = dict(
    model="llama-3.1-70b", accelerator="h200-sxm", prefill_accelerator="b200", workload="chat"
)


def test_hetero_point_ttft_is_prefill_plus_kv_over_the_slower_link():
    # chat: 6,000 prompt tokens; Llama 3.1 70B BF16 KV = 2 x 80 layers x 8 heads x 128 x 2 B =
    # 327,680 B a token -> 1.966 GB; B200 and H200 both list 50 GB/s scale-out each way:
    # 1.966e9 / 50e9 = 39.3 ms on top of the prompt's prefill on the B200 pool
    hp = ht.hetero_point(Scenario(**CHAT_B200_H200))
    assert hp.prefill.setup.accelerator.id == "b200"
    assert hp.decode.setup.accelerator.id == "h200-sxm"
    assert_allclose(hp.kv_transfer_s, 327_680 * 6000 / 50e9, rtol=1e-12)
    assert_allclose(hp.ttft_s, hp.prefill_s + 0.0393216, rtol=1e-9)
    assert hp.kv_link_gb_s == 50.0
    # a stated link replaces the catalog's: 200 GB/s moves it in a quarter of the time
    fast = ht.hetero_point(Scenario(**CHAT_B200_H200, kv_link_gb_s=200))
    assert_allclose(fast.kv_transfer_s, 0.0393216 / 4, rtol=1e-12)


def test_hetero_pools_sized_for_the_demand_by_hand():
    # 1e10 output tokens a day = 115,740.7 tok/s; decode replicas ceil(115,740.7 / X_d),
    # prefill replicas ceil(115,740.7 x 20 / X_p) (chat: 6,000 / 300 = 20 prompt tokens an
    # output token); the pair carries min(R_d X_d, R_p X_p / 20) >= the demand
    hp = ht.hetero_point(Scenario(**CHAT_B200_H200, tokens_per_day=1e10))
    peak = 1e10 / 86_400
    assert hp.prompt_per_output_token == 20.0
    x_p = hp.prefill.tok_s_per_replica
    # at least the replicas that feed the peak; more where the queue needs headroom under
    # the 0.45 s TTFT target: rho <= 2B / (s + 2B), B = 0.45 - prefill - transfer, s =
    # 6,000 / X_p, R_p = ceil(lambda s / rho) (test_prefill_queue_at_the_peak_by_hand)
    s = 6000 / x_p
    budget = 0.45 - hp.prefill_s - hp.kv_transfer_s
    queue = peak / 300 * s / (2 * budget / (s + 2 * budget))
    assert hp.prefill.replicas == max(int(np.ceil(peak * 20 / x_p)), int(np.ceil(queue)))
    assert hp.prefill.accelerators == hp.prefill.replicas * hp.prefill.accelerators_per_replica
    assert hp.decode.replicas * hp.decode.tok_s_per_replica >= peak * (1 - 1e-9)
    assert_allclose(
        hp.output_tok_s_total,
        min(hp.decode.replicas * hp.decode.tok_s_per_replica, hp.prefill.replicas * x_p / 20),
        rtol=1e-12,
    )
    assert hp.output_tok_s_total >= peak * (1 - 1e-9)
    assert hp.tpot_s <= 0.04  # the chat workload's TPOT target


def test_hetero_fixed_pools_feed_each_other():
    # 8 H200 decoding and no prefill count: enough B200 replicas to feed the decode capacity
    hp = ht.hetero_point(Scenario(**CHAT_B200_H200, accelerators=8))
    cap_d = hp.decode.replicas * hp.decode.tok_s_per_replica
    assert hp.decode.accelerators == 8
    assert hp.prefill.replicas == int(np.ceil(cap_d * 20 / hp.prefill.tok_s_per_replica))
    assert_allclose(hp.output_tok_s_total, cap_d, rtol=1e-12)  # decode-bound by construction


@pytest.mark.parametrize(
    ("changes", "start"),
    [
        # engine support per vendor
        (
            {"prefill_accelerator": "mi300x", "software": "trtllm"},
            "prefill_accelerator: mi300x: software:",
        ),
        # a format the prefill accelerator lacks
        ({"prefill_accelerator": "rubin"}, "prefill_accelerator: rubin: precision:"),
        # the link between the pools is not public for MI325X: the user must state it
        ({"prefill_accelerator": "mi325x"}, "kv_link_gb_s:"),
        # memory fit per pool: 141 GB of Llama 3.1 70B BF16 on a 64 GB module that cannot span domains
        (
            {"prefill_accelerator": "jetson-agx-orin-64gb", "kv_link_gb_s": 10},
            "prefill_accelerators:",
        ),
        # a fixed prefill pool that feeds the peak but queues past 0.45 s: 262 = 2 x 131 B200
        # hold replicas of 1 (prefill 0.425 s + KV transfer 0.039 s = 0.464 s alone) or 2:
        # 131 of TP 2 at X = 23,338 prompt tok/s each (prefill + KV 0.298 s) feed 20 x
        # 115,741 = 2.31M of 3.06M, but at 385.8 requests/s (1e10 / 86,400 / 300) s = 6,000 /
        # X = 0.257 s, rho = 385.8 / 131 x 0.257 = 0.757, W = 0.757 x 0.257 / (2 x 0.243) =
        # 0.401 s: TTFT 0.699 s. (Before the collective-latency refit of 2026-12-01 the case
        # was 788 = 4 x 197, whose closest layout queued 0.195 s past 0.333 s; now 394
        # replicas of TP 2 meet the target there. 792 = 99 x 8 was refused while a fixed
        # pool took the most prompt tokens a second per accelerator whatever its queue; it
        # now takes, as a sized pool does, a layout that meets the target)
        ({"prefill_accelerators": 262, "tokens_per_day": 1e10}, "ttft_slo_s: 262 x b200"),
        # fixed pools that cannot carry the demand
        ({"accelerators": 8, "prefill_accelerators": 8, "tokens_per_day": 1e10}, "accelerators:"),
    ],
)
def test_bad_pool_combinations_refused_in_one_line(changes, start):
    sc = {**CHAT_B200_H200, **changes}
    with pytest.raises(TokenfabError) as exc:
        ht.hetero_point(Scenario.parse(sc))
    assert str(exc.value).startswith(start), str(exc.value)
    assert "\n" not in str(exc.value)


def test_hetero_frontier_per_accelerator_of_the_pair_by_hand():
    # each point: the pair's output per accelerator on whole pools, as the estimate at the
    # point's layout and batch: R_d = 8 // a_d decode replicas (no count given: the H200's
    # 8-GPU domain) and R_p = ceil(R_d X_d r / X_p) prefill replicas that feed them, with
    # r = 20 prompt tokens an output token (chat): y = R_d X_d / (R_d a_d + R_p a_p);
    # x = 1 / TPOT of the decode pool
    from tokenfab.perf.frontier import frontier
    from tokenfab.scenario import MAX_TPOT_S, MAX_TTFT_S

    sc = Scenario(**{k: v for k, v in CHAT_B200_H200.items()})
    f = frontier(sc)
    assert f.accelerator == "b200+h200-sxm"
    hp = ht.hetero_point(sc.with_(ttft_slo_s=MAX_TTFT_S, tpot_slo_s=MAX_TPOT_S))
    dec = hp.decode.setup
    fmt = (dec.weight_bytes_per_param, dec.kv_bytes_per_element)
    k = len(f.tok_s_per_user) // 2
    lay = layout(f.tensor_parallel[k], f.pipeline_parallel[k], f.expert_parallel[k])
    d = ht.decode_pool_rates(
        dec.shape, dec.hw, dec.engine.engine, lay, *fmt, f.batch_size[k], 6000, 300
    )
    a_p = hp.prefill.accelerators_per_replica
    x_p = hp.prefill.tok_s_per_replica
    a_d, x_d = float(lay.accelerators), float(d.output_tok_s)
    r_d = 8 // a_d
    r_p = max(np.ceil(r_d * x_d * 20 / x_p), 1)
    want = r_d * x_d / (r_d * a_d + r_p * a_p)
    assert_allclose(f.tok_s_per_accelerator[k], want, rtol=1e-9)
    # never above the continuous pools' 1 / (a_d / X_d + r a_p / X_p)
    assert f.tok_s_per_accelerator[k] <= 1 / (a_d / x_d + 20 * a_p / x_p) * (1 + 1e-12)
    assert_allclose(f.tok_s_per_user[k], 1 / float(d.tpot_s), rtol=1e-9)
    # the pair never beats its decode pool alone, and the roofline bounds every point
    assert f.tok_s_per_accelerator[k] < float(d.output_tok_s) / float(lay.accelerators)
    assert np.all(np.diff(f.tok_s_per_user) > 0)
    assert np.all(f.ttft_s == hp.ttft_s)
    assert f.roofline_tok_s_per_accelerator.max() >= f.tok_s_per_accelerator.max()


def test_prefill_queue_at_the_peak_by_hand():
    # chat at 1e10 output tokens a day: lambda = 115,740.7 / 300 = 385.8 requests/s; each holds
    # a prefill replica for s = 6,000 / X_p; M/D/1 wait rho s / (2 (1 - rho)), rho = lambda s /
    # R_p; the sized pool keeps wait + prefill + KV transfer within the 0.45 s TTFT target
    from tokenfab.perf.serving import md1_wait_s

    hp = ht.hetero_point(Scenario(**CHAT_B200_H200, tokens_per_day=1e10))
    lam = 1e10 / 86_400 / 300
    s = 6000 / hp.prefill.tok_s_per_replica
    assert_allclose(hp.queue_wait_s, float(md1_wait_s(lam / hp.prefill.replicas, s)), rtol=1e-12)
    assert hp.queue_wait_s > 0
    assert hp.ttft_s <= 0.45 * (1 + 1e-9)
    assert_allclose(hp.ttft_s, hp.queue_wait_s + hp.prefill_s + hp.kv_transfer_s, rtol=1e-12)
    # one replica fewer would break the target (the pool is the smallest that meets it), unless
    # feeding the decode pool already needs more
    rho = lam * s / (hp.prefill.replicas - 1)
    fewer = rho * s / (2 * (1 - rho)) if rho < 1 else np.inf
    feed = int(np.ceil(lam * 300 * 20 / hp.prefill.tok_s_per_replica))
    assert hp.prefill.replicas == feed or fewer + hp.prefill_s + hp.kv_transfer_s > 0.45
    # without a demand there is no load to queue behind
    assert ht.hetero_point(Scenario(**CHAT_B200_H200)).queue_wait_s == 0.0


def test_a_decode_pool_sized_for_a_demand_is_its_fewest_accelerators():
    # DeepSeek-V3 FP8 decoding on H100 at 1e7 output tokens a day (115.7 tok/s, chat): one
    # replica of the smallest layout that holds the model, 16 H100, carries it. The pool was
    # the layout with the most output tok/s per accelerator, 256 H100 ($325k a month against
    # $26k for the pair): the least cost per token at full load, not for this demand
    from tokenfab.errors import InfeasibleError

    sc = Scenario(
        model="deepseek-v3",
        accelerator="h100-sxm",
        prefill_accelerator="b200",
        workload="chat",
        precision="fp8",
        tokens_per_day=1e7,
    )
    hp = ht.hetero_point(sc)
    assert hp.decode.replicas == 1 and hp.decode.accelerators == 16
    assert hp.decode.tok_s_per_replica >= 1e7 / 86_400
    assert hp.tpot_s <= 0.04  # the chat TPOT target still holds
    # 8 H100 (640 GB) do not hold the model: 16 is the smallest pool
    with pytest.raises(InfeasibleError):
        ht.hetero_point(sc.with_(accelerators=8))


def test_a_prefill_pool_sized_for_a_demand_by_hand():
    # Llama 3.1 70B FP8, both pools on B200, 1e8 output tokens a day of chat: peak 1,157.4
    # output tok/s, x 20 prompt tokens each = 23,148 prompt tok/s; lambda = 1,157.4 / 300 =
    # 3.858 requests/s. The pool is R_p replicas of the chosen layout (prompt rate X_p,
    # service TTFT t): R_p = max(ceil(23,148 / X_p), ceil(lambda s / rho_max)), s = 6,000 / X_p,
    # rho_max = 2B / (s + 2B), B = 0.45 - t. With TP4 at ~41,800 tok/s (the 2026-12-01 step
    # model): 1 replica feeds it and the queue needs 1 -> 4 B200 (the most-tok/s-per-accelerator
    # layout needed 36)
    hp = ht.hetero_point(
        Scenario(
            model="llama-3.1-70b",
            accelerator="b200",
            prefill_accelerator="b200",
            workload="chat",
            precision="fp8",
            tokens_per_day=1e8,
        )
    )
    x_p = hp.prefill.tok_s_per_replica
    s = 6000 / x_p
    budget = 0.45 - hp.prefill_s - hp.kv_transfer_s
    lam = 1e8 / 86_400 / 300
    feed = int(np.ceil(lam * 300 * 20 / x_p))
    queue = int(np.ceil(lam * s / (2 * budget / (s + 2 * budget))))
    assert hp.prefill.replicas == max(feed, queue, 1)
    assert hp.prefill.accelerators == 4
    assert hp.ttft_s <= 0.45 * (1 + 1e-9)


@pytest.mark.parametrize("count", [None, 16])
def test_a_point_on_a_grid_made_at_another_volume_is_the_point(count):
    # Invariant: hetero_grid holds only what no demand changes, so hetero_point on a grid
    # made at 1e6 tokens a day (peak 1) is, at 1e8 and 1e9 with a 1.5 peak, the point
    # hetero_point makes on its own, field for field (sized pools and a fixed decode count)
    from dataclasses import fields

    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    base = {
        "model": "llama-3.1-70b",
        "precision": "fp8",
        "accelerator": "h100-sxm",
        "prefill_accelerator": "b200",
        "accelerators": count,
    }
    grid = ht.hetero_grid(Scenario.parse({**base, "tokens_per_day": 1e6}), cat)
    for v in (1e8, 1e9):
        sc = Scenario.parse({**base, "tokens_per_day": v, "peak_to_average": 1.5})
        alone, on_grid = ht.hetero_point(sc, cat), ht.hetero_point(sc, cat, grid)
        for f in fields(alone):
            a, b = getattr(alone, f.name), getattr(on_grid, f.name)
            if isinstance(a, ht.Pool):  # its setup is the grid's scenario's
                a, b = (
                    {g.name: getattr(p, g.name) for g in fields(p) if g.name != "setup"}
                    for p in (a, b)
                )
            assert a == b, f.name
    with pytest.raises(ValueError, match="another scenario"):
        ht.hetero_point(Scenario.parse({**base, "tokens_per_day": 1e9, "region": "eu"}), cat, grid)
