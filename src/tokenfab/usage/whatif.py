"""What-if: the same traffic repriced on other API models, or self-hosted through the cost model.

Repricing is linear in the token sums, so one pass over the log gives every API option:
``(input - cached) x input price + cached x cached price + output x output price`` (reasoning
tokens are output tokens). Self-hosting runs :func:`tokenfab.planning.plan` for the named
model, accelerator, region and ownership with a Scenario built from the log: mean prompt,
visible and reasoning tokens per request, the cached share of prompt tokens as the prefix-cache
hit rate, the output tokens a day as the demand, and the busiest hour over the average hour
as ``peak_to_average``, so capacity is sized for the log's own peak load. Monthly figures
scale the log's span to 30.44 days (365.25 / 12).
"""

from __future__ import annotations

from typing import Any, get_args

import ibis

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import InfeasibleError, TokenfabError
from tokenfab.planning import plan
from tokenfab.routing import cascade
from tokenfab.scenario import Ownership, Scenario
from tokenfab.usage import analyses
from tokenfab.usage.prices import by_id, list_cost_usd, resolve
from tokenfab.usage.schema import UsageLogError

DAYS_PER_MONTH = 365.25 / 12


def traffic(t: ibis.Table) -> dict[str, Any]:
    """Token sums, spend, span and the peak-hour factor of priced rows ``t``."""
    r = analyses._rows(t.aggregate(**analyses.traffic_sums(t)))[0]
    hourly = t.group_by(hour=t.timestamp.truncate("h")).aggregate(out=t.output_tokens.sum())
    peak = analyses._scalar(hourly.out.max()) or 0
    r["days"] = analyses.span_days(r["first"], r["last"])  # the report's span, 1 h at least
    hours = max(r["days"] * 24.0, 1.0)
    mean_hour = r["output_tokens"] / hours if hours else 0.0
    r["monthly_factor"] = DAYS_PER_MONTH / r["days"]
    r["peak_to_average"] = max(1.0, peak / mean_hour) if mean_hour else 1.0
    r["monthly_cost_usd"] = (r["spend_usd"] or 0.0) * r["monthly_factor"]
    return r


def reprice(tr: dict[str, Any], p_in: float, p_cached: float, p_out: float) -> float:
    """Cost of the whole log at one model's prices [USD]."""
    return float(
        list_cost_usd(
            tr["input_tokens"],
            tr["cached_input_tokens"],
            tr["output_tokens"],
            p_in,
            p_cached,
            p_out,
        )
    )


def _api_price(catalog: Catalog, name: str, as_of, option: str = "--api"):
    if name in catalog.table("api-prices"):
        # the row named, with the cached price a name lookup would give it (a row without
        # one borrows its prompt-caching twin's): an id and its model name price alike
        p = by_id(name, catalog)
        return name, p.input_usd_per_mtok, p.cached_input_usd_per_mtok, p.output_usd_per_mtok
    found, _ = resolve([name], catalog, as_of)
    if name not in found:
        raise UsageLogError(
            f"{option}: {name!r} is neither a catalog price id nor a model name with a price "
            "(list them with `tokenfab catalog api-prices`)"
        )
    p = found[name]
    return p.price_id, p.input_usd_per_mtok, p.cached_input_usd_per_mtok, p.output_usd_per_mtok


OWNERSHIPS: tuple[str, ...] = get_args(Ownership)
"""The Scenario's ``ownership`` values."""


def parse_deployment(
    text: str, region: str = "us", ownership: str = "buy"
) -> tuple[str, str, str, str]:
    """``MODEL:ACCELERATOR[:REGION[:OWNERSHIP]]`` -> its four parts."""
    parts = text.split(":")
    if not 2 <= len(parts) <= 4 or not all(parts):
        raise UsageLogError(
            f"deployment: {text!r} is not MODEL:ACCELERATOR[:REGION[:OWNERSHIP]], "
            "e.g. llama-3.3-70b:h100-sxm:eu:rent"
        )
    parts += [region, ownership][len(parts) - 2 :]
    if parts[3] not in OWNERSHIPS:  # a typo, refused like an unknown id, not a row that failed
        raise UsageLogError(
            f"deployment: {text!r}: ownership {parts[3]!r} is not allowed; allowed: "
            f"{', '.join(OWNERSHIPS)}"
        )
    return parts[0], parts[1], parts[2], parts[3]


def plan_deployment(
    sc: Scenario,
    deployment: str,
    acc: str | None,
    region: str,
    ownership: str | None,
    catalog: Catalog,
) -> Any:
    """The cheapest option of :func:`tokenfab.planning.plan` for one named deployment.

    Raises
    ------
    UsageLogError
        The deployment cannot serve the demand: ``deployment: MODEL:ACC: <the plan's reasons>``.
        The plan blames ``tokens_per_day`` (it searches accelerators for a demand); here the
        accelerator is the user's choice, so the deployment is the field to change (``export-prices
        --deployment llama-3.3-70b:groq-lpu`` once said "tokens_per_day: no option meets ...
        (software: vllm runs on ...)").
    """
    try:
        options = plan(
            sc,
            accelerators=[acc] if acc else None,
            regions=[region],
            ownerships=[ownership] if ownership else None,
            catalog=catalog,
        )
    except InfeasibleError as exc:
        reason = str(exc).removeprefix("tokens_per_day: ")
        raise UsageLogError(f"deployment: {deployment}: {reason}") from None
    best = options[0]
    if best.estimate is None:
        raise UsageLogError(f"deployment: {deployment}: {best.reason}")
    return best


