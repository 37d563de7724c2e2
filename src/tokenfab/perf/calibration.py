"""Efficiency factors: what serving software achieves of an accelerator's peaks.

A roofline with datasheet peaks over-predicts real serving stacks. tokenfab closes the gap with
eight factors per accelerator family and software class, fitted to measured runs by
``tokenfab.calibrate`` (``bench/bench_accuracy.py --write`` for the built-in rows) and stored in
``data/efficiency.csv`` with the fit's provenance:

* ``compute_efficiency`` -- achieved share of dense peak FLOP/s in matrix products, one value
  per matrix rate (``compute_efficiency`` at the 16-bit rate, ``compute_efficiency_8bit``,
  ``compute_efficiency_4bit``; :func:`efficiency_column`);
* ``bw_efficiency`` -- achieved share of peak memory bandwidth when streaming weights and KV;
* ``comm_efficiency`` -- collective bandwidth relative to a ring over the scale-up link
  (above 1 with in-switch reduction);
* ``moe_efficiency`` -- routed-expert (grouped) GEMMs' share of the dense compute efficiency (their weights stream at ``bw_efficiency``);
* ``kv_efficiency`` -- paged-attention KV-cache reads' share of the weight-streaming bandwidth;
* ``overhead_ms`` -- fixed cost of each engine step (launches, scheduling);
* ``overhead_per_sequence_us`` -- step cost per sequence in the batch (host-side scheduling,
  sampling, per-request bookkeeping);
* ``overhead_per_layer_us`` -- step cost per dense GQA layer's kernel launches (other layers
  in proportion to their kernels: :func:`tokenfab.perf.memory.kernel_layers`,
  :func:`tokenfab.perf.serving.step_overhead_s`).

A family without a fitted row for the software class borrows the class's row of the family
its accelerator names as the same architecture (``prior_family`` in ``data/accelerators.csv``:
Blackwell Ultra borrows Blackwell's), else the median of the class's fitted rows; either way
the estimate says it is uncalibrated and what it borrows (:attr:`EngineChoice.basis`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.catalog import Accelerator, Catalog, Efficiency, Model, ServingSoftware
from tokenfab.errors import ScenarioError
from tokenfab.perf.precision import (
    dequant_flops_per_element,
    peak_column,
    weight_only,
)
from tokenfab.perf.roofline import GEMM_OVERLAP_EXPONENT
from tokenfab.perf.serving import Engine, Hardware

GIB = 2**30
"""HBM capacities are quoted in binary gigabytes: the "80 GB" H100 SXM shows 81,559 MiB
(79.6 GiB) in ``nvidia-smi`` (bench/results/gpu_device_info.txt), the "192 GB" MI300X 192 GiB."""


def capacity_label(memory_gb: float) -> str:
    """An accelerator's memory as the model reads it, in the decimal GB every other memory
    figure is given in, with the catalog's binary figure (:data:`GIB`).

    >>> capacity_label(80)
    '80 GiB = 85.9 GB'
    """
    return f"{memory_gb:g} GiB = {memory_gb * GIB / 1e9:.1f} GB"


PCIE_BIDIR_GB_S = 64.0
"""PCIe 4.0 x16, both directions (16 GT/s x 16 lanes, 128b/130b: 31.5 GB/s each way; PCI-SIG):
the link between accelerators of a chip with no scale-up link in the catalog."""

VENDOR_SOFTWARE = {"nvidia": "trtllm"}
"""Default software class by vendor: the stack the vendor publishes its results with."""


def default_software(acc: Accelerator) -> str:
    return VENDOR_SOFTWARE.get(acc.vendor.lower(), "vllm")


@dataclass(frozen=True)
class EngineChoice:
    """The engine used for an accelerator, and where its factors came from."""

    engine: Engine
    software: str
    efficiency_id: str | None  # None: no row of the family fitted (uncalibrated)
    calibrated: bool
    record: ServingSoftware | None = None  # the engine's catalog row: vendors and layout rules
    frontend_s: float = 0.0  # closed-loop TTFT: the server's front end [s] (data/closed_loop.csv)
    first_wave_share: float = 0.0  # closed-loop TTFT: share of a run's requests in its first wave
    borrowed_id: str | None = None  # uncalibrated: the same-architecture row it borrows
    family: str | None = None  # the accelerator's family
    # the efficiency.csv column the compute efficiency was read from, after a blank column's
    # fallback (:func:`column_read`); a median over rows that read different ones names each
    compute_column: str = "compute_efficiency"
    block_scaled: bool = False  # FP8 weights with block scales (:func:`block_scaled_fp8`)

    @property
    def compute_basis(self) -> str:
        """The compute efficiency's column in words, with the FP8 scaling it assumes."""
        text = f"compute efficiency from efficiency.csv {self.compute_column}"
        if self.block_scaled:
            text += (
                " (block-scaled FP8 weights: fp8_scales, by default the model's published FP8 "
                "checkpoint's, models.csv fp8_checkpoint_block; per_tensor for another one)"
            )
        return text

    @property
    def basis(self) -> str:
        """Where the factors come from, in words (the estimate's ``calibration_basis``)."""
        if self.calibrated:
            return f"calibrated: efficiency row {self.efficiency_id}; {self.compute_basis}"
        fam = self.family or "this"
        if self.borrowed_id:
            return (
                f"uncalibrated: the {fam} family has no fitted {self.software} row; it borrows "
                f"{self.borrowed_id}, the same architecture's (accelerators.csv prior_family); "
                f"{self.compute_basis}"
            )
        return (
            f"uncalibrated: the {fam} family has no fitted {self.software} row; it takes the "
            f"median of the {self.software} class's fitted rows; {self.compute_basis}"
        )


