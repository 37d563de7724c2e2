"""Bounded fit of the efficiency factors and grouped cross-validation.

The factors (:data:`~tokenfab.calibrate.adapter.FACTORS`) are fitted per *factor group* --
accelerator family × engine × version era by default -- with a bounded trust-region
least-squares (``scipy.optimize.least_squares``, method ``trf``) on the log errors
``log(predicted / measured)``, robust (``cauchy`` with a 10 % scale: quadratic within ~10 %, then
growing only as the log of the error, so a campaign of outlying runs does not drag a group; the
``soft_l1`` loss, linear beyond 10 %, was used until 2026-12-01 and gave 13.8 / 18.7 / 16.8 %
held out by configuration / model family / accelerator family against 13.2 / 18.3 / 16.5 %,
docs/method.md 6.5). Each group is shrunk towards the pooled fit of all training
rows (a weak quadratic penalty on the log of each factor), so a group with few rows keeps
plausible values and a group with none gets the pooled fit -- which says so.

Bounds are physical: no efficiency above 1 (or above what was measured on the hardware:
``data/gpu_measurements.csv`` holds H100 GEMM and HBM microbenchmarks), non-negative overheads.

Cross-validation refits everything per fold (no leave-one-out shortcut): each fold's rows are
predicted by factors fitted without them; folds hold out whole groups (see ``groups``).

References
----------
.. [1] Branch, Coleman and Li, "A Subspace, Interior, and Conjugate Gradient Method for
       Large-Scale Bound-Constrained Minimization Problems", SIAM J. Sci. Comput. 21(1), 1999
       (the ``trf`` method). https://doi.org/10.1137/S1064827595289108
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from tokenfab.calibrate import adapter
from tokenfab.calibrate.groups import grouped_folds
from tokenfab.calibrate.records import Measurement
from tokenfab.catalog import Catalog
from tokenfab.perf import calibration as pc
from tokenfab.perf.precision import precision_table

FACTORS = adapter.FACTORS

LOWER = {
    "compute_efficiency": 0.05,
    "bw_efficiency": 0.2,
    "overhead_ms": 0.0,
    "comm_efficiency": 0.2,
    "overhead_per_sequence_us": 0.0,
    "moe_efficiency": 0.1,
    "kv_efficiency": 0.2,
    "overhead_per_layer_us": 0.0,
}
UPPER = {
    "compute_efficiency": 1.0,
    "bw_efficiency": 1.0,
    "overhead_ms": 30.0,  # a CUDA-graph decode step's fixed cost is ~1-5 ms (H100 measured)
    "comm_efficiency": 2.0,  # in-switch reduction (NVLink SHARP) halves the ring's bytes
    "overhead_per_sequence_us": 200.0,
    "moe_efficiency": 1.0,
    "kv_efficiency": 1.0,
    # a dense GQA layer's 9 kernels (norms, projections, attention, activation; other layers
    # count in proportion to theirs, tokenfab.perf.memory.kernel_layers) at up to ~11 us each
    # of launch and drain (tokenfab.perf.serving.step_overhead_s)
    "overhead_per_layer_us": 100.0,
}
START = {
    # centre of the plausible range: where an unfitted optimisation starts
    "compute_efficiency": 0.5,
    "bw_efficiency": 0.75,
    "overhead_ms": 2.0,
    "comm_efficiency": 0.8,
    "overhead_per_sequence_us": 10.0,
    "moe_efficiency": 0.6,
    "kv_efficiency": 0.75,
    "overhead_per_layer_us": 10.0,
}
SCALE = {k: (1.0 if k.endswith(("_ms", "_us")) else 0.1) for k in FACTORS}
SCALE["overhead_per_layer_us"] = 10.0
SHRINK = 0.05
"""Weight of the pull towards the pooled factors, per factor, relative to one row's log error."""


BALANCE_METRICS = True
"""Weigh each measured metric (TPOT, TTFT, throughput) of a group equally in its fit, whatever
its count: thousands of TPOT values at moderate concurrency would otherwise decide the
large-batch factors that throughput at full load depends on."""


def metric_weights(metric: NDArray) -> NDArray:
    """Per-target weights on the residuals giving each metric the same total squared weight.

    ``sqrt(n / (m x n_metric))`` for ``n`` targets over ``m`` metrics: the weights' squares sum
    to ``n`` (the unweighted total) and to ``n / m`` within each metric.

    >>> metric_weights(np.array(["tpot_s", "tpot_s", "tpot_s", "output_tok_s"])) ** 2
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    """
    metric = np.asarray(metric)
    names, inverse, counts = np.unique(metric, return_inverse=True, return_counts=True)
    return np.sqrt(metric.size / (names.size * counts[inverse]))