def self_hosted(
    tr: dict[str, Any], deployment: str, catalog: Catalog, samples: int = 0, seed: int = 0
) -> dict[str, Any]:
    """Monthly cost, fleet and carbon of serving the log's traffic on one deployment; with
    ``samples``, the spread of its monthly cost and of the saving against the log's monthly
    spend over a Monte Carlo run of the cost model (``tokenfab.uncertainty``, the catalogs'
    published ranges of the scenario's inputs: accelerator price, useful life, cost of
    capital, facility capex, efficiencies)."""
    model, acc, region, ownership = parse_deployment(deployment)
    n = max(int(tr["requests"]), 1)
    visible = (tr["output_tokens"] - tr["reasoning_tokens"]) / n
    hit = tr["cached_input_tokens"] / tr["input_tokens"] if tr["input_tokens"] else 0.0
    sc = Scenario.parse(
        {
            "model": model,
            "accelerator": acc,
            "region": region,
            "ownership": ownership,
            "input_tokens": max(1, round(tr["input_tokens"] / n)),
            "output_tokens": max(1, round(visible)),
            "reasoning_tokens": round(tr["reasoning_tokens"] / n),
            "prefix_cache_hit_rate": min(hit, 0.99),
            "tokens_per_day": max(tr["output_tokens"] / tr["days"], 1.0),
            "peak_to_average": tr["peak_to_average"],
        }
    )
    best = plan_deployment(sc, deployment, acc, region, ownership, catalog)
    k = best.estimate.kpis
    # the deployment the plan chose: its weight format (fp8 where bf16 would need more
    # accelerators) is named, as a deployment string has no place for it
    chosen = best.estimate.scenario
    spread = None
    if samples:  # on the chosen deployment, so that the spread brackets the point estimate
        spread = _monthly_cost_spread(chosen, catalog, samples, seed, tr["monthly_cost_usd"])
    return {
        "uncertainty": spread,
        "option": f"self-host {model} on {acc} ({region}, {ownership}, {chosen.precision} weights)",
        "monthly_cost_usd": float(k.monthly_cost_usd),
        "accelerators": int(best.estimate.accelerators_needed),
        "utilization": float(best.estimate.utilization),
        "co2e_kg_per_month": float(k.co2e_kg_per_month),
        "cost_usd_per_mtok_blended": float(k.cost_usd_per_mtok_blended),
        "scenario": {**sc.model_dump(exclude_none=True), "precision": chosen.precision},
        "note": "a different model: the saving holds only if its quality suffices",
    }


def _monthly_cost_spread(
    sc: Scenario, catalog: Catalog, samples: int, seed: int, base_usd: float
) -> dict[str, Any]:
    """5th, 50th and 95th percentiles of a scenario's monthly cost, and of the saving
    ``base_usd`` minus it (its 5th percentile comes from the cost's 95th), over a Monte Carlo
    run with the default distributions."""
    from tokenfab import uncertainty

    inputs = uncertainty.prepare_inputs(sc, None, catalog)
    mc = uncertainty.monte_carlo(
        uncertainty.scenario_model(sc, catalog),
        inputs.distributions,
        samples,
        seed,
        ranges=inputs.ranges,
    )
    cost = mc.kpis["monthly_cost_usd"].as_dict()
    saving = {
        "p5": None if cost["p95"] is None else base_usd - cost["p95"],
        "p50": None if cost["p50"] is None else base_usd - cost["p50"],
        "p95": None if cost["p5"] is None else base_usd - cost["p5"],
    }
    return {
        "samples": samples,
        "seed": seed,
        "feasible_share": mc.feasible_share,
        "inputs_varied": sorted(inputs.distributions),
        "monthly_cost_usd": cost,
        "monthly_saving_usd": saving,
    }


def parse_route(text: str) -> tuple[str, float, float]:
    """``SMALL:ROUTED_SHARE:SMALL_SUCCESS`` -> (price id or model name, share, success)."""
    parts = text.rsplit(":", 2)
    try:
        if len(parts) != 3 or not parts[0]:
            raise ValueError
        share, success = float(parts[1]), float(parts[2])
    except ValueError:
        raise UsageLogError(
            f"--route: {text!r} is not SMALL:ROUTED_SHARE:SMALL_SUCCESS, "
            "e.g. openai-gpt-4-1-mini-2025-04:0.6:0.9"
        ) from None
    for name, v in (("routed share", share), ("small-model success", success)):
        if not 0.0 <= v <= 1.0:  # NaN fails too
            raise UsageLogError(f"--route: {text!r}: the {name} must be in [0, 1] (got {v:g})")
    return parts[0], share, success