def closed_loop_terms(catalog: Catalog, software: str) -> tuple[float, float]:
    """``(frontend_s, first_wave_share)`` of a software class for closed-loop TTFT
    (:func:`tokenfab.perf.serving.closed_loop_ttft_s`) from ``data/closed_loop.csv``; a class
    without a row takes the median of the rows (none: no front end, the steady state)."""
    rows = catalog.table("closed-loop")
    picked = [rows[software]] if software in rows else list(rows.values())
    if not picked:
        return 0.0, 0.0
    frontend_ms = statistics.median([r.frontend_ms for r in picked])
    per_client = statistics.median([r.requests_per_client for r in picked])
    return frontend_ms / 1e3, 1.0 / per_client


RATE_EFFICIENCY = {
    "bf16_dense_tflops": "compute_efficiency",
    "fp8_dense_tflops": "compute_efficiency_8bit",
    "int8_dense_tops": "compute_efficiency_8bit",
    "fp4_dense_tflops": "compute_efficiency_4bit",
}
"""The ``data/efficiency.csv`` column holding the compute efficiency of each matrix rate (the
accelerator column a weight format's products run at, :func:`~tokenfab.perf.precision.
peak_column`): tensor cores reach a different share of each rate's peak in serving."""


BLOCK_FP8_EFFICIENCY = "compute_efficiency_8bit_block"
"""The ``data/efficiency.csv`` column of FP8 weights with block scales on a chip whose tensor
cores do not apply them (:func:`efficiency_column`)."""


def applies_block_scales(acc: Accelerator) -> bool:
    """Whether the accelerator's tensor cores apply per-block weight scales themselves.

    A chip with FP4 matrix units multiplies microscaling formats (NVFP4, MXFP4: one scale per 16
    or 32 values), so its MMA instructions take block scales; one without them (Hopper, Ada,
    CDNA3) runs a block-scaled FP8 GEMM by promoting partial sums to FP32 on the CUDA cores
    after every 128-wide K-block and scaling them there (DeepSeek-V3 Technical Report,
    arXiv:2412.19437, section 3.3.2), which costs GEMM throughput.

    >>> from tokenfab.catalog import default_catalog
    >>> cat = default_catalog()
    >>> applies_block_scales(cat.accelerator("h200-sxm")), applies_block_scales(cat.accelerator("b200"))
    (False, True)
    """
    return bool(acc.fp4_dense_tflops)


def efficiency_column(acc: Accelerator, precision: str | None, block_scaled: bool = False) -> str:
    """The compute-efficiency column for a weight format on an accelerator
    (:data:`RATE_EFFICIENCY`); ``compute_efficiency`` without a format.

    ``block_scaled``: the FP8 weights carry one scale per block (a checkpoint's
    ``fp8_checkpoint_block``); on a chip whose tensor cores do not apply block scales
    (:func:`applies_block_scales`) such a GEMM has its own column,
    :data:`BLOCK_FP8_EFFICIENCY`. The AIConfigurator GEMM measurements (TensorRT-LLM
    1.3.0rc20) show why: on H200 a block-scaled FP8 GEMM takes a median 1.08-1.14 times the
    per-tensor one's time at 128-8,192 rows, growing with K; on B200 0.6-0.87 times
    (``docs/method.md`` 6.1).

    >>> from tokenfab.catalog import default_catalog
    >>> cat = default_catalog()
    >>> h100, b200 = cat.accelerator("h100-sxm"), cat.accelerator("b200")
    >>> efficiency_column(h100, "fp8"), efficiency_column(h100, "mxfp4")  # weight-only: BF16
    ('compute_efficiency_8bit', 'compute_efficiency')
    >>> efficiency_column(h100, "fp8", block_scaled=True), efficiency_column(b200, "fp8", True)
    ('compute_efficiency_8bit_block', 'compute_efficiency_8bit')
    """
    if precision is None:
        return "compute_efficiency"
    column = RATE_EFFICIENCY.get(peak_column(acc, precision), "compute_efficiency")
    if block_scaled and precision == "fp8" and column == "compute_efficiency_8bit":
        return column if applies_block_scales(acc) else BLOCK_FP8_EFFICIENCY
    return column


def block_scaled_fp8(model: Model, precision: str | None, stated: bool | None = None) -> bool:
    """Whether a model served in ``precision`` runs block-scaled FP8 weights: ``fp8`` and, as
    ``stated`` (a scenario's ``fp8_scales``, a measurement file's words), else as the
    publisher's FP8 checkpoint is (a catalog ``fp8_checkpoint_block``)."""
    if precision != "fp8":
        return False
    return bool(model.fp8_checkpoint_block) if stated is None else stated


