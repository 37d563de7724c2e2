"""Catalogs: sourced tables of accelerators, models, regions and prices, loaded into typed records.

Each catalog is one CSV file in ``tokenfab/data`` with one record a row; every row carries
``source`` (a URL or a document with its publisher) and ``as_of`` (an ISO date). Files are read
lazily, validated strictly and cached. A bad row raises :class:`~tokenfab.errors.CatalogError`
whose one-line message names the file, the line, the field and what is allowed.

Users add or override records with their own directories (``Catalog(dirs=...)``, the CLI's
``--catalog DIR`` or the ``TOKENFAB_CATALOG`` environment variable, ``os.pathsep``-separated,
else the per-user directory :func:`user_catalog_dir` when it exists):
a file there with the same name as a built-in catalog is validated the same way; a row whose
``id`` exists replaces the built-in row, any other row is added.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tokenfab.errors import CatalogError, FileInputError, UnknownIdError, and_list
from tokenfab.fileio import CATALOG_MAX_BYTES, read_text

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._\-]*$", max_length=80)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
LayerTypes = Annotated[str, StringConstraints(pattern=r"^[FSLMPCH]+$")]
PueValue = Annotated[float, Field(ge=1.0, le=3.0)]

FP8_CHECKPOINT_16BIT_PARTS = ("attention", "ffn_first_last", "dense_ffn", "shared_experts")
"""Parts a publisher's FP8 checkpoint may keep in 16 bits (models.csv ``fp8_checkpoint_16bit``)."""


COLUMN_MAXIMA: dict[str, float] = {
    "accelerator_kgco2e": 1e5,
    "accelerators_per_instance": 1e3,
    "achieved_tb_s": 1e3,
    "achieved_tflops": 1e6,
    "active_params_b": 1e5,
    "batch": 1e5,
    "batch_input_usd_per_mtok": 1e3,
    "batch_output_usd_per_mtok": 1e4,
    "bf16_dense_tflops": 1e6,
    "bundled_years": 1e3,
    "cache_write_usd_per_mtok": 1e2,
    "cached_input_usd_per_mtok": 1e4,
    "comm_latency_us": 1e3,
    "frontend_ms": 1e4,
    "requests_per_client": 1e6,
    "runs": 1e6,
    "median_abs_error": 1e2,
    "median_abs_error_before": 1e2,
    "context_tokens": 1e9,
    "cv_max_abs_error": 1e2,
    "cv_median_abs_error": 1e2,
    "dc_capacity_gw": 1e4,
    "electricity_usd_per_kwh": 1e2,
    "electricity_usd_per_kwh_high": 1e2,
    "electricity_usd_per_kwh_low": 1e2,
    "experts_per_token": 1e3,
    "compress_ratio_dense": 1e5,  # DeepSeek-V4: 128
    "compress_ratio_sparse": 1e4,  # DeepSeek-V4: 4
    "first_dense_layers": 1e3,
    "fp4_dense_tflops": 1e7,
    "fp8_dense_tflops": 1e7,
    "fp8_checkpoint_block": 1e4,  # a scale block's edge: 128 in every published checkpoint
    "full_attention_head_dim": 1e5,  # as head_dim
    "full_attention_kv_heads": 1e5,  # as num_kv_heads
    "measured_over_predicted_high": 1e3,  # error bands (added with error_bands.csv)
    "measured_over_predicted_low": 1e3,
    "measured_over_predicted_median": 1e3,
    "residuals": 1e6,
    "grid_co2e_g_per_kwh": 1e5,
    "head_dim": 1e5,
    "hc_mult": 1e3,  # DeepSeek-V4: 4 residual streams
    "hidden_size": 1e7,
    "host_kgco2e": 1e5,
    "indexer_head_dim": 1e5,
    "indexer_num_heads": 1e4,
    "input_tokens": 1e7,
    "input_usd_per_mtok": 1e4,
    "int4_dense_tops": 1e6,
    "int8_dense_tops": 1e6,
    "intermediate_size": 1e7,
    "k": 1e7,
    "kv_lora_rank": 1e5,
    "linear_conv_kernel_dim": 1e3,
    "linear_key_head_dim": 1e5,
    "linear_num_key_heads": 1e4,
    "linear_num_value_heads": 1e4,
    "linear_value_head_dim": 1e5,
    "m_tokens": 1e7,
    "mamba_conv_kernel": 1e3,  # as linear_conv_kernel_dim
    "mamba_groups": 1e4,
    "mamba_head_dim": 1e5,
    "mamba_num_heads": 1e4,
    "mamba_state_size": 1e5,
    "max_batch_size": 1e6,
    "max_context_tokens": 1e10,
    "max_num_tokens": 1e6,
    "memory_bandwidth_tb_s": 1e7,
    "memory_gb": 1e5,
    "moe_intermediate_size": 1e7,
    "moe_layer_period": 1e3,
    "n": 1e8,
    "o_groups": 1e4,  # DeepSeek-V4: 8 and 16
    "o_lora_rank": 1e6,  # as q_lora_rank
    "num_attention_heads": 1e5,
    "num_experts": 1e5,
    "num_kv_heads": 1e5,
    "num_layers": 1e5,
    "num_shared_experts": 1e2,
    "on_demand_usd_per_accelerator_hour": 1e4,
    "on_demand_usd_per_accelerator_hour_high": 1e4,
    "on_demand_usd_per_accelerator_hour_low": 1e4,
    "output_tok_s_per_user_max": 1e5,
    "output_tok_s_per_user_min": 1e5,
    "output_tokens": 1e5,
    "output_usd_per_mtok": 1e5,
    "overhead_ms": 1e3,
    "overhead_per_sequence_us": 1e4,
    "overhead_per_layer_us": 1e3,
    "params_rounding_b": 1e2,
    "price_usd": 1e7,
    "price_usd_high": 1e7,
    "price_usd_low": 1e7,
    "q_lora_rank": 1e6,
    "qk_nope_head_dim": 1e5,
    "qk_rope_head_dim": 1e4,
    "reasoning_tokens": 1e6,
    "reasoning_usd_per_mtok": 1e5,
    "reserve_weight_share": 1e2,
    "reserved_term_months": 1e3,
    "reserved_usd_per_accelerator_hour": 1e3,
    "reserved_usd_per_accelerator_hour_high": 1e3,
    "reserved_usd_per_accelerator_hour_low": 1e3,
    "rows_fitted": 1e4,
    "runtime_reserve_gb": 1e3,
    "scaleout_bandwidth_gb_s": 1e4,
    "scaleup_bandwidth_gb_s": 1e6,
    "scaleup_domain_size": 1e6,
    "shared_expert_intermediate_size": 1e5,
    "sliding_window": 1e6,
    "sliding_window_layers": 1e4,
    "sparse_attention_topk_tokens": 1e6,
    "steps_per_task": 1e4,
    "tdp_w": 1e6,
    "tensor_parallel": 1e3,
    "time_s": 1e2,
    "total_params_b": 1e5,
    "tpot_slo_s": 1e2,
    "ttft_s_max": 1e4,
    "ttft_slo_s": 1e3,
    "usd_per_accelerator_year": 1e6,
    "usd_per_mtok": 1e5,
    "usd_per_mtok_high": 1e5,
    "usd_per_mtok_low": 1e5,
    "v_head_dim": 1e5,
    "value": 1e10,
    "value_high": 1e10,
    "value_low": 1e10,
    "vocab_size": 1e8,
}
"""Largest plausible value of each numeric catalog column that has no bound of its own (a typo
such as ``memory_gb: 8000000`` or a price in cents is refused, naming file, row and column).
Each is 100 times the largest value in the built-in catalogs when it was set, rounded up to a
power of ten (``_low``/``_high`` take their column's), so any real future part or price fits;
``tests/test_catalog.py`` checks that every such column has one."""


