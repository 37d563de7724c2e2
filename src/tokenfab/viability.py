"""Is an AI product viable? Revenue against inference cost per request → margin and verdict.

A product earns revenue per request (or per user-month, over the requests a user makes in a
month) and pays an inference cost per request (from :func:`tokenfab.planning.evaluate` for
self-hosting, or an API price via :func:`tokenfab.routing.request_cost_usd`). The gross
margin on inference, its verdict and the break-even price follow; :func:`seed_products` runs
seed 003's table of business models through the same arithmetic and says where the table's
own margins disagree with its revenue and cost columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray

from tokenfab.cost import _check_range, _out
from tokenfab.errors import ScenarioError

__all__ = [
    "VERDICTS",
    "Viability",
    "breakeven_price_usd",
    "seed_products",
    "verdict",
    "viability",
]

VERDICTS = ("not viable", "marginal", "viable")


def breakeven_price_usd(
    cost_usd_per_request: ArrayLike, target_margin: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Revenue per request at which the gross margin on inference equals ``target_margin``.

    Notes
    -----
    Margin :math:`m = (R - C)/R`, so :math:`R^* = C / (1 - m^*)`; with :math:`m^* = 0` the
    break-even price is the cost itself.

    Examples
    --------
    $0.02 of inference per request, 40 % target margin: 0.02 / 0.6 = $0.0333.

    >>> round(float(breakeven_price_usd(0.02, 0.4)), 4)
    0.0333
    """
    c = _check_range("cost_usd_per_request", cost_usd_per_request, 0.0, MAX_USD)
    m = _check_range("target_margin", target_margin, 0.0, 1.0, high_open=True)
    return _out(c / (1.0 - m))


def verdict(
    revenue_usd_per_request: ArrayLike, cost_usd_per_request: ArrayLike, target_margin: float
) -> NDArray[np.str_]:
    """``not viable`` below break-even, ``viable`` at or above the target margin, else
    ``marginal``.

    The comparisons are on revenue against :func:`breakeven_price_usd`, so the verdict flips
    exactly at the break-even price (no rounding of a margin in between).

    Examples
    --------
    >>> [str(v) for v in verdict([0.009, 0.01, 0.02], 0.01, 0.4)]
    ['not viable', 'marginal', 'viable']
    """
    r = _check_range("revenue_usd_per_request", revenue_usd_per_request, 0.0, MAX_USD)
    c = _check_range("cost_usd_per_request", cost_usd_per_request, 0.0, MAX_USD)
    target = breakeven_price_usd(c, target_margin)
    index = np.where(r < c, 0, np.where(r >= target, 2, 1))
    return _out(np.asarray(VERDICTS)[index])


@dataclass(frozen=True)
class Viability:
    """Unit economics of one product per request."""

    name: str
    revenue_usd_per_request: float
    cost_usd_per_request: float
    target_margin: float
    requests_per_user_month: float | None = None  # given: the figures a user-month too
    revenue_usd_per_user_month: float | None = None  # as given (else per request x requests)

    @property
    def margin(self) -> float:
        """Gross margin on inference, (R - C) / R; -inf for a free product with a cost."""
        r, c = self.revenue_usd_per_request, self.cost_usd_per_request
        if r == 0:
            return -math.inf if c > 0 else 0.0
        return (r - c) / r

    @property
    def verdict(self) -> str:
        return str(
            verdict(self.revenue_usd_per_request, self.cost_usd_per_request, self.target_margin)
        )

    @property
    def breakeven_usd_per_request(self) -> float:
        return float(breakeven_price_usd(self.cost_usd_per_request))

    @property
    def target_price_usd_per_request(self) -> float:
        return float(breakeven_price_usd(self.cost_usd_per_request, self.target_margin))

    def per_user_month(self) -> dict[str, float | None]:
        """Revenue, cost and target price a user-month [USD]: the per-request figures times
        ``requests_per_user_month`` (the revenue as given where it was given so); all None
        without requests per user-month."""
        n = self.requests_per_user_month
        if n is None:
            return dict.fromkeys(USER_MONTH_KEYS)
        rev = self.revenue_usd_per_user_month
        return {
            "requests_per_user_month": n,
            "revenue_usd_per_user_month": self.revenue_usd_per_request * n if rev is None else rev,
            "cost_usd_per_user_month": self.cost_usd_per_request * n,
            "target_price_usd_per_user_month": self.target_price_usd_per_request * n,
        }

    def as_dict(self) -> dict[str, Any]:
        m = self.margin
        return {
            "name": self.name,
            "revenue_usd_per_request": self.revenue_usd_per_request,
            "cost_usd_per_request": self.cost_usd_per_request,
            "margin": None if math.isinf(m) else m,
            "verdict": self.verdict,
            "breakeven_usd_per_request": self.breakeven_usd_per_request,
            "target_margin": self.target_margin,
            "target_price_usd_per_request": self.target_price_usd_per_request,
            **self.per_user_month(),
        }