def column_read(row: Efficiency, column: str) -> str:
    """The column a row's compute efficiency at the rate ``column`` is read from: ``column``
    itself where the row fills it; blank, the block-scaled FP8 column falls back to the 8-bit
    one and any rate to the 16-bit ``compute_efficiency`` (a user's older efficiency.csv
    without a column reads as blank)."""
    chain = [column]
    if column == BLOCK_FP8_EFFICIENCY:
        chain.append("compute_efficiency_8bit")
    for name in chain:
        if getattr(row, name, None) is not None:
            return name
    return "compute_efficiency"


def _columns_read(rows: list[Efficiency], column: str) -> str:
    """The column(s) :func:`_median_efficiency` reads over ``rows``, in words."""
    read = [column_read(r, column) for r in rows]
    names = list(dict.fromkeys(read))
    if len(names) == 1:
        return names[0]
    return ", ".join(f"{name} ({read.count(name)} of {len(read)} rows)" for name in names)


def _factor(row: Efficiency, name: str, column: str) -> float:
    """A row's factor; ``compute_efficiency`` at the rate ``column`` (:func:`column_read`)."""
    if name == "compute_efficiency":
        return float(getattr(row, column_read(row, column)))
    return float(getattr(row, name))


def _median_efficiency(
    rows: list[Efficiency], column: str = "compute_efficiency"
) -> dict[str, float]:
    # statistics.median equals np.median on a list of floats, ~20x faster for a few rows
    return {k: float(statistics.median([_factor(r, k, column) for r in rows])) for k in FACTORS}


def choose_engine(
    catalog: Catalog,
    acc: Accelerator,
    software: str | None = None,
    gpu_memory_utilization: float | None = None,
    precision: str | None = None,
    block_scaled: bool = False,
) -> EngineChoice:
    """The :class:`~tokenfab.perf.serving.Engine` for an accelerator and software class.

    ``precision`` (the weight format) picks the compute efficiency of the matrix rate its
    products run at (:func:`efficiency_column`; ``block_scaled``: FP8 weights with block
    scales, :func:`block_scaled_fp8`); without it, the 16-bit one.

    ``gpu_memory_utilization`` (vLLM's ``--gpu-memory-utilization``: the share of the
    accelerator's memory the engine may use) replaces the engine's default from the catalog,
    at every TP size (SGLang's default falls with it: ``memory_utilization_rule``).

    Raises
    ------
    ScenarioError
        For an unknown software class, or one that does not run on the accelerator's vendor.
    """
    software = software or default_software(acc)
    softwares = catalog.table("software")
    if software not in softwares:
        raise ScenarioError(
            f"software: unknown class {software!r}; allowed: {', '.join(softwares)}"
        )
    sw: ServingSoftware = softwares[software]
    if not sw.runs_on(acc.vendor):
        fits = [k for k, r in softwares.items() if r.runs_on(acc.vendor)]
        raise ScenarioError(
            f"software: {software} runs on {sw.vendor_names()} accelerators only; {acc.id} is "
            f"{acc.vendor} (allowed here: {', '.join(fits) or 'none'})"
        )
    column = efficiency_column(acc, precision, block_scaled)
    fitted = [r for r in catalog.table("efficiency").values() if r.software == software]
    exact = [r for r in fitted if r.family == acc.family]
    # a family with no row borrows the same architecture's (prior_family; docs/method.md 6.5:
    # held out, Blackwell Ultra predicted from Blackwell's rows beat the class median)
    prior = [r for r in fitted if acc.prior_family and r.family == acc.prior_family]
    borrowed_id: str | None = None
    if exact:
        eff = exact[-1]  # user catalog rows load after the built-in ones: the last one wins
        factors = _median_efficiency([eff], column)
        eff_id: str | None = eff.id
        read = column_read(eff, column)
    elif prior:
        factors = _median_efficiency([prior[-1]], column)
        eff_id, borrowed_id = None, prior[-1].id
        read = column_read(prior[-1], column)
    else:
        pool = fitted or list(catalog.table("efficiency").values())
        if not pool:
            raise ScenarioError(
                "efficiency: the efficiency catalog is empty; run tokenfab calibrate"
            )
        factors = _median_efficiency(pool, column)
        eff_id = None
        read = _columns_read(pool, column)
    engine = Engine(
        compute_efficiency=np.asarray(factors["compute_efficiency"]),
        bw_efficiency=np.asarray(factors["bw_efficiency"]),
        comm_efficiency=np.asarray(factors["comm_efficiency"]),
        moe_efficiency=np.asarray(factors["moe_efficiency"]),
        kv_efficiency=np.asarray(factors["kv_efficiency"]),
        overhead_s=np.asarray(factors["overhead_ms"] / 1e3),
        overhead_per_sequence_s=np.asarray(factors["overhead_per_sequence_us"] / 1e6),
        overhead_per_layer_s=np.asarray(factors["overhead_per_layer_us"] / 1e6),
        comm_latency_s=np.asarray(sw.comm_latency_us / 1e6),
        memory_utilization=np.asarray(
            sw.memory_utilization if gpu_memory_utilization is None else gpu_memory_utilization
        ),
        kv_memory_fraction=np.asarray(sw.kv_memory_fraction),
        runtime_reserve_bytes=np.asarray(sw.runtime_reserve_gb * 1e9),
        reserve_weight_share=np.asarray(sw.reserve_weight_share),
        profiles_activations=np.asarray(1.0 if sw.profiles_activations else 0.0),
        max_num_tokens=np.asarray(float(sw.max_num_tokens)),
        max_batch_size=np.asarray(float(sw.max_batch_size)),
        kv_reserve_output_share=np.asarray(sw.kv_reserve_output_share),
        memory_utilization_follows_tp=np.asarray(
            1.0
            if sw.memory_utilization_rule == "sglang_tp" and gpu_memory_utilization is None
            else 0.0
        ),
        gemm_overlap_exponent=np.asarray(GEMM_OVERLAP_EXPONENT),
    )
    frontend_s, first_wave_share = closed_loop_terms(catalog, software)
    return EngineChoice(
        engine,
        software,
        eff_id,
        eff_id is not None,
        sw,
        frontend_s,
        first_wave_share,
        borrowed_id,
        acc.family,
        read,
        block_scaled and precision == "fp8",
    )


