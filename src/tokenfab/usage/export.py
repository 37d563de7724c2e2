"""Self-hosted prices as the price maps LiteLLM, Langfuse and OpenLIT read.

Each deployment's $/Mtok comes from the cost model (:func:`tokenfab.planning.plan` at a
reference demand and request shape); with no deployment named, every catalog model on its
cheapest feasible deployment in the region. The cached-input price is derived, not assumed:
:func:`cached_to_input_ratio` is the share of a prompt token's prefill work that a cached
token still causes (the new tokens' attention over it), from the step model's work terms, and
the cached price is the input price times that share.

Formats (field names as each project documents them):

- LiteLLM: the model cost map, ``{model: {input_cost_per_token, output_cost_per_token,
  cache_read_input_token_cost, litellm_provider, mode, max_input_tokens, metadata}}`` in USD
  per token (BerriAI/litellm@model_prices_and_context_window.json, ``sample_spec``; loaded
  with ``litellm.register_model``). ``metadata`` carries gCO2e/Mtok and the basis.
- Langfuse: a list of model definitions for ``POST /api/public/models``, ``{modelName,
  matchPattern, unit: "TOKENS", inputPrice, outputPrice}`` in USD per token (Langfuse
  OpenAPI ``CreateModelRequest``); it has no field for a cached price or carbon.
- OpenLIT: the pricing JSON given to ``openlit.init(pricing_json=...)``,
  ``{"chat": {model: {promptPrice, completionPrice}}}`` in USD per 1,000 tokens
  (https://docs.openlit.io/latest/sdk/features/pricing; openlit/openlit@assets/pricing.json);
  no field for a cached price or carbon.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import TokenfabError
from tokenfab.perf.memory import attended_tokens
from tokenfab.perf.operating import Setup
from tokenfab.perf.roofline import attention_flops_per_token
from tokenfab.planning import plan
from tokenfab.scenario import MAX_TOKENS_PER_DAY, Scenario
from tokenfab.usage.schema import UsageLogError
from tokenfab.usage.whatif import parse_deployment, plan_deployment

FORMATS = ("litellm", "langfuse", "openlit")
REF_INPUT_TOKENS = 2000  # assumed reference request shape; state it beside the prices
REF_OUTPUT_TOKENS = 400
CACHE_HIT_PROBE = 0.5  # reference prefix-cache hit rate of the cached-price derivation
# keys of LiteLLM's sample_spec that a chat price entry may carry (BerriAI/litellm
# model_prices_and_context_window.json), plus the cache-read price and free-form metadata
LITELLM_KEYS = {
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "litellm_provider",
    "mode",
    "max_tokens",
    "max_input_tokens",
    "max_output_tokens",
    "metadata",
}
LANGFUSE_KEYS = {
    "modelName",
    "matchPattern",
    "startDate",
    "unit",
    "inputPrice",
    "outputPrice",
    "totalPrice",
    "tokenizerId",
    "tokenizerConfig",
}


def _scenario(model: str, acc: str, region: str, ownership: str, tokens_per_day: float) -> Scenario:
    return Scenario.parse(
        {
            "model": model,
            "accelerator": acc,
            "region": region,
            "ownership": ownership,
            "input_tokens": REF_INPUT_TOKENS,
            "output_tokens": REF_OUTPUT_TOKENS,
            "tokens_per_day": tokens_per_day,
        }
    )


def derived_prices(
    model: str,
    acc: str | None,
    region: str,
    ownership: str | None,
    tokens_per_day: float,
    catalog: Catalog,
) -> dict[str, Any]:
    """$/Mtok (input, cached input, output) and gCO2e/Mtok of one deployment.

    With ``acc`` None, the cheapest feasible accelerator and ownership in the region.
    """
    base = _scenario(model, acc or "h100-sxm", region, ownership or "buy", tokens_per_day)
    if acc:
        best = plan_deployment(base, f"{model}:{acc}", acc, region, ownership, catalog)
    else:
        best = plan(base, regions=[region], ownerships=None, catalog=catalog)[0]
    est = best.estimate
    sc = est.scenario
    k = est.kpis
    c0 = float(k.cost_usd_per_mtok_input)
    ratio = cached_to_input_ratio(est.op.setup)
    cached = c0 * ratio
    cached_note = (
        f"cached input at {ratio:.3g} x input (derived: prefill work a cached token still "
        f"causes at hit rate {CACHE_HIT_PROBE:g})"
    )
    return {
        "model": model,
        "accelerator": sc.accelerator,
        "accelerators": int(est.accelerators_needed),
        "region": region,
        "ownership": sc.ownership,
        "input_usd_per_mtok": c0,
        "cached_input_usd_per_mtok": cached,
        "output_usd_per_mtok": float(k.cost_usd_per_mtok_output),
        "co2e_g_per_mtok": float(k.co2e_g_per_mtok),
        "cached_note": cached_note,
        "basis": (
            f"tokenfab cost model: {sc.accelerator} x{int(est.accelerators_needed)} "
            f"{sc.ownership} in {region}, {sc.precision} weights (the cheapest format; a "
            f"deployment string names none), {tokens_per_day:.3g} output tokens a day, "
            f"{REF_INPUT_TOKENS} in / {REF_OUTPUT_TOKENS} out tokens a request"
        ),
    }


def prefill_work_per_request(setup: Setup, input_tokens: float, hit_rate: float) -> float:
    """Prefill work of one request whose first ``hit_rate`` share of the prompt is cached
    [FLOP at the matmul peak].

    The step model's terms (``perf.serving.round_time``, docs/method.md section 4), per new
    (uncached) prompt token: 2 FLOP per dense, attention, shared-expert and head parameter,
    2 per active routed-expert parameter over the engine's ``moe_efficiency``, and the
    attention over its mean context (the cached prefix plus half the new prompt, as
    ``perf.serving`` takes it) at the 16-bit rate. The parallel layout divides every term
    alike, so it is left out. A cached token does no work of its own; the new tokens'
    attention over it is what it still costs.
    """
    sh, hw = setup.shape, setup.hw
    new = input_tokens * (1.0 - hit_rate)
    context = input_tokens * hit_rate + new / 2.0
    dense = sh.params_attention + sh.params_dense + sh.params_shared + sh.params_lm_head
    experts = sh.experts_per_token * sh.params_expert * sh.moe_layers
    moe_eff = setup.engine.engine.moe_efficiency
    attended = attended_tokens(sh, context, sh.qk_head_dim + sh.v_head_dim)
    attention = attention_flops_per_token(
        sh.attention_heads, sh.qk_head_dim, sh.v_head_dim, attended, sh.layers
    )
    per_token = (
        2.0 * dense
        + (2.0 * experts / moe_eff if np.any(experts > 0) else 0.0)
        + attention * hw.peak_flops_per_s / hw.attention_flops_per_s
    )
    return float(new * per_token)


def cached_to_input_ratio(
    setup: Setup,
    input_tokens: float = REF_INPUT_TOKENS,
    hit_rate: float = CACHE_HIT_PROBE,
) -> float:
    """Price of a cached prompt token over an uncached one [-], in [0, 1].

    With W(h) the prefill work of a request at hit rate h (:func:`prefill_work_per_request`),
    caching h I tokens saves W(0) - W(h), and an uncached token averages W(0) / I, so

        ratio = 1 - (W(0) - W(h)) / (h W(0)) = (W(h) - (1 - h) W(0)) / (h W(0)).

    It is >= 0 because a new token attends to at least the mean context of an uncached
    prompt, and <= 1 because the new tokens' work is part of the whole prompt's. For full
    attention, with P the 2 x active-parameter FLOPs and a the attention FLOPs per attended
    token, it is a (1 - h) I / 2 / (P + a I / 2): half the attention pairs a cached token
    forms with the new tokens. The input price is the cost model's, which charges prompt
    tokens the prefill share of the deployment's time (docs/method.md "From hourly cost to
    dollars per token"); a cached token pays the same price for the work left.

    The saving in cost per request of two cost-model runs (the former derivation) can exceed
    the input price: the runs choose their own layout and batch, and the prefill that hides
    under memory-bound decode is free on average but not at the margin.
    """
    w0 = prefill_work_per_request(setup, input_tokens, 0.0)
    wh = prefill_work_per_request(setup, input_tokens, hit_rate)
    return (wh - (1.0 - hit_rate) * w0) / (hit_rate * w0)


def to_litellm(rows: list[dict[str, Any]], catalog: Catalog) -> dict[str, Any]:
    """LiteLLM model cost map entries [USD per token]."""
    out = {}
    for r in rows:
        m = catalog.model(r["model"])
        out[r["key"]] = {
            "input_cost_per_token": r["input_usd_per_mtok"] / 1e6,
            "output_cost_per_token": r["output_usd_per_mtok"] / 1e6,
            "cache_read_input_token_cost": r["cached_input_usd_per_mtok"] / 1e6,
            "litellm_provider": "hosted_vllm",
            "mode": "chat",
            **(
                {"max_input_tokens": int(m.context_tokens)}
                if getattr(m, "context_tokens", None)
                else {}
            ),
            "metadata": {
                "co2e_g_per_mtok": r["co2e_g_per_mtok"],
                "notes": f"{r['basis']}; {r['cached_note']}",
            },
        }
    return out


def to_langfuse(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Langfuse model definitions [USD per token]; no room for cached price or carbon."""
    return [
        {
            "modelName": r["key"],
            "matchPattern": f"(?i)^(.*/)?{re.escape(r['key'])}$",
            "unit": "TOKENS",
            "inputPrice": r["input_usd_per_mtok"] / 1e6,
            "outputPrice": r["output_usd_per_mtok"] / 1e6,
        }
        for r in rows
    ]


