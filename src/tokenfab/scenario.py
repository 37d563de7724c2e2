"""The Scenario: everything about one deployment, in one typed, validated object.

A scenario names catalog ids (model, accelerator, region, workload) and the choices around
them: parallelism, number formats, load, latency targets, ownership. It loads from and saves to
YAML; every field's description (with its unit) is the help text of the CLI and the HTTP API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenfab.errors import ScenarioError
from tokenfab.perf.precision import KV_PRECISIONS, PRECISIONS

PositiveInt = Annotated[int, Field(ge=1)]

Objective = Literal["max-throughput", "min-latency"]
Ownership = Literal["buy", "rent", "api"]
EngineId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._\-]*$", max_length=80)]


class Scenario(BaseModel):
    """One deployment: model on accelerators, with its workload, targets and economics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="model id from the models catalog")
    accelerator: str = Field(description="accelerator id from the accelerators catalog")
    accelerators: PositiveInt = Field(1, description="total accelerators in the deployment")
    tensor_parallel: PositiveInt | None = Field(
        None,
        description="tensor-parallel degree of attention and dense layers (vLLM/SGLang --tp; "
        "chosen if omitted)",
    )
    pipeline_parallel: PositiveInt | None = Field(
        None, description="pipeline stages (chosen if omitted)"
    )
    attention_data_parallel: PositiveInt | None = Field(
        None,
        description="attention data-parallel groups of tensor_parallel ranks, each with its own "
        "sequences (vLLM --data-parallel-size, SGLang --dp with --enable-dp-attention); a "
        "pipeline stage spans tensor_parallel x attention_data_parallel ranks",
    )
    expert_parallel: PositiveInt | None = Field(
        None,
        description="MoE expert-parallel degree: ranks the routed experts are split over by "
        "expert (vLLM --enable-expert-parallel makes it TP x DP; SGLang --ep-size)",
    )
    moe_tensor_parallel: PositiveInt | None = Field(
        None,
        description="MoE tensor-parallel degree: ways each routed expert is split; "
        "moe_tensor_parallel x expert_parallel = tensor_parallel x attention_data_parallel",
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        description="share of each accelerator's memory the engine may use, as vLLM's "
        "--gpu-memory-utilization (0-1; default: the engine's, vLLM 0.9)",
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
    input_tokens: PositiveInt | None = Field(None, description="prompt tokens per request [tokens]")
    output_tokens: PositiveInt | None = Field(
        None, description="visible output tokens per request [tokens]"
    )
    reasoning_tokens: Annotated[int, Field(ge=0)] | None = Field(
        None, description="hidden reasoning tokens per request [tokens]"
    )
    steps_per_task: Annotated[float, Field(ge=1)] | None = Field(
        None, description="model calls per agent task"
    )
    prefix_cache_hit_rate: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        None, description="share of prompt tokens served from the prefix cache [0-1)"
    )
    speculative_tokens: Annotated[int, Field(ge=0, le=16)] = Field(
        0, description="draft tokens proposed per decode step (multi-token prediction heads)"
    )
    acceptance_rate: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="chance each draft token is accepted [0-1]; needed with speculative_tokens",
    )
    disaggregated: bool = Field(
        False,
        description="prefill and decode on separate pools of replicas (DistServe / Dynamo style)",
    )
    batch_size: PositiveInt | None = Field(
        None, description="sequences in flight per replica (chosen if omitted)"
    )
    objective: Objective = Field(
        "max-throughput", description="what to optimise when the batch is not given"
    )
    ttft_slo_s: Annotated[float, Field(gt=0)] | None = Field(
        None, description="time-to-first-token target [s]"
    )
    tpot_slo_s: Annotated[float, Field(gt=0)] | None = Field(
        None, description="time-per-output-token target [s]"
    )
    requests_per_second: Annotated[float, Field(gt=0)] | None = Field(
        None, description="average request rate [1/s]"
    )
    tokens_per_day: Annotated[float, Field(gt=0)] | None = Field(
        None, description="average demand, output tokens a day"
    )
    peak_to_average: Annotated[float, Field(ge=1)] = Field(
        1.0, description="peak over average demand [-]"
    )
    region: str = Field("us", description="region id from the regions catalog")
    ownership: Ownership = Field(
        "buy", description="buy (own and amortise) or rent (cloud) the accelerators"
    )
    utilization: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        description="average share of capacity used (default: from demand, else the catalog default)",
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
        return self

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Self:
        """Validate a mapping; any problem raises one-line :class:`ScenarioError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(describe_validation_error(exc)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        """Load a scenario from a YAML file."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ScenarioError(f"scenario: cannot read {path} ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ScenarioError(f"{path}{where}: not valid YAML") from None
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}: a scenario file is a mapping of field: value")
        return cls.parse(data)

    def to_yaml(self) -> str:
        """The scenario as YAML, only the fields that are set."""
        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False)

    def with_(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated again."""
        return type(self).parse({**self.model_dump(), **changes})


def describe_validation_error(exc: ValidationError) -> str:
    """One line for the first problem: ``field: what is wrong (got value)``."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if not field:  # model-level validators already name their field
        return msg
    got = err.get("input")
    return f"{field}: {msg}" + ("" if isinstance(got, dict) or got is None else f" (got {got!r})")
