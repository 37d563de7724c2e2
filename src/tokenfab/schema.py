"""Request and result models: one typed schema for the CLI, the HTTP API and the web form.

Every command has a request model and a result model:

=========== ==================== ==================================================
command     request              result
=========== ==================== ==================================================
estimate    :class:`EstimateRequest`  :class:`EstimateResult` (one flat object)
plan        :class:`PlanRequest`      :class:`PlanResult` (``options``: :class:`PlanOption`)
frontier    :class:`FrontierRequest`  :class:`FrontierResult` (``points``: :class:`FrontierPoint`)
breakeven   :class:`BreakevenRequest` :class:`BreakevenResult`
catalog     :class:`CatalogRequest`   the catalog records (:mod:`tokenfab.catalog`)
=========== ==================== ==================================================

The request models are built from the fields of :class:`~tokenfab.scenario.Scenario`: each
command takes the Scenario's fields less the ones that do not apply to it, with the few that
change shape replaced (``plan`` takes lists of candidate accelerators, regions and ownerships
and no single accelerator; ``frontier`` a list of accelerators). A field added to the Scenario
therefore appears in every command, its CLI option and its API schema without further code.

Requests are JSON objects with the fields' snake_case names (the CLI's ``--kebab-case``
options are the same names); results serialise to the JSON the CLI's ``--json`` prints. Each
result field carries a description and a unit (``json_schema_extra["unit"]``); docs/outputs.md
is generated from them (``python -m tokenfab.schema > docs/outputs.md``).

Validation problems raise :class:`~tokenfab.errors.ScenarioError` with one line that names the
field (``Request.parse``), ready to be a CLI error or an HTTP 422.
"""

from __future__ import annotations

import re
import types
from dataclasses import fields as dataclass_fields
from datetime import date
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from tokenfab.breakeven import PAYBACK_TOKENS_PER_DAY
from tokenfab.catalog import TABLES
from tokenfab.cost import OwnershipCost
from tokenfab.demand import MAX_USERS as DEMAND_MAX_USERS
from tokenfab.errors import ScenarioError
from tokenfab.factory import MAX_POWER_MW, MIN_POWER_MW
from tokenfab.market import ELASTICITY_RANGE
from tokenfab.market import MAX_SAMPLES as MARKET_MAX_SAMPLES
from tokenfab.scenario import (
    MAX_ACCELERATORS,
    MAX_PEAK_TO_AVERAGE,
    MAX_TOKENS_PER_DAY,
    MAX_TOKENS_PER_REQUEST,
    MIN_TOKENS_PER_DAY,
    Scenario,
    batch_fixed_by,
    describe_validation_error,
    id_list,
    refuse_bools_for_numbers,
)
from tokenfab.uncertainty import MAX_SAMPLES as UNCERTAINTY_MAX_SAMPLES
from tokenfab.uncertainty import MAX_SOBOL_BASE as UNCERTAINTY_MAX_SOBOL_BASE
from tokenfab.usage.schema import MAX_DAYS as USAGE_MAX_DAYS
from tokenfab.usage.schema import MAX_ROWS as USAGE_MAX_ROWS
from tokenfab.viability import MAX_USD as VIABILITY_MAX_USD

# ------------------------------------------------------------------------------------------
# Field metadata: unit, allowed values, help text
# ------------------------------------------------------------------------------------------

_BRACKET_UNIT = re.compile(r"\[([^\[\]]+)\]\s*$")


_RANGE = re.compile(r"^(above\s+)?[-+\d.e]+\)?\s*(to\b|-\s*[\d.])")


def unit_of(field: FieldInfo) -> str | None:
    """The unit of a field: ``json_schema_extra["unit"]``, else the unit in a trailing
    ``[unit]`` or ``[unit, range]`` of its description (a bracket holding only a range, such
    as ``[1 to 1e7]`` or ``[0-1)``, names none), else None (ids, text, flags and counts)."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("unit"):
        return str(extra["unit"])
    match = _BRACKET_UNIT.search(field.description or "")
    if not match:
        match = re.search(r"\[([^\[\]]+)\)\s*$", field.description or "")  # "[0-1)"
        if not match:
            return None
    head = match.group(1).split(",")[0].strip()
    return None if _RANGE.match(head) else head


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X``; ``Annotated[X, ...]`` -> ``X``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    return annotation


def value_type(field: FieldInfo) -> Any:
    """The field's type without ``None`` and annotations (``list[str]`` stays a list)."""
    return _strip_optional(field.annotation)


def is_list(field: FieldInfo) -> bool:
    return get_origin(value_type(field)) is list


def _of_models(field: FieldInfo) -> bool:
    """A list of request models (its own validator reads the CLI's text form)."""
    inner = _strip_optional(get_args(value_type(field))[0])
    return isinstance(inner, type) and issubclass(inner, BaseModel)


def allowed_values(field: FieldInfo) -> tuple[str, ...] | None:
    """The values a Literal field (or a list of Literals) allows, else None."""
    t = value_type(field)
    if get_origin(t) is list:
        t = _strip_optional(get_args(t)[0])
    if get_origin(t) is Literal:
        return tuple(str(v) for v in get_args(t))
    return None


def default_of(field: FieldInfo) -> Any:
    """The default a request uses when the field is not given (None: none or required)."""
    if field.is_required():
        return None
    return field.get_default(call_default_factory=True)


def help_text(field: FieldInfo) -> str:
    """The field's help: its description, the allowed values and the default.

    The CLI option, the HTTP API's schema and docs/outputs.md all show this text.
    """
    text = field.description or ""
    if field.is_required():
        text += " (required)"
    allowed = allowed_values(field)
    if allowed and not all(v in text for v in allowed):
        text += f"; one of: {', '.join(allowed)}"
    default = default_of(field)
    if default is not None and default is not False and "default" not in text:
        shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else default
        if isinstance(shown, float):  # as the ranges write numbers: 1e+09, not 1000000000.0
            shown = f"{shown:g}"
        text += f" (default: {shown})"
    return text


def out(description: str, unit: str | None = None) -> Any:
    """A result field: required (it may be ``None``), with a description and a unit."""
    return Field(description=description, json_schema_extra={"unit": unit} if unit else None)


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------


class Request(BaseModel):
    """Base of the request models: frozen, strict about unknown fields, one-line errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: Any) -> Any:
        """A comma-separated string (a CLI option, a scalar in a YAML file) for a list field; an
        empty item, in the text or in a list (JSON ``["h100-sxm", ""]``), is refused."""
        if not isinstance(data, dict):
            return data
        data = dict(refuse_bools_for_numbers(cls.model_fields, data))
        for name, field in cls.model_fields.items():
            if not is_list(field) or _of_models(field):
                continue
            value = data.get(name)
            if isinstance(value, str):
                data[name] = id_list(value, name, allowed_values(field) or ())
            elif isinstance(value, list) and any(
                isinstance(x, str) and not x.strip() for x in value
            ):
                allowed = allowed_values(field)
                raise ValueError(
                    f"{name}: an empty item in {value!r}; give each item, none empty"
                    + (f"; allowed: {', '.join(allowed)}" if allowed else "")
                )
        return data

    @model_validator(mode="after")
    def _each_once(self) -> Self:
        """A list of ids or paths names each once: ``factory --accelerator h100-sxm,h100-sxm``
        printed the same factory twice, and a file given twice to ``calibrate`` would count
        its runs twice."""
        for name, field in type(self).model_fields.items():
            values = getattr(self, name)
            if not values or not is_list(field) or _of_models(field):
                continue
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{name}: {', '.join(twice)} given more than once; list each once")
        return self

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate a mapping (or return a model as it is); a problem raises one-line
        :class:`~tokenfab.errors.ScenarioError` that names the field."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ScenarioError(
                f"request: a {cls.__name__} is a mapping of field: value (got {type(data).__name__})"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(describe_validation_error(exc, cls)) from None

    def scenario_fields(self) -> dict[str, Any]:
        """The request's values of the Scenario's fields, less those it holds as lists
        (candidates: the caller sets one value of each)."""
        return {
            k: v
            for k, v in self.model_dump().items()
            if k in Scenario.model_fields and not is_list(type(self).model_fields[k])
        }


def _derive(
    name: str,
    doc: str,
    exclude: set[str],
    replace: dict[str, tuple[Any, FieldInfo]] | None = None,
    base: type[Request] = Request,
) -> Any:
    """A request model with the Scenario's fields (in the Scenario's order) less ``exclude``;
    ``replace`` swaps a field's type and definition in place or adds new fields at the end."""
    replace = dict(replace or {})
    spec: dict[str, Any] = {}
    for field_name, field in Scenario.model_fields.items():
        if field_name in replace:
            spec[field_name] = replace.pop(field_name)
        elif field_name not in exclude:
            spec[field_name] = (field.annotation, FieldInfo.merge_field_infos(field))
    spec.update(replace)
    return create_model(name, __base__=base, __doc__=doc, __module__=__name__, **spec)


class EstimateRequest(Scenario):
    """``estimate``: one deployment; every field of the Scenario."""

    def scenario(self) -> Scenario:
        return Scenario.parse(self.model_dump(exclude_unset=True))


NODE_HELP = "(default: one node: the scale-up domain, up to 8)"

_FrontierBase = _derive(
    "_FrontierBase",
    "",
    exclude={
        "concurrency",
        "tokens_per_day",
        "requests_per_second",
        "peak_to_average",
        "region",
        "ownership",
        "rental_term",
        "rental_provider",
        "utilization",
        "batch_size",
        "objective",
        "ttft_slo_s",
        "tpot_slo_s",
        "steps_per_task",
    },
    replace={
        "accelerator": (
            list[Annotated[str, Field(min_length=1)]],
            Field(min_length=1, description="accelerator ids to compare, comma-separated"),
        ),
        "accelerators": (
            Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)],
            Field(8, description="accelerators each layout may use [1 to 1e7]"),
        ),
    },
)


class FrontierRequest(_FrontierBase):  # type: ignore[misc, valid-type]
    """``frontier``: the throughput-interactivity frontier of a model on each accelerator."""

    def scenarios(self) -> list[Scenario]:
        """One Scenario per accelerator, with the request's other fields."""
        rest = self.scenario_fields()
        return [Scenario.parse({**rest, "accelerator": a}) for a in self.accelerator]


_PlanBase = _derive(
    "_PlanBase",
    "",
    exclude={"concurrency", "utilization", "rental_term", "rental_provider"},
    replace={
        "accelerator": (
            list[Annotated[str, Field(min_length=1)]] | None,
            Field(
                None,
                min_length=1,  # [] named no id; it ran as the default, every accelerator
                description="accelerator ids to consider, comma-separated (default: every "
                "shipping accelerator)",
            ),
        ),
        "accelerators": (
            Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)] | None,
            Field(
                None,
                description="accelerators of each option (default: the cheapest count that "
                "meets the demand and the latency targets, as estimate sizes it)",
            ),
        ),
        "region": (
            list[Annotated[str, Field(min_length=1)]],
            Field(["us"], min_length=1, description="region ids to consider, comma-separated"),
        ),
        "ownership": (
            list[Literal["buy", "rent"]],
            Field(["buy", "rent"], min_length=1, description="ownerships to consider"),
        ),
    },
)


class PlanRequest(_PlanBase):  # type: ignore[misc, valid-type]
    """``plan``: a model and a demand; the candidates default to every shipping accelerator."""

    @model_validator(mode="after")
    def _needs_demand(self) -> Self:
        if self.tokens_per_day is None and self.requests_per_second is None:
            raise ValueError(
                "tokens_per_day: a plan needs a demand: tokens_per_day or requests_per_second"
            )
        return self  # an id listed twice: Request._each_once

    def scenario(self, accelerator: str, region: str | None = None) -> Scenario:
        """The base Scenario for one candidate accelerator (and region)."""
        return Scenario.parse(
            {
                **self.scenario_fields(),
                "accelerator": accelerator,
                "region": region or self.region[0],
            }
        )


_BreakevenBase = _derive(
    "_BreakevenBase",
    "",
    exclude={
        "concurrency",
        "tokens_per_day",
        "requests_per_second",
        "ownership",
        "rental_term",
        "rental_provider",
        "utilization",
    },
    replace={
        "accelerators": (
            Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)] | None,
            Field(
                None,
                description="a group the fleet grows by: at each volume the fewest whole groups "
                "that carry it, placed as estimate --accelerators places that count (default: "
                "none; each volume takes the deployment plan sizes for it)",
            ),
        ),
    },
)


class BreakevenRequest(_BreakevenBase):  # type: ignore[misc, valid-type]
    """``breakeven``: monthly cost of buying, renting or an API over daily output volume."""

    def scenario(self, accelerators: int) -> Scenario:
        """The Scenario of one replica group of ``accelerators``."""
        return Scenario.parse({**self.scenario_fields(), "accelerators": accelerators})


class CatalogRequest(Request):
    """``catalog``: an overview of the catalogs, or one catalog's records."""

    name: Literal[tuple(TABLES)] | None = Field(  # type: ignore[valid-type]
        None, description="catalog to show (default: an overview of all)"
    )
    sources: bool = Field(False, description="show each row's source and date")
    stale: Annotated[float, Field(gt=0, le=1200)] | None = Field(
        None,
        description="list rows whose as_of is older than this many months (`--stale` alone: "
        "12) [months, above 0 to 1200]",
    )
    today: date | None = Field(None, description="the date to measure age from (YYYY-MM-DD)")

    @model_validator(mode="after")
    def _options_that_apply(self) -> Self:
        # each of these changed nothing where it does not apply, and was dropped without a
        # word: `catalog accelerators --today 2020-01-01` printed the table of today
        if self.today is not None and self.stale is None:
            raise ValueError(
                "today: the date stale rows are measured from; give stale too, or drop today"
            )
        if self.sources and self.stale is not None:
            raise ValueError("sources: the stale list shows ids and dates only; drop sources")
        if self.sources and self.name is None:
            raise ValueError(
                "sources: shows one catalog's rows with their sources; give a catalog name "
                f"(one of: {', '.join(TABLES)}), or drop sources"
            )
        return self


REQUESTS: dict[str, type[BaseModel]] = {
    "estimate": EstimateRequest,
    "plan": PlanRequest,
    "frontier": FrontierRequest,
    "breakeven": BreakevenRequest,
    "catalog": CatalogRequest,
}


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------