def measured_bounds(catalog: Catalog) -> dict[str, dict[str, float]]:
    """Upper bounds per accelerator family from microbenchmarks on the hardware.

    The largest share of the datasheet dense peak reached by a GEMM, and of the datasheet
    bandwidth by a device copy or reduction, in ``data/gpu_measurements.csv`` (H100 today);
    ``compute_efficiency_8bit`` the largest share of the FP8 peak an FP8 GEMM reached, the bound
    of the 8-bit rate where the factors are fitted per rate (:func:`fit`).
    """
    out: dict[str, dict[str, float]] = {}
    rows = list(catalog.table("gpu-measurements").values())
    for acc_id in sorted({r.accelerator_id for r in rows}):
        acc = catalog.accelerator(acc_id)
        share = [
            r.achieved_tflops
            / (acc.fp8_dense_tflops if (r.dtype or "").startswith("fp8") else acc.bf16_dense_tflops)
            for r in rows
            if r.accelerator_id == acc_id and r.kind == "gemm" and r.achieved_tflops
        ]
        hbm = [
            r.achieved_tb_s
            for r in rows
            if r.accelerator_id == acc_id and r.kind == "hbm_bandwidth" and r.achieved_tb_s
        ]
        fp8 = [
            r.achieved_tflops / acc.fp8_dense_tflops
            for r in rows
            if r.accelerator_id == acc_id
            and r.kind == "gemm"
            and r.achieved_tflops
            and (r.dtype or "").startswith("fp8")
        ]
        b = out.setdefault(acc.family, {})
        if share:
            b["compute_efficiency"] = min(1.0, float(max(share)))
        if fp8:
            b["compute_efficiency_8bit"] = min(1.0, float(max(fp8)))
        if hbm:
            b["bw_efficiency"] = min(1.0, float(max(hbm)) / acc.memory_bandwidth_tb_s)
    return out


def factor_key_family_engine_era(m: Measurement, catalog: Catalog) -> tuple[str, ...]:
    """Default factor group: (accelerator family, engine, era, serving mode)."""
    return (catalog.accelerator(m.accelerator).family, m.engine, m.era, m.mode)


def factor_key_family_software(m: Measurement, catalog: Catalog) -> tuple[str, ...]:
    """Factor group the run path can use: (accelerator family, software class); a
    disaggregated run's decode pool is its own group, ``(family, software, "disagg")``, which
    no catalog row holds."""
    key = (catalog.accelerator(m.accelerator).family, adapter.software_class(m))
    return (*key, "disagg") if m.mode == "disagg" else key


def format_width(precision: str) -> str:
    """Width class of a weight format (``data/precisions.csv`` bits per element, scales
    included): ``"4-bit"`` (FP4, MXFP4, INT4), ``"8-bit"`` (FP8, INT8) or ``"16-bit"`` (BF16,
    FP16, and FP32 checkpoints served at BF16).

    >>> format_width("mxfp4"), format_width("fp8"), format_width("fp32")
    ('4-bit', '8-bit', '16-bit')
    """
    bits = precision_table()[precision].bits_per_element
    return "4-bit" if bits < 8 else "8-bit" if bits < 16 else "16-bit"


def factor_key_family_software_format(m: Measurement, catalog: Catalog) -> tuple[str, ...]:
    """:func:`factor_key_family_software` with the weight format's width as well, for the
    aggregated groups (a diagnostic of ``bench/bench_accuracy.py``: the catalog has no format
    column, so estimates cannot use these groups)."""
    key = factor_key_family_software(m, catalog)
    return key if m.mode == "disagg" else (*key, format_width(m.precision))


def factor_key_family_software_rate(m: Measurement, catalog: Catalog) -> tuple[str, ...]:
    """:func:`factor_key_family_software` with the matrix rate the weight format computes at on
    the accelerator (:func:`tokenfab.perf.calibration.efficiency_column`: 16-bit, 8-bit or
    4-bit rate) for the aggregated groups: one ``compute_efficiency`` per rate, the other factors shared
    (:func:`fit`)."""
    key = factor_key_family_software(m, catalog)
    if m.mode == "disagg":
        return key
    acc = catalog.accelerator(m.accelerator)
    return (*key, pc.efficiency_column(acc, m.precision, adapter.block_scaled(m, catalog)))


def partition(group: Hashable) -> str:
    """Serving mode of a factor group: ``"disagg"`` (a disaggregated decode pool) or
    ``"agg"``. Groups of one mode share a pooled fit; the modes never share factors."""
    return "disagg" if isinstance(group, tuple) and "disagg" in group else "agg"