def to_openlit(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenLIT pricing JSON [USD per 1,000 tokens]; no room for cached price or carbon."""
    return {
        "chat": {
            r["key"]: {
                "promptPrice": r["input_usd_per_mtok"] / 1e3,
                "completionPrice": r["output_usd_per_mtok"] / 1e3,
            }
            for r in rows
        }
    }


def export_prices(
    fmt: str,
    deployments: list[str],
    region: str = "us",
    tokens_per_day: float = 1e9,
    catalog: Catalog | None = None,
    models: list[str] | None = None,
) -> Any:
    """The price map of the deployments named (or of every catalog model, cheapest), and the
    models left out with the reason."""
    if fmt not in FORMATS:
        raise UsageLogError(f"--format: {fmt!r} is not allowed; allowed: {', '.join(FORMATS)}")
    if not 1 <= tokens_per_day <= MAX_TOKENS_PER_DAY:  # NaN fails too
        raise UsageLogError(
            f"--tokens-per-day: {tokens_per_day:g} is out of range; "
            f"allowed: 1 to {MAX_TOKENS_PER_DAY:g}"
        )
    cat = catalog or default_catalog()
    cat.region(region)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    if deployments:
        for d in deployments:
            model, acc, reg, own = parse_deployment(d, region)
            rows.append(derived_prices(model, acc, reg, own, tokens_per_day, cat))
    else:
        for m in models or sorted(cat.table("models")):
            try:
                rows.append(derived_prices(m, None, region, None, tokens_per_day, cat))
            except TokenfabError as exc:
                skipped.append(f"{m}: {exc}")  # no feasible deployment: left out, said why
    _keys(rows)
    if fmt == "litellm":
        doc = to_litellm(rows, cat)
        validate_litellm(doc)
    elif fmt == "langfuse":
        doc = to_langfuse(rows)
        validate_langfuse(doc)
    else:
        doc = to_openlit(rows)
        validate_openlit(doc)
    return doc, skipped


def _keys(rows: list[dict[str, Any]]) -> None:
    """Give each row its price-map key (``row["key"]``): the model id alone where the model
    is priced once; ``MODEL@ACCELERATOR`` where it is priced on several accelerators, and
    ``MODEL@ACCELERATOR:REGION:OWNERSHIP`` where one accelerator is priced twice, so that no
    deployment overwrites another (each format keys its entries by a free model-name
    string: LiteLLM's cost map, Langfuse's ``modelName``, OpenLIT's ``chat`` map).

    Raises
    ------
    UsageLogError
        The same deployment is named twice.
    """
    models = [r["model"] for r in rows]
    accs = [(r["model"], r["accelerator"]) for r in rows]
    seen: set[str] = set()
    for r, (m, a) in zip(rows, accs, strict=True):
        if models.count(m) == 1:
            key = m
        elif accs.count((m, a)) == 1:
            key = f"{m}@{a}"
        else:
            key = f"{m}@{a}:{r['region']}:{r['ownership']}"
        if key in seen:
            raise UsageLogError(
                f"deployment: {m}:{a}:{r['region']}:{r['ownership']} is named twice; "
                "allowed: each deployment once"
            )
        seen.add(key)
        r["key"] = key


def _price(value: Any, where: str) -> None:
    if not isinstance(value, float) or not value >= 0 or value != value:
        raise UsageLogError(f"export: {where} is {value!r}; a price is a number >= 0")


def validate_litellm(doc: dict[str, Any]) -> None:
    """Check a LiteLLM cost map against the documented entry keys and types."""
    for model, e in doc.items():
        extra = set(e) - LITELLM_KEYS
        if extra:
            raise UsageLogError(
                f"export: litellm entry {model}: keys {sorted(extra)} not in LiteLLM's spec"
            )
        for k in ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost"):
            if k in e:
                _price(e[k], f"{model}.{k}")
        if e.get("mode") != "chat" or not isinstance(e.get("litellm_provider"), str):
            raise UsageLogError(
                f"export: litellm entry {model}: needs mode 'chat' and a litellm_provider"
            )


def validate_langfuse(doc: list[dict[str, Any]]) -> None:
    """Check Langfuse model definitions against CreateModelRequest."""
    for e in doc:
        if set(e) - LANGFUSE_KEYS or not {"modelName", "matchPattern"} <= set(e):
            raise UsageLogError(
                f"export: langfuse entry {e.get('modelName')}: keys do not fit CreateModelRequest"
            )
        re.compile(e["matchPattern"])
        if e.get("unit") not in (None, "TOKENS"):
            raise UsageLogError("export: langfuse unit must be TOKENS")
        _price(e["inputPrice"], f"{e['modelName']}.inputPrice")
        _price(e["outputPrice"], f"{e['modelName']}.outputPrice")


def validate_openlit(doc: dict[str, Any]) -> None:
    """Check an OpenLIT pricing JSON's chat section."""
    if set(doc) - {"chat", "embeddings", "images", "audio"}:
        raise UsageLogError("export: openlit sections are chat, embeddings, images, audio")
    for model, e in doc["chat"].items():
        if set(e) != {"promptPrice", "completionPrice"}:
            raise UsageLogError(
                f"export: openlit chat entry {model}: needs promptPrice and completionPrice"
            )
        _price(e["promptPrice"], f"{model}.promptPrice")
        _price(e["completionPrice"], f"{model}.completionPrice")