BAND_SPLITS = {
    "configuration": "held out by configuration (calibrated family, model in its fit)",
    "model_family": "leave one model family out (calibrated family, model not in its fit)",
    "accelerator_family": "leave one accelerator family out (uncalibrated family)",
}
"""The held-out split whose residuals give an estimate's error band, by how far the estimate
is from the calibration data."""


@dataclass(frozen=True)
class ErrorBand:
    """Relative error band of an estimate's modelled figures.

    ``low[metric]`` and ``high[metric]`` are measured / predicted quantiles of held-out runs
    (``data/error_bands.csv``) enclosing ``coverage`` of them; a figure's band is the
    prediction times the two. A metric the table has no row for is absent. ``median[metric]``
    is the runs' median measured / predicted where the table records it; ``ids[metric]`` the
    row's id.
    """

    split: str
    coverage: float
    low: dict[str, float]
    high: dict[str, float]
    median: dict[str, float] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    # where the rows come from: the catalog folder of each metric's row ("built-in" for the
    # shipped data/error_bands.csv), and of the efficiency row the estimate runs on
    sources: dict[str, str] = field(default_factory=dict)
    factors_source: str = "built-in"
    efficiency_id: str | None = None

    @property
    def basis(self) -> str:
        return BAND_SPLITS[self.split]

    def source(self, metrics: Sequence[str]) -> str:
        """Where the rows of ``metrics`` come from: ``built-in``, a user catalog folder, or
        each metric's where they differ (``tpot_s: /my/cal; ttft_s, output_tok_s: built-in``)."""
        by_source: dict[str, list[str]] = {}
        for metric in metrics:
            if metric in self.sources:
                by_source.setdefault(self.sources[metric], []).append(metric)
        if len(by_source) <= 1:
            return next(iter(by_source), "built-in")
        return "; ".join(f"{', '.join(m)}: {w}" for w, m in by_source.items())

    def note(self, metrics: Sequence[str]) -> str | None:
        """The line saying where the band of ``metrics`` does not describe the factors the
        estimate runs on (:func:`band_note`); None where it does."""
        shown = {m: self.sources[m] for m in metrics if m in self.sources}
        return band_note(self.split, self.factors_source, self.efficiency_id, shown)

    def bounds(self, metric: str, predicted: float) -> tuple[float | None, float | None]:
        """(low, high) of a predicted figure; (None, None) where the table has no band."""
        if metric not in self.low:
            return None, None
        return predicted * self.low[metric], predicted * self.high[metric]


def error_band(catalog: Catalog, choice: EngineChoice, model_id: str) -> ErrorBand | None:
    """The error band of an estimate, keyed by how far it is from the calibration data.

    An accelerator family without fitted factors takes the leave-one-accelerator-family-out
    residuals; a calibrated family with a model its row was not fitted to (``models_fitted``)
    the leave-one-model-family-out ones; otherwise the residuals held out by configuration.
    None when the catalog has no error bands.
    """
    if not choice.calibrated:
        split = "accelerator_family"
    else:
        eff = catalog.table("efficiency")[choice.efficiency_id]
        models = [m.strip() for m in (eff.models_fitted or "").split(";") if m.strip()]
        split = "model_family" if models and model_id not in models else "configuration"
    rows = [r for r in catalog.table("error-bands").values() if r.split == split]
    if not rows:
        return None
    sources = {r.metric: _folder(catalog, "error-bands", r.id) for r in rows}
    factors = (
        _folder(catalog, "efficiency", choice.efficiency_id)
        if choice.calibrated and choice.efficiency_id
        else "built-in"
    )
    return ErrorBand(
        split,
        rows[0].coverage,
        {r.metric: r.measured_over_predicted_low for r in rows},
        {r.metric: r.measured_over_predicted_high for r in rows},
        {
            r.metric: r.measured_over_predicted_median
            for r in rows
            if r.measured_over_predicted_median is not None
        },
        {r.metric: r.id for r in rows},
        sources,
        factors,
        choice.efficiency_id,
    )


MIN_BAND_RESIDUALS = 5
"""Held-out values a (split, metric) band needs: ``tokenfab calibrate`` writes no band from
fewer (:func:`tokenfab.calibrate.bands.band_rows`)."""


