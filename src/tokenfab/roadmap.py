"""The cost-optimisation roadmap: each lever re-estimated, ranked, and combined into stages.

A lever is a change to the scenario (a lower number format, a larger batch within the latency
targets, the model's choice of layout, disaggregated serving, speculative decoding, prefix
caching, a share of requests routed to a smaller model, another region, renting or buying,
a reserved rental, the next hardware generation). Each is estimated with the same model as
``estimate``; its saving is the base estimate's cost per million output tokens minus the
lever's, and the same for energy per output token -- the difference of two estimates, never a
canned percentage. The staged plan applies the levers one by one, best first, each kept only
if the re-estimated combination is cheaper than the stage before (levers interact: a saving is
not added to another).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import TokenfabError, UnknownIdError
from tokenfab.planning import Estimate, evaluate
from tokenfab.scenario import Scenario

QUANT_SOURCE = (
    "Kurtic et al., 'Give Me BF16 or Give Me Death? Accuracy-Performance Trade-Offs in LLM "
    "Quantization', ACL 2025, https://arxiv.org/abs/2411.02355 (Llama-3.1 family, 500,000 "
    "evaluations)"
)
QUALITY_BY_FORMAT = {
    "fp8": f"FP8 weights and activations lossless at every model size ({QUANT_SOURCE})",
    "int8": f"INT8 weights and activations lose 1-3 % accuracy when tuned ({QUANT_SOURCE})",
    "int4": f"INT4 weight-only competitive with INT8 W8A8 ({QUANT_SOURCE})",
}
EXACT = "none: the same model and arithmetic"
SPECULATIVE_QUALITY = (
    "none: speculative sampling keeps the output distribution (Leviathan et al., ICML 2023, "
    "https://arxiv.org/abs/2211.17192)"
)
ROUTING_QUALITY = (
    "success rates as given (routed_share, success_small): RouteLLM reports routers that "
    "keep ~95 % of the big model's MT-Bench quality at lower cost (Ong et al. 2024, "
    "https://arxiv.org/abs/2406.18665); the task's own quality is not modelled"
)

PREFIX_CACHE_HIT_RATE = 0.563
PREFIX_CACHE_SOURCE = (
    "DeepSeek V3/R1 inference system, 24 h in February 2025: 342 B of 608 B input tokens "
    "(56.3 %) hit the on-disk KV cache, https://github.com/deepseek-ai/open-infra-index/blob/"
    "main/202502OpenSourceWeek/day_6_one_more_thing_deepseekV3R1_inference_system_overview.md"
)
MTP_ACCEPTANCE_RATE = 0.85
MTP_SOURCE = (
    "DeepSeek-V3 technical report, arXiv:2412.19437, sec. 5.4.3: the second token's acceptance "
    "rate 85-90 % (the low end used)"
)
MTP_MODELS = frozenset({"deepseek-v3", "deepseek-r1", "deepseek-v3.2", "glm-4.5", "minimax-m2"})
"""Models whose checkpoints ship multi-token-prediction heads (models.csv notes). The model
prices speculative decoding as such heads; a separate draft model's cost is not modelled."""

SMALLER_MODEL = {
    "llama-3.1-70b": "llama-3.1-8b",
    "llama-3.3-70b": "llama-3.1-8b",
    "llama-3.1-405b": "llama-3.1-70b",
    "llama-2-70b": "llama-2-7b",
    "qwen3-235b-a22b": "qwen3-30b-a3b",
    "qwen3-32b": "qwen3-30b-a3b",
    "gpt-oss-120b": "gpt-oss-20b",
    "mixtral-8x22b": "mixtral-8x7b",
    "deepseek-r1": "qwen3-30b-a3b",
    "deepseek-v3": "qwen3-30b-a3b",
}
"""The smaller model a router sends easy requests to: the same family's smaller catalog
model where one exists (a tokenfab choice; give ``small_model`` for another)."""

ROUTED_SHARE = 0.7
SUCCESS_SMALL = 0.85
ROUTING_SOURCE = "assumed: the defaults of `tokenfab route` (no published rate for this pair)"

_LAYOUT_FIELDS = (
    "tensor_parallel",
    "pipeline_parallel",
    "attention_data_parallel",
    "expert_parallel",
    "moe_tensor_parallel",
)


