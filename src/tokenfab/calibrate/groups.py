"""Grouping keys and grouped folds for cross-validation.

Leave-one-row-out flatters a model when near-twins (the same configuration at another
concurrency or length) stay in training. Folds here hold out whole groups:

* :func:`config_key` -- one serving configuration (model, accelerator, engine and era,
  formats, layout, mode); its rows at different lengths and loads are held out together;
* :func:`model_family` -- architectures that share weights' shapes (DeepSeek R1/V3/V3.1 one
  family, Llama 3.x one, ...): leave-one-family-out says how the fit carries to a new model;
* the accelerator family from the catalog (``hopper``, ``blackwell`` ...).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from tokenfab.calibrate.records import Measurement

FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    # (catalog model id prefix, family); first match wins
    ("deepseek-", "deepseek-v3"),  # R1, V3, V3.1: one architecture (MLA + 256 experts)
    ("kimi-k2", "deepseek-v3"),  # Kimi K2 reuses the DeepSeek-V3 architecture (384 experts)
    ("llama-3", "llama-3"),
    ("llama-2", "llama-2"),
    ("llama-4", "llama-4"),
    ("qwen3-", "qwen3"),
    ("gpt-oss-", "gpt-oss"),
    ("mixtral-", "mixtral"),
    ("gemma-", "gemma"),
    ("mistral-", "mistral"),
)


def model_family(model: str) -> str:
    """Architecture family of a catalog model id.

    Examples
    --------
    >>> model_family("deepseek-r1"), model_family("llama-3.3-70b"), model_family("gpt-j-6b")
    ('deepseek-v3', 'llama-3', 'gpt-j-6b')
    """
    for prefix, fam in FAMILY_PREFIXES:
        if model.startswith(prefix):
            return fam
    return model


def config_key(m: Measurement) -> tuple[Hashable, ...]:
    """One serving configuration: everything but the lengths and the load."""
    return (
        m.model,
        m.accelerator,
        m.accelerators,
        m.engine,
        m.era,
        m.precision,
        m.kv_precision,
        m.layout,
        m.mode,
        m.prefill_layout,
    )


def group_ids(keys: Sequence[Hashable]) -> NDArray:
    """Integer id of each key (ids in order of first appearance)."""
    seen: dict[Hashable, int] = {}
    return np.array([seen.setdefault(k, len(seen)) for k in keys], dtype=int)


def grouped_folds(groups: NDArray, k: int) -> list[NDArray]:
    """Split row indices into ``k`` folds, never splitting a group (largest groups first).

    Deterministic: groups are placed, largest first, in the fold with the fewest rows so far.

    Examples
    --------
    >>> [f.tolist() for f in grouped_folds(np.array([0, 0, 1, 2, 2, 2]), 2)]
    [[3, 4, 5], [0, 1, 2]]
    """
    ids, counts = np.unique(groups, return_counts=True)
    k = min(k, ids.size)
    if k < 2:
        raise ValueError("grouped_folds: need at least two groups")
    sizes = np.zeros(k, dtype=int)
    members: list[list[int]] = [[] for _ in range(k)]
    for gid in ids[np.argsort(-counts, kind="stable")]:
        f = int(np.argmin(sizes))
        rows = np.flatnonzero(groups == gid)
        members[f].extend(rows.tolist())
        sizes[f] += rows.size
    return [np.array(sorted(m), dtype=int) for m in members]
