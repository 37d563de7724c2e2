"""The Scenario: everything about one deployment, in one typed, validated object.

A scenario names catalog ids (model, accelerator, region, workload) and the choices around
them: parallelism, number formats, load, latency targets, ownership. It loads from and saves to
YAML; every field's description (with its unit) is the help text of the CLI and the HTTP API.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from tokenfab.errors import ScenarioError
from tokenfab.fileio import SCENARIO_MAX_BYTES, load_yaml, read_text
from tokenfab.perf.precision import KV_PRECISIONS, PRECISIONS
from tokenfab.words import plural

# Upper bounds: far above any real deployment, so that a typo or an overflow is refused with the
# field's name instead of reaching the arithmetic (an int64 fleet size of 9.2e18 overflows).
MAX_ACCELERATORS = 10_000_000
"""10 million accelerators draw ~10 GW at ~1 kW each: ten of the largest single AI campuses
announced in 2025 (about 1 GW each)."""
MAX_TOKENS_PER_REQUEST = 100_000_000
"""Ten times the longest context window in the models catalog (Llama 4 Scout, 10.5 M tokens)."""
MAX_TOKENS_PER_DAY = 1e16
"""Google reported 1.3 quadrillion tokens a month over all its products in October 2025
(~4e13 a day); 1e16 output tokens a day is over 200 times that."""
MAX_REQUESTS_PER_SECOND = 1e8
"""About 1000 times Google web search's ~1e5 queries a second."""
MIN_REQUESTS_PER_SECOND = 1e-6
"""One request in ~12 days; below it a month holds fewer than three requests."""
MIN_TOKENS_PER_DAY = 1.0
"""One output token a day; below it a cost per million tokens has no meaning."""
MAX_BATCH = 1_000_000
"""A million sequences in flight on one replica, ~1000 times what fits in today's HBM."""
MAX_STEPS_PER_TASK = 100_000
"""Agent tasks take tens to hundreds of model calls; 1e5 is a thousand times that."""
MAX_TTFT_S = 604_800.0
"""A week: seven times the 24 h completion window of batch APIs."""
MIN_TTFT_S = 1e-6
"""1 µs, shorter than one GPU kernel launch (~5 µs): anything less is a unit mistake."""
MAX_TPOT_S = 3_600.0
"""An hour a token."""
MIN_TPOT_S = 1e-6
"""1 µs a token (a million tokens/s for one user), shorter than one GPU kernel launch."""
MAX_PEAK_TO_AVERAGE = 1_000.0
"""Daily peaks of interactive traffic are 2-4 times the average; 1000 allows any burst."""
MAX_LINK_GB_S = 1e6
"""1 PB/s an accelerator: over 300 times NVLink 5's 1.8 TB/s per GPU."""
MIN_UTILIZATION = 1e-3
"""0.1 % average use; below it the cost per token is dominated by idle time to no purpose."""

Count = Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)]
Degree = Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)]
Tokens = Annotated[int, Field(ge=1, le=MAX_TOKENS_PER_REQUEST)]

Objective = Literal["max-throughput", "min-latency"]
Ownership = Literal["buy", "rent"]
RentalTerm = Literal["on-demand", "reserved", "reserved-1y", "reserved-3y"]
EngineId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._\-]*$", max_length=80)]


def _takes_bool(annotation: Any) -> bool:
    """Whether a field's type admits a yes/no value (``bool``, ``bool | None``)."""
    return annotation is bool or any(_takes_bool(a) for a in get_args(annotation))


def _takes_number(annotation: Any) -> bool:
    """Whether a field's type admits a number (``int``, ``float``, ``Annotated[float, ...]``)."""
    if annotation in (int, float):
        return True
    return any(_takes_number(a) for a in get_args(annotation))


def refuse_bools_for_numbers(fields: dict[str, FieldInfo], data: Any) -> Any:
    """Refuse ``true``/``false`` given for a number: pydantic's lax mode would read
    ``batch_size: true`` as batch 1, a silent change of meaning."""
    if isinstance(data, dict):
        for name, value in data.items():
            if (
                isinstance(value, bool)
                and name in fields
                and not _takes_bool(fields[name].annotation)
            ):
                what = "a number" if _takes_number(fields[name].annotation) else "text"
                raise ValueError(f"{name}: {str(value).lower()} is a yes/no value; give {what}")
    return data