def _folder(catalog: Catalog, table: str, record_id: str) -> str:
    """The catalog folder a row was read from: ``built-in`` or the user's folder."""
    from pathlib import Path

    from tokenfab.catalog import builtin_dir

    path = Path(catalog.where(table, record_id).rsplit(":", 1)[0])
    return "built-in" if path.parent == builtin_dir() else str(path.parent)


def band_note(
    split: str, factors: str, efficiency_id: str | None, sources: Mapping[str, str]
) -> str | None:
    """The line an estimate shows where its band does not describe its factors, else None.

    ``factors``: the folder of the efficiency row the estimate runs on (``built-in`` or a user
    catalog); ``sources``: each band metric's folder.

    Examples
    --------
    >>> print(band_note("configuration", "/cal", "hopper-vllm", {"tpot_s": "built-in"}))
    built-in band: your calibration in /cal (efficiency row hopper-vllm) wrote none held out by configuration (fewer than 5 held-out values), so it is the built-in factors' held-out error, not that of yours
    >>> print(band_note("configuration", "/cal", "x", {"tpot_s": "/cal", "ttft_s": "built-in"}))
    built-in band for ttft_s: your calibration in /cal (efficiency row x) wrote none held out by configuration for them (fewer than 5 held-out values), so it is the built-in factors' held-out error, not that of yours
    >>> band_note("configuration", "built-in", "hopper-vllm", {"tpot_s": "built-in"}) is None
    True
    """
    other = [m for m, where in sources.items() if where != factors]
    if not other:
        return None
    name = BAND_SPLITS[split].split(" (")[0]
    some = len(other) < len(sources)
    metrics = f" for {', '.join(other)}" if some else ""
    if factors != "built-in":
        return (
            f"built-in band{metrics}: your calibration in {factors} (efficiency row "
            f"{efficiency_id}) wrote none {name}{' for them' if some else ''} (fewer than "
            f"{MIN_BAND_RESIDUALS} held-out values), so it is the built-in factors' held-out "
            "error, not that of yours"
        )
    folders = ", ".join(sorted({sources[m] for m in other}))
    return (
        f"band{metrics} from the calibration in {folders}, while the factors are built-in"
        f"{f' (efficiency row {efficiency_id})' if efficiency_id else ''}: it is that "
        "calibration's held-out error, not the built-in factors'"
    )


def attention_peak_flops_per_s(acc: Accelerator, precision: str) -> float:
    """Rate of attention's products: the 16-bit peak, or FP8 where no 16-bit peak is published."""
    return float(_attention_peak(acc, precision, {}))


def _attention_peak(acc: Accelerator, precision: str, values: Mapping[str, ArrayLike]) -> NDArray:
    for column in ("bf16_dense_tflops", "fp8_dense_tflops"):
        if getattr(acc, column) is not None:
            return np.asarray(values.get(column, getattr(acc, column)), dtype=float) * 1e12
    return _peak(acc, precision, values)


def _peak(acc: Accelerator, precision: str, values: Mapping[str, ArrayLike]) -> NDArray:
    column = peak_column(acc, precision)  # an unsupported format: ScenarioError
    return np.asarray(values.get(column, getattr(acc, column)), dtype=float) * 1e12


def hardware(
    acc: Accelerator, precision: str, values: Mapping[str, ArrayLike] | None = None
) -> Hardware:
    """Peaks of an accelerator at a compute precision, in base units.

    Attention's score and weighted-sum products run at the 16-bit rate whatever the weight
    format: FlashAttention/FlashMLA-class kernels upcast an FP8 cache to BF16 on the fly. A chip
    with no published 16-bit peak (Rubin, announced) uses its FP8 rate for attention.

    ``values`` replaces catalog columns of the accelerator (``memory_bandwidth_tb_s``,
    ``bf16_dense_tflops``, ...) by numbers or arrays in the catalog's units; the fields then
    take their shape (a Monte Carlo sample axis, :mod:`tokenfab.pipeline`). Which columns
    apply -- the peak a format computes at, whether it is weight-only, whether a scale-out
    link exists -- is decided by the catalog record, not by the values.
    """
    v: Mapping[str, ArrayLike] = values or {}

    def col(name: str) -> NDArray:
        return np.asarray(v.get(name, getattr(acc, name)), dtype=float)

    dequant = (
        _peak(acc, "bf16", v) / dequant_flops_per_element(precision)
        if weight_only(acc, precision)
        else np.asarray(float("inf"))
    )
    return Hardware(
        hbm_bytes_per_s=col("memory_bandwidth_tb_s") * 1e12,
        peak_flops_per_s=_peak(acc, precision, v),
        attention_flops_per_s=_attention_peak(acc, precision, v),
        dequant_elements_per_s=dequant,
        memory_bytes=col("memory_gb") * GIB,
        link_bytes_per_s=(
            col("scaleup_bandwidth_gb_s") * 1e9
            if acc.scaleup_bandwidth_gb_s
            else np.asarray(PCIE_BIDIR_GB_S * 1e9)
        ),
        domain_size=np.asarray(float(acc.scaleup_domain_size or 1)),
        # catalogued per direction; the comm model takes bidirectional figures; NaN: not public
        scaleout_bytes_per_s=(
            2.0 * col("scaleout_bandwidth_gb_s") * 1e9
            if acc.scaleout_bandwidth_gb_s is not None
            else np.asarray(np.nan)
        ),
    )