@dataclass(frozen=True)
class Point:
    """The figures a lever is judged on, from one estimate (or a routed pair of them)."""

    usd_per_mtok: float | None  # every cost over output tokens: cost per request / output tokens
    joules_per_token: float | None  # facility energy per output token
    ttft_s: float
    tpot_s: float
    co2e_g_per_mtok: float | None

    @classmethod
    def of(cls, est: Estimate) -> Point:
        d = est.as_dict()

        def num(k: str) -> float | None:
            v = d.get(k)
            return None if v is None or v != v else float(v)

        tpj = num("tokens_per_joule")
        per_request = num("cost_usd_per_request")
        return cls(
            None if per_request is None else per_request * 1e6 / est.op.setup.output_tokens,
            None if not tpj else 1.0 / tpj,
            float(d["ttft_s"]),
            float(d["tpot_s"]),
            num("co2e_g_per_mtok"),
        )


@dataclass(frozen=True)
class Lever:
    """One lever: what it changes, its estimate and what it saves against the base."""

    name: str
    change: str
    applicable: bool
    point: Point | None = None
    saving_usd_per_mtok: float | None = None
    saving_share: float | None = None
    saving_joules_per_token: float | None = None
    ttft_change_s: float | None = None
    tpot_change_s: float | None = None
    quality: str = EXACT
    note: str = ""
    changes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        p = self.point
        return {
            "lever": self.name,
            "change": self.change,
            "applicable": self.applicable,
            "usd_per_mtok": p.usd_per_mtok if p else None,
            "saving_usd_per_mtok": self.saving_usd_per_mtok,
            "saving_share": self.saving_share,
            "joules_per_token": p.joules_per_token if p else None,
            "saving_joules_per_token": self.saving_joules_per_token,
            "ttft_s": p.ttft_s if p else None,
            "tpot_s": p.tpot_s if p else None,
            "ttft_change_s": self.ttft_change_s,
            "tpot_change_s": self.tpot_change_s,
            "quality": self.quality,
            "note": self.note,
        }


def saving(base: float | None, other: float | None) -> float | None:
    """``base - other``, or ``None`` when either is missing.

    >>> saving(3.0, 2.25)
    0.75
    """
    return None if base is None or other is None else base - other


def _compare(
    name: str, change: str, base: Point, point: Point, quality: str, note: str, changes: dict
) -> Lever:
    s = saving(base.usd_per_mtok, point.usd_per_mtok)
    return Lever(
        name,
        change,
        True,
        point,
        s,
        None if s is None or not base.usd_per_mtok else s / base.usd_per_mtok,
        saving(base.joules_per_token, point.joules_per_token),
        point.ttft_s - base.ttft_s,
        point.tpot_s - base.tpot_s,
        quality,
        note,
        changes,
    )


def routed_point(
    big: Estimate, small: Estimate, routed_share: float, success_small: float
) -> tuple[Point, float]:
    """Cost, energy and latency per output token of a cascade in front of the big model.

    The cascade (:func:`tokenfab.routing.cascade`) runs on the two self-hosted estimates'
    costs per request; energy and output tokens follow the same shares (every routed
    request runs on the small model, the failed share again on the big one). Latency is the
    big model's (the slower path). Returns the point and the cost per success saving.
    """
    from tokenfab.routing import cascade

    b, s = Point.of(big), Point.of(small)
    if b.usd_per_mtok is None or s.usd_per_mtok is None:
        raise TokenfabError("routing: both models need a price")
    c = cascade(b.usd_per_mtok, s.usd_per_mtok, routed_share, success_small)
    escalated = routed_share * (1 - success_small)
    big_share = (1 - routed_share) + escalated
    j = None
    if b.joules_per_token is not None and s.joules_per_token is not None:
        j = big_share * b.joules_per_token + routed_share * s.joules_per_token
    co2 = None
    if b.co2e_g_per_mtok is not None and s.co2e_g_per_mtok is not None:
        co2 = big_share * b.co2e_g_per_mtok + routed_share * s.co2e_g_per_mtok
    usd = float(c.cost_per_success_usd_after)
    return Point(usd, j, max(b.ttft_s, s.ttft_s), max(b.tpot_s, s.tpot_s), co2), float(c.savings)


def _term_of(rental: Any) -> str:
    """The ``rental_term`` that prices a reserved row: its fixed term where it has one."""
    months = rental.reserved_term_months
    return {12: "reserved-1y", 36: "reserved-3y"}.get(months, "reserved")


def _offer(q: Any) -> str:
    r = q.rental
    return (
        f"{r.provider} {q.term} {q.usd_per_accelerator_hour:.3g} $/h "
        f"({r.location or 'location not stated'}, {r.as_of})"
    )


