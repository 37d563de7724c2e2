"""Uncertainty: Monte Carlo, one-at-a-time (tornado) and Sobol sensitivity of the KPIs.

Every input of an estimate is uncertain: street prices, electricity, utilisation, the
performance model itself. A scenario file's ``distributions:`` block
(:class:`~tokenfab.scenario.Distribution`) says how; without one, :func:`default_distributions`
takes the ranges the catalogs publish and the performance model's held-out error.

The functions here are model-agnostic: a *model* is any callable that takes a mapping of input
name to an array of samples (inputs not given stay at their base values) and returns an
:class:`Evaluation` -- the KPI arrays, which samples are feasible and why the others are not.
:func:`scenario_model` wraps :func:`tokenfab.pipeline.evaluate` for a Scenario; the tests use
analytic functions whose answers are known.

Infeasible samples (the model no longer fits, an SLO is missed) are counted and reported as a
feasible share with their reasons, never dropped silently: Monte Carlo statistics describe the
feasible samples, and the share says how many those are.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from tokenfab.errors import InfeasibleError, ScenarioError
from tokenfab.scenario import (
    Distribution,
    InputRange,
    Scenario,
    check_support,
    distribution_cdf,
    is_whole_number,
    parse_distribution,
    split_sigmas,
)

MAX_SAMPLES = 1_000_000
"""Most Monte Carlo samples (and Sobol model runs): a million puts each percentile within about
0.1 % of its limit; the KPIs of a million samples take ~0.5 GB (8 bytes x ~60 KPIs each;
0.67 GB peak resident measured for `montecarlo --samples 1000000`)."""
MAX_SOBOL_BASE = 65_536
"""Most Sobol base samples N; a run evaluates N x (inputs + 2) points, at most MAX_SAMPLES."""
SOBOL_MATTERS = 0.05
"""An input whose total Sobol index is below this explains under 5 % of the KPI's variance,
alone and with every interaction: reported as not mattering."""
HISTOGRAM_BINS = 30
FEASIBLE = "feasible"
"""A KPI of its own: 1 for a feasible sample, 0 for an infeasible one. Its Sobol indices say
which inputs make a deployment fail (its mean is the feasible share)."""
CHUNK = 65_536
"""Samples evaluated per call of the model: bounds memory and paces the progress bar."""


class Evaluation(Protocol):
    """What a model returns for ``n`` samples (the shape of ``pipeline.PipelineResult``)."""

    n: int
    kpis: Mapping[str, NDArray[np.float64]]
    feasible: NDArray[np.bool_]
    reasons: Mapping[str, int]


Model = Callable[[Mapping[str, NDArray[np.float64]]], Evaluation]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Result:
    """A plain :class:`Evaluation` (for analytic models and tests)."""

    n: int
    kpis: dict[str, NDArray[np.float64]]
    feasible: NDArray[np.bool_]
    reasons: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------


def _support(d: Distribution, rng: InputRange) -> tuple[float, float]:
    """Where samples may fall: the distribution's own bounds within the field's range."""
    lows = [x for x in (d.low, rng.low) if x is not None]
    highs = [x for x in (d.high, rng.high) if x is not None]
    return (max(lows) if lows else -math.inf, min(highs) if highs else math.inf)


def quantile(
    d: Distribution, u: NDArray[np.float64], rng: InputRange | None = None
) -> NDArray[np.float64]:
    """The values of ``d`` at cumulative probabilities ``u`` (inverse transform sampling).

    A normal or lognormal is truncated to its own low/high and to the field's range ``rng``
    (:func:`~tokenfab.scenario.parse_distribution` refused any that puts more than one sample in
    a million outside the range); a whole-number input is rounded.

    Parameters
    ----------
    d : Distribution
        The input's distribution [the input's unit].
    u : array
        Probabilities in [0, 1) [-].
    rng : InputRange, optional
        The input's range (default: unbounded, real).

    Returns
    -------
    array
        Same shape as ``u`` [the input's unit].

    Notes
    -----
    Triangular (low a, mode c, high b): :math:`x = a + \\sqrt{u (b-a)(c-a)}` for
    :math:`u < (c-a)/(b-a)`, else :math:`b - \\sqrt{(1-u)(b-a)(b-c)}` [1]_. Truncated normal:
    :math:`x = \\mu + \\sigma \\Phi^{-1}(\\Phi(\\alpha) + u(\\Phi(\\beta)-\\Phi(\\alpha)))` with
    :math:`\\alpha, \\beta` the standardised bounds; a lognormal is the exponential of a normal
    of mean :math:`\\ln` median; a split lognormal is :math:`m\\,e^{\\sigma z}` with
    :math:`z = \\Phi^{-1}(u)` and :math:`\\sigma` the lower half's sigma for :math:`z < 0`, the
    upper half's above (:func:`~tokenfab.scenario.split_sigmas`).

    References
    ----------
    .. [1] L. Devroye, Non-Uniform Random Variate Generation, Springer 1986, ch. II.2 (inversion),
       http://luc.devroye.org/rnbookindex.html

    Examples
    --------
    >>> from tokenfab.scenario import Distribution
    >>> d = Distribution(dist="triangular", low=0.0, mode=1.0, high=2.0)
    >>> quantile(d, np.array([0.125, 0.5, 0.875]))
    array([0.5, 1. , 1.5])
    """
    from scipy.special import ndtr, ndtri  # loaded when sampling, not when the CLI starts

    rng = rng or InputRange(None, None)
    u = np.asarray(u, dtype=float)
    lo, hi = _support(d, rng)
    if d.dist == "uniform":
        x = d.low + u * (d.high - d.low)  # type: ignore[operator]
    elif d.dist in ("triangular", "low-base-high"):
        a, b = d.low, d.high
        c = d.mode if d.dist == "triangular" else d.base
        width = b - a  # type: ignore[operator]
        if width == 0:
            x = np.full_like(u, a)
        else:
            split = (c - a) / width  # type: ignore[operator]
            x = np.where(
                u < split,
                a + np.sqrt(u * width * (c - a)),  # type: ignore[operator]
                b - np.sqrt((1 - u) * width * (b - c)),  # type: ignore[operator]
            )
    elif d.dist == "split-lognormal":
        below, above = split_sigmas(d)
        p_lo = distribution_cdf(d, lo) if math.isfinite(lo) else 0.0
        p_hi = distribution_cdf(d, hi) if math.isfinite(hi) else 1.0
        z = ndtri(p_lo + u * (p_hi - p_lo))
        with np.errstate(invalid="ignore"):  # u = 0: z = -inf, x = 0 (clipped below)
            x = d.median * np.exp(z * np.where(z < 0, below, above))  # type: ignore[operator]
    else:
        if d.dist == "normal":
            centre, scale = float(d.mean), float(d.sd)  # type: ignore[arg-type]
            to_z = lambda v: (v - centre) / scale  # noqa: E731
        else:
            centre, scale = math.log(d.median), float(d.sigma)  # type: ignore[arg-type]
            to_z = lambda v: (math.log(v) - centre) / scale if v > 0 else -math.inf  # noqa: E731
        if scale == 0:
            z = np.zeros_like(u)
        else:
            p_lo = ndtr(to_z(lo)) if math.isfinite(lo) else 0.0
            p_hi = ndtr(to_z(hi)) if math.isfinite(hi) else 1.0
            z = ndtri(p_lo + u * (p_hi - p_lo))
        x = centre + scale * z
        if d.dist == "lognormal":
            x = np.exp(x)
    x = np.clip(x, lo, hi)  # float rounding at the ends of a truncation; nothing else moves
    if rng.low_open:
        x = np.maximum(x, np.nextafter(rng.low, math.inf))
    if rng.high_open:
        x = np.minimum(x, np.nextafter(rng.high, -math.inf))
    if rng.integer:
        x = np.rint(x)
    return x


def swing(d: Distribution, rng: InputRange | None = None) -> tuple[float, float]:
    """The low and high values a tornado swings an input to: the bounds of a uniform,
    triangular or low/base/high; the 5th and 95th percentiles of a normal or (split) lognormal.

    Examples
    --------
    >>> from tokenfab.scenario import Distribution
    >>> lo, hi = swing(Distribution(dist="normal", mean=10.0, sd=1.0))
    >>> round(lo, 3), round(hi, 3)  # 10 -/+ 1.645 sd
    (8.355, 11.645)
    """
    if d.dist in ("normal", "lognormal", "split-lognormal"):
        lo, hi = quantile(d, np.array([0.05, 0.95]), rng)
        return float(lo), float(hi)
    return float(d.low), float(d.high)  # type: ignore[arg-type]


def _ranges(
    dists: Mapping[str, Distribution], ranges: Mapping[str, InputRange] | None = None
) -> dict[str, InputRange]:
    """The given ranges; an input without one is an unbounded real (a whole number for a
    Scenario field that holds one)."""
    ranges = ranges or {}
    return {k: ranges.get(k) or InputRange(None, None, integer=is_whole_number(k)) for k in dists}


def draw(
    dists: Mapping[str, Distribution],
    n: int,
    seed: int | np.random.Generator = 0,
    ranges: Mapping[str, InputRange] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """``n`` independent samples of each input, reproducible from ``seed``.

    One uniform draw per sample and input, in C order (sample by sample), turned into values by
    :func:`quantile`: drawing in chunks from one Generator gives the same samples as one draw.

    Examples
    --------
    >>> from tokenfab.scenario import Distribution
    >>> x = draw({"a": Distribution(dist="uniform", low=2.0, high=4.0)}, 100_000, seed=1)
    >>> round(float(x["a"].mean()), 2)  # (2 + 4) / 2
    3.0
    """
    gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ranges = _ranges(dists, ranges)
    u = gen.random((n, len(dists)))
    return {k: quantile(d, u[:, j], ranges.get(k)) for j, (k, d) in enumerate(dists.items())}


# ------------------------------------------------------------------------------------------
# Monte Carlo
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiSummary:
    """The spread of one KPI over the feasible samples (NaN when none is feasible)."""

    mean: float
    p5: float
    p50: float
    p95: float
    counts: NDArray[np.int64]
    edges: NDArray[np.float64]

    def as_dict(self) -> dict[str, float | None]:
        """``{mean, p5, p50, p95}``; None where no sample gives a value."""
        values = {"mean": self.mean, "p5": self.p5, "p50": self.p50, "p95": self.p95}
        return {k: None if math.isnan(v) else v for k, v in values.items()}


def summarise(values: NDArray[np.float64], bins: int = HISTOGRAM_BINS) -> KpiSummary:
    """Mean, 5th/50th/95th percentiles (linear interpolation) and a histogram of the finite
    values.

    Examples
    --------
    >>> s = summarise(np.arange(101.0))
    >>> s.mean, s.p5, s.p50, s.p95
    (50.0, 5.0, 50.0, 95.0)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = float("nan")
        return KpiSummary(nan, nan, nan, nan, np.zeros(0, np.int64), np.zeros(0))
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= abs(lo) * 1e-9:  # a constant (to rounding): one bar around it
        pad = abs(lo) * 1e-6 or 1e-9
        lo, hi = lo - pad, hi + pad
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return KpiSummary(float(v.mean()), float(p5), float(p50), float(p95), counts, edges)


@dataclass(frozen=True)
class MonteCarlo:
    """A Monte Carlo run: how many samples, the feasible share and why the rest failed, and
    the spread of every KPI over the feasible samples."""

    samples: int
    seed: int
    feasible_share: float
    reasons: dict[str, int]
    kpis: dict[str, KpiSummary]
    inputs: dict[str, Distribution]
    defaults: bool = False  # the inputs are default_distributions, not given

    def as_dict(self) -> dict[str, Any]:
        """``montecarlo --json``: ``{"samples", "feasible_share", "kpis": {key: {mean, p5,
        p50, p95}}}``."""
        return {
            "samples": self.samples,
            "feasible_share": self.feasible_share,
            "kpis": {k: s.as_dict() for k, s in self.kpis.items()},
        }


def _check_count(n: int, what: str, limit: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= limit:
        raise ScenarioError(f"{what}: {n!r} is not allowed; allowed: 1 to {limit:,}")


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def _run(
    model: Model,
    columns: Callable[[slice], Mapping[str, NDArray[np.float64]]],
    n: int,
    chunk_size: int,
    progress: Progress | None,
    keep: Callable[[str], bool] = lambda key: True,
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.bool_], dict[str, int]]:
    """Evaluate ``model`` on ``n`` samples, ``chunk_size`` at a time; KPIs as float arrays."""
    kpis: dict[str, NDArray[np.float64]] = {}
    feasible = np.zeros(n, dtype=bool)
    reasons: dict[str, int] = {}
    for part in _chunks(n, chunk_size):
        ev = model(columns(part))
        size = part.stop - part.start
        if ev.n != size:
            raise RuntimeError(f"model returned {ev.n} results for {size} samples")
        for key, values in ev.kpis.items():
            if not keep(key):
                continue
            arr = np.asarray(values)
            if arr.dtype.kind not in "fiu":  # text KPIs (bound, ids) are not summarised
                continue
            if key not in kpis:
                kpis[key] = np.full(n, np.nan)
            kpis[key][part] = np.broadcast_to(arr, (size,))
        feasible[part] = np.broadcast_to(np.asarray(ev.feasible, dtype=bool), (size,))
        for why, count in ev.reasons.items():
            reasons[why] = reasons.get(why, 0) + int(count)
        if progress is not None:
            progress(part.stop, n)
    return kpis, feasible, reasons


def monte_carlo(
    model: Model,
    dists: Mapping[str, Distribution],
    samples: int,
    seed: int = 0,
    *,
    ranges: Mapping[str, InputRange] | None = None,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
) -> MonteCarlo:
    """Sample every input, evaluate the model, and summarise each KPI.

    Parameters
    ----------
    model : callable
        ``model(samples) -> Evaluation`` (:func:`scenario_model`).
    dists : mapping of str to Distribution
        The uncertain inputs; the others stay at their base values.
    samples : int
        Number of samples, 1 to :data:`MAX_SAMPLES`.
    seed : int
        Seed of the NumPy Generator: the same seed gives the same figures.
    chunk_size : int
        Samples per model call (memory stays bounded).
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk.

    Returns
    -------
    MonteCarlo
        Statistics over the feasible samples, with the feasible share and the reasons of the
        infeasible ones.

    Raises
    ------
    ScenarioError
        A sample count out of range (refused before any memory is taken).

    Examples
    --------
    >>> from tokenfab.scenario import Distribution
    >>> def model(s):
    ...     x = s["x"]
    ...     return Result(len(x), {"y": 2 * x + 1}, np.ones(len(x), bool))
    >>> mc = monte_carlo(model, {"x": Distribution(dist="uniform", low=0.0, high=1.0)}, 10_000)
    >>> round(mc.kpis["y"].mean, 2)  # 2 x E[x] + 1 = 2
    2.0
    """
    _check_count(samples, "samples", MAX_SAMPLES)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ScenarioError(f"seed: {seed!r} is not allowed; allowed: a whole number, 0 or more")
    ranges = _ranges(dists, ranges)
    gen = np.random.default_rng(seed)

    def columns(part: slice) -> Mapping[str, NDArray[np.float64]]:
        return draw(dists, part.stop - part.start, gen, ranges)

    kpis, feasible, reasons = _run(model, columns, samples, chunk_size, progress)
    ok = feasible
    summaries = {k: summarise(v[ok]) for k, v in kpis.items()}
    return MonteCarlo(
        samples=samples,
        seed=int(seed),
        feasible_share=float(feasible.mean()),
        reasons=reasons,
        kpis=summaries,
        inputs=dict(dists),
    )


# ------------------------------------------------------------------------------------------
# Tornado: one input at a time
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TornadoRow:
    """One input swung from its low to its high value, the others at their base values."""

    input: str
    low: float
    high: float
    kpi_at_low: float
    kpi_at_high: float
    feasible_at_low: bool
    feasible_at_high: bool

    @property
    def swing(self) -> float:
        """``|KPI at high - KPI at low|`` (inf when an end is infeasible: the largest effect)."""
        if not (self.feasible_at_low and self.feasible_at_high):
            return math.inf
        return abs(self.kpi_at_high - self.kpi_at_low)


@dataclass(frozen=True)
class Tornado:
    """The KPI at the base case and each input's swing, largest first."""

    kpi: str
    base: float
    base_feasible: bool
    rows: list[TornadoRow]
    reasons: dict[str, int]

    @property
    def feasible_share(self) -> float:
        """Share of the 2 x inputs + 1 points evaluated that are feasible."""
        ok = sum(r.feasible_at_low + r.feasible_at_high for r in self.rows) + self.base_feasible
        return ok / (2 * len(self.rows) + 1)

    def as_dict(self, dists: Mapping[str, Distribution]) -> dict[str, Any]:
        """``sensitivity --method tornado --json`` (:class:`tokenfab.schema.SensitivityResult`)."""
        rows = [
            {
                "input": r.input,
                "distribution": dists[r.input].describe(),
                "low": r.low,
                "high": r.high,
                "kpi_at_low": r.kpi_at_low if r.feasible_at_low else None,
                "kpi_at_high": r.kpi_at_high if r.feasible_at_high else None,
                "swing": r.swing if math.isfinite(r.swing) else None,
            }
            for r in self.rows
        ]
        return {
            "method": "tornado",
            "kpi": self.kpi,
            "base": self.base if self.base_feasible else None,
            "tornado": rows,
            "sobol": None,
            "base_samples": None,
            "evaluations": None,
            "conf_level": None,
            "mean": None,
            "feasible_share": self.feasible_share,
            "not_mattering": [r.input for r in self.rows if r.swing == 0],
            "reasons": self.reasons,
        }


def _kpi_values(ev: Evaluation, kpi: str) -> NDArray[np.float64]:
    """The KPI's values, or 1.0/0.0 for :data:`FEASIBLE`."""
    if kpi == FEASIBLE:
        return np.broadcast_to(np.asarray(ev.feasible, dtype=float), (ev.n,)).copy()
    if kpi not in ev.kpis:
        from tokenfab.catalog import nearest

        numeric = [k for k, v in ev.kpis.items() if np.asarray(v).dtype.kind in "fiu"]
        hint = nearest(kpi, numeric)
        raise ScenarioError(
            f"kpi: {kpi!r} is not a KPI"
            + (f"; did you mean: {', '.join(hint)}?" if hint else "")
            + f"; allowed: {', '.join(numeric)}"
        )
    return np.asarray(ev.kpis[kpi], dtype=float).reshape(-1)


def base_value(model: Model, kpi: str) -> float | None:
    """The KPI with every input at its base value (None when that point is infeasible)."""
    ev = model({})
    value = float(_kpi_values(ev, kpi)[0])
    return value if bool(np.asarray(ev.feasible).reshape(-1)[0]) else None


def tornado(
    model: Model,
    dists: Mapping[str, Distribution],
    kpi: str,
    *,
    ranges: Mapping[str, InputRange] | None = None,
) -> Tornado:
    """Swing each input to its low and high value (:func:`swing`) with the others at their
    base values; rows sorted by the size of the KPI's change, largest first (an input that
    makes the deployment infeasible at either end first of all).

    Examples
    --------
    >>> from tokenfab.scenario import Distribution
    >>> def model(s):
    ...     a, b = s.get("a", np.array([1.0])), s.get("b", np.array([1.0]))
    ...     n = max(len(a), len(b))
    ...     return Result(n, {"y": a + 10 * b + 0 * a * b}, np.ones(n, bool))
    >>> u = Distribution(dist="uniform", low=0.0, high=2.0)
    >>> [r.input for r in tornado(model, {"a": u, "b": u}, "y").rows]  # 10 x b moves y most
    ['b', 'a']
    """
    if not dists:
        raise ScenarioError("distributions: a tornado needs at least one uncertain input")
    ranges = _ranges(dists, ranges)
    base_ev = model({})
    base = _kpi_values(base_ev, kpi)
    _refuse_a_kpi_without_value(kpi, base, base_ev.feasible)
    reasons = {k: int(v) for k, v in base_ev.reasons.items()}
    rows = []
    for key, d in dists.items():
        lo, hi = swing(d, ranges[key])
        ev = model({key: np.array([lo, hi])})
        y = _kpi_values(ev, kpi)
        ok = np.broadcast_to(np.asarray(ev.feasible, dtype=bool), (2,))
        for why, count in ev.reasons.items():
            reasons[why] = reasons.get(why, 0) + int(count)
        rows.append(TornadoRow(key, lo, hi, float(y[0]), float(y[1]), bool(ok[0]), bool(ok[1])))
    rows.sort(key=lambda r: -r.swing if not math.isnan(r.swing) else 0.0)
    base_ok = bool(np.asarray(base_ev.feasible).reshape(-1)[0])
    return Tornado(kpi, float(base[0]), base_ok, rows, reasons)


def _refuse_a_kpi_without_value(kpi: str, values: NDArray[np.float64], feasible: Any) -> None:
    """Refuse a KPI that the scenario leaves empty at every feasible point (ScenarioError): a
    rental line of a bought fleet, the API price of a model no API sells. Its tornado was a
    table of dashes and its Sobol run a count of samples "with no value"."""
    ok = np.broadcast_to(np.asarray(feasible, dtype=bool), values.shape)
    if ok.any() and np.isnan(values[ok]).all():
        raise ScenarioError(
            f"kpi: {kpi} has no value in this scenario (estimate --json gives it as null); "
            "choose a KPI the estimate gives a number for"
        )


# ------------------------------------------------------------------------------------------
# Sobol indices (SALib)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SobolRow:
    """First-order and total Sobol indices of one input, with their confidence half-widths."""

    input: str
    s1: float
    s1_conf: float
    st: float
    st_conf: float

    @property
    def matters(self) -> bool:
        """Whether the total index reaches :data:`SOBOL_MATTERS`."""
        return self.st >= SOBOL_MATTERS


@dataclass(frozen=True)
class Sobol:
    """Sobol indices of one KPI, inputs by total index, largest first."""

    kpi: str
    base_samples: int
    evaluations: int
    conf_level: float
    mean: float
    variance: float
    feasible_share: float
    rows: list[SobolRow]
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self, dists: Mapping[str, Distribution], base: float | None) -> dict[str, Any]:
        """``sensitivity --method sobol --json`` (:class:`tokenfab.schema.SensitivityResult`);
        ``base`` is the KPI at the scenario's values (:func:`base_value`)."""
        rows = [
            {
                "input": r.input,
                "distribution": dists[r.input].describe(),
                "s1": r.s1,
                "s1_conf": r.s1_conf,
                "st": r.st,
                "st_conf": r.st_conf,
                "matters": r.matters,
            }
            for r in self.rows
        ]
        return {
            "method": "sobol",
            "kpi": self.kpi,
            "base": base,
            "tornado": None,
            "sobol": rows,
            "base_samples": self.base_samples,
            "evaluations": self.evaluations,
            "conf_level": self.conf_level,
            "mean": self.mean,
            "feasible_share": self.feasible_share,
            "not_mattering": [r.input for r in self.rows if not r.matters],
            "reasons": self.reasons,
        }


