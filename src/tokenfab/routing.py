"""Routing and cascades: cost per *successful* outcome with a cheap model in front of a big one.

A router sends a share of requests to a small model first. The small model succeeds on a
share of them; a detected failure is escalated to the big model (paying for both calls), an
undetected one is delivered as a failure. The rest go straight to the big model. The number
that matters is the cost per successful outcome, not per call (seed 004: "the industry is
moving ... towards optimizing for the cost per successful outcome").

Request prices come from the API catalog, prompt-caching discounts included
(:func:`request_cost_usd`). :func:`savings_grid` shows for which routed shares and small-model
success rates seed 003's "routing reduces inference costs by 40-70%" holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.catalog import ApiPrice
from tokenfab.cost import TOKENS_PER_MTOK, _check_range, _out
from tokenfab.errors import ScenarioError

__all__ = ["Cascade", "cascade", "request_cost_from_price", "request_cost_usd", "savings_grid"]


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


ROUTING_ASSUMED = (
    "routed share and success rates are user inputs (defaults assumed); published routers: "
    "RouteLLM (arXiv:2406.18665) reports over 2x cost reduction at unchanged quality"
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
    return prices[price_id]


def analyse(request: Any, catalog: Any) -> dict[str, Any]:
    """The ``route`` result (:class:`tokenfab.schema.RouteResult`'s keys) of a
    :class:`tokenfab.schema.RouteRequest`: one cascade at the request's routed share and
    success rate, and the saving per success over a grid of both."""
    r = request
    costs = {
        side: request_cost_from_price(
            api_price(catalog, side, getattr(r, side)),
            r.input_tokens,
            r.output_tokens,
            r.cache_hit_rate,
        )
        for side in ("big", "small")
    }
    kw = {"success_big": r.success_big, "failure_detection": r.failure_detection}
    c = cascade(costs["big"], costs["small"], r.routed_share, r.success_small, **kw)
    shares, rates, grid = savings_grid(costs["big"], costs["small"], **kw)
    return {
        "big": r.big,
        "small": r.small,
        "cost_usd_per_request_big": costs["big"],
        "cost_usd_per_request_small": costs["small"],
        "cost_usd_per_request_before": float(c.cost_usd_before),
        "cost_usd_per_request_after": float(c.cost_usd_after),
        "success_rate_before": float(c.success_before),
        "success_rate_after": float(c.success_after),
        "cost_per_success_usd_before": float(c.cost_per_success_usd_before),
        "cost_per_success_usd_after": float(c.cost_per_success_usd_after),
        "savings_per_success": float(c.savings),
        "assumed": ROUTING_ASSUMED,
        "grid": {
            "routed_share": shares.tolist(),
            "success_small": rates.tolist(),
            "savings_per_success": grid.tolist(),
        },
    }