# --------------------------------------------------------------------------------------------
# Fitting the factors to published measurements
# --------------------------------------------------------------------------------------------

MODEL_ALIASES = {
    "llama-3.3-70b": "llama-3.3-70b",
    "llama-3.1-405b": "llama-3.1-405b",
    "llama-3.1-70b": "llama-3.1-70b",
    "llama-3.1-8b": "llama-3.1-8b",
    "llama-2-70b": "llama-2-70b",
    "gpt-j-6b": "gpt-j-6b",
    "mixtral-8x7b": "mixtral-8x7b",
    "deepseek-r1": "deepseek-r1",
    "gpt-oss-120b": "gpt-oss-120b",
    "gpt-oss-20b": "gpt-oss-20b",
    "llama-4-maverick": "llama-4-maverick",
    "qwen3-235b-a22b": "qwen3-235b-a22b",
    "qwen3-30b-a3b": "qwen3-30b-a3b",
}
ACCELERATOR_ALIASES = (  # (substring of the published name, catalog id); first match wins
    ("gb200", "gb200"),
    ("b200", "b200"),
    ("h200", "h200-sxm"),
    ("h100", "h100-sxm"),
    ("a100-pcie", "a100-pcie-80gb"),
    ("a100", "a100-sxm-80gb"),
    ("l40s", "l40s"),
    ("mi300x", "mi300x"),
)


@dataclass(frozen=True)
class Measurement:
    """One published figure, mapped onto a tokenfab scenario."""

    row: int  # line in the measurements file
    metric: str  # output_tok_s_total | ttft_s | tpot_s
    measured: float
    model: str
    accelerator: str
    accelerators: int
    tensor_parallel: int
    expert_parallel: int
    precision: str
    kv_precision: str
    input_tokens: int
    output_tokens: int
    mode: str  # offline | static | concurrent | single | decode (a disaggregated decode pool)
    batch: float  # fixed batch or concurrency; offline: the request count (an upper bound)
    software: str
    label: str
    pipeline_parallel: int = 1
    attention_data_parallel: int | None = None  # None: max(tp, ep) / tp ranks (vLLM's EP)
    block_scaled: bool = False  # FP8 weights with block scales (block_scaled_fp8)


def _model_id(name: str) -> str | None:
    low = name.lower().replace(" ", "-")
    low = low.replace("llama-2-70b-(doc:-'llama-70b')", "llama-2-70b")
    for key, mid in MODEL_ALIASES.items():
        if low.startswith(key):
            return mid
    return None


def _accelerator_id(name: str) -> str | None:
    low = name.lower().replace(" ", "-")
    for key, aid in ACCELERATOR_ALIASES:
        if key in low:
            return aid
    return None


def _number(text: str) -> float | None:
    import re

    m = re.search(r"(\d+)", text)
    return float(m.group(1)) if m else None


def _software_class(text: str) -> str:
    """Serving-software class of a published run: vLLM, SGLang, TensorRT-LLM's engine runtime
    (<= v0.14, NIM 1.x) or its PyTorch backend (v0.20 on)."""
    low = text.lower()
    if "vllm" in low:
        return "vllm"
    if "sglang" in low:
        return "sglang"
    if any(v in low for v in ("v0.5", "v0.9", "v0.14", "nim")):
        return "trtllm-engine"
    return "trtllm"