def rental_term_lever(
    scenario: Scenario, accelerator_id: str, catalog: Catalog
) -> tuple[str, str, dict[str, Any] | None, str, str, str]:
    """The arguments of the reserved-vs-on-demand lever of a rented scenario: its name, the
    change, the scenario changes, quality, note and why it does not apply.

    Like with like: the other term *of the provider the scenario rents from* (pinned with
    ``rental_provider``), so the saving is the term's, not a change of provider. Where that
    provider publishes no price for the other term, the lever takes the cheapest offer of
    that term anywhere and its note says plainly that provider (and place) change too.
    """
    from tokenfab.cost import cheapest_rental

    cur = scenario.rental_term
    want = "reserved" if cur == "on-demand" else "on-demand"
    name = f"{want} rental"
    try:
        base = cheapest_rental(catalog, accelerator_id, cur, scenario.rental_provider)
    except TokenfabError as exc:
        return name, "none", None, EXACT, "", f"the scenario's rental is not priced: {exc}"
    provider = base.rental.provider
    try:
        other = cheapest_rental(catalog, accelerator_id, want, provider)
        same = True
    except TokenfabError:
        try:
            other = cheapest_rental(catalog, accelerator_id, want)
        except TokenfabError:
            why = f"no {want} price for {accelerator_id} in the rentals catalog"
            return name, "none", None, EXACT, "", why
        same = False
    term = _term_of(other.rental) if want == "reserved" else want
    changes = {"rental_term": term, "rental_provider": other.rental.provider}
    change = f"rental term {cur} -> {term} at {other.rental.provider}"
    if same:
        place = (
            ""
            if base.rental.location == other.rental.location
            else f"; the locations differ ({base.rental.location} -> {other.rental.location})"
        )
        note = f"like with like, one provider: {_offer(base)} -> {_offer(other)}{place}"
    else:
        note = (
            f"not like with like: {provider} publishes no {want} price in the rentals catalog, "
            f"so this compares {_offer(base)} with {_offer(other)}, a change of provider and "
            f"place as well as of term"
        )
        pair = _same_provider_pair(catalog, accelerator_id)
        if pair is not None:
            od, res = pair
            cut = 1 - res.usd_per_accelerator_hour / od.usd_per_accelerator_hour
            note += f"; like with like at {od.rental.provider}: {cut:.0%} off its on-demand rate"
    if other.rental.reserved_usd_per_accelerator_hour is not None and want == "reserved":
        months = other.rental.reserved_term_months
        note += f"; commitment: {f'{months} months' if months else 'not a 12- or 36-month term'}"
    return name, change, changes, EXACT, note, ""


def _same_provider_pair(catalog: Catalog, accelerator_id: str) -> tuple[Any, Any] | None:
    """The on-demand and reserved quotes of the provider whose reserved price is the largest
    cut on its own on-demand price, among providers that publish both (None if none does)."""
    from tokenfab.cost import cheapest_rental

    best: tuple[float, Any, Any] | None = None
    for provider in sorted({r.provider for r in catalog.table("rentals").values()}):
        try:
            od = cheapest_rental(catalog, accelerator_id, "on-demand", provider)
            res = cheapest_rental(catalog, accelerator_id, "reserved", provider)
        except TokenfabError:
            continue
        cut = 1 - res.usd_per_accelerator_hour / od.usd_per_accelerator_hour
        if best is None or cut > best[0]:
            best = (cut, od, res)
    return None if best is None else (best[1], best[2])


def _lower_precision(sc: Scenario, est: Estimate, catalog: Catalog) -> dict[str, Any] | None:
    from tokenfab.perf.precision import precision_table, supported_precisions, weight_only

    table = precision_table()
    acc = est.op.setup.accelerator
    now = table[est.op.setup.precision].bits_per_element
    lower = [
        p
        for p in supported_precisions(acc)
        if p in table and table[p].bits_per_element < now and not weight_only(acc, p)
    ]
    lower += [
        p
        for p in supported_precisions(acc)
        if p in table and table[p].bits_per_element < now and weight_only(acc, p)
    ]
    if not lower:
        return None
    best = max(lower, key=lambda p: (not weight_only(acc, p), table[p].bits_per_element))
    return {"precision": best, "kv_precision": None}


