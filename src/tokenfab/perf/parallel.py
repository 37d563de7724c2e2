"""Communication time of tensor, expert and pipeline parallelism, inside a scale-up domain and
across domains.

Scale-up bandwidths in the catalog are bidirectional per accelerator (as vendors quote NVLink);
a collective moves data one way at half of that. Scale-out bandwidths (the NIC, or PCIe for
cards outside a bridge pair) are catalogued per direction and converted to the same
bidirectional convention by :func:`tokenfab.perf.calibration.hardware`.

A group of ``n`` ranks larger than the scale-up domain ``d`` is placed as ``ceil(n / d)`` full
domains (a node of 8 GPUs, an NVL72 rack); its collectives run hierarchically: inside each
domain over the scale-up link, between domains over the scale-out link.

References
----------
.. [1] Patarasuk and Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
       workstations", JPDC 69(2), 2009 (ring all-reduce moves 2(n-1)/n of the message).
       https://doi.org/10.1016/j.jpdc.2008.09.002
.. [2] Shoeybi et al., "Megatron-LM", 2019, section 3: two all-reduces per layer in the
       forward pass of a tensor-parallel transformer. https://arxiv.org/abs/1909.08053
.. [3] Lepikhin et al., "GShard", 2020: expert parallelism dispatches and combines tokens with
       two all-to-alls per MoE layer. https://arxiv.org/abs/2006.16668
.. [4] NCCL's hierarchical (tree/"NVLS+tree") all-reduce: reduce-scatter inside the node,
       all-reduce of the shard across nodes, all-gather inside the node. Jeaugey, "Massively
       Scale Your Deep Learning Training with NCCL 2.4", NVIDIA blog, 2019.
       https://developer.nvidia.com/blog/massively-scale-deep-learning-training-nccl-2-4/
.. [6] NVIDIA/nccl@01afd20:src/graph/tuning.cc, ``ncclTopoTuneModel``: the tree all-reduce's
       latency adds ``2 * log2(nNodes) * interLat`` over the network, with ``hwLat[NET][Tree][LL]
       = 5.0`` us, the low-latency protocol NCCL picks for the small messages of decode.
.. [7] sgl-project/sglang#2904 ("optimize custom allreduce kernel", 2025-01): TensorRT-LLM's
       custom all-reduce kernels on H100 NVLink, 512-byte messages, without CUDA graphs: 3.7,
       4.8 and 5.9 us over 2, 4 and 8 ranks.
.. [8] The one-shot and two-shot all-reduces of TensorRT-LLM (``AllReduceStrategy.ONESHOT`` /
       ``TWOSHOT``, chosen by ``AUTO``; NVIDIA, "3x Faster AllReduce with NVSwitch and
       TensorRT-LLM MultiShot", 2024) and of vLLM's custom all-reduce
       (vllm-project/vllm@csrc/custom_all_reduce.cuh, ``cross_device_reduce_1stage`` /
       ``_2stage``): one-shot, every rank reads each peer's whole message and sums locally,
       :math:`(n-1) M` a rank each way in one synchronisation; two-shot, a reduce-scatter then
       an all-gather, :math:`2 (n-1)/n \\cdot M` a rank in two.
.. [5] NVIDIA/TensorRT-LLM@tensorrt_llm/_torch/modules/fused_moe/communication/
       allgather_reducescatter.py: "the default fallback strategy" of the MoE with attention
       DP: ``dispatch`` all-gathers the hidden states over ``mapping.tp_group`` (every rank of
       the attention-DP world), ``combine`` reduce-scatters the expert outputs back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

ACTIVATION_BYTES = 2.0
"""Activations cross links in 16 bits."""

SCALEOUT_HOP_LATENCY_S = 5.0e-6
"""Latency of one network hop of a collective between scale-up domains [s]: NCCL's tuning
model for its tree algorithm with the low-latency protocol (``hwLat[NET][Tree][LL]``, [6]_).
A collective over ``g`` domains crosses ``2 log2(g)`` of them (up and down the tree), on top of
the in-domain latency every collective pays."""


def scaleout_latency_s(domains: ArrayLike) -> NDArray:
    """Latency the network adds to a collective spanning ``domains`` scale-up domains [s].

    .. math:: \\alpha_{out} = 2 \\lfloor \\log_2 g \\rfloor \\, \\alpha_{hop}

    with :data:`SCALEOUT_HOP_LATENCY_S`; zero inside one domain. The floor is NCCL's ``log2i``.

    >>> [round(float(scaleout_latency_s(g)) * 1e6, 1) for g in (1, 2, 8)]
    [0.0, 10.0, 30.0]
    """
    g = np.maximum(np.asarray(domains, dtype=float), 1.0)
    return 2.0 * np.floor(np.log2(g)) * SCALEOUT_HOP_LATENCY_S


COLLECTIVE_LATENCY_PER_RANK_S = (5.9e-6 - 3.7e-6) / (8 - 2)
"""Latency one more rank in the scale-up domain adds to a small collective [s]: 0.367 us, the
slope of TensorRT-LLM's custom all-reduce over 2 to 8 H100s at 512 bytes, 3.7 to 5.9 us [7]_.
The software class's ``comm_latency_us`` is the two-rank latency."""