def sobol(
    model: Model,
    dists: Mapping[str, Distribution],
    kpi: str,
    base_samples: int = 1024,
    seed: int = 0,
    *,
    conf_level: float = 0.95,
    resamples: int = 100,
    ranges: Mapping[str, InputRange] | None = None,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
) -> Sobol:
    """First-order and total Sobol indices of ``kpi`` by Saltelli's scheme (SALib).

    SALib draws a scrambled Sobol' sequence on the unit hypercube (``base_samples`` x (inputs
    + 2) points, no second-order terms); :func:`quantile` turns each column into its input's
    distribution, so any distribution is handled the same way. Confidence intervals are
    bootstrap intervals at ``conf_level`` [1]_.

    Parameters
    ----------
    base_samples : int
        N, a power of two (Sobol' sequences balance only at powers of two) [samples].

    Raises
    ------
    ScenarioError
        A base sample count that is not a power of two or too large.
    InfeasibleError
        Some samples give no KPI value (the model no longer fits): indices of a quantity
        undefined on part of the input space are not defined; the message gives the share
        and the reasons.

    Notes
    -----
    :math:`S_i = V[E(Y|X_i)]/V(Y)` (first order), :math:`S_{Ti} = E[V(Y|X_{\\sim i})]/V(Y)`
    (total), estimated with Saltelli's 2010 estimators [2]_ as SALib implements them.

    References
    ----------
    .. [1] J. Herman and W. Usher, "SALib: An open-source Python library for sensitivity
       analysis", JOSS 2(9), 2017, https://doi.org/10.21105/joss.00097
    .. [2] A. Saltelli et al., "Variance based sensitivity analysis of model output. Design and
       estimator for the total sensitivity index", Comput. Phys. Commun. 181, 2010,
       https://doi.org/10.1016/j.cpc.2009.09.018
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if not dists:
        raise ScenarioError("distributions: Sobol indices need at least one uncertain input")
    k = len(dists)
    limit = min(MAX_SOBOL_BASE, MAX_SAMPLES // (k + 2))
    _check_count(base_samples, "samples", limit)
    _check_power_of_two(base_samples)
    names = list(dists)
    problem = {"num_vars": k, "names": names, "bounds": [[0.0, 1.0]] * k}
    u = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed)
    ranges = _ranges(dists, ranges)
    # a scrambled point can land on 0 exactly; an open-ended normal's quantile there is -inf
    u = np.clip(u, 1e-12, 1 - 1e-12)
    x = {key: quantile(dists[key], u[:, j], ranges[key]) for j, key in enumerate(names)}
    n = u.shape[0]

    def columns(part: slice) -> Mapping[str, NDArray[np.float64]]:
        return {key: v[part] for key, v in x.items()}

    kpis, feasible, reasons = _run(
        model, columns, n, chunk_size, progress, keep=lambda key: key == kpi
    )
    if kpi == FEASIBLE:
        y = feasible.astype(float)
    elif kpi not in kpis:
        _kpi_values(model({}), kpi)  # names the allowed KPIs
    else:
        y = kpis[kpi]
    _refuse_a_kpi_without_value(kpi, y, feasible)
    bad = ~np.isfinite(y)
    if bad.any():
        why = ", ".join(f"{r}: {c:,}" for r, c in reasons.items()) or "no value"
        raise InfeasibleError(
            f"{kpi}: {bad.sum():,} of {n:,} Sobol samples ({bad.mean():.1%}) have no value ({why}); "
            "Sobol indices need the KPI everywhere: narrow the distributions, use --kpi "
            "feasible for the inputs that cause the failures, or --method tornado"
        )
    variance = float(y.var())
    if variance == 0:
        rows = [SobolRow(key, 0.0, 0.0, 0.0, 0.0) for key in names]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sobol_analyze.analyze(
                problem,
                y,
                calc_second_order=False,
                num_resamples=resamples,
                conf_level=conf_level,
                seed=seed,
            )
        rows = [
            SobolRow(
                key,
                float(res["S1"][j]),
                float(res["S1_conf"][j]),
                float(res["ST"][j]),
                float(res["ST_conf"][j]),
            )
            for j, key in enumerate(names)
        ]
    rows.sort(key=lambda r: -r.st)
    return Sobol(
        kpi=kpi,
        base_samples=base_samples,
        evaluations=n,
        conf_level=conf_level,
        mean=float(y.mean()),
        variance=variance,
        feasible_share=float(feasible.mean()),
        rows=rows,
        reasons=reasons,
    )


# ------------------------------------------------------------------------------------------
# The scenario as a model; default distributions
# ------------------------------------------------------------------------------------------


def scenario_model(
    scenario: Scenario,
    catalog: Any = None,
    *,
    reoptimise: bool = False,
    keys: tuple[str, ...] | None = None,
) -> Model:
    """The vectorised pipeline (:func:`tokenfab.pipeline.evaluate`) of one Scenario as a model;
    ``keys`` limits the KPIs computed (less memory). Without samples it evaluates the scenario
    as written (one sample)."""
    from tokenfab import pipeline

    def run(samples: Mapping[str, NDArray[np.float64]]) -> Evaluation:
        return pipeline.evaluate(  # type: ignore[no-any-return]
            scenario, dict(samples) or None, catalog=catalog, reoptimise=reoptimise, keys=keys
        )

    return run


def _spec_range(key: str, spec: Any) -> InputRange:
    """A pipeline field's range as an :class:`InputRange` (infinite ends: unbounded)."""
    low = spec.low if math.isfinite(spec.low) else None
    high = spec.high if math.isfinite(spec.high) else None
    return InputRange(low, high, spec.low_open, spec.high_open, integer=is_whole_number(key))