class Result(BaseModel):
    """Base of the result models: every field documented with a unit where it has one."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="null")


Num = float | None  # NaN and "not available" both serialise to null

_COST_LINE_HELP = {
    "accelerator_capex": "the accelerator's price, annuitised over its life",
    "system_capex": "the server around the accelerators (CPUs, memory, chassis), annuitised",
    "network_capex": "the scale-out network's share, annuitised",
    "facility_capex": "the data-centre building and power plant per accelerator, annuitised",
    "power": "electricity at the region's price, times PUE",
    "operations": "operations and maintenance",
    "software": "software licences and support",
}


def _cost_line_fields() -> dict[str, Any]:
    """``cost_<line>_usd_per_hour`` for every line of the owned cost and for a rental."""
    lines = [f.name.removesuffix("_usd_per_hour") for f in dataclass_fields(OwnershipCost)]
    spec: dict[str, Any] = {}
    for line in [*lines, "rental"]:
        what = (
            "the cheapest rental offer"
            if line == "rental"
            else _COST_LINE_HELP.get(line, line.replace("_", " "))
        )
        kind = "rented" if line == "rental" else "owned"
        spec[f"cost_{line}_usd_per_hour"] = (
            Num,
            out(
                f"cost line of one {kind} accelerator-hour: {what}; null if not this ownership",
                "USD/h",
            ),
        )
    return spec


class _EstimateCore(Result):
    model: str = out("model id")
    accelerator: str = out("accelerator id")
    accelerators: int = out(
        "accelerators the operating point describes (the sized fleet when there is a demand; "
        "with heterogeneous pools both pools together: prefill_accelerators + "
        "decode_accelerators)",
        "accelerators",
    )
    tensor_parallel: int = out("tensor-parallel degree of one replica", "-")
    pipeline_parallel: int = out("pipeline stages of one replica", "-")
    expert_parallel: int = out("expert-parallel degree of one replica", "-")
    attention_data_parallel: int = out(
        "attention data-parallel groups of tensor-parallel ranks in one replica", "-"
    )
    moe_tensor_parallel: int = out("ways each routed expert is split in one replica", "-")
    replicas: int = out("replicas (model copies) in the deployment", "-")
    prefill_replicas: int = out(
        "disaggregated serving: replicas in the prefill pool (0 when not split)", "-"
    )
    decode_replicas: int = out(
        "disaggregated serving: replicas in the decode pool (0 when not split)", "-"
    )
    prefill_accelerator: str | None = out(
        "heterogeneous pools: accelerator id of the prefill pool (null: one accelerator type; "
        "accelerator is then the decode pool's)"
    )
    prefill_accelerators: int | None = out(
        "heterogeneous pools: accelerators in the prefill pool", "accelerators"
    )
    decode_accelerators: int | None = out(
        "heterogeneous pools: accelerators in the decode pool", "accelerators"
    )
    prefill_tensor_parallel: int | None = out(
        "heterogeneous pools: tensor-parallel degree of a prefill replica", "-"
    )
    prefill_s: Num = out("heterogeneous pools: one prompt's prefill on the prefill pool", "s")
    kv_transfer_s: Num = out(
        "heterogeneous pools: one request's KV cache from the prefill to the decode pool", "s"
    )
    kv_link_gb_s: Num = out(
        "heterogeneous pools: link bandwidth per accelerator, each way, that carries it", "GB/s"
    )
    prefill_utilization: Num = out(
        "heterogeneous pools: average share of the prefill pool's capacity used", "-"
    )
    decode_utilization: Num = out(
        "heterogeneous pools: average share of the decode pool's capacity used", "-"
    )
    prefill_power_w: Num = out("heterogeneous pools: IT power of the prefill pool", "W")
    decode_power_w: Num = out("heterogeneous pools: IT power of the decode pool", "W")
    prefill_cost_usd_per_hour: Num = out(
        "heterogeneous pools: cost of the prefill pool an hour", "USD/h"
    )
    decode_cost_usd_per_hour: Num = out(
        "heterogeneous pools: cost of the decode pool an hour", "USD/h"
    )
    precision: str = out("weight format")
    precision_note: str | None = out(
        "estimate only: where no precision was given and plan and breakeven would serve the "
        "same scenario in another weight format (FP8 for a 16-bit model on an accelerator "
        "with an FP8 peak, when it is cheaper), the line saying so and by how much (null: "
        "the format was given, or plan would choose the same)"
    )
    kv_precision: str = out("KV-cache format")
    software: str = out("serving-software class")
    calibrated: bool = out(
        "whether the accelerator family has efficiencies fitted to measurements (else it "
        "borrows the same architecture's row, or the median of its software class)"
    )
    calibration_basis: str = out(
        "where the efficiencies come from: the fitted row, or what an uncalibrated family "
        "borrows (the same architecture's row, or the median of its software class); and the "
        "efficiency.csv column the compute efficiency was read from, with block-scaled FP8 "
        "weights named where the model's published FP8 checkpoint has them"
    )
    batch_size: int = out("sequences in flight per replica", "sequences")
    max_batch_size: int = out("most sequences the KV-cache memory holds per replica", "sequences")
    input_tokens: int = out("prompt tokens per request", "tokens")
    output_tokens: int = out("generated tokens per request, visible plus reasoning", "tokens")
    input_tok_s: float = out(
        "prompt tokens served per second, whole deployment (cached ones included)", "token/s"
    )
    prefill_tok_s: float = out(
        "prompt tokens prefilled per second, whole deployment (prefix-cache hits excluded)",
        "token/s",
    )
    prefix_cache_hit_rate: float = out("share of prompt tokens served from the prefix cache", "-")
    output_tok_s_total: float = out("output tokens per second, whole deployment", "token/s")
    output_tok_s_per_accelerator: float = out("output tokens per second per accelerator", "token/s")
    output_tok_s_per_user: float = out(
        "output tokens per second one user sees (1 / TPOT)", "token/s"
    )
    ttft_s: float = out("time to first token, with the queueing wait", "s")
    queue_wait_s: float = out("average wait before prefill starts", "s")
    tpot_s: float = out("time per output token", "s")
    request_latency_s: float = out("TTFT plus the remaining output tokens at TPOT", "s")
    error_band_basis: str | None = out(
        "held-out split the error band comes from, by how far the estimate is from the "
        "calibration data (null: no band in the catalog)"
    )
    error_band_coverage: float | None = out(
        "share of held-out measured runs such a band enclosed (0.9: 5th to 95th percentile of "
        "measured / predicted)",
        "-",
    )
    error_band_source: str | None = out(
        "catalog folder the error band's rows come from: built-in (data/error_bands.csv) or a "
        "user catalog (tokenfab calibrate --out), per metric where they differ (null: no band)"
    )
    error_band_note: str | None = out(
        "where the band does not describe the factors the estimate runs on, why: a user "
        "calibration that wrote no band for this split (fewer than 5 held-out values) shows "
        "the built-in one (null: the band is the factors' own)"
    )
    ttft_s_low: Num = out("low end of the TTFT error band", "s")
    ttft_s_high: Num = out("high end of the TTFT error band", "s")
    tpot_s_low: Num = out("low end of the TPOT error band", "s")
    tpot_s_high: Num = out("high end of the TPOT error band", "s")
    output_tok_s_total_low: Num = out("low end of the output-throughput error band", "token/s")
    output_tok_s_total_high: Num = out("high end of the output-throughput error band", "token/s")
    requests_per_second: float = out("requests completed per second, whole deployment", "1/s")
    roofline_output_tok_s_total: float = out(
        "output tokens per second at every efficiency 1 (the physical bound)", "token/s"
    )
    roofline_fraction: Num = out("estimate over roofline", "-")
    bound: str = out("what limits a decode step: memory or compute")
    hbm_busy_share: float = out(
        "share of serving time the memory streams at its peak (input of the power model)", "-"
    )
    compute_busy_share: float = out(
        "share of serving time the matrix units run at their peak (input of the power model)",
        "-",
    )
    prefill_time_share: float = out("share of engine time spent on prefill", "-")
    weights_gb_per_accelerator: float = out("weights held per accelerator", "GB")
    kv_gb_per_accelerator: float = out("KV-cache budget per accelerator", "GB")
    reserve_gb_per_accelerator: float = out("runtime reserve per accelerator", "GB")
    cost_usd_per_accelerator_hour: Num = out(
        "cost of one accelerator-hour, all lines (null: no price)", "USD/h"
    )
    cost_usd_per_mtok_input: Num = out(
        "cost per million prompt tokens: the cost of the accelerator-time prefill takes "
        "(prefill_time_share of a colocated replica's; the prefill pool's with pools)",
        "USD/Mtok",
    )
    cost_usd_per_mtok_output: Num = out(
        "cost per million output tokens, prompts charged separately (as an API's output "
        "price; cost_usd_per_mtok_input charges them): the cost of the accelerator-time decode "
        "takes (1 - prefill_time_share of a colocated replica's; the decode pool's with pools), "
        "below project's, roadmap's and narrative's usd_per_mtok, which put all the cost over "
        "output tokens; "
        "a prefill pool moves cost from output to input, so compare deployments by the "
        "blended figure or the monthly cost",
        "USD/Mtok",
    )
    cost_usd_per_mtok_blended: Num = out(
        "cost per million tokens, prompt and output together: all the cost over all served tokens",
        "USD/Mtok",
    )
    cost_usd_per_request: Num = out("cost of one request", "USD")
    cost_usd_per_task: Num = out("cost of one agent task (steps_per_task requests)", "USD")
    accelerators_needed: int = out(
        "accelerators installed for the demand at its peak (with heterogeneous pools both "
        "pools together)",
        "accelerators",
    )
    monthly_cost_usd: Num = out(
        "cost of the installed accelerators for a 730-hour month", "USD/month"
    )
    power_w: Num = out(
        "IT power of the installed accelerators with their share of the host servers", "W"
    )
    facility_power_w: Num = out("facility power: IT power times PUE", "W")
    tokens_per_joule: Num = out(
        "average output tokens (utilisation included) per joule of facility power drawn: "
        "facility_power_w, the operating point's draw times PUE",
        "token/J",
    )
    output_tok_s_per_mw: Num = out(
        "average output tokens per second per MW drawn (facility_power_w, the operating "
        "point's draw times PUE): tokens_per_joule x 1e6",
        "token/s/MW",
    )
    energy_kwh_per_month: Num = out("facility energy in a 730-hour month", "kWh/month")
    co2e_kg_per_month: Num = out(
        "emissions of that energy at the region's grid intensity", "kg CO2e/month"
    )
    co2e_g_per_mtok: Num = out("emissions per million output tokens", "g CO2e/Mtok")
    gpu_joules_per_output_token: Num = out(
        "accelerator energy per output token while serving, before PUE and idle hours (as "
        "ML.ENERGY reports it)",
        "J/token",
    )
    embodied_co2e_g_per_mtok: Num = out(
        "manufacturing emissions of the accelerators and hosts, spread over their life, per "
        "million output tokens (null: no footprint figure)",
        "g CO2e/Mtok",
    )
    total_co2e_g_per_mtok: Num = out("operational plus embodied emissions", "g CO2e/Mtok")
    region: str = out("region id")
    ownership: str = out("buy or rent")
    utilization: float = out("average share of installed capacity used", "-")
    cost_error: str | None = out("why the money KPIs are null, if they are")
    energy_error: str | None = out(
        "why the energy and carbon KPIs are null, if they are (a rented accelerator whose "
        "power is not public: the rent is the cost)"
    )
    cost_basis: str | None = out("where the accelerator-hour price comes from")


_EstimateBase = create_model(
    "_EstimateBase", __base__=_EstimateCore, __module__=__name__, **_cost_line_fields()
)


class EstimateResult(_EstimateBase):  # type: ignore[misc, valid-type]
    """``estimate --json``: one flat object, performance then the eight KPIs."""

    api_provider: str | None = out("provider of the cheapest API offer for the model")
    api_usd_per_mtok_blended: Num = out(
        "that API's price per million tokens, blended for the workload's token mix", "USD/Mtok"
    )

    stale_prices: str | None = out(
        "each price used that is more than 12 months old, '; '-separated (null: none)"
    )
    warnings: str | None = out(
        "the warnings `estimate` prints under its table, newline-separated: the queue taking "
        "most of the TTFT of a fleet sized without a TTFT target, closed-loop clients "
        "(concurrency) beyond the sequences in flight, then each stale price "
        "(null: none)"
    )

    @classmethod
    def from_estimate(cls, est: Any, catalog: Any = None, today: date | None = None) -> Self:
        """From a :class:`tokenfab.planning.Estimate` priced from ``catalog`` (default: the
        built-in catalogs), with a warning for each price it used that is older than
        :data:`tokenfab.catalog.PRICE_STALE_MONTHS` at ``today`` (default: today); keys the
        estimate does not set are null."""
        return cls.model_validate(cls.record(est, catalog, today))

    @classmethod
    def record(cls, est: Any, catalog: Any = None, today: date | None = None) -> dict[str, Any]:
        """:meth:`from_estimate`'s values before validation: every field, in order."""
        from tokenfab.catalog import default_catalog, estimate_price_dates, stale_price_warnings
        from tokenfab.render import concurrency_note, queue_note

        dates = estimate_price_dates(est, catalog if catalog is not None else default_catalog())
        stale = stale_price_warnings(dates, today or date.today())
        d = est.as_dict()
        queue = queue_note(est) if d.get("queue_wait_s") else None  # no queue, no warning
        clients = concurrency_note(est)
        warnings = [w for w in (queue, clients) if w] + [f"stale price: {line}" for line in stale]
        d = {**d, "stale_prices": "; ".join(stale) or None, "warnings": "\n".join(warnings) or None}
        fields = cls.model_fields  # a property: looked up once, not once a key
        undocumented = [k for k in d if k not in fields]
        if undocumented:  # a programming error, caught by tests/test_schema.py
            raise KeyError(
                f"estimate key {undocumented[0]!r} is not in tokenfab.schema.EstimateResult; "
                "add it there with a unit and a description"
            )
        return {**dict.fromkeys(fields), **d}

    def warning_lines(self) -> list[str]:
        """The warnings, one a line (empty: none)."""
        return self.warnings.split("\n") if self.warnings else []

    def stale_price_lines(self) -> list[str]:
        """The stale-price warnings, one a line (empty: every price is recent)."""
        return self.stale_prices.split("; ") if self.stale_prices else []


class _PlanOptionHead(Result):
    accelerator: str = out("accelerator id")
    region: str = out("region id")
    ownership: str = out("buy or rent")


def _plan_option_fields() -> dict[str, Any]:
    """The estimate keys a plan shows (``planning.PLAN_KEYS``), null for a rejected option,
    then whether the option is feasible and why not."""
    from tokenfab.planning import PLAN_KEYS

    spec: dict[str, Any] = {}
    for key in PLAN_KEYS:
        field = EstimateResult.model_fields[key]
        spec[key] = (
            field.annotation | None,
            out(f"{field.description} (null if rejected)", unit_of(field)),
        )
    spec["feasible"] = (bool, out("whether the option meets the demand and targets"))
    spec["reason"] = (str, out("why the option was rejected (empty if feasible)"))
    spec["licence"] = (
        str,
        out(
            "the chosen software_licence on the option's accelerators: its price, bundled, or "
            "not charged where it does not apply (a plan applies one licence where it applies "
            "and refuses it only where it applies to no candidate; empty: none chosen)"
        ),
    )
    return spec


PlanOption = create_model(
    "PlanOption",
    __base__=_PlanOptionHead,
    __module__=__name__,
    __doc__="One candidate of a plan: its KPIs if feasible, the reason if not.",
    **_plan_option_fields(),
)