def collective_latency_s(latency_s: ArrayLike, ranks_in_domain: ArrayLike) -> NDArray:
    """Latency of a small collective over ``ranks_in_domain`` ranks of one domain [s].

    .. math:: \\alpha(d) = \\alpha_2 + (d - 2)\\, \\alpha_{rank}

    with :math:`\\alpha_2` the software class's two-rank latency and
    :data:`COLLECTIVE_LATENCY_PER_RANK_S`: every rank waits on a flag from each peer it reads.

    >>> [round(float(collective_latency_s(3.7e-6, d)) * 1e6, 2) for d in (2, 4, 8)]
    [3.7, 4.43, 5.9]
    """
    d = np.maximum(np.asarray(ranks_in_domain, dtype=float), 2.0)
    return np.asarray(latency_s, dtype=float) + (d - 2.0) * COLLECTIVE_LATENCY_PER_RANK_S


def _levels(ranks: ArrayLike, domain_size: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """Ranks, ranks inside one domain, and domains a group of ``ranks`` spans."""
    n = np.asarray(ranks, dtype=float)
    d = np.minimum(n, np.asarray(domain_size, dtype=float))
    return n, d, np.ceil(n / d)


def _zeros(*arrays: ArrayLike) -> NDArray:
    """Zeros of the shape the arrays broadcast to."""
    return np.zeros(np.broadcast_shapes(*(np.shape(a) for a in arrays)))


def allreduce_time_s(
    message_bytes: ArrayLike,
    ranks: ArrayLike,
    link_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    domain_size: ArrayLike = np.inf,
    scaleout_bytes_per_s: ArrayLike = np.nan,
) -> NDArray:
    """Time of one all-reduce [s]; zero for a single rank.

    Parameters
    ----------
    message_bytes : array_like
        Bytes each rank contributes [byte].
    ranks : array_like
        Ranks taking part.
    link_bytes_per_s, scaleout_bytes_per_s : array_like
        Scale-up and scale-out bandwidth per accelerator, bidirectional [byte/s].
    latency_s : array_like
        Latency of a small collective over two ranks [s] (:func:`collective_latency_s`).
    domain_size : array_like
        Accelerators one scale-up domain joins.

    Notes
    -----
    Inside one domain, the faster of a one-shot and a two-shot all-reduce [8]_ (what
    TensorRT-LLM's ``AUTO`` and vLLM's custom all-reduce choose between by message size), with
    :math:`\\alpha = \\alpha(d)` of :func:`collective_latency_s`:

    .. math:: t_{in} = \\min\\left(\\alpha + (d-1) \\frac{M}{b_{up}/2},\\;
              2 \\alpha + \\frac{2 (d-1)}{d} \\frac{M}{b_{up}/2}\\right)

    The two-shot's bytes are a ring's [1]_. One-shot wins small messages (a decode step's
    activations at a small batch), two-shot large ones (a prefill chunk's).
    Across :math:`g = \\lceil n/d \\rceil` domains, hierarchically [4]_: a reduce-scatter and an
    all-gather inside each domain, and an all-reduce of each rank's :math:`M/d` shard across
    the domains:

    .. math:: t = t_{in} + \\frac{2 (g-1)}{g} \\frac{M/d}{b_{out}/2} + \\alpha_{out}(g)

    where :math:`\\alpha_{out}` is the network's own latency (:func:`scaleout_latency_s`, NCCL's
    tree model [6]_).

    Examples
    --------
    A 16 MiB all-reduce over 8 H100s on 900 GB/s NVLink (450 GB/s one way), 3.7 us over two
    ranks: alpha(8) = 3.7 + 6 x 0.367 = 5.9 us; one-shot 5.9 + 7 x 16.78e6 / 450e9 = 266.9
    us, two-shot 2 x 5.9 + 2 x 7/8 x 16.78e6 / 450e9 = 11.8 + 65.2 = 77.0 us.

    >>> round(float(allreduce_time_s(16.777216e6, 8, 900e9, 3.7e-6)) * 1e6, 1)
    77.0

    A decode step's 64 KiB over the same ranks: one-shot 5.9 + 7 x 65,536 / 450e9 = 5.9 + 1.02
    = 6.92 us, two-shot 11.8 + 0.25 us.

    >>> round(float(allreduce_time_s(65_536, 8, 900e9, 3.7e-6)) * 1e6, 2)
    6.92

    The 16 MiB over 16 H100s in two DGX nodes (50 GB/s a GPU each way, 100e9 bidirectional):
    77.0 us + 2 x 1/2 x (16.78e6 / 8) / 50e9 = 77.0 + 41.9 us, plus the network's
    2 x log2(2) x 5 = 10 us.

    >>> round(float(allreduce_time_s(16.777216e6, 16, 900e9, 3.7e-6, 8, 100e9)) * 1e6, 1)
    128.9
    """
    n, d, g = _levels(ranks, domain_size)
    m = np.asarray(message_bytes, dtype=float)
    up = np.asarray(link_bytes_per_s, dtype=float) / 2.0
    out = np.asarray(scaleout_bytes_per_s, dtype=float) / 2.0
    if not np.any(n > 1):  # one rank everywhere: no collective (skips work on large arrays)
        return _zeros(n, d, m, up, out, latency_s)
    alpha = collective_latency_s(latency_s, d)
    one_shot = alpha + (d - 1.0) * m / up
    two_shot = 2.0 * alpha + 2.0 * (d - 1.0) / d * m / up
    inside = np.minimum(one_shot, two_shot)
    if np.any(g > 1):
        across = np.where(g > 1, 2.0 * (g - 1.0) / g * (m / d) / np.where(g > 1, out, 1.0), 0.0)
        t = inside + across + scaleout_latency_s(g)
    else:  # one domain everywhere (the usual case): no scale-out term to compute and discard
        t = inside
    return _where_many(n, t)


def _where_many(n: NDArray, t: NDArray) -> NDArray:
    """``t`` where ``n > 1`` ranks, else 0; without the masking pass when every ``n`` is > 1."""
    if np.all(n > 1) and np.shape(t) == np.broadcast_shapes(np.shape(n), np.shape(t)):
        return np.asarray(t, dtype=float)
    return np.where(n > 1, t, 0.0)


def alltoall_time_s(
    bytes_per_rank: ArrayLike,
    ranks: ArrayLike,
    link_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    domain_size: ArrayLike = np.inf,
    scaleout_bytes_per_s: ArrayLike = np.nan,
) -> NDArray:
    """Time of one all-to-all where each rank sends ``bytes_per_rank`` spread evenly [s].

    Notes
    -----
    A rank keeps :math:`1/n` of its data and sends the rest; :math:`(d-1)/n` of it stays in
    its domain and :math:`(n-d)/n` leaves over the scale-out link. The two links work at once,
    so the slower sets the time:

    .. math:: t = \\max\\left(\\frac{d-1}{n} \\frac{M}{b_{up}/2},
              \\frac{n-d}{n} \\frac{M}{b_{out}/2}\\right) + \\alpha + \\alpha_{out}(g)

    with the software class's small-collective latency :math:`\\alpha` (flat: the all-reduce's
    growth with ranks, :func:`collective_latency_s`, is measured for all-reduces only) and the
    network's latency :math:`\\alpha_{out}` of :func:`scaleout_latency_s` (NCCL's
    tree figure, taken for the all-to-all's cross-domain sends too).

    Examples
    --------
    Expert-parallel dispatch of 1 MB a rank over 16 H100s in two nodes: half of it leaves the
    node at 50 GB/s (10 us) while 7/16 crosses NVLink at 450 GB/s (0.97 us); the network adds
    2 x log2(2) x 5 = 10 us.

    >>> round(float(alltoall_time_s(1e6, 16, 900e9, 0.0, 8, 100e9)) * 1e6, 2)
    20.0
    """
    n, d, g = _levels(ranks, domain_size)
    m = np.asarray(bytes_per_rank, dtype=float)
    up = np.asarray(link_bytes_per_s, dtype=float) / 2.0
    out = np.asarray(scaleout_bytes_per_s, dtype=float) / 2.0
    if not np.any(n > 1):  # one rank everywhere: no collective
        return _zeros(n, d, m, up, out, latency_s)
    inside = (d - 1.0) / n * m / up
    if np.any(g > 1):
        across = np.where(g > 1, (n - d) / n * m / np.where(g > 1, out, 1.0), 0.0)
        t = np.maximum(inside, across) + latency_s + scaleout_latency_s(g)
    else:  # one domain: across is 0 and inside >= 0
        t = np.maximum(inside, 0.0) + latency_s
    return _where_many(n, t)


def experts_on_busiest_rank(experts: ArrayLike, expert_parallel: ArrayLike) -> NDArray:
    """Routed experts of one MoE layer the busiest expert-parallel rank holds.

    Notes
    -----
    vLLM gives each rank ``E // ep`` experts and one more to the first ``E % ep`` ranks
    (``determine_expert_map`` in ``vllm/model_executor/layers/fused_moe/layer.py``), so the
    busiest holds :math:`\\lceil E / ep \\rceil`; an engine that needs an even split refuses
    the others before this is used.

    Examples
    --------
    >>> float(experts_on_busiest_rank(256, 3))  # 86 / 85 / 85
    86.0
    """
    e = np.asarray(experts, dtype=float)
    return np.ceil(e / np.asarray(expert_parallel, dtype=float))


def expert_imbalance(experts: ArrayLike, expert_parallel: ArrayLike) -> NDArray:
    """Busiest rank's routed-expert work over the mean rank's [-]: 1 for an even split.

    With uniform routing a rank's tokens are proportional to the experts it holds, so the step
    waits for :math:`\\lceil E/ep \\rceil \\, ep / E` times the mean (1.0078 for 256 experts at
    EP3). Skew in the router's choices adds to this and is not modelled (docs/method.md).

    >>> round(float(expert_imbalance(256, 3)), 4)
    1.0078
    """
    e = np.asarray(experts, dtype=float)
    ep = np.asarray(expert_parallel, dtype=float)
    safe = np.where(e > 0, e, 1.0)
    return np.where(e > 0, experts_on_busiest_rank(safe, ep) * ep / safe, 1.0)


def destination_ranks(experts_per_token: ArrayLike, expert_parallel: ArrayLike) -> NDArray:
    r"""Expected expert-parallel ranks one token's top-k experts live on [-].

    A dispatch sends a token's activations once to each rank holding any of its experts, and
    the combine returns one partial sum a rank (DeepEP's and TensorRT-LLM's all-to-all
    kernels); with the experts spread evenly and routed uniformly, a rank is missed by all
    ``k`` picks with probability ``(1 - 1/ep)^k``:

    .. math:: n_{dest} = ep \left(1 - (1 - 1/ep)^{k}\right)

    Examples
    --------
    DeepSeek-V3 (top-8) over 8 ranks: 8 x (1 - (7/8)^8) = 5.25 copies instead of 8.

    >>> round(float(destination_ranks(8, 8)), 2)
    5.25

    References
    ----------
    deepseek-ai/DeepEP@deep_ep/buffer.py: ``get_dispatch_layout`` returns
    ``num_tokens_per_rank`` and the ``[tokens, ranks]`` mask ``is_token_in_rank`` that
    ``dispatch`` sends by -- one copy of a token per destination rank, however many of its
    experts that rank holds.
    """
    k = np.asarray(experts_per_token, dtype=float)
    ep = np.maximum(np.asarray(expert_parallel, dtype=float), 1.0)
    return np.minimum(k, ep * (1.0 - (1.0 - 1.0 / ep) ** k))


def layer_comm_time_s(
    tokens: ArrayLike,
    hidden: ArrayLike,
    layers: ArrayLike,
    moe_layers: ArrayLike,
    experts_per_token: ArrayLike,
    tensor_parallel: ArrayLike,
    expert_parallel: ArrayLike,
    pipeline_parallel: ArrayLike,
    link_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    domain_size: ArrayLike = np.inf,
    scaleout_bytes_per_s: ArrayLike = np.nan,
    moe_tensor_parallel: ArrayLike | None = None,
    replica_accelerators: ArrayLike | None = None,
    attention_data_parallel: ArrayLike | None = None,
) -> NDArray:
    """Communication of one pipeline stage's forward step for ``tokens`` tokens on a rank [s].

    Tensor parallelism: two all-reduces of ``tokens x hidden`` activations per layer.
    Expert parallelism with data-parallel attention (``attention_data_parallel > 1``, the ranks
    hold different tokens): a dispatch and a combine all-to-all per MoE layer, each moving
    the rank's tokens once to every rank holding one of their top-k experts
    (:func:`destination_ranks`). Expert parallelism under tensor-parallel attention over the
    same ranks (``attention_data_parallel = 1``, the default ``max(tp, ep) / tp``): every rank
    already holds every token after the attention's all-reduce, so no token moves; each rank
    runs its own experts on the tokens routed to them and the layer's second all-reduce sums
    their partial outputs, as it sums the partial products of tensor-parallel experts (vLLM's
    ``FusedMoE`` without data parallelism; SGLang and TensorRT-LLM with ``--ep-size`` equal to
    the tensor-parallel size and no attention DP). MoE tensor parallelism wider than the attention's
    (attention data-parallel with each expert split over ranks, with or without expert
    parallelism beside it): every rank of the stage's ``moe_tp x ep`` needs the tokens of all
    its attention groups, so the stage all-gathers them and reduce-scatters the expert outputs,
    the two halves of one all-reduce of the gathered activations over all those ranks per MoE
    layer (TensorRT-LLM's MoE with attention DP and no all-to-all [5]_; vLLM's default for MoE
    with ``--data-parallel-size``), across scale-up domains where the stage spans them. Pipeline
    parallelism: one point-to-point send of the activations to the next stage, over the
    scale-out link when the replica spans more than one domain. Layers are divided among the
    stages.
    """
    tp = np.asarray(tensor_parallel, dtype=float)
    ep = np.asarray(expert_parallel, dtype=float)
    pp = np.asarray(pipeline_parallel, dtype=float)
    moe_tp = tp if moe_tensor_parallel is None else np.asarray(moe_tensor_parallel, dtype=float)
    act = np.asarray(tokens, dtype=float) * np.asarray(hidden, dtype=float) * ACTIVATION_BYTES
    stage_layers = np.asarray(layers, dtype=float) / pp
    stage_moe = np.asarray(moe_layers, dtype=float) / pp
    net = (link_bytes_per_s, latency_s, domain_size, scaleout_bytes_per_s)
    tp_s = 2.0 * stage_layers * allreduce_time_s(act, tp, *net)
    wider = (moe_tp > tp) & (np.asarray(moe_layers, dtype=float) > 0)
    adp = (
        np.maximum(tp, ep) / tp
        if attention_data_parallel is None
        else np.asarray(attention_data_parallel, dtype=float)
    )
    ep_s = np.where(
        adp > 1,
        2.0 * stage_moe * alltoall_time_s(act * destination_ranks(experts_per_token, ep), ep, *net),
        0.0,
    )
    moe_tp_s: Any = 0.0  # no MoE group wider than the attention's anywhere: nothing to add
    if np.any(wider):
        # the gather spans the stage's moe_tp x ep ranks and replaces the all-to-alls
        ranks = moe_tp * ep
        gathered = act * ranks / tp
        moe_tp_s = np.where(wider, stage_moe * allreduce_time_s(gathered, ranks, *net), 0.0)
        ep_s = np.where(wider, 0.0, ep_s)
    if replica_accelerators is None:
        crosses = np.zeros_like(pp, dtype=bool)
    else:
        crosses = np.asarray(replica_accelerators, dtype=float) > np.asarray(
            domain_size, dtype=float
        )
    send_link = np.where(crosses, scaleout_bytes_per_s, link_bytes_per_s)
    pp_s = np.where(pp > 1, act / (np.asarray(send_link, dtype=float) / 2.0), 0.0)
    return tp_s + ep_s + moe_tp_s + pp_s
