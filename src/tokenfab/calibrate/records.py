"""The typed measurement record every importer produces, and the names it resolves.

One :class:`Measurement` is one measured run: a model on a number of accelerators under one
serving engine, layout and load, with what was measured (TTFT, TPOT, output throughput). An
importer that cannot map a record returns an :class:`Issue` (``file:line: reason``) instead;
nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tokenfab.catalog import Catalog
from tokenfab.errors import TokenfabError


class MeasurementFileError(TokenfabError):
    """A measurement file cannot be read at all (missing, not JSON/CSV, unknown format)."""


ENGINES = ("trtllm", "sglang", "vllm", "other")
"""Serving engine classes of a measurement; ``other`` is an engine tokenfab does not model,
given as ``other`` (:func:`engine_class`), fitted as vLLM's class."""

MODES = ("agg", "disagg")


@dataclass(frozen=True)
class Layout:
    """Parallel layout of one serving instance (one pool of a disaggregated run).

    ``attention_dp`` ranks each hold a copy of attention; ``moe_tp`` × ``moe_ep`` split the
    experts. An instance spans ``pp × max(tp × attention_dp, moe_tp × moe_ep)`` accelerators
    (the AIConfigurator convention: attention and MoE layers cover the same ranks).
    """

    tp: int = 1
    pp: int = 1
    attention_dp: int = 1
    moe_tp: int = 1
    moe_ep: int = 1
    workers: int = 1

    @property
    def accelerators_per_instance(self) -> int:
        return self.pp * max(self.tp * self.attention_dp, self.moe_tp * self.moe_ep)

    @property
    def accelerators(self) -> int:
        return self.workers * self.accelerators_per_instance


@dataclass(frozen=True)
class Measurement:
    """One measured serving run, mapped onto catalog ids.

    Attributes
    ----------
    source : str
        ``file:line`` (or ``file:record N`` for JSON) the record came from.
    model, accelerator : str
        Catalog ids; ``model_name`` keeps the name as the file gave it.
    engine, engine_version, era : str
        Engine (one of :data:`ENGINES`), its version as given, and the version era
        ``major.minor`` (``"unknown"`` where no version is stated or it has no major.minor).
    precision : str
        Weight format (a row of ``data/precisions.csv``); ``kv_precision`` ``None`` means the
        table's default for the weights.
    isl, osl : float
        Mean input and output tokens per request.
    concurrency : float or None
        Closed-loop client concurrency (``--max-concurrency``); ``batch`` the engine batch where
        the file fixes it. ``offline``: all requests queued at once (the engine chose the batch).
    layout : Layout
        The serving instance (aggregated) or the decode pool (disaggregated);
        ``prefill_layout`` the prefill pool of a disaggregated run.
    ttft_s, tpot_s, output_tok_s : float or None
        Measured mean time to first token [s], mean time per output token after the first [s],
        and output tokens per second summed over all ``accelerators`` [token/s].
    fp8_block : bool or None
        FP8 weights with one scale per block, as the file states it (:func:`fp8_block_of`);
        ``None``: not stated, the model's published FP8 checkpoint decides (the catalog's
        ``fp8_checkpoint_block``).
    """

    source: str
    model: str
    model_name: str
    accelerator: str
    accelerators: int
    engine: str
    engine_version: str
    era: str
    precision: str
    kv_precision: str | None
    isl: float
    osl: float
    concurrency: float | None
    batch: float | None
    offline: bool
    layout: Layout
    mode: str = "agg"
    prefill_layout: Layout | None = None
    ttft_s: float | None = None
    tpot_s: float | None = None
    output_tok_s: float | None = None
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    fp8_block: bool | None = None


@dataclass(frozen=True)
class Issue:
    """A record an importer could not use, with where it is and why."""

    source: str  # file:line
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def era_of(version: str | None) -> str:
    """Version era ``major.minor`` of an engine version string; blank or unparsable: unknown.

    Examples
    --------
    >>> era_of("0.5.8.post1"), era_of("v1.2.0rc6.post2"), era_of(""), era_of("gpt-oss-dev")
    ('0.5', '1.2', 'unknown', 'unknown')
    """
    m = re.match(r"^\s*v?(\d+)\.(\d+)", version or "")
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else "unknown"