def input_ranges(
    scenario: Scenario,
    dists: Mapping[str, Distribution],
    catalog: Any = None,
    where: Callable[[str], str] | None = None,
) -> dict[str, InputRange]:
    """The range of each input the scenario's pipeline can vary; refuses the others.

    Parameters
    ----------
    where : callable, optional
        ``where(key)`` gives the ``file:line`` that starts a message
        (:meth:`~tokenfab.scenario.ScenarioFile.where`).

    Raises
    ------
    ScenarioError
        An input the pipeline cannot vary for this scenario (the nearest ones named), or a
        distribution whose samples could leave the input's range
        (:func:`~tokenfab.scenario.check_support`).
    """
    from tokenfab import pipeline
    from tokenfab.catalog import nearest

    specs = pipeline.fields(scenario, catalog=catalog)
    found: dict[str, InputRange] = {}
    for key, d in dists.items():
        prefix = f"{where(key)}: " if where else ""
        spec = specs.get(key)
        if spec is None and key.split(".")[0] == "models":
            reason = pipeline.refusal(key, scenario, catalog)
            raise ScenarioError(f"{prefix}distributions.{reason}")
        if spec is None:
            hint = nearest(key, list(specs))
            raise ScenarioError(
                f"{prefix}distributions.{key}: not an input of this scenario"
                + (f"; did you mean: {', '.join(hint)}?" if hint else "")
                + " (tokenfab.pipeline.fields lists them)"
            )
        rng = _spec_range(key, spec)
        try:
            check_support(key, d, rng)
        except ScenarioError as exc:
            raise ScenarioError(f"{prefix}{exc}") from None
        found[key] = rng
    return found


