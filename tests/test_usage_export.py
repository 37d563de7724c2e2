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
