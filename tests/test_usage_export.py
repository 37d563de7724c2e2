"""Price maps for LiteLLM, Langfuse and OpenLIT: same derived prices, each tool's units."""

from __future__ import annotations

import json
import os

import pytest

from tokenfab.catalog import default_catalog
from tokenfab.usage import export
from tokenfab.usage.schema import UsageLogError

DEPLOY = "qwen3-30b-a3b:h100-sxm:eu:rent"


@pytest.fixture(scope="module")
def derived():
    return export.derived_prices("qwen3-30b-a3b", "h100-sxm", "eu", "rent", 1e9, default_catalog())


def test_derived_prices_are_sane(derived):
    assert derived["input_usd_per_mtok"] > 0 and derived["output_usd_per_mtok"] > 0
    # a cached prompt token never costs more than an uncached one
    assert 0 <= derived["cached_input_usd_per_mtok"] <= derived["input_usd_per_mtok"]
    assert derived["co2e_g_per_mtok"] > 0


def test_litellm_map(derived):
    doc, skipped = export.export_prices("litellm", [DEPLOY])
    e = doc["qwen3-30b-a3b"]
    # LiteLLM prices are USD per token: $/Mtok / 1e6
    assert e["input_cost_per_token"] == pytest.approx(
        derived["input_usd_per_mtok"] / 1e6, rel=1e-12
    )
    assert e["output_cost_per_token"] == pytest.approx(
        derived["output_usd_per_mtok"] / 1e6, rel=1e-12
    )
    assert e["cache_read_input_token_cost"] == pytest.approx(
        derived["cached_input_usd_per_mtok"] / 1e6, rel=1e-12
    )
    assert e["metadata"]["co2e_g_per_mtok"] == pytest.approx(derived["co2e_g_per_mtok"])
    assert set(e) <= export.LITELLM_KEYS and skipped == []


def test_langfuse_definitions(derived):
    doc, _ = export.export_prices("langfuse", [DEPLOY])
    (e,) = doc
    assert e["unit"] == "TOKENS" and e["modelName"] == "qwen3-30b-a3b"
    assert e["inputPrice"] == pytest.approx(derived["input_usd_per_mtok"] / 1e6, rel=1e-12)
    import re

    assert re.match(e["matchPattern"], "Qwen/QWEN3-30B-A3B") and not re.match(
        e["matchPattern"], "qwen3-30b"
    )


def test_openlit_pricing_json(derived):
    doc, _ = export.export_prices("openlit", [DEPLOY])
    e = doc["chat"]["qwen3-30b-a3b"]
    # OpenLIT prices are USD per 1,000 tokens: $/Mtok / 1000
    assert e["promptPrice"] == pytest.approx(derived["input_usd_per_mtok"] / 1e3, rel=1e-12)
    assert e["completionPrice"] == pytest.approx(derived["output_usd_per_mtok"] / 1e3, rel=1e-12)


def test_validators_refuse_what_the_tools_would():
    with pytest.raises(UsageLogError, match="not in LiteLLM's spec"):
        export.validate_litellm(
            {
                "m": {
                    "input_cost_per_token": 1e-6,
                    "mode": "chat",
                    "litellm_provider": "x",
                    "cost": 1,
                }
            }
        )
    with pytest.raises(UsageLogError, match="a price is a number >= 0"):
        export.validate_openlit({"chat": {"m": {"promptPrice": -1.0, "completionPrice": 1.0}}})
    with pytest.raises(UsageLogError, match="CreateModelRequest"):
        export.validate_langfuse([{"modelName": "m", "inputPrice": 1.0}])
    with pytest.raises(UsageLogError, match="--format: 'csv' is not allowed"):
        export.export_prices("csv", [DEPLOY])


def test_litellm_loader_reads_the_map(tmp_path):
    litellm = pytest.importorskip("litellm", reason="litellm (380 MB) is not a test dependency")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    doc, _ = export.export_prices("litellm", [DEPLOY])
    litellm.register_model(json.loads(json.dumps(doc)))
    p, c = litellm.cost_per_token(
        model="qwen3-30b-a3b",
        prompt_tokens=10**6,
        completion_tokens=10**6,
        custom_llm_provider="hosted_vllm",
    )
    assert p == pytest.approx(doc["qwen3-30b-a3b"]["input_cost_per_token"] * 1e6)
    assert c == pytest.approx(doc["qwen3-30b-a3b"]["output_cost_per_token"] * 1e6)


