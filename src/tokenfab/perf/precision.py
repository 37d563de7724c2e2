"""Number formats: bytes per stored element and which peak-throughput column a format computes at.

The formats are one sourced table, ``data/precisions.csv`` (one row a format):

* ``bits_per_element`` -- stored bits per value *including* block scales: NVFP4 ``fp4`` is
  4-bit E2M1 values with one FP8 scale per 16 values, 4.5 bits [1]_; OCP ``mxfp4`` one 8-bit
  scale per 32 values, 4.25 bits [2]_; ``int4`` weight-only W4A16 with an FP16 scale per group
  of 128, 4.125 bits [3]_;
* ``peak_column`` -- the :class:`~tokenfab.catalog.Accelerator` column giving the matrix peak
  (``int4`` computes at the 16-bit rate: activations stay in 16 bits); blank for a storage-only
  format (``fp32``);
* ``fallback_peak_column`` -- the column used on a chip without ``peak_column`` (``mxfp4`` runs
  weight-only at the BF16 rate on Hopper, as gpt-oss's checkpoints do); blank: unsupported;
* ``kv_capable`` -- whether engines store a KV cache in the format;
* ``default_kv_precision`` -- the KV format that goes with these weights when the scenario names
  none (16 bits where the chip lacks the format).

References
----------
.. [1] NVIDIA, "Introducing NVFP4 for Efficient and Accurate Low-Precision Inference", 2025.
       https://developer.nvidia.com/blog/introducing-nvfp4-for-efficient-and-accurate-low-precision-inference/
.. [2] Open Compute Project, "OCP Microscaling Formats (MX) Specification v1.0", 2023.
       https://www.opencompute.org/documents/ocp-microscaling-formats-mx-v1-0-spec-final-pdf
.. [3] Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and
       Acceleration", MLSys 2024. https://arxiv.org/abs/2306.00978
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field

from tokenfab.catalog import Accelerator, Id, Record, builtin_dir, read_records
from tokenfab.errors import ScenarioError

PeakColumn = Literal["bf16_dense_tflops", "fp8_dense_tflops", "int8_dense_tops", "fp4_dense_tflops"]


class Precision(Record):
    """One number format (a row of ``data/precisions.csv``)."""

    bits_per_element: Annotated[float, Field(gt=0, le=64)] = Field(
        description="stored bits per value including block scales"
    )
    peak_column: PeakColumn | None = Field(
        None, description="accelerator column of the matrix peak; blank: storage only"
    )
    fallback_peak_column: PeakColumn | None = Field(
        None, description="column used where the chip lacks peak_column; blank: unsupported"
    )
    kv_capable: bool = Field(description="engines can store the KV cache in this format")
    default_kv_precision: Id = Field(description="KV format that goes with these weights")

    @property
    def bytes_per_element(self) -> float:
        return self.bits_per_element / 8


@cache
def precision_table() -> Mapping[str, Precision]:
    """The formats of ``data/precisions.csv`` by id (read once; read-only, so a caller
    cannot change what the next caller sees)."""
    rows = read_records(builtin_dir() / "precisions.csv", Precision)
    table: dict[str, Precision] = {rec.id: rec for _, rec in rows}  # type: ignore[misc]
    for rec in table.values():
        if rec.default_kv_precision not in table or not table[rec.default_kv_precision].kv_capable:
            raise ScenarioError(
                f"precisions.csv: {rec.id}: default_kv_precision {rec.default_kv_precision!r} "
                "is not a KV-capable format of the table"
            )
    return MappingProxyType(table)


BYTES_PER_ELEMENT: dict[str, float] = {
    p.id: p.bytes_per_element for p in precision_table().values()
}
"""Bytes per stored value of each format (scales included)."""

COMPUTE_COLUMN: dict[str, str] = {
    p.id: p.peak_column for p in precision_table().values() if p.peak_column is not None
}
"""Which Accelerator column gives the matmul peak for a weight format."""

PRECISIONS: tuple[str, ...] = tuple(COMPUTE_COLUMN)
KV_PRECISIONS: tuple[str, ...] = tuple(p.id for p in precision_table().values() if p.kv_capable)


def _peak_tflops(acc: Accelerator, fmt: Precision) -> float | None:
    for column in (fmt.peak_column, fmt.fallback_peak_column):
        if column is not None and getattr(acc, column) is not None:
            return float(getattr(acc, column))
    return None


def supported_precisions(acc: Accelerator) -> list[str]:
    """Weight formats the accelerator computes (its datasheet lists the peak, or a fallback's)."""
    return [p for p in PRECISIONS if _peak_tflops(acc, precision_table()[p]) is not None]


def peak_column(acc: Accelerator, precision: str) -> str:
    """The accelerator column that gives the matrix peak of a weight format: the format's
    ``peak_column``, or its ``fallback_peak_column`` on a chip without it.

    Raises
    ------
    ScenarioError
        If the format is unknown or the accelerator has no native support for it.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> peak_column(default_catalog().accelerator("h100-sxm"), "mxfp4")  # weight-only on Hopper
    'bf16_dense_tflops'
    """
    if precision not in COMPUTE_COLUMN:
        raise ScenarioError(
            f"precision: unknown format {precision!r}; allowed: {', '.join(PRECISIONS)}"
        )
    fmt = precision_table()[precision]
    for column in (fmt.peak_column, fmt.fallback_peak_column):
        if column is not None and getattr(acc, column) is not None:
            return column
    allowed = ", ".join(supported_precisions(acc)) or "none"
    raise ScenarioError(
        f"precision: {precision} is not supported on {acc.id} (supported: {allowed})"
    )


def peak_flops_per_s(acc: Accelerator, precision: str) -> float:
    """Dense peak of the accelerator for a weight format [FLOP/s].

    Raises
    ------
    ScenarioError
        If the format is unknown or the accelerator has no native support for it.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> peak_flops_per_s(default_catalog().accelerator("h100-sxm"), "bf16") / 1e12  # datasheet
    989.5
    """
    return float(getattr(acc, peak_column(acc, precision))) * 1e12


DEQUANT_TILE_ROWS = 128
"""Token rows one dequantised weight tile serves in a weight-only GEMM: the largest thread-block
tile M of CUTLASS's mixed-input (fpA_intB) GEMMs that TensorRT-LLM's weight-only kernels use;
a step of ``M`` tokens dequantises each weight ``max(1, M / 128)`` times."""

TENSOR_FLOPS_PER_ISSUE_SLOT = 32.0
"""Dense 16-bit tensor FLOPs a Hopper SM does in the time its schedulers issue one thread
instruction to the CUDA cores: 4,096 FLOPs a clock (989.4 TFLOP/s = 132 SMs x 4 tensor cores x
512 FMA x 2 x 1.83 GHz) against 4 warp schedulers x 32 threads = 128 thread instructions a
clock (NVIDIA H100 Tensor Core GPU Architecture whitepaper, SM section and Table 3:
https://resources.nvidia.com/en-us-tensor-core ; the per-clock arithmetic in
https://glennklockwood.com/garden/peak-FLOPS). Turns the datasheet 16-bit peak into the CUDA
cores' issue rate; the Hopper ratio is used for every chip (A100's is 16, so its rate is
overstated 2x)."""

DEQUANT_ISSUE_SLOTS_PER_ELEMENT = 11.0
"""CUDA-core instruction issue slots a weight-only GEMM spends per 4-bit weight element it
converts. The conversion itself is 9 instructions per 8 elements (1 shift, 4 LOP3, 2
``sub.f16x2``, 2 ``fma.f16x2``: the FasterTransformer ``interleaved_numeric_conversion.h``
sequence used by vllm-project/vllm@csrc/quantization/awq/dequantize.cuh; Kim et al., "Who
Says Elephants Can't Run", https://arxiv.org/abs/2211.10017) and applying the group scale and
zero point one ``fma.f16x2`` per 2 (0.5), 1.6 slots in all; the rest -- loading the packed
weights and the scales, address arithmetic and the stalls of TensorRT-LLM v0.9's kernels -- is
not itemised. tokenfab's fit (least squares in log ratio, rounded to a whole slot) to NVIDIA's
published INT4-AWQ/FP8 throughputs of Llama-3-8B on H100 at batches 2 and 32 (1.16 and 0.86,
NVIDIA/TensorRT-Model-Optimizer@benchmark.md, TensorRT-LLM v0.9; docs/method.md section 7)."""

DEQUANT_FLOPS_PER_ELEMENT = TENSOR_FLOPS_PER_ISSUE_SLOT * DEQUANT_ISSUE_SLOTS_PER_ELEMENT
"""16-bit dense peak FLOPs per weight element dequantised (32 x 11 = 352): the dequantisation
rate is the datasheet 16-bit peak over this, independent of any fitted efficiency."""

MXFP4_DEQUANT_ISSUE_SLOTS_PER_ELEMENT = 5.0
"""Issue slots per element for MXFP4 (E2M1 values, one power-of-two E8M0 scale per 32) run
weight-only (gpt-oss on Hopper): no zero point and a scale applied as an exponent, so fewer
than INT4-AWQ's 11. tokenfab's fit, to a whole slot, of the held-out error on the calibration
runs of gpt-oss-120b on H100/H200 (AIConfigurator silicon sample: TensorRT-LLM, vLLM; 5-fold
grouped cross-validation over 2, 3, 5, 7 and 11 slots: TPOT median error 16.9, 16.9, 16.4,
16.7 and 17.5 % over all aggregated runs); with 11 the predicted TPOT of gpt-oss-120b on one
H200 at 64 clients was twice the measured 18.5 ms (the whole-expert dequantisation alone took
40 ms)."""


def dequant_flops_per_element(precision: str) -> float:
    """16-bit dense peak FLOPs per weight element a weight-only format dequantises [FLOP].

    >>> dequant_flops_per_element("int4"), dequant_flops_per_element("mxfp4")
    (352.0, 160.0)
    """
    slots = (
        MXFP4_DEQUANT_ISSUE_SLOTS_PER_ELEMENT
        if precision == "mxfp4"
        else DEQUANT_ISSUE_SLOTS_PER_ELEMENT
    )
    return TENSOR_FLOPS_PER_ISSUE_SLOT * slots


def weight_only(acc: Accelerator, precision: str) -> bool:
    """Whether weights in ``precision`` are stored narrower than they are computed: a format
    below 16 bits whose products run at the 16-bit peak (``int4``; ``mxfp4`` on a chip without
    FP4 units), so the kernel dequantises every weight it uses.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> cat = default_catalog()
    >>> weight_only(cat.accelerator("h100-sxm"), "int4"), weight_only(cat.accelerator("h100-sxm"), "fp8")
    (True, False)
    >>> weight_only(cat.accelerator("h100-sxm"), "mxfp4"), weight_only(cat.accelerator("b200"), "mxfp4")
    (True, False)
    """
    fmt = precision_table()[precision]
    if fmt.bits_per_element >= 16:
        return False
    column = fmt.peak_column
    if column is None or getattr(acc, column) is None:
        column = fmt.fallback_peak_column
    return column == "bf16_dense_tflops"


def dequant_elements_per_s(acc: Accelerator, precision: str) -> float:
    """Weight elements per second the accelerator dequantises for a weight-only format
    (``inf`` for formats the matrix units take as stored) [1/s].

    The datasheet 16-bit dense peak over :func:`dequant_flops_per_element` (no fitted
    efficiency: the CUDA cores' issue rate is a property of the chip).

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> h100 = default_catalog().accelerator("h100-sxm")
    >>> round(dequant_elements_per_s(h100, "int4") / 1e12, 2)  # 989.5e12 / 352
    2.81
    >>> dequant_elements_per_s(h100, "fp8")
    inf
    """
    if not weight_only(acc, precision):
        return float("inf")
    return peak_flops_per_s(acc, "bf16") / dequant_flops_per_element(precision)


STORAGE_ONLY_KV = frozenset({"fp8"})
"""KV formats engines store on any chip with 16-bit matrix units and convert to 16 bits for the
attention products: vLLM's FP8 KV cache runs on A100 ("the kv cache is quantized but upconverted
to fp16 for computation", vllm-project/vllm#3965; first tested on A100 in vllm-project/vllm#2279).
Half the bytes of a BF16 cache, no faster math: tokenfab computes attention at the 16-bit rate
everywhere."""


def check_kv_precision(acc: Accelerator, kv_precision: str, as_storage: bool = False) -> float:
    """Bytes per KV element; a KV format with its own peak column needs the chip to support it,
    except -- for an engine that stores it as such (``as_storage``) -- a storage-only one
    (:data:`STORAGE_ONLY_KV`) on a chip with a 16-bit peak."""
    if kv_precision not in KV_PRECISIONS:
        raise ScenarioError(
            f"kv_precision: unknown format {kv_precision!r}; allowed: {', '.join(KV_PRECISIONS)}"
        )
    if not _kv_runs_on(acc, kv_precision, as_storage):
        # the KV-capable formats alone (precisions.csv kv_capable): a weight-only format such as
        # mxfp4 or int4 computes on the chip but holds no KV cache
        allowed = ", ".join(supported_kv_precisions(acc, as_storage)) or "none"
        raise ScenarioError(
            f"kv_precision: {kv_precision} is not supported on {acc.id} "
            f"(supported KV formats: {allowed})"
        )
    return BYTES_PER_ELEMENT[kv_precision]


def _kv_runs_on(acc: Accelerator, kv_precision: str, as_storage: bool) -> bool:
    fmt = precision_table()[kv_precision]
    if as_storage and kv_precision in STORAGE_ONLY_KV and acc.bf16_dense_tflops is not None:
        return True
    if fmt.peak_column in (None, "bf16_dense_tflops"):
        return True
    return _peak_tflops(acc, fmt) is not None


def supported_kv_precisions(acc: Accelerator, as_storage: bool = False) -> list[str]:
    """KV-cache formats the accelerator can hold (precisions.csv ``kv_capable``, and computed
    on the chip or, with ``as_storage``, stored only: :data:`STORAGE_ONLY_KV`).

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> supported_kv_precisions(default_catalog().accelerator("h100-sxm"))  # no FP4 on Hopper
    ['bf16', 'fp16', 'fp8', 'int8']
    """
    return [p for p in KV_PRECISIONS if _kv_runs_on(acc, p, as_storage)]


def default_kv_precision(acc: Accelerator, precision: str) -> str:
    """KV format for weights in ``precision`` when the scenario names none.

    The table's ``default_kv_precision`` where the chip supports it, else ``bf16``.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> cat = default_catalog()
    >>> default_kv_precision(cat.accelerator("h100-sxm"), "fp8")
    'fp8'
    >>> default_kv_precision(cat.accelerator("a100-sxm-80gb"), "mxfp4")  # no FP8 on Ampere
    'bf16'
    """
    kv = precision_table()[precision].default_kv_precision
    try:
        check_kv_precision(acc, kv)
    except ScenarioError:
        return "bf16"
    return kv
