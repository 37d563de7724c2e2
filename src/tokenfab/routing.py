"""Routing and cascades: cost per *successful* outcome with a cheap model in front of a big one.

A router sends a share of requests to a small model first. The small model succeeds on a
share of them; a detected failure is escalated to the big model (paying for both calls), an
undetected one is delivered as a failure. The rest go straight to the big model. The number
that matters is the cost per successful outcome, not per call (seed 004: "the industry is
moving ... towards optimizing for the cost per successful outcome").

Request prices come from the API catalog, prompt-caching discounts included
(:func:`request_cost_usd`). :func:`savings_grid` shows for which routed shares and small-model
success rates seed 003's "routing reduces inference costs by 40-70%" holds.

The routed share and the small model's success rate default to a published router study's
operating point (:class:`RouterStudy`, ``data/router_studies.csv``: RouteLLM, Hybrid LLM),
each row citing the paper's table; the user's figures override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field, model_validator

from tokenfab.catalog import ApiPrice, Fraction, Record, Text, read_records
from tokenfab.cost import TOKENS_PER_MTOK, _check_range, _out
from tokenfab.errors import ScenarioError

__all__ = [
    "DEFAULT_STUDY",
    "Cascade",
    "RouterStudy",
    "cascade",
    "request_cost_from_price",
    "request_cost_usd",
    "router_studies",
    "router_study",
    "savings_grid",
]


def request_cost_usd(
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    input_usd_per_mtok: ArrayLike,
    output_usd_per_mtok: ArrayLike,
    cached_input_usd_per_mtok: ArrayLike | None = None,
    cache_hit_rate: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Price of one API request with a share of its prompt read from the provider's cache [USD].

    Parameters
    ----------
    input_tokens, output_tokens : array_like
        Prompt and generated tokens (reasoning included) per request [token], ≥ 0.
    input_usd_per_mtok, output_usd_per_mtok : array_like
        List prices [USD/Mtok], ≥ 0.
    cached_input_usd_per_mtok : array_like, optional
        Price of a cached prompt token [USD/Mtok]; required when ``cache_hit_rate`` > 0.
    cache_hit_rate : array_like
        Share of prompt tokens served from the cache [-], in [0, 1].

    Notes
    -----
    .. math:: c = \\frac{L_\\mathrm{in}((1-h) p_\\mathrm{in} + h\\, p_\\mathrm{cached})
              + L_\\mathrm{out} p_\\mathrm{out}}{10^6}

    Cache-write surcharges (Anthropic charges 1.25x for writing a 5-minute cache entry [1]_)
    are not modelled; OpenAI's automatic caching has none [2]_.

    References
    ----------
    .. [1] Anthropic, "Prompt caching", https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
    .. [2] OpenAI, "Prompt caching", https://platform.openai.com/docs/guides/prompt-caching

    Examples
    --------
    GPT-4o ($2.50 in, $1.25 cached, $10 out): 10,000 prompt tokens, half cached, 500 out:
    (5,000 x 2.5 + 5,000 x 1.25 + 500 x 10) / 1e6 = $0.02375.

    >>> round(float(request_cost_usd(10_000, 500, 2.5, 10.0, 1.25, 0.5)), 5)
    0.02375
    """
    n_in = _check_range("input_tokens", input_tokens, 0.0)
    n_out = _check_range("output_tokens", output_tokens, 0.0)
    p_in = _check_range("input_usd_per_mtok", input_usd_per_mtok, 0.0)
    p_out = _check_range("output_usd_per_mtok", output_usd_per_mtok, 0.0)
    h = _check_range("cache_hit_rate", cache_hit_rate, 0.0, 1.0)
    if cached_input_usd_per_mtok is None:
        if np.any(h > 0):
            raise ScenarioError(
                "cache_hit_rate: this price has no cached-input rate; allowed: 0 for it"
            )
        p_cached = p_in
    else:
        p_cached = _check_range("cached_input_usd_per_mtok", cached_input_usd_per_mtok, 0.0)
    return _out((n_in * ((1 - h) * p_in + h * p_cached) + n_out * p_out) / TOKENS_PER_MTOK)