class Record(BaseModel):
    """A catalog row: immutable, strictly typed, with its provenance."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False
    )

    id: Id = Field(description="stable lowercase identifier")
    source: Text = Field(description="URL or document (with publisher) the row's figures come from")
    as_of: date = Field(description="date of the source (ISO 8601)")
    retrieved: date | None = Field(
        default=None,
        description="date the row's figures were read from the source (blank: the notes say why)",
    )
    notes: str | None = Field(default=None, description="free-text remarks")

    @field_validator("*", mode="after")
    @classmethod
    def _within_plausible_maxima(cls, value: Any, info: ValidationInfo) -> Any:
        most = COLUMN_MAXIMA.get(info.field_name or "")
        if most is not None and isinstance(value, int | float) and value > most:
            raise ValueError(
                f"{value:g} is above the plausible maximum {most:g} for this column "
                "(tokenfab.catalog.COLUMN_MAXIMA); check the unit"
            )
        return value

    @field_validator("as_of", "retrieved", "price_as_of", check_fields=False, mode="after")
    @classmethod
    def _not_in_the_future(cls, value: date | None) -> date | None:
        # a source's date or the day it was read cannot be after today: 2099-01-01 is a typo
        # (and would make a stale price look fresh for decades)
        today = date.today()
        if value is not None and value > today:
            raise ValueError(
                f"{value.isoformat()} is after today ({today.isoformat()}); allowed: a date on "
                "or before today"
            )
        return value

    @classmethod
    def column_maximum(cls, field: str) -> float | None:
        """The plausible maximum of a numeric column (:data:`COLUMN_MAXIMA`), the top of the
        range an error line gives as ``allowed``."""
        return COLUMN_MAXIMA.get(field) if field in cls.model_fields else None

    @model_validator(mode="after")
    def _ranges_bracket_their_values(self) -> Record:
        for name in range_fields(type(self)):
            low, high = getattr(self, f"{name}_low"), getattr(self, f"{name}_high")
            mid = getattr(self, name)
            if (low is None) != (high is None) or (low is not None and mid is None):
                raise ValueError(f"{name}_low and {name}_high come together, with {name}")
            if low is not None and not low <= mid <= high:
                raise ValueError(
                    f"{name} {mid} must lie within {name}_low {low} and {name}_high {high}"
                )
        return self


@cache
def range_fields(record: type[Record]) -> tuple[str, ...]:
    """Fields of ``record`` that may carry a published range as ``<field>_low``/``<field>_high``.

    Examples
    --------
    >>> range_fields(Region)
    ('electricity_usd_per_kwh', 'pue')
    """
    names = record.model_fields
    return tuple(
        n for n in names if f"{n}_low" in names and f"{n}_high" in names and not n.endswith("_low")
    )


def published_range(record: Record, field: str) -> tuple[float, float, float] | None:
    """``(low, value, high)`` of a field whose source gives a range, else None.

    The catalog stores the value a source states (or the midpoint of the range it gives) in
    ``field`` and the range's ends in ``field_low`` and ``field_high``; uncertainty analysis
    takes them as a field's default distribution.

    Raises
    ------
    CatalogError
        ``field`` is not a field of the record that can carry a range.

    Examples
    --------
    >>> published_range(Catalog().accelerator("b200"), "price_usd")
    (30000.0, 35000.0, 40000.0)
    """
    allowed = range_fields(type(record))
    if field not in allowed:
        raise CatalogError(
            f"{type(record).__name__.lower()}: {field!r} carries no range; allowed: "
            f"{', '.join(allowed) or 'none'}"
        )
    low = getattr(record, f"{field}_low")
    if low is None:
        return None
    return (low, getattr(record, field), getattr(record, f"{field}_high"))


class Accelerator(Record):
    """One accelerator (per GPU / per chip), with dense peak throughput per precision."""

    vendor: Text
    name: Text
    family: Id = Field(description="architecture family the efficiencies are fitted for")
    prior_family: Id | None = Field(
        None,
        description="family of the same architecture whose fitted efficiencies a software "
        "class this family has no fitted row for borrows (empty: the median of the class's "
        "fitted rows; docs/method.md 6.1)",
    )
    prior_family_source: str | None = Field(
        None, description="why prior_family is the same architecture (vendor document)"
    )
    status: Literal["shipping", "announced", "discontinued"]
    category: Literal["datacenter", "edge"]
    memory_gb: Positive = Field(description="memory capacity [GB, as the vendor quotes it]")
    memory_bandwidth_tb_s: Positive = Field(description="peak memory bandwidth [TB/s]")
    bf16_dense_tflops: Positive | None = Field(None, description="dense BF16/FP16 peak [TFLOP/s]")
    fp8_dense_tflops: Positive | None = Field(None, description="dense FP8 peak [TFLOP/s]")
    fp4_dense_tflops: Positive | None = Field(None, description="dense FP4 peak [TFLOP/s]")
    int8_dense_tops: Positive | None = Field(None, description="dense INT8 peak [TOP/s]")
    int4_dense_tops: Positive | None = Field(None, description="dense INT4 peak [TOP/s]")
    scaleup_bandwidth_gb_s: NonNegative | None = Field(
        None, description="scale-up link bandwidth per accelerator, bidirectional [GB/s]"
    )
    scaleup_domain_size: Annotated[int, Field(ge=1)] | None = Field(
        None, description="accelerators in one scale-up domain"
    )
    scaleout_bandwidth_gb_s: Positive | None = Field(
        None,
        description="link per accelerator beyond its scale-up domain (NIC or PCIe), each "
        "direction [GB/s] (empty: not public; layouts beyond one domain are then not offered)",
    )
    scaleout_source: str | None = Field(
        None, description="where the scale-out figure comes from, or why it is empty"
    )
    tdp_w: Positive | None = Field(
        None, description="maximum board/module power [W] (empty: unpublished)"
    )
    release_year: Annotated[int, Field(ge=2015, le=2035)]
    price_usd: Positive | None = Field(None, description="price per accelerator [USD]")
    price_usd_low: Positive | None = Field(
        None, description="low end of a price published as a range [USD]"
    )
    price_usd_high: Positive | None = Field(
        None, description="high end of a price published as a range [USD]"
    )
    price_kind: Literal["list", "street", "estimate"] | None = None
    price_source: str | None = None
    price_as_of: date | None = None
    # the node's non-accelerator draw per accelerator [W], set by the catalog that read the
    # row from its host-power table (:func:`tokenfab.hostpower.with_host_power`); None: not
    # read through a catalog, and :func:`tokenfab.hostpower.host_power_w` uses the built-in
    _host_power_w: float | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _price_is_sourced(self) -> Accelerator:
        if self.price_usd is not None and not (self.price_source and self.price_as_of):
            raise ValueError("price_usd needs price_source and price_as_of")
        if self.scaleout_bandwidth_gb_s is not None and not self.scaleout_source:
            raise ValueError("scaleout_bandwidth_gb_s needs scaleout_source")
        if self.prior_family is not None and not self.prior_family_source:
            raise ValueError("prior_family needs prior_family_source")
        if self.prior_family == self.family:
            raise ValueError(f"prior_family: {self.family} cannot borrow from itself")
        return self


class Model(Record):
    """Architecture of one LLM, as in its published configuration."""

    name: Text
    developer: Text
    kind: Literal["dense", "moe"]
    attention: Literal["mha", "gqa", "mla"]
    num_layers: Annotated[int, Field(ge=1)]
    hidden_size: Annotated[int, Field(ge=1)]
    num_attention_heads: Annotated[int, Field(ge=1)]
    num_kv_heads: Annotated[int, Field(ge=1)]
    head_dim: Annotated[int, Field(ge=1)]
    intermediate_size: Count | None = Field(None, description="dense FFN width")
    vocab_size: Annotated[int, Field(ge=1)]
    tie_word_embeddings: bool = False
    num_experts: Count = Field(0, description="routed experts per MoE layer")
    experts_per_token: Count = Field(0, description="routed experts each token uses (top-k)")
    num_shared_experts: Count = 0
    moe_intermediate_size: Count | None = None
    shared_expert_intermediate_size: Count | None = None
    first_dense_layers: Count = 0
    moe_layer_period: Annotated[int, Field(ge=1)] = 1
    kv_lora_rank: Count | None = None
    q_lora_rank: Count | None = None
    qk_rope_head_dim: Count | None = None
    qk_nope_head_dim: Count | None = None
    v_head_dim: Count | None = None
    sliding_window: Count | None = Field(None, description="local attention window [tokens]")
    sliding_window_layers: Count | None = Field(None, description="layers using the window")
    attention_bias: bool = False
    ffn_gated: bool = Field(True, description="FFN with gate, up and down matrices (SwiGLU/GeGLU)")
    ffn_bias: bool = Field(False, description="FFN matrices carry biases")
    attention_sinks: bool = Field(False, description="learned per-head attention-sink logits")
    attention_output_gate: bool = Field(
        False,
        description="full-attention layers gate their output (query projection twice as wide)",
    )
    layer_types: LayerTypes | None = Field(
        None,
        description="attention of each layer, one letter a layer: F full, S sliding window, "
        "L linear (constant-size state), M Mamba2 (constant-size SSM state), P a feed-forward "
        "block without token mixer; with P letters (Nemotron-H) every block holds one mixer or "
        "one FFN, not both; C compressed sparse attention (the window plus a KV cache "
        "compressed compress_ratio_sparse to one, of which an indexer picks the top-k), H "
        "heavily compressed attention (the window plus a KV cache compressed "
        "compress_ratio_dense to one, all attended); blank: every layer full, or "
        "sliding_window_layers",
    )
    compress_ratio_sparse: Count | None = Field(
        None,
        description="tokens pooled into one compressed KV entry in C layers (DeepSeek-V4's "
        "compress_ratios 4); the compressor's windows overlap (two KV widths a token)",
    )
    compress_ratio_dense: Count | None = Field(
        None,
        description="tokens pooled into one compressed KV entry in H layers (DeepSeek-V4's "
        "compress_ratios 128)",
    )
    kv_shared: bool = Field(
        False,
        description="every layer's one KV tensor serves as keys and values: no value "
        "projection, num_kv_heads x head_dim elements cached a token (DeepSeek-V4)",
    )
    o_lora_rank: Count | None = Field(
        None,
        description="rank of each group of a grouped low-rank output projection "
        "(DeepSeek-V4's o_lora_rank); empty: one full output matrix",
    )
    o_groups: Count | None = Field(
        None, description="groups of the low-rank output projection (DeepSeek-V4's o_groups)"
    )
    hc_mult: Count | None = Field(
        None,
        description="parallel residual streams of manifold-constrained hyper-connections "
        "(DeepSeek-V4's hc_mult); empty: one residual stream",
    )
    full_attention_head_dim: Count | None = Field(
        None,
        description="head width of the full-attention (F) layers where it differs from "
        "head_dim (Gemma 4's global_head_dim); empty: head_dim",
    )
    full_attention_kv_heads: Count | None = Field(
        None,
        description="KV heads of the full-attention (F) layers where they differ from "
        "num_kv_heads (Gemma 4's num_global_key_value_heads); empty: num_kv_heads",
    )
    full_attention_shared_kv: bool = Field(
        False,
        description="full-attention (F) layers use their keys as values: no value projection "
        "(Gemma 4's attention_k_eq_v)",
    )
    linear_attention: Literal["gated_deltanet"] | None = Field(
        None, description="kind of the linear-attention layers (L in layer_types)"
    )
    linear_num_key_heads: Count | None = None
    linear_num_value_heads: Count | None = None
    linear_key_head_dim: Count | None = None
    linear_value_head_dim: Count | None = None
    linear_conv_kernel_dim: Count | None = None
    mamba_num_heads: Count | None = Field(None, description="Mamba2 heads (M layers)")
    mamba_head_dim: Count | None = Field(None, description="Mamba2 head width (M layers)")
    mamba_state_size: Count | None = Field(
        None, description="Mamba2 SSM state size per head channel, d_state (M layers)"
    )
    mamba_groups: Count | None = Field(
        None, description="Mamba2 groups sharing the B and C projections (M layers)"
    )
    mamba_conv_kernel: Count | None = Field(
        None, description="width of the Mamba2 causal convolution (M layers)"
    )
    sparse_attention: Literal["dsa", "csa"] | None = Field(
        None,
        description="sparse attention: each query attends to the top-k tokens an indexer picks "
        "(dsa: DeepSeek Sparse Attention on every attention layer; csa: the C layers' "
        "indexer over the compressed entries, with its own compressor)",
    )
    sparse_attention_topk_tokens: Count | None = Field(
        None, description="tokens each query attends to under sparse attention"
    )
    indexer_num_heads: Count | None = None
    indexer_head_dim: Count | None = None
    max_context_tokens: Annotated[int, Field(ge=1)]
    native_precision: Literal["bf16", "fp16", "fp8", "mxfp4", "int4", "fp32"]
    released: date | None = Field(None, description="date the weights were published")
    total_params_b: Positive = Field(description="published total parameters [billions]")
    active_params_b: Positive = Field(description="published active parameters [billions]")
    active_params_basis: Literal[
        "with_embeddings", "without_input_embedding", "without_embeddings"
    ] = Field(
        "with_embeddings",
        description="what the published active count includes: the embedding table and the "
        "output head, the head only, or neither",
    )
    params_rounding_b: NonNegative | None = Field(
        None,
        description="half the rounding step of published counts given as rounded names "
        "(0.5 for 'A3B') [billions]; empty: the counts are exact or rounded to 3 %",
    )
    params_source: Text
    fp8_checkpoint_16bit: str | None = Field(
        None,
        description="parts the publisher's FP8 checkpoint keeps in 16 bits beyond norms, "
        "router gates, embeddings and head, ';'-separated: 'attention' (every attention "
        "projection), 'ffn_first_last' (the FFN of the first and the last layer), 'dense_ffn' "
        "(every dense-layer FFN), 'shared_experts' (the MoE shared experts); applies when "
        "served in fp8; empty: every projection is FP8",
    )

    fp8_checkpoint_block: Count | None = Field(
        None,
        description="edge of the square blocks the publisher's FP8 checkpoint scales its "
        "weights in (config.json quantization_config.weight_block_size: 128 for DeepSeek-V3 "
        "and Qwen3's FP8 releases); applies when served in fp8; empty: per-tensor or "
        "per-channel scales",
    )

    @field_validator("fp8_checkpoint_16bit")
    @classmethod
    def _known_16bit_parts(cls, v: str | None) -> str | None:
        if v:
            unknown = set(v.split(";")) - set(FP8_CHECKPOINT_16BIT_PARTS)
            if unknown:
                raise ValueError(f"unknown fp8_checkpoint_16bit parts: {sorted(unknown)}")
        return v or None

    @property
    def linear_attention_layers(self) -> int:
        """Layers with linear attention (a state of constant size per sequence)."""
        return (self.layer_types or "").count("L")

    @property
    def mamba_layers(self) -> int:
        """Mamba2 layers (M): a state of constant size per sequence."""
        return (self.layer_types or "").count("M")

    @property
    def ffn_blocks(self) -> int:
        """Feed-forward blocks without a token mixer (P, Nemotron-H); 0: every layer has both."""
        return (self.layer_types or "").count("P")

    @property
    def window_layers(self) -> int:
        """Layers with sliding-window attention (S, and the window of C and H layers)."""
        if self.layer_types:
            return sum(self.layer_types.count(x) for x in "SCH")
        return self.sliding_window_layers or 0

    @property
    def compressed_layers(self) -> tuple[int, int]:
        """Layers with a compressed KV cache: (C sparse, H dense)."""
        types = self.layer_types or ""
        return types.count("C"), types.count("H")

    @model_validator(mode="after")
    def _layers_are_consistent(self) -> Model:
        types = self.layer_types
        if types is not None:
            if len(types) != self.num_layers:
                raise ValueError(
                    f"layer_types has {len(types)} letters; num_layers is {self.num_layers}"
                )
            if set("SCH") & set(types) and not self.sliding_window:
                raise ValueError(
                    "layer_types has sliding (S) or compressed (C, H) layers but "
                    "sliding_window is empty"
                )
            if self.sliding_window_layers is not None and (
                self.sliding_window_layers != self.window_layers
            ):
                raise ValueError(
                    f"sliding_window_layers={self.sliding_window_layers} but layer_types has "
                    f"{self.window_layers} S, C and H layers"
                )
            sparse_c, dense_h = self.compressed_layers
            if sparse_c and not (self.compress_ratio_sparse and self.sparse_attention == "csa"):
                raise ValueError(
                    "compressed sparse (C) layers need compress_ratio_sparse and "
                    "sparse_attention csa"
                )
            if dense_h and not self.compress_ratio_dense:
                raise ValueError("heavily compressed (H) layers need compress_ratio_dense")
        if self.sparse_attention == "csa" and "C" not in (types or ""):
            raise ValueError("sparse_attention csa indexes the C layers: layer_types has none")
        if bool(self.o_lora_rank) != bool(self.o_groups):
            raise ValueError("o_lora_rank and o_groups come together (grouped output projection)")
        if self.o_groups and self.num_attention_heads % self.o_groups:
            raise ValueError("num_attention_heads must be a multiple of o_groups")
        if (
            self.full_attention_head_dim or self.full_attention_kv_heads
        ) or self.full_attention_shared_kv:
            if not (types and "F" in types and "S" in types):
                raise ValueError(
                    "full_attention_head_dim, full_attention_kv_heads and "
                    "full_attention_shared_kv describe the F layers of a model that mixes F "
                    "and S layers; give layer_types"
                )
            g = self.full_attention_kv_heads or self.num_kv_heads
            if self.num_attention_heads % g:
                raise ValueError(
                    f"num_attention_heads must be a multiple of full_attention_kv_heads ({g})"
                )
        if self.linear_attention_layers:
            missing = [
                f
                for f in (
                    "linear_attention",
                    "linear_num_key_heads",
                    "linear_num_value_heads",
                    "linear_key_head_dim",
                    "linear_value_head_dim",
                    "linear_conv_kernel_dim",
                )
                if not getattr(self, f)
            ]
            if missing:
                raise ValueError(f"linear-attention layers (L) need {', '.join(missing)}")
        if self.mamba_layers:
            missing = [
                f
                for f in (
                    "mamba_num_heads",
                    "mamba_head_dim",
                    "mamba_state_size",
                    "mamba_groups",
                    "mamba_conv_kernel",
                )
                if not getattr(self, f)
            ]
            if missing:
                raise ValueError(f"Mamba2 layers (M) need {', '.join(missing)}")
        if self.ffn_blocks and (self.first_dense_layers or self.moe_layer_period != 1):
            raise ValueError(
                "feed-forward blocks (P) are all MoE (kind moe) or all dense: "
                "first_dense_layers must be 0 and moe_layer_period 1"
            )
        if self.ffn_blocks and self.ffn_blocks == self.num_layers:
            raise ValueError(
                "layer_types: every block is a feed-forward block (P); none mixes tokens"
            )
        if self.sparse_attention and not (
            self.sparse_attention_topk_tokens and self.indexer_num_heads and self.indexer_head_dim
        ):
            raise ValueError(
                "sparse_attention needs sparse_attention_topk_tokens, indexer_num_heads, "
                "indexer_head_dim"
            )
        return self

    @model_validator(mode="after")
    def _moe_is_complete(self) -> Model:
        if self.kind == "moe":
            if not (self.num_experts and self.experts_per_token and self.moe_intermediate_size):
                raise ValueError(
                    "a moe model needs num_experts, experts_per_token, moe_intermediate_size"
                )
            if self.experts_per_token > self.num_experts:
                raise ValueError("experts_per_token exceeds num_experts")
        if self.attention == "mla" and not (self.kv_lora_rank and self.qk_rope_head_dim):
            raise ValueError("an mla model needs kv_lora_rank and qk_rope_head_dim")
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError("num_attention_heads must be a multiple of num_kv_heads")
        return self


class Region(Record):
    """Electricity price, grid carbon intensity and data-centre efficiency of one region."""

    name: Text
    parent: Id | None = None
    electricity_usd_per_kwh: Positive = Field(description="industrial electricity price [USD/kWh]")
    grid_co2e_g_per_kwh: NonNegative = Field(description="grid carbon intensity [gCO2e/kWh]")
    grid_co2e_year: Annotated[int, Field(ge=2000, le=2035)]
    renewable_share: Fraction | None = Field(
        None, description="share of generation from renewables [0-1] (empty: not sourced)"
    )
    electricity_usd_per_kwh_low: Positive | None = Field(
        None, description="low end of the price where the source gives a range [USD/kWh]"
    )
    electricity_usd_per_kwh_high: Positive | None = Field(
        None, description="high end of the price where the source gives a range [USD/kWh]"
    )
    pue: PueValue = Field(description="power usage effectiveness")
    pue_low: PueValue | None = Field(None, description="low end of a published PUE range")
    pue_high: PueValue | None = Field(None, description="high end of a published PUE range")
    pue_source: str | None = Field(
        None, description="where a regional PUE comes from (empty: the row's source)"
    )
    dc_capacity_gw: NonNegative | None = Field(None, description="data-centre capacity [GW]")


class ApiPrice(Record):
    """A provider's list price for a model, effective from a date."""

    provider: Text
    model_name: Text
    model_id: Id | None = Field(
        None, description="tokenfab model id when the model is in the catalog"
    )
    input_usd_per_mtok: NonNegative
    output_usd_per_mtok: NonNegative
    cached_input_usd_per_mtok: NonNegative | None = Field(
        None, description="price of input tokens read from the provider's prompt cache"
    )
    cache_write_usd_per_mtok: NonNegative | None = Field(
        None, description="price of input tokens written to the prompt cache"
    )
    reasoning_usd_per_mtok: NonNegative | None = Field(
        None, description="price of reasoning tokens where it differs from output"
    )
    batch_input_usd_per_mtok: NonNegative | None = Field(
        None, description="input price through the provider's batch (asynchronous) API"
    )
    batch_output_usd_per_mtok: NonNegative | None = Field(
        None, description="output price through the provider's batch API"
    )
    context_tokens: Annotated[int, Field(ge=1)] | None = None
    effective_date: date = Field(
        description="date the price took effect; the latest row per provider and model is "
        "current, earlier ones are history"
    )