class Scenario(BaseModel):
    """One deployment: model on accelerators, with its workload, targets and economics."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        return refuse_bools_for_numbers(cls.model_fields, data)

    model: str = Field(description="model id from the models catalog")
    accelerator: str = Field(description="accelerator id from the accelerators catalog")
    accelerators: Count | None = Field(
        None,
        description="total accelerators in the deployment (default: with a demand, the "
        "cheapest count that meets it and the latency targets; without one, 1) [1 to 1e7]",
    )
    tensor_parallel: Degree | None = Field(
        None,
        description="tensor-parallel degree of attention and dense layers (vLLM/SGLang --tp; "
        "chosen if omitted) [1 to 1e7]",
    )
    pipeline_parallel: Degree | None = Field(
        None, description="pipeline stages (chosen if omitted) [1 to 1e7]"
    )
    attention_data_parallel: Degree | None = Field(
        None,
        description="attention data-parallel groups of tensor_parallel ranks, each with its own "
        "sequences (vLLM --data-parallel-size, SGLang --dp with --enable-dp-attention); a "
        "pipeline stage spans tensor_parallel x attention_data_parallel ranks [1 to 1e7]",
    )
    expert_parallel: Degree | None = Field(
        None,
        description="MoE expert-parallel degree: ranks the routed experts are split over by "
        "expert (vLLM --enable-expert-parallel makes it TP x DP; SGLang --ep-size) [1 to 1e7]",
    )
    moe_tensor_parallel: Degree | None = Field(
        None,
        description="MoE tensor-parallel degree: ways each routed expert is split; "
        "moe_tensor_parallel x expert_parallel = tensor_parallel x attention_data_parallel "
        "[1 to 1e7]",
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        description="share of each accelerator's memory the engine may use, as vLLM's "
        "--gpu-memory-utilization (default: the engine's, vLLM 0.9) [above 0 to 1]",
    )
    precision: str | None = Field(
        None,
        description=f"weight format, one of {', '.join(PRECISIONS)} (default: the model's native one)",
    )
    kv_precision: str | None = Field(
        None,
        description=f"KV-cache format, one of {', '.join(KV_PRECISIONS)} (default: fp8 with fp8 weights, else bf16)",
    )
    fp8_scales: Literal["block", "per_tensor"] | None = Field(
        None,
        description="how fp8 weights are scaled: block (one scale per 128 x 128 block, as "
        "DeepSeek-V3/R1's and Qwen3's own FP8 checkpoints) or per_tensor (Model Optimizer "
        "checkpoints such as nvidia/Qwen3-235B-A22B-FP8); block-scaled FP8 has its own compute "
        "efficiency on chips without block-scale tensor cores (default: the model's published "
        "FP8 checkpoint's, models.csv fp8_checkpoint_block; fp8 weights only)",
    )
    software: EngineId | None = Field(
        None,
        description="serving engine id from the software catalog, e.g. trtllm, trtllm-engine, "
        "vllm (default: the vendor's stack)",
    )
    software_licence: str | None = Field(
        None,
        description="paid licence id from the licences catalog, e.g. nvidia-ai-enterprise "
        "(default: none; open-source engines need none)",
    )
    workload: str | None = Field(
        None, description="workload id; sets token lengths and targets not given"
    )
    input_tokens: Tokens | None = Field(
        None, description="prompt tokens per request [tokens, 1 to 1e8]"
    )
    output_tokens: Tokens | None = Field(
        None, description="visible output tokens per request [tokens, 1 to 1e8]"
    )
    reasoning_tokens: Annotated[int, Field(ge=0, le=MAX_TOKENS_PER_REQUEST)] | None = Field(
        None, description="hidden reasoning tokens per request [tokens, 0 to 1e8]"
    )
    steps_per_task: Annotated[float, Field(ge=1, le=MAX_STEPS_PER_TASK)] | None = Field(
        None, description="model calls per agent task [1 to 1e5]"
    )
    prefix_cache_hit_rate: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        None, description="share of prompt tokens served from the prefix cache [0-1)"
    )
    speculative_tokens: Annotated[int, Field(ge=0, le=16)] = Field(
        0,
        description="draft tokens proposed per decode step (multi-token prediction heads) [0 to 16]",
    )
    acceptance_rate: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="chance each draft token is accepted [0-1]; needed with speculative_tokens",
    )
    disaggregated: bool = Field(
        False,
        description="prefill and decode on separate pools of replicas (DistServe / Dynamo style)",
    )
    prefill_accelerator: str | None = Field(
        None,
        description="accelerator id of a separate prefill pool (heterogeneous disaggregation, "
        "seed 002: prefill on one accelerator type, decode on another); accelerator and "
        "accelerators then name the decode pool",
    )
    prefill_accelerators: Count | None = Field(
        None,
        description="accelerators in the prefill pool (default: enough to feed the decode "
        "pool); with prefill_accelerator only [1 to 1e7]",
    )
    kv_link_gb_s: Annotated[float, Field(gt=0, le=MAX_LINK_GB_S)] | None = Field(
        None,
        description="bandwidth that carries each request's KV cache from the prefill to the "
        "decode pool, per accelerator (default: the lower scale-out bandwidth of the two "
        "accelerators in the catalog); with prefill_accelerator only [GB/s, above 0 to 1e6]",
    )
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] | None = Field(
        None, description="sequences in flight per replica (chosen if omitted) [1 to 1e6]"
    )
    concurrency: Annotated[int, Field(ge=1, le=MAX_BATCH)] | None = Field(
        None,
        description="closed-loop clients over the deployment, each sending its next request "
        "when the last ends (benchmarks' --max-concurrency): sets the batch and the TTFT "
        "[1 to 1e6]",
    )
    objective: Objective = Field(
        "max-throughput", description="what to optimise when the batch is not given"
    )
    ttft_slo_s: Annotated[float, Field(ge=MIN_TTFT_S, le=MAX_TTFT_S)] | None = Field(
        None, description="time-to-first-token target [s, 1e-6 to 604800]"
    )
    tpot_slo_s: Annotated[float, Field(ge=MIN_TPOT_S, le=MAX_TPOT_S)] | None = Field(
        None, description="time-per-output-token target [s, 1e-6 to 3600]"
    )
    requests_per_second: (
        Annotated[float, Field(ge=MIN_REQUESTS_PER_SECOND, le=MAX_REQUESTS_PER_SECOND)] | None
    ) = Field(None, description="average request rate [1/s, 1e-6 to 1e8]")
    tokens_per_day: Annotated[float, Field(ge=MIN_TOKENS_PER_DAY, le=MAX_TOKENS_PER_DAY)] | None = (
        Field(None, description="average demand, output tokens a day [1 to 1e16]")
    )
    peak_to_average: Annotated[float, Field(ge=1, le=MAX_PEAK_TO_AVERAGE)] = Field(
        1.0, description="peak over average demand [-, 1 to 1000]"
    )
    region: str = Field("us", description="region id from the regions catalog")
    ownership: Ownership = Field(
        "buy", description="buy (own and amortise) or rent (cloud) the accelerators"
    )
    rental_term: RentalTerm = Field(
        "on-demand",
        description="price of a rented accelerator-hour: on-demand; reserved (the cheapest "
        "committed-capacity offer in the rentals catalog, whatever its term); reserved-1y or "
        "reserved-3y (a 12- or 36-month commitment only); rent only",
    )
    rental_provider: Annotated[str, Field(min_length=1, max_length=80)] | None = Field(
        None,
        description="rent from this provider only (the rentals catalog's provider, e.g. AWS, "
        "Hyperstack (NexGen Cloud)); default: the cheapest offer of any provider; rent only",
    )
    utilization: Annotated[float, Field(ge=MIN_UTILIZATION, le=1)] | None = Field(
        None,
        description="average share of capacity used (default: from demand, else the catalog default) [0.001 to 1]",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(
                f"precision: unknown format {self.precision!r}; allowed: {', '.join(PRECISIONS)}"
            )
        if self.kv_precision is not None and self.kv_precision not in KV_PRECISIONS:
            raise ValueError(
                f"kv_precision: unknown format {self.kv_precision!r}; allowed: {', '.join(KV_PRECISIONS)}"
            )
        if self.fp8_scales is not None and self.precision not in (None, "fp8"):
            raise ValueError(
                f"fp8_scales: describes fp8 weights; precision is {self.precision} (allowed: "
                "precision fp8, or drop fp8_scales)"
            )
        if self.speculative_tokens and self.acceptance_rate is None:
            raise ValueError(
                "acceptance_rate: speculative_tokens needs an acceptance rate (0-1), e.g. 0.7"
            )
        ranks = (
            self.tensor_parallel * self.attention_data_parallel
            if self.tensor_parallel and self.attention_data_parallel
            else None
        )
        moe = (
            self.expert_parallel * self.moe_tensor_parallel
            if self.expert_parallel and self.moe_tensor_parallel
            else None
        )
        if ranks and moe and ranks != moe:
            raise ValueError(
                f"moe_tensor_parallel: moe_tensor_parallel x expert_parallel ({moe}) must equal "
                f"tensor_parallel x attention_data_parallel ({ranks}), the ranks of a stage"
            )
        if self.prefill_accelerator is None:
            for name in ("prefill_accelerators", "kv_link_gb_s"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name}: describes a separate prefill pool; give prefill_accelerator "
                        f"too, or drop {name}"
                    )
        if self.tokens_per_day is not None and self.requests_per_second is not None:
            raise ValueError(
                "tokens_per_day: give either tokens_per_day or requests_per_second, not both"
            )
        if self.requests_per_second is not None and self.output_tokens is not None:
            per_day = self.requests_per_second * self.output_tokens * 86_400
            if per_day > MAX_TOKENS_PER_DAY:
                raise ValueError(
                    f"requests_per_second: {self.requests_per_second:g} requests/s x "
                    f"{self.output_tokens} output tokens is {per_day:.3g} output tokens a day; "
                    f"allowed: at most {MAX_TOKENS_PER_DAY:g}"
                )
        demand = self.tokens_per_day is not None or self.requests_per_second is not None
        if self.concurrency is not None:
            clash = [
                f
                for f, on in (
                    ("batch_size", self.batch_size is not None),
                    ("tokens_per_day or requests_per_second", demand),
                    ("disaggregated", self.disaggregated),
                    # a prefill pool ran at its full batch with the clients ignored (10 clients
                    # on 8 x H100 + 2 x B200 reported batch 690 and 24 requests/s)
                    ("prefill_accelerator", self.prefill_accelerator is not None),
                )
                if on
            ]
            if clash:
                raise ValueError(
                    "concurrency: closed-loop clients set the batch and the load (disaggregated "
                    f"pools under client concurrency are not modelled); drop {clash[0]}"
                )
        if self.acceptance_rate is not None and not self.speculative_tokens:
            raise ValueError(
                "acceptance_rate: only used with speculative_tokens (draft tokens a step); "
                "give speculative_tokens too, or drop acceptance_rate"
            )
        if self.peak_to_average != 1.0 and not demand:
            raise ValueError(
                "peak_to_average: sizes capacity for a demand's peak; give tokens_per_day or "
                "requests_per_second too, or drop peak_to_average"
            )
        if self.rental_term != "on-demand" and self.ownership != "rent":
            raise ValueError(
                f"rental_term: {self.rental_term} prices a rented accelerator-hour; give "
                "ownership: rent too, or drop rental_term"
            )
        if self.rental_provider is not None and self.ownership != "rent":
            raise ValueError(
                "rental_provider: chooses whose rental prices the accelerator-hour; give "
                "ownership: rent too, or drop rental_provider"
            )
        if self.utilization is not None and demand:
            raise ValueError(
                "utilization: with a demand the utilisation is the demand over the installed "
                "capacity; drop utilization, or drop tokens_per_day or requests_per_second to "
                "set it yourself"
            )
        return self

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate a mapping (a scenario passes as it is); any problem, a value that is not
        a mapping included, raises one-line :class:`ScenarioError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(describe_validation_error(exc, cls)) from None

    @classmethod
    def from_yaml(cls, path: str | Path, defaults: Mapping[str, Any] | None = None) -> Self:
        """Load a scenario from a YAML file (UTF-8, at most 1 MB, no aliases).

        A ``distributions:`` block is checked (:func:`read_scenario_file`) and left aside: the
        deterministic commands run the scenario at its stated values. The other blocks of
        :data:`SIDE_BLOCKS` (``projection:``) belong to other commands and are left out here
        (:func:`scenario_block` reads them). A problem names the file, the line of the field and
        the field: ``s.yaml:3: tokens_per_day: ...``.
        """
        return read_scenario_file(path, cls, defaults).scenario  # type: ignore[return-value]

    def to_yaml(self) -> str:
        """The scenario as YAML, only the fields that are set."""
        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False)

    def with_(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated again."""
        return type(self).parse({**self.model_dump(), **changes})


