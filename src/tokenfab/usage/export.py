"""Self-hosted prices as the price maps LiteLLM, Langfuse and OpenLIT read.

Each deployment's $/Mtok comes from the cost model (:func:`tokenfab.planning.plan` at a
reference demand and request shape); with no deployment named, every catalog model on its
cheapest feasible deployment in the region. The cached-input price is derived, not assumed:
:func:`cached_to_input_ratio` takes the cost per request with and without prefix-cache hits
from the cost model and charges a cached token the input price less the saving per cached
token.

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

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import TokenfabError
from tokenfab.planning import evaluate, plan
from tokenfab.scenario import MAX_TOKENS_PER_DAY, Scenario
from tokenfab.usage.schema import UsageLogError
from tokenfab.usage.whatif import parse_deployment

FORMATS = ("litellm", "langfuse", "openlit")
REF_INPUT_TOKENS = 2000  # assumed reference request shape; state it beside the prices
REF_OUTPUT_TOKENS = 400
CACHE_HIT_PROBE = 0.5
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


def _scenario(
    model: str, acc: str, region: str, ownership: str, tokens_per_day: float, hit: float = 0.0
) -> Scenario:
    return Scenario.parse(
        {
            "model": model,
            "accelerator": acc,
            "region": region,
            "ownership": ownership,
            "input_tokens": REF_INPUT_TOKENS,
            "output_tokens": REF_OUTPUT_TOKENS,
            "tokens_per_day": tokens_per_day,
            **({"prefix_cache_hit_rate": hit} if hit else {}),
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
    options = plan(
        base,
        accelerators=[acc] if acc else None,
        regions=[region],
        ownerships=[ownership] if ownership else None,
        catalog=catalog,
    )
    best = options[0]
    if best.estimate is None:
        raise UsageLogError(f"deployment {model}:{acc}: {best.reason}")
    est = best.estimate
    sc = est.scenario
    k = est.kpis
    c0 = float(k.cost_usd_per_mtok_input)
    ratio = cached_to_input_ratio(
        sc.with_(tokens_per_day=None), est.op.accelerators // est.op.replicas, catalog
    )
    cached_note = f"cached input at {ratio:.3f} x input (derived)"
    if not 0.0 <= ratio <= 1.0 + 1e-9:
        # the saving per cached token exceeds the input price the cost model allocates to a
        # prompt token: no discount is derivable, so cached tokens keep the input price
        cached_note = f"cached input at the input price (derived ratio {ratio:.3g} outside 0-1)"
        ratio = 1.0
    cached = c0 * min(ratio, 1.0)
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
            f"{sc.ownership} in {region}, {tokens_per_day:.3g} output tokens a day, "
            f"{REF_INPUT_TOKENS} in / {REF_OUTPUT_TOKENS} out tokens a request"
        ),
    }


def cached_to_input_ratio(sc: Scenario, accelerators: int, catalog: Catalog) -> float:
    """Price of a cached prompt token over an uncached one, from the cost model [-].

    One replica at the catalog's default utilisation serves requests of the reference shape
    with no prefix-cache hits and with a hit rate h; the cost per request falls by
    S = C(0) - C(h), the saving of h * I prompt tokens not prefilled, so a cached token costs
    c_in - S / (h * I) and the ratio is that over c_in (both from the same probe).
    """
    base = sc.with_(accelerators=accelerators, prefix_cache_hit_rate=None)
    f0 = evaluate(base, catalog).kpis
    fh = evaluate(base.with_(prefix_cache_hit_rate=CACHE_HIT_PROBE), catalog).kpis
    c_in = float(f0.cost_usd_per_mtok_input) / 1e6
    saving = (float(f0.cost_usd_per_request) - float(fh.cost_usd_per_request)) / (
        CACHE_HIT_PROBE * REF_INPUT_TOKENS
    )
    return (c_in - saving) / c_in


def to_litellm(rows: list[dict[str, Any]], catalog: Catalog) -> dict[str, Any]:
    """LiteLLM model cost map entries [USD per token]."""
    out = {}
    for r in rows:
        m = catalog.model(r["model"])
        out[r["model"]] = {
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
            "modelName": r["model"],
            "matchPattern": f"(?i)^(.*/)?{re.escape(r['model'])}$",
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
            r["model"]: {
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