class CloudRental(Record):
    """A cloud provider's price for renting one accelerator for an hour."""

    provider: Text
    accelerator_id: Id
    instance_type: Text
    accelerators_per_instance: Annotated[int, Field(ge=1)]
    on_demand_usd_per_accelerator_hour: Positive | None = None
    on_demand_usd_per_accelerator_hour_low: Positive | None = Field(
        None, description="low end where the provider publishes a price range [USD/h]"
    )
    on_demand_usd_per_accelerator_hour_high: Positive | None = Field(
        None, description="high end where the provider publishes a price range [USD/h]"
    )
    reserved_usd_per_accelerator_hour: Positive | None = None
    reserved_usd_per_accelerator_hour_low: Positive | None = Field(
        None, description="low end of a published reserved-price range [USD/h]"
    )
    reserved_usd_per_accelerator_hour_high: Positive | None = Field(
        None, description="high end of a published reserved-price range [USD/h]"
    )
    reserved_term_months: Annotated[int, Field(ge=1)] | None = None
    location: str | None = None

    @model_validator(mode="after")
    def _has_a_price(self) -> CloudRental:
        if self.on_demand_usd_per_accelerator_hour is None and (
            self.reserved_usd_per_accelerator_hour is None
        ):
            raise ValueError("a rental needs an on-demand or a reserved price")
        return self