@dataclass(frozen=True)
class Fit:
    """Fitted factors of every group seen in training, and the pooled fallback."""

    groups: dict[Hashable, dict[str, float]]
    pooled: dict[str, dict[str, float]]  # serving mode (:func:`partition`) -> pooled factors
    rows: dict[Hashable, int]

    def factors_for(self, keys: Sequence[Hashable]) -> dict[str, NDArray]:
        """Per-target factor arrays; a group not fitted takes the pooled factors of its
        mode (of the other mode where its own had no training rows)."""
        spare = next(iter(self.pooled.values()))

        def of(g: Hashable) -> dict[str, float]:
            return (
                self.groups.get(g)
                or self.pooled.get(f"{partition(g)}:{rate_of(g)}")
                or self.pooled.get(partition(g), spare)
            )

        return {k: np.array([of(g)[k] for g in keys], dtype=float) for k in FACTORS}


def _bounds_for(family: str | None, measured: dict[str, dict[str, float]]):
    lo = np.array([LOWER[k] for k in FACTORS])
    hi = np.array([measured.get(family or "", {}).get(k, UPPER[k]) for k in FACTORS])
    hi = np.maximum(hi, lo + 1e-6)
    return lo, hi


def rate_of(group: Hashable) -> str | None:
    """The compute-efficiency column a factor group's ``compute_efficiency`` is for: the last
    element of a key of :func:`factor_key_family_software_rate`, else None (one
    ``compute_efficiency`` whatever the format)."""
    if isinstance(group, tuple) and group and group[-1] in RATES:
        return str(group[-1])
    return None


RATES = frozenset({*pc.RATE_EFFICIENCY.values(), pc.BLOCK_FP8_EFFICIENCY})


def tie_group(group: Hashable) -> Hashable:
    """The group whose factors a rate-split key shares (all but ``compute_efficiency``)."""
    return group[:-1] if rate_of(group) else group  # type: ignore[index]


def _solve(
    prep: adapter.Prepared,
    rows: NDArray,
    x0: NDArray,
    lo: NDArray,
    hi: NDArray,
    prior: NDArray | None,
    label: NDArray | None = None,
) -> NDArray:
    """Least-squares factors of the targets ``rows``. With ``label`` (an index per row), ``x``
    holds one ``compute_efficiency`` per label: ``x[0]`` for label 0, then ``x[8:]``."""
    sub = prep.subset(rows)
    log_meas = np.log(sub.measured)
    extra = x0.size - len(FACTORS)
    scale = np.array([SCALE[k] for k in FACTORS] + [SCALE["compute_efficiency"]] * extra)
    weight = np.sqrt(SHRINK * rows.size) if prior is not None else 0.0
    balance = metric_weights(sub.metric) if BALANCE_METRICS else 1.0

    def residuals(x: NDArray) -> NDArray:
        values: dict[str, NDArray] = dict(zip(FACTORS, x[: len(FACTORS)], strict=True))
        if extra:
            values["compute_efficiency"] = np.concatenate([x[:1], x[len(FACTORS) :]])[label]
        pred = adapter.predict(sub, values)
        r = (np.log(np.maximum(pred, 1e-30)) - log_meas) * balance
        if prior is None:
            return r
        return np.concatenate([r, weight * (x - prior) / (scale * 10)])

    x0 = np.clip(x0, lo, hi)
    sol = least_squares(
        residuals,
        x0,
        bounds=(lo, hi),
        method="trf",
        loss="cauchy",
        f_scale=0.1,
        x_scale=scale,
        diff_step=1e-3,
        max_nfev=200,
    )
    return sol.x


def _widen(v: NDArray, n: int) -> NDArray:
    """A factor vector with ``n - 1`` more ``compute_efficiency`` entries (copies of its own)."""
    return np.concatenate([v, np.repeat(v[:1], max(n - 1, 0))])