def read_measurements(
    path: str, catalog: Catalog
) -> tuple[list[Measurement], list[tuple[int, str]]]:
    """Map each published row onto scenarios; rows tokenfab cannot model are returned with why.

    A row becomes one :class:`Measurement` per published metric (throughput, TTFT, TPOT).
    """
    import csv

    kept: list[Measurement] = []
    skipped: list[tuple[int, str]] = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            line = reader.line_num
            mid, aid = _model_id(row["model"]), _accelerator_id(row["accelerator"])
            if mid is None or mid not in catalog.table("models"):
                skipped.append((line, f"model {row['model']!r} not in the catalog"))
                continue
            if aid is None or aid not in catalog.table("accelerators"):
                skipped.append((line, f"accelerator {row['accelerator']!r} not in the catalog"))
                continue
            tp_text, prec_text = row["tensor_parallel"], row["precision"]
            if "MTP" in tp_text or "speculative" in tp_text:
                skipped.append(
                    (line, "speculative decoding (MTP) with an unpublished acceptance rate")
                )
                continue
            if not row["input_tokens"] or not row["output_tokens"]:
                skipped.append((line, "input or output length not published"))
                continue
            n = int(row["accelerator_count"])
            if tp_text.startswith("DEP") or "attention-DP" in tp_text:
                tp, ep = 1, n
            elif tp_text.strip().isdigit():
                tp, ep = int(tp_text), 1
            else:
                skipped.append((line, f"parallel layout {tp_text!r} not stated"))
                continue
            if "MXFP4" in prec_text:
                precision, kv = "mxfp4", "fp8"
            elif "FP4" in prec_text:
                precision, kv = "fp4", "bf16" if "FP16 KV" in row["model"] else "fp8"
            elif "FP8" in prec_text and mid.startswith("gpt-oss"):
                # gpt-oss ships MXFP4 weights; on Hopper they run weight-only with the "auto"
                # (BF16) cache (the page's llm_options)
                precision, kv = "mxfp4", "bf16"
            elif "FP8" in prec_text:
                precision, kv = "fp8", "fp8"
            else:
                precision, kv = "fp16", "fp16"
            how = row["batch_or_concurrency"].lower()
            if how.startswith("static batch"):
                mode, batch = "static", _number(how[len("static batch") :])
            elif how.startswith("batch 1"):
                mode, batch = "single", 1.0
            elif how.startswith("batch"):
                mode, batch = "static", _number(how)
            elif how.startswith("concurrency"):
                mode, batch = ("single", 1.0) if _number(how) == 1 else ("concurrent", _number(how))
            else:
                mode = "offline"
                seqs = re.search(r"max_num_seqs=(\d+)", how) if (re := __import__("re")) else None
                reqs = re.search(r"(\d+) prompts|num_requests=(\d+)", how)
                cap = seqs.group(1) if seqs else (reqs.group(1) or reqs.group(2) if reqs else None)
                batch = float(cap) if cap else 1e9
            software = _software_class(row["software"])
            base = dict(
                row=line,
                model=mid,
                accelerator=aid,
                accelerators=n,
                tensor_parallel=tp,
                expert_parallel=ep,
                precision=precision,
                kv_precision=kv,
                input_tokens=int(row["input_tokens"]),
                output_tokens=int(row["output_tokens"]),
                mode=mode,
                batch=float(batch or 1),
                software=software,
                label=f"{mid} {n}x{aid} {precision} {row['input_tokens']}/{row['output_tokens']} {how[:24]}",
            )
            total = row["throughput_output_tok_s_total"]
            per_gpu = row["throughput_output_tok_s_per_gpu"]
            if total or per_gpu:
                value = float(total) if total else float(per_gpu) * n
                kept.append(Measurement(metric="output_tok_s_total", measured=value, **base))
            if row["ttft_s"] and mode in ("single", "static"):
                kept.append(Measurement(metric="ttft_s", measured=float(row["ttft_s"]), **base))
            elif row["ttft_s"]:
                skipped.append(
                    (line, "TTFT under closed-loop concurrency (queueing of prefills) not fitted")
                )
            if row["tpot_s"]:
                kept.append(Measurement(metric="tpot_s", measured=float(row["tpot_s"]), **base))
    return kept, skipped


@dataclass(frozen=True)
class MeasurementArrays:
    """The measurements as stacked arrays, ready for a vectorised prediction."""

    items: list[Measurement]
    shape: Any
    hw: Hardware
    layout: Any
    base_engine: Engine  # memory settings per row; efficiencies are supplied per call
    family: NDArray
    software: NDArray
    wbpp: NDArray
    kvb: NDArray
    input_tokens: NDArray
    output_tokens: NDArray
    batch: NDArray
    static: NDArray
    metric: NDArray
    measured: NDArray
    replicas: NDArray
    frontend_s: Any = 0.0  # closed-loop TTFT terms of each row's engine (data/closed_loop.csv)
    first_wave_share: Any = 0.0


def stack_measurements(items: list[Measurement], catalog: Catalog) -> MeasurementArrays:
    """Stack measurements into arrays (one entry a measurement)."""
    from tokenfab.perf.memory import ModelShape
    from tokenfab.perf.precision import BYTES_PER_ELEMENT
    from tokenfab.perf.serving import layout

    shapes, hws, engines, fams, sws, loops = [], [], [], [], [], []
    for m in items:
        acc = catalog.accelerator(m.accelerator)
        shapes.append(ModelShape.from_record(catalog.model(m.model), m.precision))
        hws.append(hardware(acc, m.precision))
        choice = choose_engine(
            catalog, acc, m.software, precision=m.precision, block_scaled=m.block_scaled
        )
        engines.append(choice.engine)
        loops.append((choice.frontend_s, choice.first_wave_share))
        fams.append(acc.family)
        sws.append(m.software)

    def stack(objs: list[Any], cls: Any) -> Any:
        from dataclasses import fields

        return cls(
            **{
                f.name: np.stack([np.asarray(getattr(o, f.name), dtype=float) for o in objs])
                for f in fields(cls)
            }
        )

    tp = np.array([m.tensor_parallel for m in items], dtype=float)
    ep = np.array([m.expert_parallel for m in items], dtype=float)
    pp = np.array([m.pipeline_parallel for m in items], dtype=float)
    adp = np.array(
        [
            m.attention_data_parallel
            or max(m.tensor_parallel, m.expert_parallel) / m.tensor_parallel
            for m in items
        ],
        dtype=float,
    )
    lay = layout(tp, pp, ep, adp)
    n = np.array([m.accelerators for m in items], dtype=float)
    return MeasurementArrays(
        items=items,
        shape=ModelShape.stack(shapes),
        hw=stack(hws, Hardware),
        layout=lay,
        base_engine=stack(engines, Engine),
        family=np.array(fams),
        software=np.array(sws),
        wbpp=np.array([BYTES_PER_ELEMENT[m.precision] for m in items]),
        kvb=np.array([BYTES_PER_ELEMENT[m.kv_precision] for m in items]),
        input_tokens=np.array([m.input_tokens for m in items], dtype=float),
        output_tokens=np.array([m.output_tokens for m in items], dtype=float),
        batch=np.array([m.batch for m in items], dtype=float),
        static=np.array([m.mode in ("static", "single", "decode") for m in items]),
        metric=np.array([m.metric for m in items]),
        measured=np.array([m.measured for m in items], dtype=float),
        replicas=n / lay.accelerators,
        frontend_s=np.array([f for f, _ in loops], dtype=float),
        first_wave_share=np.array([w for _, w in loops], dtype=float),
    )