def engine_of(name: str | None) -> str:
    """Engine class of a backend name (``trtllm``, ``sglang``, ``vllm``, else ``other``).

    Examples
    --------
    >>> engine_of("TensorRT-LLM v1.0"), engine_of("sglang-oai"), engine_of("vllm"), engine_of("tgi")
    ('trtllm', 'sglang', 'vllm', 'other')
    """
    low = (name or "").lower().replace("-", "").replace("_", "")
    if "tensorrt" in low or "trtllm" in low or low.startswith("trt"):
        return "trtllm"
    if "sglang" in low:
        return "sglang"
    if "vllm" in low:
        return "vllm"
    return "other"


def engine_class(name: str) -> str:
    """Engine class of an engine a user or a file names: :func:`engine_of` where the name holds
    a known engine, ``other`` only where spelled ``other``.

    ``--engine foo`` (or an engine column's ``foo``) was read as ``other`` and fitted as vLLM's
    class without a word; a misspelt ``vlm`` went the same way.

    Raises
    ------
    ValueError
        ``engine: 'foo' is not a known serving engine; allowed: ...``.

    Examples
    --------
    >>> engine_class("TensorRT-LLM v1.0"), engine_class("vllm"), engine_class("Other")
    ('trtllm', 'vllm', 'other')
    """
    found = engine_of(name)
    if found == "other" and name.strip().lower() != "other":
        raise ValueError(
            f"engine: {name!r} is not a known serving engine; allowed: trtllm, sglang, vllm "
            "(or a name holding one, such as TensorRT-LLM v1.0), or other (an engine "
            "tokenfab does not model, fitted as vLLM's class)"
        )
    return found


MODEL_PATTERNS: tuple[tuple[str, str], ...] = (
    # (regular expression on the lower-cased name, catalog id); first match wins.
    # DeepSeek-V3.1 and V3-0324 share V3's architecture (same config.json shapes).
    (r"deepseek-?r1", "deepseek-r1"),
    (r"deepseek-?v3", "deepseek-v3"),
    (r"llama-?3\.3-?70b", "llama-3.3-70b"),
    (r"llama-?3\.1-?405b", "llama-3.1-405b"),
    (r"llama-?3(\.1)?-?70b", "llama-3.1-70b"),
    (r"llama-?3(\.1)?-?8b", "llama-3.1-8b"),
    (r"llama-?2-?70b", "llama-2-70b"),
    (r"llama-?2-?7b", "llama-2-7b"),
    (r"llama-?4-?maverick", "llama-4-maverick"),
    (r"llama-?4-?scout", "llama-4-scout"),
    (r"mixtral-?8x22b", "mixtral-8x22b"),
    (r"mixtral-?8x7b", "mixtral-8x7b"),
    (r"qwen3-?235b", "qwen3-235b-a22b"),
    (r"qwen3-?30b", "qwen3-30b-a3b"),
    (r"qwen3-?32b", "qwen3-32b"),
    (r"gpt-?oss-?120b", "gpt-oss-120b"),
    (r"gpt-?oss-?20b", "gpt-oss-20b"),
    (r"gpt-?j-?6b", "gpt-j-6b"),
    (r"gemma-?3-?27b", "gemma-3-27b"),
    (r"kimi-?k2", "kimi-k2"),
    (r"glm-?4\.5", "glm-4.5"),
)

ACCELERATOR_PATTERNS: tuple[tuple[str, str], ...] = (
    # (regular expression on the lower-cased name, catalog id); first match wins
    (r"gb300", "gb300"),
    (r"gb200", "gb200"),
    (r"b300", "b300"),
    (r"b200", "b200"),
    (r"h200", "h200-sxm"),
    (r"h100[-_ ]?pcie", "h100-pcie"),
    (r"h100", "h100-sxm"),
    (r"\bh20\b", "h20"),
    (r"a100[-_ ]?pcie", "a100-pcie-80gb"),
    (r"a100", "a100-sxm-80gb"),
    (r"l40s", "l40s"),
    (r"mi355x", "mi355x"),
    (r"mi325x", "mi325x"),
    (r"mi300x", "mi300x"),
    (r"gaudi[- ]?3", "gaudi3"),
    (r"gaudi[- ]?2", "gaudi2"),
)