@dataclass(frozen=True)
class Inputs:
    """The uncertain inputs of a scenario, checked: distributions, ranges, and whether they
    are the defaults (:func:`default_distributions`)."""

    distributions: dict[str, Distribution]
    ranges: dict[str, InputRange]
    defaults: bool


def prepare_inputs(
    scenario: Scenario,
    distributions: Mapping[str, Any] | None = None,
    catalog: Any = None,
    where: Callable[[str], str] | None = None,
    *,
    path: str | None = None,
) -> Inputs:
    """The inputs to vary: ``distributions`` (each a :class:`Distribution` or a mapping such
    as a scenario file's ``{dist: uniform, low: 0.5, high: 0.9}``), else the defaults; each
    checked against the inputs the scenario's pipeline can vary.

    This is the whole input side of ``montecarlo`` and ``sensitivity`` for a scenario given
    as data (the HTTP API) rather than as a file.

    Raises
    ------
    ScenarioError
        A bad distribution, an input the scenario cannot vary, a support outside its range, or
        no distribution at all (none given, and the catalogs publish no range for the
        scenario's inputs).
    """
    from tokenfab.catalog import default_catalog

    cat = catalog or default_catalog()
    given: dict[str, Distribution] = {}
    for key, spec in (distributions or {}).items():
        if isinstance(spec, Distribution):
            given[key] = spec
            continue
        try:
            given[key] = parse_distribution(key, spec)
        except ScenarioError as exc:
            raise ScenarioError(f"{where(key)}: {exc}" if where else str(exc)) from None
    defaults = not given
    dists = given or default_distributions(scenario, cat)
    if not dists:
        raise ScenarioError(
            f"{path + ': ' if path else ''}distributions: none given, and the catalogs publish "
            "no range for the inputs this scenario uses; add a distributions: block "
            "(docs/uncertainty.md)"
        )
    ranges = input_ranges(scenario, dists, cat, None if defaults else where)
    return Inputs(dists, ranges, defaults)