class PlanResult(Result):
    """``plan --json``: every option, feasible ones cheapest first, then the rejected."""

    options: list[PlanOption] = out(
        "every candidate: the feasible ones cheapest first, then the rejected with their reason"
    )
    feasible_options: int = out("how many options meet the demand and targets", "options")

    @classmethod
    def from_options(cls, options: list[Any]) -> Self:
        """From :func:`tokenfab.planning.plan`'s options."""
        from tokenfab.planning import options_table

        keys = PlanOption.model_fields
        rows = [{**dict.fromkeys(keys), **row} for row in options_table(options)]
        return cls.model_validate(
            {"options": rows, "feasible_options": sum(bool(r["feasible"]) for r in rows)}
        )


class FrontierPoint(Result):
    """One point of a throughput-interactivity frontier."""

    accelerator: str = out("accelerator id")
    precision: str = out("weight format")
    tok_s_per_user: float = out("output tokens per second one user sees (1 / TPOT)", "token/s")
    tok_s_per_accelerator: float = out("output tokens per second per accelerator", "token/s")
    tensor_parallel: int = out("tensor-parallel degree", "-")
    pipeline_parallel: int = out("pipeline stages", "-")
    expert_parallel: int = out("expert-parallel degree", "-")
    attention_data_parallel: int | None = out(
        "attention data-parallel groups of tensor_parallel ranks in a stage (with two pools, "
        "the decode pool's)",
        "-",
    )
    moe_tensor_parallel: int | None = out(
        "ways each routed expert is split: tensor_parallel x attention_data_parallel / "
        "expert_parallel",
        "-",
    )
    batch_size: int = out("sequences in flight per replica", "sequences")
    ttft_s: Num = out("service TTFT of the point: one prompt's prefill, no queueing", "s")
    power_w: Num = out(
        "an accelerator's IT draw serving at the point, its host's share included (the "
        "operating-point power model; null: "
        "no published power)",
        "W",
    )
    output_tok_s_per_mw: Num = out(
        "output tokens per second per MW of facility power at that draw and the region's PUE, "
        "busy all the time",
        "token/s/MW",
    )
    usd_per_mtok: Num = out(
        "cost per million output tokens at the point, all cost over output tokens (prompt "
        "processing included): a bought accelerator-hour (every line of "
        "the cost model, power at the point's average draw) at the catalog's default "
        "utilisation, or rented where it has no price (null: neither)",
        "USD/Mtok",
    )


class FrontierLeftOut(Result):
    """An accelerator a frontier request named that could not run it."""

    accelerator: str = out("accelerator id")
    reason: str = out("why: the line the accelerator alone would have failed with")


class FrontierResult(Result):
    """``frontier --json``: the Pareto points of every accelerator."""

    points: list[FrontierPoint] = out(
        "the Pareto points, by accelerator then by output tokens per second per user"
    )
    left_out: list[FrontierLeftOut] = out(
        "accelerators of the request with no frontier, each with why (empty when all ran)"
    )

    @classmethod
    def from_frontiers(cls, fronts: list[Any]) -> Self:
        """From :func:`tokenfab.perf.frontier.frontier` results (and the ``left_out`` of
        :class:`tokenfab.operations.Fronts`)."""
        return cls.model_validate(
            {
                "points": [row for f in fronts for row in f.rows()],
                "left_out": [
                    {"accelerator": a, "reason": r} for a, r in getattr(fronts, "left_out", [])
                ],
            }
        )


class BreakevenRow(Result):
    """Monthly cost of each option at one daily volume."""

    tokens_per_day: float = out("output tokens a day", "token/day")
    accelerators: int = out(
        "accelerators installed for that volume at its peak: plan's bought deployment for it "
        "(of a fixed group: whole groups)",
        "accelerators",
    )
    rent_accelerators: int = out(
        "accelerators a rented fleet installs for that volume: plan's rented deployment (the "
        "fewest that carry it; the bought one also weighs power, so the two may differ)",
        "accelerators",
    )
    precision: str = out(
        "weight format of the bought fleet: the one given, else plan's choice for that volume "
        "and ownership (the cheaper of the model's native format and FP8 where the accelerator "
        "has an FP8 peak); of a fixed group, the one given or the model's native format"
    )
    rent_precision: str = out("weight format of the rented fleet, chosen as precision")
    buy_usd_per_month: Num = out("owning them (null: no purchase price)", "USD/month")
    rent_usd_per_month: Num = out("renting them (null: no rental offer)", "USD/month")
    api_usd_per_month: Num = out("the cheapest API instead (null: no API price)", "USD/month")
    cheapest: Literal["buy", "rent", "api"] = out("the cheapest priced option")


PAYBACK_VOLUMES = dict(zip(("10M", "100M", "1B"), PAYBACK_TOKENS_PER_DAY.tolist(), strict=True))
"""Daily output volumes [token/day] of the payback keys."""


def _payback_fields() -> dict[str, Any]:
    return {
        f"payback_vs_{against}_at_{label}_tokens_per_day_months": (
            Num,
            out(
                f"months until buying pays back its up-front cost against "
                f"{'the API' if against == 'api' else 'renting'} at {volume:.0e} output "
                "tokens a day (null: not within the hardware's useful life, or never; "
                "payback_reasons says which)",
                "months",
            ),
        )
        for against in ("api", "rent")
        for label, volume in PAYBACK_VOLUMES.items()
    }


class _BreakevenCore(Result):
    scenario: Scenario = out(
        "the scenario priced (its tokens_per_day the grid's first volume; accelerators: the group)"
    )
    api_provider: str | None = out("provider of the cheapest API offer for the model")
    api_usd_per_mtok_blended: Num = out("that API's blended price", "USD/Mtok")
    rent_basis: str | None = out("the rental offer priced")
    missing: dict[str, str] = out("options the catalog cannot price, with the reason")
    rows: list[BreakevenRow] = out("monthly costs from 1e6 to 1e11 output tokens a day")
    crossover_buy_vs_api_tokens_per_day: Num = out(
        "daily volume above which buying is cheaper than the API (null: none in range)",
        "token/day",
    )
    crossover_buy_vs_api_sustained_tokens_per_day: Num = out(
        "daily volume above which buying stays cheaper than the API", "token/day"
    )
    crossover_buy_vs_rent_tokens_per_day: Num = out(
        "daily volume above which buying is cheaper than renting", "token/day"
    )
    grid_floor_tokens_per_day: float = out(
        "the lowest volume the crossovers are searched from: a crossover equal to it means "
        "buying is cheaper at every volume from there, not a crossing",
        "token/day",
    )
    useful_life_years: float = out(
        "the hardware's useful life (cost assumption useful-life-years): a payback longer "
        "than it is not reported",
        "years",
    )
    payback_reasons: dict[str, str] = out(
        "why each null payback key is null: 'never: ...' (buying saves nothing a month) or "
        "'not within the N-year useful life ...' (with the months it would take)"
    )


_BreakevenBaseResult = create_model(
    "_BreakevenBaseResult", __base__=_BreakevenCore, __module__=__name__, **_payback_fields()
)


def _summary_label(key: str) -> str:
    """A breakeven summary key in words: "payback of buying vs the API at 10M tokens/day",
    not the key with spaces ("payback vs api at 10M tokens per day months", its unit glued on).

    >>> _summary_label("crossover_buy_vs_api_sustained_tokens_per_day")
    'buying cheaper than the API for good from'
    >>> _summary_label("payback_vs_rent_at_1B_tokens_per_day_months")
    'payback of buying vs renting at 1B tokens/day'
    """
    against = {"api": "the API", "rent": "renting"}
    m = re.fullmatch(r"crossover_buy_vs_(api|rent)(_sustained)?_tokens_per_day", key)
    if m:
        return f"buying cheaper than {against[m[1]]}" + (" for good" if m[2] else "") + " from"
    m = re.fullmatch(r"payback_vs_(api|rent)_at_(\w+?)_tokens_per_day_months", key)
    if m:
        return f"payback of buying vs {against[m[1]]} at {m[2]} tokens/day"
    return key.replace("_", " ")


class BreakevenResult(_BreakevenBaseResult):  # type: ignore[misc, valid-type]
    """``breakeven --json``: the volume table, the crossovers and the paybacks."""

    @classmethod
    def from_analysis(cls, a: Any) -> Self:
        """From :func:`tokenfab.breakeven.analyse`."""
        import math

        def num(x: Any) -> float | None:
            return None if x is None or math.isnan(float(x)) else float(x)

        g = a.grid
        rows = [
            {
                "tokens_per_day": float(g.tokens_per_day[i]),
                "accelerators": int(g.accelerators[i]),
                "rent_accelerators": int(
                    (g.accelerators if g.rent_accelerators is None else g.rent_accelerators)[i]
                ),
                "precision": str(g.precision[i]),
                "rent_precision": str(g.rent_precision[i]),
                "buy_usd_per_month": num(g.buy_usd[i]),
                "rent_usd_per_month": num(g.rent_usd[i]),
                "api_usd_per_month": num(g.api_usd[i]),
                "cheapest": cheapest,
            }
            for i, cheapest in enumerate(g.cheapest())
        ]
        from tokenfab.breakeven import payback_within_life

        payback: dict[str, float | None] = {}
        reasons: dict[str, str] = {}
        missing = dict(a.rates.missing)
        for against, values in (
            ("api", a.payback_vs_api_months),
            ("rent", a.payback_vs_rent_months),
        ):
            for label, months in zip(PAYBACK_VOLUMES, values, strict=True):
                key = f"payback_vs_{against}_at_{label}_tokens_per_day_months"
                if "buy" in missing or against in missing:  # an option the catalog cannot price
                    payback[key] = None
                    reasons[key] = "not priced: " + missing.get("buy", missing.get(against, ""))
                    continue
                payback[key], why = payback_within_life(float(months), a.useful_life_years)
                if why:
                    reasons[key] = why
        r = a.rates
        return cls.model_validate(
            {
                "scenario": a.scenario,
                "api_provider": r.api_provider,
                "api_usd_per_mtok_blended": r.api_usd_per_mtok_blended,
                "rent_basis": r.rent_basis,
                "missing": dict(r.missing),
                "rows": rows,
                "crossover_buy_vs_api_tokens_per_day": num(a.crossover_buy_vs_api_tokens_per_day),
                "crossover_buy_vs_api_sustained_tokens_per_day": num(
                    a.crossover_buy_vs_api_sustained_tokens_per_day
                ),
                "crossover_buy_vs_rent_tokens_per_day": num(a.crossover_buy_vs_rent_tokens_per_day),
                "grid_floor_tokens_per_day": float(a.fine.tokens_per_day[0]),
                "useful_life_years": a.useful_life_years,
                "payback_reasons": reasons,
                **payback,
            }
        )

    def formats(self) -> str:
        """The weight format of the rows in words: ``"fp8"`` where every fleet has it, else
        ``"bf16 or fp8 by volume"`` (each row names its own)."""
        seen = dict.fromkeys(f for r in self.rows for f in (r.precision, r.rent_precision))
        return " or ".join(seen) + ("" if len(seen) == 1 else " by volume")

    def summary(self) -> dict[str, float | None]:
        """The crossovers and paybacks, by key."""
        return {
            k: getattr(self, k)
            for k in type(self).model_fields
            if k.startswith(("crossover_", "payback_")) and k != "payback_reasons"
        }

    def summary_lines(self) -> list[tuple[str, str]]:
        """The crossovers and paybacks in words, ``(what, value)``: a crossover at the grid's
        floor reads "every volume (the lowest searched is X)", not a crossing at X."""
        lines = []
        for key, value in self.summary().items():
            what = _summary_label(key)
            if value is None and key in self.payback_reasons:
                why = self.payback_reasons[key]
                text = "not priced" if why.startswith("not priced") else why
            elif value is None:
                text = "never"
            elif key.startswith("crossover"):
                text = (
                    f"every volume (the lowest searched is {value:.3g} output tokens/day)"
                    if value <= self.grid_floor_tokens_per_day
                    else f"{value:.3g} output tokens/day"
                )
            else:
                text = f"{value:.1f} months"
            lines.append((what, text))
        return lines


# ------------------------------------------------------------------------------------------
# The economics commands: route, viability (requests and results)
# ------------------------------------------------------------------------------------------

Share = Annotated[float, Field(ge=0, le=1)]
RequestTokens = Annotated[int, Field(ge=1, le=MAX_TOKENS_PER_REQUEST)]


class RouteRequest(Request):
    """``route``: cost per successful outcome with a small model routed in front of a big one."""

    big: str = Field(
        "anthropic-claude-opus-4-1-2025-08",
        min_length=1,
        description="API price id of the big model",
    )
    small: str = Field(
        "anthropic-claude-haiku-4-5-2025-10",
        min_length=1,
        description="API price id of the small model",
    )
    input_tokens: RequestTokens = Field(
        6000, description="prompt tokens per request [tokens, 1 to 1e8]"
    )
    output_tokens: RequestTokens = Field(
        300, description="output tokens per request [tokens, 1 to 1e8]"
    )
    cache_hit_rate: Share = Field(
        0.0, description="share of prompt tokens read from the provider's cache [0 to 1]"
    )
    study: str = Field(
        "routellm-mt-bench",
        min_length=1,
        description="published router study the routed share, small-model success and "
        "failure detection come from unless given (see route --list)",
    )
    routed_share: Share | None = Field(
        None,
        description="share of requests sent to the small model first [0 to 1] (default: the "
        "study's)",
    )
    success_small: Share | None = Field(
        None,
        description="share of routed requests the small model gets right [0 to 1] (default: "
        "the study's, relative to success_big)",
    )
    success_big: Annotated[float, Field(gt=0, le=1)] = Field(
        0.95, description="success rate of the big model [above 0 to 1]"
    )
    failure_detection: Share | None = Field(
        None,
        description="share of small-model failures detected and escalated [0 to 1] (default: "
        "the study's; 0 for a router, which calls one model per request)",
    )


class RouteGrid(Result):
    """The saving per success over routed share (rows) and small-model success (columns)."""

    routed_share: list[float] = out("routed shares, the grid's rows", "-")
    success_small: list[float] = out("small-model success rates, the grid's columns", "-")
    savings_per_success: list[list[Num]] = out(
        "saving per successful outcome at each routed share and success rate", "-"
    )
    success_rate_after: list[list[Num]] = out(
        "share of requests that succeed after routing at each routed share and success rate "
        "(the request's success_big and failure_detection): the quality the saving costs",
        "-",
    )
    success_big: float = out("the big model's success rate the grid assumes", "-")
    failure_detection: float = out(
        "the share of small-model failures escalated that the grid assumes", "-"
    )


