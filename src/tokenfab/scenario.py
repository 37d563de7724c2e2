"""The Scenario: everything about one deployment, in one typed, validated object.

A scenario names catalog ids (model, accelerator, region, workload) and the choices around
them: parallelism, number formats, load, latency targets, ownership. It loads from and saves to
YAML; every field's description (with its unit) is the help text of the CLI and the HTTP API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from tokenfab.errors import ScenarioError
from tokenfab.fileio import SCENARIO_MAX_BYTES, load_yaml, read_text
from tokenfab.perf.precision import KV_PRECISIONS, PRECISIONS

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
MIN_UTILIZATION = 1e-3
"""0.1 % average use; below it the cost per token is dominated by idle time to no purpose."""

Count = Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)]
Degree = Annotated[int, Field(ge=1, le=MAX_ACCELERATORS)]
Tokens = Annotated[int, Field(ge=1, le=MAX_TOKENS_PER_REQUEST)]

Objective = Literal["max-throughput", "min-latency"]
Ownership = Literal["buy", "rent"]
EngineId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._\-]*$", max_length=80)]


def _takes_bool(annotation: Any) -> bool:
    """Whether a field's type admits a yes/no value (``bool``, ``bool | None``)."""
    return annotation is bool or any(_takes_bool(a) for a in get_args(annotation))


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
                raise ValueError(f"{name}: {str(value).lower()} is a yes/no value; give a number")
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
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] | None = Field(
        None, description="sequences in flight per replica (chosen if omitted) [1 to 1e6]"
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
        if self.utilization is not None and demand:
            raise ValueError(
                "utilization: with a demand the utilisation is the demand over the installed "
                "capacity; drop utilization, or drop the demand to set it yourself"
            )
        return self

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate a mapping (a scenario passes as it is); any problem, a value that is not
        a mapping included, raises one-line :class:`ScenarioError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(describe_validation_error(exc)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        """Load a scenario from a YAML file (UTF-8, at most 1 MB, no aliases)."""
        text = read_text(path, what="scenario file", max_bytes=SCENARIO_MAX_BYTES)
        data = load_yaml(text, path)
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}: a scenario file is a mapping of field: value")
        try:
            return cls.parse(data)
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: {exc}") from None

    def to_yaml(self) -> str:
        """The scenario as YAML, only the fields that are set."""
        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False)

    def with_(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated again."""
        return type(self).parse({**self.model_dump(), **changes})


def id_list(text: str | None, field: str, allowed: tuple[str, ...] = ()) -> list[str] | None:
    """Comma-separated ids from a flag: ``None`` when not given; an empty list is refused.

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
    >>> id_list(" h100-sxm, b200 ,", "accelerator")
    ['h100-sxm', 'b200']
    >>> id_list(",,", "accelerator")
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: accelerator: ',,' names no id; give one or more, comma-separated
    """
    if text is None:
        return None
    ids = [x.strip() for x in text.split(",") if x.strip()]
    if not ids:
        raise ScenarioError(f"{field}: {text!r} names no id; give one or more, comma-separated")
    for x in ids:
        if allowed and x not in allowed:
            raise ScenarioError(f"{field}: {x!r} is not allowed; allowed: {', '.join(allowed)}")
    return ids


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def describe_validation_error(exc: ValidationError) -> str:
    """One line for the first problem: ``field: what is wrong (got value); allowed: range``.

    Examples
    --------
    >>> Scenario.parse({"model": "m", "accelerator": "a", "tokens_per_day": 1e30})
    Traceback (most recent call last):
    ...
    tokenfab.errors.ScenarioError: tokens_per_day: 1e+30 is out of range; allowed: 1 to 1e+16
    """
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if not field:  # model-level validators already name their field
        return msg
    got = err.get("input")
    allowed = allowed_range(str(err["loc"][0]))
    if allowed and err["type"] in _RANGE_ERRORS:
        return f"{field}: {got!r} is out of range; allowed: {allowed}"
    if allowed and err["type"] == "finite_number":
        return f"{field}: {got!r} is not a finite number; allowed: {allowed}"
    line = f"{field}: {msg}" + ("" if isinstance(got, dict) or got is None else f" (got {got!r})")
    return f"{line}; allowed: {allowed}" if allowed else line


def _bounds(annotation: Any) -> list[Any]:
    """Constraint objects (``Ge``, ``Le`` ...) inside an annotation such as ``Annotated[...] | None``."""
    found = []
    for arg in get_args(annotation):
        if isinstance(arg, FieldInfo):
            found += arg.metadata
        elif get_args(arg):
            found += _bounds(arg)
    return found


def allowed_range(field: str) -> str | None:
    """The declared range of a numeric Scenario field as text, e.g. ``1 to 1e+16``.

    Examples
    --------
    >>> allowed_range("tokens_per_day")
    '1 to 1e+16'
    >>> allowed_range("prefix_cache_hit_rate")
    '0 to below 1'
    >>> allowed_range("model") is None
    True
    """
    info = Scenario.model_fields.get(field)
    if info is None:
        return None
    low = high = None
    for meta in [*info.metadata, *_bounds(info.annotation)]:
        for name in ("ge", "gt"):
            if getattr(meta, name, None) is not None:
                low = f"{'above ' if name == 'gt' else ''}{getattr(meta, name):g}"
        for name in ("le", "lt"):
            if getattr(meta, name, None) is not None:
                high = f"{'below ' if name == 'lt' else ''}{getattr(meta, name):g}"
    if low is None and high is None:
        return None
    return f"{low or 'any'} to {high or 'any'}"
