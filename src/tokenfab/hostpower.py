"""Power the rest of a node draws beside its accelerators: CPUs, memory, NICs, switches, fans.

An accelerator's thermal design power (TDP) is its board alone; the system it sits in draws
more. ``data/host_power.csv`` gives, per accelerator, the vendor's maximum input power of the
system that carries it less the accelerators' TDP, per accelerator:

.. math:: H = (P_\\mathrm{system,max} - n\\,\\mathrm{TDP}) / n

(DGX H100: (10,200 − 8 × 700) / 8 = 575 W a GPU). An accelerator without a row gets
tokenfab's estimate, the median of :math:`H / \\mathrm{TDP}` over the table's systems of the
same form (8-accelerator servers, or NVL72-class racks) times its TDP (:data:`FALLBACK_NOTE`);
one without a published TDP draws nothing here, as its board does not either. Scale-out (leaf/spine) switches are left out: no primary source
gives their draw per accelerator. :func:`tokenfab.cost.it_power_w` turns :math:`H` into a draw
at an operating point.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from statistics import median
from types import MappingProxyType
from typing import TYPE_CHECKING

from tokenfab.catalog import HostPower, read_records

if TYPE_CHECKING:
    from tokenfab.catalog import Accelerator

__all__ = [
    "FALLBACK_NOTE",
    "RACK_SCALE_DOMAIN",
    "HostPower",
    "fallback_host_share",
    "host_power_table",
    "host_power_w",
    "with_host_power",
]

FALLBACK_NOTE = (
    "tokenfab's estimate: the median of host power over accelerator TDP across the sourced "
    "systems of the same form (servers, or racks of 72+) in data/host_power.csv, times this "
    "accelerator's TDP"
)


@cache
def host_power_table() -> Mapping[str, HostPower]:
    """The built-in ``data/host_power.csv`` by accelerator id (read-only: it is cached)."""
    path = Path(str(resources.files("tokenfab").joinpath("data/host_power.csv")))
    return MappingProxyType({r.id: r for _, r in read_records(path, HostPower)})  # type: ignore[misc]


RACK_SCALE_DOMAIN = 72
"""Scale-up domain from which an accelerator is taken to ship in a rack-scale system (NVL72)
rather than an 8-accelerator server, for the fallback share."""


@cache
def fallback_host_share(rack_scale: bool = False) -> float:
    """Median host power over accelerator TDP of the built-in table's systems of one form [-].

    ``rack_scale``: the rows of :data:`RACK_SCALE_DOMAIN` or more accelerators (NVL72 racks,
    whose CPUs and switch trays are shared by 72 GPUs: GB200 0.389, GB300 0.204, median 0.297);
    else the multi-accelerator servers (DGX A100 1.031, H100 and H200 0.821, B200 0.7875, B300
    0.648: median 0.821).
    """
    return _share(tuple(host_power_table().values()), rack_scale)


def _share(rows: tuple[HostPower, ...], rack_scale: bool) -> float:
    form = [
        r
        for r in rows
        if r.accelerators_per_system > 1
        and (r.accelerators_per_system >= RACK_SCALE_DOMAIN) == rack_scale
    ]
    return float(median(r.host_power_w / r.accelerator_tdp_w for r in form)) if form else 0.0


def _host_w(accelerator: Accelerator, table: Mapping[str, HostPower], share: float) -> float:
    row = table.get(accelerator.id)
    if row is not None:
        return float(row.host_power_w)
    if not accelerator.tdp_w:
        return 0.0
    return share * float(accelerator.tdp_w)


def _rack(accelerator: Accelerator) -> bool:
    return (accelerator.scaleup_domain_size or 0) >= RACK_SCALE_DOMAIN


def host_power_w(accelerator: Accelerator) -> float:
    """Maximum non-accelerator draw of a node per accelerator [W].

    The figure of the catalog the accelerator was read from (:func:`with_host_power`: a
    user's ``host_power.csv`` row wins over the built-in one); for an accelerator built
    outside a catalog, the built-in table's. A table row for the accelerator's id gives it;
    else tokenfab's estimate, :func:`fallback_host_share` of the accelerator's form
    (rack-scale when its scale-up domain is :data:`RACK_SCALE_DOMAIN` or more) × TDP; 0 for
    an accelerator without a published TDP.
    """
    own = accelerator._host_power_w
    if own is not None:
        return own
    return _host_w(accelerator, host_power_table(), fallback_host_share(_rack(accelerator)))


def with_host_power(
    accelerators: Mapping[str, Accelerator], table: Mapping[str, HostPower]
) -> dict[str, Accelerator]:
    """Each accelerator with its host power from ``table`` (a catalog's host-power rows,
    built-in then the user's), the fallback share the median of that table's systems."""
    rows = tuple(table.values())
    shares = {rack: _share(rows, rack) for rack in (False, True)}
    out = {}
    for rid, acc in accelerators.items():
        acc = acc.model_copy()
        acc._host_power_w = _host_w(acc, table, shares[_rack(acc)])
        out[rid] = acc
    return out