class PriceTier(Record):
    """A token price tier of the AI-factory framework (free to ultra)."""

    name: Text
    usd_per_mtok: NonNegative
    usd_per_mtok_low: NonNegative | None = Field(
        None, description="low end where the source quotes the tier's price as a range"
    )
    usd_per_mtok_high: NonNegative | None = Field(
        None, description="high end where the source quotes the tier's price as a range"
    )
    output_tok_s_per_user_min: NonNegative | None = None
    output_tok_s_per_user_max: NonNegative | None = None
    share_of_power: Fraction
    price_basis: str | None = Field(
        None, description="what usd_per_mtok prices: output tokens, blended, or not stated"
    )
    ttft_s_max: Positive | None = Field(None, description="time to first token the tier allows [s]")
    example_model: str | None = None
    context_tokens: Annotated[int, Field(ge=1)] | None = None


class Workload(Record):
    """Token lengths, steps and latency targets of one kind of use."""

    name: Text
    input_tokens: Annotated[int, Field(ge=1)]
    output_tokens: Annotated[int, Field(ge=1)]
    reasoning_tokens: Count = 0
    steps_per_task: Annotated[float, Field(ge=1)] = 1.0
    prefix_cache_hit_rate: Fraction | None = None
    ttft_slo_s: Positive | None = None
    tpot_slo_s: Positive | None = None