class RouteResult(Result):
    """``route --json``: cost per request and per success before and after routing."""

    big: str = out("API price id of the big model")
    small: str = out("API price id of the small model")
    study: str = out("router study the inputs not given were read from (route --list)")
    study_source: str = out("the study's source (paper, table)")
    from_study: list[str] = out("the inputs read from the study (the rest were given)")
    routed_share: float = out("share of requests sent to the small model first", "-")
    success_small: float = out("share of routed requests the small model gets right", "-")
    success_big: float = out("share of requests the big model gets right", "-")
    failure_detection: float = out("share of small-model failures escalated", "-")
    cost_usd_per_request_big: float = out("one request to the big model", "USD")
    cost_usd_per_request_small: float = out("one request to the small model", "USD")
    cost_usd_per_request_before: float = out("a request without routing (the big model)", "USD")
    cost_usd_per_request_after: float = out("a request with routing, escalations included", "USD")
    success_rate_before: float = out("share of requests answered right without routing", "-")
    success_rate_after: float = out("share of requests answered right with routing", "-")
    cost_per_success_usd_before: Num = out("cost per successful outcome without routing", "USD")
    cost_per_success_usd_after: Num = out("cost per successful outcome with routing", "USD")
    savings_per_success: Num = out("share of the cost per success that routing saves", "-")
    assumed: str = out("which inputs came from the study and how they were read, with its source")
    grid: RouteGrid = out("the saving per success over routed share and small-model success")


Usd = Annotated[float, Field(ge=0, le=VIABILITY_MAX_USD, allow_inf_nan=False)]


class ViabilityRequest(Request):
    """``viability``: margin, verdict and break-even price of a product (without a cost: the
    seed's business-model table)."""

    cost_usd_per_request: Usd | None = Field(
        None, description="inference cost per request [USD, 0 to 1e9]"
    )
    revenue_usd_per_request: Usd | None = Field(
        None, description="revenue per request [USD, 0 to 1e9]"
    )
    revenue_usd_per_user_month: Usd | None = Field(
        None, description="revenue per user-month [USD, 0 to 1e9]"
    )
    requests_per_user_month: (
        Annotated[float, Field(ge=1, le=VIABILITY_MAX_USD, allow_inf_nan=False)] | None
    ) = Field(None, description="requests a user makes a month [requests, 1 to 1e9]")
    target_margin: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        None, description="gross margin called viable [0 to 1) (default: 0.4, or the seed's)"
    )
    api_price: str | None = Field(
        None,
        min_length=1,
        description="API price id whose request price is the cost (instead of "
        "cost_usd_per_request)",
    )
    input_tokens: RequestTokens = Field(
        6000, description="prompt tokens per request, with api_price [tokens, 1 to 1e8]"
    )
    output_tokens: RequestTokens = Field(
        300,
        description="output tokens per request, reasoning included, with api_price "
        "[tokens, 1 to 1e8]",
    )
    cache_hit_rate: Share = Field(
        0.0, description="share of prompt tokens read from the cache, with api_price [0 to 1]"
    )

    @model_validator(mode="after")
    def _one_cost(self) -> Self:
        if self.api_price is not None and self.cost_usd_per_request is not None:
            raise ValueError("api_price: give api_price or cost_usd_per_request, not both")
        revenue = (self.revenue_usd_per_request, self.revenue_usd_per_user_month)
        no_cost = self.api_price is None and self.cost_usd_per_request is None
        if no_cost and any(r is not None for r in revenue):
            raise ValueError(
                "cost_usd_per_request: a revenue needs a cost: cost_usd_per_request or api_price"
            )
        # the request's tokens price the API's request; without api_price they priced
        # nothing and were dropped in silence (viability --cost-usd-per-request 1 --input-tokens 5)
        unused = [
            f
            for f in ("input_tokens", "output_tokens", "cache_hit_rate")
            if f in self.model_fields_set
        ]
        if self.api_price is None and unused:
            raise ValueError(
                f"{unused[0]}: prices an API request, so it goes with api_price; give "
                f"api_price or drop {unused[0]}"
            )
        return self


class ViabilityRow(Result):
    """One product's margin and verdict (per request, and per user-month where requests per
    user-month are given)."""

    name: str = out("product")
    revenue_usd_per_request: float = out("revenue per request", "USD")
    cost_usd_per_request: float = out("inference cost per request", "USD")
    margin: Num = out("gross margin: (revenue - cost) / revenue (null: no revenue)", "-")
    verdict: str = out("the verdict at the target margin")
    breakeven_usd_per_request: float = out("revenue per request at which margin is 0", "USD")
    target_margin: float = out("gross margin called viable", "-")
    target_price_usd_per_request: Num = out(
        "revenue per request that reaches the target margin", "USD"
    )
    requests_per_user_month: float | None = out(
        "requests a user makes a month, as given (null: not given)", "requests"
    )
    revenue_usd_per_user_month: float | None = out(
        "revenue a user-month (null: no requests per user-month)", "USD"
    )
    cost_usd_per_user_month: float | None = out(
        "inference cost a user-month: cost per request x requests (null: no requests per "
        "user-month)",
        "USD",
    )
    target_price_usd_per_user_month: Num = out(
        "revenue a user-month that reaches the target margin (null: no requests per user-month)",
        "USD",
    )
    margin_range_from_columns: list[Num] | None = out(
        "seed rows: worst and best margin the seed's revenue and cost ranges allow (null: "
        "one product)",
        "-",
    )
    seed_margin: str | None = out("seed rows: the margin the seed printed (null: one product)")
    seed_verdict: str | None = out("seed rows: the verdict the seed printed (null: one product)")


class ViabilityResult(Result):
    """``viability --json``: one row per product."""

    products: list[ViabilityRow] = out("one row per product")

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Self:
        keys = ViabilityRow.model_fields
        return cls.model_validate({"products": [{**dict.fromkeys(keys), **row} for row in rows]})


class FactoryMixEntry(Request):
    """One part of a factory's mix: an accelerator running a model on a share of the power."""

    accelerator: str = Field(min_length=1, description="accelerator id")
    model: str | None = Field(
        None, min_length=1, description="model id (default: the request's model)"
    )
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        description="share of the facility's power [-, above 0 to 1]"
    )


class FactoryRequest(Request):
    """``factory``: a power budget split across price tiers, with revenue and cost a year."""

    power_mw: Annotated[float, Field(ge=MIN_POWER_MW, le=MAX_POWER_MW, allow_inf_nan=False)] = (
        Field(1000.0, description="facility power, PUE included [MW, 0.01 to 1e5]")
    )
    power_gw: (
        Annotated[float, Field(ge=MIN_POWER_MW / 1e3, le=MAX_POWER_MW / 1e3, allow_inf_nan=False)]
        | None
    ) = Field(
        None,
        description="facility power in GW instead of power_mw, PUE included [GW, 1e-5 to 100]",
    )
    accelerator: list[Annotated[str, Field(min_length=1)]] = Field(
        ["gb300"],
        min_length=1,
        description="accelerator ids, comma-separated; several compare generations",
    )
    model: str = Field(
        "llama-3.1-70b", min_length=1, description="model id from the models catalog"
    )
    workload: str = Field("chat", min_length=1, description="workload id (token lengths)")
    precision: str | None = Field(
        None, min_length=1, description="weight format (default: fp8, else fp4, else bf16)"
    )
    region: str = Field("us", min_length=1, description="region id (PUE, electricity)")
    ownership: Literal["buy", "rent"] = Field(
        "buy",
        description="how the accelerators are priced: buy (every line of the cost model, capex "
        "reported) or rent (the cheapest on-demand offer an hour, which pays the provider's "
        "power and building; no capex)",
    )
    decode_accelerator: str | None = Field(
        None,
        min_length=1,
        description="accelerator id of a decode pool for the tiers the accelerator alone "
        "cannot reach: prefill stays on the accelerator (seed 002: Rubin prefill, LPX decode; "
        "default: none, such tiers earn nothing)",
    )
    kv_link_gb_s: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] | None = Field(
        None,
        description="with decode_accelerator: link per accelerator, each way, carrying the KV "
        "cache between the pools (default: the lower catalogued scale-out) [GB/s, above 0 to 1e6]",
    )
    shares: dict[str, Share] | None = Field(
        None,
        description="share of power per price tier, as tier=share,... (e.g. "
        "free=0.25,medium=0.25,high=0.25,premium=0.25; default: the catalog's shares)",
    )
    mix: list[FactoryMixEntry] | None = Field(
        None,
        description="a facility split across accelerators and models instead of one "
        "accelerator: accelerator[:model]:share,... (e.g. gb300:llama-3.1-70b:0.6,"
        "h100-sxm:llama-3.1-8b:0.4; the shares of power sum to 1; the model defaults to model)",
        json_schema_extra={"metavar": "ACC[:MODEL]:SHARE,..."},
    )
    tokens_per_day: (
        Annotated[float, Field(ge=MIN_TOKENS_PER_DAY, le=MAX_TOKENS_PER_DAY, allow_inf_nan=False)]
        | None
    ) = Field(
        None,
        description="a demand, output tokens a day: the share of the facility it uses and "
        "the power it needs (--demand FILE sets it) [tokens, 1 to 1e16]",
    )
    peak_to_average: (
        Annotated[float, Field(ge=1, le=MAX_PEAK_TO_AVERAGE, allow_inf_nan=False)] | None
    ) = Field(None, description="the demand's peak over its average [-, 1 to 1000]")
    input_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None, description="prompt tokens per request (default: the workload's) [tokens, 1 to 1e8]"
    )
    output_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None,
        description="visible output tokens per request (default: the workload's) "
        "[tokens, 1 to 1e8]",
    )
    reasoning_tokens: Annotated[int, Field(ge=0, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None,
        description="reasoning tokens per request (default: the workload's) [tokens, 0 to 1e8]",
    )

    @field_validator("mix", mode="before")
    @classmethod
    def _mix_entries(cls, value: Any) -> Any:
        """``"gb300:llama-3.1-70b:0.6,h100-sxm:0.4"`` (a CLI option) -> a list of entries."""
        if not isinstance(value, str):
            return value
        from tokenfab.factory import parse_mix_entry

        example = "(e.g. gb300:llama-3.1-70b:0.6,h100-sxm:0.4)"
        parts = [part.strip() for part in value.split(",")]
        entries = []
        for part in parts:
            # the caller appends "(got VALUE)": name the entry only where it is not the value
            if not part:
                raise ValueError(
                    f"an empty entry; give accelerator[:model]:share entries, comma-separated {example}"
                )
            try:
                acc, model, share = parse_mix_entry(part)
            except ScenarioError:
                what = f"{part!r} is not" if len(parts) > 1 else "give"
                raise ValueError(f"{what} accelerator[:model]:share {example}") from None
            entries.append({"accelerator": acc, "model": model, "share": share})
        return entries

    @model_validator(mode="after")
    def _mix_or_accelerator(self) -> Self:
        if self.mix is not None and "accelerator" in self.model_fields_set:
            raise ValueError(
                "mix: give the accelerators in mix (accelerator[:model]:share) or in "
                "accelerator, not both"
            )
        if self.mix == []:  # factory_mix's own line, not "the shares sum to 0"
            raise ValueError("mix: give at least one accelerator:model:share entry")
        if self.mix is not None:
            total = sum(e.share for e in self.mix)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"mix: the shares of power sum to {total:g}; they must sum to 1")
        if self.peak_to_average is not None and self.tokens_per_day is None:
            raise ValueError(
                "peak_to_average: a peak goes with a demand; give tokens_per_day (or --demand)"
            )
        if self.power_gw is not None and "power_mw" in self.model_fields_set:
            raise ValueError("power_gw: give the facility's power in MW or in GW, not both")
        return self

    @property
    def facility_mw(self) -> float:
        """The facility's power [MW]: ``power_gw`` x 1,000 where given, else ``power_mw``."""
        return self.power_mw if self.power_gw is None else self.power_gw * 1e3

    @field_validator("shares", mode="before")
    @classmethod
    def _tier_shares(cls, value: Any) -> Any:
        """``"free=0.25,premium=0.75"`` (a CLI option) -> ``{"free": 0.25, "premium": 0.75}``."""
        if not isinstance(value, str):
            return value
        shares: dict[str, float] = {}
        for part in value.split(","):
            if not part.strip():  # "free=0.5,,premium=0.5": a tier left out
                raise ValueError(
                    "an empty item; give comma-separated tier=share entries, none empty"
                )
            key, sep, number = part.partition("=")
            if key.strip() in shares:  # the second would silently replace the first
                raise ValueError(f"tier {key.strip()!r} is given twice; give each tier once")
            try:
                shares[key.strip()] = float(number)
            except ValueError:
                sep = ""
            if not sep or not key.strip():
                raise ValueError(f"{part!r} is not tier=share (e.g. premium=0.25)")
        return shares


class FactoryTier(Result):
    """One price tier of an AI factory."""

    name: str = out("tier id (data/price_tiers.csv)")
    usd_per_mtok: float = out(
        "the tier's price per million tokens of its basis (see price_basis_kind; blended: 3 "
        "prompt : 1 output tokens)",
        "USD/Mtok",
    )
    price_basis: str = out("what the price counts, as the tier catalog states it")
    price_basis_kind: str = out("what the price is applied to: output, input or blended tokens")
    billed_tokens_per_output_token: float = out(
        "revenue per output token in units of the tier's price, at the workload's mix: output "
        "1, input prompt/output tokens, blended (3 + 1)(r + prompt/output) / (3 + r) with r the "
        "API catalog's median output/input price ratio (the note on blended tiers gives it)",
        "-",
    )
    billed_tokens_per_year: float = out(
        "output tokens a year times billed_tokens_per_output_token: revenue / price", "token/year"
    )
    ttft_s: Num = out(
        "service TTFT (no queueing) at the chosen point (null: none, or the tier has no power)", "s"
    )
    ttft_s_max: Num = out("the tier's TTFT ceiling (null: none)", "s")
    share_of_power: float = out("share of the facility's power given to the tier", "-")
    output_tok_s_per_user_min: Num = out("the tier's speed floor (null: none)", "token/s")
    output_tok_s_per_user_max: Num = out("the tier's speed ceiling (null: none)", "token/s")
    accelerators: float = out(
        "accelerators serving the tier (with heterogeneous pools both pools together)",
        "accelerators",
    )
    prefill_accelerators: Num = out(
        "heterogeneous pools: accelerators in the tier's prefill pool (null: one type)",
        "accelerators",
    )
    decode_accelerators: Num = out(
        "heterogeneous pools: accelerators in the tier's decode pool (null: one type)",
        "accelerators",
    )
    tok_s_per_user: Num = out(
        "output tokens per second one user sees at the chosen point (null: none in the band, "
        "or the tier has no power)",
        "token/s",
    )
    output_tok_s_per_accelerator: float = out(
        "output tokens per second per accelerator at that point (0: the tier serves nothing)",
        "token/s",
    )
    tokens_per_year: float = out("output tokens the tier serves a year", "token/year")
    output_tok_s_per_mw: Num = out(
        "output tokens per second per MW of the facility capacity given to the tier (the peak, "
        "not the average draw), utilisation included: tokens_per_year / 31,536,000 s / (share_of_power x power_mw) (null: no power)",
        "token/s/MW",
    )
    revenue_usd_per_year: float = out("the tier's revenue a year", "USD/year")
    note: str = out("why the tier serves nothing, if it does not (empty: it serves)")
    pools: dict[str, Any] | None = out(
        "heterogeneous pools serving the tier: prefill_accelerator, decode_accelerator, their "
        "counts, prefill_power_share, kv_transfer_s, kv_link_gb_s (null: the accelerator alone)"
    )
    cost_usd_per_year: Num = out("the tier's share of the cost (null: not priced)", "USD/year")