MODEL_ERROR_METRICS = {"decode_time_ratio": "tpot_s", "prefill_time_ratio": "ttft_s"}
"""The held-out band each of the pipeline's ``model_error.<ratio>`` inputs is sampled from:
decode time from measured / predicted TPOT, prefill time from TTFT (TTFT under closed-loop
clients, ``ttft_s_concurrent``, for a scenario that gives ``concurrency``, as its estimate's
band)."""

Z75 = 0.6744897501960817
"""The standard normal's 75th percentile: a lognormal of median 1 whose median |ln x| is
``ln(1 + e)`` has sigma ``ln(1 + e) / Z75``."""


def _catalog_row(cat: Any, key: str) -> tuple[Any, str] | None:
    """The catalog row and column behind a pipeline input (``accelerators.ID.price_usd``;
    ``cost.useful_life_years`` is the ``value`` of cost assumption ``useful-life-years``)."""
    from tokenfab.catalog import CatalogError
    from tokenfab.cost import _ASSUMPTIONS

    parts = key.split(".")
    if parts[0] == "cost" and len(parts) == 2 and parts[1] in _ASSUMPTIONS:
        rid = _ASSUMPTIONS[parts[1]][0]
        rows = {r.replace("-", "_"): rec for r, rec in cat.table("cost-assumptions").items()}
        row = rows.get(rid)
        return (row, "value") if row is not None else None
    if len(parts) < 3:
        return None
    try:
        row = cat.table(parts[0]).get(".".join(parts[1:-1]))
    except CatalogError:  # a pipeline key that is not a catalog table
        return None
    return (row, parts[-1]) if row is not None else None