def _setup(model, acc="h100-sxm", precision=None):
    from tokenfab.perf.operating import resolve
    from tokenfab.scenario import Scenario

    return resolve(
        Scenario.parse({"model": model, "accelerator": acc, "precision": precision}),
        default_catalog(),
    )


def test_cached_ratio_by_hand_llama_70b():
    # Llama 3.3 70B (hidden 8192, 80 layers, 64 heads of 128, 8 KV heads, FFN 28672, vocab
    # 128256) in BF16, 2,000-token prompt, half cached. Active parameters the step model
    # multiplies: attention 80 x (8192 x 8192 x 2 + 2 x 8192 x 1024) = 12.080e9, FFN
    # 80 x 3 x 8192 x 28672 = 56.373e9, head 128256 x 8192 = 1.0507e9; P = 2 x 69.50e9 FLOP.
    # Attention a = 2 x 80 x 64 x (128 + 128) = 2,621,440 FLOP per attended token.
    # ratio = a (1 - h) I / 2 / (P + a I / 2) = 2,621,440 x 500 / (139.01e9 + 2.621e9) = 0.925 %
    a = 2 * 80 * 64 * 256
    p = 2 * (80 * (8192 * 8192 * 2 + 2 * 8192 * 1024) + 80 * 3 * 8192 * 28672 + 128256 * 8192)
    hand = a * 500 / (p + a * 1000)
    assert hand == pytest.approx(0.00925, abs=5e-5)
    got = export.cached_to_input_ratio(_setup("llama-3.3-70b", precision="bf16"), 2000, 0.5)
    assert got == pytest.approx(hand, rel=1e-3)
    # FP8 weights: attention still runs at the 16-bit rate, half the FP8 matmul peak, so its
    # FLOPs count twice: 2a x 500 / (P + 2a x 1000) = 1.82 %
    fp8 = export.cached_to_input_ratio(_setup("llama-3.3-70b", precision="fp8"), 2000, 0.5)
    assert fp8 == pytest.approx(2 * a * 500 / (p + 2 * a * 1000), rel=1e-3)


def test_cached_ratio_within_zero_and_one_for_every_model():
    # invariant: a cached prompt token costs no more than an uncached one and never less than
    # zero, for every catalog architecture (full, sliding, MLA, sparse, linear attention, MoE)
    # at short and long prompts and low and high hit rates; before, the cost-model difference
    # gave -1.64 for DeepSeek R1 and -0.184 for Llama 3.3 70B on H100
    from tokenfab.errors import TokenfabError

    cat = default_catalog()
    seen = 0
    for m in sorted(cat.table("models")):
        try:
            setup = _setup(m, "b200")
        except TokenfabError:
            continue  # a format B200 lacks: not this test's business
        seen += 1
        for i in (100, 2000, 100_000):
            for h in (0.1, 0.5, 0.9):
                r = export.cached_to_input_ratio(setup, i, h)
                assert 0.0 <= r <= 1.0, (m, i, h, r)
    assert seen >= 20


def test_large_models_get_a_cached_discount():
    # the models the faulty derivation left at the full input price now get a price between
    # zero and the input price, and the note gives the ratio, not "outside 0-1"
    d = export.derived_prices("deepseek-r1", "h200-sxm", "us", "buy", 1e9, default_catalog())
    assert 0 < d["cached_input_usd_per_mtok"] < d["input_usd_per_mtok"]
    assert "outside" not in d["cached_note"]
    ratio = d["cached_input_usd_per_mtok"] / d["input_usd_per_mtok"]
    assert f"{ratio:.3g} x input" in d["cached_note"]