def predict_measurements(
    ma: MeasurementArrays,
    compute_efficiency: ArrayLike,
    bw_efficiency: ArrayLike,
    overhead_s: ArrayLike,
    comm_efficiency: ArrayLike,
    overhead_per_sequence_s: ArrayLike = 0.0,
    moe_efficiency: ArrayLike = 1.0,
    kv_efficiency: ArrayLike = 1.0,
    overhead_per_layer_s: ArrayLike = 0.0,
) -> NDArray:
    """Predicted value of every measurement; efficiencies broadcast against the rows.

    Give the efficiencies shape ``(K, 1)`` to evaluate ``K`` candidate factor sets against all
    ``R`` rows at once (result ``(K, R)``).
    """
    from dataclasses import replace as dc_replace

    from tokenfab.perf.serving import closed_loop_ttft_s, max_batch_size, steady_state

    eng = dc_replace(
        ma.base_engine,
        compute_efficiency=np.asarray(compute_efficiency, dtype=float),
        bw_efficiency=np.asarray(bw_efficiency, dtype=float),
        overhead_s=np.asarray(overhead_s, dtype=float),
        comm_efficiency=np.asarray(comm_efficiency, dtype=float),
        overhead_per_sequence_s=np.asarray(overhead_per_sequence_s, dtype=float),
        moe_efficiency=np.asarray(moe_efficiency, dtype=float),
        kv_efficiency=np.asarray(kv_efficiency, dtype=float),
        overhead_per_layer_s=np.asarray(overhead_per_layer_s, dtype=float),
    )
    common = (ma.shape, ma.hw)
    bmax = max_batch_size(
        *common, ma.base_engine, ma.layout, ma.wbpp, ma.kvb, ma.input_tokens, ma.output_tokens
    )
    bsz = np.maximum(np.minimum(ma.batch, bmax), 1.0)
    args = (*common, eng, ma.layout, ma.wbpp, ma.kvb, bsz, ma.input_tokens, ma.output_tokens)
    cont = steady_state(*args)
    stat = steady_state(*args, static_batching=True)
    out = np.where(ma.static, stat.output_tok_s, cont.output_tok_s) * ma.replicas
    tpot = np.where(ma.static, stat.tpot_s, cont.tpot_s)
    ttft = stat.ttft_service_s
    queued = ~ma.static & (ma.metric == "ttft_s")
    if np.any(queued):
        # closed-loop clients return in cohorts and wait for prefill room
        # (:func:`tokenfab.perf.serving.closed_loop_ttft_s`)
        wait = closed_loop_ttft_s(
            *common,
            eng,
            ma.layout,
            ma.wbpp,
            ma.kvb,
            bsz,
            ma.input_tokens,
            ma.output_tokens,
            ma.frontend_s,
            ma.first_wave_share,
        )
        decode = (ma.output_tokens - 1.0) * cont.tpot_s
        # clients beyond the batch the memory holds wait for a slot (Little's law)
        slots = np.maximum(ma.batch - bsz, 0.0) / bsz * (wait + decode)
        ttft = np.where(queued, wait + slots, np.where(ma.static, ttft, cont.ttft_service_s))
    return np.where(
        ma.metric == "output_tok_s_total", out, np.where(ma.metric == "ttft_s", ttft, tpot)
    )


FACTORS = (
    "compute_efficiency",
    "bw_efficiency",
    "overhead_ms",
    "comm_efficiency",
    "overhead_per_sequence_us",
    "moe_efficiency",
    "kv_efficiency",
    "overhead_per_layer_us",
)


def predict_with_stored(ma: MeasurementArrays, catalog: Catalog) -> NDArray:
    """Prediction of every measurement with the factors the run path uses for its family and
    software class (``data/efficiency.csv``, or the median where the family has no row)."""
    e = ma.base_engine
    return predict_measurements(
        ma,
        e.compute_efficiency,
        e.bw_efficiency,
        e.overhead_s,
        e.comm_efficiency,
        e.overhead_per_sequence_s,
        e.moe_efficiency,
        e.kv_efficiency,
        e.overhead_per_layer_s,
    )


def _subset(ma: MeasurementArrays, rows: NDArray) -> MeasurementArrays:
    from dataclasses import fields

    def take(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return v[rows]
        if hasattr(v, "__dataclass_fields__"):
            return type(v)(
                **{
                    f.name: np.asarray(getattr(v, f.name))[rows]
                    if np.ndim(getattr(v, f.name))
                    else getattr(v, f.name)
                    for f in fields(v)
                }
            )
        return v

    return MeasurementArrays(
        **{
            f.name: (
                [ma.items[i] for i in rows] if f.name == "items" else take(getattr(ma, f.name))
            )
            for f in fields(ma)
        }
    )