def fit(
    prep: adapter.Prepared,
    keys: Sequence[Hashable],
    rows: NDArray | None = None,
    measured: dict[str, dict[str, float]] | None = None,
    family_of: Callable[[Hashable], str] | None = None,
) -> Fit:
    """Fit the factors of every group on the targets ``rows`` (all by default).

    Keys ending in a matrix rate (:func:`rate_of`) share every factor with the other rates of
    their group but ``compute_efficiency``, one per rate; every rate of the serving mode gets a
    value (a rate the group has no runs at takes the pooled one).

    Parameters
    ----------
    prep : Prepared
        The targets (:func:`~tokenfab.calibrate.adapter.prepare`).
    keys : sequence
        Factor-group key of every target.
    measured : dict, optional
        Upper bounds per accelerator family (:func:`measured_bounds`).
    family_of : callable, optional
        Accelerator family of a group key (default: its first element).
    """
    rows = prep.fit_rows(np.arange(prep.size) if rows is None else np.asarray(rows))
    measured = measured or {}
    family_of = family_of or (lambda g: str(g[0]) if isinstance(g, tuple) else str(g))
    by: dict[Hashable, list[int]] = {}
    for r in rows:
        by.setdefault(keys[r], []).append(int(r))
    tied: dict[Hashable, list[int]] = {}
    modes: dict[str, list[int]] = {}
    rates: dict[str, set[str]] = {}
    for g, idx in by.items():
        tied.setdefault(tie_group(g), []).extend(idx)
        modes.setdefault(partition(g), []).extend(idx)
        if rate_of(g):
            rates.setdefault(partition(g), set()).add(str(rate_of(g)))
    labels = {mode: sorted(v) for mode, v in rates.items()}
    # a rate measured in one group only says nothing general about the rate: the pooled fit
    # gives it the 16-bit (first) rate's value
    seen_in: dict[str, set[Hashable]] = {}
    for g in by:
        if rate_of(g):
            seen_in.setdefault(str(rate_of(g)), set()).add(tie_group(g))
    general = {name for name, ties in seen_in.items() if len(ties) >= 2}

    def label_index(idx: NDArray, mode: str, pooled: bool = False) -> NDArray | None:
        names = labels.get(mode)
        if not names:
            return None
        return np.array(
            [
                names.index(str(rate_of(keys[r])))
                if not pooled or rate_of(keys[r]) in general
                else 0
                for r in idx
            ]
        )

    pooled_x: dict[str, NDArray] = {}
    for mode, idx in sorted(modes.items()):
        n = len(labels.get(mode, [])) or 1
        lo, hi = (_widen(v, n) for v in _bounds_for(None, {}))
        x_start = _widen(np.array([START[k] for k in FACTORS]), n)
        idx_arr = np.array(sorted(idx))
        x = _solve(prep, idx_arr, x_start, lo, hi, None, label_index(idx_arr, mode, True))
        for k, name in enumerate(labels.get(mode, [])):
            if k and name not in general:
                x[len(FACTORS) + k - 1] = x[0]
        pooled_x[mode] = x

    def as_factors(x: NDArray, k: int = 0) -> dict[str, float]:
        out = dict(zip(FACTORS, map(float, x[: len(FACTORS)]), strict=True))
        if k:
            out["compute_efficiency"] = float(x[len(FACTORS) + k - 1])
        return out

    groups: dict[Hashable, dict[str, float]] = {}
    for t, idx in tied.items():
        mode = partition(t)
        names = labels.get(mode, []) if any(rate_of(g) and tie_group(g) == t for g in by) else []
        prior = pooled_x[mode] if names else pooled_x[mode][: len(FACTORS)]
        lo, hi = (_widen(v, len(names) or 1) for v in _bounds_for(family_of(t), measured))
        # a rate measured on the hardware is bounded by its own microbenchmark
        own = measured.get(family_of(t), {})
        for k, name in enumerate(names):
            slot = len(FACTORS) + k - 1 if k else 0
            hi[slot] = max(min(hi[slot], own.get(name, hi[slot])), lo[slot] + 1e-6)
        idx_arr = np.array(idx)
        x = _solve(
            prep,
            idx_arr,
            prior,
            lo,
            hi,
            np.clip(prior, lo, hi),
            label_index(idx_arr, mode) if names else None,
        )
        if names:
            for k, name in enumerate(names):
                groups[(*t, name)] = as_factors(x, k)  # type: ignore[misc]
        else:
            groups[t] = as_factors(x)
    pooled: dict[str, dict[str, float]] = {}
    for mode, x in pooled_x.items():
        pooled[mode] = as_factors(x)
        for k, name in enumerate(labels.get(mode, [])):
            pooled[f"{mode}:{name}"] = as_factors(x, k)
    return Fit(groups, pooled, {g: len(v) for g, v in by.items()})


def cross_validate(
    prep: adapter.Prepared,
    keys: Sequence[Hashable],
    holdout: NDArray,
    k: int | None = 5,
    measured: dict[str, dict[str, float]] | None = None,
) -> NDArray:
    """Held-out prediction of every target, folds holding out whole ``holdout`` groups.

    ``k`` folds (grouped, balanced); ``k=None``: one fold per holdout group (leave one group
    out). Each fold refits every factor group on the other folds' targets.
    """
    holdout = np.asarray(holdout)
    if k is None:
        folds = [np.flatnonzero(holdout == g) for g in np.unique(holdout)]
    else:
        folds = grouped_folds(holdout, k)
    out = np.full(prep.size, np.nan)
    everything = np.arange(prep.size)
    for test in folds:
        train = np.setdiff1d(everything, test)
        if prep.fit_rows(train).size == 0:
            continue
        f = fit(prep, keys, train, measured)
        factors = f.factors_for([keys[i] for i in test])
        out[test] = adapter.predict(prep.subset(test), factors)
    return out


def abs_error(predicted: NDArray, measured: NDArray) -> NDArray:
    """|predicted / measured - 1| of each target."""
    return np.abs(np.asarray(predicted) / np.asarray(measured) - 1.0)