def request_cost_from_price(
    price: ApiPrice, input_tokens: float, output_tokens: float, cache_hit_rate: float = 0.0
) -> float:
    """:func:`request_cost_usd` for a catalog price row."""
    return float(
        request_cost_usd(
            input_tokens,
            output_tokens,
            price.input_usd_per_mtok,
            price.output_usd_per_mtok,
            price.cached_input_usd_per_mtok,
            cache_hit_rate,
        )
    )


@dataclass(frozen=True)
class Cascade:
    """Before (everything to the big model) and after (routed), per request."""

    cost_usd_before: NDArray[np.float64]
    success_before: NDArray[np.float64]
    cost_usd_after: NDArray[np.float64]
    success_after: NDArray[np.float64]

    @property
    def cost_per_success_usd_before(self) -> NDArray[np.float64]:
        return _per_success(
            self.cost_usd_before, self.success_before, "success_big: the big model's"
        )

    @property
    def cost_per_success_usd_after(self) -> NDArray[np.float64]:
        return _per_success(
            self.cost_usd_after,
            self.success_after,
            "success_small: with routed_share and failure_detection, the routed",
            "; raise success_small or failure_detection, or lower routed_share",
        )

    @property
    def savings(self) -> NDArray[np.float64]:
        """1 - after/before of the cost per successful outcome."""
        return 1.0 - self.cost_per_success_usd_after / self.cost_per_success_usd_before