def levers(
    scenario: Scenario,
    catalog: Catalog | None = None,
    small_model: str | None = None,
    routed_share: float = ROUTED_SHARE,
    success_small: float = SUCCESS_SMALL,
) -> tuple[Estimate, list[Lever]]:
    """Every lever of the roadmap, each estimated, against the scenario's estimate.

    A lever that does not apply (already in place, not in the catalog, not modelled) is
    returned with ``applicable=False`` and the reason in ``note``.
    """
    from tokenfab.projection import successor_candidates

    cat = catalog or default_catalog()
    scenario = Scenario.parse(scenario)
    if small_model is not None:  # a typo is the user's error, not an infeasible lever
        try:
            cat.get("models", small_model)
        except UnknownIdError as exc:
            raise exc.named("small_model") from None
        if small_model == scenario.model:  # "70% to llama-3.1-70b first, the rest to itself"
            raise TokenfabError(
                f"small_model: {small_model} is the scenario's own model; give a smaller one "
                "(list them with `tokenfab catalog models`)"
            )
    base_est = evaluate(scenario, cat)
    base = Point.of(base_est)
    out: list[Lever] = []

    def run(
        name: str,
        change: str,
        changes: dict[str, Any] | None,
        quality: str = EXACT,
        note: str = "",
        why_not: str = "",
    ) -> None:
        if changes is None:
            out.append(Lever(name, change, False, note=why_not))
            return
        try:
            est = evaluate(scenario.with_(**changes), cat)
        except TokenfabError as exc:
            out.append(Lever(name, change, False, note=f"not feasible: {exc}", changes=changes))
            return
        if est.kpis is None or est.cost is None:
            out.append(
                Lever(name, change, False, note=f"not priced: {est.cost_error}", changes=changes)
            )
            return
        out.append(_compare(name, change, base, Point.of(est), quality, note, changes))

    op = base_est.op
    # 1. lower precision
    lower = _lower_precision(scenario, base_est, cat)
    run(
        "lower precision",
        f"weights {op.setup.precision} -> {lower['precision']}" if lower else "none lower",
        lower,
        QUALITY_BY_FORMAT.get(lower["precision"], "not modelled: no accuracy source in tokenfab")
        if lower
        else EXACT,
        why_not=f"{op.setup.accelerator.id} runs no format below {op.setup.precision}",
    )
    # 2. larger batch within the SLO: let the model choose the batch for throughput
    if scenario.batch_size is not None or scenario.objective != "max-throughput":
        run(
            "larger batch within the SLO",
            f"batch {op.batch_size} -> the largest meeting the latency targets",
            {"batch_size": None, "objective": "max-throughput"},
        )
    else:
        run(
            "larger batch within the SLO",
            "batch chosen by the model",
            None,
            why_not="already applied: the batch is the largest the latency targets allow",
        )
    # 3. better layout
    if any(getattr(scenario, f) is not None for f in _LAYOUT_FIELDS):
        run(
            "better layout",
            "parallelism chosen by the model",
            {f: None for f in _LAYOUT_FIELDS} | {"batch_size": None},
        )
    else:
        run(
            "better layout",
            "parallelism chosen by the model",
            None,
            why_not="already applied: the layout is the model's choice",
        )
    # 4. disaggregation
    pools = scenario.prefill_accelerator
    run(
        "disaggregated serving",
        "prefill and decode on separate pools",
        None if scenario.disaggregated or pools else {"disaggregated": True},
        why_not=f"already applied: prefill on {pools}" if pools else "already applied",
    )
    # 5. speculative decoding
    model_id = op.setup.model.id
    if scenario.speculative_tokens:
        run("speculative decoding", "already on", None, why_not="already applied")
    elif model_id in MTP_MODELS:
        run(
            "speculative decoding",
            f"1 draft token a step from the MTP head, acceptance {MTP_ACCEPTANCE_RATE:g}",
            {"speculative_tokens": 1, "acceptance_rate": MTP_ACCEPTANCE_RATE},
            SPECULATIVE_QUALITY,
            note=MTP_SOURCE,
        )
    else:
        run(
            "speculative decoding",
            "draft model",
            None,
            why_not=f"not modelled: {model_id} has no multi-token-prediction heads and the "
            "cost of a separate draft model is not modelled",
        )
    # 6. prefix caching
    hit = op.setup.prefix_cache_hit_rate
    run(
        "prefix caching",
        f"prefix-cache hit rate {hit:g} -> {PREFIX_CACHE_HIT_RATE:g}",
        {"prefix_cache_hit_rate": PREFIX_CACHE_HIT_RATE} if hit < PREFIX_CACHE_HIT_RATE else None,
        EXACT,
        note=PREFIX_CACHE_SOURCE,
        why_not=f"already at {hit:g}, at or above the {PREFIX_CACHE_HIT_RATE:g} of the source",
    )
    # 7. a share routed to a smaller model
    small = small_model or SMALLER_MODEL.get(model_id)
    if small is None:
        out.append(
            Lever(
                "route to a smaller model",
                "none",
                False,
                note=f"no smaller model of {model_id}'s family in the catalog; give small_model",
            )
        )
    else:
        try:
            small_est = evaluate(
                scenario.with_(
                    model=small,
                    precision=None,
                    kv_precision=None,
                    speculative_tokens=0,
                    acceptance_rate=None,
                    **{f: None for f in _LAYOUT_FIELDS},
                    batch_size=None,
                    accelerators=(
                        None
                        if scenario.tokens_per_day or scenario.requests_per_second
                        else scenario.accelerators
                    ),
                ),
                cat,
            )
            point, _ = routed_point(base_est, small_est, routed_share, success_small)
            out.append(
                _compare(
                    "route to a smaller model",
                    f"{routed_share:.0%} of requests to {small} first, {success_small:.0%} "
                    f"right there, the rest escalated to {model_id}",
                    base,
                    point,
                    ROUTING_QUALITY,
                    f"{ROUTING_SOURCE}; cost per successful request (FrugalGPT cascade)",
                    {"small_model": small},
                )
            )
        except TokenfabError as exc:
            out.append(Lever("route to a smaller model", small, False, note=f"not feasible: {exc}"))
    # 8. another region: the cheapest other region, where it costs less than this one (a
    # rented accelerator-hour is priced alike everywhere: "eu -> us" once saved 0% and drew
    # more energy a token)
    best_region: tuple[float, str] | None = None
    priced = False
    for rid in cat.table("regions"):
        if rid == scenario.region:
            continue
        try:
            p = Point.of(evaluate(scenario.with_(region=rid), cat))
        except TokenfabError:
            continue
        if p.usd_per_mtok is None:
            continue
        priced = True
        cheaper = base.usd_per_mtok is None or p.usd_per_mtok < base.usd_per_mtok * (1 - 1e-9)
        if cheaper and (best_region is None or p.usd_per_mtok < best_region[0]):
            best_region = (p.usd_per_mtok, rid)
    run(
        "another region",
        f"region {scenario.region} -> {best_region[1]}" if best_region else "none",
        {"region": best_region[1]} if best_region else None,
        note="network latency to users is not modelled",
        why_not=(
            f"no region costs less than {scenario.region}" if priced else "no other region priced"
        ),
    )
    # 9. rent vs buy
    other = "rent" if scenario.ownership == "buy" else "buy"
    run(
        f"{other} instead of {scenario.ownership}",
        f"ownership {scenario.ownership} -> {other}",
        {"ownership": other, "rental_term": "on-demand", "rental_provider": None},
    )
    # 10. reserved vs on-demand: like with like, the same provider's two terms
    if scenario.ownership == "rent":
        run(*rental_term_lever(scenario, op.setup.accelerator.id, cat))
    else:
        run(
            "reserved rental",
            "rent reserved capacity",
            {"ownership": "rent", "rental_term": "reserved"},
            note="the cheapest committed offer in the rentals catalog, against owning",
        )
    # 11. next-generation hardware
    # the first later family that serves the scenario within its targets (as project's
    # default successor, tokenfab.projection.serving_successor); the ones before it are named
    acc = op.setup.accelerator
    candidates = successor_candidates(acc, cat, scenario.ownership)
    nxt = candidates[0] if candidates else None
    changes = None if nxt is None else {"accelerator": nxt.id}
    skipped: list[str] = []
    for cand in candidates:
        tried = {"accelerator": cand.id}
        try:
            evaluate(scenario.with_(**tried), cat)
        except TokenfabError:
            tried |= {f: None for f in _LAYOUT_FIELDS} | {"batch_size": None}
            try:
                evaluate(scenario.with_(**tried), cat)
            except TokenfabError as exc:
                skipped.append(f"{cand.id}: {exc}")
                if cand is nxt:
                    changes = tried  # none serves: the first one's refusal is the lever's note
                continue
        nxt, changes = cand, tried
        break
    run(
        "next-generation hardware",
        (f"{acc.id} -> {nxt.id}" + (" (the decode pool)" if pools else "")) if nxt else "none",
        changes,
        note="".join(
            f"skipped {why}; " for why in skipped if nxt is None or not why.startswith(nxt.id)
        ).rstrip("; "),
        why_not=f"no later {acc.vendor} family priced for {scenario.ownership} in the catalog",
    )
    return base_est, out


