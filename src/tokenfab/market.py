"""The inference market in tokens and dollars: volume × price by segment, year by year.

Market value is token volume times the blended price it sells at. Each segment (chat, API
pipelines, agents, reasoning) starts from a base-year share of spend and a blended price read
from the API catalog at its workload's token mix; its price then falls along a fitted catalog
price chain, and its volume grows with an adoption rate and responds to price with an
elasticity (the Jevons question: above 1, falling prices raise total spend; below 1 they
lower it). Three kinds of named scenario live in ``data/market.yaml``:

``market-growth``
    a dollar forecast (the analyst consensus); the token volume it implies is derived.
``stated-totals``
    a table of dollar totals and price indices (seed 000's revised model), reproduced as
    stated, with the volume it implies and its own volume column compared.
``volume-price``
    volume growth and elasticity given; spend follows.

Energy: the projected volume over tokens per joule from :func:`tokenfab.planning.evaluate`
for a reference deployment on each accelerator gives gigawatts of inference power by year.

``tokens_per_year`` in this module counts input *and* output tokens, as providers' token
counts do; ``output_tokens_per_year`` is the output part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.cost import _check_range, _out
from tokenfab.errors import CatalogError, ScenarioError, TokenfabError

SECONDS_PER_YEAR = 8760.0 * 3600.0
TOKENS_PER_MTOK = 1e6
ELASTICITY_RANGE = (0.0, 3.0)
PERIODS_PER_YEAR = {"minute": 525_600.0, "week": 365.0 / 7.0, "month": 12.0}
SEGMENTS = ("chat", "api", "agents", "reasoning")

__all__ = [
    "ELASTICITY_RANGE",
    "MarketPath",
    "anchored_index",
    "chain_decline_per_year",
    "implied_elasticity",
    "implied_growth_per_year",
    "load_market_data",
    "market_path",
    "project",
]


# -- the core: pure functions on arrays ------------------------------------------------------


@dataclass(frozen=True)
class MarketPath:
    """Volume, price and spend of one or many segments over years (all broadcast together)."""

    volume_mtok: NDArray[np.float64]
    usd_per_mtok: NDArray[np.float64]
    market_usd: NDArray[np.float64]


def market_path(
    years_since_base: ArrayLike,
    base_market_usd: ArrayLike,
    base_usd_per_mtok: ArrayLike,
    volume_growth_per_year: ArrayLike,
    price_decline_per_year: ArrayLike,
    elasticity: ArrayLike,
) -> MarketPath:
    """Token volume, price and spend of a segment ``t`` years after the base year.

    Parameters
    ----------
    years_since_base : array_like
        Years after the base year [year], ≥ 0.
    base_market_usd : array_like
        Spend in the base year [USD], ≥ 0.
    base_usd_per_mtok : array_like
        Blended price in the base year [USD/Mtok], > 0.
    volume_growth_per_year : array_like
        Adoption growth of volume at constant price [1/year], > -1 (0.4 = +40 % a year).
    price_decline_per_year : array_like
        Yearly fall of the price [1/year], in [0, 1) (0.6 = prices fall 60 % a year).
    elasticity : array_like
        Price elasticity of volume [-], in [0, 3]: volume scales with price^-elasticity.

    Returns
    -------
    MarketPath
        ``volume_mtok`` [Mtok/year], ``usd_per_mtok`` and ``market_usd`` [USD/year].

    Raises
    ------
    ScenarioError
        Any input outside its range, naming it.

    Notes
    -----
    With price index :math:`\\pi(t) = (1-d)^t`, adoption growth :math:`g` and elasticity
    :math:`\\varepsilon` (constant-elasticity demand, [1]_):

    .. math::
        P(t) = P_0 \\pi(t), \\qquad
        V(t) = \\frac{M_0}{P_0} (1+g)^t \\pi(t)^{-\\varepsilon}, \\qquad
        M(t) = V(t) P(t) = M_0 (1+g)^t \\pi(t)^{1-\\varepsilon}

    So with no adoption growth spend is constant exactly when :math:`\\varepsilon = 1`, falls
    with the price when :math:`\\varepsilon < 1` and rises as prices fall when
    :math:`\\varepsilon > 1` — Jevons' paradox [2]_.

    References
    ----------
    .. [1] Varian, H. R., *Intermediate Microeconomics*, 8th ed., 2010, ch. 15 (demand with
       constant elasticity; revenue and elasticity).
    .. [2] Jevons, W. S., *The Coal Question*, 1865, ch. VII.

    Examples
    --------
    $100 at $2/Mtok, no adoption growth, prices halving each year, elasticity 1: two years
    later the price is $0.50, volume 4 x 50 = 200 Mtok, spend still $100.

    >>> p = market_path(2, 100.0, 2.0, 0.0, 0.5, 1.0)
    >>> float(p.usd_per_mtok), float(p.volume_mtok), float(p.market_usd)
    (0.5, 200.0, 100.0)
    """
    t = _check_range("years_since_base", years_since_base, 0.0)
    m0 = _check_range("market_usd", base_market_usd, 0.0)
    p0 = _check_range("usd_per_mtok", base_usd_per_mtok, 0.0, low_open=True)
    g = _check_range("volume_growth_per_year", volume_growth_per_year, -1.0, low_open=True)
    d = _check_range("price_decline_per_year", price_decline_per_year, 0.0, 1.0, high_open=True)
    eps = _check_range("elasticity", elasticity, *ELASTICITY_RANGE)
    index = (1.0 - d) ** t
    price = p0 * index
    volume = m0 / p0 * (1.0 + g) ** t * index ** (-eps)
    return MarketPath(_out(volume), _out(price), _out(volume * price))


def implied_growth_per_year(
    market_growth_per_year: ArrayLike, price_decline_per_year: ArrayLike, elasticity: ArrayLike
) -> NDArray[np.float64]:
    """Adoption growth of volume that makes spend grow at a stated rate [1/year].

    Notes
    -----
    From :math:`M(t) = M_0 (1+g)^t (1-d)^{t(1-\\varepsilon)}` (:func:`market_path`), spend
    grows by :math:`1+G` a year when :math:`1+g = (1+G) / (1-d)^{1-\\varepsilon}`.

    Examples
    --------
    Spend +19.2 % a year while prices fall 60 % a year, elasticity 0: volume must grow
    1.192 / 0.4 = 2.98 x a year.

    >>> round(float(implied_growth_per_year(0.192, 0.6, 0.0)), 3)
    1.98
    """
    big_g = _check_range("market_growth_per_year", market_growth_per_year, -1.0, low_open=True)
    d = _check_range("price_decline_per_year", price_decline_per_year, 0.0, 1.0, high_open=True)
    eps = _check_range("elasticity", elasticity, *ELASTICITY_RANGE)
    return _out((1.0 + big_g) / (1.0 - d) ** (1.0 - eps) - 1.0)


def implied_elasticity(price_ratio: ArrayLike, volume_ratio: ArrayLike) -> NDArray[np.float64]:
    """Price elasticity of volume that a price change and a volume change imply, with no
    adoption growth beside them (the constant-elasticity reading of :func:`market_path`).

    Notes
    -----
    Volume :math:`V \\propto P^{-\\varepsilon}` gives
    :math:`\\varepsilon = -\\ln(V_1/V_0) / \\ln(P_1/P_0)`; spend changes by
    :math:`(P_1/P_0)^{1-\\varepsilon}`. Any growth at constant price is read as elasticity,
    so this is an upper bound on the elasticity when demand also grew for other reasons.

    Examples
    --------
    Seed 003: API prices fell 80 % (x 0.2) while API usage grew 300 % (x 4), 2023-2025:
    ln 4 / ln 5 = 0.861, so spend moved by 0.2 x 4 = 0.8 (fell 20 %).

    >>> round(float(implied_elasticity(0.2, 4.0)), 3)
    0.861
    """
    p = _check_range("price_ratio", price_ratio, 0.0, low_open=True)
    v = _check_range("volume_ratio", volume_ratio, 0.0, low_open=True)
    if np.any(p == 1.0):
        raise ScenarioError("price_ratio: 1 (no price change) implies no elasticity; allowed: != 1")
    return _out(-np.log(v) / np.log(p))


def anchored_index(years: ArrayLike, anchor_years: ArrayLike, anchor_values: ArrayLike):
    """Values at ``years`` interpolated log-linearly (constant growth) between anchors.

    Examples
    --------
    Anchors 100 in 2025 and 400 in 2027: 2026 lies halfway in log space, so 200.

    >>> float(anchored_index(2026, [2025, 2027], [100.0, 400.0]))
    200.0
    """
    y = np.asarray(years, float)
    ay = np.asarray(anchor_years, float)
    av = _check_range("anchor value", anchor_values, 0.0, low_open=True)
    if np.any(y < ay.min()) or np.any(y > ay.max()):
        raise ScenarioError(
            f"end_year: years {y.min():g}-{y.max():g} fall outside the stated years "
            f"{ay.min():g}-{ay.max():g}; allowed: years the scenario states"
        )
    return _out(np.exp(np.interp(y, ay, np.log(av))))


def chain_decline_per_year(dates_year: ArrayLike, usd_per_mtok: ArrayLike) -> tuple[float, float]:
    """Yearly price decline fitted to a price chain, and the fit's R².

    Parameters
    ----------
    dates_year : array_like
        Dates as decimal years [year], at least two distinct.
    usd_per_mtok : array_like
        Prices at those dates [USD/Mtok], > 0.

    Returns
    -------
    (float, float)
        Decline :math:`d = 1 - e^{b}` [1/year] of the least-squares line
        :math:`\\ln P = a + b\\,t`, and its coefficient of determination.

    Examples
    --------
    A price that falls 10x in exactly one year and 10x again the next: d = 0.9, R² = 1.

    >>> d, r2 = chain_decline_per_year([2023, 2024, 2025], [100.0, 10.0, 1.0])
    >>> round(d, 6), round(r2, 6)
    (0.9, 1.0)
    """
    t = np.asarray(dates_year, float)
    logp = np.log(_check_range("usd_per_mtok", usd_per_mtok, 0.0, low_open=True))
    if np.unique(t).size < 2:
        raise ScenarioError("price_chain: needs prices on at least two dates")
    b, a = np.polyfit(t, logp, 1)
    fit = a + b * t
    ss_res = float(np.sum((logp - fit) ** 2))
    ss_tot = float(np.sum((logp - logp.mean()) ** 2))
    return 1.0 - math.exp(b), (1.0 - ss_res / ss_tot) if ss_tot > 0 else 1.0


# -- the data file ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceChain(_Strict):
    description: str
    input_per_output: float = Field(gt=0)
    ids: list[str] = Field(min_length=2)
    source: str


class Segment(_Strict):
    description: str
    api_price: str
    workload: str
    price_chain: str


class Shares(_Strict):
    values: dict[str, float]
    assumed: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _sum_to_one(self) -> Shares:
        unknown = sorted(set(self.values) - set(SEGMENTS))
        if unknown:
            raise ValueError(
                f"shares: unknown segment {unknown[0]!r}; allowed: {', '.join(SEGMENTS)}"
            )
        if any(v < 0 for v in self.values.values()):
            raise ValueError("shares: a share is negative; allowed: 0-1")
        total = sum(self.values.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares: the segment shares sum to {total:g}; they must sum to 1")
        return self


class Uncertainty(_Strict):
    """Ranges sampled uniformly by the Monte Carlo (each ``[low, high]``), with why."""

    market_usd: tuple[float, float] | None = None  # multiplier on the base-year market
    growth_shift_per_year: tuple[float, float] | None = None  # added to each segment's growth
    price_decline_shift_per_year: tuple[float, float] | None = None  # added to each decline
    elasticity: tuple[float, float] | None = None
    market_usd_range: bool = False  # stated-totals: sample between the stated low and high
    assumed: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Uncertainty:
        for name in (
            "market_usd",
            "growth_shift_per_year",
            "price_decline_shift_per_year",
            "elasticity",
        ):
            r = getattr(self, name)
            if r is not None and r[0] > r[1]:
                raise ValueError(f"uncertainty.{name}: low {r[0]:g} is above high {r[1]:g}")
        e = self.elasticity
        if e is not None and (e[0] < ELASTICITY_RANGE[0] or e[1] > ELASTICITY_RANGE[1]):
            raise ValueError(f"uncertainty.elasticity: allowed within {ELASTICITY_RANGE}")
        if (self.assumed is None) == (self.source is None):
            raise ValueError("uncertainty: needs exactly one of assumed or source")
        return self


class MarketScenario(_Strict):
    description: str
    kind: Literal["market-growth", "stated-totals", "volume-price"]
    base_year: int = Field(ge=2020, le=2040)
    end_year: int = Field(ge=2020, le=2050)
    source: str
    as_of: date
    shares: Shares
    assumed: str | None = None
    market_usd: float | None = Field(None, ge=0)
    market_growth_per_year: float | None = Field(None, gt=-1)
    stated: dict[int, float] = {}
    elasticity: float = Field(0.0, ge=ELASTICITY_RANGE[0], le=ELASTICITY_RANGE[1])
    volume_growth_per_year: dict[str, float] = {}
    market_usd_by_year: dict[int, float] = {}
    market_usd_range_by_year: dict[int, tuple[float, float]] = {}
    price_index_by_year: dict[int, float] = {}
    volume_index_by_year: dict[int, float] = {}
    uncertainty: Uncertainty

    @model_validator(mode="after")
    def _complete(self) -> MarketScenario:
        if self.end_year <= self.base_year:
            raise ValueError("end_year: must be after base_year")
        need = {
            "market-growth": ("market_usd", "market_growth_per_year"),
            "stated-totals": ("market_usd_by_year", "price_index_by_year"),
            "volume-price": ("market_usd", "volume_growth_per_year"),
        }[self.kind]
        for name in need:
            if not getattr(self, name):
                raise ValueError(f"{name}: a {self.kind} scenario needs it")
        return self


class HistoricPoint(_Strict):
    series: str
    date: date
    tokens: float = Field(gt=0)
    period: Literal["minute", "week", "month"]
    source: str


class SeedPower(_Strict):
    label: str
    year: int
    gw: float = Field(ge=0)
    source: str


class MarketData(_Strict):
    price_chains: dict[str, PriceChain]
    segments: dict[str, Segment]
    scenarios: dict[str, MarketScenario]
    historic: list[HistoricPoint]
    seed_power: list[SeedPower]


@cache
def load_market_data() -> MarketData:
    """The built-in ``data/market.yaml``, validated (a bad entry names its path)."""
    text = resources.files("tokenfab").joinpath("data/market.yaml").read_text(encoding="utf-8")
    try:
        return MarketData.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        from tokenfab.scenario import describe_error, first_error

        raise CatalogError(f"market.yaml: {describe_error(first_error(exc))}") from None


# -- orchestration: a scenario to a projection --------------------------------------------------


def _decimal_year(d: date) -> float:
    return d.year + (d.timetuple().tm_yday - 1) / 365.25


def _price(cat: Catalog, price_id: str):
    prices = cat.table("api-prices")
    if price_id not in prices:
        raise CatalogError(f"market.yaml: api price {price_id!r} is not in the api-prices catalog")
    return prices[price_id]


def chain_decline(name: str, catalog: Catalog | None = None) -> tuple[float, float]:
    """Fitted yearly decline and R² of a named price chain from ``market.yaml``."""
    data = load_market_data()
    if name not in data.price_chains:
        raise ScenarioError(
            f"price_chain: unknown chain {name!r}; allowed: {', '.join(data.price_chains)}"
        )
    chain = data.price_chains[name]
    cat = catalog or default_catalog()
    rows = [_price(cat, i) for i in chain.ids]
    k = chain.input_per_output
    prices = [(k * r.input_usd_per_mtok + r.output_usd_per_mtok) / (k + 1) for r in rows]
    return chain_decline_per_year([_decimal_year(r.effective_date) for r in rows], prices)


@dataclass(frozen=True)
class SegmentBasis:
    """How a segment is priced: base price, output share of its tokens, price decline."""

    name: str
    usd_per_mtok: float
    output_share: float
    price_decline_per_year: float
    decline_r2: float
    api_price: str
    workload: str
    price_chain: str


def segment_basis(catalog: Catalog | None = None) -> dict[str, SegmentBasis]:
    """Each segment's blended base price (catalog price at its workload's mix) and decline."""
    data = load_market_data()
    cat = catalog or default_catalog()
    out = {}
    for name, seg in data.segments.items():
        p = _price(cat, seg.api_price)
        w = cat.workload(seg.workload)
        out_tokens = w.output_tokens + w.reasoning_tokens
        blended = (w.input_tokens * p.input_usd_per_mtok + out_tokens * p.output_usd_per_mtok) / (
            w.input_tokens + out_tokens
        )
        d, r2 = chain_decline(seg.price_chain, cat)
        out[name] = SegmentBasis(
            name,
            blended,
            out_tokens / (w.input_tokens + out_tokens),
            d,
            r2,
            seg.api_price,
            seg.workload,
            seg.price_chain,
        )
    return out


@dataclass
class Projection:
    """A scenario projected year by year, with its segments, energy and Monte Carlo fan."""

    name: str
    scenario: MarketScenario
    years: NDArray[np.int64]
    segments: dict[str, MarketPath]
    basis: dict[str, SegmentBasis]
    growth: dict[str, float]
    elasticity: float
    notes: list[str] = field(default_factory=list)
    consistency: dict[str, Any] = field(default_factory=dict)
    fan: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    energy: dict[str, Any] = field(default_factory=dict)

    @property
    def market_usd(self) -> NDArray[np.float64]:
        return sum(p.market_usd for p in self.segments.values())

    @property
    def tokens_per_year(self) -> NDArray[np.float64]:
        return sum(p.volume_mtok for p in self.segments.values()) * TOKENS_PER_MTOK

    @property
    def output_tokens_per_year(self) -> NDArray[np.float64]:
        return (
            sum(p.volume_mtok * self.basis[s].output_share for s, p in self.segments.items())
            * TOKENS_PER_MTOK
        )

    @property
    def usd_per_mtok(self) -> NDArray[np.float64]:
        return self.market_usd / (self.tokens_per_year / TOKENS_PER_MTOK)

    def as_dict(self) -> dict[str, Any]:
        """The ``market --json`` record."""
        sc = self.scenario
        years = []
        for i, y in enumerate(self.years):
            row = {
                "year": int(y),
                "tokens_per_year": float(self.tokens_per_year[i]),
                "output_tokens_per_year": float(self.output_tokens_per_year[i]),
                "usd_per_mtok": float(self.usd_per_mtok[i]),
                "market_usd": float(self.market_usd[i]),
            }
            if self.energy:
                row["inference_gw"] = {
                    a: float(v[i]) for a, v in self.energy["gw_by_accelerator"].items()
                }
            if self.fan:
                row["market_usd_percentiles"] = {k: float(v[i]) for k, v in self.fan.items()}
            years.append(row)
        segments = [
            {
                "name": s,
                "usd_per_mtok_base": self.basis[s].usd_per_mtok,
                "price_decline_per_year": self.basis[s].price_decline_per_year,
                "price_chain": self.basis[s].price_chain,
                "volume_growth_per_year": self.growth[s],
                "years": [
                    {
                        "year": int(y),
                        "tokens_per_year": float(p.volume_mtok[i] * TOKENS_PER_MTOK),
                        "usd_per_mtok": float(p.usd_per_mtok[i]),
                        "market_usd": float(p.market_usd[i]),
                    }
                    for i, y in enumerate(self.years)
                ],
            }
            for s, p in self.segments.items()
        ]
        data = load_market_data()
        return {
            "scenario": self.name,
            "kind": sc.kind,
            "description": sc.description,
            "source": sc.source,
            "assumed": [x for x in (sc.assumed, sc.shares.assumed) if x]
            + (
                [
                    f"elasticity {self.elasticity:g} given, in place of the scenario's {sc.elasticity:g}"
                ]
                if self.elasticity != sc.elasticity
                else []
            ),
            "elasticity": self.elasticity,
            "tokens_basis": "tokens_per_year counts input and output tokens",
            "years": years,
            "segments": segments,
            "stated": {str(k): v for k, v in sc.stated.items()},
            "consistency": self.consistency,
            "notes": self.notes,
            "energy": {k: v for k, v in self.energy.items() if k != "gw_by_accelerator"},
            "seed_power": [p.model_dump() for p in data.seed_power],
            "historic": historic_series(),
        }


def historic_series() -> list[dict[str, Any]]:
    """Provider token counts, annualised [tokens/year], with their sources."""
    return [
        {
            "series": p.series,
            "date": p.date.isoformat(),
            "tokens": p.tokens,
            "period": p.period,
            "tokens_per_year_annualised": p.tokens * PERIODS_PER_YEAR[p.period],
            "source": p.source,
        }
        for p in load_market_data().historic
    ]


def _scenario(name: str) -> MarketScenario:
    data = load_market_data()
    if name not in data.scenarios:
        raise ScenarioError(f"scenario: unknown {name!r}; allowed: {', '.join(data.scenarios)}")
    return data.scenarios[name]


MAX_SAMPLES = 1_000_000
"""A million Monte Carlo paths put each percentile within ~0.1 % of its limit; more only costs
memory (8 bytes x samples x years per array)."""


def project(
    name: str = "analyst-consensus",
    *,
    elasticity: float | None = None,
    price_decline_per_year: float | None = None,
    samples: int = 0,
    seed: int = 0,
    catalog: Catalog | None = None,
) -> Projection:
    """Project a named scenario year by year (optionally with a Monte Carlo fan).

    ``elasticity`` and ``price_decline_per_year`` override the scenario's (the decline, for
    every segment); a ``stated-totals`` scenario states its prices and totals, so neither
    applies to it.
    """
    sc = _scenario(name)
    cat = catalog or default_catalog()
    if elasticity is not None:
        _check_range("elasticity", elasticity, *ELASTICITY_RANGE)
    if price_decline_per_year is not None:
        _check_range("price_decline_per_year", price_decline_per_year, 0.0, 1.0, high_open=True)
    if sc.kind == "stated-totals" and (
        elasticity is not None or price_decline_per_year is not None
    ):
        raise ScenarioError(
            f"elasticity: scenario {name} states its totals and prices; "
            "elasticity and price decline do not apply to it"
        )
    if seed < 0:
        raise ScenarioError(f"seed: {seed} is negative; allowed: 0 or more")
    if not 0 <= samples <= MAX_SAMPLES:
        raise ScenarioError(f"samples: {samples} is not allowed; allowed: 0 to {MAX_SAMPLES:,}")
    basis = segment_basis(cat)
    if price_decline_per_year is not None:
        basis = {
            s: SegmentBasis(**{**b.__dict__, "price_decline_per_year": price_decline_per_year})
            for s, b in basis.items()
        }
    years = np.arange(sc.base_year, sc.end_year + 1)
    t = (years - sc.base_year).astype(float)
    eps = sc.elasticity if elasticity is None else float(elasticity)
    shares = sc.shares.values
    segs: dict[str, MarketPath] = {}
    growth: dict[str, float] = {}
    proj_notes: list[str] = []
    consistency: dict[str, Any] = {}
    if sc.kind == "stated-totals":
        segs, growth, consistency = _stated_totals(sc, years, basis)
        eps = 0.0
    else:
        for s, share in shares.items():
            b = basis[s]
            if sc.kind == "market-growth":
                g = float(
                    implied_growth_per_year(
                        sc.market_growth_per_year, b.price_decline_per_year, eps
                    )
                )
            else:
                if s not in sc.volume_growth_per_year:
                    raise ScenarioError(
                        f"volume_growth_per_year: scenario {name} lacks segment {s}"
                    )
                g = sc.volume_growth_per_year[s]
            growth[s] = g
            segs[s] = market_path(
                t, sc.market_usd * share, b.usd_per_mtok, g, b.price_decline_per_year, eps
            )
        if sc.kind == "market-growth":
            proj_notes.append(
                f"the stated {sc.market_growth_per_year:.1%} a year of spend implies token volume "
                + ", ".join(f"{s} +{g:.0%}" for s, g in growth.items())
                + " a year at the catalog's price declines"
            )
    if sc.kind == "volume-price":
        proj_notes.append(elasticity_reading(eps))
    elif sc.kind == "market-growth" and elasticity is not None:
        # the stated spend growth fixes spend, and volume = spend / price: the elasticity
        # only splits volume growth into adoption and price response (implied_growth_per_year)
        proj_notes.append(
            f"elasticity {eps:g}: no part in the central path, which follows the stated "
            f"{sc.market_growth_per_year:.1%} a year of spend; it moves only the Monte Carlo "
            "fan, where price declines are sampled"
        )
    proj = Projection(name, sc, years, segs, basis, growth, eps, proj_notes, consistency)
    for y, v in sc.stated.items():
        if y in years:
            got = float(proj.market_usd[list(years).index(y)])
            proj.notes.append(
                f"{y}: model ${got / 1e9:,.1f}B vs stated ${v / 1e9:,.1f}B ({got / v - 1:+.1%})"
            )
    if samples:
        proj.fan = _monte_carlo(sc, years, basis, eps, samples, seed)
    return proj


def elasticity_reading(elasticity: float) -> str:
    """What an elasticity of volume to price means for spend, in words.

    With volume ∝ price^-ε (other growth aside), spend = volume × price ∝ price^(1-ε): a
    falling price raises spend when ε > 1, lowers it when ε < 1 and leaves it when ε = 1.

    Examples
    --------
    >>> elasticity_reading(1.2)[:70]
    'elasticity 1.2: a 10% price cut raises volume 13% (1.13 x) and changes'

    """
    eps = float(elasticity)
    volume = 0.9**-eps - 1  # a 10 % cut: volume x 0.9^-eps
    spend = 0.9 ** (1 - eps) - 1
    if abs(eps - 1) < 1e-9:
        effect = "so total spend stays the same (elasticity 1)"
    elif eps > 1:
        effect = "so falling prices raise total spend (elasticity above 1: Jevons)"
    else:
        effect = "so falling prices lower total spend (elasticity below 1)"
    return (
        f"elasticity {eps:g}: a 10% price cut raises volume {volume:.0%} "
        f"({0.9**-eps:.3g} x) and changes spend by {spend:+.1%}, {effect}; other growth aside"
    )


def _stated_totals(sc: MarketScenario, years, basis):
    """Seed-000-style table: totals and price index as stated; volume implied; self-check."""
    ay = sorted(sc.market_usd_by_year)
    total = np.asarray(anchored_index(years, ay, [sc.market_usd_by_year[y] for y in ay]))
    py = sorted(sc.price_index_by_year)
    pidx = np.asarray(anchored_index(years, py, [sc.price_index_by_year[y] for y in py]))
    p_base = float(anchored_index(sc.base_year, py, [sc.price_index_by_year[y] for y in py]))
    rel_price = pidx / p_base
    segs, growth = {}, {}
    for s, share in sc.shares.values.items():
        b = basis[s]
        price = b.usd_per_mtok * rel_price
        market = total * share
        segs[s] = MarketPath(market / price, price, market)
        growth[s] = float(
            (total[-1] / total[0] / rel_price[-1]) ** (1 / (years[-1] - years[0])) - 1
        )
    consistency: dict[str, Any] = {}
    vy = sorted(sc.volume_index_by_year)
    if vy:
        vol = {y: sc.volume_index_by_year[y] for y in vy}
        base_y = vy[0]
        rows = []
        m_base = sc.market_usd_by_year[sc.base_year]
        for y in ay:
            if y == sc.base_year or y not in vol or y not in sc.price_index_by_year:
                continue
            # the table's own columns: revenue multiple = volume index x price index
            pv = sc.price_index_by_year
            from_base = vol[y] * pv[y] / (vol[sc.base_year] * pv[sc.base_year])
            from_2025_read = vol[y] * pv[y]  # the columns read as multiples of the base year
            implied_vol = (sc.market_usd_by_year[y] / m_base) / (pv[y] / pv[sc.base_year])
            rows.append(
                {
                    "year": y,
                    "stated_market_usd": sc.market_usd_by_year[y],
                    "stated_range_usd": list(sc.market_usd_range_by_year.get(y, ())),
                    "first_column_year": base_y,
                    "columns_market_usd_reading_first_column_base": m_base * from_base,
                    "base_year": sc.base_year,
                    "columns_market_usd_reading_base_year_base": m_base * from_2025_read,
                    "volume_multiple_stated_vs_base_year": vol[y] / vol[sc.base_year],
                    "volume_multiple_the_totals_need": implied_vol,
                }
            )
        consistency = {
            "rows": rows,
            "verdict": "not self-consistent: the table's volume and price columns multiply to "
            "totals well below its stated totals",
        }
    return segs, growth, consistency


def _monte_carlo(sc: MarketScenario, years, basis, eps: float, n: int, seed: int):
    """Percentiles 5/25/50/75/95 of total spend by year, plain uniform sampling."""
    rng = np.random.default_rng(seed)
    u = sc.uncertainty
    t = (years - sc.base_year).astype(float)[:, None]  # (years, 1) against (samples,)
    if sc.kind == "stated-totals":
        ay = sorted(sc.market_usd_range_by_year)
        lo = np.array([sc.market_usd_range_by_year[y][0] for y in ay])
        hi = np.array([sc.market_usd_range_by_year[y][1] for y in ay])
        q = rng.uniform(size=n)
        draws = lo[:, None] + (hi - lo)[:, None] * q[None, :]  # one quantile per sample
        logs = np.log(draws)
        total = np.exp(np.stack([np.interp(years, ay, logs[:, k]) for k in range(n)], axis=1))
    else:
        m_lo, m_hi = u.market_usd or (1.0, 1.0)
        g_lo, g_hi = u.growth_shift_per_year or (0.0, 0.0)
        d_lo, d_hi = u.price_decline_shift_per_year or (0.0, 0.0)
        e_lo, e_hi = u.elasticity or (eps, eps)
        m_scale = rng.uniform(m_lo, m_hi, n)
        g_shift = rng.uniform(g_lo, g_hi, n)
        d_shift = rng.uniform(d_lo, d_hi, n)
        e = rng.uniform(e_lo, e_hi, n)
        total = np.zeros((len(years), n))
        for s, share in sc.shares.values.items():
            b = basis[s]
            d = np.clip(b.price_decline_per_year + d_shift, 0.0, 0.99)  # sampled range, not input
            if sc.kind == "market-growth":
                g = implied_growth_per_year(
                    sc.market_growth_per_year, b.price_decline_per_year, eps
                )
            else:
                g = sc.volume_growth_per_year[s]
            g = np.maximum(g + g_shift, -0.99)
            total += market_path(
                t, sc.market_usd * share * m_scale, b.usd_per_mtok, g, d, e
            ).market_usd
    pct = (5, 25, 50, 75, 95)
    values = np.percentile(total, pct, axis=1)
    return {f"p{p}": values[k] for k, p in enumerate(pct)}


# -- energy ------------------------------------------------------------------------------------

ENERGY_ACCELERATORS = ("h100-sxm", "b200", "gb300", "rubin")


REPLICA_ACCELERATORS = 8
"""Accelerators of the reference replica the market's energy is read from (an 8-GPU server),
unless the model needs more to fit."""


def tokens_per_joule_total(
    accelerator: str, model: str = "llama-3.1-70b", catalog: Catalog | None = None
) -> tuple[float, dict[str, Any]]:
    """Input+output tokens per joule of facility energy for a reference deployment.

    The deployment is ``model`` in FP8 (BF16 where the chip has no FP8) on replicas of 8
    accelerators, or of the fewest that hold the model where that is more (DeepSeek R1 in FP8
    on H100s: 16, as ``factory`` sizes them), serving the catalog's ``chat`` workload at its
    latency targets, priced by
    :func:`tokenfab.planning.evaluate`; its output tokens per joule times (input+output) /
    output converts to all tokens, because the operating point serves both at that mix.
    """
    from tokenfab.perf.operating import minimum_accelerators, resolve
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = catalog or default_catalog()
    acc = cat.accelerator(accelerator)
    precision = "fp8" if acc.fp8_dense_tflops else "bf16"
    sc = Scenario.parse(
        {
            "model": model,
            "accelerator": accelerator,
            "accelerators": REPLICA_ACCELERATORS,
            "precision": precision,
            "workload": "chat",
        }
    )
    need = minimum_accelerators(resolve(sc, cat))  # None: nothing holds it; evaluate says why
    if need is not None and need > REPLICA_ACCELERATORS:
        sc = sc.with_(accelerators=need)
    est = evaluate(sc, cat)
    if est.kpis is None or est.energy_error is not None:  # no power figure: no tokens per joule
        why = est.energy_error or est.cost_error
        raise ScenarioError(f"accelerator: {accelerator}: no energy figure ({why})")
    setup = est.op.setup
    out_tpj = float(est.kpis.tokens_per_joule)
    total = out_tpj * (setup.input_tokens + setup.output_tokens) / setup.output_tokens
    return total, {
        "model": model,
        "precision": precision,
        "workload": "chat",
        "accelerators": sc.accelerators,
        "output_tokens_per_joule": out_tpj,  # the name every other command gives output tokens/J
        "total_tokens_per_joule": total,  # input + output tokens per joule: the GW divisor
        "region_pue": est.region.pue,
        "utilization": est.utilization,
    }


def inference_gw(tokens_per_year: ArrayLike, tokens_per_joule: ArrayLike) -> NDArray[np.float64]:
    """Average power to serve a yearly token volume [GW].

    Examples
    --------
    3.15e16 tokens a year at 1 token per joule: 3.15e16 J / 3.1536e7 s = 1.0e9 W = 1 GW.

    >>> round(float(inference_gw(3.1536e16, 1.0)), 6)
    1.0
    """
    v = _check_range("tokens_per_year", tokens_per_year, 0.0)
    tpj = _check_range("tokens_per_joule", tokens_per_joule, 0.0, low_open=True)
    return _out(v / tpj / SECONDS_PER_YEAR / 1e9)


def add_energy(
    proj: Projection,
    accelerators: tuple[str, ...] = ENERGY_ACCELERATORS,
    model: str = "llama-3.1-70b",
    catalog: Catalog | None = None,
) -> None:
    """Gigawatts of inference power by year if every token were served on each accelerator."""
    (catalog or default_catalog()).model(model)  # an unknown model is an error, not a skip
    gw, per_acc, skipped = {}, {}, {}
    for a in accelerators:
        try:
            tpj, info = tokens_per_joule_total(a, model, catalog)
        except TokenfabError as exc:  # e.g. the model does not fit 8 of them, or its context
            skipped[a] = str(exc)
            continue
        per_acc[a] = info
        gw[a] = inference_gw(proj.tokens_per_year, tpj)
    proj.energy = {
        "basis": (
            f"all tokens served as {model} on each accelerator (chat workload, 8 per replica "
            "or the fewest that hold the model, "
            "facility energy incl. PUE, tokenfab.planning.evaluate); real fleets mix models "
            "and generations"
        ),
        "accelerators": per_acc,
        "skipped": skipped,
        "gw_by_accelerator": gw,
    }
    # an accelerator left out is said, not just missing from the table (an --energy-model
    # whose context is shorter than the chat workload left every GW column out, silently)
    proj.notes.extend(
        f"energy_model: {model} on {REPLICA_ACCELERATORS} x {a} gives no tokens per joule, so no "
        f"GW: {why}"
        for a, why in skipped.items()
    )
    proj.notes.extend(power_checks(proj.years, gw, load_market_data().seed_power))


SEED_POWER_FACTOR = 3.0
"""How far above a seed's cited inference power tokenfab's GW may go before a note says so:
the cited figures are one analyst's projection and the GW here serve every token on one
accelerator and model, so a factor of a few is expected; beyond it the reading is that the
volume or the serving assumption is far from the projection."""


def _gw(g: float) -> str:
    """GW to 1 decimal, thousands separated; from 1e15 on in exponent form (a runaway volume's
    power is past reading as digits)."""
    return f"{g:,.1f}" if abs(g) < 1e15 else f"{g:.3g}"


def power_checks(
    years: ArrayLike, gw_by_accelerator: dict[str, ArrayLike], seeds: list[SeedPower]
) -> list[str]:
    """Notes where the implied power exceeds an inference power figure the seeds cite for the
    same year by more than :data:`SEED_POWER_FACTOR`, stating both figures.

    Only the seeds' inference figures count (a label with "inference"): the regional sums are
    all AI power, training included.

    Examples
    --------
    2030's tokens on H100s at 1,002.9 GW against the 93.3 GW SemiAnalysis projects:
    1,002.9 / 93.3 = 10.7x.

    >>> seed = SeedPower(label="inference power demand, 2030", year=2030, gw=93.3, source="s")
    >>> power_checks([2029, 2030], {"h100-sxm": [274.7, 1002.9], "b300": [50.0, 200.0]}, [seed])
    ['energy: in 2030 serving every token on one accelerator implies over 3x the 93.3 GW of inference power demand, 2030: h100-sxm 1,002.9 GW (10.7x); the projected volume, or serving it all on one accelerator and model, is far from that projection']
    """
    y = [int(v) for v in np.asarray(years).ravel()]
    notes = []
    for seed in seeds:
        if "inference" not in seed.label.lower() or seed.year not in y or seed.gw <= 0:
            continue
        i = y.index(seed.year)
        over = [
            (a, float(np.asarray(v).ravel()[i]))
            for a, v in gw_by_accelerator.items()
            if float(np.asarray(v).ravel()[i]) > SEED_POWER_FACTOR * seed.gw
        ]
        if not over:
            continue
        which = ", ".join(f"{a} {_gw(g)} GW ({g / seed.gw:.3g}x)" for a, g in over)
        notes.append(
            f"energy: in {seed.year} serving every token on one accelerator implies over "
            f"{SEED_POWER_FACTOR:g}x the {seed.gw:g} GW of {seed.label}: "
            f"{which}; the projected volume, or serving it all on one accelerator and model, "
            "is far from that projection"
        )
    return notes


def analyse(request: Any, catalog: Catalog | None = None) -> Projection:
    """The projection of a :class:`tokenfab.schema.MarketRequest`, with its energy."""
    r = request
    cat = catalog or default_catalog()
    proj = project(
        r.scenario,
        elasticity=r.elasticity,
        price_decline_per_year=r.price_decline_per_year,
        samples=r.samples,
        seed=r.seed,
        catalog=cat,
    )
    add_energy(proj, model=r.energy_model, catalog=cat)
    return proj