def _resolve(name: str, patterns: tuple[tuple[str, str], ...], known: dict) -> str | None:
    low = name.strip().lower().replace(" ", "-")
    if low in known:
        return low
    for pattern, rid in patterns:
        if re.search(pattern, low) and rid in known:
            return rid
    return None


def model_id(name: str, catalog: Catalog) -> str | None:
    """Catalog id of a model name (a Hugging Face id, a published label or an id); None if none.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> model_id("nvidia/DeepSeek-V3.1-NVFP4", default_catalog())
    'deepseek-v3'
    >>> model_id("meta-llama/Llama-3.1-8B-Instruct", default_catalog())
    'llama-3.1-8b'
    """
    return _resolve(name, MODEL_PATTERNS, catalog.table("models"))


def accelerator_id(name: str, catalog: Catalog) -> str | None:
    """Catalog id of an accelerator name (``h100_sxm``, ``NVIDIA H200 SXM 141GB``, an id).

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> accelerator_id("b200_sxm", default_catalog()), accelerator_id("gb300", default_catalog())
    ('b200', 'gb300')
    """
    return _resolve(name, ACCELERATOR_PATTERNS, catalog.table("accelerators"))


FP8_SUFFIXES = ("block", "kv", "e4m3", "e5m2", "per_tensor", "per_channel")
"""What may follow ``fp8_`` (or ``fp8-``) in one name: AIConfigurator's ``fp8_block``
(``gemm_quant_mode``), ``FP8-KV`` (a checkpoint with an FP8 KV cache), the two FP8 encodings
and the two per-tensor / per-channel scalings; anything else there (``fp8_blok``) is a typo
tokenfab will not guess at."""

FP8_SCALINGS = "fp8, fp8_block, or free text naming per-tensor or per-channel scales"


def fp8_block_of(text: str | None) -> bool | None:
    """Whether a free-text FP8 precision names block scales (``fp8_block``, AIConfigurator's
    ``gemm_quant_mode``), per-tensor or per-channel ones, or neither (``None``).

    Raises
    ------
    ValueError
        ``precision: ...`` where the text names both block and per-tensor (or per-channel)
        scales, or glues an unknown word to ``fp8`` (``fp8_blok``; :data:`FP8_SUFFIXES`).

    >>> fp8_block_of("fp8_block"), fp8_block_of("FP8 (per-tensor scales)"), fp8_block_of("FP8")
    (True, False, None)
    """
    low = (text or "").lower()
    for suffix in re.findall(r"fp8[_-]?([a-z0-9_-]*)", low):
        word = suffix.replace("-", "_").strip("_")
        if word and "block" not in word and word not in FP8_SUFFIXES:
            raise ValueError(
                f"precision: {text!r} is not an FP8 name tokenfab knows (unknown after fp8: "
                f"{word!r}); allowed: {FP8_SCALINGS}"
            )
    block = "block" in low
    tensor = bool(re.search(r"per[-_ ]?(tensor|channel)", low))
    if block and tensor:
        raise ValueError(
            f"precision: {text!r} names both block and per-tensor (or per-channel) scales; "
            f"allowed (one): {FP8_SCALINGS}"
        )
    if block:
        return True
    if tensor:
        return False
    return None


def precision_of(text: str | None) -> str | None:
    """Weight format named by a free-text precision (``FP8``, ``nvfp4``, ``fp8_block``, ``BF16``).

    Examples
    --------
    >>> precision_of("nvfp4"), precision_of("FP4 (NVFP4)"), precision_of("fp8_block")
    ('fp4', 'fp4', 'fp8')
    >>> precision_of("MXFP4"), precision_of("FP16"), precision_of("w4a16"), precision_of("?")
    ('mxfp4', 'fp16', 'int4', None)
    """
    low = (text or "").strip().lower()
    if not low:
        return None
    for needle, fmt in (
        ("mxfp4", "mxfp4"),
        ("fp4", "fp4"),
        ("fp8", "fp8"),
        ("int8", "int8"),
        ("w8a8", "int8"),
        ("int4", "int4"),
        ("w4a16", "int4"),
        ("awq", "int4"),
        ("bf16", "bf16"),
        ("bfloat16", "bf16"),
        ("fp16", "fp16"),
        ("float16", "fp16"),
        ("half", "fp16"),
        ("fp32", "fp32"),
    ):
        if needle in low:
            return fmt
    return None