SIDE_BLOCKS = ("projection",)
"""Top-level blocks of a scenario file read by other commands, not Scenario fields:
``projection:`` (:mod:`tokenfab.projection`)."""


def _key_lines(text: str) -> dict[str, int]:
    """The line of each top-level key of a YAML mapping (text that load_yaml has read)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return {
        str(k.value): k.start_mark.line + 1
        for k, _ in (node.value if isinstance(node, yaml.MappingNode) else ())
    }


def _read_mapping(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """A scenario file's top-level mapping and the line of each top-level key."""
    text = read_text(path, what="scenario file", max_bytes=SCENARIO_MAX_BYTES)
    data = load_yaml(text, path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario file is a mapping of field: value")
    return data, _key_lines(text)


def _line_of(message: str, lines: dict[str, int]) -> str:
    """``:LINE`` of the field a one-line message starts with, or nothing."""
    field = message.split(":", 1)[0].split(".", 1)[0].strip()
    return f":{lines[field]}" if field in lines else ""


def in_file(exc: ScenarioError, path: str | Path, from_file: Iterable[str]) -> ScenarioError:
    """``exc`` with the file and line of its field where the field's value came from the
    scenario file, not from an option.

    A file merged with a command's options can fail on the file's field only because of an
    option (``rental_term: reserved`` in the file, ``--ownership buy`` given): the line said
    "rental_term: ...; give ownership: rent too, or drop rental_term" as of an option the user
    never typed. It now starts ``FILE:LINE:`` as the file's own errors do.

    The other way round, an option's field refused beside the file's (``--concurrency 8``
    given, ``batch_size: 32`` in the file) says which file line to drop: "drop batch_size
    (b.yaml:3)"; it read "drop batch_size" with no word of where that was set.
    """
    message = str(exc)
    from_file = set(from_file)
    field = message.split(":", 1)[0].split(".", 1)[0].strip()
    if field in from_file:
        text = read_text(path, what="scenario file", max_bytes=SCENARIO_MAX_BYTES)
        return type(exc)(f"{path}{_line_of(message, _key_lines(text))}: {message}")
    lines = None
    out, last = [], 0
    for drop in re.finditer(r"\bdrop ([a-z_]+(?: or [a-z_]+)*)", message):
        names = drop.group(1).split(" or ")
        if not any(n in from_file for n in names):
            continue
        if lines is None:
            text = read_text(path, what="scenario file", max_bytes=SCENARIO_MAX_BYTES)
            lines = _key_lines(text)
        where = ", ".join(
            f"{path}:{lines[n]}" if len(names) == 1 else f"{n} at {path}:{lines[n]}"
            for n in names
            if n in from_file and n in lines
        )
        if where:
            out += [message[last : drop.end()], f" ({where})"]
            last = drop.end()
    return type(exc)("".join(out) + message[last:]) if out else exc


def scenario_block(path: str | Path, name: str) -> dict[str, Any]:
    """One side block (:data:`SIDE_BLOCKS`) of a scenario file, with the file line of each of
    its keys under ``"__lines__"``; empty when the file has none.

    Raises
    ------
    ScenarioError
        The block is not a mapping (names the file and line).
    """
    data, lines = _read_mapping(path)
    block = data.get(name)
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ScenarioError(
            f"{path}:{lines.get(name, 1)}: {name}: a block of field: value lines, "
            f"got {json_type(block)}"
        )
    text = read_text(path, what="scenario file", max_bytes=SCENARIO_MAX_BYTES)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    inner: dict[str, int] = {}
    for key, value in node.value:
        if key.value == name and isinstance(value, yaml.MappingNode):
            inner = {str(k.value): k.start_mark.line + 1 for k, _ in value.value}
    return {**block, "__lines__": inner}


ALTERNATIVE_FIELDS: tuple[frozenset[str], ...] = (
    frozenset({"tokens_per_day", "requests_per_second"}),
)
"""Fields that state one quantity in two ways: a scenario takes one of each set."""


def with_overrides(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario file's (or a demand file's) fields with a command's options over them.

    An option wins over the file's field of the same name, and over the file's other way of
    stating the same quantity (:data:`ALTERNATIVE_FIELDS`): ``--requests-per-second 5`` on a
    file with ``tokens_per_day`` is the demand, where the two together were refused as "give
    either tokens_per_day or requests_per_second, not both" though the user gave only one.

    >>> with_overrides({"tokens_per_day": 2e9, "model": "m"}, {"requests_per_second": 5})
    {'model': 'm', 'requests_per_second': 5}
    """
    merged = dict(base)
    for fields in ALTERNATIVE_FIELDS:
        if fields & given.keys():
            for name in fields - given.keys():
                merged.pop(name, None)
    return {**merged, **given}


def batch_fixed_by(sc: Any) -> tuple[str, str] | None:
    """The field that fixes a scenario's batch, and why in words; None where the estimate
    chooses the batch (the rule of ``pipeline._Base.batch_fixed``, on which ``reoptimise``
    has nothing to choose again).

    ``sc`` is a :class:`Scenario` or a request with its fields (``batch_size``,
    ``concurrency``, ``objective``, ``tokens_per_day``, ``requests_per_second``).

    >>> batch_fixed_by(Scenario(model="llama-3.1-8b", accelerator="h100-sxm", batch_size=32))
    ('batch_size', 'batch_size 32 fixes the batch')
    """
    if sc.batch_size is not None:
        return "batch_size", f"batch_size {sc.batch_size} fixes the batch"
    if sc.concurrency is not None:
        return "concurrency", f"concurrency {sc.concurrency} sets the batch (clients in flight)"
    if (
        sc.objective == "min-latency"
        and sc.tokens_per_day is None
        and sc.requests_per_second is None
    ):
        return "objective", "objective min-latency without a demand runs at batch 1"
    return None


def scenario_with_block(source: str | Path | dict[str, Any], name: str) -> tuple[Scenario, dict]:
    """A scenario and one of its side blocks (:data:`SIDE_BLOCKS`), from a scenario file or
    from the same content as a mapping (the HTTP API's body); a file's block carries the line
    of each key under ``"__lines__"`` (:func:`scenario_block`).

    Raises
    ------
    ScenarioError
        A bad field (a file's message names its line), or a block that is not a mapping.
    """
    if not isinstance(source, dict):
        return Scenario.from_yaml(source), scenario_block(source, name)
    data = {k: v for k, v in source.items() if k not in (*SIDE_BLOCKS, "distributions")}
    block = source.get(name) or {}
    if not isinstance(block, dict):
        raise ScenarioError(f"scenario.{name}: a mapping of field: value, got {json_type(block)}")
    try:
        scenario = Scenario.parse(data)
    except ScenarioError as exc:
        raise ScenarioError(f"scenario.{exc}") from None
    projection = source.get("projection")
    if projection is not None:
        # checked whichever block is asked for, as a file's is (read_scenario_file), and
        # named as project names it (projection.years: ...): roadmap's body ran on
        # "projection": {"years": 0} without a word
        if not isinstance(projection, dict):
            raise ScenarioError(
                f"scenario.projection: a mapping of field: value, got {json_type(projection)}"
            )
        from tokenfab.projection import ProjectionInputs

        ProjectionInputs.parse(dict(projection))
    return scenario, dict(block)


def id_list(text: str | None, field: str, allowed: tuple[str, ...] = ()) -> list[str] | None:
    """Comma-separated ids from a flag: ``None`` when not given; an empty list, or an empty
    item (``h100-sxm,,b200``, ``h100-sxm,``: an id left out, e.g. an unset shell variable),
    is refused.

    Parameters
    ----------
    text : str or None
        The flag's value, e.g. ``"h100-sxm, b200"``.
    field : str
        The flag's field name, for the message.
    allowed : tuple of str, optional
        The only values allowed (none: any id, checked later against its catalog).

    Examples
    --------
    >>> id_list(" h100-sxm, b200 ", "accelerator")
    ['h100-sxm', 'b200']
    >>> id_list(",,", "accelerator")
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: accelerator: ',,' names no id; give one or more, comma-separated
    >>> id_list("h100-sxm,,b200", "accelerator")
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: accelerator: an empty item in 'h100-sxm,,b200'; give comma-separated ids, none empty
    """
    if text is None:
        return None
    items = [x.strip() for x in text.split(",")]
    ids = [x for x in items if x]
    if not ids:
        raise ScenarioError(f"{field}: {text!r} names no id; give one or more, comma-separated")
    if len(ids) < len(items):
        what = (
            f"values, none empty; allowed: {', '.join(allowed)}" if allowed else "ids, none empty"
        )
        raise ScenarioError(f"{field}: an empty item in {text!r}; give comma-separated {what}")
    for x in ids:
        if allowed and x not in allowed:
            raise ScenarioError(f"{field}: {x!r} is not allowed; allowed: {', '.join(allowed)}")
    return ids


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_NUMBER_ERRORS = {"float_parsing", "float_type", "int_parsing", "int_type", "decimal_parsing"}
_TYPE_TAG = re.compile(r"^(constrained-\w+|[a-z-]+\[.*\]|float|int|str|bool|date|datetime|none)$")
"""A step of a pydantic error location that names a union's branch, not a field."""
_CTX_BOUNDS = {"ge": "{:g} or more", "gt": "above {:g}", "le": "at most {:g}", "lt": "below {:g}"}


def describe_validation_error(exc: ValidationError, model: Any = None) -> str:
    """One line for the first problem, in tokenfab's words (never pydantic's "Input should
    be ..."): ``field: value is out of range; allowed: range``, ``field: value is not a
    number``, ``field: value is not allowed; allowed: a, b``.

    ``model`` is the pydantic model validated: the range a field of it declares is the
    ``allowed`` part (else a Scenario field of that name's, else the bound the value broke).

    Examples
    --------
    >>> Scenario.parse({"model": "m", "accelerator": "a", "tokens_per_day": 1e30})
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: tokens_per_day: 1e+30 is out of range; allowed: 1 to 1e+16
    >>> Scenario.parse({"model": "m", "accelerator": "a", "batch_size": 2.5})
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: batch_size: 2.5 is not a whole number; allowed: 1 to 1e+06
    """
    return describe_error(first_error(exc), model)


_SHAPE_ERRORS = _NUMBER_ERRORS | {
    "list_type",
    "tuple_type",
    "set_type",
    "string_type",
    "str_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "bool_type",
    "bool_parsing",
}
"""Errors that say a value is the wrong shape for one branch of a union."""


def first_error(exc: ValidationError) -> Any:
    """The problem to name of a validation error (an item of ``exc.errors()``).

    A field of a union (``Rate | list[Rate]``) fails once per branch: ``[1, -3]`` is "not a
    number" for the number and "-3 is out of range" at index 1 for the list. The first
    error is the one named unless a later one, on the same field, is of a branch the value
    has the shape of (its error is not of the value's shape): that one says what is wrong.
    """
    errors = exc.errors()
    head = errors[0]
    if head["type"] not in _SHAPE_ERRORS:
        return head
    field = [p for p in head["loc"] if not _TYPE_TAG.match(str(p))]
    for err in errors[1:]:
        loc = [p for p in err["loc"] if not _TYPE_TAG.match(str(p))]
        if loc[: len(field)] == field and (
            err["type"] not in _SHAPE_ERRORS or len(loc) > len(field)
        ):  # a branch the value has the shape of, or an item of a list the value is
            return err
    return head


_PATTERN_WORDS = {
    r"^[a-z0-9][a-z0-9._\-]*$": "an id of lower-case letters, digits, '.', '_' and '-', "
    "starting with a letter or a digit",
}
"""Words for the patterns of text fields (``tokenfab.catalog.Id``), for an error line."""


def describe_error(err: Any, model: Any = None) -> str:
    """:func:`describe_validation_error` of one pydantic error (an item of ``exc.errors()``)."""
    loc = [str(p) for p in err["loc"] if not _TYPE_TAG.match(str(p))]  # no "constrained-float"
    field = ".".join(loc)
    msg = err["msg"].removeprefix("Value error, ")
    kind = err["type"]
    got = err.get("input")
    if not field and kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"request: a mapping of field: value (got {json_type(got)})"
    if not field:  # model-level validators already name their field
        return msg
    named = _NAMED.match(msg)
    if kind == "value_error" and named and model is not None:
        # a nested model's own validator names its field: one path, "archetypes.0.users: ..."
        # (once "archetypes.0: users: ...")
        inner = _nested_model(model, loc)
        if inner is not None and named.group(1) in inner.model_fields:
            return f"{field}.{msg}"
    name = loc[-1]
    if name.isdigit() and len(loc) == 2 and model is not None:
        # an item of a list field (demand_growth_per_year.1): the field's own range
        loc_model = getattr(model, "model_fields", {})
        if loc[0] in loc_model:
            name = loc[0]
    if model is not None and len(loc) > 1 and name == loc[-1]:
        # mix.0.share: the range FactoryMixEntry declares
        model = _nested_model(model, loc[:-1]) or model
    allowed = (allowed_range(name, model) if model is not None else None) or (
        allowed_range(name) if len(loc) == 1 or model is None else None
    )
    ctx = err.get("ctx") or {}
    if allowed is None and kind in _RANGE_ERRORS:  # the bound the value broke
        bound = next((k for k in _CTX_BOUNDS if k in ctx), None)
        allowed = _CTX_BOUNDS[bound].format(ctx[bound]) if bound else None
    tail = f"; allowed: {allowed}" if allowed else ""
    shown = _shown(got)
    if isinstance(got, float) and math.isnan(got) and kind in _RANGE_ERRORS:
        # nan fails every comparison, so pydantic says "should be <= 1" of a nan: say what it is
        return f"{field}: nan is not a finite number{tail}"
    if kind in _RANGE_ERRORS or kind == "int_parsing_size":
        return f"{field}: {shown} is out of range{tail}"
    if kind == "finite_number":
        return f"{field}: {shown} is not a finite number{tail}"
    if kind == "int_from_float":
        return f"{field}: {shown} is not a whole number{tail}"
    if kind in _NUMBER_ERRORS and isinstance(got, int | float) and not isinstance(got, bool):
        return f"{field}: {shown} is not a whole number{tail}"  # 2.5 given where 1, 2, 3 ...
    if kind in _NUMBER_ERRORS:
        return f"{field}: {shown} is not a number{tail}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{field}: {shown} is not true or false"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"{field}: {shown} is not allowed; allowed: {expected.replace(' or ', ', ')}"
    if kind.startswith(("date_", "datetime_")):
        return f"{field}: {shown} is not a date; allowed: YYYY-MM-DD"
    if kind == "string_pattern_mismatch" and model is not None and len(loc) == 1:
        # the field's description says the form in words; the pattern is for machines
        info = getattr(model, "model_fields", {}).get(name)
        if info is not None and info.description:
            return f"{field}: {shown} is not allowed; allowed: {info.description}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_WORDS:
        # a catalog id: "String should match pattern '^[a-z0-9]...'" is for machines
        return f"{field}: {shown} is not allowed; allowed: {_PATTERN_WORDS[ctx['pattern']]}"
    if kind == "missing":
        return f"{field}: required (not given)"
    if kind == "string_too_short" and not str(got).strip():
        # "String should have at least 1 character" is pydantic's: say what is wrong and why
        return f"{field}: empty; give a value"
    if kind == "too_short":
        return f"{field}: give at least {ctx.get('min_length', 1)} (got {shown})"
    if kind == "too_long":
        return f"{field}: give at most {ctx.get('max_length')} (got {plural(len(got), 'item')})"
    if kind == "extra_forbidden":
        return f"{field}: not a field here (got {shown}); check the spelling"
    if kind in ("string_type", "str_type"):
        return f"{field}: {shown} is not text"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{field}: {shown} is not a mapping of name: value"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"{field}: {shown} is not a list"
    quoted = isinstance(got, dict) or got is None or shown in msg  # the message has the value
    return f"{field}: {msg}" + ("" if quoted else f" (got {shown})") + tail


def json_type(value: Any) -> str:
    """The kind of a parsed JSON or YAML value in the words of those formats, for an error line
    (it said "got NoneType" of a JSON null and "got str" of a string).

    >>> [json_type(v) for v in (None, True, 3, 2.5, "x", [1], {"a": 1})]
    ['null', 'true/false', 'number', 'number', 'text', 'list', 'mapping']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _shown(value: Any) -> str:
    """A value as an error line quotes it: numbers as given (a catalog cell's text '-80' as
    -80), other text quoted, long text cut; null, true, false, lists and mappings as JSON and
    YAML write them (the API said "model: None is not text" of a JSON null, "(got True)").

    >>> _shown(None), _shown(True), _shown({"archetypes": []}), _shown("-80"), _shown("x")
    ('null', 'true', '{"archetypes": []}', '-80', "'x'")
    >>> _shown(date(2030, 1, 1))
    '2030-01-01'
    """
    if isinstance(value, str):
        try:
            float(value)
            return value.strip()
        except ValueError:
            pass
    if isinstance(value, date):  # a date as YAML writes it, not datetime.date(2030, 1, 1)
        return value.isoformat()
    if value is None or isinstance(value, bool | dict | list):
        text = json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bounds(annotation: Any) -> list[Any]:
    """Constraint objects (``Ge``, ``Le`` ...) inside an annotation such as ``Annotated[...] | None``."""
    found = []
    for arg in get_args(annotation):
        if isinstance(arg, FieldInfo):
            found += arg.metadata
        elif get_args(arg):
            found += _bounds(arg)
    return found


_NAMED = re.compile(r"^([a-z][a-z0-9_]*): ")


def _nested_model(model: Any, path: list[str]) -> Any:
    """The pydantic model a location's parent path leads to (``["mix", "0"]`` of a
    FactoryRequest: FactoryMixEntry), through list, dict and optional fields; None where the
    path leaves the models. ``factory --mix gb300:nan`` said "mix.0.share: nan is not a finite
    number" without the range, looked up on FactoryRequest, which has no field ``share``."""
    import typing

    for part in path:
        if part.isdigit():
            continue  # a list index or dict key: the model is the item type's, found below
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return None
        todo, model = [info.annotation], None
        while todo:  # the first pydantic model inside the annotation (list[X], X | None, ...)
            t = todo.pop(0)
            if hasattr(t, "model_fields"):
                model = t
                break
            todo.extend(typing.get_args(t))
        if model is None:
            return None
    return model


def allowed_range(field: str, model: Any = None) -> str | None:
    """The declared range of a numeric field of ``model`` (default :class:`Scenario`) as
    text, e.g. ``1 to 1e+16``.

    Examples
    --------
    >>> allowed_range("tokens_per_day")
    '1 to 1e+16'
    >>> allowed_range("prefix_cache_hit_rate")
    '0 to below 1'
    >>> allowed_range("model") is None
    True

    A catalog column's plausible maximum (``tokenfab.catalog.COLUMN_MAXIMA``) closes its range:

    >>> from tokenfab.catalog import Region
    >>> allowed_range("dc_capacity_gw", Region)
    '0 to 10000'
    """
    fields = getattr(model if model is not None else Scenario, "model_fields", {})
    info = fields.get(field)
    if info is None:
        return None
    bounds: dict[str, float] = {}
    for meta in [*info.metadata, *_bounds(info.annotation)]:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                bounds[name] = getattr(meta, name)
    most = getattr(model, "column_maximum", None)  # a catalog column's plausible maximum
    if most is not None and most(field) is not None and not {"le", "lt"} & set(bounds):
        bounds["le"] = most(field)
    low = next((k for k in ("ge", "gt") if k in bounds), None)
    high = next((k for k in ("le", "lt") if k in bounds), None)
    if low and high:
        lo = f"{'above ' if low == 'gt' else ''}{bounds[low]:g}"
        hi = f"{'below ' if high == 'lt' else ''}{bounds[high]:g}"
        return f"{lo} to {hi}"
    one = low or high
    return _CTX_BOUNDS[one].format(bounds[one]) if one else None  # "0 or more", "below 1"


# ------------------------------------------------------------------------------------------
# Input distributions: the ``distributions:`` block of a scenario file
# ------------------------------------------------------------------------------------------

DistributionKind = Literal[
    "uniform", "triangular", "normal", "lognormal", "split-lognormal", "low-base-high"
]

PARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required parameters, optional ones)
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "normal": (("mean", "sd"), ("low", "high")),
    "lognormal": (("median", "sigma"), ("low", "high")),
    "split-lognormal": (("median", "p5", "p95"), ()),
    "low-base-high": (("low", "base", "high"), ()),
}
"""What each distribution takes, in the field's own unit (``sigma``: of the natural log;
``p5``/``p95``: the 5th and 95th percentiles)."""