def rank(found: list[Lever]) -> list[Lever]:
    """Applicable levers by saving in $/Mtok, largest first, then the rest in order."""
    ok = [lv for lv in found if lv.applicable and lv.saving_usd_per_mtok is not None]
    ok.sort(key=lambda lv: -(lv.saving_usd_per_mtok or 0.0))
    return ok + [lv for lv in found if lv not in ok]


@dataclass(frozen=True)
class Stage:
    """One step of the staged plan: the levers applied so far, re-estimated together."""

    levers: list[str]
    point: Point
    scenario: Scenario


def staged_plan(
    scenario: Scenario,
    ranked: list[Lever],
    catalog: Catalog,
    evaluate_fn: Callable[[Scenario, Catalog], Estimate] = evaluate,
) -> list[Stage]:
    """Apply the saving levers one at a time, best first, keeping each only if the
    re-estimated combination costs less than the stage before and meets the targets.

    Routing (a second model) is not a scenario change; it is left to its own row.
    """
    stages: list[Stage] = []
    current = scenario
    cost = Point.of(evaluate_fn(current, catalog)).usd_per_mtok
    if cost is None:
        return stages
    for lv in ranked:
        if not lv.applicable or (lv.saving_usd_per_mtok or 0.0) <= 0 or "small_model" in lv.changes:
            continue
        try:
            trial = current.with_(**lv.changes)
            p = Point.of(evaluate_fn(trial, catalog))
        except TokenfabError:
            continue
        if p.usd_per_mtok is not None and p.usd_per_mtok < cost - 1e-12:
            current, cost = trial, p.usd_per_mtok
            names = [*(stages[-1].levers if stages else []), lv.name]
            stages.append(Stage(names, p, current))
    return stages