def test_a_model_left_out_is_one_line_with_its_reason_once():
    # gpt-j-6b's 2,048-token context cannot take the 2,000 + 400-token reference request on
    # any accelerator: one skipped entry, the reason once (it was repeated ~30 times, once
    # per accelerator)
    doc, skipped = export.export_prices("litellm", [], models=["gpt-j-6b"])
    assert doc == {}
    assert len(skipped) == 1 and skipped[0].startswith("gpt-j-6b: ")
    assert skipped[0].count("context of 2,048 tokens") == 1
    assert "accelerators" in skipped[0]


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_two_deployments_of_one_model_keep_both_entries(fmt):
    # input: --deployment qwen3-30b-a3b:h100-sxm:eu:rent,qwen3-30b-a3b:b200:eu:rent. Expected:
    # two entries, keyed qwen3-30b-a3b@h100-sxm and qwen3-30b-a3b@b200, each with its own
    # deployment's output price (the second once overwrote the first under one model key)
    cat = default_catalog()
    rows = {
        a: export.derived_prices("qwen3-30b-a3b", a, "eu", "rent", 1e9, cat)
        for a in ("h100-sxm", "b200")
    }
    deps = [f"qwen3-30b-a3b:{a}:eu:rent" for a in rows]
    doc, _ = export.export_prices(fmt, deps, catalog=cat)
    if fmt == "litellm":
        got = {k: e["output_cost_per_token"] * 1e6 for k, e in doc.items()}
    elif fmt == "langfuse":
        got = {e["modelName"]: e["outputPrice"] * 1e6 for e in doc}
    else:
        got = {k: e["completionPrice"] * 1e3 for k, e in doc["chat"].items()}
    assert got == pytest.approx(
        {f"qwen3-30b-a3b@{a}": r["output_usd_per_mtok"] for a, r in rows.items()}, rel=1e-12
    )


def test_one_deployment_named_twice_is_an_error():
    # input: the same deployment twice. Expected: one error naming `deployment`, not a map
    # with one entry standing for two
    with pytest.raises(UsageLogError, match=r"^deployment: qwen3-30b-a3b:h100-sxm:eu:rent is"):
        export.export_prices("openlit", [DEPLOY, DEPLOY])


def test_a_deployment_that_cannot_run_blames_the_deployment_not_the_demand():
    # input: --deployment llama-3.3-70b:groq-lpu (vllm does not run on Groq's LPU). Expected:
    # "deployment: llama-3.3-70b:groq-lpu: ... (software: vllm runs on ...)"; it once blamed
    # tokens_per_day, a field the user did not set and whose change cannot help
    with pytest.raises(UsageLogError) as exc:
        export.export_prices("litellm", ["llama-3.3-70b:groq-lpu"])
    msg = str(exc.value)
    # (the plan names the field every reason names, here the software, then the reason)
    assert (
        msg.startswith("deployment: llama-3.3-70b:groq-lpu: software: ") and "vllm runs on" in msg
    )
    assert "tokens_per_day" not in msg


def test_the_basis_names_the_weight_format_and_estimate_reproduces_the_prices():
    # llama-3.3-70b:h100-sxm priced 0.0411 / 0.438 $/Mtok on 14 H100s, but an estimate of
    # the same model, accelerator and demand gave 0.0268 / 0.785 on 20: the plan behind the
    # price map took fp8 (the cheapest format), the estimate the model's native bf16, and the
    # basis did not say which. Invariant: the format it names reproduces its prices.
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    row = export.derived_prices("llama-3.3-70b", "h100-sxm", "us", "buy", 1e9, default_catalog())
    precision = row["basis"].split(" weights")[0].rsplit(", ", 1)[1]
    assert precision in ("bf16", "fp8", "int8", "fp4", "mxfp4", "int4"), row["basis"]
    est = evaluate(
        Scenario(
            model="llama-3.3-70b",
            accelerator="h100-sxm",
            precision=precision,
            input_tokens=export.REF_INPUT_TOKENS,
            output_tokens=export.REF_OUTPUT_TOKENS,
            tokens_per_day=1e9,
        )
    )
    assert est.accelerators_needed == row["accelerators"]
    assert est.kpis.cost_usd_per_mtok_input == pytest.approx(row["input_usd_per_mtok"], rel=1e-9)
    assert est.kpis.cost_usd_per_mtok_output == pytest.approx(row["output_usd_per_mtok"], rel=1e-9)