def _error_band(scenario: Scenario, cat: Any, specs: Mapping[str, Any]) -> dict[str, Distribution]:
    """The performance model's held-out error as distributions of measured / predicted time.

    Each of the pipeline's ``model_error.<ratio>`` inputs (:data:`MODEL_ERROR_METRICS`;
    :func:`tokenfab.pipeline._with_model_error` multiplies the predicted decode and prefill
    times by them) is a split lognormal through the 5th percentile, median and 95th
    percentile of measured / predicted over runs the fit never saw (data/error_bands.csv; the
    split the estimate's own band takes, :func:`tokenfab.perf.calibration.error_band`: by
    configuration for a calibrated family and model, leave one model family out for a model
    its row was not fitted to, leave one accelerator family out for an uncalibrated family).
    A row without a recorded median takes 1 (the model is unbiased on held-out runs: median
    measured / predicted 0.986 for TPOT, 1.024 for TTFT by configuration). Without a band row,
    the efficiency group's median error e by configuration (data/efficiency.csv
    cv_median_abs_error) gives a lognormal of median 1 whose median ``|ln r|`` is
    ``ln(1 + e)``; without that either, the input is left at 1 (not sampled).

    The efficiencies are not sampled: the fitted factors are effective ones that absorb the
    model's misses (docs/method.md 6.1), and the band describes predicted times, not a
    physical efficiency (the earlier form, fitted / r capped at 1, put 83 % of an H100 TPOT
    sample's mass below the base).
    """
    from tokenfab import pipeline
    from tokenfab.perf.calibration import choose_engine

    band = pipeline._base(scenario, cat).setup.band
    found: dict[str, Distribution] = {}
    for ratio, metric in MODEL_ERROR_METRICS.items():
        key = f"model_error.{ratio}"
        if key not in specs:
            continue
        if metric == "ttft_s" and scenario.concurrency is not None:
            metric = "ttft_s_concurrent"
        if band is not None and metric in band.low:
            lo, hi = band.low[metric], band.high[metric]
            median = band.median.get(metric, 1.0)
            recorded = "" if metric in band.median else " (median not recorded: 1)"
            where = band.sources.get(metric, "built-in")
            table = "data/error_bands.csv" if where == "built-in" else f"{where}/error_bands.csv"
            made = "bench/bench_accuracy.py" if where == "built-in" else "tokenfab calibrate"
            note = band.note([metric])  # a user calibration without its own band: said
            found[key] = Distribution(
                dist="split-lognormal",
                median=median,
                p5=lo,
                p95=hi,
                source=f"performance model: held-out runs' measured / predicted {metric}, "
                f"P5 {lo:g}, median {median:g}{recorded}, P95 {hi:g} "
                f"({table} {band.ids.get(metric, band.split)}, {made})"
                + (f"; {note}" if note else ""),
            )
            continue
        acc = cat.accelerator(scenario.accelerator)
        choice = choose_engine(cat, acc, scenario.software)
        if choice.efficiency_id is None:
            continue
        row = cat.table("efficiency")[choice.efficiency_id]
        if not row.cv_median_abs_error:
            continue
        e = float(row.cv_median_abs_error)
        found[key] = Distribution(
            dist="lognormal",
            median=1.0,
            sigma=math.log1p(e) / Z75,
            source=f"performance model: held-out median error {e:.1%} of efficiency group "
            f"{row.id} (data/efficiency.csv cv_median_abs_error; no {metric} band row)",
        )
    return found