Z95 = 1.6448536269514722
"""The standard normal's 95th percentile: a split lognormal's ``ln(p95 / median) / Z95`` is
the sigma of its upper half, ``ln(median / p5) / Z95`` that of its lower half."""

MAX_MASS_OUTSIDE = 1e-6
"""Largest share of a normal or lognormal that may fall outside its field's range; it is
truncated to the range (a change below one sample in a million). A larger share is refused."""


@dataclass(frozen=True)
class InputRange:
    """The values a sampled input may take: ``low``/``high`` (None: unbounded), each end open or
    closed, and whether the input is a whole number (samples are then rounded)."""

    low: float | None
    high: float | None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def holds(self, x: float) -> bool:
        """Whether ``x`` lies in the range."""
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        return not (
            self.high is not None and (x > self.high or (self.high_open and x == self.high))
        )

    def text(self) -> str:
        """The range as the scenario's errors write it, e.g. ``above 0 to 1``; an open end
        is left out (``above 0``, ``at most 3``), not written "to any".

        >>> InputRange(0.0, None, low_open=True).text(), InputRange(1.0, 3.0).text()
        ('above 0', '1 to 3')
        >>> InputRange(None, 3.0).text(), InputRange(0.0, None).text()
        ('at most 3', '0 or more')
        """
        if self.high is None and self.low is None:
            return "any number"
        if self.high is None:
            return f"above {self.low:g}" if self.low_open else f"{self.low:g} or more"
        if self.low is None:
            return f"below {self.high:g}" if self.high_open else f"at most {self.high:g}"
        low = f"{'above ' if self.low_open else ''}{self.low:g}"
        high = f"{'below ' if self.high_open else ''}{self.high:g}"
        return f"{low} to {high}"