@dataclass(frozen=True)
class Roadmap:
    """The roadmap of a scenario: the base point, each lever, the staged plan."""

    scenario: Scenario
    base: Point
    levers: list[Lever]
    stages: list[Stage]

    def as_dict(self) -> dict[str, Any]:
        """The ``roadmap --json`` document (:class:`tokenfab.schema.RoadmapResult`)."""
        b = self.base

        def pt(p: Point) -> dict[str, Any]:
            return {
                "usd_per_mtok": p.usd_per_mtok,
                "joules_per_token": p.joules_per_token,
                "ttft_s": p.ttft_s,
                "tpot_s": p.tpot_s,
                "co2e_g_per_mtok": p.co2e_g_per_mtok,
            }

        return {
            "model": self.scenario.model,
            "accelerator": self.scenario.accelerator,
            "region": self.scenario.region,
            "ownership": self.scenario.ownership,
            "base": pt(b),
            "levers": [lv.as_dict() for lv in self.levers],
            "plan": [
                {
                    "stage": k + 1,
                    "levers": s.levers,
                    **pt(s.point),
                    "saving_usd_per_mtok": saving(b.usd_per_mtok, s.point.usd_per_mtok),
                    "saving_share": (
                        None
                        if b.usd_per_mtok in (None, 0) or s.point.usd_per_mtok is None
                        else 1 - s.point.usd_per_mtok / b.usd_per_mtok
                    ),
                }
                for k, s in enumerate(self.stages)
            ],
        }


def roadmap(
    scenario: Scenario,
    catalog: Catalog | None = None,
    small_model: str | None = None,
    routed_share: float = ROUTED_SHARE,
    success_small: float = SUCCESS_SMALL,
) -> Roadmap:
    """Levers ranked by saving and the staged plan for a scenario."""
    cat = catalog or default_catalog()
    base_est, found = levers(scenario, cat, small_model, routed_share, success_small)
    ranked = rank(found)
    base = Point.of(base_est)
    if base.usd_per_mtok is None or math.isnan(base.usd_per_mtok):
        raise TokenfabError(
            f"roadmap: the scenario is not priced ({base_est.cost_error}); a roadmap ranks "
            "levers by cost"
        )
    return Roadmap(base_est.scenario, base, ranked, staged_plan(base_est.scenario, ranked, cat))