class FactoryDemand(Result):
    """A demand's use of a factory (factory --demand or --tokens-per-day)."""

    tokens_per_day: float = out("the demand, output tokens a day", "token/day")
    tokens_per_year: float = out("the same a year (365 days)", "token/year")
    peak_to_average: float = out("the demand's peak over its average", "-")
    share_of_facility: Num = out(
        "the demand's output tokens a year over the facility's (above 1: it needs more "
        "power; null: the facility serves nothing)",
        "-",
    )
    power_mw_needed: Num = out(
        "facility power that serves the demand at the same tiers and hardware", "MW"
    )
    peak_share_of_capacity: Num = out(
        "the demand's peak over what the facility carries busy all the time", "-"
    )
    power_mw_for_peak: Num = out(
        "facility power that carries the demand's peak, busy all the time at the peak", "MW"
    )


class FactoryResult(Result):
    """``factory --json``: one accelerator's factory (several accelerators: a list of them)."""

    power_mw: float = out("facility power, PUE included", "MW")
    accelerator: str = out("accelerator id")
    model: str = out("model id")
    region: str = out("region id")
    precision: str = out("weight format served")
    pue: float = out("the region's power usage effectiveness", "-")
    decode_accelerator: str | None = out(
        "decode pool's accelerator for the tiers the accelerator alone cannot reach (null: none)"
    )
    ownership: str = out("how the accelerators are priced: buy or rent")
    power_w_per_accelerator: float = out(
        "power budgeted per accelerator (its share of the facility's IT power)", "W"
    )
    accelerators: float = out(
        "accelerators the power budget holds: power_mw over one accelerator's facility draw "
        "(power_w_per_accelerator x PUE), kept fractional so tokens, revenue and cost scale "
        "with the power (3.8 is three accelerators and 80 % of a fourth's power; a whole "
        "fleet within the power is its floor) "
        "(where a tier runs on heterogeneous pools: equivalents of the accelerator by power; "
        "the tiers' pools give the real counts)",
        "accelerators",
    )
    utilization: float = out("average share of capacity used", "-")
    tokens_per_year: float = out("output tokens served a year, all tiers", "token/year")
    output_tok_s_per_mw: float = out(
        "average output tokens per second per MW of provisioned facility capacity (power_mw, "
        "the peak, not the average draw): tokens_per_year / 31,536,000 s / power_mw",
        "token/s/MW",
    )
    output_tok_s_per_gw: float = out(
        "the same per GW of provisioned facility capacity", "token/s/GW"
    )
    average_w_per_accelerator: float = out("average power drawn per accelerator", "W")
    tokens_per_joule: float = out(
        "output tokens per joule of the facility's average draw (accelerators x average draw "
        "at the utilisation x PUE), not of its capacity",
        "token/J",
    )
    revenue_usd_per_year: float = out("revenue a year, all tiers", "USD/year")
    revenue_usd_per_accelerator_hour: float = out(
        "revenue a year over the accelerators' hours a year, idle and free tiers included: "
        "the figure to set beside a rental price",
        "USD/h",
    )
    cost_usd_per_year: Num = out("cost a year (null: not priced)", "USD/year")
    capex_usd: Num = out("up-front cost of the accelerators (null: not priced)", "USD")
    cost_usd_per_mtok: Num = out(
        "cost per million output tokens, all cost over output tokens: the year's cost over "
        "the year's output tokens, prompt processing included",
        "USD/Mtok",
    )
    co2e_g_per_mtok: Num = out("operational emissions per million output tokens", "g CO2e/Mtok")
    embodied_co2e_g_per_mtok: Num = out(
        "manufacturing emissions per million output tokens (null: no footprint figure)",
        "g CO2e/Mtok",
    )
    margin: Num = out("(revenue - cost) / revenue (null: not priced or no revenue)", "-")
    cost_basis: str = out("where the cost comes from")
    tiers: list[FactoryTier] = out("the price tiers")
    demand: FactoryDemand | None = out("a demand's use of the facility (null: none given)")
    notes: list[str] = out("notes on the assumptions")


class FactoryMixTier(Result):
    """One price tier of a mixed facility, summed over its parts."""

    name: str = out("tier id (data/price_tiers.csv)")
    usd_per_mtok: float = out("the tier's price per million billed tokens", "USD/Mtok")
    price_basis_kind: str = out("what the price is applied to: output, input or blended tokens")
    share_of_power: float = out("share of each part's power given to the tier", "-")
    accelerators: float = out("accelerators serving the tier, all parts", "accelerators")
    tokens_per_year: float = out("output tokens the tier serves a year, all parts", "token/year")
    output_tok_s_per_mw: Num = out(
        "output tokens per second per MW of the facility power given to the tier, all parts, "
        "utilisation included (null: no power)",
        "token/s/MW",
    )
    billed_tokens_per_year: float = out(
        "tokens the tier's price applies to, a year, all parts", "token/year"
    )
    revenue_usd_per_year: float = out("the tier's revenue a year, all parts", "USD/year")
    cost_usd_per_year: Num = out("the tier's cost, all parts (null: not priced)", "USD/year")


class FactoryMixPart(Result):
    """One (accelerator, model) part of a mixed facility."""

    accelerator: str = out("accelerator id")
    model: str = out("model id")
    share_of_power: float = out("share of the facility's power", "-")
    factory: FactoryResult = out("the part as a factory of its share of the power")


class FactoryMixResult(Result):
    """``factory --mix ... --json``: a facility split across accelerators and models."""

    power_mw: float = out("facility power, PUE included", "MW")
    region: str = out("region id")
    pue: float = out("the region's power usage effectiveness", "-")
    utilization: float = out("average share of capacity used", "-")
    accelerators: float = out("accelerators of all parts", "accelerators")
    tokens_per_year: float = out("output tokens served a year, all parts", "token/year")
    output_tok_s_per_mw: float = out(
        "average output tokens per second per MW of provisioned facility capacity (power_mw, "
        "the peak, not the average draw): tokens_per_year / 31,536,000 s / power_mw",
        "token/s/MW",
    )
    output_tok_s_per_gw: float = out(
        "the same per GW of provisioned facility capacity", "token/s/GW"
    )
    tokens_per_joule: float = out(
        "output tokens per joule of the facility's average draw (accelerators x average draw "
        "at the utilisation x PUE), not of its capacity",
        "token/J",
    )
    revenue_usd_per_year: float = out("revenue a year, all parts", "USD/year")
    revenue_usd_per_accelerator_hour: float = out(
        "revenue a year over all parts' accelerator-hours a year: the figure to set beside a "
        "rental price",
        "USD/h",
    )
    cost_usd_per_year: Num = out("cost a year, all parts (null: a part not priced)", "USD/year")
    capex_usd: Num = out("up-front cost of all parts (null: a part not priced)", "USD")
    cost_usd_per_mtok: Num = out(
        "cost per million output tokens, all cost over output tokens: the year's cost over "
        "the year's output tokens, prompt processing included",
        "USD/Mtok",
    )
    co2e_g_per_mtok: Num = out("operational emissions per million output tokens", "g CO2e/Mtok")
    embodied_co2e_g_per_mtok: Num = out(
        "manufacturing emissions per million output tokens (null: a part has no footprint)",
        "g CO2e/Mtok",
    )
    margin: Num = out("(revenue - cost) / revenue (null: not priced or no revenue)", "-")
    tiers: list[FactoryMixTier] = out("the price tiers, summed over the parts")
    mix: list[FactoryMixPart] = out("the parts")
    demand: FactoryDemand | None = out("a demand's use of the facility (null: none given)")
    notes: list[str] = out("notes on the assumptions, by part")