def default_distributions(scenario: Scenario, catalog: Any = None) -> dict[str, Distribution]:
    """Distributions from sourced ranges, for a scenario file without a ``distributions:``
    block.

    * Catalog figures the scenario uses that a source publishes as a range
      (:func:`tokenfab.catalog.published_range`: ``X_low`` and ``X_high`` beside ``X``, e.g. an
      accelerator's street price, a cost assumption's ``value``): a low/base/high estimate
      with the row's source.
    * The performance model's held-out error (:func:`_error_band`): the pipeline's
      ``model_error.decode_time_ratio`` and ``model_error.prefill_time_ratio``, each a split
      lognormal through the P5, median and P95 of measured / predicted TPOT and TTFT of runs
      the fit never saw (data/error_bands.csv).

    Only inputs :func:`tokenfab.pipeline.fields` offers for this scenario are returned.
    """
    from tokenfab import pipeline
    from tokenfab.catalog import default_catalog, published_range, range_fields

    cat = catalog or default_catalog()
    specs = pipeline.fields(scenario, catalog=cat)
    found: dict[str, Distribution] = {}
    for key, spec in specs.items():
        found_row = _catalog_row(cat, key) if spec.base is not None else None
        if found_row is None:
            continue
        row, column = found_row
        if column not in range_fields(type(row)):
            continue
        owned_only = key.startswith("cost.") and "software" not in key
        owned_only |= key.startswith("accelerators.") and column == "price_usd"
        if owned_only and scenario.ownership != "buy":
            continue  # a rental's cost does not depend on purchase prices or capital terms
        band = published_range(row, column)
        if band is None or not band[0] <= spec.base <= band[2] or band[0] == band[2]:
            continue
        source = getattr(row, f"{column.split('_')[0]}_source", None) or row.source
        found[key] = Distribution(
            dist="low-base-high",
            low=float(band[0]),
            base=float(spec.base),
            high=float(band[2]),
            source=f"{row.id}: {source}",
        )
    found.update(_error_band(scenario, cat, specs))
    return found