def _per_success(
    cost_usd: NDArray[np.float64], success: NDArray[np.float64], what: str, hint: str = ""
) -> NDArray[np.float64]:
    """Cost per successful outcome [USD]; a success rate of 0, or one so small that the cost
    per success overflows a float (below about 1e-304 for a $0.1 request), raises one line
    naming the field (``what`` starts with it) instead of returning inf with a NumPy warning."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        per = np.asarray(cost_usd, float) / success
    bad = ~np.isfinite(per)
    if np.any(bad):
        rate = float(np.broadcast_to(np.asarray(success, float), per.shape)[bad].flat[0])
        raise ScenarioError(
            f"{what} success rate {rate:g} leaves the cost per successful outcome undefined "
            f"(it must be above 0 and not vanishingly small){hint}"
        )
    return _out(per)


def cascade(
    cost_usd_big: ArrayLike,
    cost_usd_small: ArrayLike,
    routed_share: ArrayLike,
    success_small: ArrayLike,
    success_big: ArrayLike = 1.0,
    failure_detection: ArrayLike = 1.0,
    cost_usd_router: ArrayLike = 0.0,
) -> Cascade:
    """Cost and success per request of a router/cascade against the big model alone.

    Parameters
    ----------
    cost_usd_big, cost_usd_small : array_like
        Cost of one call to the big and the small model [USD], ≥ 0 (big > 0).
    routed_share : array_like
        Share of requests the router sends to the small model first [-], in [0, 1].
    success_small : array_like
        Share of routed requests the small model gets right [-], in [0, 1].
    success_big : array_like
        Share of requests the big model gets right [-], in (0, 1].
    failure_detection : array_like
        Share of small-model failures that are detected and escalated [-], in [0, 1].
    cost_usd_router : array_like
        Cost of the routing decision per request [USD], ≥ 0 (a classifier call).

    Notes
    -----
    With routed share :math:`s`, small success :math:`q`, big success :math:`p`, detection
    :math:`\\delta`, costs :math:`c_b, c_s, c_r`:

    .. math::
        C_\\mathrm{after} &= c_r + (1-s) c_b + s\\,(c_s + (1-q)\\,\\delta\\, c_b) \\\\
        S_\\mathrm{after} &= (1-s) p + s\\,(q + (1-q)\\,\\delta\\, p)

    and before, :math:`C = c_b`, :math:`S = p`. With :math:`p = \\delta = 1` and
    :math:`c_r = 0` the saving per successful outcome is :math:`s\\,(q - c_s/c_b)`: routing
    saves 40-70 % only when :math:`s(q - r)` lies in [0.4, 0.7]. Cascades of this kind are
    FrugalGPT's [1]_; routers that pick one model per query, RouteLLM's [2]_.

    References
    ----------
    .. [1] Chen, L., Zaharia, M., Zou, J., "FrugalGPT: How to Use Large Language Models While
       Reducing Cost and Improving Performance", 2023, https://arxiv.org/abs/2305.05176
    .. [2] Ong, I. et al., "RouteLLM: Learning to Route LLMs with Preference Data", 2024,
       https://arxiv.org/abs/2406.18665

    Examples
    --------
    Big $0.01, small $0.001 a call, 70 % routed, the small model right 90 % of the time,
    all failures caught: after = 0.3 x 0.01 + 0.7 x (0.001 + 0.1 x 0.01) = 0.0044; success
    stays 1, so the saving is 1 - 0.0044/0.01 = 56 % (= 0.7 x (0.9 - 0.1)).

    >>> c = cascade(0.01, 0.001, 0.7, 0.9)
    >>> round(float(c.cost_usd_after), 6), round(float(c.savings), 4)
    (0.0044, 0.56)
    """
    c_b = _check_range("cost_usd_big", cost_usd_big, 0.0, low_open=True)
    c_s = _check_range("cost_usd_small", cost_usd_small, 0.0)
    s = _check_range("routed_share", routed_share, 0.0, 1.0)
    q = _check_range("success_small", success_small, 0.0, 1.0)
    p = _check_range("success_big", success_big, 0.0, 1.0, low_open=True)
    det = _check_range("failure_detection", failure_detection, 0.0, 1.0)
    c_r = _check_range("cost_usd_router", cost_usd_router, 0.0)
    escalated = s * (1.0 - q) * det
    cost_after = c_r + (1.0 - s) * c_b + s * c_s + escalated * c_b
    success_after = (1.0 - s) * p + s * q + escalated * p
    shape = np.broadcast_shapes(*(np.shape(v) for v in (c_b, c_s, s, q, p, det, c_r)))

    def full(v: ArrayLike) -> NDArray[np.float64]:
        return _out(np.broadcast_to(np.asarray(v, float), shape).copy())

    return Cascade(full(c_b), full(p), full(cost_after), full(success_after))


def savings_grid(
    cost_usd_big: float,
    cost_usd_small: float,
    routed_shares: ArrayLike = (0.3, 0.5, 0.7, 0.9),
    small_success_rates: ArrayLike = (0.5, 0.7, 0.8, 0.9, 0.95),
    **kwargs: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Savings per successful outcome on a grid of routed share × small-model success rate.

    Returns ``(routed_shares, small_success_rates, savings)`` with ``savings`` of shape
    (len(routed_shares), len(small_success_rates)).
    """
    s = np.asarray(routed_shares, float)
    q = np.asarray(small_success_rates, float)
    c = cascade(cost_usd_big, cost_usd_small, s[:, None], q[None, :], **kwargs)
    return s, q, np.asarray(c.savings)