def is_whole_number(key: str) -> bool:
    """Whether ``key`` is a Scenario field that holds a whole number (``input_tokens``).

    Examples
    --------
    >>> is_whole_number("input_tokens"), is_whole_number("utilization")
    (True, False)
    """
    info = Scenario.model_fields.get(key)
    if info is None:
        return False
    kinds = set(get_args(info.annotation)) | {info.annotation}
    for arg in list(kinds):
        kinds |= set(get_args(arg))
    return int in kinds and float not in kinds and bool not in kinds


class Distribution(BaseModel):
    """The uncertainty of one input, in the input's own unit.

    ``uniform`` (low, high); ``triangular`` (low, mode, high); ``normal`` (mean, sd, optional
    low/high to truncate); ``lognormal`` (median, sigma = standard deviation of ln x, optional
    low/high); ``low-base-high`` (a three-point estimate, sampled as a triangular with its mode
    at base); ``split-lognormal`` (median, p5, p95: a lognormal of its own sigma on each side
    of the median, ``ln(median / p5) / 1.645`` below and ``ln(p95 / median) / 1.645`` above,
    so that its 5th, 50th and 95th percentiles are the three figures -- a skewed band such as
    the performance model's held-out error, which one lognormal cannot match at all three).
    ``source`` says where the figures come from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    dist: DistributionKind
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    base: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    p5: float | None = None
    p95: float | None = None
    source: str | None = None

    def describe(self) -> str:
        """``triangular(low 25000, mode 27500, high 30000)``."""
        required, optional = PARAMETERS[self.dist]
        parts = [
            f"{p} {getattr(self, p):g}"
            for p in (*required, *optional)
            if getattr(self, p) is not None
        ]
        return f"{self.dist}({', '.join(parts)})"


def split_sigmas(d: Distribution) -> tuple[float, float]:
    """The sigmas of ln x below and above a split lognormal's median.

    Examples
    --------
    >>> d = Distribution(dist="split-lognormal", median=1.0, p5=math.exp(-Z95), p95=math.exp(2 * Z95))
    >>> [round(s, 9) for s in split_sigmas(d)]
    [1.0, 2.0]
    """
    m = math.log(d.median)  # type: ignore[arg-type]
    return (m - math.log(d.p5)) / Z95, (math.log(d.p95) - m) / Z95  # type: ignore[arg-type]


def distribution_cdf(d: Distribution, x: float) -> float:
    """P(X <= x) of a normal or (split) lognormal before any truncation."""
    if d.dist == "split-lognormal":
        if x <= 0:
            return 0.0
        below, above = split_sigmas(d)
        z = math.log(x / d.median)  # type: ignore[operator]
        sigma = below if z < 0 else above
        if sigma == 0:  # a band of one value (a table row, not a parsed block): a step
            return float(z >= 0)
        return 0.5 * math.erfc(-z / sigma / math.sqrt(2))
    if d.dist == "normal":
        if d.sd == 0:
            return float(x >= d.mean)  # type: ignore[operator]
        z = (x - d.mean) / d.sd  # type: ignore[operator]
    else:
        if x <= 0:
            return 0.0
        if d.sigma == 0:
            return float(x >= d.median)  # type: ignore[operator]
        z = (math.log(x) - math.log(d.median)) / d.sigma  # type: ignore[arg-type, operator]
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _kept_mass(d: Distribution) -> float:
    """Share of a normal or lognormal inside its own low/high."""
    lo = distribution_cdf(d, d.low) if d.low is not None else 0.0
    hi = distribution_cdf(d, d.high) if d.high is not None else 1.0
    return hi - lo


def _mass_outside(d: Distribution, rng: InputRange) -> tuple[float, float]:
    """Shares of a normal or lognormal (after its own truncation) below and above ``rng``."""
    cdf = lambda x: distribution_cdf(d, x)  # noqa: E731
    lo = cdf(d.low) if d.low is not None else 0.0
    hi = cdf(d.high) if d.high is not None else 1.0
    kept = hi - lo
    if kept <= 0:
        return 1.0, 0.0
    below = max(0.0, cdf(rng.low) - lo) / kept if rng.low is not None else 0.0
    above = max(0.0, hi - cdf(rng.high)) / kept if rng.high is not None else 0.0
    return below, above


def parse_distribution(key: str, spec: Any) -> Distribution:
    """Check one entry of a ``distributions:`` block on its own (its range is checked against
    the input's with :func:`check_support`).

    Parameters
    ----------
    key : str
        The input: a Scenario field (``utilization``) or a catalog path
        (``accelerators.h100-sxm.price_usd``).
    spec : mapping
        ``{dist: KIND, <parameters>}``; without ``dist``, ``{low, base, high}`` is a
        low/base/high estimate.

    Raises
    ------
    ScenarioError
        ``distributions.KEY: problem; allowed: ...`` -- an unknown kind, a missing or
        unexpected parameter, a negative sd or sigma, low above high.

    Examples
    --------
    >>> parse_distribution("utilization", {"dist": "uniform", "low": 0.5, "high": 0.9}).describe()
    'uniform(low 0.5, high 0.9)'
    >>> parse_distribution("utilization", {"dist": "normal", "mean": 0.8, "sd": -0.1})
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: distributions.utilization: sd -0.1 is negative; allowed: 0 or more
    """
    where = f"distributions.{key}"
    if not isinstance(spec, dict):
        raise ScenarioError(
            f"{where}: give a mapping such as {{dist: uniform, low: 0.5, high: 0.9}} (got {spec!r})"
        )
    spec = dict(spec)
    if "dist" not in spec and {"low", "base", "high"} <= set(spec):
        # a low/base/high estimate; a misspelt key beside it ("sourc") is named below, not
        # read as a missing dist ("dist: None is not a distribution")
        spec["dist"] = "low-base-high"
    kind = spec.get("dist")
    if kind not in PARAMETERS:
        raise ScenarioError(
            f"{where}: dist: "
            + (f"{kind!r} is not a distribution" if kind is not None else "not given")
            + f"; allowed: {', '.join(PARAMETERS)}"
            + ("" if kind is not None else " (or low, base and high alone)")
        )
    required, optional = PARAMETERS[kind]
    for name in required:
        if name not in spec:
            raise ScenarioError(f"{where}: a {kind} needs {', '.join(required)}; {name} is missing")
    for name, value in spec.items():
        if name in ("dist", "source"):
            continue
        if name not in required + optional:
            takes = ", ".join(required + optional)
            raise ScenarioError(f"{where}: a {kind} takes {takes} and source; got {name}")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ScenarioError(f"{where}: {name}: {_shown(value)} is not a finite number")
    if "source" in spec and not isinstance(spec["source"], str):
        raise ScenarioError(f"{where}: source: give text (a URL or a document)")
    d = Distribution(**{k: float(v) if k not in ("dist", "source") else v for k, v in spec.items()})
    for name in ("sd", "sigma"):
        value = getattr(d, name)
        if value is not None and value < 0:
            raise ScenarioError(f"{where}: {name} {value:g} is negative; allowed: 0 or more")
    if d.median is not None and d.median <= 0:
        raise ScenarioError(f"{where}: median {d.median:g} of a {kind} must be above 0")
    if kind == "split-lognormal" and not 0 < d.p5 < d.median < d.p95:  # type: ignore[operator]
        raise ScenarioError(
            f"{where}: p5 {d.p5:g}, median {d.median:g}, p95 {d.p95:g}; allowed: "
            "0 < p5 < median < p95"
        )
    if d.low is not None and d.high is not None and d.low > d.high:
        raise ScenarioError(f"{where}: low {d.low:g} is above high {d.high:g}; give low <= high")
    middle = {"triangular": "mode", "low-base-high": "base"}.get(kind)
    if middle and not d.low <= getattr(d, middle) <= d.high:  # type: ignore[operator]
        raise ScenarioError(
            f"{where}: {middle} {getattr(d, middle):g} lies outside low {d.low:g} to high "
            f"{d.high:g}; give low <= {middle} <= high"
        )
    if (
        kind in ("normal", "lognormal")
        and (d.low is not None or d.high is not None)
        and _kept_mass(d) < MAX_MASS_OUTSIDE
    ):
        raise ScenarioError(
            f"{where}: low/high truncate away all but {_kept_mass(d):.2g} of the {kind}; "
            "give low and high around its centre"
        )
    return d


def check_support(key: str, d: Distribution, rng: InputRange) -> None:
    """Refuse a distribution whose samples could leave the input's range.

    A uniform, triangular or low/base/high must lie within the range; a normal or (split)
    lognormal (after its own low/high truncation) may put at most :data:`MAX_MASS_OUTSIDE` of its
    samples outside it.

    Raises
    ------
    ScenarioError
        ``distributions.KEY: ... outside the field's range; allowed: RANGE``.

    Examples
    --------
    >>> d = parse_distribution("utilization", {"dist": "uniform", "low": 0.5, "high": 1.2})
    >>> check_support("utilization", d, InputRange(0.001, 1.0))
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: distributions.utilization: high 1.2 is outside the field's range; allowed: 0.001 to 1
    """
    where = f"distributions.{key}"
    bounded = d.dist not in ("normal", "lognormal", "split-lognormal")
    for name in ("low", "high"):
        value = getattr(d, name)
        if (value is not None or bounded) and not rng.holds(value):
            raise ScenarioError(
                f"{where}: {name} {value:g} is outside the field's range; allowed: {rng.text()}"
            )
    if bounded:
        return
    below, above = _mass_outside(d, rng)
    if below > MAX_MASS_OUTSIDE or above > MAX_MASS_OUTSIDE:
        side, share, end = (
            ("below", below, rng.low) if below >= above else ("above", above, rng.high)
        )
        raise ScenarioError(
            f"{where}: {d.describe()} puts {share:.2%} of its samples {side} {end:g}, outside "
            f"the field's range {rng.text()}; narrow it, or give low and high to truncate it "
            "within the range"
        )


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file read whole: the Scenario, its input distributions (in file order) and the
    line of each distribution (for messages)."""

    path: str
    scenario: Scenario
    distributions: dict[str, Distribution] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """``path:line`` of a distribution's entry (``path`` when unknown)."""
        line = self.lines.get(key)
        return f"{self.path}:{line}" if line else self.path


def _distribution_lines(text: str) -> dict[str, int]:
    """The line of each key of the ``distributions:`` block, and of the block itself under the
    key ``""`` (the text already passed :func:`~tokenfab.fileio.load_yaml`)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key_node, value in root.value:
        if key_node.value == "distributions":
            lines = {"": key_node.start_mark.line + 1}
            if isinstance(value, yaml.MappingNode):
                for k, _ in value.value:
                    lines[str(k.value)] = k.start_mark.line + 1
            return lines
    return {}


def read_scenario_file(
    path: str | Path, model: type[Scenario] = Scenario, defaults: Mapping[str, Any] | None = None
) -> ScenarioFile:
    """Read a scenario file and its optional ``distributions:`` block, and check its optional
    ``projection:`` block field by field (:meth:`tokenfab.projection.ProjectionInputs.parse`).

    ``defaults``: values (a command's options) for the required fields the file leaves out, so
    a file without ``model`` or ``accelerator`` is complete with ``--model`` / ``--accelerator``.

    Each distribution is checked on its own (:func:`parse_distribution`); whether its input
    exists and its samples stay in the input's range needs the catalogs, and is checked by
    :func:`tokenfab.uncertainty.input_ranges`.

    Raises
    ------
    FileInputError, ScenarioError
        ``PATH[:LINE]: field: problem``: an unreadable file, a bad field, a bad distribution
        or a bad ``projection.`` field (named by its line).
    """
    text = read_text(path, what="scenario file", max_bytes=SCENARIO_MAX_BYTES)
    data = load_yaml(text, path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario file is a mapping of field: value")
    block = data.pop("distributions", None)
    try:
        # only the required fields the file leaves out: a bad option is then refused as the
        # option's, never as a line of the file
        required = {k for k, f in model.model_fields.items() if f.is_required()}
        given = {k: v for k, v in (defaults or {}).items() if k in required and k not in data}
        scenario = model.parse({**given, **{k: v for k, v in data.items() if k not in SIDE_BLOCKS}})
    except ScenarioError as exc:
        raise ScenarioError(f"{path}{_line_of(str(exc), _key_lines(text))}: {exc}") from None
    if "projection" in data:
        # checked field by field as the distributions are, so that a bad block is refused by
        # every command reading the file, not only by project (estimate ran on
        # "projection: {years: 0}" without a word); how its fields go together, with the
        # options given, is project's to check (operations.projection_inputs)
        from tokenfab.projection import ProjectionInputs

        ProjectionInputs.parse(scenario_block(path, "projection"), where=str(path))
    if block is None:
        return ScenarioFile(str(path), scenario)
    lines = _distribution_lines(text)
    if not isinstance(block, dict) or not block:
        # an empty block ({}) ran as no block, on the default ranges, without a word
        where = f"{path}:{lines['']}" if lines.get("") else str(path)
        raise ScenarioError(
            f"{where}: distributions: give a mapping of input: distribution, e.g. "
            "utilization: {dist: uniform, low: 0.5, high: 0.9}"
            + (
                "; an empty one names no input (leave the block out for the defaults)"
                if isinstance(block, dict)
                else ""
            )
        )
    found: dict[str, Distribution] = {}
    for key, spec in block.items():
        where = f"{path}:{lines[str(key)]}" if str(key) in lines else str(path)
        try:
            found[str(key)] = parse_distribution(str(key), spec)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
    return ScenarioFile(str(path), scenario, found, {k: v for k, v in lines.items() if k})