USER_MONTH_KEYS = (
    "requests_per_user_month",
    "revenue_usd_per_user_month",
    "cost_usd_per_user_month",
    "target_price_usd_per_user_month",
)


MAX_USD = 1e9
"""Upper bound of every money and count input here: finite, far above any product's figures."""


def viability(
    name: str,
    cost_usd_per_request: float,
    *,
    revenue_usd_per_request: float | None = None,
    revenue_usd_per_user_month: float | None = None,
    requests_per_user_month: float | None = None,
    target_margin: float = 0.4,
) -> Viability:
    """A product's margin and verdict from revenue per request or per user-month.

    Raises
    ------
    ScenarioError
        Neither or both revenue forms given, a per-user-month revenue without requests per
        user-month, a revenue and a cost both 0 (no margin), or any value out of range.
    """
    per_user = revenue_usd_per_user_month is not None
    if (revenue_usd_per_request is None) == (not per_user):
        raise ScenarioError(
            "revenue_usd_per_request: give either a revenue per request or a revenue per "
            "user-month (with requests per user-month), not both or neither"
        )
    if per_user and requests_per_user_month is None:
        raise ScenarioError("requests_per_user_month: needed with revenue_usd_per_user_month")
    n = (
        None
        if requests_per_user_month is None
        else float(
            _check_range(
                "requests_per_user_month", requests_per_user_month, 0.0, MAX_USD, low_open=True
            )
        )
    )
    per_month = None
    if per_user:
        per_month = float(
            _check_range("revenue_usd_per_user_month", revenue_usd_per_user_month, 0.0, MAX_USD)
        )
        rev = per_month / n
    else:
        rev = float(_check_range("revenue_usd_per_request", revenue_usd_per_request, 0.0, MAX_USD))
    c = float(_check_range("cost_usd_per_request", cost_usd_per_request, 0.0, MAX_USD))
    m = float(_check_range("target_margin", target_margin, 0.0, 1.0, high_open=True))
    if rev == 0 and c == 0:
        # (R - C) / R is 0 / 0; the verdict compared R >= C / (1 - m), 0 >= 0, and called a
        # product that earns and costs nothing "viable" beside a margin of 0 %
        raise ScenarioError(
            "revenue_usd_per_request: 0 with cost_usd_per_request 0 leaves the margin "
            "(R - C) / R undefined; allowed: a revenue above 0, or a cost above 0"
        )
    return Viability(name, rev, c, m, n, per_month)


@cache
def _seed_table() -> dict[str, Any]:
    text = resources.files("tokenfab").joinpath("data/viability.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def seed_products(target_margin: float | None = None) -> list[dict[str, Any]]:
    """Seed 003's business-model table: each row at the geometric midpoints of its revenue and
    cost ranges, plus the margin range its columns allow (worst: low revenue, high cost;
    best: high revenue, low cost) beside the margin and verdict the seed printed."""
    table = _seed_table()
    m = table["target_margin"]["value"] if target_margin is None else target_margin
    rows = []
    for p in table["products"]:
        r_lo, r_hi = p["revenue_usd_per_request"]
        c_lo, c_hi = p["cost_usd_per_request"]
        mid = lambda lo, hi: math.sqrt(lo * hi) if lo > 0 else (lo + hi) / 2  # noqa: E731
        v = viability(
            p["name"], mid(c_lo, c_hi), revenue_usd_per_request=mid(r_lo, r_hi), target_margin=m
        )
        worst = (r_lo - c_hi) / r_lo if r_lo > 0 else None
        best = (r_hi - c_lo) / r_hi if r_hi > 0 else None
        rows.append(
            {
                **v.as_dict(),
                "margin_range_from_columns": [worst, best],
                "seed_margin": p["seed_margin"],
                "seed_verdict": p["seed_verdict"],
            }
        )
    return rows


def analyse(request: Any, catalog: Any = None) -> list[dict[str, Any]]:
    """The ``viability`` rows of a :class:`tokenfab.schema.ViabilityRequest`: one product
    (its cost given, or an API price's cost of a request), or without a cost seed 003's
    table."""
    r = request
    cost = r.cost_usd_per_request
    if r.api_price is not None:
        from tokenfab.catalog import default_catalog
        from tokenfab.routing import api_price, request_cost_from_price

        price = api_price(catalog or default_catalog(), "api_price", r.api_price)
        cost = request_cost_from_price(price, r.input_tokens, r.output_tokens, r.cache_hit_rate)
    if cost is None:
        return seed_products(r.target_margin)
    return [
        viability(
            "product",
            cost,
            revenue_usd_per_request=r.revenue_usd_per_request,
            revenue_usd_per_user_month=r.revenue_usd_per_user_month,
            requests_per_user_month=r.requests_per_user_month,
            target_margin=0.4 if r.target_margin is None else r.target_margin,
        ).as_dict()
    ]