class CostAssumption(Record):
    """A default of the ownership cost model, with its unit."""

    value: NonNegative
    value_low: NonNegative | None = Field(None, description="low end of a published range")
    value_high: NonNegative | None = Field(None, description="high end of a published range")
    unit: Literal[
        "years",
        "fraction",
        "fraction_per_year",
        "usd_per_mw",
        "usd_per_accelerator_year",
        "usd_per_accelerator_hour",
        "usd_per_kwh",
        "ratio",
    ]
    description: Text


def _id_list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(";") if v.strip())


class SoftwareLicence(Record):
    """A paid software licence per accelerator-year, what it covers and where it is bundled."""

    vendor: Text
    product: Text
    usd_per_accelerator_year: NonNegative
    accelerators: str | None = Field(
        None, description="accelerator ids the licence covers, ';'-separated (empty: any)"
    )
    engines: str | None = Field(
        None, description="serving-software ids the licence covers, ';'-separated (empty: any)"
    )
    bundled_with: str | None = Field(
        None,
        description="accelerator ids sold with the licence included, ';'-separated",
    )
    bundled_years: Positive | None = Field(
        None, description="years of subscription the bundle includes [year]"
    )

    def covers_accelerator(self, accelerator_id: str) -> bool:
        ids = _id_list(self.accelerators)
        return not ids or accelerator_id in ids

    def covers_engine(self, software_id: str) -> bool:
        ids = _id_list(self.engines)
        return not ids or software_id in ids

    def bundled(self, accelerator_id: str) -> bool:
        return accelerator_id in _id_list(self.bundled_with)


class GpuMeasurement(Record):
    """A measurement taken on an accelerator with bench/gpu_measure.py."""

    accelerator_id: Id
    kind: Literal["hbm_bandwidth", "gemm", "decode_step", "prefill"]
    model_id: Id | None = None
    dtype: str | None = None
    tensor_parallel: Annotated[int, Field(ge=1)] | None = None
    m_tokens: Count | None = None
    n: Count | None = None
    k: Count | None = None
    batch: Count | None = None
    context_tokens: Count | None = None
    time_s: Positive
    achieved_tflops: NonNegative | None = None
    achieved_tb_s: NonNegative | None = None


class ServingSoftware(Record):
    """Documented memory and batching defaults of a class of serving software."""

    name: Text
    memory_utilization: Fraction = Field(
        description="share of accelerator memory the engine may use"
    )
    memory_utilization_rule: Literal["fixed", "sglang_tp"] = Field(
        "fixed",
        description="how the default memory share depends on the layout: fixed (the same at "
        "every TP size) or sglang_tp (SGLang's mem_fraction_static, memory_utilization at TP 1, "
        "lower from TP 2, 4, 8 and 16)",
    )
    kv_memory_fraction: Fraction = Field(
        description="share of memory left after weights given to KV"
    )
    runtime_reserve_gb: NonNegative = Field(
        description="fixed memory kept from the KV cache: context, workspaces [GB]"
    )
    reserve_weight_share: NonNegative = Field(
        0.0, description="memory kept from the KV cache per byte of weights held [-]"
    )
    profiles_activations: bool = Field(
        False,
        description="the engine profiles a max_num_tokens forward step and keeps its "
        "activations from the KV cache",
    )
    max_num_tokens: Annotated[int, Field(ge=1)] = Field(
        description="tokens one engine step may carry"
    )
    max_batch_size: Annotated[int, Field(ge=1)] = Field(description="sequences one engine may hold")
    kv_reserve_output_share: Fraction = Field(
        description="share of the output length a sequence reserves in KV up front"
    )
    comm_latency_us: NonNegative = Field(
        description="latency of one small all-reduce over two ranks [us]"
    )
    vendors: str | None = Field(
        None,
        description="accelerator vendors the engine runs on, ';'-separated (empty: any)",
    )
    expert_parallel_uneven: bool = Field(
        False,
        description="expert parallelism may split the routed experts unevenly over its ranks",
    )
    kv_head_rule: Literal["divide_or_replicate", "ceil"] = Field(
        "divide_or_replicate",
        description="how tensor parallelism shares KV heads: divide_or_replicate (KV heads "
        "divide over TP ranks, or TP ranks over KV heads, which are then replicated) or ceil "
        "(each rank holds ceil(KV heads / TP))",
    )
    layout_source: str | None = Field(
        None, description="engine code or docs the vendor and layout rules come from"
    )
    fp8_kv_as_storage: bool = Field(
        False,
        description="stores an FP8 KV cache on chips without FP8 math, converting it to 16 bits",
    )
    kv_default: Literal["model_dtype", "weights"] = Field(
        "weights",
        description="KV format when none is given: the model's 16-bit dtype (vLLM 'auto') or "
        "the one that goes with the weight format",
    )
    pads_mxfp4_experts: bool = Field(
        False,
        description="loads MXFP4 experts padded to its MoE kernels' layout (vLLM: Triton on "
        "Hopper, Marlin on Ampere; perf.memory.mxfp4_expert_loaded_bytes)",
    )
    amd_long_context_memory_factor: Fraction | None = Field(
        None,
        description="factor on memory_utilization on AMD accelerators for a model whose context "
        "exceeds 8,192 tokens, when none is given (SGLang's aiter attention backend: 0.85); "
        "empty: none",
    )

    def runs_on(self, vendor: str) -> bool:
        """Whether the engine supports accelerators of ``vendor`` (case-insensitive)."""
        if not self.vendors:
            return True
        return vendor.lower() in {v.lower() for v in _id_list(self.vendors)}

    def vendor_names(self) -> str:
        """The vendors as a sentence writes them: ``NVIDIA, AMD and Intel`` (the CSV's
        ``NVIDIA;AMD;Intel``), ``any vendor's`` when the column is empty."""
        return and_list(_id_list(self.vendors)) or "any vendor's"