class RouterStudy(Record):
    """One operating point of a published router study (``data/router_studies.csv``).

    The study states the share of queries its router sent to the strong model and the quality
    the mix kept against the strong model alone; tokenfab reads the routed share and the small
    model's success rate from them (:meth:`inputs`). Each row's ``notes`` say how its figures
    are read from the paper's tables.
    """

    benchmark: Text = Field(description="the benchmark the operating point was measured on")
    router: Text = Field(description="the router and its training data")
    strong_model: Text = Field(description="the strong (big, expensive) model")
    weak_model: Text = Field(description="the weak (small, cheap) model")
    strong_call_share: Fraction = Field(
        description="share of queries the router sent to the strong model [-]"
    )
    quality_router: float = Field(gt=0, le=1e4, description="benchmark score of the routed mix")
    quality_strong: float = Field(
        gt=0, le=1e4, description="benchmark score of the strong model alone"
    )
    quality_unit: Text = Field(description="what the two scores measure")
    failure_detection: Fraction = Field(
        description="share of the weak model's failures escalated (0: a router, one model "
        "per query) [-]"
    )

    @model_validator(mode="after")
    def _readable(self) -> RouterStudy:
        retained = self.quality_router / self.quality_strong
        if not 0 < retained <= 1:
            raise ValueError(
                f"quality_router / quality_strong = {retained:g}; allowed: above 0 to 1"
            )
        if self.strong_call_share >= 1:
            raise ValueError("strong_call_share: 1 routes nothing; allowed: below 1")
        if retained < self.strong_call_share:
            raise ValueError(
                f"quality retained {retained:g} is below the strong-call share "
                f"{self.strong_call_share:g}: the weak model's success would be negative"
            )
        return self

    @property
    def quality_retained(self) -> float:
        """Quality of the routed mix over the strong model's alone [-]."""
        return self.quality_router / self.quality_strong

    @property
    def routed_share(self) -> float:
        """Share of queries sent to the small (weak) model [-]: 1 - the strong-call share."""
        return 1.0 - self.strong_call_share

    @property
    def success_small_relative(self) -> float:
        """The small model's success rate over the big model's [-] that keeps the mix at the
        stated quality, when the big model scores its average on the queries it keeps:
        :math:`(R - c)/(1 - c)` with :math:`R` the quality retained and :math:`c` the
        strong-call share (the studies state no per-model split; the row's notes say so)."""
        return (self.quality_retained - self.strong_call_share) / self.routed_share

    def inputs(self, success_big: float) -> dict[str, float]:
        """``routed_share``, ``success_small`` and ``failure_detection`` for
        :func:`cascade` with the big model right at ``success_big``.

        With no escalation the routed mix then succeeds at ``success_big`` x the quality
        retained, the share the study states.
        """
        return {
            "routed_share": self.routed_share,
            "success_small": success_big * self.success_small_relative,
            "failure_detection": self.failure_detection,
        }


DEFAULT_STUDY = "routellm-mt-bench"
"""The study ``route`` reads its routed share and success rate from when none is named:
RouteLLM's headline operating point (MT Bench, 95 % of GPT-4's score with 13.4 % of the calls)."""


@cache
def router_studies() -> Mapping[str, RouterStudy]:
    """The built-in ``data/router_studies.csv`` by study name (read-only: it is cached)."""
    path = Path(str(resources.files("tokenfab").joinpath("data/router_studies.csv")))
    return MappingProxyType({r.id: r for _, r in read_records(path, RouterStudy)})  # type: ignore[misc]


def router_study(name: str) -> RouterStudy:
    """The study ``name``; an unknown name raises one line naming ``study`` and the names."""
    studies = router_studies()
    if name not in studies:
        raise ScenarioError(f"study: unknown {name!r}; allowed: {', '.join(studies)}")
    return studies[name]


ROUTING_FIELDS = ("routed_share", "success_small", "failure_detection")
"""The inputs a study supplies unless the user gives them."""


def routing_note(study: RouterStudy, from_study: list[str]) -> str:
    """Which inputs came from the study (and how), which from the user."""
    if not from_study:
        return (
            "routed share, small-model success and failure detection are the user's; "
            f"study {study.id} ({study.source}) not used"
        )
    return (
        f"{', '.join(from_study)} from study {study.id}: {study.benchmark}, "
        f"{study.strong_call_share:.1%} of queries to {study.strong_model} at "
        f"{study.quality_retained:.1%} of its quality; the small model's success is the rate "
        "that keeps that quality with the big model at its own average (not stated by the "
        f"study); source: {study.source}"
    )