class DemandEntry(Request):
    """One archetype of a demand: its users and any usage parameter overridden."""

    archetype: str = Field(
        min_length=1, description="archetype id (data/demand_archetypes.yaml; demand --list)"
    )
    users: Annotated[float, Field(ge=1, le=DEMAND_MAX_USERS, allow_inf_nan=False)] = Field(
        description="users of the archetype [users, 1 to 1e10]"
    )
    sessions_per_user_per_day: Annotated[float, Field(gt=0, le=1e4)] | None = Field(
        None, description="sessions a user starts a day [sessions, above 0 to 1e4]"
    )
    requests_per_session: Annotated[float, Field(ge=1, le=1e5)] | None = Field(
        None, description="requests a session makes [requests, 1 to 1e5]"
    )
    calls_per_request: Annotated[float, Field(ge=1, le=1e4)] | None = Field(
        None, description="model calls per request (agent steps, RAG passes) [calls, 1 to 1e4]"
    )
    input_tokens: Annotated[float, Field(ge=0, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None, description="prompt tokens of a session's first call [tokens, 0 to 1e8]"
    )
    context_growth_tokens: Annotated[float, Field(ge=0, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None, description="prompt tokens added per request of a session [tokens, 0 to 1e8]"
    )
    output_tokens: Annotated[float, Field(ge=1, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None, description="visible output tokens per call [tokens, 1 to 1e8]"
    )
    reasoning_tokens: Annotated[float, Field(ge=0, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None, description="reasoning tokens per call [tokens, 0 to 1e8]"
    )
    peak_to_average: Annotated[float, Field(ge=1, le=1e3)] | None = Field(
        None, description="peak over average request rate [ratio, 1 to 1e3]"
    )


class DemandRequest(Request):
    """``demand``: output tokens a day and peak requests from users, by archetype."""

    file: str | None = Field(None, min_length=1, description="demand YAML with an archetypes list")
    archetype: str | None = Field(
        None, min_length=1, description="one archetype instead of a file (with users)"
    )
    users: Annotated[float, Field(ge=1, le=DEMAND_MAX_USERS, allow_inf_nan=False)] | None = Field(
        None, description="users of the archetype [users, 1 to 1e10]"
    )
    archetypes: list[DemandEntry] | None = Field(
        None,
        description="the demand file's archetypes list given inline: a list of {archetype, "
        "users, parameter overrides} (on the command line: archetype=users,... e.g. "
        "chat=200000,coding-agent=2000)",
    )

    @field_validator("archetypes", mode="before")
    @classmethod
    def _archetype_users(cls, value: Any) -> Any:
        """``"chat=200000,rag=5000"`` (a CLI option) -> a list of {archetype, users}."""
        if not isinstance(value, str):
            return value
        entries: list[dict[str, Any]] = []
        for part in value.split(","):
            if not part.strip():  # "chat=100,,rag=5": an archetype left out
                raise ValueError(
                    "an empty item; give comma-separated archetype=users entries, none empty"
                )
            key, sep, number = part.partition("=")
            try:
                entries.append({"archetype": key.strip(), "users": float(number)})
            except ValueError:
                sep = ""
            if not sep or not key.strip():
                raise ValueError(f"{part!r} is not archetype=users (e.g. chat=200000)")
        # NAME=N carries no overrides, so a name twice is one segment split in two (its
        # notes printed twice); as plan's --accelerator refuses an id listed twice
        names = [e["archetype"] for e in entries]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            total = sum(e["users"] for e in entries if e["archetype"] == twice)
            raise ValueError(
                f"{twice} given more than once; list each archetype once (e.g. {twice}={total:g})"
            )
        return entries

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [n for n in ("file", "archetype", "archetypes") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "file: give one of: a demand file, an archetype with users, or an archetypes "
                f"list (got {', '.join(given) or 'none'})"
            )
        if self.archetype is not None and self.users is None:
            raise ValueError(
                f"users: an archetype needs its number of users; allowed: 1 to {DEMAND_MAX_USERS:g}"
            )
        if self.archetype is None and self.users is not None:
            raise ValueError("users: users go with --archetype (a list gives them per entry)")
        return self

    def entries(self) -> list[dict[str, Any]] | None:
        """The archetype entries of the request (None: they are in the file)."""
        if self.archetypes is not None:
            return [e.model_dump(exclude_none=True) for e in self.archetypes]
        if self.archetype is not None:
            return [{"archetype": self.archetype, "users": self.users}]
        return None


class DemandParameter(Result):
    """One usage parameter of an archetype and where its value comes from."""

    value: float = out("the parameter's value (unit: the parameter's name)", "-")
    basis: str = out("its source, or 'assumed:' and why")


class ArchetypeDemand(Result):
    """The demand of one archetype."""

    archetype: str = out("archetype id (data/demand_archetypes.yaml)")
    users: float = out("users", "users")
    parameters: dict[str, DemandParameter] = out("the usage parameters, by name")
    calls_per_day: float = out("model calls a day", "requests/day")
    input_tokens_per_call: float = out("prompt tokens per call, history included", "tokens")
    output_tokens_per_call: float = out("output tokens per call", "tokens")
    input_tokens_per_day: float = out("prompt tokens a day", "token/day")
    tokens_per_day: float = out("output tokens a day", "token/day")
    peak_requests_per_s: float = out("requests per second at the peak", "requests/s")


class DemandResult(Result):
    """``demand --json``: the demand of each archetype, their sum and the Scenario fields."""

    archetypes: list[ArchetypeDemand] = out("the demand of each archetype")
    calls_per_day: float = out("model calls a day, all archetypes", "requests/day")
    input_tokens_per_day: float = out("prompt tokens a day, all archetypes", "token/day")
    tokens_per_day: float = out("output tokens a day, all archetypes", "token/day")
    peak_requests_per_s: float = out(
        "sum of the archetypes' peaks (peaks assumed to coincide)", "requests/s"
    )
    peak_to_average: float = out("peak over average request rate", "-")
    scenario: dict[str, Any] = out(
        "the Scenario's demand fields (tokens_per_day, lengths, peak_to_average) for "
        "estimate, plan or --demand"
    )


class MarketRequest(Request):
    """``market``: market value = token volume x blended price by segment, to 2030."""

    scenario: str = Field(
        "analyst-consensus", min_length=1, description="market scenario name (see market --list)"
    )
    elasticity: Annotated[float, Field(ge=ELASTICITY_RANGE[0], le=ELASTICITY_RANGE[1])] | None = (
        Field(
            None,
            description="price elasticity of volume, overrides the scenario's "
            "(0: volume ignores price, so spend falls with it; 1: spend stays constant as "
            "prices fall; above 1: falling prices raise spend) [0 to 3]",
        )
    )
    price_decline_per_year: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        None,
        description="yearly price decline of every segment [0 to 1) (default: the fitted "
        "price chains)",
    )
    samples: Annotated[int, Field(ge=0, le=MARKET_MAX_SAMPLES)] = Field(
        2000, description="Monte Carlo samples of the fan, 0: none [samples, 0 to 1e6]"
    )
    seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(
        0, description="random seed of the Monte Carlo [0 to 2^63)"
    )
    energy_model: str = Field(
        "llama-3.1-70b",
        min_length=1,
        description="model id whose tokens per joule convert volume to GW",
    )

    @model_validator(mode="after")
    def _seed_needs_samples(self) -> Self:
        # with samples 0 there is no Monte Carlo to seed: `market --samples 0 --seed 4` printed
        # what it prints without the seed
        if self.samples == 0 and "seed" in self.model_fields_set:
            raise ValueError(
                "seed: seeds the Monte Carlo fan; give samples (1 to 1e6) too, or drop seed"
            )
        return self


class MarketYear(Result):
    """One year of a market projection."""

    year: int = out("calendar year", "year")
    tokens_per_year: float = out("tokens a year, input and output", "token/year")
    output_tokens_per_year: float = out("output tokens a year", "token/year")
    usd_per_mtok: float = out("blended price: spend over volume", "USD/Mtok")
    market_usd: float = out("inference spend that year", "USD/year")
    inference_gw: dict[str, float] | None = Field(
        None,
        description="average power to serve the volume, by accelerator (null: no energy)",
        json_schema_extra={"unit": "GW"},
    )
    market_usd_percentiles: dict[str, float] | None = Field(
        None,
        description="Monte Carlo percentiles of the spend (null: no samples)",
        json_schema_extra={"unit": "USD/year"},
    )


class MarketSegmentYear(Result):
    """One year of one segment."""

    year: int = out("calendar year", "year")
    tokens_per_year: float = out("the segment's tokens a year", "token/year")
    usd_per_mtok: float = out("the segment's price", "USD/Mtok")
    market_usd: float = out("the segment's spend", "USD/year")


class MarketSegment(Result):
    """One market segment (chat, api, agents, reasoning)."""

    name: str = out("segment")
    usd_per_mtok_base: float = out("the segment's price in the base year", "USD/Mtok")
    price_decline_per_year: float = out("yearly price decline", "-")
    price_chain: str = out("the price chain the decline is fitted to")
    volume_growth_per_year: float = out("yearly volume growth", "-")
    years: list[MarketSegmentYear] = out("the segment year by year")


class MarketConsistencyRow(Result):
    """One year of a stated-totals scenario: its stated total beside its own columns."""

    year: int = out("calendar year", "year")
    stated_market_usd: float = out("the total the source states (range midpoint)", "USD/year")
    stated_range_usd: list[float] = out("the range the source states (empty: none)", "USD/year")
    first_column_year: int = out("the first year of the source's volume column", "year")
    columns_market_usd_reading_first_column_base: float = out(
        "the base-year total times the volume and price columns read as multiples of the "
        "first column's year",
        "USD/year",
    )
    base_year: int = out("the scenario's base year", "year")
    columns_market_usd_reading_base_year_base: float = out(
        "the same with the columns read as multiples of the base year", "USD/year"
    )
    volume_multiple_stated_vs_base_year: float = out(
        "the source's volume column over its base-year value", "-"
    )
    volume_multiple_the_totals_need: float = out(
        "the volume multiple the stated totals need at the stated prices", "-"
    )


class MarketConsistency(Result):
    """Whether a stated-totals scenario's columns give its totals (empty for other kinds)."""

    rows: list[MarketConsistencyRow] = Field(
        default_factory=list, description="the checked years (empty: not a stated-totals table)"
    )
    verdict: str = Field("", description="the finding in words (empty: nothing to check)")


class MarketEnergyAccelerator(Result):
    """How one accelerator converts tokens to energy in the market's power figures."""

    model: str = out("model id served")
    precision: str = out("weight format served")
    workload: str = out("workload id (token lengths)")
    accelerators: int = out(
        "accelerators of one replica: 8, or the fewest that hold the model", "-"
    )
    output_tokens_per_joule: float = out(
        "output tokens per joule of facility energy (what tokens_per_joule counts in estimate, "
        "plan and factory)",
        "token/J",
    )
    total_tokens_per_joule: float = out(
        "input plus output tokens per joule of facility energy: output_tokens_per_joule x "
        "(input + output) / output tokens of the workload; the projection's tokens a year are "
        "divided by it for GW",
        "token/J",
    )
    region_pue: float = out("the region's power usage effectiveness", "-")
    utilization: float = out("average share of capacity used", "-")


class MarketEnergy(Result):
    """How the projected volume converts to power."""

    basis: str = Field("", description="the assumption in words (empty: no energy figures)")
    accelerators: dict[str, MarketEnergyAccelerator] = Field(
        default_factory=dict, description="tokens per joule by accelerator id"
    )
    skipped: dict[str, str] = Field(
        default_factory=dict, description="accelerators left out, with why"
    )


class MarketSeedPower(Result):
    """A power figure a seed quotes, for comparison."""

    label: str = out("what the figure is")
    year: int = out("the year it is for", "year")
    gw: float = out("average power", "GW")
    source: str = out("where it comes from")


class MarketHistoric(Result):
    """A provider's published token count."""

    series: str = out("provider and surface")
    date: str = out("date of the count (YYYY-MM-DD)")
    tokens: float = out("tokens in the period", "tokens")
    period: str = out("the period the count covers (day, week, month)")
    tokens_per_year_annualised: float = out("the count scaled to a year", "token/year")
    source: str = out("where it comes from")


class MarketResult(Result):
    """``market --json``: a projection year by year and by segment, with its sources."""

    scenario: str = out("market scenario name")
    kind: str = out("what the scenario states (growth, totals, Jevons)")
    description: str = out("the scenario in words")
    source: str = out("where the scenario's figures come from")
    assumed: list[str] = out("the scenario's assumptions")
    elasticity: float = out("price elasticity of volume used", "-")
    tokens_basis: str = out("what tokens_per_year counts")
    years: list[MarketYear] = out("the projection year by year")
    segments: list[MarketSegment] = out("the projection by segment")
    stated: dict[str, float] = out("the totals the scenario's source states, by year", "USD/year")
    consistency: MarketConsistency = out(
        "a stated-totals scenario: whether its volume and price columns give its totals"
    )
    notes: list[str] = out("what the projection implies")
    energy: MarketEnergy = out("how volume converts to power (basis, tokens per joule)")
    seed_power: list[MarketSeedPower] = out("power figures quoted by the seeds, for comparison")
    historic: list[MarketHistoric] = out("providers' published token counts, annualised")


class RouteStudyInfo(Result):
    """One published router study (data/router_studies.csv)."""

    name: str = out("study name (route --study)")
    benchmark: str = out("the benchmark of the operating point")
    strong_model: str = out("the study's strong model")
    weak_model: str = out("the study's weak model")
    routed_share: float = out("share of queries the router sent to the weak model", "-")
    quality_retained: float = out("quality of the routed mix over the strong model's", "-")
    source: str = out("paper and table the figures come from")


class RouteList(Result):
    """``route --list --json``: the router studies."""

    studies: list[RouteStudyInfo] = out("the studies route --study takes")


class MarketScenarioInfo(Result):
    """One named market scenario."""

    name: str = out("scenario name (market --scenario)")
    kind: str = out("what the scenario states (market-growth, stated-totals, volume-price)")
    description: str = out("the scenario in words, with its sources")


class MarketList(Result):
    """``market --list --json``: the named scenarios."""

    scenarios: list[MarketScenarioInfo] = out("the scenarios market --scenario takes")


class DemandArchetypeInfo(Result):
    """One built-in archetype and its usage parameters."""

    name: str = out("archetype id (demand --archetype)")
    description: str = out("the kind of use")
    parameters: dict[str, DemandParameter] = out("the usage parameters, by name")


class DemandList(Result):
    """``demand --list --json``: the built-in archetypes."""

    archetypes: list[DemandArchetypeInfo] = out("the archetypes, with each parameter's basis")

    @classmethod
    def from_archetypes(cls, data: Any) -> Self:
        """From :func:`tokenfab.demand.archetypes`."""
        from tokenfab.demand import PARAMETERS

        rows = []
        for name, a in data.items():
            params = {}
            for p in PARAMETERS:
                e = a[p]
                basis = f"source: {e['source']}" if "source" in e else f"assumed: {e['assumed']}"
                params[p] = {"value": e["value"], "basis": basis}
            rows.append(
                {"name": name, "description": a.get("description", ""), "parameters": params}
            )
        return cls.model_validate({"archetypes": rows})


DISTRIBUTIONS_HELP = (
    "uncertain inputs, as a scenario file's distributions: block: input: {dist: uniform, low: "
    "0.5, high: 0.9} (YAML or JSON text on the command line; docs/uncertainty.md) (default: "
    "the scenario file's block, else the ranges the catalogs publish and the performance "
    "model's held-out error band)"
)


def check_reoptimise(sc: Any) -> None:
    """Refuse ``reoptimise`` where the scenario fixes the batch: there is nothing to choose
    again. Raises ValueError (a request validator's) naming the field that fixes it."""
    fixed = batch_fixed_by(sc)
    if fixed is not None:
        field, why = fixed
        raise ValueError(
            f"reoptimise: chooses the batch again for each sample, but {why}; drop reoptimise "
            f"or {field}"
        )


class _UncertaintyRequest(EstimateRequest):
    """A Scenario (every field of ``estimate``) and how its inputs vary."""

    distributions: dict[str, Any] | None = Field(None, description=DISTRIBUTIONS_HELP)
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = Field(
        0, description="random seed: the same seed gives the same figures [0 to 2^63-1]"
    )
    reoptimise: bool = Field(
        False,
        description="choose the batch again for every sample, under the scenario's targets "
        "(default: the base case's operating point, memory and targets re-checked per sample)",
    )

    @field_validator("distributions", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        """YAML or JSON text (a command-line option) as the mapping it spells."""
        if isinstance(value, str):
            from tokenfab.fileio import load_yaml

            value = load_yaml(value, "--distributions")
            if not isinstance(value, dict):
                raise ValueError("give a mapping of input: distribution")
        if value == {}:  # ran on the default ranges, as if none were given, without a word
            raise ValueError(
                "an empty mapping names no input; give input: distribution pairs, or leave "
                "distributions out for the defaults"
            )
        return value

    @model_validator(mode="after")
    def _something_to_reoptimise(self) -> Self:
        # with the batch fixed the pipeline keeps it (pipeline._Base.batch_fixed), so
        # `montecarlo --batch 32 --reoptimise` printed the figures of the run without it
        if self.reoptimise:
            check_reoptimise(self)
        return self

    def scenario(self) -> Scenario:
        """The Scenario the request describes (without its distributions and options)."""
        fields = self.model_dump(exclude_unset=True, include=set(Scenario.model_fields))
        return Scenario.parse(fields)


class MonteCarloRequest(_UncertaintyRequest):
    """``montecarlo``: the spread of every KPI when the inputs are uncertain."""

    samples: Annotated[int, Field(ge=1, le=UNCERTAINTY_MAX_SAMPLES)] = Field(
        10_000, description="Monte Carlo samples [samples, 1 to 1e6]"
    )


class SensitivityRequest(_UncertaintyRequest):
    """``sensitivity``: which uncertain inputs move a KPI, one at a time or by variance."""

    method: Literal["tornado", "sobol"] = Field(
        "tornado",
        description="tornado: each input swung to its low and high alone; sobol: first-order "
        "and total variance shares (SALib)",
    )
    kpi: str = Field(
        "cost_usd_per_mtok_blended",
        min_length=1,
        description="the KPI, a numeric key of estimate --json, or feasible (1 when a sample "
        "runs and meets the targets, else 0: which inputs make the deployment fail)",
    )
    samples: Annotated[int, Field(ge=2, le=UNCERTAINTY_MAX_SOBOL_BASE)] = Field(
        1024,
        description="sobol: base samples N, a power of two; the model runs N x (inputs + 2) "
        "times [samples, 2 to 65536]",
    )

    @model_validator(mode="after")
    def _sobol_options(self) -> Self:
        # a tornado swings each input to its two ends: it draws no samples, so a sample count
        # or a seed given with it changed nothing and was dropped in silence
        # (sensitivity --method tornado --samples 10 printed the default tornado)
        if self.method == "tornado":
            for name in ("samples", "seed"):
                if name in self.model_fields_set:
                    raise ValueError(
                        f"{name}: only method sobol draws samples (a tornado swings each input "
                        f"to its low and high); give method: sobol too, or drop {name}"
                    )
        return self


class KpiSpread(Result):
    """The spread of one KPI over the feasible samples (null when none is feasible)."""

    mean: Num = out("mean", "the KPI's unit")
    p5: Num = out("5th percentile", "the KPI's unit")
    p50: Num = out("median", "the KPI's unit")
    p95: Num = out("95th percentile", "the KPI's unit")


class MonteCarloResult(Result):
    """``montecarlo --json``: the samples, the feasible share and every KPI's spread."""

    samples: int = out("samples drawn", "samples")
    feasible_share: float = out(
        "share of the samples that still run and meet the targets; the KPI figures describe "
        "these samples",
        "-",
    )
    kpis: dict[str, KpiSpread] = out("each numeric key of estimate --json: mean, P5, P50, P95")


class TornadoInput(Result):
    """One input swung alone from its low to its high value."""

    input: str = out("the input (a scenario field or table.id.column)")
    distribution: str = out("its distribution")
    low: float = out(
        "value it is swung down to (bounds; P5 of a normal or (split) lognormal)", "input"
    )
    high: float = out(
        "value it is swung up to (bounds; P95 of a normal or (split) lognormal)", "input"
    )
    kpi_at_low: Num = out("the KPI with the input at low (null: infeasible)", "KPI")
    kpi_at_high: Num = out("the KPI with the input at high (null: infeasible)", "KPI")
    swing: Num = out("|KPI at high - KPI at low| (null: an end is infeasible)", "KPI")


class SobolInput(Result):
    """First-order and total Sobol indices of one input."""

    input: str = out("the input (a scenario field or table.id.column)")
    distribution: str = out("its distribution")
    s1: float = out("first-order index: share of the KPI's variance the input explains alone", "-")
    s1_conf: float = out("half-width of the bootstrap confidence interval of s1", "-")
    st: float = out("total index: share with all its interactions", "-")
    st_conf: float = out("half-width of the bootstrap confidence interval of st", "-")
    matters: bool = out("total index at least 0.05")


class SensitivityResult(Result):
    """``sensitivity --json``: the inputs that move a KPI, largest effect first."""

    method: str = out("tornado or sobol")
    kpi: str = out("the KPI analysed")
    base: Num = out("the KPI at the scenario's values (null: infeasible)", "KPI")
    tornado: list[TornadoInput] | None = out("tornado: one row per input (null for sobol)")
    sobol: list[SobolInput] | None = out("sobol: one row per input (null for tornado)")
    base_samples: int | None = out("sobol: base samples N", "samples")
    evaluations: int | None = out("sobol: model runs, N x (inputs + 2)", "samples")
    conf_level: float | None = out("sobol: confidence level of the intervals", "-")
    mean: Num = out("sobol: mean of the KPI over the samples", "KPI")
    feasible_share: float = out("share of the evaluated points that run and meet the targets", "-")
    not_mattering: list[str] = out(
        "sobol: inputs whose total index is below 0.05 (they can be fixed at any value in "
        "their range); tornado: inputs that do not move the KPI at all"
    )
    reasons: dict[str, int] = out("why points were infeasible, with their counts", "points")


# ------------------------------------------------------------------------------------------
# Requests of usage, export-prices, calibrate and the catalog importers
# ------------------------------------------------------------------------------------------

LOG_FORMATS = ("generic", "openai", "litellm", "langfuse", "openrouter")
"""Request-log formats (tokenfab.usage.adapters.ADAPTERS; a test keeps the two equal)."""
EXPORT_FORMATS = ("litellm", "langfuse", "openlit")
"""Price-map formats (tokenfab.usage.export.FORMATS)."""
MEASUREMENT_FORMATS = ("vllm", "sglang", "genai-perf", "aic", "measured", "generic")
"""Measurement formats (tokenfab.calibrate.importers.READERS)."""
PRICE_LIST_FORMATS = ("openrouter", "litellm")
"""Price lists ``catalog import-prices`` reads."""
MAX_THREADS = 1024
"""DuckDB worker threads: more than any single machine's cores."""
MAX_PARALLEL = 4096
"""A parallel degree (TP, PP, EP ...): the largest published deployments use 1,000s of GPUs."""

_MEMORY_LIMIT = r"^\d+(\.\d+)?\s*[KMGTkmgt][iI]?[Bb]$"


class _Logs(Request):
    """Fields shared by the commands that read request logs."""

    logs: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="log files (Parquet, CSV, JSON Lines) or globs"
    )
    format: Literal[LOG_FORMATS] | None = Field(  # type: ignore[valid-type]
        None, description="log format (default: detected from the columns)"
    )
    backend: str | None = Field(
        None, min_length=1, description="Ibis connection URL (default: in-process DuckDB)"
    )
    memory_limit: str | None = Field(
        None,
        pattern=_MEMORY_LIMIT,
        description="DuckDB memory limit, a number and a unit (KB, MB, GB, TB, KiB ... TiB), "
        "e.g. 4GB; larger data spills to disk",
    )
    threads: Annotated[int, Field(ge=1, le=MAX_THREADS)] | None = Field(
        None, description="DuckDB worker threads [threads, 1 to 1024] (default: every core)"
    )

    @field_validator("logs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class UsageReportRequest(_Logs):
    """``usage report``: tokens, spend, lengths, latency and cost drivers of request logs."""


class UsageWhatifRequest(_Logs):
    """``usage whatif``: the same traffic repriced on other API models or self-hosted."""

    api: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, description="catalog API price ids or model names to reprice on, comma-separated"
    )
    self_host: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        description="self-hosted deployments MODEL:ACCELERATOR[:REGION[:OWNERSHIP]] from the "
        "catalogs, comma-separated",
    )
    route: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        description="router policies SMALL:ROUTED_SHARE:SMALL_SUCCESS: send that share of the "
        "requests to the API model SMALL first, which is right that share of the time; its "
        "failures go on to the log's models, comma-separated",
    )
    samples: Annotated[int, Field(ge=0, le=100_000)] = Field(
        1000,
        description="Monte Carlo samples for each self-hosted option's monthly cost and saving "
        "(0: none) [samples, 0 to 100,000]",
    )

    @model_validator(mode="after")
    def _samples_need_self_host(self) -> Self:
        # only a self-hosted option has a spread to sample; with --api or --route alone a
        # sample count changed nothing and was dropped in silence
        if "samples" in self.model_fields_set and not self.self_host:
            raise ValueError(
                "samples: samples the self-hosted options' cost; give self_host too, or drop "
                "samples"
            )
        return self


class UsageSynthRequest(Request):
    """``usage synth``: a realistic synthetic request log (docs/usage.md cites each parameter)."""

    rows: Annotated[int, Field(ge=1, le=USAGE_MAX_ROWS)] = Field(
        description="requests to generate [requests, 1 to 1e10]"
    )
    days: Annotated[float, Field(ge=1, le=USAGE_MAX_DAYS, allow_inf_nan=False)] = Field(
        30.0, description="days the log covers [days, 1 to 36600]"
    )
    seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(0, description="random seed")


class UsageParamsRequest(Request):
    """``usage params``: the synthetic generator's parameters and their sources."""


class ExportPricesRequest(Request):
    """``export-prices``: self-hosted $/Mtok as a LiteLLM, Langfuse or OpenLIT price map."""

    format: Literal[EXPORT_FORMATS] = Field(  # type: ignore[valid-type]
        description="price-map format"
    )
    deployment: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        min_length=1,  # [] names no deployment: not the default, every catalog model
        description="MODEL:ACCELERATOR[:REGION[:OWNERSHIP]], comma-separated (default: every "
        "catalog model on its cheapest deployment)",
    )
    region: str = Field("us", min_length=1, description="region of the default deployments")
    tokens_per_day: Annotated[float, Field(ge=1, le=MAX_TOKENS_PER_DAY, allow_inf_nan=False)] = (
        Field(1e9, description="reference demand: output tokens a day [token/day, 1 to 1e16]")
    )


