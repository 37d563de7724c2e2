"""Embodied (manufacturing) carbon of accelerators, amortised into gCO2e per million tokens.

An accelerator's cradle-to-gate product carbon footprint (PCF), plus its share of the host
server, is spread evenly over its service life (the ownership model's useful life). Every
installed hour carries ``embodied / life hours`` whether busy or not, as the operational
carbon in :mod:`tokenfab.kpis` is charged on installed power; dividing by the output tokens an
installed hour yields at the deployment's utilisation gives gCO2e per million output tokens,
beside the operational figure ``co2e_g_per_mtok``. A rented accelerator-hour carries the same
per-hour share (the owner's life and fleet), so ownership does not change the figure.

Figures live in ``data/embodied_carbon.csv`` (per accelerator, with sources); an accelerator
without a row reports ``None`` rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field

from tokenfab.catalog import NonNegative, Record, read_records
from tokenfab.cost import HOURS_PER_YEAR, SECONDS_PER_HOUR, TOKENS_PER_MTOK, _check_range, _out

if TYPE_CHECKING:
    from tokenfab.planning import Estimate

__all__ = ["EmbodiedCarbon", "embodied_co2e_g_per_mtok", "embodied_kpis", "embodied_table"]


class EmbodiedCarbon(Record):
    """Cradle-to-gate footprint of one accelerator and its share of the host server."""

    accelerator_kgco2e: NonNegative = Field(description="accelerator (and board share) [kgCO2e]")
    host_kgco2e: NonNegative = Field(description="host server share per accelerator [kgCO2e]")
    boundary: str = Field(description="life-cycle boundary of the figures")


@cache
def embodied_table() -> Mapping[str, EmbodiedCarbon]:
    """The built-in ``data/embodied_carbon.csv`` by accelerator id (read-only: it is cached)."""
    path = Path(str(resources.files("tokenfab").joinpath("data/embodied_carbon.csv")))
    return MappingProxyType({r.id: r for _, r in read_records(path, EmbodiedCarbon)})  # type: ignore[misc]


def embodied_co2e_g_per_mtok(
    embodied_kgco2e_per_accelerator: ArrayLike,
    service_life_years: ArrayLike,
    utilization: ArrayLike,
    output_tok_s_per_accelerator: ArrayLike,
) -> NDArray[np.float64]:
    """Manufacturing carbon per million output tokens [gCO2e/Mtok].

    Parameters
    ----------
    embodied_kgco2e_per_accelerator : array_like
        Cradle-to-gate footprint of one accelerator with its host share [kgCO2e], ≥ 0.
    service_life_years : array_like
        Years over which the hardware is amortised [year], > 0.
    utilization : array_like
        Share of installed hours spent serving [-], in (0, 1].
    output_tok_s_per_accelerator : array_like
        Output tokens per second one accelerator yields while serving [token/s], > 0.

    Returns
    -------
    numpy.ndarray
        Embodied gCO2e per million output tokens.

    Notes
    -----
    Straight-line amortisation over the life :math:`L` (8,760 h a year), as the GHG
    Protocol's capital-goods guidance allows for allocating a product's footprint over its
    use [1]_:

    .. math::
        e_\\mathrm{Mtok} = \\frac{10^3 E}{3600 \\cdot 8760\\, L \\; u \\; T / 10^6}

    References
    ----------
    .. [1] GHG Protocol, "Technical Guidance for Calculating Scope 3 Emissions", category 2
       (capital goods), 2013, https://ghgprotocol.org/scope-3-calculation-guidance-2
    .. [2] NVIDIA, "HGX H100 PCF Summary", https://images.nvidia.com/aem-dam/Solutions/documents/HGX-H100-PCF-Summary.pdf

    Examples
    --------
    354 kg (H100 164 + host 190) over 5 years, 80 % busy, 100 output tok/s per GPU:
    354e3 g / (157,680,000 s x 0.8 x 100 / 1e6 Mtok) = 354e3 / 12,614.4 = 28.06 g/Mtok.

    >>> round(float(embodied_co2e_g_per_mtok(354.0, 5.0, 0.8, 100.0)), 2)
    28.06
    """
    e = _check_range("embodied_kgco2e_per_accelerator", embodied_kgco2e_per_accelerator, 0.0)
    life = _check_range("service_life_years", service_life_years, 0.0, low_open=True)
    u = _check_range("utilization", utilization, 0.0, 1.0, low_open=True)
    t = _check_range(
        "output_tok_s_per_accelerator", output_tok_s_per_accelerator, 0.0, low_open=True
    )
    mtok_over_life = life * HOURS_PER_YEAR * SECONDS_PER_HOUR * u * t / TOKENS_PER_MTOK
    return _out(e * 1e3 / mtok_over_life)


@dataclass(frozen=True)
class _Basis:
    row: EmbodiedCarbon
    life_years: float


def embodied_kpis(est: Estimate) -> dict[str, Any]:
    """``embodied_co2e_g_per_mtok`` and ``total_co2e_g_per_mtok`` of an estimate (None if the
    accelerator has no footprint row or the estimate has no KPIs)."""
    from tokenfab.catalog import default_catalog
    from tokenfab.cost import default_cost_inputs

    row = embodied_table().get(est.op.setup.accelerator.id)
    none = {"embodied_co2e_g_per_mtok": None, "total_co2e_g_per_mtok": None}
    if row is None or est.kpis is None or est.op.output_tok_s_total <= 0:
        return none
    life = default_cost_inputs(default_catalog()).useful_life_years
    if est.pools is not None:  # each pool's accelerators, all serving the same tokens
        rows = [
            embodied_table().get(p.accelerator.id) for p in (est.pools.prefill, est.pools.decode)
        ]
        if any(r is None for r in rows):
            return none
        g = sum(
            float(
                embodied_co2e_g_per_mtok(
                    r.accelerator_kgco2e + r.host_kgco2e,
                    life,
                    est.utilization,
                    est.op.output_tok_s_total / p.accelerators,
                )
            )
            for r, p in zip(rows, (est.pools.prefill, est.pools.decode), strict=True)
        )
        return {
            "embodied_co2e_g_per_mtok": g,
            "total_co2e_g_per_mtok": g + float(est.kpis.co2e_g_per_mtok),
        }
    per_acc = est.op.output_tok_s_total / est.op.accelerators
    g = float(
        embodied_co2e_g_per_mtok(
            row.accelerator_kgco2e + row.host_kgco2e, life, est.utilization, per_acc
        )
    )
    operational = float(est.kpis.co2e_g_per_mtok)
    total = g + operational if operational == operational else None  # NaN: power not public
    return {"embodied_co2e_g_per_mtok": g, "total_co2e_g_per_mtok": total}
