"""Roofline step times: the slower of reading memory and doing arithmetic (a smooth maximum of
the two for a step's GEMMs, :data:`GEMM_OVERLAP_EXPONENT`), plus fixed costs.

All functions are pure and broadcast over NumPy arrays, so one call evaluates a scalar, a
frontier grid (parallelism x batch) or a million Monte Carlo samples.

References
----------
.. [1] Williams, Waterman, Patterson, "Roofline: an insightful visual performance model for
       multicore architectures", CACM 52(4), 2009. https://doi.org/10.1145/1498765.1498785
.. [2] Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023, section 2.
       https://arxiv.org/abs/2211.05102
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

GEMM_OVERLAP_EXPONENT = 2.0
"""Exponent ``p`` of the smooth maximum a step's GEMMs take of their memory and arithmetic times,
``(t_mem^p + t_comp^p)^(1/p)`` (:func:`step_time_s`): a tiled GEMM streams weight tiles and
multiplies them in a software pipeline, and near the ridge point neither hides the other
completely (the pipeline's fill and drain; SMs waiting on whichever is late), so a GEMM whose
two times are equal takes ``2^(1/p)`` of either, not one. Chosen on the calibration runs held
out by configuration (``docs/method.md`` 6.5: exponents 1, 1.5, 2, 3, 4 and the plain maximum
tried); the roofline bound (:meth:`tokenfab.perf.serving.Engine.roofline`) keeps the maximum."""


def step_time_s(
    bytes_read: ArrayLike,
    flops: ArrayLike,
    hbm_bytes_per_s: ArrayLike,
    peak_flops_per_s: ArrayLike,
    bw_efficiency: ArrayLike = 1.0,
    compute_efficiency: ArrayLike = 1.0,
    comm_s: ArrayLike = 0.0,
    overhead_s: ArrayLike = 0.0,
    dequant_s: ArrayLike = 0.0,
    dequant_all_tiles_s: ArrayLike | None = None,
    overlap_exponent: ArrayLike = np.inf,
) -> tuple[NDArray, NDArray]:
    """Time of one forward step on one accelerator [s], and whether memory bounds it.

    Parameters
    ----------
    bytes_read : array_like
        Bytes the step reads from accelerator memory (weights touched + KV cache) [byte].
    flops : array_like
        Arithmetic of the step [FLOP].
    hbm_bytes_per_s : array_like
        Peak memory bandwidth [byte/s].
    peak_flops_per_s : array_like
        Dense peak at the compute precision [FLOP/s].
    bw_efficiency, compute_efficiency : array_like
        Achievable share of each peak (1 gives the roofline bound) [-].
    comm_s : array_like
        Collective-communication time not overlapped with the step [s].
    overhead_s : array_like
        Fixed per-step cost: scheduling, kernel launches, sampling [s].
    dequant_s : array_like
        Time the CUDA cores take to dequantise, once, the weights a weight-only format
        (``int4``; ``mxfp4`` without FP4 units) uses in the step; 0 for formats the matrix
        units take as stored [s].
    dequant_all_tiles_s : array_like, optional
        The same for every tile of token rows that dequantises them again (a prefill of more
        rows than one tile); default ``dequant_s`` [s].
    overlap_exponent : array_like
        ``p`` of the smooth maximum of the memory and arithmetic times,
        ``(t_mem^p + t_comp^p)^(1/p)``; ``inf`` (default) is the plain maximum of the roofline,
        :data:`GEMM_OVERLAP_EXPONENT` what a step's GEMMs achieve [-].

    Returns
    -------
    time_s : ndarray
        Step time [s].
    memory_bound : ndarray of bool
        True where reading memory takes longer than the arithmetic.

    Notes
    -----
    .. math:: t = \\max\\left(\\frac{B}{\\eta_{bw} BW},
              \\max\\left(\\frac{F}{\\eta_c P} + t_{dq},\\; t_{dq}^{all}\\right)\\right)
              + t_{comm} + t_0

    (with a finite ``overlap_exponent`` ``p``, the memory time and the products' time
    :math:`F / (\\eta_c P)` are combined as ``(a^p + b^p)^(1/p)`` instead of by their maximum;
    the dequantisation terms stay hard limits beside it). Memory and arithmetic overlap; a weight-only kernel converts its weights on the CUDA cores
    and then multiplies them, so one pass of dequantisation :math:`t_{dq}` is in series with the
    products (a decode GEMM has too little tensor work to hide it); the passes of further row
    tiles overlap other tiles' products and bind only beyond them. :math:`t_{dq}` is at the
    chip's issue rate (:func:`~tokenfab.perf.precision.dequant_elements_per_s`), not at the
    fitted :math:`\\eta_c`.

    Examples
    --------
    Llama-3.1-8B in BF16 at batch 1 reads its 16.06 GB of weights each step; on an H100 SXM at
    3.35 TB/s that takes 16.06 / 3350 s = 4.79 ms, against 2 x 8.03e9 / 989e12 = 16 us of
    arithmetic:

    >>> t, mem = step_time_s(16.06e9, 2 * 8.03e9, 3.35e12, 989e12)
    >>> round(float(t) * 1e3, 2), bool(mem)
    (4.79, True)

    The same weights in INT4 (4.14 GB) need 8.03e9 elements dequantised at 2.81e12 a second
    (:func:`~tokenfab.perf.precision.dequant_elements_per_s`): 2.858 ms, then 16 us of
    products, longer than the 4.14 / 3350 s = 1.24 ms of reading them:

    >>> t, mem = step_time_s(4.14e9, 2 * 8.03e9, 3.35e12, 989e12, dequant_s=8.03e9 / 2.81e12)
    >>> round(float(t) * 1e3, 2), bool(mem)
    (2.87, False)
    """
    memory_s = np.asarray(bytes_read, dtype=float) / (
        np.asarray(hbm_bytes_per_s, dtype=float) * np.asarray(bw_efficiency, dtype=float)
    )
    compute_s = np.asarray(flops, dtype=float) / (
        np.asarray(peak_flops_per_s, dtype=float) * np.asarray(compute_efficiency, dtype=float)
    )
    # CUDA-core dequantisation runs beside the tensor cores and the memory stream, at the same
    # achieved share of its peak as the matrix work
    first = np.asarray(dequant_s, dtype=float)
    every = first if dequant_all_tiles_s is None else np.asarray(dequant_all_tiles_s, dtype=float)
    # the smooth maximum is that of the weight stream and the tensor products; the
    # dequantisation passes on the CUDA cores stay hard limits beside it
    gemm_s = smooth_max(memory_s, compute_s, overlap_exponent)
    compute_s = np.maximum(compute_s + first, every)
    return np.maximum(gemm_s, compute_s) + comm_s + overhead_s, memory_s >= compute_s


def smooth_max(a: ArrayLike, b: ArrayLike, exponent: ArrayLike = np.inf) -> NDArray:
    """``(a^p + b^p)^(1/p)`` of non-negative times, the plain maximum where ``p`` is infinite.

    Written as ``hi (1 + (lo/hi)^p)^(1/p)`` so that no power overflows.

    >>> float(smooth_max(3.0, 4.0, 2.0)), float(smooth_max(3.0, 4.0)), float(smooth_max(0.0, 0.0, 2.0))
    (5.0, 4.0, 0.0)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    p = np.asarray(exponent, dtype=float)
    if not np.any(np.isfinite(p)):
        return hi
    ratio = np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), 0.0)
    # p = 2 by products and a square root, each correctly rounded, so that a grid stacking the
    # engine (p = 2) and its roofline (p = inf, exactly the maximum) gives the same bits as
    # each evaluated apart (a vectorised pow's last bit depends on the array's shape)
    square = p == 2.0
    powered = np.where(square, ratio * ratio, np.power(ratio, np.where(square, 1.0, p)))
    root = np.where(
        square, np.sqrt(1.0 + powered), np.power(1.0 + powered, 1.0 / np.where(square, 1.0, p))
    )
    return hi * root


def attention_flops_per_token(
    attention_heads: ArrayLike,
    qk_head_dim: ArrayLike,
    v_head_dim: ArrayLike,
    attended_tokens: ArrayLike,
    layers: ArrayLike,
) -> NDArray:
    """Arithmetic of the attention scores and the weighted sum for one token [FLOP].

    Notes
    -----
    For each layer and head, :math:`q \\cdot K^T` over ``attended_tokens`` keys costs
    :math:`2 d_{qk} c` and the weighted sum of values :math:`2 d_v c`:

    .. math:: F_{attn} = 2 L H (d_{qk} + d_v) c

    Projections are not included (they are in the 2 x parameters term). A prompt token in
    causal prefill attends on average to half the prompt.

    Examples
    --------
    >>> float(attention_flops_per_token(64, 128, 128, 1000, 80))  # 2 x 80 x 64 x 256 x 1000
    2621440000.0
    """
    return (
        2.0
        * np.asarray(layers, dtype=float)
        * np.asarray(attention_heads, dtype=float)
        * (np.asarray(qk_head_dim, dtype=float) + np.asarray(v_head_dim, dtype=float))
        * np.asarray(attended_tokens, dtype=float)
    )