class CalibrateRequest(Request):
    """``calibrate``: fit the efficiency factors to measured runs; held-out error before and after."""

    files: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="measurement files (JSON, JSON lines, CSV)"
    )
    format: Literal[MEASUREMENT_FORMATS] | None = Field(  # type: ignore[valid-type]
        None, description="measurement format (default: detected per file)"
    )
    model: str | None = Field(
        None, min_length=1, description="model, where a file does not name it"
    )
    accelerator: str | None = Field(
        None, min_length=1, description="accelerator id, where a file does not name it"
    )
    accelerators: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = Field(
        None, description="accelerators in each run (default: the layout's) [1 to 4096]"
    )
    engine: str | None = Field(
        None,
        min_length=1,
        description="serving engine: trtllm, sglang, vllm, or other (one tokenfab does not "
        "model, fitted as vLLM's class) (where not named)",
    )

    @field_validator("engine", mode="after")
    @classmethod
    def _known_engine(cls, value: str | None) -> str | None:
        """``--engine foo`` ran as engine class other without a word: refused naming the list."""
        if value is not None:
            from tokenfab.calibrate.records import engine_class

            try:
                engine_class(value)
            except ValueError as exc:  # the field's name is put before it once
                raise ValueError(str(exc).removeprefix("engine: ")) from None
        return value

    engine_version: str | None = Field(
        None,
        min_length=1,
        description="engine version, e.g. 0.11.0 or v1.0 (its major.minor is the era; leave "
        "it out where unknown)",
    )

    @field_validator("engine_version", mode="after")
    @classmethod
    def _has_era(cls, value: str | None) -> str | None:
        """``--engine-version abc`` fitted its runs as era "unknown" without a word: a version
        the user types must carry its major.minor. A file's version keeps the era "unknown"
        (:func:`tokenfab.calibrate.records.era_of`): files carry odd strings such as
        ``gpt-oss-dev``."""
        if value is not None:
            from tokenfab.calibrate.records import era_of

            if era_of(value) == "unknown":
                raise ValueError(
                    f"{value!r} has no major.minor; allowed: a version such as 0.11.0, 1.0 or "
                    "v1.2.0rc6 (leave it out where the version is unknown)"
                )
        return value

    precision: str | None = Field(None, min_length=1, description="weight format (where not named)")
    kv_precision: str | None = Field(None, min_length=1, description="KV-cache format")
    tp: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = Field(
        None, description="tensor parallel, where not named [1 to 4096]"
    )
    pp: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = Field(
        None, description="pipeline parallel [1 to 4096]"
    )
    attention_dp: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = Field(
        None, description="attention data-parallel ranks [1 to 4096]"
    )
    moe_tp: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = Field(
        None, description="MoE tensor parallel [1 to 4096]"
    )
    moe_ep: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = Field(
        None, description="MoE expert parallel [1 to 4096]"
    )
    folds: Annotated[int, Field(ge=2, le=20)] = Field(
        5, description="cross-validation folds by configuration [2 to 20]"
    )

    def defaults(self) -> dict[str, Any]:
        """The values a file's records take where they do not name their own."""
        keep = set(type(self).model_fields) - {"files", "format", "folds"}
        return {k: v for k, v in self.model_dump().items() if k in keep and v is not None}


class ImportModelRequest(Request):
    """``catalog import-model``: a model row from its Hugging Face config.json."""

    config: str = Field(min_length=1, description="a Hugging Face config.json")
    id: str | None = Field(None, min_length=1, description="catalog id for the model")
    name: str | None = Field(None, min_length=1, description="display name")
    developer: str | None = Field(None, min_length=1, description="developer of the model")
    total_params_b: Annotated[float, Field(ge=1e-3, le=1e5, allow_inf_nan=False)] | None = Field(
        None, description="published total parameters [billions, 0.001 to 1e5]"
    )
    active_params_b: Annotated[float, Field(ge=1e-3, le=1e5, allow_inf_nan=False)] | None = Field(
        None, description="published active parameters [billions, 0.001 to 1e5]"
    )
    params_source: str | None = Field(
        None, min_length=1, description="where the published counts come from"
    )
    released: date | None = Field(None, description="date the weights were published (YYYY-MM-DD)")
    active_basis: Literal["with_embeddings", "without_input_embedding", "without_embeddings"] = (
        Field("with_embeddings", description="what the published active count includes")
    )
    source: str | None = Field(
        None, min_length=1, description="URL of the config.json (default: the file's path)"
    )
    as_of: date | None = Field(
        None, description="date of the config, YYYY-MM-DD (default: today, as read)"
    )
    replace: bool = Field(
        False,
        description="replace the model of the same id already in the catalog (built-in or "
        "imported before); without it such an id is refused",
    )


class ImportPricesRequest(Request):
    """``catalog import-prices``: API price rows from an OpenRouter or LiteLLM price list."""

    file: str = Field(min_length=1, description="a saved price list (JSON)")
    format: Literal[PRICE_LIST_FORMATS] = Field(  # type: ignore[valid-type]
        description="the list's format"
    )
    as_of: date = Field(description="date of the price list (YYYY-MM-DD)")
    source: str | None = Field(
        None, min_length=1, description="URL the list was saved from (default: the file's path)"
    )


REQUESTS.update(
    {
        "route": RouteRequest,
        "viability": ViabilityRequest,
        "factory": FactoryRequest,
        "demand": DemandRequest,
        "market": MarketRequest,
        "usage synth": UsageSynthRequest,
        "usage params": UsageParamsRequest,
        "usage report": UsageReportRequest,
        "usage whatif": UsageWhatifRequest,
        "export-prices": ExportPricesRequest,
        "calibrate": CalibrateRequest,
        "catalog import-model": ImportModelRequest,
        "catalog import-prices": ImportPricesRequest,
        "montecarlo": MonteCarloRequest,
        "sensitivity": SensitivityRequest,
    }
)


NESTED_REQUESTS: dict[str, type[BaseModel]] = {
    "demand archetypes": DemandEntry,
    "factory mix": FactoryMixEntry,
}
"""Objects inside a request (a list field's items), documented beside the commands."""


RESULTS: dict[str, type[BaseModel]] = {
    "estimate": EstimateResult,
    "plan": PlanResult,
    "plan options": PlanOption,
    "frontier": FrontierResult,
    "frontier points": FrontierPoint,
    "breakeven": BreakevenResult,
    "breakeven rows": BreakevenRow,
    "route": RouteResult,
    "route grid": RouteGrid,
    "route --list": RouteList,
    "route --list studies": RouteStudyInfo,
    "viability": ViabilityResult,
    "viability products": ViabilityRow,
    "factory": FactoryResult,
    "factory tiers": FactoryTier,
    "factory demand": FactoryDemand,
    "factory --mix": FactoryMixResult,
    "factory --mix tiers": FactoryMixTier,
    "factory --mix parts": FactoryMixPart,
    "demand": DemandResult,
    "demand archetypes": ArchetypeDemand,
    "demand parameters": DemandParameter,
    "market": MarketResult,
    "market years": MarketYear,
    "market segments": MarketSegment,
    "market segment years": MarketSegmentYear,
    "market consistency": MarketConsistency,
    "market consistency rows": MarketConsistencyRow,
    "market energy": MarketEnergy,
    "market energy accelerators": MarketEnergyAccelerator,
    "market seed power": MarketSeedPower,
    "market historic": MarketHistoric,
    "market --list": MarketList,
    "market --list scenarios": MarketScenarioInfo,
    "demand --list": DemandList,
    "demand --list archetypes": DemandArchetypeInfo,
    "montecarlo": MonteCarloResult,
    "montecarlo kpis": KpiSpread,
    "sensitivity": SensitivityResult,
    "sensitivity tornado": TornadoInput,
    "sensitivity sobol": SobolInput,
}


# ------------------------------------------------------------------------------------------
# Forward analyses: project, roadmap, narrative, scenario new (projection.py, roadmap.py,
# narrative.py)
# ------------------------------------------------------------------------------------------

ScenarioFile = Annotated[str, Field(min_length=1, max_length=4096)] | dict[str, Any]
"""A scenario file's path, or (the HTTP API) its content as an object: the Scenario's fields
and its ``projection:`` block."""
YearRate = Annotated[float, Field(gt=-1, le=100, allow_inf_nan=False)]
PriceFall = Annotated[float, Field(gt=-1, lt=1, allow_inf_nan=False)]


class ProjectRequest(Request):
    """``project``: year-by-year cost of buy, rent and API for a scenario file."""

    scenario: ScenarioFile = Field(
        description="scenario YAML file with a demand; its projection: block holds the "
        "assumptions (options override them); over HTTP the file's content as an object"
    )
    years: Annotated[int, Field(ge=1, le=30)] | None = Field(
        None, description="years to project, year 0 included (default 5) [1 to 30]"
    )
    start_year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(
        None, description="calendar year of year 0 (default: this year) [2000 to 2100]"
    )
    demand_growth_per_year: YearRate | None = Field(
        None, description="demand growth a year [1/year, above -1] (default: sourced, see output)"
    )
    api_price_decline_per_year: PriceFall | None = Field(
        None,
        description="API price fall a year [1/year, below 1] (default: the catalog's price chain)",
    )
    rental_price_decline_per_year: PriceFall | None = Field(
        None,
        description="rental price fall a year [1/year, below 1] (default: the rentals "
        "catalog's price history)",
    )
    electricity_change_per_year: YearRate | None = Field(
        None, description="electricity price change a year [1/year, above -1] (default: EIA)"
    )
    successor: Annotated[str, Field(min_length=1)] | None = Field(
        None,
        description="accelerator bought once it ships, or none (default: the vendor's next "
        "family in the catalog)",
    )
    generation_path: Literal["model", "vendor-claims"] | None = Field(
        None,
        description="model: the successor as modelled; vendor-claims: its cost per token from "
        "the vendor's claim (default: model)",
    )

    samples: Annotated[int, Field(ge=0, le=10_000)] = Field(
        0,
        description="samples of the yearly rates for a fan of cumulative cash, 0: none "
        "[samples, 0 to 10,000]",
    )
    seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(
        0, description="random seed of the fan [0 to 2^63)"
    )
    reoptimise: bool = Field(
        False,
        description="fan: choose year 0's batch again for every sample, under the scenario's "
        "targets, as montecarlo --reoptimise (default: the base case's operating point, memory "
        "and targets re-checked per sample)",
    )

    @model_validator(mode="after")
    def _fan_options_need_samples(self) -> Self:
        # the seed and the re-optimised batch belong to the fan: without samples there is no
        # fan, and `project FILE --seed 4` or `--reoptimise` printed what it prints without them
        if self.samples == 0:
            for name in ("seed", "reoptimise"):
                if name in self.model_fields_set:
                    raise ValueError(
                        f"{name}: applies to the fan of samples; give samples (1 to 10,000) "
                        f"too, or drop {name}"
                    )
        return self

    def overrides(self) -> dict[str, Any]:
        """The projection assumptions given as options (they win over the file's block)."""
        return {
            k: v
            for k, v in self.model_dump().items()
            if k not in ("scenario", "samples", "seed", "reoptimise") and v is not None
        }