class Efficiency(Record):
    """Achieved share of the peaks, fitted per accelerator family and software class."""

    family: Id
    software: Id
    compute_efficiency: Annotated[float, Field(gt=0, le=1)] = Field(
        description="achieved share of the 16-bit dense peak in matrix products (the rate of "
        "BF16 and FP16 weights, and of weight-only formats, which multiply at it)"
    )
    compute_efficiency_8bit: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        description="the same for formats whose products run at the FP8 or INT8 rate "
        "(blank: compute_efficiency)",
    )
    compute_efficiency_4bit: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        description="the same for formats whose products run at the FP4 rate "
        "(blank: compute_efficiency)",
    )
    compute_efficiency_8bit_block: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        description="the same for FP8 weights with block scales (DeepSeek-V3, Qwen3 FP8 "
        "checkpoints) on chips whose tensor cores do not apply block scales, where the scales "
        "are applied on the CUDA cores between K-blocks (blank: compute_efficiency_8bit)",
    )
    bw_efficiency: Annotated[float, Field(gt=0, le=1)]
    comm_efficiency: Annotated[float, Field(gt=0, le=2)] = Field(
        description="collective bandwidth relative to a ring over the link (above 1: in-switch reduction)"
    )
    moe_efficiency: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="routed-expert GEMMs' share of the dense efficiencies"
    )
    kv_efficiency: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="KV-cache reads' share of the weight-streaming bandwidth efficiency"
    )
    overhead_ms: NonNegative = Field(description="fixed cost of one engine step [ms]")
    overhead_per_sequence_us: NonNegative = Field(
        0.0, description="step cost per sequence in the batch [us]"
    )
    overhead_per_layer_us: NonNegative = Field(
        0.0,
        description=(
            "step cost per dense GQA layer's kernel launches; other layers in proportion to"
            " their kernels [us]"
        ),
    )
    rows_fitted: Count
    cv_median_abs_error: NonNegative | None = None
    cv_max_abs_error: NonNegative | None = None
    models_fitted: str | None = Field(
        None,
        description="model ids the row was fitted to, ';'-separated (blank: not recorded); an "
        "estimate of another model takes the leave-one-model-family-out error band",
    )


class ErrorBand(Record):
    """How far measurements fell from held-out predictions: the error band of an estimate.

    ``measured_over_predicted_low`` / ``_high`` are the quantiles of measured / predicted of
    runs a fit never saw (grouped cross-validation, ``bench/bench_accuracy.py``) that enclose
    the ``coverage`` share of them; an estimate's band is its prediction times the two.
    ``measured_over_predicted_median`` is their median (1: the model is unbiased on them);
    Monte Carlo samples the model's error as a split lognormal through the three
    (:func:`tokenfab.uncertainty.default_distributions`).
    """

    split: Literal["configuration", "model_family", "accelerator_family"] = Field(
        description="how the runs were held out: by configuration (a calibrated family and "
        "model), leave one model family out (a model the family was not fitted to), leave one "
        "accelerator family out (an uncalibrated family)"
    )
    metric: Literal["ttft_s", "ttft_s_concurrent", "tpot_s", "output_tok_s"] = Field(
        description="the figure: TTFT at a fixed batch or an open-loop load, TTFT under "
        "closed-loop client concurrency, TPOT, output throughput"
    )
    coverage: Annotated[float, Field(gt=0, lt=1)] = Field(
        description="share of held-out runs the band encloses (0.9: the 5th to 95th percentile)"
    )
    measured_over_predicted_low: Positive
    measured_over_predicted_high: Positive
    measured_over_predicted_median: Positive | None = Field(
        None,
        description="median of the held-out runs' measured / predicted (blank: not recorded; "
        "Monte Carlo then takes 1)",
    )
    residuals: Count = Field(description="held-out runs the quantiles were taken over")
    holdout_coverage: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="share of each fold's held-out runs inside the band taken from the other "
        "folds' residuals (how well the band carries to new runs)",
    )


class ClosedLoop(Record):
    """What a closed-loop benchmark adds to an engine's first token: the server's front end and
    the first wave of clients (:func:`tokenfab.perf.serving.closed_loop_ttft_s`).

    Fitted per serving-software class (the row's ``id``) to the TTFT of closed-loop runs
    (``bench/bench_accuracy.py``, :mod:`tokenfab.calibrate.closed_loop`), within stated bounds.
    """

    frontend_ms: NonNegative = Field(
        description="time a request spends in the server's front end (HTTP, tokenisation, "
        "scheduling, the first token's stream) [ms]"
    )
    requests_per_client: Annotated[float, Field(ge=1)] = Field(
        description="requests each client sends in a measured run; the first wave, sent at "
        "once, is 1 / this of them [-]"
    )
    runs: Count = Field(description="closed-loop TTFT measurements the constants were fitted to")
    median_abs_error_before: NonNegative | None = Field(
        None, description="median |predicted / measured - 1| without the two terms"
    )
    median_abs_error: NonNegative | None = Field(
        None, description="median |predicted / measured - 1| with them (in sample)"
    )


class HostPower(Record):
    """Non-accelerator power of the system that carries one accelerator, per accelerator
    (``host_power.csv``; :mod:`tokenfab.hostpower`). The row's id is the accelerator's."""

    system: str = Field(description="system the figure is for")
    accelerators_per_system: Positive = Field(le=1e6, description="accelerators in the system [-]")
    system_max_power_w: Positive = Field(le=1e7, description="system's maximum input power [W]")
    accelerator_tdp_w: NonNegative = Field(le=1e6, description="TDP of one accelerator in it [W]")
    host_power_w: NonNegative = Field(
        le=1e6, description="(system max − accelerators' TDP) / accelerators [W]"
    )