class ProgressBar:
    """A rich progress bar on stderr that appears only once a run has taken a second."""

    def __init__(self, what: str, after_s: float = 1.0) -> None:
        self.what = what
        self.after_s = after_s
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if time.perf_counter() - self.start < self.after_s or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TimeRemainingColumn

            console = Console(stderr=True, markup=False, emoji=False)
            if not console.is_terminal:  # a log or a pipe gets no bar
                self.start = math.inf
                return

            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                "{task.completed:,}/{task.total:,}",
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------
# The commands' core: a request in, an answer out (the CLI and the HTTP API call these)
# ------------------------------------------------------------------------------------------


def analyse_montecarlo(
    req: Any,
    catalog: Any = None,
    *,
    where: Callable[[str], str] | None = None,
    progress: Progress | None = None,
) -> MonteCarlo:
    """``montecarlo``: a :class:`tokenfab.schema.MonteCarloRequest` (a Scenario, its
    distributions, samples, seed) -> :class:`MonteCarlo` (``.as_dict()`` is the JSON).

    ``where(key)`` names the file line of a distribution read from a scenario file.
    """
    from tokenfab.catalog import default_catalog

    cat = catalog or default_catalog()
    scenario = req.scenario()
    inputs = prepare_inputs(scenario, req.distributions, cat, where)
    model = scenario_model(scenario, cat, reoptimise=req.reoptimise)
    mc = monte_carlo(
        model, inputs.distributions, req.samples, req.seed, ranges=inputs.ranges, progress=progress
    )
    return MonteCarlo(
        mc.samples, mc.seed, mc.feasible_share, mc.reasons, mc.kpis, mc.inputs, inputs.defaults
    )


@dataclass(frozen=True)
class Sensitivity:
    """A tornado or Sobol analysis of one KPI, with the inputs it varied."""

    method: str
    analysis: Tornado | Sobol
    inputs: Inputs
    base: float | None

    def as_dict(self) -> dict[str, Any]:
        """``sensitivity --json`` (:class:`tokenfab.schema.SensitivityResult`)."""
        dists = self.inputs.distributions
        if isinstance(self.analysis, Tornado):
            return self.analysis.as_dict(dists)
        return self.analysis.as_dict(dists, self.base)


def _check_power_of_two(base_samples: int) -> None:
    """Refuse a Sobol' base sample count that is not a power of two, or is 1 (ScenarioError).

    One base row is refused: the confidence intervals bootstrap the base rows, and every
    resample of one row is that row, so the interval reads 0 whatever the estimate (N = 1 gave
    first-order indices of 3.28 and -2.24, each "± 0.000"; N = 2 gives 2.0 ± 3.3).
    """
    if base_samples == 1:
        raise ScenarioError(
            "samples: 1 base sample gives Sobol intervals of 0 whatever the indices (the "
            "bootstrap resamples the base rows); allowed: a power of two from 2"
        )
    if base_samples >= 1 and base_samples & (base_samples - 1):
        raise ScenarioError(
            f"samples: {base_samples} is not a power of two; Sobol' sequences need one "
            f"(e.g. {1 << (base_samples.bit_length() - 1)} or {1 << base_samples.bit_length()})"
        )


def _check_power_for(kpi: str, scenario: Any, catalog: Any) -> None:
    """Refuse an energy or carbon KPI of an accelerator whose power is not public (every
    sample would be null): say so once, as ``estimate`` does."""
    from tokenfab.planning import ENERGY_FIELDS, power_not_public

    if kpi not in (*ENERGY_FIELDS, "total_co2e_g_per_mtok"):
        return
    for name in ("accelerator", "prefill_accelerator"):
        acc_id = getattr(scenario, name, None)
        if acc_id is not None and catalog.accelerator(acc_id).tdp_w is None:
            acc = catalog.accelerator(acc_id)
            raise ScenarioError(f"kpi: {kpi} is not available: {power_not_public(acc, name)}")


def analyse_sensitivity(
    req: Any,
    catalog: Any = None,
    *,
    where: Callable[[str], str] | None = None,
    progress: Progress | None = None,
) -> Sensitivity:
    """``sensitivity``: a :class:`tokenfab.schema.SensitivityRequest` -> :class:`Sensitivity`.

    Raises
    ------
    ScenarioError
        A KPI that is not a numeric key of ``estimate --json`` (nor :data:`FEASIBLE`).
    """
    from tokenfab import pipeline
    from tokenfab.catalog import default_catalog, nearest

    known = (*pipeline.kpi_keys(), FEASIBLE)
    if req.kpi not in known:
        # the line says what is allowed even when no key is near the one given ('foo')
        hint = nearest(req.kpi, known)
        raise ScenarioError(
            f"kpi: {req.kpi!r} is not a numeric key of estimate --json"
            + (f"; did you mean: {', '.join(hint)}?" if hint else "")
            + f" (allowed: {FEASIBLE} or one of the {len(known) - 1} numeric keys of estimate "
            "--json, e.g. cost_usd_per_mtok_blended, monthly_cost_usd, ttft_s, tpot_s, power_w)"
        )
    if req.method == "sobol":  # before the model is built: a bad count is refused at once
        _check_power_of_two(req.samples)
    cat = catalog or default_catalog()
    scenario = req.scenario()
    _check_power_for(req.kpi, scenario, cat)
    inputs = prepare_inputs(scenario, req.distributions, cat, where)
    keys = () if req.kpi == FEASIBLE else (req.kpi,)
    model = scenario_model(scenario, cat, reoptimise=req.reoptimise, keys=keys)
    dists, ranges = inputs.distributions, inputs.ranges
    if req.method == "tornado":
        t = tornado(model, dists, req.kpi, ranges=ranges)
        return Sensitivity("tornado", t, inputs, t.base if t.base_feasible else None)
    s = sobol(model, dists, req.kpi, req.samples, req.seed, ranges=ranges, progress=progress)
    return Sensitivity("sobol", s, inputs, base_value(model, req.kpi))