def api_price(catalog: Any, field: str, price_id: str) -> ApiPrice:
    """The API price row ``price_id``; an unknown id raises one line naming ``field`` and the
    nearest ids."""
    from tokenfab.catalog import nearest

    prices = catalog.table("api-prices")
    if price_id not in prices:
        near = nearest(price_id, prices)
        where = (
            f"nearest: {', '.join(near)}"
            if near
            else "list them with `tokenfab catalog api-prices`"
        )
        raise ScenarioError(f"{field}: unknown API price {price_id!r}; {where}")
    row = prices[price_id]
    if row.cached_input_usd_per_mtok is None:
        # a row without a cached price borrows its prompt-caching twin's (same model, input
        # and output prices), as `usage` prices it: openai-gpt-4o-2024-08 at a cache hit rate
        # was refused ("this price has no cached-input rate") though OpenAI's caching row
        # gives GPT-4o's cached tokens $1.25
        from tokenfab.usage.prices import by_id

        lent = by_id(price_id, catalog).cached_input_usd_per_mtok
        if lent != row.input_usd_per_mtok:
            row = row.model_copy(update={"cached_input_usd_per_mtok": lent})
    return row


def analyse(request: Any, catalog: Any) -> dict[str, Any]:
    """The ``route`` result (:class:`tokenfab.schema.RouteResult`'s keys) of a
    :class:`tokenfab.schema.RouteRequest`: one cascade at the request's routed share and
    success rate (each one the user does not give is read from the request's router study),
    and the saving per success over a grid of both."""
    r = request
    if r.small == r.big:  # one model in front of itself: a "saving" from a made-up success gap
        raise ScenarioError(
            f"small: {r.small} is also the big model; route a cheaper model in front of it "
            "(list them with `tokenfab catalog api-prices`)"
        )
    study = router_study(r.study)
    taken = study.inputs(r.success_big)
    given = {f: getattr(r, f) for f in ROUTING_FIELDS}
    from_study = [f for f in ROUTING_FIELDS if given[f] is None]
    used = {f: taken[f] if given[f] is None else float(given[f]) for f in ROUTING_FIELDS}
    costs = {
        side: request_cost_from_price(
            api_price(catalog, side, getattr(r, side)),
            r.input_tokens,
            r.output_tokens,
            r.cache_hit_rate,
        )
        for side in ("big", "small")
    }
    c = cascade(
        costs["big"],
        costs["small"],
        used["routed_share"],
        used["success_small"],
        success_big=r.success_big,
        failure_detection=used["failure_detection"],
    )
    kw = {"success_big": r.success_big, "failure_detection": used["failure_detection"]}
    shares, rates, grid = savings_grid(costs["big"], costs["small"], **kw)
    grid_success = cascade(
        costs["big"], costs["small"], shares[:, None], rates[None, :], **kw
    ).success_after
    return {
        "big": r.big,
        "small": r.small,
        "study": study.id,
        "study_source": study.source,
        "from_study": from_study,
        "routed_share": used["routed_share"],
        "success_small": used["success_small"],
        "success_big": float(r.success_big),
        "failure_detection": used["failure_detection"],
        "cost_usd_per_request_big": costs["big"],
        "cost_usd_per_request_small": costs["small"],
        "cost_usd_per_request_before": float(c.cost_usd_before),
        "cost_usd_per_request_after": float(c.cost_usd_after),
        "success_rate_before": float(c.success_before),
        "success_rate_after": float(c.success_after),
        "cost_per_success_usd_before": float(c.cost_per_success_usd_before),
        "cost_per_success_usd_after": float(c.cost_per_success_usd_after),
        "savings_per_success": float(c.savings),
        "assumed": routing_note(study, from_study),
        "grid": {
            "routed_share": shares.tolist(),
            "success_small": rates.tolist(),
            "savings_per_success": grid.tolist(),
            "success_rate_after": np.broadcast_to(grid_success, grid.shape).tolist(),
            "success_big": float(r.success_big),
            "failure_detection": used["failure_detection"],
        },
    }