@dataclass(frozen=True)
class Table:
    """How one catalog is stored: its file name and its record type."""

    name: str
    filename: str
    record: type[Record]
    title: str
    references: tuple[tuple[str, str], ...] = ()  # (field, table it must name an id of)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("accelerators", "accelerators.csv", Accelerator, "Accelerators"),
        Table("models", "models.csv", Model, "Models"),
        Table("regions", "regions.csv", Region, "Regions", (("parent", "regions"),)),
        Table("api-prices", "api_prices.csv", ApiPrice, "API prices", (("model_id", "models"),)),
        Table(
            "rentals",
            "cloud_rental.csv",
            CloudRental,
            "Cloud rental prices",
            (("accelerator_id", "accelerators"),),
        ),
        Table("tiers", "price_tiers.csv", PriceTier, "Token price tiers"),
        Table("workloads", "workloads.csv", Workload, "Workloads"),
        Table(
            "cost-assumptions", "cost_assumptions.csv", CostAssumption, "Ownership-cost defaults"
        ),
        Table("software", "serving_software.csv", ServingSoftware, "Serving software"),
        Table("licences", "software_licences.csv", SoftwareLicence, "Software licences"),
        Table(
            "efficiency",
            "efficiency.csv",
            Efficiency,
            "Fitted efficiencies",
            (("software", "software"),),
        ),
        Table("error-bands", "error_bands.csv", ErrorBand, "Error bands"),
        Table("closed-loop", "closed_loop.csv", ClosedLoop, "Closed-loop TTFT terms"),
        Table("host-power", "host_power.csv", HostPower, "Host power per accelerator"),
        Table(
            "gpu-measurements",
            "gpu_measurements.csv",
            GpuMeasurement,
            "GPU measurements",
            (("accelerator_id", "accelerators"), ("model_id", "models")),
        ),
    )
}


def _table(name: str) -> Table:
    if name not in TABLES:
        raise CatalogError(f"catalog: unknown catalog {name!r}; allowed: {', '.join(TABLES)}")
    return TABLES[name]


def _describe_error(err: dict[str, Any], record: Any = None) -> str:
    """One line for a row's first problem, in the words every tokenfab error uses
    (:func:`tokenfab.scenario.describe_error`; the range from ``record``'s field)."""
    from tokenfab.scenario import describe_error

    if not err["loc"]:  # a row-level validator already names its field
        return err["msg"].removeprefix("Value error, ")
    return describe_error(err, record)


