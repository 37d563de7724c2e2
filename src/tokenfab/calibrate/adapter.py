"""The one place the calibration calls the performance model.

:func:`prepare` turns :class:`~tokenfab.calibrate.records.Measurement` records into the perf
model's stacked arrays (one *target* a measured metric: TTFT, TPOT or output throughput) and
says which records today's model cannot express; :func:`predict` evaluates every target for
given efficiency factors, vectorised over rows. When the serving model's semantics change
(closed-loop concurrency, attention-DP and MoE layouts, disaggregation), only this module
changes.

What today's model expresses (``tokenfab.perf.calibration.predict_measurements``):
aggregated serving with the record's tensor, pipeline, expert and attention data-parallel
degrees; a fixed batch, or closed-loop concurrency taken as the batch (clients beyond what the
memory holds wait for a slot); static batching; offline max-load; the decode pool of a
disaggregated run (its TPOT only). TTFT under closed-loop concurrency adds the wait for
prefill room (:func:`tokenfab.perf.serving.closed_loop_ttft_s`) and is predicted and
reported but never fitted (``Prepared.fitted``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.calibrate.records import Measurement
from tokenfab.catalog import Catalog
from tokenfab.perf import calibration as pc
from tokenfab.perf.operating import engine_kv_default

FACTORS = pc.FACTORS
"""Names of the fitted factors, in the order of :data:`tokenfab.perf.calibration.FACTORS`."""

METRICS = ("ttft_s", "tpot_s", "output_tok_s")


def software_class(m: Measurement) -> str:
    """Serving-software class of the engine catalog (``data/serving_software.csv``) a record
    runs: TensorRT-LLM's C++ engine runtime (<= v0.14, NIM 1.x), TensorRT-LLM (PyTorch backend,
    v0.15 on), SGLang, or vLLM (and any other engine, which runs as vLLM's class)."""
    if m.engine == "trtllm":
        # disaggregated AIConfigurator rows state the Dynamo runtime's version (0.8.1 ...),
        # whose TensorRT-LLM is the PyTorch backend: only aggregated versions date the engine
        old = m.mode == "agg" and m.era != "unknown" and tuple(map(int, m.era.split("."))) < (0, 15)
        return "trtllm-engine" if old or m.notes.startswith("NIM") else "trtllm"
    if m.engine == "sglang":
        return "sglang"
    return "vllm"


MOE_SLICE_ALIGNMENT = 128
"""Columns of a rank's slice of a routed expert's intermediate dimension below which no
engine runs it as stated: SGLang's FusedMoE asserts ``intermediate_size % moe_tp_size == 0``
and, for the FlashInfer TensorRT-LLM MoE kernel, pads ``intermediate_size_per_partition`` up
to a multiple of 128 ("flashinfer_trtllm kernel requires intermediate_size to be a multiple of
128", sgl-project/sglang@python/sglang/srt/layers/moe/fused_moe_triton/layer.py); vLLM's
FlashInfer NVFP4 MoE raises on it. A MoE TP of 32 or 64 for DeepSeek-R1 (2,048 columns) would
read its experts 2-4 times over."""


def stated_layout_runs(m: Measurement, heads: int, moe_intermediate: int | None) -> bool:
    """Whether an engine can build the layout a record states.

    Not when the tensor-parallel size does not divide the attention heads (vLLM and
    TensorRT-LLM assert ``num_heads % tp_size == 0``, ``data/serving_software.csv``), nor when
    the MoE tensor parallel does not divide the routed experts' intermediate dimension or
    leaves a rank fewer than :data:`MOE_SLICE_ALIGNMENT` columns of it.

    >>> from tokenfab.calibrate.records import Layout
    >>> from types import SimpleNamespace as R
    >>> stated_layout_runs(R(layout=Layout(tp=36, moe_tp=36)), 128, 2048)  # 128 / 36 heads
    False
    >>> stated_layout_runs(R(layout=Layout(tp=64, moe_tp=8, moe_ep=8)), 128, 2048)  # 256 a rank
    True
    """
    lay = m.layout
    if heads % lay.tp:
        return False
    if not moe_intermediate:
        return True
    slice_columns = moe_intermediate / lay.moe_tp
    return moe_intermediate % lay.moe_tp == 0 and slice_columns >= MOE_SLICE_ALIGNMENT


def _layout(
    m: Measurement, heads: int = 1, moe_intermediate: int | None = None
) -> tuple[int, int, int, int]:
    """(tensor parallel, pipeline parallel, expert parallel, attention data-parallel) of the
    model's :class:`~tokenfab.perf.serving.Layout` for a record.

    A stage spans ``max(tp x attention_dp, moe_tp x moe_ep)`` ranks (the AIConfigurator
    convention; a blank attention-DP column with ``moe_tp x moe_ep`` above ``tp`` means the
    attention runs data-parallel over the extra ranks); the model's layout takes the
    expert-parallel degree as stated and the MoE tensor parallel as the rest of the ranks.

    A stated layout no engine can build (:func:`stated_layout_runs`: DeepSeek-R1 at "TP 36,
    MoE TP 36" on a GB200 rack) is read as the layout those ranks do run: attention
    data-parallel over all of them and the experts expert-parallel over all of them (the
    "wide EP" of TensorRT-LLM and SGLang's DeepEP; ``docs/calibration.md``). The TP column of
    those rows counts the ranks (the engines' ``tp_size`` with attention DP on).
    """
    lay = m.layout
    ranks = max(lay.tp * lay.attention_dp, lay.moe_tp * lay.moe_ep)
    if not stated_layout_runs(m, heads, moe_intermediate):
        return 1, lay.pp, ranks, ranks
    return lay.tp, lay.pp, max(lay.moe_ep, 1), max(ranks // lay.tp, 1)


@dataclass(frozen=True)
class Prepared:
    """Targets in the perf model's arrays, and the records it cannot express."""

    arrays: pc.MeasurementArrays
    record: NDArray  # index into the measurements of each target
    metric: NDArray  # "ttft_s" | "tpot_s" | "output_tok_s" of each target
    measured: NDArray
    skipped: list[tuple[int, str]]  # (measurement index, reason): not expressible today
    fitted: NDArray | None = None  # False: predicted and reported, never fitted (None: all)

    @property
    def size(self) -> int:
        return int(self.measured.size)

    def subset(self, rows: NDArray) -> Prepared:
        """The targets ``rows`` only."""
        return Prepared(
            pc._subset(self.arrays, rows),
            self.record[rows],
            self.metric[rows],
            self.measured[rows],
            [],
            None if self.fitted is None else self.fitted[rows],
        )

    def fit_rows(self, rows: NDArray) -> NDArray:
        """The targets among ``rows`` a fit may use."""
        rows = np.asarray(rows)
        return rows if self.fitted is None else rows[self.fitted[rows]]


def _why_not(m: Measurement, catalog: Catalog) -> str | None:
    if m.mode == "disagg" and m.tpot_s is None:
        return "disaggregated run without TPOT: only its decode pool's TPOT is modelled"
    rec = catalog.model(m.model)
    lay = m.layout
    if rec.kind != "moe":
        # a dense model's stated layout is read as stated (the wide-EP reading of
        # _layout is for routed experts), so one no engine builds is not a run: refused as
        # `tokenfab estimate` refuses the same degrees (perf.operating.layout_problem)
        if lay.moe_ep > 1:
            return f"moe_ep: {m.model} is dense; expert parallelism needs routed experts (use 1)"
        if rec.num_attention_heads % lay.tp:
            return (
                f"tp: {lay.tp} does not divide {m.model}'s {rec.num_attention_heads} attention "
                f"heads (engines need num_attention_heads % tp == 0)"
            )
    else:
        # the layout the model runs (after the wide-EP reading): the expert-parallel ranks
        # must exist and tile the stage, as estimate requires (perf.operating.layout_problem)
        tp, _, ep, adp = _layout(m, rec.num_attention_heads, rec.moe_intermediate_size)
        if ep > rec.num_experts:
            return f"moe_ep: {ep} exceeds {m.model}'s {rec.num_experts} routed experts"
        if (tp * adp) % ep:
            return (
                f"moe_ep: {ep} does not divide the {tp * adp} ranks of a stage (tp {tp} x "
                f"attention_dp {adp})"
            )
    acc = catalog.accelerator(m.accelerator)
    try:
        pc.hardware(acc, m.precision)
        pc.choose_engine(catalog, acc, software_class(m))
    except Exception as exc:
        return str(exc)
    return None


def block_scaled(m: Measurement, catalog: Catalog) -> bool:
    """Whether a run's FP8 weights carry block scales: as its file states
    (``Measurement.fp8_block``), else as the model's published FP8 checkpoint does
    (:func:`tokenfab.perf.calibration.block_scaled_fp8`)."""
    return pc.block_scaled_fp8(catalog.model(m.model), m.precision, m.fp8_block)


def prepare(measurements: list[Measurement], catalog: Catalog) -> Prepared:
    """Stack every measured metric the model can express; list the records it cannot."""
    items: list[pc.Measurement] = []
    record: list[int] = []
    fitted: list[bool] = []
    skipped: list[tuple[int, str]] = []
    for i, m in enumerate(measurements):
        why = _why_not(m, catalog)
        if why:
            skipped.append((i, why))
            continue
        acc = catalog.accelerator(m.accelerator)
        rec = catalog.model(m.model)
        tp, pp, ep, adp = _layout(m, rec.num_attention_heads, rec.moe_intermediate_size)
        load = m.extra.get("load", "concurrency")
        size = m.concurrency or m.batch
        if m.mode == "disagg":
            # the decode pool alone: its instances share the clients and decode without
            # prefill chunks (the prompts ran on the prefill pool)
            mode, batch = "decode", max(float(size or 1) / max(m.layout.workers, 1), 1.0)
        elif load == "offline":
            mode, batch = "offline", float(m.extra.get("load_size") or 1e9)
        elif size == 1:
            mode, batch = "single", 1.0
        elif load in ("static", "batch"):
            mode, batch = "static", float(size or 1)
        else:
            mode, batch = "concurrent", float(size or 1)
        base = dict(
            row=i,
            model=m.model,
            accelerator=m.accelerator,
            accelerators=m.accelerators,
            tensor_parallel=tp,
            expert_parallel=ep,
            pipeline_parallel=pp,
            attention_data_parallel=adp,
            precision=m.precision,
            # a record naming no cache format has the engine's default, as an estimate of the
            # same configuration does (vLLM and SGLang: the model's 16-bit dtype)
            kv_precision=m.kv_precision
            or engine_kv_default(
                pc.choose_engine(catalog, acc, software_class(m)), rec, acc, m.precision
            ),
            input_tokens=round(m.isl),
            output_tokens=max(round(m.osl), 1),
            mode=mode,
            batch=batch,
            software=software_class(m),
            label=m.source,
            block_scaled=block_scaled(m, catalog),
        )
        for metric, value, old in (
            ("output_tok_s", m.output_tok_s, "output_tok_s_total"),
            ("ttft_s", m.ttft_s, "ttft_s"),
            ("tpot_s", m.tpot_s, "tpot_s"),
        ):
            if value is None:
                continue
            if mode == "decode" and metric != "tpot_s":
                skipped.append(
                    (i, f"disaggregated {metric}: only the decode pool's TPOT is modelled")
                )
                continue
            items.append(pc.Measurement(metric=old, measured=float(value), **base))
            record.append(i)
            # TTFT under closed-loop concurrency is mostly the wait for prefill room
            # (tokenfab.perf.serving.closed_loop_ttft_s): predicted and reported, never fitted
            fitted.append(not (metric == "ttft_s" and mode not in ("single", "static")))
    if not items:
        why = skipped[0][1] if skipped else "no measured value"
        raise ValueError(f"no measurement can be expressed by today's model ({why})")
    arrays = pc.stack_measurements(items, catalog)
    names = {"output_tok_s_total": "output_tok_s", "ttft_s": "ttft_s", "tpot_s": "tpot_s"}
    return Prepared(
        arrays,
        np.array(record, dtype=int),
        np.array([names[it.metric] for it in items]),
        arrays.measured.copy(),
        skipped,
        np.array(fitted, dtype=bool),
    )


def weights_beyond_memory(prep: Prepared, measurements: list[Measurement]) -> list[str]:
    """One line for each record whose stated layout puts more weight bytes on an accelerator
    than it holds: no engine ran it so, so the layout columns are wrong (a blank read as 1),
    yet it is fitted as stated (dropping it would change the fit of data already in use).

    The bytes are the checkpoint's as stored
    (:func:`tokenfab.perf.serving.weight_bytes_per_accelerator`, ``as_loaded=False``), against the catalogued memory read as binary GB
    (:data:`tokenfab.perf.calibration.GIB`); the runtime reserve and the KV cache,
    which only make it worse, are left out.
    """
    from tokenfab.perf.serving import weight_bytes_per_accelerator

    a = prep.arrays
    held = np.asarray(weight_bytes_per_accelerator(a.shape, a.layout, a.wbpp, as_loaded=False))
    held = np.broadcast_to(held, (prep.size,))
    cap = np.broadcast_to(np.asarray(a.hw.memory_bytes, dtype=float), (prep.size,))
    lay = a.layout
    out: list[str] = []
    seen: set[int] = set()
    for i in np.flatnonzero(held > cap):
        r = int(prep.record[i])
        if r in seen:
            continue
        seen.add(r)
        m = measurements[r]
        degrees = (
            f"TP {float(np.broadcast_to(lay.tensor_parallel, (prep.size,))[i]):g} x "
            f"PP {float(np.broadcast_to(lay.pipeline_parallel, (prep.size,))[i]):g} x "
            f"EP {float(np.broadcast_to(lay.expert_parallel, (prep.size,))[i]):g}"
        )
        out.append(
            f"{m.source}: {m.model} in {m.precision} at {degrees} puts {held[i] / 1e9:.0f} GB "
            f"of weights on each {m.accelerator}, {held[i] / cap[i]:.1f} x its "
            f"{cap[i] / 1e9:.1f} GB"
        )
    return out


def predict(prep: Prepared, factors: dict[str, ArrayLike]) -> NDArray:
    """Predicted value of every target for the factors (each a scalar or one value a target).

    ``overhead_ms`` is in milliseconds, ``overhead_per_sequence_us`` and
    ``overhead_per_layer_us`` in microseconds, as in
    ``data/efficiency.csv``.
    """
    f = {k: np.asarray(v, dtype=float) for k, v in factors.items()}
    return pc.predict_measurements(
        prep.arrays,
        compute_efficiency=f["compute_efficiency"],
        bw_efficiency=f["bw_efficiency"],
        overhead_s=f["overhead_ms"] / 1e3,
        comm_efficiency=f["comm_efficiency"],
        overhead_per_sequence_s=f["overhead_per_sequence_us"] / 1e6,
        moe_efficiency=f["moe_efficiency"],
        kv_efficiency=f["kv_efficiency"],
        overhead_per_layer_s=f["overhead_per_layer_us"] / 1e6,
    )


def stored_factors(prep: Prepared, catalog: Catalog) -> dict[str, NDArray]:
    """The factors the run path would use for each target (catalog rows, or the median)."""
    out = {k: np.empty(prep.size) for k in FACTORS}
    for i in range(prep.size):
        acc = catalog.accelerator(prep.arrays.items[i].accelerator)
        item = prep.arrays.items[i]
        eng = pc.choose_engine(
            catalog,
            acc,
            str(prep.arrays.software[i]),
            precision=item.precision,
            block_scaled=item.block_scaled,
        ).engine
        out["compute_efficiency"][i] = eng.compute_efficiency
        out["bw_efficiency"][i] = eng.bw_efficiency
        out["overhead_ms"][i] = eng.overhead_s * 1e3
        out["comm_efficiency"][i] = eng.comm_efficiency
        out["overhead_per_sequence_us"][i] = eng.overhead_per_sequence_s * 1e6
        out["moe_efficiency"][i] = eng.moe_efficiency
        out["kv_efficiency"][i] = eng.kv_efficiency
        out["overhead_per_layer_us"][i] = eng.overhead_per_layer_s * 1e6
    return out