def routed(tr: dict[str, Any], route: str, catalog: Catalog) -> dict[str, Any]:
    """The log's traffic behind a router that sends ``ROUTED_SHARE`` of the requests to a
    cheaper API model first, which gets ``SMALL_SUCCESS`` of them right; its failures are
    detected and sent on to the log's own models (``tokenfab.routing.cascade``, paying for
    both calls). The log's models are the big model at the log's mean cost per request, and
    count as always right (the log's failed requests are not modelled here)."""
    name, share, success = parse_route(route)
    pid, p_in, p_cached, p_out = _api_price(catalog, name, tr["last"].date(), "--route")
    n = max(int(tr["requests"]), 1)
    big = (tr["spend_usd"] or 0.0) / n
    if big <= 0:
        raise UsageLogError("--route: the log records no spend to route away from")
    small = reprice(tr, p_in, p_cached, p_out) / n
    c = cascade(big, small, share, success)
    factor = float(c.cost_usd_after / c.cost_usd_before)
    return {
        "option": f"route {share:.0%} to API {pid} first (right {success:.0%} of the time)",
        "monthly_cost_usd": tr["monthly_cost_usd"] * factor,
        "cost_per_request_usd_before": big,
        "cost_per_request_usd_after": float(c.cost_usd_after),
        "saving_per_successful_outcome": float(c.savings),
        "co2e_kg_per_month": None,
        "note": "the small model's success rate is your assumption; failures are assumed caught",
    }


def whatif(
    con: Any,
    paths: list[str],
    api: list[str],
    self_host: list[str],
    fmt: str | None = None,
    catalog: Catalog | None = None,
    samples: int = 0,
    route: list[str] | None = None,
) -> dict[str, Any]:
    """Baseline monthly cost of the log and each option's monthly cost, saving and carbon.

    A self-host deployment that cannot run is a row with its ``error``; when every option
    asked for is such a row, :class:`UsageLogError` ("whatif: no option can run: ...")."""
    cat = catalog or default_catalog()
    if not api and not self_host and not route:
        raise UsageLogError(
            "whatif: name at least one --api price, --self-host deployment or --route"
        )
    seen: set[tuple[str, str, str, str]] = set()
    for d in self_host:  # a typo is refused before the log is read; what cannot run is a row
        parts = parse_deployment(d)
        model, acc, region, _ = parts
        cat.model(model), cat.accelerator(acc), cat.region(region)
        if parts in seen:  # as export-prices refuses it: the same row twice says nothing new
            raise UsageLogError(
                f"deployment: {':'.join(parts)} is named twice; allowed: each deployment once"
            )
        seen.add(parts)
    for r in route or []:  # so is a malformed route
        parse_route(r)
    ld = analyses.load(con, paths, fmt)
    t, _, unknown = analyses.priced(ld, cat)
    tr = traffic(t)
    if not tr["requests"]:
        raise UsageLogError(f"LOGS: {', '.join(ld.raw.files)} holds no valid rows")
    base = tr["monthly_cost_usd"]
    options: list[dict[str, Any]] = []
    as_of = tr["last"].date()
    named: dict[str, str] = {}
    for name in api:
        pid, p_in, p_cached, p_out = _api_price(cat, name, as_of)
        if pid in named:  # a model name and its price id: the same row twice
            raise UsageLogError(
                f"api: {named[pid]!r} and {name!r} name one price ({pid}); list it once"
            )
        named[pid] = name
        cost = reprice(tr, p_in, p_cached, p_out) * tr["monthly_factor"]
        options.append(
            {
                "option": f"API {pid}",
                "monthly_cost_usd": cost,
                "monthly_saving_usd": base - cost,
                "co2e_kg_per_month": None,  # providers publish no per-token carbon
            }
        )
    for d in self_host:
        try:
            o = self_hosted(tr, d, cat, samples)
        except TokenfabError as exc:
            options.append({"option": f"self-host {d}", "error": str(exc)})
            continue
        o["monthly_saving_usd"] = base - o["monthly_cost_usd"]
        options.append(o)
    failed = [o for o in options if o.get("error")]
    if failed and len(failed) == len(options) and not route:
        # nothing to compare the log with: a refusal, not a table of errors with exit 0
        reasons = "; ".join(
            o["error"] if o["error"].startswith(o["option"]) else f"{o['option']}: {o['error']}"
            for o in failed
        )
        raise UsageLogError(f"whatif: no option can run: {reasons}")
    for r in route or []:
        o = routed(tr, r, cat)
        o["monthly_saving_usd"] = base - o["monthly_cost_usd"]
        options.append(o)
    baseline = {k: v for k, v in tr.items() if k not in ("first", "last")}
    baseline["first"], baseline["last"] = str(tr["first"]), str(tr["last"])
    baseline["unknown_models"] = unknown
    return {"baseline": baseline, "options": options}