def read_records(path: Path, record: type[Record]) -> list[tuple[int, Record]]:
    """Read and validate one catalog file.

    Parameters
    ----------
    path : Path
        CSV file with a header row; empty cells mean "not given".
    record : type[Record]
        The record type every row must validate as.

    Returns
    -------
    list of (line number, record)

    Raises
    ------
    CatalogError
        ``file:line: field: what is allowed`` for the first bad row, a missing or unknown
        column, or a duplicate id.
    """
    fields = record.model_fields
    required = {n for n, f in fields.items() if f.is_required()}
    try:
        text = read_text(path, what="catalog file", max_bytes=CATALOG_MAX_BYTES)
    except FileInputError as exc:
        raise CatalogError(str(exc)) from None
    try:
        with io.StringIO(text, newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            unknown = [c for c in header if c not in fields]
            if unknown:
                raise CatalogError(
                    f"{path}:1: unknown column {unknown[0]!r} (a field name with an unknown unit?); "
                    f"allowed: {', '.join(fields)}"
                )
            missing = sorted(required - set(header))
            if missing:
                raise CatalogError(f"{path}:1: missing column {missing[0]!r}")
            rows: list[tuple[int, Record]] = []
            seen: dict[str, int] = {}
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise CatalogError(f"{path}:{line}: row has {len(header)} columns expected")
                values = {k: v for k, v in row.items() if v is not None and v.strip() != ""}
                try:
                    rec = record.model_validate(values)
                except ValidationError as exc:
                    raise CatalogError(
                        f"{path}:{line}: {_describe_error(exc.errors()[0], record)}"
                    ) from None
                if rec.id in seen:
                    raise CatalogError(
                        f"{path}:{line}: id: duplicate id {rec.id!r} (first at line {seen[rec.id]})"
                    )
                seen[rec.id] = line
                rows.append((line, rec))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise CatalogError(f"{path}: not valid CSV ({exc})") from None
    return rows


def builtin_dir() -> Path:
    """Directory of the catalogs shipped with tokenfab."""
    return Path(str(resources.files("tokenfab") / "data"))


def nearest(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The ids closest to ``word``, best first (for "did you mean" hints); case aside, as ids
    are lower case ("US" named no region: "us" is one character from it only in case).

    >>> nearest("US", ["us", "eu", "japan"])[0]
    'us'
    """
    choices = list(choices)
    if word.lower() != word and word.lower() in choices:
        return [word.lower()]
    close = difflib.get_close_matches(word, choices, n=n, cutoff=0.4)
    return close or [c for c in choices if word and word.split("-")[0] in c][:n]


def _check_catalog_files(directory: Path) -> None:
    """Refuse a CSV file in a user catalog directory that no catalog reads: a misspelt name
    (``accelerator.csv``) or a built-in-only table (``embodied_carbon.csv``) was ignored, so
    the user's rows silently did not apply.

    Raises
    ------
    CatalogError
        ``catalog: DIR/NAME.csv is not a catalog file; allowed: ...`` with the nearest names.
    """
    allowed = sorted(t.filename for t in TABLES.values())
    try:
        names = sorted(p.name for p in directory.iterdir() if p.suffix.lower() == ".csv")
    except OSError as exc:
        raise CatalogError(f"catalog: {directory}: cannot list it ({exc.strerror})") from None
    for name in names:
        if name in allowed:
            continue
        if (builtin_dir() / name).is_file():
            raise CatalogError(
                f"catalog: {directory / name}: tokenfab reads {name} from its built-in data "
                f"only; a catalog directory may hold {', '.join(allowed)}"
            )
        near = difflib.get_close_matches(name, allowed, n=1, cutoff=0.8)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise CatalogError(
            f"catalog: {directory / name} is not a catalog file tokenfab reads{hint}; "
            f"allowed: {', '.join(allowed)}"
        )


class Catalog:
    """The built-in catalogs plus any user directories, loaded lazily and cached.

    Parameters
    ----------
    dirs : sequence of path, optional
        User directories whose catalog files override or extend the built-in ones, in order.

    Examples
    --------
    >>> cat = Catalog()
    >>> cat.get("accelerators", "h100-sxm").memory_bandwidth_tb_s
    3.35
    """

    def __init__(self, dirs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.dirs = tuple(Path(d) for d in dirs)
        for d in self.dirs:
            if not d.is_dir():
                raise CatalogError(f"catalog: {d} is not a directory")
            _check_catalog_files(d)
        self._tables: dict[str, Mapping[str, Record]] = {}
        self._where: dict[str, dict[str, str]] = {}

    def table(self, name: str) -> Mapping[str, Record]:
        """All records of one catalog, by id, built-in first then user overrides.

        The mapping is read-only and its records are frozen: the catalog is cached and shared
        (:func:`default_catalog`), so a caller cannot change what the next lookup returns.
        Copy it (``dict(cat.table(name))``) to build a modified table.
        """
        if name not in self._tables:
            self._tables[name] = MappingProxyType(self._load(_table(name)))
        return self._tables[name]

    def _load(self, table: Table) -> dict[str, Record]:
        records: dict[str, Record] = {}
        where: dict[str, str] = {}
        paths = [builtin_dir() / table.filename] + [d / table.filename for d in self.dirs]
        for i, path in enumerate(paths):
            if i > 0 and not path.exists():
                continue
            for line, rec in read_records(path, table.record):
                records[rec.id] = rec
                where[rec.id] = f"{path}:{line}"
        for field, other in table.references:
            known = self.table(other) if other != table.name else records
            for rid, rec in records.items():
                ref = getattr(rec, field)
                if ref is not None and ref not in known:
                    hint = ", ".join(nearest(ref, known)) or "none"
                    raise CatalogError(
                        f"{where[rid]}: {field}: unknown {other} id {ref!r}; nearest: {hint}"
                    )
        self._where[table.name] = where
        if table.name == "accelerators":  # each with its node's host power, from this catalog
            from tokenfab.hostpower import with_host_power

            records = with_host_power(records, self.table("host-power"))
        return records

    def get(self, name: str, record_id: str) -> Any:
        """One record by id; an unknown id raises :class:`~tokenfab.errors.UnknownIdError`
        with the nearest valid ids (the CLI and the API name the field that gave it)."""
        records = self.table(name)
        try:
            return records[record_id]
        except KeyError:
            near = nearest(record_id, records)
            hint = f"; did you mean: {', '.join(near)}?" if near else ""
            singular = _table(name).title.lower()
            detail = f" in {singular}{hint} (list them with `tokenfab catalog {name}`)"
            raise UnknownIdError(
                f"{name}: unknown id {record_id!r}{detail}",
                table=name,
                record_id=record_id,
                detail=detail,
            ) from None

    def where(self, name: str, record_id: str) -> str:
        """``file:line`` a record was read from."""
        self.get(name, record_id)  # unknown id: CatalogError with the nearest ids
        return self._where[name][record_id]

    def accelerator(self, record_id: str) -> Accelerator:
        return self.get("accelerators", record_id)

    def model(self, record_id: str) -> Model:
        return self.get("models", record_id)

    def region(self, record_id: str) -> Region:
        return self.get("regions", record_id)

    def workload(self, record_id: str) -> Workload:
        return self.get("workloads", record_id)


def user_catalog_dir() -> Path:
    """The per-user catalog directory that every command reads when it exists.

    ``platformdirs.user_data_dir("tokenfab") / "catalog"`` (on Linux
    ``$XDG_DATA_HOME/tokenfab/catalog``, by default ``~/.local/share/tokenfab/catalog``).
    ``tokenfab catalog import-model`` and ``import-prices`` write there unless ``--catalog``
    or ``TOKENFAB_CATALOG`` names another directory.
    """
    return _user_catalog_dir(*(os.environ.get(k) for k in _DATA_DIR_ENV))


_DATA_DIR_ENV = ("XDG_DATA_HOME", "HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA")
"""The environment variables platformdirs derives the per-user data directory from (Linux,
macOS, Windows): :func:`user_catalog_dir` is cached on their values, so a test or a process
that changes them gets the new directory."""


@cache
def _user_catalog_dir(*env: str | None) -> Path:
    return Path(platformdirs.user_data_dir("tokenfab", appauthor=False)) / "catalog"


def user_dirs_from_env() -> tuple[str, ...]:
    """Directories named by ``TOKENFAB_CATALOG`` (``os.pathsep``-separated), else the per-user
    catalog directory when it exists."""
    value = os.environ.get("TOKENFAB_CATALOG", "")
    named = tuple(p for p in value.split(os.pathsep) if p)
    if named:
        return named
    default = user_catalog_dir()
    return (str(default),) if default.is_dir() else ()


@cache
def _cached_catalog(dirs: tuple[str, ...]) -> Catalog:
    return Catalog(dirs)


def default_catalog(dirs: Sequence[str] = ()) -> Catalog:
    """The catalog with ``dirs`` (or ``TOKENFAB_CATALOG``) as overrides, cached per directory set."""
    return _cached_catalog(tuple(dirs) or user_dirs_from_env())


def months_between(earlier: date, later: date) -> float:
    """Whole and partial months from ``earlier`` to ``later`` (30.44-day months)."""
    return (later - earlier).days / 30.4375


def record_date(record: Record) -> date:
    """The date a row's figures hold for: a price's own date where the row has one."""
    return getattr(record, "price_as_of", None) or record.as_of


@dataclass(frozen=True)
class StaleRow:
    """One catalog row whose source is older than a limit."""

    table: str
    id: str
    as_of: date
    retrieved: date | None
    age_months: float


def stale_rows(
    catalog: Catalog, months: float, today: date, tables: Iterable[str] | None = None
) -> list[StaleRow]:
    """Rows whose ``as_of`` is more than ``months`` before ``today``, oldest first.

    Parameters
    ----------
    catalog : Catalog
    months : float
        Age limit [months of 30.44 days]; must be positive.
    today : date
        The clock (injected, so tests and reports are reproducible).
    tables : iterable of str, optional
        Catalog names; default: every catalog.
    """
    if not months > 0:
        raise CatalogError(f"stale: months must be positive, got {months!r}")
    out: list[StaleRow] = []
    for name in tables or TABLES:
        for rec in catalog.table(name).values():
            age = months_between(rec.as_of, today)
            if age > months:
                out.append(StaleRow(name, rec.id, rec.as_of, rec.retrieved, round(age, 1)))
    return sorted(out, key=lambda r: (r.as_of, r.table, r.id))


PRICE_STALE_MONTHS = 12.0
"""A price older than this is flagged wherever an estimate uses it."""


def stale_price_warning(what: str, priced_on: date | None, today: date) -> str | None:
    """One line when a price used by an estimate is older than :data:`PRICE_STALE_MONTHS`.

    Examples
    --------
    >>> stale_price_warning("h100-sxm price", date(2023, 2, 23), date(2026, 11, 30))
    'h100-sxm price is from 2023-02-23, 45.2 months old (over 12): check a current source'
    >>> stale_price_warning("x", date(2026, 6, 1), date(2026, 11, 30)) is None
    True
    """
    if priced_on is None:
        return None
    age = months_between(priced_on, today)
    if age <= PRICE_STALE_MONTHS:
        return None
    return (
        f"{what} is from {priced_on.isoformat()}, {age:.1f} months old "
        f"(over {PRICE_STALE_MONTHS:.0f}): check a current source"
    )


def estimate_price_dates(estimate: Any, catalog: Catalog) -> dict[str, date | None]:
    """The dates of the prices an estimate used, by what they price.

    The purchase price of the accelerator (``buy``) or the rental offer it was costed at
    (``rent``), the region's electricity price (the region row's ``as_of``), and the API
    price it is compared with.
    """
    setup = estimate.op.setup
    acc = setup.accelerator
    dates: dict[str, date | None] = {}
    if estimate.cost is not None:
        if estimate.scenario.ownership == "rent":
            from tokenfab.cost import cheapest_rental

            rental = cheapest_rental(catalog, acc.id).rental
            dates[f"rental price of {acc.id} ({rental.id})"] = rental.as_of
        else:
            dates[f"purchase price of {acc.id}"] = acc.price_as_of
        dates[f"electricity price of region {estimate.region.id}"] = estimate.region.as_of
    pools = getattr(estimate, "pools", None)
    if estimate.cost is not None and pools is not None:  # the prefill pool's price too
        pre = pools.prefill.accelerator
        if estimate.scenario.ownership == "rent":
            from tokenfab.cost import cheapest_rental

            rental = cheapest_rental(catalog, pre.id).rental
            dates[f"rental price of {pre.id} ({rental.id})"] = rental.as_of
        else:
            dates[f"purchase price of {pre.id}"] = pre.price_as_of
    if estimate.api is not None:
        dates[f"API price {estimate.api.price.id}"] = estimate.api.price.effective_date
    return dates


def stale_price_warnings(dates: dict[str, date | None], today: date) -> list[str]:
    """One line for each price older than :data:`PRICE_STALE_MONTHS` at ``today``."""
    lines = (stale_price_warning(what, when, today) for what, when in dates.items())
    return [line for line in lines if line]