class ProjectYear(Result):
    """One year of a projection: the demand, and each option's cost and cash."""

    year: int = out("years from the start (0: the scenario as estimated)", "years")
    calendar_year: int = out("calendar year", "year")
    output_mtok: float = out("million output tokens served in the year", "Mtok")
    buy_accelerators: dict[str, int] = out(
        "bought accelerators installed, by accelerator id: those still in service, topped up to "
        "plan's fleet for the year's demand",
        "accelerators",
    )
    buy_capex_usd: Num = out(
        "accelerators bought in the year: price, server share and network", "USD"
    )
    buy_cash_usd: Num = out(
        "cash out for buying in the year: capex when bought plus operating cost (undiscounted)",
        "USD",
    )
    buy_cost_usd: Num = out(
        "economic cost of buying in the year, as estimate counts it: operating cost plus the "
        "capital charge (not the cash)",
        "USD",
    )
    buy_capital_charge_usd: Num = out(
        "capital charge of the installed fleet: each accelerator's upfront price x the capital "
        "recovery factor r/(1-(1+r)^-n) at the cost of capital r over the useful life n "
        "(estimate's annuity)",
        "USD",
    )
    buy_usd_per_mtok: Num = out(
        "buy cost (buy_cost_usd, not the cash) per million output tokens, prompt processing "
        "included: year 0 is estimate's monthly cost x 12 over the year's output",
        "USD/Mtok",
    )
    buy_energy_kwh: Num = out("facility energy of the bought fleet in the year", "kWh")
    buy_co2e_t: Num = out("emissions of that energy at the region's grid intensity", "t CO2e")
    buy_tokens_per_joule: Num = out("output tokens per joule of facility energy", "token/J")
    buy_utilization: Num = out("average demand over installed capacity", "-")
    buy_cumulative_cash_usd: Num = out("cash out for buying since the start", "USD")
    rent_cash_usd: Num = out("rental paid in the year", "USD")
    rent_cost_usd: Num = out("cost of renting in the year (the rental paid)", "USD")
    rent_usd_per_mtok: Num = out(
        "rent cost per million output tokens, prompt processing included (the rental paid: "
        "cost and cash are one)",
        "USD/Mtok",
    )
    rent_accelerators: Num = out(
        "accelerators rented: plan's fleet for the year's demand", "accelerators"
    )
    rent_cumulative_cash_usd: Num = out("rental paid since the start", "USD")
    api_cash_usd: Num = out("API bill of the year", "USD")
    api_cost_usd: Num = out("cost of the API in the year (the bill)", "USD")
    api_usd_per_mtok: Num = out(
        "API price per million output tokens with their prompt tokens", "USD/Mtok"
    )
    api_cumulative_cash_usd: Num = out("API bills since the start", "USD")


class ProjectAssumption(Result):
    """One named assumption of a projection, with its source."""

    name: str = out("assumption")
    value: float | list[float] | str | None = out("its value: one number, one a year, or an id")
    unit: str = out("unit of the value")
    source: str = out("where the value comes from ('given in the scenario' when set)")


class ProjectGeneration(Result):
    """One accelerator generation of a projection, as the model estimates it."""

    accelerator: str = out("accelerator id")
    release_year: int | None = out("year the accelerator shipped", "year")
    output_tok_s_per_accelerator: float = out(
        "output tokens per second one accelerator carries at year 0's sized operating point "
        "(each later year is sized again for its demand)",
        "token/s",
    )
    usd_per_mtok: Num = out(
        "the estimate's cost per million output tokens, prompt processing included (cost per "
        "request / output tokens), bought or rented as the scenario says",
        "USD/Mtok",
    )
    tokens_per_joule: Num = out("the estimate's output tokens per joule", "token/J")
    upfront_usd_per_accelerator: Num = out(
        "bought up front per accelerator: itself, its server share and network", "USD"
    )
    rent_usd_per_accelerator_hour: Num = out("cheapest rental of the term", "USD/h")


class ProjectCrossing(Result):
    """When two options' cumulative cash changes order."""

    options: str = out("the two options, e.g. buy-api")
    cheaper_first: str = out("the option with less cumulative cash after year 0")
    after_years: list[float] = out(
        "each time the order changes, years from the start (interpolated)", "years"
    )
    cheaper_at_end: str = out("the option with less cumulative cash at the end")
    text: str = out("the crossings in a sentence")


class ProjectFanInput(Result):
    """One sampled yearly rate of a fan."""

    name: str = out("the rate")
    distribution: str = out("its distribution, e.g. low-base-high(low 0, base 0.67, high 0.67)")
    source: str = out("where the spread comes from")


class ProjectFanBand(Result):
    """Percentiles of one option's cumulative cash, one value a year (null: not priced)."""

    p5: list[float] | None = out("5th percentile at the end of each year", "USD")
    p50: list[float] | None = out("median at the end of each year", "USD")
    p95: list[float] | None = out("95th percentile at the end of each year", "USD")


class ProjectFan(Result):
    """The spread of cumulative cash over samples of the yearly rates and the scenario's inputs."""

    samples: int = out("samples drawn", "samples")
    seed: int = out("random seed", "-")
    reoptimise: bool = out(
        "whether year 0's batch was chosen again for every sample under the targets"
    )
    inputs: list[ProjectFanInput] = out("the rates sampled")
    fixed: list[str] = out("the rates held at their assumption (no sourced spread)")
    scenario_inputs: list[ProjectFanInput] = out(
        "the scenario's inputs sampled as montecarlo samples them (its distributions: block, "
        "else the sourced defaults): year 0's throughput, power, prices and demand follow them"
    )
    feasible_share: float = out(
        "share of samples whose year 0 is feasible (the others are left out of the percentiles)",
        "-",
    )
    infeasible: dict[str, int] = out("samples infeasible at year 0, by reason")
    cumulative_cash_usd: dict[str, ProjectFanBand] = out("percentiles by option")
    cheapest_at_end_share: dict[str, float] = out(
        "share of samples in which each option has the least cumulative cash at the end", "-"
    )


class ProjectResult(Result):
    """``project --json``: years, assumptions, generations and crossings."""

    model: str = out("model id")
    accelerator: str = out("accelerator id of year 0")
    region: str = out("region id")
    years: list[ProjectYear] = out("one object a year")
    assumptions: list[ProjectAssumption] = out("every assumption with its source")
    generations: list[ProjectGeneration] = out("the scenario's accelerator and its successor")
    crossings: list[ProjectCrossing] = out("buy-rent, buy-api, rent-api where both are priced")
    notes: list[str] = out("what the projection left out or chose")
    fan: ProjectFan | None = out("with samples: the spread of cumulative cash (null: none)")


class RoadmapRequest(Request):
    """``roadmap``: cost-saving levers of a scenario file, each re-estimated, and a staged plan."""

    scenario: ScenarioFile = Field(
        description="scenario YAML file; over HTTP the file's content as an object"
    )
    small_model: Annotated[str, Field(min_length=1)] | None = Field(
        None,
        description="model id a router sends easy requests to (default: the family's smaller "
        "catalog model)",
    )
    routed_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.7, description="share of requests sent to the small model first [0 to 1]"
    )
    success_small: Annotated[float, Field(ge=0, le=1)] = Field(
        0.85, description="share of routed requests the small model gets right [0 to 1]"
    )


class RoadmapPoint(Result):
    """Cost, energy, carbon and latency of one deployment (the base or a stage)."""

    usd_per_mtok: Num = out(
        "cost per million output tokens, every cost line over output tokens (prompt "
        "processing included: cost per request / output tokens)",
        "USD/Mtok",
    )
    joules_per_token: Num = out("facility energy per output token", "J/token")
    ttft_s: float = out("time to first token", "s")
    tpot_s: float = out("time per output token", "s")
    co2e_g_per_mtok: Num = out("operational emissions per million output tokens", "g CO2e/Mtok")


class RoadmapLever(Result):
    """One lever: its change, its estimate, its saving against the base and its costs."""

    lever: str = out("lever name")
    change: str = out("what the lever changes in the scenario")
    applicable: bool = out("whether the lever was estimated (else: note says why not)")
    usd_per_mtok: Num = out(
        "cost per million output tokens with the lever, all cost over output tokens (as the "
        "base's usd_per_mtok)",
        "USD/Mtok",
    )
    saving_usd_per_mtok: Num = out("base cost minus the lever's (negative: dearer)", "USD/Mtok")
    saving_share: Num = out("saving over the base cost", "-")
    joules_per_token: Num = out("facility energy per output token with the lever", "J/token")
    saving_joules_per_token: Num = out("base energy minus the lever's", "J/token")
    ttft_s: Num = out("time to first token with the lever", "s")
    tpot_s: Num = out("time per output token with the lever", "s")
    ttft_change_s: Num = out("latency cost: TTFT with the lever minus the base's", "s")
    tpot_change_s: Num = out("latency cost: TPOT with the lever minus the base's", "s")
    quality: str = out("effect on output quality, with its source, or 'not modelled'")
    note: str = out("source of the lever's figures, or why it was not estimated")


class RoadmapStage(RoadmapPoint):
    """One stage of the plan: the levers so far, re-estimated together."""

    stage: int = out("stage number, from 1", "-")
    levers: list[str] = out("levers applied up to this stage")
    saving_usd_per_mtok: Num = out("base cost minus this stage's", "USD/Mtok")
    saving_share: Num = out("saving over the base cost", "-")


class RoadmapResult(Result):
    """``roadmap --json``: the base, every lever ranked by saving, and the staged plan."""

    model: str = out("model id")
    accelerator: str = out("accelerator id")
    region: str = out("region id")
    ownership: str = out("buy or rent")
    base: RoadmapPoint = out("the scenario as estimated")
    levers: list[RoadmapLever] = out("estimated levers by saving, largest first; then the rest")
    plan: list[RoadmapStage] = out("stages: each adds the next lever that still saves")


class NarrativeRequest(Request):
    """``narrative``: a deployment narrative written from the numbers of a scenario file."""

    scenario: ScenarioFile = Field(
        description="scenario YAML file (with a demand for the risks); over HTTP the file's "
        "content as an object"
    )


class NarrativeSection(Result):
    """One section of a narrative."""

    title: str = out("section title")
    text: str = out("the section's prose")


class NarrativeResult(Result):
    """``narrative --json``: the text, its sections and every figure they quote."""

    text: str = out("the whole narrative, sections separated by blank lines")
    sections: list[NarrativeSection] = out("where to deploy, cost and carbon, risks, roadmap")
    figures: dict[str, Any] = out("the figures the text quotes, by name, in base units")


class ScenarioNewRequest(Request):
    """``scenario new``: a commented scenario template to edit."""

    model: Annotated[str, Field(min_length=1)] = Field(
        "llama-3.1-70b", description="model id from the models catalog"
    )
    accelerator: Annotated[str, Field(min_length=1)] = Field(
        "h100-sxm", description="accelerator id from the accelerators catalog"
    )
    workload: Annotated[str, Field(min_length=1)] = Field(
        "chat", description="workload id from the workloads catalog"
    )
    region: Annotated[str, Field(min_length=1)] = Field(
        "us", description="region id from the regions catalog"
    )


REQUESTS.update(
    {
        "project": ProjectRequest,
        "roadmap": RoadmapRequest,
        "narrative": NarrativeRequest,
        "scenario new": ScenarioNewRequest,
    }
)
RESULTS.update(
    {
        "project": ProjectResult,
        "project years": ProjectYear,
        "project assumptions": ProjectAssumption,
        "project generations": ProjectGeneration,
        "project crossings": ProjectCrossing,
        "project fan": ProjectFan,
        "project fan bands": ProjectFanBand,
        "project fan inputs": ProjectFanInput,
        "roadmap": RoadmapResult,
        "roadmap levers": RoadmapLever,
        "roadmap plan": RoadmapStage,
        "narrative": NarrativeResult,
    }
)


# ------------------------------------------------------------------------------------------
# Documentation
# ------------------------------------------------------------------------------------------


def _type_name(field: FieldInfo) -> str:
    allowed = allowed_values(field)
    if allowed:
        return " \\| ".join(allowed)
    t = value_type(field)
    if get_origin(t) is list:
        inner = _strip_optional(get_args(t)[0])
        return f"list of {getattr(inner, '__name__', str(inner))}"
    if get_origin(t) is Union:  # a file's path (text) or, over HTTP, its content (object)
        bare = [_strip_optional(a) for a in get_args(t)]
        return " | ".join("object" if get_origin(a) is dict else a.__name__ for a in bare)
    return getattr(t, "__name__", str(t)).replace("NoneType", "null")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """docs/outputs.md: every request field and every result key, with unit and meaning."""
    lines = [
        "# Inputs and outputs",
        "",
        "Generated from `tokenfab.schema` by `python -m tokenfab.schema > docs/outputs.md`;",
        "`tests/test_schema.py` fails when this file is out of date. The CLI option of a",
        "field is its name in kebab case (`tokens_per_day` -> `--tokens-per-day`); the HTTP API",
        "takes the same names in snake case as a JSON body and returns the result objects below.",
        "",
        "## Outputs",
        "",
        "`null` marks a figure the catalog cannot give (no purchase price, no rental offer, no",
        "API price) or an option that does not apply; an object in which a number came out",
        "infinite or undefined shows it as `null` and gains `null_reasons` (`{key: why}`).",
        "Every `--json` output is one object (never a bare list), so a key can be added without",
        "breaking a reader: `plan --json` lists its options under `options`, `frontier --json`",
        "its points under `points`.",
    ]
    for command, model in RESULTS.items():
        lines += ["", f"### {command}", "", (model.__doc__ or "").strip().splitlines()[0], ""]
        lines += ["| key | type | unit | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            lines.append(
                f"| `{name}` | {_md_cell(_type_name(field))} | {unit_of(field) or ''} | "
                f"{_md_cell(field.description or '')} |"
            )
    lines += ["", "## Inputs", ""]
    for command, model in {**REQUESTS, **NESTED_REQUESTS}.items():
        lines += ["", f"### {command}", "", (model.__doc__ or "").strip().splitlines()[0], ""]
        lines += ["| field | type | unit | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            lines.append(
                f"| `{name}` | {_md_cell(_type_name(field))} | {unit_of(field) or ''} | "
                f"{_md_cell(help_text(field))} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(markdown())


__all__ = [
    "REQUESTS",
    "RESULTS",
    "BreakevenRequest",
    "BreakevenResult",
    "BreakevenRow",
    "CatalogRequest",
    "EstimateRequest",
    "EstimateResult",
    "FrontierPoint",
    "FrontierRequest",
    "FrontierResult",
    "PlanOption",
    "PlanRequest",
    "PlanResult",
    "Request",
    "help_text",
    "unit_of",
]
