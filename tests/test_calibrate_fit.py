"""The bounded fit and grouped cross-validation (tokenfab.calibrate.fit, .groups, .adapter)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.calibrate import adapter, fit, groups
from tokenfab.calibrate.importers import build
from tokenfab.catalog import default_catalog

CAT = default_catalog()
TRUE = {
    "compute_efficiency": 0.45,
    "bw_efficiency": 0.8,
    "overhead_ms": 3.0,
    "comm_efficiency": 0.9,
    "overhead_per_sequence_us": 20.0,
    "moe_efficiency": 0.7,
    "kv_efficiency": 0.6,
    "overhead_per_layer_us": 15.0,
}


def synthetic():
    """24 runs on H100 (vLLM) and B200 (SGLang): two models, lengths and concurrencies."""
    out = []
    for acc, engine in (("h100-sxm", "vllm"), ("b200", "sglang")):
        for model, tp in (("llama-3.1-8b", 1), ("llama-3.1-70b", 4)):
            for isl, osl in ((1024, 128), (4096, 512)):
                for conc in (4, 64, 256):
                    m = build(
                        dict(
                            model=model,
                            accelerator=acc,
                            engine=engine,
                            engine_version="0.11.0",
                            precision="fp8",
                            isl=isl,
                            osl=osl,
                            load_size=conc,
                            tp=tp,
                            tpot_s=1.0,
                            output_tok_s=1.0,
                        ),
                        f"synthetic:{len(out) + 2}",
                        CAT,
                    )
                    out.append(m)
    return out


@pytest.fixture(scope="module")
def prepared():
    ms = synthetic()
    prep = adapter.prepare(ms, CAT)
    # the "measurements" are the model's own predictions with known factors, so the fit can
    # reproduce them exactly
    truth = adapter.predict(prep, TRUE)
    return ms, replace(prep, measured=truth)


def test_every_target_is_expressed(prepared):
    ms, prep = prepared
    assert prep.size == 2 * len(ms) and prep.skipped == []  # one TPOT + one throughput a run


def test_vector_equals_scalar(prepared):
    _, prep = prepared
    vec = adapter.predict(prep, TRUE)
    one_by_one = [adapter.predict(prep.subset(np.array([i])), TRUE)[0] for i in range(prep.size)]
    assert_allclose(vec, one_by_one, rtol=1e-12)


def test_fit_reproduces_data_made_with_known_factors(prepared):
    ms, prep = prepared
    keys = [fit.factor_key_family_engine_era(ms[r], CAT) for r in prep.record]
    f = fit.fit(prep, keys)
    pred = adapter.predict(prep, f.factors_for(keys))
    # invariant: the true factors lie inside the bounds, so the optimum reproduces the data
    assert np.median(fit.abs_error(pred, prep.measured)) < 0.01
    assert set(f.groups) == {
        ("hopper", "vllm", "0.11", "agg"),
        ("blackwell", "sglang", "0.11", "agg"),
    }


def test_bounds_from_measurements_are_respected(prepared):
    ms, prep = prepared
    keys = [fit.factor_key_family_engine_era(ms[r], CAT) for r in prep.record]
    cap = {"hopper": {"compute_efficiency": 0.3, "bw_efficiency": 0.7}}
    f = fit.fit(prep, keys, measured=cap)
    hop = f.groups[("hopper", "vllm", "0.11", "agg")]
    assert hop["compute_efficiency"] <= 0.3 + 1e-9 and hop["bw_efficiency"] <= 0.7 + 1e-9
    for factors in f.groups.values():
        for k, v in factors.items():
            assert fit.LOWER[k] - 1e-9 <= v <= fit.UPPER[k] + 1e-9


def test_h100_microbenchmarks_bound_hopper():
    b = fit.measured_bounds(CAT)["hopper"]
    # data/gpu_measurements.csv: best HBM read 3.06 TB/s of 3.35 (0.92); best GEMM below peak
    assert 0.5 < b["compute_efficiency"] <= 1.0
    assert 0.85 < b["bw_efficiency"] <= 1.0
    # the best FP8 GEMM: 1434 TFLOP/s of the H100 SXM's 1979 dense FP8 peak = 0.7246, below the
    # best BF16 share (746 of 989.5 = 0.754)
    assert b["compute_efficiency_8bit"] == pytest.approx(1434 / 1979, abs=0.002)
    assert b["compute_efficiency_8bit"] < b["compute_efficiency"]


def test_held_out_prediction_never_sees_its_own_measurement(prepared):
    """Brute-force check of the grouped cross-validation: perturbing the measured values of one
    held-out group leaves that group's held-out predictions unchanged (no leak), and they equal
    an explicit refit on the other rows."""
    ms, prep = prepared
    keys = [fit.factor_key_family_engine_era(ms[r], CAT) for r in prep.record]
    fam = groups.group_ids([groups.model_family(ms[r].model) for r in prep.record])
    cfg = groups.group_ids([groups.config_key(ms[r]) for r in prep.record])
    cv = fit.cross_validate(prep, keys, cfg, k=None)
    g = cfg[0]
    test = np.flatnonzero(cfg == g)
    noisy = prep.measured.copy()
    noisy[test] *= 3.0
    cv2 = fit.cross_validate(replace(prep, measured=noisy), keys, cfg, k=None)
    assert_allclose(cv2[test], cv[test], rtol=1e-9)
    train = np.setdiff1d(np.arange(prep.size), test)
    f = fit.fit(prep, keys, train)
    direct = adapter.predict(prep.subset(test), f.factors_for([keys[i] for i in test]))
    assert_allclose(cv[test], direct, rtol=1e-9)
    assert np.unique(fam).size == 1  # both models are Llama 3.x: one family


def test_grouped_folds_never_split_a_group():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 17, size=200)
    folds = groups.grouped_folds(ids, 5)
    assert sorted(np.concatenate(folds).tolist()) == list(range(200))
    where = {}
    for f, rows in enumerate(folds):
        for g in np.unique(ids[rows]):
            assert where.setdefault(int(g), f) == f


def test_model_families_hold_twins_together():
    assert groups.model_family("deepseek-r1") == groups.model_family("deepseek-v3")
    assert groups.model_family("llama-3.1-8b") == groups.model_family("llama-3.3-70b")
    assert groups.model_family("llama-2-70b") != groups.model_family("llama-3.1-70b")


def test_disaggregated_runs_give_their_decode_pool_tpot_only():
    disagg = build(
        dict(
            model="deepseek-r1",
            accelerator="gb200",
            engine="trtllm",
            precision="fp8",
            isl=1024,
            osl=1024,
            load_size=64,
            mode="disagg",
            prefill_tp=4,
            tp=8,
            workers=2,
            tpot_s=0.02,
            ttft_s=0.5,
        ),
        "x:2",
        CAT,
    )
    prep = adapter.prepare([disagg, *synthetic()[:1]], CAT)
    # the TTFT (prefill pool, KV transfer, queueing) is listed, not fitted
    assert prep.skipped == [(0, "disaggregated ttft_s: only the decode pool's TPOT is modelled")]
    assert prep.size == 3  # the decode pool's TPOT, the second run's TPOT and throughput
    first = prep.arrays.items[0]
    # 64 clients over 2 decode instances: 32 sequences each, decoding without prefill chunks
    assert (first.metric, first.mode, first.batch) == ("tpot_s", "decode", 32.0)
    assert bool(prep.arrays.static[0])


def test_format_width_groups_split_aggregated_runs_only():
    # data/precisions.csv: fp8 stores 8 bits a value, bf16 16, NVFP4 4 + 8/16 = 4.5 (under 8)
    run = synthetic()[0]  # H100 / vLLM, FP8
    assert fit.factor_key_family_software_format(run, CAT) == ("hopper", "vllm", "8-bit")
    nvfp4 = replace(run, accelerator="b200", precision="fp4")
    assert fit.factor_key_family_software_format(nvfp4, CAT) == ("blackwell", "vllm", "4-bit")
    # a disaggregated decode pool keeps its own group, whatever its format
    disagg = replace(run, mode="disagg")
    assert fit.factor_key_family_software_format(disagg, CAT) == (
        fit.factor_key_family_software(disagg, CAT)
    )
    assert fit.partition(fit.factor_key_family_software_format(disagg, CAT)) == "disagg"


def test_aic_layout_maps_onto_the_model_layout():
    # AIConfigurator's tp=1, moe_tp=2 with a blank attention-DP column spans 2 ranks: the
    # attention runs data-parallel over them, each routed expert split two ways
    m = build(
        dict(
            model="qwen3-235b-a22b",
            accelerator="h200-sxm",
            engine="sglang",
            precision="fp8",
            isl=1024,
            osl=1024,
            load_size=8,
            tp=1,
            moe_tp=2,
            tpot_s=0.02,
        ),
        "x:2",
        CAT,
    )
    lay = adapter.prepare([m], CAT).arrays.layout
    assert (float(lay.tensor_parallel[0]), float(lay.attention_data_parallel[0])) == (1.0, 2.0)
    assert (float(lay.expert_parallel[0]), float(lay.moe_tensor_parallel[0])) == (1.0, 2.0)
    # SGLang is its own software class (data/serving_software.csv row sglang), not vLLM's
    assert adapter.software_class(m) == "sglang"


def test_stated_layout_no_engine_builds_is_read_as_wide_ep():
    # AIConfigurator's GB200 DeepSeek-R1 rows state "tp 36, moe_tp 36": 128 attention heads do
    # not split 36 ways (engines assert heads % tp == 0) and 2,048 expert columns do not either;
    # the 36 ranks run attention data-parallel and the experts expert-parallel over all of them
    base = dict(
        model="deepseek-r1",
        accelerator="gb200",
        engine="trtllm",
        precision="fp4",
        isl=1024,
        osl=1024,
        load_size=64,
        tpot_s=0.01,
    )
    wide = build({**base, "tp": 36, "moe_tp": 36}, "x:2", CAT)
    # MoE TP 32 leaves 64 columns a rank (under the kernels' 128): read the same way
    narrow = build({**base, "tp": 32, "moe_tp": 32}, "x:3", CAT)
    # TP 64 with MoE TP 8 x EP 8: 2 heads and 256 expert columns a rank, built as stated
    stated = build({**base, "tp": 64, "moe_tp": 8, "moe_ep": 8}, "x:4", CAT)
    lay = adapter.prepare([wide, narrow, stated], CAT).arrays.layout
    assert lay.tensor_parallel.tolist() == [1.0, 1.0, 64.0]
    assert lay.attention_data_parallel.tolist() == [36.0, 32.0, 1.0]
    assert lay.expert_parallel.tolist() == [36.0, 32.0, 8.0]
    assert lay.moe_tensor_parallel.tolist() == [1.0, 1.0, 8.0]
    assert not adapter.stated_layout_runs(wide, 128, 2048)
    assert adapter.stated_layout_runs(stated, 128, 2048)


def test_dense_stated_layout_no_engine_builds_is_not_used_with_its_reason():
    # the wide-EP reading is for routed experts: a dense Llama 3.1 8B run stated at TP 3
    # (32 heads % 3 = 2) or at MoE EP 8 (no routed experts) was read as 3 or 8 attention-DP
    # ranks and fitted; estimate refuses both degrees, and so does calibrate, record by record
    base = dict(
        model="llama-3.1-8b",
        accelerator="h100-sxm",
        engine="vllm",
        precision="bf16",
        isl=1024,
        osl=128,
        load_size=32,
        tpot_s=0.02,
    )
    tp3 = build({**base, "tp": 3}, "x:2", CAT)
    ep8 = build({**base, "moe_ep": 8}, "x:3", CAT)
    tp2 = build({**base, "tp": 2}, "x:4", CAT)  # 32 % 2 = 0: runs
    prep = adapter.prepare([tp3, ep8, tp2], CAT)
    assert prep.skipped == [
        (
            0,
            "tp: 3 does not divide llama-3.1-8b's 32 attention heads (engines need "
            "num_attention_heads % tp == 0)",
        ),
        (1, "moe_ep: llama-3.1-8b is dense; expert parallelism needs routed experts (use 1)"),
    ]
    assert list(prep.record) == [2]


def test_moe_stated_expert_parallel_that_tiles_no_stage_is_not_used_with_its_reason():
    # Qwen3-235B-A22B has 128 routed experts. TP 8 with MoE EP 3: a stage of max(8, 3) = 8
    # ranks, 8 % 3 = 2, so the experts cannot be split by expert over it; MoE EP 256 > 128
    # experts. estimate refuses both (perf.operating.layout_problem); calibrate fitted them.
    base = dict(
        model="qwen3-235b-a22b",
        accelerator="h100-sxm",
        engine="trtllm",
        precision="bf16",
        isl=1024,
        osl=1024,
        load_size=16,
        tp=8,
        tpot_s=0.02,
    )
    ep3 = build({**base, "moe_ep": 3}, "x:2", CAT)
    ep256 = build({**base, "moe_ep": 256}, "x:3", CAT)
    ep8 = build({**base, "moe_ep": 8}, "x:4", CAT)  # 8 % 8 = 0, 128 % 8 = 0: runs
    prep = adapter.prepare([ep3, ep256, ep8], CAT)
    assert prep.skipped == [
        (0, "moe_ep: 3 does not divide the 8 ranks of a stage (tp 8 x attention_dp 1)"),
        (1, "moe_ep: 256 exceeds qwen3-235b-a22b's 128 routed experts"),
    ]
    assert list(prep.record) == [2]


def test_ttft_under_concurrency_is_predicted_but_never_fitted():
    m = build(
        dict(
            model="llama-3.1-8b",
            accelerator="h100-sxm",
            engine="vllm",
            precision="fp8",
            isl=1024,
            osl=128,
            load_size=64,
            tpot_s=0.02,
            ttft_s=0.3,
        ),
        "x:2",
        CAT,
    )
    prep = adapter.prepare([m], CAT)
    assert list(prep.metric) == ["ttft_s", "tpot_s"]
    assert list(prep.fitted) == [False, True]
    assert list(prep.fit_rows(np.arange(2))) == [1]
    # the queueing wait makes it longer than the prompt's own chunks
    pred = adapter.predict(prep, {k: fit.START[k] for k in fit.FACTORS})
    own = adapter.predict(
        adapter.prepare([replace(m, ttft_s=0.3, concurrency=1.0)], CAT),
        {k: fit.START[k] for k in fit.FACTORS},
    )
    assert pred[0] > own[0]
    # it is the closed-loop cohort wait of the 64 clients at those factors
    from dataclasses import replace as dc_replace

    from tokenfab.perf.serving import closed_loop_ttft_s

    a = prep.arrays
    eng = dc_replace(
        a.base_engine,
        **{
            "compute_efficiency": fit.START["compute_efficiency"],
            "bw_efficiency": fit.START["bw_efficiency"],
            "comm_efficiency": fit.START["comm_efficiency"],
            "moe_efficiency": fit.START["moe_efficiency"],
            "kv_efficiency": fit.START["kv_efficiency"],
            "overhead_s": fit.START["overhead_ms"] / 1e3,
            "overhead_per_sequence_s": fit.START["overhead_per_sequence_us"] / 1e6,
            "overhead_per_layer_s": fit.START["overhead_per_layer_us"] / 1e6,
        },
    )
    # with the engine's closed-loop terms (data/closed_loop.csv), as stacked for the runs
    hand = closed_loop_ttft_s(
        a.shape,
        a.hw,
        eng,
        a.layout,
        a.wbpp,
        a.kvb,
        64.0,
        1024.0,
        128.0,
        a.frontend_s,
        a.first_wave_share,
    )
    np.testing.assert_allclose(pred[0], hand[0], rtol=1e-12)


@pytest.mark.parametrize(
    ("engine", "stated", "kv_bytes"),
    [
        ("vllm", None, 2.0),  # --kv-cache-dtype auto: the model's BF16
        ("sglang", None, 2.0),  # the same default
        ("trtllm", None, 1.0),  # the FP8 checkpoint carries an FP8 cache
        ("vllm", "fp8", 1.0),  # a stated format wins
    ],
)
def test_a_run_naming_no_cache_format_has_the_engines_default(engine, stated, kv_bytes):
    # The calibration reads a run with the KV format an estimate of the same configuration
    # uses (tokenfab.perf.operating.engine_kv_default), so the fitted factors mean the same on
    # both sides: FP8 Llama-3.1-70B weights on H100.
    row = dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        engine=engine,
        engine_version="1.0.0",
        precision="fp8",
        isl=1024,
        osl=128,
        load_size=8,
        tp=4,
        tpot_s=0.01,
    )
    if stated:
        row["kv_precision"] = stated
    prep = adapter.prepare([build(row, "kv:2", CAT)], CAT)
    assert prep.arrays.kvb.tolist() == [kv_bytes]


RATE_TRUTH = {"compute_efficiency": 0.6, "compute_efficiency_8bit": 0.35}
"""Compute efficiency per matrix rate of the rate-split synthetic runs (the rest: TRUE)."""


@pytest.fixture(scope="module")
def rate_split():
    """H100 / vLLM runs in BF16 and FP8, B200 / SGLang in FP8 and FP4, made with a lower
    compute efficiency at the FP8 rate than at the 16-bit one (FP4: the 16-bit one)."""
    ms = []
    for acc, engine, formats in (
        ("h100-sxm", "vllm", ("bf16", "fp8")),
        ("b200", "sglang", ("fp8", "fp4")),
    ):
        for precision in formats:
            for isl, osl in ((1024, 128), (8192, 256)):
                for conc in (4, 64, 256):
                    row = dict(
                        model="llama-3.1-8b",
                        accelerator=acc,
                        engine=engine,
                        engine_version="0.11.0",
                        precision=precision,
                        isl=isl,
                        osl=osl,
                        load_size=conc,
                        tp=1,
                        tpot_s=1.0,
                        output_tok_s=1.0,
                    )
                    ms.append(build(row, f"rates:{len(ms) + 2}", CAT))
    prep = adapter.prepare(ms, CAT)
    keys = [fit.factor_key_family_software_rate(ms[r], CAT) for r in prep.record]
    compute = np.array([RATE_TRUTH.get(str(k[-1]), 0.6) for k in keys])
    truth = adapter.predict(prep, {**TRUE, "compute_efficiency": compute})
    return ms, replace(prep, measured=truth), keys


def test_rate_split_keys_name_the_efficiency_column(rate_split):
    _, _, keys = rate_split
    # data/precisions.csv peak columns: FP8 on H100 and B200 at the FP8 rate, FP4 on B200 at
    # the FP4 rate, BF16 at the 16-bit rate
    assert sorted(set(keys)) == [
        ("blackwell", "sglang", "compute_efficiency_4bit"),
        ("blackwell", "sglang", "compute_efficiency_8bit"),
        ("hopper", "vllm", "compute_efficiency"),
        ("hopper", "vllm", "compute_efficiency_8bit"),
    ]


def test_rate_split_fit_shares_all_but_compute_and_reproduces_the_data(rate_split):
    _, prep, keys = rate_split
    f = fit.fit(prep, keys)
    pred = adapter.predict(prep, f.factors_for(keys))
    # invariant: the true factors lie inside the bounds, so the optimum reproduces the data
    assert np.median(fit.abs_error(pred, prep.measured)) < 0.01
    # every rate of a (family, software) group has a value, and all its other factors are one
    for fam_sw in (("hopper", "vllm"), ("blackwell", "sglang")):
        rows = [f.groups[(*fam_sw, r)] for r in sorted(fit.RATES) if (*fam_sw, r) in f.groups]
        assert len(rows) == 3  # the mode's three rates, measured or not
        for name in fit.FACTORS:
            if name != "compute_efficiency":
                assert len({r[name] for r in rows}) == 1, name
    # H100 runs at the FP8 rate reach less of its peak than at the 16-bit rate (made so)
    hop = f.groups
    assert (
        hop[("hopper", "vllm", "compute_efficiency_8bit")]["compute_efficiency"]
        < hop[("hopper", "vllm", "compute_efficiency")]["compute_efficiency"]
    )


def test_rate_measured_in_one_group_pools_as_the_16_bit_rate(rate_split):
    _, prep, keys = rate_split
    f = fit.fit(prep, keys)
    # FP4 runs only on B200 / SGLang: the pooled fit (what an unseen family takes) gives the
    # FP4 rate the value of the 16-bit one; FP8 runs in both groups have their own
    four = f.pooled["agg:compute_efficiency_4bit"]["compute_efficiency"]
    assert four == f.pooled["agg"]["compute_efficiency"]
    unseen = f.factors_for([("ada", "vllm", "compute_efficiency_4bit")])
    assert float(unseen["compute_efficiency"][0]) == four


def test_rate_split_fit_respects_each_rate_s_measured_bound(rate_split):
    _, prep, keys = rate_split
    cap = {"hopper": {"compute_efficiency": 0.9, "compute_efficiency_8bit": 0.3}}
    f = fit.fit(prep, keys, measured=cap)
    # the 8-bit rate by its own bound (the data were made at 0.35); the 16-bit rate (made at
    # 0.6) is not held to the 8-bit one
    assert f.groups[("hopper", "vllm", "compute_efficiency_8bit")]["compute_efficiency"] <= 0.3
    assert f.groups[("hopper", "vllm", "compute_efficiency")]["compute_efficiency"] > 0.3
