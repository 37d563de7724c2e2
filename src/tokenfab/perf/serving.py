"""Serving: how a continuously batched engine turns step times into tokens per second.

The unit of work is a *round*: every sequence in flight advances by one output token, and
the prompts of newly admitted requests are prefilled in chunks inside the same steps
(chunked prefill, as in vLLM, SGLang and TensorRT-LLM's in-flight batching [1]_ [2]_). In a
steady state each request brings ``input_tokens`` of prefill per ``output_tokens`` of decode,
so a round of ``B`` decoding sequences carries ``B * input / output`` prefill tokens.

A replica spans ``pipeline_parallel x tensor_parallel x attention_data_parallel``
accelerators. Attention and dense layers are split ``tensor_parallel`` ways and replicated over
``attention_data_parallel`` groups, each with its own sequences (DeepSeek's "DEP" layout [3]_,
vLLM's ``--data-parallel-size``, SGLang's ``--enable-dp-attention``). The routed experts of a
stage are split over all its ranks: ``expert_parallel`` ways by expert and
``moe_tensor_parallel = ranks / expert_parallel`` ways inside each expert (vLLM: EP = TP x DP
with ``--enable-expert-parallel``, else the experts are tensor-parallel over TP x DP). Pipeline
stages each hold ``1/pipeline_parallel`` of the layers and work on as many micro-batches.

Everything broadcasts: each argument may be a scalar or an array, and the result has the
broadcast shape.

References
----------
.. [1] Kwon et al., "Efficient Memory Management for Large Language Model Serving with
       PagedAttention", SOSP 2023. https://arxiv.org/abs/2309.06180
.. [2] Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with
       Sarathi-Serve", OSDI 2024. https://arxiv.org/abs/2403.02310
.. [3] DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024, section 3.4 (inference deployment).
       https://arxiv.org/abs/2412.19437
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.perf.memory import (
    EMBEDDING_BYTES_PER_PARAM,
    ModelShape,
    attended_tokens,
    expected_distinct_experts,
    kv_bytes_per_sequence,
    weight_bytes,
)
from tokenfab.perf.parallel import expert_imbalance, experts_on_busiest_rank, layer_comm_time_s
from tokenfab.perf.precision import DEQUANT_TILE_ROWS
from tokenfab.perf.roofline import attention_flops_per_token, step_time_s


def _arrays(obj: object) -> dict[str, NDArray]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Hardware:
    """Peaks of one accelerator at the chosen compute precision (arrays broadcast)."""

    hbm_bytes_per_s: NDArray
    peak_flops_per_s: NDArray  # matrix products at the weight format
    attention_flops_per_s: NDArray  # attention scores and sums, computed in 16 bits
    dequant_elements_per_s: NDArray  # weight-only formats: weights dequantised a second; inf: none
    memory_bytes: NDArray
    link_bytes_per_s: NDArray  # scale-up, bidirectional per accelerator
    domain_size: NDArray  # accelerators one scale-up domain joins
    scaleout_bytes_per_s: NDArray  # beyond the domain (NIC / PCIe), bidirectional; NaN: unknown

    def take(self, index: ArrayLike) -> Self:
        return type(self)(**{k: np.asarray(v)[index] for k, v in _arrays(self).items()})


@dataclass(frozen=True)
class Engine:
    """What the serving software achieves and how it budgets memory (arrays broadcast).

    The four efficiencies are fitted to measurements per accelerator family and software
    class (``tokenfab.calibrate``, ``bench/bench_accuracy.py``); the memory settings are the software's documented
    defaults (``data/serving_software.csv``).
    """

    compute_efficiency: NDArray
    bw_efficiency: NDArray
    comm_efficiency: NDArray
    moe_efficiency: NDArray  # routed-expert (grouped) GEMMs' share of the dense compute efficiency
    kv_efficiency: NDArray  # paged-attention KV reads' share of the weight-streaming bandwidth
    overhead_s: NDArray
    overhead_per_sequence_s: NDArray  # host-side scheduling and sampling per sequence in a step
    overhead_per_layer_s: (
        NDArray  # kernel launches of a dense GQA layer (perf.memory.kernel_layers)
    )
    comm_latency_s: NDArray
    memory_utilization: NDArray  # share of accelerator memory the engine may use (at TP 1)
    kv_memory_fraction: NDArray  # share of memory left after weights and reserve given to KV
    runtime_reserve_bytes: NDArray  # fixed part: context, workspaces, per accelerator
    reserve_weight_share: NDArray  # part that grows with the weights an accelerator holds
    profiles_activations: NDArray  # 1: reserves the activations of a max_num_tokens step
    max_num_tokens: NDArray  # tokens one engine step may carry
    max_batch_size: NDArray  # sequences one engine may hold
    kv_reserve_output_share: NDArray  # 1: reserve KV for the whole output up front; 0.5: average
    memory_utilization_follows_tp: NDArray  # 1: SGLang's default, lower at larger TP
    # p of the smooth maximum of a step's GEMM memory and arithmetic times (inf: the maximum;
    # perf.roofline.GEMM_OVERLAP_EXPONENT)
    gemm_overlap_exponent: NDArray

    def take(self, index: ArrayLike) -> Self:
        return type(self)(**{k: np.asarray(v)[index] for k, v in _arrays(self).items()})

    def roofline(self) -> Self:
        """The same engine at the physical limit: efficiencies 1, no per-step overhead, and a
        GEMM's memory and arithmetic overlapping completely (the plain roofline maximum).

        The software's memory budget and batch limits, and the per-collective latency, stay:
        they bound which batches exist, not how fast a step runs.
        """
        one = np.ones_like(np.asarray(self.compute_efficiency, dtype=float))
        return type(self)(
            **{
                **_arrays(self),
                "compute_efficiency": one,
                "bw_efficiency": one,
                "comm_efficiency": one,
                "moe_efficiency": one,
                "kv_efficiency": one,
                "overhead_s": 0.0 * one,
                "overhead_per_sequence_s": 0.0 * one,
                "overhead_per_layer_s": 0.0 * one,
                "gemm_overlap_exponent": np.inf * one,
            }
        )


@dataclass(frozen=True)
class Layout:
    """Parallelism of one replica (arrays broadcast).

    ``tensor_parallel`` splits attention and dense layers; ``attention_data_parallel`` groups
    of that size each serve their own sequences; ``expert_parallel`` splits the routed experts
    of a stage's ``tensor_parallel x attention_data_parallel`` ranks by expert, and the rest,
    ``moe_tensor_parallel``, splits each expert's matrices.
    """

    tensor_parallel: NDArray
    pipeline_parallel: NDArray
    expert_parallel: NDArray
    attention_data_parallel: NDArray

    @property
    def ranks_per_stage(self) -> NDArray:
        return self.tensor_parallel * self.attention_data_parallel

    @property
    def accelerators(self) -> NDArray:
        """Accelerators one replica occupies."""
        return self.pipeline_parallel * self.ranks_per_stage

    @property
    def moe_tensor_parallel(self) -> NDArray:
        """Ways each routed expert's matrices are split: the stage's ranks over ``expert_parallel``."""
        return self.ranks_per_stage / self.expert_parallel

    def column(self) -> Layout:
        """The layouts as a column, shape (n, 1), to broadcast against a row of batches."""
        return type(self)(
            **{k: np.asarray(v)[:, None] for k, v in _arrays(self).items()}  # type: ignore[arg-type]
        )

    def row(self, index: ArrayLike) -> Layout:
        """One layout of a stacked set, or several with an index array or a mask."""
        return type(self)(
            **{k: np.asarray(v)[index] for k, v in _arrays(self).items()}  # type: ignore[arg-type]
        )


def layout(
    tensor_parallel: ArrayLike = 1,
    pipeline_parallel: ArrayLike = 1,
    expert_parallel: ArrayLike = 1,
    attention_data_parallel: ArrayLike | None = None,
) -> Layout:
    """A :class:`Layout` from integers or arrays of them.

    Without ``attention_data_parallel``, a stage spans ``max(tensor_parallel,
    expert_parallel)`` ranks and the attention runs data-parallel over the extra ones (an
    expert-parallel degree above the tensor-parallel one means DP attention, as vLLM's EP =
    TP x DP).
    """
    tp, pp, ep = (
        np.asarray(v, dtype=float) for v in (tensor_parallel, pipeline_parallel, expert_parallel)
    )
    adp = (
        np.maximum(tp, ep) / tp
        if attention_data_parallel is None
        else np.asarray(attention_data_parallel, dtype=float)
    )
    return Layout(tp, pp, ep, adp)


def weight_bytes_per_accelerator(
    shape: ModelShape, lay: Layout, weight_bytes_per_param: ArrayLike, as_loaded: bool = True
) -> NDArray:
    """Weight bytes one accelerator of the replica holds [byte].

    Attention, dense layers, shared experts and the embeddings are split ``tp x pp`` ways
    (replicated across attention data-parallel groups); routed experts are split over all
    ``pp x tp x adp`` accelerators: the busiest expert-parallel rank holds
    ``ceil(E / ep)`` experts of each MoE layer (:func:`~tokenfab.perf.parallel.experts_on_busiest_rank`),
    each split ``moe_tensor_parallel`` ways. ``as_loaded``: the routed experts as the engine
    lays them out for its MoE kernel (``shape.expert_load_scale``: vLLM pads MXFP4 experts),
    else as the checkpoint stores them.
    """
    bpp = np.asarray(weight_bytes_per_param, dtype=float)
    total = weight_bytes(shape, bpp)
    routed = shape.params_routed_total * bpp
    busiest = (
        experts_on_busiest_rank(shape.experts, lay.expert_parallel)
        * shape.params_expert
        * shape.moe_layers
        * bpp
        / (lay.moe_tensor_parallel * lay.pipeline_parallel)
    )
    if as_loaded:
        busiest = busiest * shape.expert_load_scale
    return (total - routed) / (lay.tensor_parallel * lay.pipeline_parallel) + busiest


VISIBLE_MEMORY_SHARE = 0.99
"""Share of the catalogued memory the CUDA runtime hands out: an "80 GB" H100 SXM (80 GiB of
HBM) shows 79.2 GiB to PyTorch (``bench/results/gpu_device_info.txt``, measured); the same share
is assumed for every accelerator."""

SGLANG_MEM_FRACTION_STATIC_BY_TP = ((16, 0.79), (8, 0.81), (4, 0.85), (2, 0.87), (1, 0.88))
"""SGLang's default ``mem_fraction_static`` by tensor-parallel size, largest first: 0.79 from TP
16, 0.81 from 8, 0.85 from 4, 0.87 from 2, else 0.88 (sgl-project/sglang@python/sglang/srt/
server_args.py, ``ServerArgs.__post_init__``: "Set mem fraction static, which depends on the
tensor parallelism size", ``if self.tp_size >= 16: self.mem_fraction_static = 0.79`` ...
``else: 0.88``; the 2025 releases; releases before them had 0.83 from TP 8, later ones derive
it from the GPU memory in ``_handle_gpu_memory_settings``)."""


def memory_utilization_at_tp(eng: Engine, tensor_parallel: ArrayLike) -> NDArray:
    """The share of memory the engine may use at a tensor-parallel size [-].

    ``eng.memory_utilization`` where the engine's share does not depend on TP; for SGLang's
    default (``memory_utilization_follows_tp``) it scales by
    :data:`SGLANG_MEM_FRACTION_STATIC_BY_TP` relative to TP 1, so a factor already applied to
    the TP-1 share (SGLang's 0.85 on AMD for long contexts) carries over.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> from tokenfab.perf.calibration import choose_engine
    >>> cat = default_catalog()
    >>> eng = choose_engine(cat, cat.accelerator("h100-sxm"), "sglang").engine
    >>> [round(float(memory_utilization_at_tp(eng, tp)), 2) for tp in (1, 2, 4, 8, 16)]
    [0.88, 0.87, 0.85, 0.81, 0.79]
    """
    tp = np.asarray(tensor_parallel, dtype=float)
    share = np.full(tp.shape, SGLANG_MEM_FRACTION_STATIC_BY_TP[-1][1])
    for size, value in reversed(SGLANG_MEM_FRACTION_STATIC_BY_TP[:-1]):
        share = np.where(tp >= size, value, share)
    scale = share / SGLANG_MEM_FRACTION_STATIC_BY_TP[-1][1]
    follows = np.asarray(eng.memory_utilization_follows_tp, dtype=float) > 0
    return np.asarray(eng.memory_utilization, dtype=float) * np.where(follows, scale, 1.0)


ACTIVATION_WIDTHS = 16.0
"""Hidden-size-wide 16-bit activation buffers alive per token at the peak of a profiled forward
step (residual, norm output, QKV, attention output, the FFN's gate/up halves): a tokenfab
estimate; it is small beside the weight-proportional reserve."""


def runtime_reserve_bytes(
    shape: ModelShape, eng: Engine, lay: Layout, weight_bytes_per_param: ArrayLike
) -> NDArray:
    r"""Memory an engine keeps out of the KV cache on each accelerator [byte].

    Notes
    -----
    .. math:: R = R_0 + s\,W_{acc} + a\; N_\text{tok}\, w\, d \cdot 2 / t

    with the engine's fixed reserve :math:`R_0` (CUDA context, communication buffers), a share
    :math:`s` of the weights the accelerator holds (``reserve_weight_share``: the profiled peak
    and the allocator's slack grow with the model; fitted to the KV budgets vLLM prints at
    start-up, see ``data/serving_software.csv``; the weights as stored, without the padding an
    engine adds when it loads them), and, for an engine that profiles a forward
    step of ``max_num_tokens`` tokens before sizing the cache (vLLM's
    ``determine_available_memory``; :math:`a = 1`), that step's activations,
    :data:`ACTIVATION_WIDTHS` hidden-wide 16-bit buffers a token, split over the tensor ranks.
    """
    # the weights as stored: padding the engine adds to them moves no activation or graph
    w = weight_bytes_per_accelerator(shape, lay, weight_bytes_per_param, as_loaded=False)
    act = (
        eng.profiles_activations
        * eng.max_num_tokens
        * ACTIVATION_WIDTHS
        * shape.hidden
        * 2.0
        / lay.tensor_parallel
    )
    return eng.runtime_reserve_bytes + eng.reserve_weight_share * w + act


def kv_budget_bytes(
    shape: ModelShape, hw: Hardware, eng: Engine, lay: Layout, weight_bytes_per_param: ArrayLike
) -> NDArray:
    r"""KV-cache bytes one accelerator may hold after weights and the runtime reserve [byte].

    Negative where the weights alone do not fit.

    Notes
    -----
    .. math:: KV = f_{kv}\,\big(u\, v\, M - W_{acc} - R\big)

    with the engine's memory utilisation :math:`u` (vLLM ``--gpu-memory-utilization``;
    SGLang's default falls with the TP size, :func:`memory_utilization_at_tp`), the
    visible share :math:`v` (:data:`VISIBLE_MEMORY_SHARE`) of the memory :math:`M`, the weights
    :math:`W_{acc}`, the reserve :math:`R` (:func:`runtime_reserve_bytes`) and the share
    :math:`f_{kv}` of what is left that the engine gives the cache (TensorRT-LLM's
    ``free_gpu_memory_fraction`` 0.9; vLLM 1).
    """
    free = (
        hw.memory_bytes * VISIBLE_MEMORY_SHARE * memory_utilization_at_tp(eng, lay.tensor_parallel)
        - runtime_reserve_bytes(shape, eng, lay, weight_bytes_per_param)
        - weight_bytes_per_accelerator(shape, lay, weight_bytes_per_param)
    )
    return np.where(free > 0, free * eng.kv_memory_fraction, free)


def kv_bytes_per_sequence_per_accelerator(
    shape: ModelShape, lay: Layout, context_tokens: ArrayLike, kv_bytes_per_element: ArrayLike
) -> NDArray:
    """KV bytes one sequence occupies on each accelerator of its attention group [byte].

    Tensor parallelism splits the cache by KV head: each rank holds ``ceil(n_kv / tp)`` of
    the ``n_kv`` heads, so beyond ``n_kv`` ranks the heads are replicated (vLLM and
    TensorRT-LLM alike); an MLA latent is replicated on every tensor rank.
    """
    heads = shape.kv_shards_max
    share = np.ceil(heads / lay.tensor_parallel) / heads
    return (
        kv_bytes_per_sequence(shape, context_tokens, kv_bytes_per_element)
        * share
        / lay.pipeline_parallel
    )


def max_batch_size(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    prefill_tokens: ArrayLike | None = None,
    kv_budget: ArrayLike | None = None,
) -> NDArray:
    """Largest number of sequences a replica keeps in flight; 0 where the model does not fit.

    ``kv_budget``: :func:`kv_budget_bytes` of the same arguments, where the caller has it.

    Notes
    -----
    Three limits, the smallest wins:

    * KV memory: each sequence reserves ``input + share x output`` tokens of cache
      (``share = 1`` for a no-eviction scheduler such as TensorRT-LLM's default, 0.5 for a
      preempting one such as vLLM's);
    * the engine's token budget per step, which must carry each sequence's decode token and
      its share of prefill, ``input / output`` tokens -- but never fewer than one sequence:
      chunked prefill spreads a prompt longer than the budget over several steps, so a long
      prompt with a short output runs whenever the weights and one sequence's KV fit;
    * the engine's maximum batch size.
    """
    i = np.asarray(input_tokens, dtype=float)
    o = np.asarray(output_tokens, dtype=float)
    p = i if prefill_tokens is None else np.asarray(prefill_tokens, dtype=float)
    reserve_ctx = i + eng.kv_reserve_output_share * o
    budget = (
        kv_budget_bytes(shape, hw, eng, lay, weight_bytes_per_param)
        if kv_budget is None
        else kv_budget
    )
    per_seq = kv_bytes_per_sequence_per_accelerator(shape, lay, reserve_ctx, kv_bytes_per_element)
    groups = lay.attention_data_parallel
    by_kv = np.floor(np.maximum(budget, 0.0) / per_seq) * groups
    per_step = np.maximum(np.floor(eng.max_num_tokens / (1.0 + p / o)), 1.0)
    by_tokens = per_step * groups * lay.pipeline_parallel
    by_engine = eng.max_batch_size * groups
    return np.maximum(np.minimum(np.minimum(by_kv, by_tokens), by_engine), 0.0)


@dataclass(frozen=True)
class Round:
    """One round of a replica: every sequence in flight advances one token."""

    time_s: NDArray  # wall time of the round = time per output token of each sequence
    memory_bound: NDArray
    bytes_per_accelerator: NDArray
    flops_per_accelerator: NDArray
    comm_s: NDArray


def round_time(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    decode_sequences: ArrayLike,
    decode_context_tokens: ArrayLike,
    prefill_tokens: ArrayLike = 0.0,
    prefill_context_tokens: ArrayLike = 0.0,
    tokens_per_sequence: ArrayLike = 1.0,
    touched_experts: ArrayLike | None = None,
) -> Round:
    """Time for a replica to advance ``decode_sequences`` by one token while also prefilling
    ``prefill_tokens`` prompt tokens [s].

    Parameters
    ----------
    shape, hw, eng, lay
        Model, accelerator peaks, serving engine and parallel layout.
    weight_bytes_per_param, kv_bytes_per_element : array_like
        Storage of weights and cache [byte].
    decode_sequences : array_like
        Sequences generating a token this round, for the whole replica.
    decode_context_tokens : array_like
        Mean tokens each decoding sequence attends to.
    prefill_tokens : array_like
        Prompt tokens processed this round, for the whole replica.
    prefill_context_tokens : array_like
        Mean tokens each prompt token attends to (half the new prompt plus any cached prefix).
    tokens_per_sequence : array_like
        Tokens each decoding sequence processes in the step: 1, or ``1 + draft tokens`` when a
        speculative draft is verified (its weights and cache are read once for all of them).
    touched_experts : array_like, optional
        Mean distinct routed experts a MoE layer reads in the step, where the step stands for
        a mean over rounds that differ (:func:`steady_state`); default: those the step's own
        tokens touch.

    Notes
    -----
    Per accelerator and pipeline stage, a step over ``b`` decode and ``c`` prefill tokens reads

    .. math:: B = \\frac{W_{dense}}{tp\\,pp} + \\frac{n_{touched}\\, W_{expert} L_{moe}}{pp\\,
              \\max(tp, ep)} + b\\, \\frac{KV(c_{ctx})}{pp\\, \\min(tp, n_{kv})}

    and computes :math:`2 (b + c) P_{dense}/(tp\\,pp)` plus the routed-expert and attention
    FLOPs; its time is the roofline of the two plus communication and a fixed overhead
    (:func:`~tokenfab.perf.roofline.step_time_s`). A round is ``pp`` such steps, one per
    micro-batch. ``n_touched`` is :func:`~tokenfab.perf.memory.expected_distinct_experts` of
    the tokens reaching the layer.
    Routed-expert FLOPs (not their bytes) are divided by the engine's ``moe_efficiency``; the overhead
    of a step is ``overhead_s + overhead_per_layer_s x L_k / pp + overhead_per_sequence_s x b``
    with ``L_k`` the layers counted in a dense GQA layer's kernels
    (:func:`~tokenfab.perf.memory.kernel_layers`, :func:`step_overhead_s`).
    """
    tp, pp, ep = lay.tensor_parallel, lay.pipeline_parallel, lay.expert_parallel
    ranks = lay.ranks_per_stage
    imbalance = expert_imbalance(shape.experts, ep)  # the busiest rank sets the step
    groups = lay.attention_data_parallel
    bpp = np.asarray(weight_bytes_per_param, dtype=float)
    seqs = np.asarray(decode_sequences, dtype=float)
    pre = np.asarray(prefill_tokens, dtype=float)
    q = np.asarray(tokens_per_sequence, dtype=float)
    # decoding sequences per micro-batch per attention group: a micro-batch holds whole
    # sequences, so fewer sequences than stages leave stages idle rather than sending a
    # fraction of a sequence through each (one sequence on 8 stages crosses all 8 in turn)
    b = microbatch_sequences(seqs, groups, pp)
    fill = np.where(b > 0, seqs / (groups * pp) / np.where(b > 0, b, 1.0), 1.0)
    c = pre / (groups * pp)
    stage_tokens = _stage_tokens(lay, seqs, pre, q)
    moe_stage_layers = shape.moe_layers / pp

    dense_params = shape.params_attention + shape.params_dense + shape.params_shared
    dense_bytes = (
        shape.non_expert_bytes(bpp) + shape.params_lm_head * EMBEDDING_BYTES_PER_PARAM
    ) / (tp * pp)
    # a dense model routes to no experts: its expert terms are zero, not computed on arrays
    routed = bool(np.any(np.asarray(shape.experts) > 0))
    touched = (
        expected_distinct_experts(shape.experts, shape.experts_per_token, stage_tokens)
        if touched_experts is None
        else np.asarray(touched_experts, dtype=float)
    )
    # the touched experts' weights stream at the dense bandwidth efficiency: a grouped GEMM of
    # few rows an expert reads its weights as a dense GEMV does (the known fault: dividing
    # the bytes by moe_efficiency too made MoE decode ~40 % slow on public NVIDIA runs)
    expert_bytes = (
        (touched * shape.params_expert * bpp * moe_stage_layers / ranks * imbalance)
        if routed
        else 0.0
    )
    # paged-attention kernels gather the cache at a lower share of the bandwidth than GEMMs
    kv_bytes = (
        b
        * kv_bytes_per_sequence_per_accelerator(
            shape, lay, decode_context_tokens, kv_bytes_per_element
        )
        / eng.kv_efficiency
    )
    bytes_read = dense_bytes + expert_bytes + kv_bytes

    dense_flops = 2.0 * (b * q + c) * (dense_params + shape.params_lm_head) / (tp * pp)
    # grouped expert GEMMs of few rows an expert reach less of the compute peak than dense GEMMs
    expert_flops = (
        (
            2.0
            * stage_tokens
            * shape.experts_per_token
            * shape.params_expert
            * moe_stage_layers
            / ranks
            * imbalance
        )
        / eng.moe_efficiency
        if routed
        else 0.0
    )
    # full, sliding, linear and compressed layers' attended entries (memory.attended_tokens)
    dec_attended = attended_tokens(
        shape, decode_context_tokens, shape.decode_qk_dim + shape.decode_v_dim
    )
    pre_attended = attended_tokens(
        shape, prefill_context_tokens, shape.qk_head_dim + shape.v_head_dim
    )
    attn_flops = (
        b
        * q
        * attention_flops_per_token(
            shape.attention_heads,
            shape.decode_qk_dim,
            shape.decode_v_dim,
            dec_attended,
            shape.layers,
        )
        + c
        * attention_flops_per_token(
            shape.attention_heads, shape.qk_head_dim, shape.v_head_dim, pre_attended, shape.layers
        )
    ) / (tp * pp)
    # attention runs at the 16-bit rate; express it in FLOPs at the matmul peak
    flops = dense_flops + expert_flops + attn_flops * hw.peak_flops_per_s / hw.attention_flops_per_s

    comm = (
        layer_comm_time_s(
            b * q + c,
            shape.hidden,
            shape.layers,
            shape.moe_layers,
            shape.experts_per_token,
            tp,
            ep,
            pp,
            hw.link_bytes_per_s,
            eng.comm_latency_s,
            hw.domain_size,
            hw.scaleout_bytes_per_s,
            lay.moe_tensor_parallel,
            lay.accelerators,
            lay.attention_data_parallel,
        )
        / eng.comm_efficiency
    )
    # weight-only formats dequantise each weight they use once per tile of token rows (the
    # first pass in series with the products, later ones overlapping them); a checkpoint
    # keeping its non-expert matrices in their own format (gpt-oss: bf16) only dequantises
    # its experts
    dense_quantised = np.where(np.isnan(shape.non_expert_bytes_per_param), dense_params, 0.0)
    dense_quantised = dense_quantised / (tp * pp)
    once = dense_quantised
    every = dense_quantised * np.maximum(1.0, (b * q + c) / DEQUANT_TILE_ROWS)
    if routed:
        expert_quantised = touched * shape.params_expert * moe_stage_layers / ranks * imbalance
        expert_rows = stage_tokens * shape.experts_per_token / np.maximum(touched, 1e-300)
        once = once + expert_quantised
        every = every + expert_quantised * np.maximum(1.0, expert_rows / DEQUANT_TILE_ROWS)
    dequant_s = once / hw.dequant_elements_per_s
    dequant_all_s = every / hw.dequant_elements_per_s
    # a layer's fixed cost follows the kernels it launches (perf.memory.kernel_layers)
    overhead = step_overhead_s(eng, shape.kernel_layers / pp, b)
    # GEMMs and attention are separate kernels, one after the other: each meets its own roofline
    # (weights against products, KV cache against scores) and their times add
    roof = (hw.hbm_bytes_per_s, hw.peak_flops_per_s, eng.bw_efficiency, eng.compute_efficiency)
    # a GEMM's weight streaming and products do not hide each other completely near the ridge
    # point: a smooth maximum of the two (perf.roofline.GEMM_OVERLAP_EXPONENT)
    gemm_s, _ = step_time_s(
        dense_bytes + expert_bytes,
        dense_flops + expert_flops,
        *roof,
        dequant_s=dequant_s,
        dequant_all_tiles_s=dequant_all_s,
        overlap_exponent=eng.gemm_overlap_exponent,
    )
    attention_s, _ = step_time_s(
        kv_bytes, attn_flops * hw.peak_flops_per_s / hw.attention_flops_per_s, *roof
    )
    step = gemm_s + attention_s + comm + overhead
    _, memory_bound = step_time_s(
        bytes_read, flops, *roof, dequant_s=dequant_s, dequant_all_tiles_s=dequant_all_s
    )
    # an under-filled pipeline's stage works ``fill`` of the round's steps: the bytes and
    # FLOPs a step averages over the round (busy_shares, the power model)
    return Round(pp * step, memory_bound, bytes_read * fill, flops * fill, comm)


def microbatch_sequences(seqs: ArrayLike, groups: ArrayLike, pp: ArrayLike) -> NDArray:
    """Decoding sequences in one micro-batch of one attention group [-].

    ``seqs / (groups x pp)``, but a whole sequence where a group holds fewer sequences than
    there are stages (at least ``min(seqs / groups, 1)``): with ``B < pp`` the ``B``
    micro-batches hold one sequence each and every token still crosses all ``pp`` stages in
    turn, so the round is ``pp`` steps of one sequence, not of ``B / pp`` of one (which once
    made batch-1 TPOT fall with more stages: GB200, gpt-oss-120b, 1.98 ms at PP 1 and 1.46 ms
    at PP 8).

    >>> float(microbatch_sequences(1, 1, 8)), float(microbatch_sequences(64, 1, 8))
    (1.0, 8.0)
    """
    per_group = np.asarray(seqs, dtype=float) / np.asarray(groups, dtype=float)
    return np.maximum(per_group / np.asarray(pp, dtype=float), np.minimum(per_group, 1.0))


def _stage_tokens(lay: Layout, seqs: NDArray, pre: NDArray, q: NDArray) -> NDArray:
    """Tokens reaching each MoE layer of a stage in one step of :func:`round_time`: a
    micro-batch's decode tokens (:func:`microbatch_sequences`, over every attention group)
    and its share of the prompt tokens."""
    groups, pp = lay.attention_data_parallel, lay.pipeline_parallel
    return microbatch_sequences(seqs, groups, pp) * groups * q + pre / pp


def own_touched_experts(
    shape: ModelShape,
    lay: Layout,
    decode_sequences: ArrayLike,
    prefill_tokens: ArrayLike = 0.0,
    tokens_per_sequence: ArrayLike = 1.0,
) -> NDArray:
    """Distinct routed experts a MoE layer reads in a step, from the step's own tokens:
    :func:`round_time`'s ``touched_experts`` when none is given (same arguments)."""
    seqs, pre, q = (
        np.asarray(v, dtype=float) for v in (decode_sequences, prefill_tokens, tokens_per_sequence)
    )
    stage_tokens = _stage_tokens(lay, seqs, pre, q)
    return expected_distinct_experts(shape.experts, shape.experts_per_token, stage_tokens)


def step_overhead_s(eng: Engine, stage_layers: ArrayLike, sequences: ArrayLike) -> NDArray:
    r"""Fixed cost of one engine step of a pipeline stage, beside its roofline time [s].

    Parameters
    ----------
    eng : Engine
        ``overhead_s`` (per step: scheduling, sampling launch, host synchronisation),
        ``overhead_per_layer_s`` (per dense GQA layer's kernels the step runs) and
        ``overhead_per_sequence_s`` (per sequence in the micro-batch).
    stage_layers : array_like
        Layers the stage runs, counted in a dense GQA layer's kernel launches
        (:func:`~tokenfab.perf.memory.kernel_layers`: a DeepSeek-V3 MoE layer counts 21/9).
    sequences : array_like
        Decoding sequences of one micro-batch and attention group.

    Notes
    -----
    .. math:: t_0 = t_{step} + L_{stage}\, t_{layer} + b\, t_{seq}

    Each layer launches 9 to 21 kernels (norms, projections, attention, activation, the MoE's
    routing, alignment and grouped GEMMs: :func:`~tokenfab.perf.memory.kernel_layers`); at a
    small batch none is long enough to reach its roofline, and the gaps between them --
    launch latency, the tail of a wave -- add up per kernel, not per step. Even captured in a
    CUDA graph a short kernel costs a few microseconds from one start to the next (NVIDIA's
    "Getting Started with CUDA Graphs", 2019, measures ~3.4 us a kernel for a graph of ~2.9 us
    kernels, ~3.8 us stream-launched without host synchronisation;
    https://developer.nvidia.com/blog/cuda-graphs/); :data:`tokenfab.calibrate.fit.UPPER`
    bounds the fitted value to 100 us a dense GQA layer, about 11 us for each of its 9
    kernels.

    Examples
    --------
    A 61-layer model at 30 us a layer, 2 ms a step and 10 us a sequence of a 4-sequence batch:
    2 + 61 x 0.030 + 4 x 0.010 = 3.87 ms.

    >>> zero = {f.name: 0.0 for f in fields(Engine)}
    >>> e = Engine(**{**zero, "overhead_s": 2e-3, "overhead_per_layer_s": 30e-6,
    ...               "overhead_per_sequence_s": 10e-6})
    >>> round(float(step_overhead_s(e, 61, 4)) * 1e3, 2)
    3.87
    """
    return (
        eng.overhead_s
        + eng.overhead_per_layer_s * np.asarray(stage_layers, dtype=float)
        + eng.overhead_per_sequence_s * np.asarray(sequences, dtype=float)
    )


STACK_MAX_ELEMENTS = 4096
"""Largest input :func:`round_times` stacks (an estimate's grid: layouts x batches)."""

_ARRAYS = (np.ndarray, np.generic)
_NUMBERS = (float, int)


def round_times(args: tuple[Any, ...], cases: list[tuple[ArrayLike, ...]]) -> list[Round]:
    """:func:`round_time` of ``args`` (shape, hardware, engine, layout, weight and KV bytes)
    for each case of its remaining arguments, in one vectorised call.

    Each case is the five arguments from ``decode_sequences`` to ``tokens_per_sequence``, or
    all six with ``touched_experts`` (then every case gives it). The cases are stacked on a
    new axis ahead of every axis of the inputs and taken apart after; element by element the
    result is that of one call per case. Inputs of more than :data:`STACK_MAX_ELEMENTS`
    elements (a Monte Carlo's samples) are not stacked: there the element count, not the
    per-call cost, sets the time, and a stack would only copy them.
    """
    arrays = [v for obj in args[:4] for v in vars(obj).values()] + list(args[4:])
    arrays += [x for c in cases for x in c]
    # shapes from the attribute where a value has one (most do), a number's without a call
    shapes = [
        v.shape if isinstance(v, _ARRAYS) else () if type(v) in _NUMBERS else np.shape(v)
        for v in arrays
    ]
    if max(map(math.prod, shapes)) > STACK_MAX_ELEMENTS:
        return [round_time(*args, *c) for c in cases]
    n = len(cases)
    columns = []
    for k in range(len(cases[0])):  # each argument's cases, broadcast, on a new first axis
        col = np.empty((n, *np.broadcast(*(c[k] for c in cases)).shape))
        for j, c in enumerate(cases):
            col[j] = c[k]
        columns.append(col)
    depth = max(max(map(len, shapes)), max(col.ndim - 1 for col in columns))
    stacked = [col.reshape(n, *(1,) * (depth + 1 - col.ndim), *col.shape[1:]) for col in columns]
    r = round_time(*args, *stacked)
    full = depth + 1  # a field without the case axis does not depend on the case
    values = [getattr(r, f.name) for f in fields(r)]
    with_axis = [np.ndim(v) == full for v in values]
    return [
        Round(*(v[k] if cased else v for v, cased in zip(values, with_axis, strict=True)))
        for k in range(n)
    ]


@dataclass(frozen=True)
class SteadyState:
    """A replica's operating point at a given number of sequences in flight."""

    batch_size: NDArray
    tpot_s: NDArray  # time per output token after the first, as one sequence sees it
    ttft_service_s: NDArray  # first-token time without queueing: the prompt's chunks
    output_tok_s: NDArray  # output tokens per second of the replica
    prefill_tok_s: NDArray  # prompt tokens prefilled (not found in the prefix cache) per second
    prefill_time_share: NDArray  # share of accelerator time the prompts take
    memory_bound: NDArray
    hbm_busy_share: NDArray  # share of serving time the memory streams at its peak (power model)
    compute_busy_share: NDArray  # share of serving time the matrix units run at their peak


def busy_shares(r: Round, hw: Hardware, pipeline_parallel: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shares of a round's time that memory and matrix units would need at their peaks [-].

    ``bytes / peak bandwidth`` and ``FLOPs / peak FLOP/s`` of one step over the step's time
    (a round is ``pipeline_parallel`` steps), each in [0, 1]: the activity the power model
    (:func:`tokenfab.cost.serving_power_w`) turns into watts.
    """
    step_s = r.time_s / np.asarray(pipeline_parallel, dtype=float)
    hbm = r.bytes_per_accelerator / hw.hbm_bytes_per_s / step_s
    comp = r.flops_per_accelerator / hw.peak_flops_per_s / step_s
    return np.clip(hbm, 0.0, 1.0), np.clip(comp, 0.0, 1.0)


class _Rounds:
    """The decode and mixed rounds of continuous batching, shared by :func:`steady_state` and
    :func:`steady_output_tok_s` so that both compute the throughput the same way."""

    def __init__(self, args: tuple, batch_size, input_tokens, output_tokens, hit) -> None:
        self.args = args
        self.bsz = np.asarray(batch_size, dtype=float)
        i = np.asarray(input_tokens, dtype=float)
        self.o = np.asarray(output_tokens, dtype=float)
        hit = np.asarray(hit, dtype=float)
        self.new = i * (1.0 - hit)
        self.ctx = i + self.o / 2.0
        self.pre_ctx = i * hit + self.new / 2.0

    def plain_case(self) -> tuple[Any, ...]:
        """:func:`round_time`'s last arguments for a decode-only round."""
        return (self.bsz, self.ctx, 0.0, 0.0, 1.0)

    def verify_case(self, gamma: NDArray) -> tuple[Any, ...]:
        """... for a decode round verifying ``gamma`` draft tokens a sequence."""
        return (self.bsz, self.ctx, 0.0, 0.0, gamma + 1.0)

    def mixed_case(self, gamma: NDArray, per_step: NDArray) -> tuple[Any, ...]:
        """... for the round carrying every sequence's decode token and its share of prompts."""
        bsz = self.bsz
        return (bsz, self.ctx, bsz * per_step * self.new / self.o, self.pre_ctx, gamma + 1.0)

    def decode(
        self, gamma: NDArray, rounds: dict[str, Round] | None = None
    ) -> tuple[Round, NDArray]:
        """The decode-only round (draft heads included) and the draft's time; ``rounds``:
        the rounds already computed, by case name (:func:`round_times`)."""
        done = rounds or {}
        plain = done.get("plain") or round_time(*self.args, *self.plain_case())
        # MTP heads: one layer's work per draft token
        draft = gamma / self.args[0].layers * plain.time_s
        if not np.any(gamma):
            verify = plain
        else:
            verify = done.get("verify") or round_time(*self.args, *self.verify_case(gamma))
        decode = Round(
            verify.time_s + draft,
            verify.memory_bound,
            verify.bytes_per_accelerator,
            verify.flops_per_accelerator,
            verify.comm_s,
        )
        return decode, draft

    def room(self, gamma: NDArray) -> NDArray:
        """Prompt tokens a step's budget leaves beside the decode tokens, per attention group."""
        eng, lay = self.args[2], self.args[3]
        groups_pp = lay.attention_data_parallel * lay.pipeline_parallel
        return np.maximum(eng.max_num_tokens - (gamma + 1.0) * self.bsz / groups_pp, 1.0)

    def touched(
        self, gamma: NDArray, per_step: NDArray, others_share: ArrayLike = 1.0
    ) -> NDArray | None:
        """Mean distinct experts a MoE layer reads a round (:func:`_mean_touched_experts`);
        None for a dense model."""
        shape = self.args[0]
        if not np.any(np.asarray(shape.experts) > 0):
            return None
        return _mean_touched_experts(
            shape,
            self.args[3],
            self.bsz * (gamma + 1.0),
            self.new,
            self.o / per_step,
            self.room(gamma),
            others_share,
            gamma + 1.0,
        )

    def mixed(
        self,
        gamma: NDArray,
        per_step: NDArray,
        draft: NDArray,
        rounds: dict[str, Round] | None = None,
    ):
        """The round carrying every sequence's decode token and its share of prompts (the
        experts of whole-prompt and decode-only rounds, :meth:`touched`), its time with the
        draft, and the replica's output tok/s."""
        done = rounds or {}
        mixed = done.get("mixed") or round_time(
            *self.args, *self.mixed_case(gamma, per_step), self.touched(gamma, per_step)
        )
        mixed_s = mixed.time_s + draft
        return mixed, mixed_s, self.bsz * per_step / mixed_s


def steady_output_tok_s(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    batch_size: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    prefix_cache_hit_rate: ArrayLike = 0.0,
    speculative_tokens: ArrayLike = 0.0,
    acceptance_rate: ArrayLike = 0.0,
) -> NDArray:
    """Output tokens per second of a replica under continuous batching [token/s]:
    :func:`steady_state`'s ``output_tok_s``, without the rounds its latencies need (two
    rounds instead of four: the roofline and the top request rate of a Monte Carlo).
    ``tests/test_perf_serving.py`` checks it equals :func:`steady_state`'s, dense and MoE,
    with and without speculative decoding.
    """
    args = (shape, hw, eng, lay, weight_bytes_per_param, kv_bytes_per_element)
    r = _Rounds(args, batch_size, input_tokens, output_tokens, prefix_cache_hit_rate)
    gamma = np.asarray(speculative_tokens, dtype=float)
    per_step = speculative_tokens_per_step(gamma, acceptance_rate)
    _, draft = r.decode(gamma)
    return r.mixed(gamma, per_step, draft)[2]


def steady_state(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    batch_size: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    prefix_cache_hit_rate: ArrayLike = 0.0,
    static_batching: bool = False,
    speculative_tokens: ArrayLike = 0.0,
    acceptance_rate: ArrayLike = 0.0,
) -> SteadyState:
    """Throughput and latency of a replica holding ``batch_size`` sequences.

    Parameters
    ----------
    batch_size : array_like
        Sequences in flight in the replica.
    input_tokens, output_tokens : array_like
        Mean prompt and generated tokens a request (generated includes reasoning tokens).
    prefix_cache_hit_rate : array_like
        Share of prompt tokens found in the prefix cache, which skip prefill [0-1].
    static_batching : bool
        Serve whole batches at a time (prefill all prompts, then decode all outputs) instead of
        continuous batching; older runtimes and fixed-batch benchmarks work this way.
    speculative_tokens, acceptance_rate : array_like
        Draft tokens proposed per step (``gamma``) and the chance each is accepted
        (``alpha``); 0 for plain decoding. See :func:`speculative_tokens_per_step`.

    Notes
    -----
    Continuous batching: a round carries ``B`` decode tokens and ``B x new_input / output``
    prefill tokens; sequences attend on average to ``input + output/2`` tokens. Throughput is
    ``B`` tokens a round. TPOT is the time per output token *after the first*, as the vLLM,
    SGLang and TensorRT-LLM benchmarks report it: a sequence's own prompt is prefilled once,
    before its first token (in TTFT), so the rounds it decodes in carry only the prompts of the
    ``B - 1`` others, ``(B - 1) x new_input / output`` prefill tokens (at ``B = 1``: one pure
    decode step). The prefill
    time share, the basis of the input/output cost split, is the time the prompts add to a
    round, ``(t_mixed - t_decode) / t_mixed``, or -- where a memory-bound round hides their
    arithmetic -- their share of the compute time the round uses, whichever is larger. The
    first token waits for the prompt's chunks, each a
    step of the busy engine carrying at most ``max_num_tokens`` tokens.

    Static batching: ``t = t_prefill(B x input) + (output - 1) t_decode``.

    Speculative decoding: each step verifies ``gamma + 1`` tokens a sequence and emits
    ``E = (1 - alpha^(gamma+1)) / (1 - alpha)`` of them on average; the draft is multi-token
    prediction heads (one transformer layer's work per draft token, as DeepSeek-V3's MTP [4]_),
    adding ``gamma / layers`` of a decode step. A separate draft model is not modelled.

    References
    ----------
    .. [4] DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024, section 2.2 (multi-token
           prediction). https://arxiv.org/abs/2412.19437
    """
    args = (shape, hw, eng, lay, weight_bytes_per_param, kv_bytes_per_element)
    r = _Rounds(args, batch_size, input_tokens, output_tokens, prefix_cache_hit_rate)
    bsz, o, new, ctx, pre_ctx = r.bsz, r.o, r.new, r.ctx, r.pre_ctx
    gamma = np.asarray(speculative_tokens, dtype=float)
    per_step = speculative_tokens_per_step(gamma, acceptance_rate)
    q = gamma + 1.0
    groups_pp = lay.attention_data_parallel * lay.pipeline_parallel
    room = np.maximum(eng.max_num_tokens - q * bsz / groups_pp, 1.0)
    chunk = np.minimum(new, room)
    others = np.maximum(bsz - 1.0, 0.0)  # what one sequence sees: the others' prompts
    # the rounds a replica runs, as (decode sequences, their context, prompt tokens, their
    # context, tokens a sequence): evaluated in one vectorised call (the per-call cost of
    # round_time, not its element count, dominates a single estimate)
    cases: dict[str, tuple[Any, ...]] = {"plain": r.plain_case()}
    if np.any(gamma):
        cases["verify"] = r.verify_case(gamma)
    # a MoE round reads the mean experts of whole-prompt and decode-only rounds (_Rounds.touched)
    touched = None if static_batching else r.touched(gamma, per_step)
    seen_case = (bsz, ctx, others * per_step * new / o, pre_ctx, q)
    if not static_batching:
        cases["with_chunk"] = (bsz, ctx, chunk * groups_pp, pre_ctx, q)
        cases["mixed"] = r.mixed_case(gamma, per_step)
        cases["seen"] = seen_case
    if touched is not None:  # MoE: every case its experts, so all go in one call
        seen_touched = r.touched(gamma, per_step, others / np.maximum(bsz, 1.0))
        given = {"mixed": touched, "seen": seen_touched}
        cases = {
            k: (*c, given[k] if k in given else own_touched_experts(shape, lay, c[0], c[2], c[4]))
            for k, c in cases.items()
        }
    rounds = dict(zip(cases, round_times(args, list(cases.values())), strict=True))
    decode, draft = r.decode(gamma, rounds)
    if static_batching:
        prefill = round_time(*args, 0.0, 0.0, bsz * new, pre_ctx)
        total = prefill.time_s + (o - 1.0) / per_step * decode.time_s
        out_tok_s = bsz * o / total
        p_share = prefill.time_s / total
        hbm_p, comp_p = busy_shares(prefill, hw, lay.pipeline_parallel)
        hbm_d, comp_d = busy_shares(decode, hw, lay.pipeline_parallel)
        return SteadyState(
            bsz,
            decode.time_s / per_step,
            prefill.time_s,
            out_tok_s,
            out_tok_s * new / o,
            p_share,
            decode.memory_bound,
            p_share * hbm_p + (1.0 - p_share) * hbm_d,
            p_share * comp_p + (1.0 - p_share) * comp_d,
        )
    mixed, mixed_s, out_tok_s = r.mixed(gamma, per_step, draft, rounds)
    chunks = np.ceil(new / chunk)
    with_chunk = rounds["with_chunk"]
    # what one sequence sees between its tokens: the others' prompts, never its own
    seen = rounds["seen"]
    # Prompts are charged the time they add to a round, or -- where a memory-bound round hides
    # their arithmetic -- their share of the compute time the round actually uses.
    marginal = (mixed_s - decode.time_s) / mixed_s
    prompt_flops = np.maximum(mixed.flops_per_accelerator - decode.flops_per_accelerator, 0.0)
    busy = mixed.flops_per_accelerator / (hw.peak_flops_per_s * eng.compute_efficiency) / mixed_s
    occupancy = prompt_flops / mixed.flops_per_accelerator * np.minimum(busy, 1.0)
    share = np.clip(np.maximum(marginal, occupancy), 0.0, 1.0)
    hbm, comp = busy_shares(mixed, hw, lay.pipeline_parallel)
    return SteadyState(
        bsz,
        (seen.time_s + draft) / per_step,
        chunks * (with_chunk.time_s + draft),
        out_tok_s,
        out_tok_s * new / o,
        share,
        mixed.memory_bound,
        hbm,
        comp,
    )


def _mean_touched_experts(
    shape: ModelShape,
    lay: Layout,
    decode_tokens: ArrayLike,
    prompt_tokens: ArrayLike,
    output_tokens: ArrayLike,
    room: ArrayLike,
    others_share: ArrayLike = 1.0,
    tokens_per_sequence: ArrayLike = 1.0,
) -> NDArray:
    r"""Mean distinct routed experts a MoE layer reads per round of continuous batching.

    Notes
    -----
    A round's :math:`d` decode tokens are joined, on average, by :math:`p = s\,d\,i/o` prompt
    tokens (:math:`s`: the share of the batch whose prompts the rounds carry), but the prompts
    come whole: cohorts of :math:`g = \lfloor r / i \rfloor` prompts (at least one, at most the
    batch) admitted in one step (:func:`closed_loop_ttft_s`). A share :math:`f = p / (g i)` of
    the rounds carries a cohort and the rest only decode, so the expected number of experts
    read is

    .. math:: \bar n = (1 - f)\, n(d) + f\, n(d + g i) \qquad (f < 1)

    with :math:`n` the distinct experts of :func:`~tokenfab.perf.memory.expected_distinct_experts`
    (per pipeline stage: a micro-batch's decode tokens, :func:`microbatch_sequences` of the
    ``decode_tokens / tokens_per_sequence`` sequences, and ``1/pp`` of the prompt tokens);
    every round carries prompt tokens when :math:`f \ge 1`, and then
    :math:`n(d + p)`. Spreading the prompt tokens evenly instead overstates the bytes: ``n`` is
    concave in the tokens (a 61-layer MoE at 4 sequences with 8,192-token prompts would touch
    150 of 256 experts a round instead of ~29 most rounds). The arithmetic, linear in the
    tokens, keeps its mean.
    """
    d = np.asarray(decode_tokens, dtype=float)
    i = np.maximum(np.asarray(prompt_tokens, dtype=float), 1e-300)
    groups_pp = lay.attention_data_parallel * lay.pipeline_parallel
    cohort = np.clip(np.floor(np.asarray(room) / i), 1.0, np.maximum(d / groups_pp, 1.0))
    cohort_tokens = np.minimum(cohort * i, room) * groups_pp
    p = np.asarray(others_share, dtype=float) * d * i / np.asarray(output_tokens, dtype=float)
    f = p / cohort_tokens
    pp, groups = lay.pipeline_parallel, lay.attention_data_parallel
    q = np.asarray(tokens_per_sequence, dtype=float)
    stage_decode = microbatch_sequences(d / q, groups, pp) * groups * q

    def n(prompt: ArrayLike) -> NDArray:
        return expected_distinct_experts(
            shape.experts, shape.experts_per_token, stage_decode + prompt / pp
        )

    return np.where(f >= 1.0, n(p), (1.0 - f) * n(0.0) + f * n(cohort_tokens))


def speculative_tokens_per_step(
    speculative_tokens: ArrayLike, acceptance_rate: ArrayLike
) -> NDArray:
    r"""Expected tokens one verification step emits with ``gamma`` draft tokens.

    Notes
    -----
    Each draft token is accepted with probability :math:`\alpha` while all before it were;
    the step emits the accepted prefix plus one token from the target model [1]_:

    .. math:: E = \frac{1 - \alpha^{\gamma + 1}}{1 - \alpha} \quad (E = \gamma + 1 \text{ at } \alpha = 1)

    References
    ----------
    .. [1] Leviathan, Kalman, Matias, "Fast Inference from Transformers via Speculative
           Decoding", ICML 2023, eq. (1). https://arxiv.org/abs/2211.17192

    Examples
    --------
    >>> float(speculative_tokens_per_step(0, 0.7))  # plain decoding
    1.0
    >>> round(float(speculative_tokens_per_step(3, 0.8)), 4)  # (1 - 0.8^4) / 0.2
    2.952
    """
    g = np.asarray(speculative_tokens, dtype=float)
    a = np.asarray(acceptance_rate, dtype=float)
    safe = np.where(a < 1.0, 1.0 - a, 1.0)
    return np.where(a < 1.0, (1.0 - a ** (g + 1.0)) / safe, g + 1.0)


def md1_wait_s(arrival_per_s: ArrayLike, service_s: ArrayLike) -> NDArray:
    r"""Mean queueing delay of an M/D/1 queue [s]; infinite at or above saturation.

    Notes
    -----
    Pollaczek-Khinchine for deterministic service: :math:`W_q = \rho\, s / (2 (1 - \rho))`
    with :math:`\rho = \lambda s`. Used for requests waiting for a free slot of the batch,
    with Poisson arrivals as in MLPerf Inference's Server scenario.

    References
    ----------
    .. [1] Kleinrock, "Queueing Systems, Volume 1: Theory", Wiley 1975, section 5.6.

    Examples
    --------
    >>> float(md1_wait_s(0.5, 1.0))  # rho = 0.5: 0.5 x 1 / (2 x 0.5)
    0.5
    """
    s = np.asarray(service_s, dtype=float)
    rho = np.asarray(arrival_per_s, dtype=float) * s
    safe = np.where(rho < 1.0, 1.0 - rho, 1.0)
    return np.where(rho < 1.0, rho * s / (2.0 * safe), np.inf)


def disaggregated_state(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    batch_size: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    prefix_cache_hit_rate: ArrayLike = 0.0,
    speculative_tokens: ArrayLike = 0.0,
    acceptance_rate: ArrayLike = 0.0,
) -> SteadyState:
    r"""Throughput and latency with prefill and decode on separate pools of replicas.

    Parameters are as in :func:`steady_state`; ``batch_size`` is the decode pool's batch.

    Notes
    -----
    A decode replica only decodes: :math:`X_d = B / t_{decode}(B)` output tokens per second.
    A prefill replica only prefills, in full engine steps: :math:`X_p = n / t_{prefill}(n)`
    prompt tokens per second with :math:`n` = ``max_num_tokens``. Splitting the fleet so that
    neither pool waits for the other, each request's ``new_input`` prompt tokens and
    ``output`` tokens give, per accelerator of the whole fleet (both pools alike in size),

    .. math:: X = \left(\frac{1}{X_d} + \frac{i / o}{X_p}\right)^{-1}

    and a share :math:`(i/o)/X_p \cdot X` of the accelerators prefills -- reported as
    ``prefill_time_share``. The first token waits for the prompt's own prefill (no decode
    interference) plus the transfer of its KV cache to the decode pool over the scale-out link.
    This is the layout of DistServe, Mooncake and NVIDIA Dynamo [1]_.

    References
    ----------
    .. [1] Zhong et al., "DistServe: Disaggregating Prefill and Decoding for Goodput-optimized
           Large Language Model Serving", OSDI 2024. https://arxiv.org/abs/2401.09670
    """
    bsz = np.asarray(batch_size, dtype=float)
    i = np.asarray(input_tokens, dtype=float)
    o = np.asarray(output_tokens, dtype=float)
    new = i * (1.0 - np.asarray(prefix_cache_hit_rate, dtype=float))
    args = (shape, hw, eng, lay, weight_bytes_per_param, kv_bytes_per_element)
    groups_pp = lay.attention_data_parallel * lay.pipeline_parallel
    gamma = np.asarray(speculative_tokens, dtype=float)
    per_step = speculative_tokens_per_step(gamma, acceptance_rate)
    plain = round_time(*args, bsz, i + o / 2.0)
    verify = round_time(*args, bsz, i + o / 2.0, 0.0, 0.0, gamma + 1.0) if np.any(gamma) else plain
    decode_s = verify.time_s + gamma / shape.layers * plain.time_s
    chunk = eng.max_num_tokens * groups_pp
    prefill = round_time(*args, 0.0, 0.0, chunk, i - new + new / 2.0)
    x_d = bsz * per_step / decode_s
    x_p = chunk / prefill.time_s
    x = 1.0 / (1.0 / x_d + (new / o) / x_p)
    share = (new / o) / x_p * x
    one_prompt = round_time(*args, 0.0, 0.0, new * groups_pp, i - new + new / 2.0)
    # pools in separate domains send the cache over the scale-out link; where that is not
    # public the pools share a domain (the layout search allows no more) and use scale-up
    link = np.where(np.isnan(hw.scaleout_bytes_per_s), hw.link_bytes_per_s, hw.scaleout_bytes_per_s)
    transfer = kv_bytes_per_sequence(shape, i, kv_bytes_per_element) / (link / 2.0)
    ttft = np.broadcast_to(one_prompt.time_s + transfer, np.shape(x))
    hbm_p, comp_p = busy_shares(prefill, hw, lay.pipeline_parallel)
    hbm_d, comp_d = busy_shares(verify, hw, lay.pipeline_parallel)
    return SteadyState(
        bsz,
        decode_s / per_step,
        ttft,
        x,
        x * new / o,
        share,
        verify.memory_bound,
        share * hbm_p + (1.0 - share) * hbm_d,
        share * comp_p + (1.0 - share) * comp_d,
    )


def disaggregated_split(
    replicas: int, output_tok_s_replica: float, prefill_time_share: float
) -> tuple[int, int, float]:
    r"""Whole replicas for the prefill and decode pools, and the output rate they carry.

    Parameters
    ----------
    replicas : int
        Replicas in the deployment, at least 2.
    output_tok_s_replica : float
        Output tokens a second per replica with continuously sized pools
        (:func:`disaggregated_state`) [token/s].
    prefill_time_share : float
        Share of the replicas prefilling in that continuous split [0-1].

    Returns
    -------
    tuple
        ``(prefill_replicas, decode_replicas, output_tok_s)``: the split of ``replicas`` into
        two non-empty pools that carries the most output, and that output [token/s].

    Notes
    -----
    With continuous pools, a replica decodes :math:`X/(1-s)` output tokens a second and a
    prefill replica feeds :math:`X/s` of them. Whole pools of :math:`n_p` and
    :math:`n_d = R - n_p` replicas carry :math:`\min(n_d X/(1-s),\ n_p X/s)`.

    Examples
    --------
    Four replicas, 1,000 tok/s each when pools may be fractional, a third of them prefilling:
    one prefill replica feeds 3,000 tok/s, three decode replicas make 4,500: 3,000 carried.

    >>> disaggregated_split(4, 1000.0, 1 / 3)
    (1, 3, 3000.0)
    """
    n_p = np.arange(1, replicas)
    s = min(max(prefill_time_share, 1e-12), 1 - 1e-12)
    carried = np.minimum(
        (replicas - n_p) * output_tok_s_replica / (1 - s), n_p * output_tok_s_replica / s
    )
    k = int(np.argmax(carried))
    return int(n_p[k]), int(replicas - n_p[k]), float(carried[k])


def disaggregated_split_arrays(
    replicas: ArrayLike, output_tok_s_replica: ArrayLike, prefill_time_share: ArrayLike
) -> tuple[NDArray, NDArray, NDArray]:
    r""":func:`disaggregated_split` for arrays of deployments (a sample axis).

    Notes
    -----
    :math:`\min(n_d X/(1-s),\ n_p X/s)` rises with :math:`n_p` up to :math:`n_p = R s`
    and falls after it, so the best whole split is the floor or the ceiling of :math:`R s`
    (within :math:`[1, R-1]`); on a tie the smaller prefill pool, as the scalar search.

    Examples
    --------
    Four replicas of 1,000 tok/s: a third prefilling gives one prefill and three decode
    replicas carrying 3,000 tok/s (as :func:`disaggregated_split`); half prefilling, two and
    two, each pool carrying 2 x 1000 / 0.5 = 4,000.

    >>> p, d, x = disaggregated_split_arrays([4, 4], [1000.0, 1000.0], [1 / 3, 0.5])
    >>> p.tolist(), d.tolist(), x.tolist()
    ([1.0, 2.0], [3.0, 2.0], [3000.0, 4000.0])
    """
    r = np.asarray(replicas, dtype=float)
    x = np.asarray(output_tok_s_replica, dtype=float)
    s = np.clip(np.asarray(prefill_time_share, dtype=float), 1e-12, 1 - 1e-12)

    def carried(n_p: NDArray) -> NDArray:
        return np.minimum((r - n_p) * x / (1 - s), n_p * x / s)

    low = np.clip(np.floor(r * s), 1.0, r - 1.0)
    high = np.clip(np.ceil(r * s), 1.0, r - 1.0)
    c_low, c_high = carried(low), carried(high)
    n_p = np.where(c_high > c_low, high, low)
    return n_p, r - n_p, np.maximum(c_low, c_high)


def closed_loop_ttft_s(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    clients: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    frontend_s: ArrayLike = 0.0,
    first_wave_share: ArrayLike = 0.0,
) -> NDArray:
    r"""Mean TTFT of ``clients`` closed-loop clients with fixed prompt and output lengths [s].

    Each client sends its next request the moment the last one ends (``vllm bench serve
    --max-concurrency``, SGLang's ``bench_serving``, genai-perf ``--concurrency``, the
    AIConfigurator silicon runs), with no think time, so the engine holds ``clients``
    sequences (Little's law for a closed loop).

    Parameters
    ----------
    shape, hw, eng, lay, weight_bytes_per_param, kv_bytes_per_element
        As in :func:`round_time`.
    clients : array_like
        Closed-loop clients of the replica (at most the batch its memory holds).
    input_tokens, output_tokens : array_like
        Prompt and generated tokens of every request.
    frontend_s : array_like
        Time a request spends in the server's front end before and after the engine: HTTP,
        tokenisation, the scheduler's hand-off, the first token's detokenisation and stream
        [s] (``data/closed_loop.csv``, fitted per engine).
    first_wave_share : array_like
        Share of the measured requests that belong to the first wave, the one all clients send
        at once when the run starts: ``1 / requests per client`` of a benchmark run (genai-perf
        runs are often ``--request-count`` = 10 x concurrency); 0: the steady state only [0-1].

    Notes
    -----
    A step's token budget :math:`n` (``max_num_tokens``) carries one token of each of the
    :math:`m` decoding sequences of an attention group and prompt chunks in the room left,
    :math:`r = n - m`. Prompts admitted in one step finish their prefill together, decode
    the same number of tokens and return together: with fixed lengths the clients move in
    *cohorts* of :math:`g = \min(m, \max(1, \lfloor r / i \rfloor))` requests, each needing
    :math:`c = \lceil g i / r \rceil` prefill steps of time :math:`t_p` (the cohort's chunk
    plus the other :math:`m - g` sequences' decode tokens, :func:`round_time`). While the
    :math:`k = m / g` cohorts' prefill steps fit between a cohort's decode steps
    (:math:`k c \le o - 1 + c`) a returning cohort is admitted at once; otherwise every step
    prefills and a cohort waits for the others' turns. In the steady state a cohort waits

    .. math:: w_s = \max(c,\ k c - (o - 1))

    steps. The first wave arrives at once and is admitted cohort after cohort: the
    :math:`j`-th cohort's first token comes after :math:`j c` steps, a mean of
    :math:`w_1 = (k + 1) c / 2`. A run whose share :math:`f` of requests is first-wave
    measures

    .. math:: TTFT = t_{fe} + \left((1 - f)\, w_s + f\, w_1\right) t_p

    with :math:`t_{fe}` the front end. One client (:math:`m = g = k = 1`) waits for its own
    prompt's :math:`c` steps in both waves: :math:`TTFT = t_{fe} + c\, t_p`.

    References
    ----------
    .. [1] Little, "A Proof for the Queuing Formula L = lambda W", Operations Research 9(3),
           1961. https://doi.org/10.1287/opre.9.3.383
    .. [2] Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with
           Sarathi-Serve", OSDI 2024 (a step's token budget shared by decodes and prompt
           chunks). https://arxiv.org/abs/2403.02310

    Examples
    --------
    64 clients with 1,024-token prompts and an 8,192-token budget: :math:`r = 8128`, cohorts
    of :math:`g = 7` prompts, one step each (:math:`c = 1`); the :math:`k = 64/7 = 9.14`
    cohorts fit between 127 decode steps, so :math:`w_s = 1`. With 9-token outputs only 8
    decode steps separate a cohort's turns: :math:`w_s = 9.14 - 8 = 1.14` steps. The first
    wave waits :math:`w_1 = 10.14 / 2 = 5.07` steps; a run of 10 requests a client
    (:math:`f = 0.1`) measures :math:`0.9 \times 1 + 0.1 \times 5.07 = 1.41` steps at 128
    tokens of output.
    """
    n = np.asarray(clients, dtype=float)
    i = np.maximum(np.asarray(input_tokens, dtype=float), 1.0)
    o = np.asarray(output_tokens, dtype=float)
    f = np.asarray(first_wave_share, dtype=float)
    groups_pp = lay.attention_data_parallel * lay.pipeline_parallel
    m = np.maximum(n / groups_pp, 1.0)  # sequences of one attention group and micro-batch
    room = np.maximum(eng.max_num_tokens - m, 1.0)
    cohort = np.clip(np.floor(room / i), 1.0, m)
    steps = np.ceil(cohort * i / room)
    prefill = round_time(
        shape,
        hw,
        eng,
        lay,
        weight_bytes_per_param,
        kv_bytes_per_element,
        (m - cohort) * groups_pp,
        i + o / 2.0,
        np.minimum(cohort * i, room) * groups_pp,
        i / 2.0,
    )
    turns = m / cohort
    steady = np.maximum(steps, turns * steps - (o - 1.0))
    first = (turns + 1.0) / 2.0 * steps
    return np.asarray(frontend_s, dtype=float) + ((1.0 - f) * steady + f * first) * prefill.time_s
