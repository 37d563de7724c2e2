"""Heterogeneous disaggregated serving: a prefill pool on one accelerator type, a decode pool
on another (seed 002: Rubin GPUs prefill, Groq LPX decodes).

The two pools are sized so that neither waits for the other (the continuous split of
:func:`tokenfab.perf.serving.disaggregated_state`, here with a different accelerator, and so a
different power draw, in each pool). Per output token served, the prefill pool spends
``r / X_p`` accelerator-seconds (``r`` uncached prompt tokens per output token, ``X_p`` prompt
tokens a second per prefill accelerator) and the decode pool ``1 / X_d`` (``X_d`` output tokens a
second per decode accelerator):

.. math:: J = \\frac{r}{X_p} W_p + \\frac{1}{X_d} W_d \\qquad \\text{joules (IT) per output token}

and the pool split by power is ``(r W_p / X_p) / J`` to prefill. The first token waits for the
prompt's prefill and for its KV cache to cross the link between the pools.

Status: these are the pure two-pool identities, with ``X_p`` and ``X_d`` given. The factory does
not yet build a frontier of mixed pools, and accelerators without a serving-engine row (the Groq 3
LPU) have no ``X_d`` from the performance core; ``docs/claims.md`` §11 bounds ``X_d`` by the chip's
compute and states the LPX power at which seed 002's claim would hold.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.cost import _check_range, _out

__all__ = [
    "break_even_decode_w",
    "compute_bound_decode_tok_s",
    "kv_transfer_s",
    "two_pool_joules_per_output_token",
]


def two_pool_joules_per_output_token(
    prompt_per_output_token: ArrayLike,
    prefill_prompt_tok_s_per_accelerator: ArrayLike,
    prefill_w: ArrayLike,
    decode_output_tok_s_per_accelerator: ArrayLike,
    decode_w: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """IT joules per output token of a prefill pool and a decode pool, and the prefill pool's
    share of the power.

    Examples
    --------
    20 prompt tokens per output token prefilled at 100,000 tok/s on 2,000 W, decode at 1,000
    tok/s on 500 W: 20/1e5 x 2000 = 0.4 J plus 1/1000 x 500 = 0.5 J, 0.9 J; prefill 0.4/0.9.

    >>> j, s = two_pool_joules_per_output_token(20, 1e5, 2000, 1000, 500)
    >>> round(float(j), 6), round(float(s), 4)
    (0.9, 0.4444)
    """
    r = _check_range("prompt_per_output_token", prompt_per_output_token, 0.0)
    xp = _check_range(
        "prefill_prompt_tok_s_per_accelerator",
        prefill_prompt_tok_s_per_accelerator,
        0.0,
        low_open=True,
    )
    wp = _check_range("prefill_w", prefill_w, 0.0, low_open=True)
    xd = _check_range(
        "decode_output_tok_s_per_accelerator",
        decode_output_tok_s_per_accelerator,
        0.0,
        low_open=True,
    )
    wd = _check_range("decode_w", decode_w, 0.0, low_open=True)
    jp = r / xp * wp
    j = jp + wd / xd
    return _out(j), _out(jp / j)


def compute_bound_decode_tok_s(
    flops_per_s: ArrayLike, active_params: ArrayLike
) -> NDArray[np.float64]:
    """Output tokens a second one accelerator generates at most when decode is compute-bound:
    2 FLOPs per active parameter per token (attention's own FLOPs left out, so a ceiling).

    Examples
    --------
    The Groq 3 LPU's 1.2 PFLOPS FP8 (accelerators.csv) on Llama 3.1 70B's 70 B parameters:
    1.2e15 / 1.4e11 = 8,571 tok/s.

    >>> round(float(compute_bound_decode_tok_s(1.2e15, 70e9)))
    8571
    """
    f = _check_range("flops_per_s", flops_per_s, 0.0, low_open=True)
    p = _check_range("active_params", active_params, 0.0, low_open=True)
    return _out(f / (2.0 * p))


def break_even_decode_w(
    joules_per_output_token: ArrayLike,
    prefill_joules_per_output_token: ArrayLike,
    decode_output_tok_s_per_accelerator: ArrayLike,
) -> NDArray[np.float64]:
    """The decode accelerator's power at which the two pools spend exactly
    ``joules_per_output_token``; zero or less means the prefill pool alone exceeds it.

    Examples
    --------
    A 2.0 J budget, prefill 0.5 J, decode 8,000 tok/s: (2.0 - 0.5) x 8,000 = 12,000 W.

    >>> float(break_even_decode_w(2.0, 0.5, 8000))
    12000.0
    """
    j = _check_range("joules_per_output_token", joules_per_output_token, 0.0, low_open=True)
    jp = _check_range("prefill_joules_per_output_token", prefill_joules_per_output_token, 0.0)
    xd = _check_range(
        "decode_output_tok_s_per_accelerator",
        decode_output_tok_s_per_accelerator,
        0.0,
        low_open=True,
    )
    return _out((j - jp) * xd)


def kv_transfer_s(kv_bytes: ArrayLike, link_bytes_per_s: ArrayLike) -> NDArray[np.float64]:
    """Seconds to move one request's KV cache from the prefill to the decode pool.

    Examples
    --------
    Llama 3.1 70B FP8 KV (2 x 80 layers x 8 heads x 128 x 1 byte = 163,840 B a token) for a
    6,000-token prompt over a 200 GB/s link: 983 MB / 200 GB/s = 4.9 ms.

    >>> round(float(kv_transfer_s(163_840 * 6000, 200e9)) * 1e3, 2)
    4.92
    """
    b = _check_range("kv_bytes", kv_bytes, 0.0)
    link = _check_range("link_bytes_per_s", link_bytes_per_s, 0.0, low_open=True)
    return _out(b / link)
