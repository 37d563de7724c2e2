"""One pipeline for one scenario or a million: resolved inputs -> operating point -> cost -> KPIs.

:func:`evaluate` takes a scenario and, optionally, samples of its numeric inputs -- scenario
fields (``utilization``, ``input_tokens``, ``tokens_per_day`` ...) and catalog numbers
addressed by a dotted path (``accelerators.h100-sxm.price_usd``,
``regions.eu.electricity_usd_per_kwh``, ``efficiency.bw_efficiency``, ``cost.useful_life_years``
...; :func:`fields` lists them with units and ranges) -- each a 1-D array of ``N`` values. It
returns every numeric key of ``tokenfab estimate --json`` as an array of ``N`` values, which
samples are feasible, and why the others are not. The arrays are evaluated in chunks, so the
memory stays bounded whatever ``N``.

How the operating point follows the samples:

* ``reoptimise=False``: the layout (tensor, pipeline, expert parallelism) and the batch stay
  those of the base case's operating point (:func:`tokenfab.planning.evaluate` of the scenario
  itself); each sample re-evaluates the step times, memory, throughput and latency there, and
  is infeasible where the batch no longer fits in memory, the latency targets are missed, a
  fixed fleet cannot carry the demand's peak, or the tokens exceed the model's context. A
  sized deployment (a demand and no ``accelerators``) keeps its replica size and is re-sized
  in whole replicas for each sample's demand.
* ``reoptimise=True``: the batch is chosen again for each sample on the base case's batch grid
  (the same grid and the same rule as :func:`tokenfab.perf.operating.choose` and
  :func:`tokenfab.sizing.cheapest_point`); the layout stays the base one.

Each sample's numbers come from the same functions the scalar estimate uses
(:mod:`tokenfab.perf.serving`, :mod:`tokenfab.cost`, :mod:`tokenfab.kpis`), with a sample axis;
with no samples, or with samples equal to the base values, the result equals the scalar
estimate (``tests/test_pipeline.py`` checks every key for dense and MoE models, buy and rent,
with and without targets and demand).

Infeasible samples are counted by reason in :attr:`PipelineResult.reasons` and their values
are NaN: none is dropped.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.cost import (
    CostInputs,
    _current_rentals,
    _has_price,
    average_power_w,
    default_cost_inputs,
    it_power_w,
    ownership_cost_from_inputs,
    rental_rate_usd_per_accelerator_hour,
    serving_power_w,
)
from tokenfab.errors import ScenarioError
from tokenfab.hostpower import host_power_w
from tokenfab.kpis import compute_kpis
from tokenfab.perf.calibration import hardware
from tokenfab.perf.operating import (
    BATCH_GRID_POINTS,
    DEFAULT_OUTPUT_TOKENS,
    GridPoint,
    Setup,
    evaluate_grid,
    scenario_layouts,
    with_workload_targets,
)
from tokenfab.perf.serving import (
    STACK_MAX_ELEMENTS,
    Engine,
    Hardware,
    Layout,
    SteadyState,
    closed_loop_ttft_s,
    disaggregated_split_arrays,
    disaggregated_state,
    kv_budget_bytes,
    layout,
    max_batch_size,
    md1_wait_s,
    runtime_reserve_bytes,
    steady_output_tok_s,
    steady_state,
    weight_bytes_per_accelerator,
)
from tokenfab.scenario import (
    MAX_PEAK_TO_AVERAGE,
    MAX_REQUESTS_PER_SECOND,
    MAX_STEPS_PER_TASK,
    MAX_TOKENS_PER_DAY,
    MAX_TOKENS_PER_REQUEST,
    MAX_TPOT_S,
    MAX_TTFT_S,
    MIN_REQUESTS_PER_SECOND,
    MIN_TOKENS_PER_DAY,
    MIN_TPOT_S,
    MIN_TTFT_S,
    MIN_UTILIZATION,
    Scenario,
    batch_fixed_by,
)
from tokenfab.sizing import (
    DEFAULT_QUEUE_WAIT_S,
    _first_reaching,
    replicas_for_ttft,
    replicas_for_wait,
    whole_pool_replicas,
)
from tokenfab.words import plural

__all__ = [
    "MAX_SAMPLES",
    "MODEL_ERROR_RATIOS",
    "FieldSpec",
    "PipelineResult",
    "estimate_result",
    "evaluate",
    "fields",
    "kpi_keys",
    "refusal",
]

MAX_SAMPLES = 100_000_000
"""Most samples one call takes (800 MB a KPI at 8 bytes a value); more is refused, never an
out-of-memory crash."""

WORKERS = min(os.cpu_count() or 1, 4)
"""Threads that evaluate chunks at once (NumPy releases the GIL inside its loops)."""

REOPTIMISE_CHUNK = 4096
"""Samples evaluated at once when the batch is re-chosen: the cheapest-deployment search holds
a (samples x batches x batches) array, 4096 x 49 x 49 booleans (10 MB)."""

MAX_OUTPUT_BYTES = 4e9
"""Largest result one call builds: beyond it the call is refused before any work, never an
out-of-memory crash (a million samples of every key take 0.5 GB)."""

REASONS = (
    "tokens exceed the model's context",
    "does not fit in memory",
    "demand exceeds capacity",
    "TPOT SLO missed",
    "TTFT SLO missed",
)
"""Why a sample is infeasible, in the order they are checked; a sample counts under the first
that applies."""


# -- the addressable inputs --------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One input a sample may vary: its key, unit, allowed range and (for a scenario) base value."""

    key: str
    unit: str
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    description: str = ""
    base: float | None = None

    @property
    def allowed(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open or math.isinf(self.high) else "]"
        hi = "inf" if math.isinf(self.high) else f"{self.high:g}"
        return f"{left}{self.low:g}, {hi}{right}"

    def check(self, values: NDArray) -> None:
        """Raise :class:`ScenarioError` naming the key, the first bad value and the range."""
        above = values > self.low if self.low_open else values >= self.low
        below = values < self.high if self.high_open else values <= self.high
        bad = ~(above & below)  # NaN is bad
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            raise ScenarioError(
                f"{self.key}: {values[k]:g} (sample {k} of {values.size}) is outside the "
                f"allowed range {self.allowed} {self.unit}".rstrip()
            )


INF = math.inf

# scenario field -> (unit, low, high, low_open, high_open, description)
_SCENARIO_FIELDS: dict[str, tuple[str, float, float, bool, bool, str]] = {
    "utilization": ("-", MIN_UTILIZATION, 1.0, False, False, "share of installed hours serving"),
    "input_tokens": (
        "tokens",
        1.0,
        MAX_TOKENS_PER_REQUEST,
        False,
        False,
        "prompt tokens a request",
    ),
    "output_tokens": (
        "tokens",
        1.0,
        MAX_TOKENS_PER_REQUEST,
        False,
        False,
        "visible output tokens a request",
    ),
    "reasoning_tokens": (
        "tokens",
        0.0,
        MAX_TOKENS_PER_REQUEST,
        False,
        False,
        "reasoning tokens a request (billed and generated as output)",
    ),
    "prefix_cache_hit_rate": ("-", 0.0, 1.0, False, True, "share of prompt tokens cached"),
    "steps_per_task": ("requests", 1.0, MAX_STEPS_PER_TASK, False, False, "requests an agent task"),
    "acceptance_rate": ("-", 0.0, 1.0, False, False, "speculative draft token acceptance"),
    "gpu_memory_utilization": ("-", 0.0, 1.0, True, False, "share of memory the engine may use"),
    "tokens_per_day": (
        "tokens/day",
        MIN_TOKENS_PER_DAY,
        MAX_TOKENS_PER_DAY,
        False,
        False,
        "output tokens demanded a day",
    ),
    "requests_per_second": (
        "1/s",
        MIN_REQUESTS_PER_SECOND,
        MAX_REQUESTS_PER_SECOND,
        False,
        False,
        "average request rate",
    ),
    "peak_to_average": ("-", 1.0, MAX_PEAK_TO_AVERAGE, False, False, "peak over average demand"),
    "ttft_slo_s": ("s", MIN_TTFT_S, MAX_TTFT_S, False, False, "time-to-first-token target"),
    "tpot_slo_s": ("s", MIN_TPOT_S, MAX_TPOT_S, False, False, "time-per-output-token target"),
}

# accelerator column -> (unit, low, low_open, description)
_ACCELERATOR_COLUMNS: dict[str, tuple[str, float, bool, str]] = {
    "memory_gb": ("GB", 0.0, True, "memory capacity"),
    "memory_bandwidth_tb_s": ("TB/s", 0.0, True, "peak memory bandwidth"),
    "bf16_dense_tflops": ("TFLOP/s", 0.0, True, "dense BF16 peak"),
    "fp8_dense_tflops": ("TFLOP/s", 0.0, True, "dense FP8 peak"),
    "fp4_dense_tflops": ("TFLOP/s", 0.0, True, "dense FP4 peak"),
    "int8_dense_tops": ("TOP/s", 0.0, True, "dense INT8 peak"),
    "scaleup_bandwidth_gb_s": ("GB/s", 0.0, True, "scale-up bandwidth, bidirectional"),
    "scaleout_bandwidth_gb_s": ("GB/s", 0.0, True, "scale-out bandwidth, per direction"),
    "tdp_w": ("W", 0.0, True, "maximum board power"),
    "price_usd": ("USD", 0.0, True, "purchase price"),
}

_REGION_COLUMNS: dict[str, tuple[str, float, float, bool, str]] = {
    "electricity_usd_per_kwh": ("USD/kWh", 0.0, INF, True, "electricity price"),
    "grid_co2e_g_per_kwh": ("gCO2e/kWh", 0.0, INF, False, "grid carbon intensity"),
    "pue": ("-", 1.0, 3.0, False, "power usage effectiveness"),
}

# efficiency factor -> (unit, low, high, low_open, engine field, scale to base units)
_EFFICIENCY_FACTORS: dict[str, tuple[str, float, float, bool, str, float]] = {
    "compute_efficiency": ("-", 0.0, 1.0, True, "compute_efficiency", 1.0),
    "bw_efficiency": ("-", 0.0, 1.0, True, "bw_efficiency", 1.0),
    "comm_efficiency": ("-", 0.0, 10.0, True, "comm_efficiency", 1.0),
    "moe_efficiency": ("-", 0.0, 1.0, True, "moe_efficiency", 1.0),
    "kv_efficiency": ("-", 0.0, 1.0, True, "kv_efficiency", 1.0),
    "overhead_ms": ("ms", 0.0, INF, False, "overhead_s", 1e-3),
    "overhead_per_sequence_us": ("us", 0.0, INF, False, "overhead_per_sequence_s", 1e-6),
    "overhead_per_layer_us": ("us", 0.0, INF, False, "overhead_per_layer_s", 1e-6),
}

MODEL_ERROR_RATIOS: dict[str, str] = {
    "decode_time_ratio": "measured / predicted decode time (TPOT and the rounds' decode time)",
    "prefill_time_ratio": "measured / predicted prefill time (TTFT and the prompts' time)",
}
"""``model_error.<ratio>``: how far the performance model's step times are off, as the
held-out error band measures it (measured / predicted, 1 at the base case). Their default
distributions come from data/error_bands.csv (:func:`tokenfab.uncertainty.default_distributions`);
they scale the predicted times (:func:`_with_model_error`), so the fitted efficiencies keep their
physical bounds."""

# CostInputs field -> (unit, low, high, low_open, high_open)
_COST_FIELDS: dict[str, tuple[str, float, float, bool, bool]] = {
    "useful_life_years": ("years", 0.0, INF, True, False),
    "cost_of_capital_per_year": ("1/year", 0.0, 1.0, False, False),
    "system_share_of_accelerator_price": ("-", 0.0, INF, False, False),
    "facility_capex_usd_per_mw": ("USD/MW", 0.0, INF, False, False),
    "facility_life_years": ("years", 0.0, INF, True, False),
    "operations_share_per_year": ("1/year", 0.0, 1.0, False, False),
    "idle_power_share_of_tdp": ("-", 0.0, 1.0, False, False),
    "memory_power_share": ("-", 0.0, 1.0, False, False),
    "compute_power_share": ("-", 1.0, INF, False, False),
    "network_share_of_cluster_capex": ("-", 0.0, 1.0, False, True),
    "software_usd_per_accelerator_year": ("USD/year", 0.0, INF, False, False),
}

_API_COLUMNS = ("input_usd_per_mtok", "cached_input_usd_per_mtok", "output_usd_per_mtok")
_RENTAL_COLUMN = "on_demand_usd_per_accelerator_hour"
_RENTAL_COLUMNS = {
    "on-demand": _RENTAL_COLUMN,
    "reserved": "reserved_usd_per_accelerator_hour",
    "reserved-1y": "reserved_usd_per_accelerator_hour",
    "reserved-3y": "reserved_usd_per_accelerator_hour",
}
"""The rentals column a scenario's ``rental_term`` prices (the key its samples address)."""


def _generic_fields() -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for key, (unit, lo, hi, lo_open, hi_open, desc) in _SCENARIO_FIELDS.items():
        out[key] = FieldSpec(key, unit, lo, hi, lo_open, hi_open, desc)
    for col, (unit, lo, lo_open, desc) in _ACCELERATOR_COLUMNS.items():
        key = f"accelerators.<id>.{col}"
        out[key] = FieldSpec(key, unit, lo, INF, lo_open, False, desc)
    for col, (unit, lo, hi, lo_open, desc) in _REGION_COLUMNS.items():
        key = f"regions.<id>.{col}"
        out[key] = FieldSpec(key, unit, lo, hi, lo_open, False, desc)
    for f, (unit, lo, hi, lo_open, _, _) in _EFFICIENCY_FACTORS.items():
        key = f"efficiency.{f}"
        out[key] = FieldSpec(key, unit, lo, hi, lo_open, False, "factor of the engine in use")
    for f, desc in MODEL_ERROR_RATIOS.items():
        key = f"model_error.{f}"
        out[key] = FieldSpec(key, "-", 0.0, INF, True, False, desc)
    for f, (unit, lo, hi, lo_open, hi_open) in _COST_FIELDS.items():
        key = f"cost.{f}"
        out[key] = FieldSpec(key, unit, lo, hi, lo_open, hi_open, "ownership-cost assumption")
    for col in _API_COLUMNS:
        key = f"api-prices.<id>.{col}"
        out[key] = FieldSpec(key, "USD/Mtok", 0.0, INF, False, False, "API list price")
    for column in dict.fromkeys(_RENTAL_COLUMNS.values()):
        terms = ", ".join(t for t, c in _RENTAL_COLUMNS.items() if c == column)
        key = f"rentals.<id>.{column}"
        what = f"rental price of a scenario with rental_term: {terms}"
        out[key] = FieldSpec(key, "USD/h", 0.0, INF, True, False, what)
    return out


def fields(scenario: Scenario | Mapping[str, Any] | None = None, *, catalog: Catalog | None = None):
    """The inputs :func:`evaluate` accepts as samples, with unit, range and base value.

    Without a scenario: every kind of key, catalog rows as ``<id>``. With one: the concrete
    keys of that scenario (its accelerator, region, engine, cost assumptions, the API offers
    of its model and the rental offers of its accelerator), each with the value the scalar
    estimate uses (``base``). Catalog columns empty in the catalog are not listed: a sample
    cannot give a chip a format or a price it does not have.

    Returns
    -------
    dict
        ``{key: FieldSpec}``.

    Examples
    --------
    >>> f = fields(Scenario(model="llama-3.1-8b", accelerator="h100-sxm"))
    >>> f["accelerators.h100-sxm.memory_bandwidth_tb_s"].base, f["regions.us.pue"].unit
    (3.35, '-')
    """
    if scenario is None:
        return _generic_fields()
    return dict(_base(Scenario.parse(scenario), catalog or default_catalog()).specs)


_BASES: dict[tuple[str, int], _Base] = {}
_BASES_KEPT = 16


def _base(scenario: Scenario, catalog: Catalog) -> _Base:
    """The resolved base case, kept for the last few scenarios: a tornado or Sobol study calls
    :func:`evaluate` many times on one scenario, and the scalar estimate behind the base case
    is the slow part of a small call."""
    if scenario.prefill_accelerator is not None:  # the grid is one accelerator's
        from tokenfab.perf.operating import HETERO_ONLY

        raise ScenarioError(HETERO_ONLY)
    key = (scenario.model_dump_json(), id(catalog))
    hit = _BASES.get(key)
    if hit is None or hit.catalog is not catalog:
        hit = _Base.build(scenario, catalog, None)
        if len(_BASES) >= _BASES_KEPT:
            _BASES.pop(next(iter(_BASES)))
        _BASES[key] = hit
    return hit


def kpi_keys() -> tuple[str, ...]:
    """The numeric keys of ``estimate --json`` (:class:`tokenfab.schema.EstimateResult`), in its
    order: the keys of :attr:`PipelineResult.kpis`."""
    return _kpi_keys()


_KEYS: tuple[str, ...] = ()


def _kpi_keys() -> tuple[str, ...]:
    global _KEYS
    if not _KEYS:
        from tokenfab.schema import EstimateResult

        numeric = (int, float, float | None, int | None)
        _KEYS = tuple(k for k, f in EstimateResult.model_fields.items() if f.annotation in numeric)
    return _KEYS


# -- the result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineResult:
    """KPIs of ``n`` samples: one array of ``n`` a key, NaN where a sample is infeasible."""

    n: int
    kpis: dict[str, NDArray[np.float64]]
    feasible: NDArray[np.bool_]
    reasons: dict[str, int]  # infeasible samples by the first reason that applies
    base: dict[str, Any]  # the scalar estimate of the scenario itself (``estimate --json``)
    reoptimised: bool = False

    @property
    def feasible_share(self) -> float:
        return float(np.mean(self.feasible)) if self.n else math.nan


# -- the base case, resolved once --------------------------------------------------------------


@dataclass(frozen=True)
class _Offer:
    id: str
    base: tuple[float, ...]


@dataclass(frozen=True)
class _Base:
    """Everything a chunk needs from the scalar estimate of the scenario."""

    scenario: Scenario  # with the workload's targets
    catalog: Catalog
    setup: Setup
    est: Any  # tokenfab.planning.Estimate
    inputs: CostInputs
    lay: Layout  # the operating point's layout (scalars)
    per_replica: int
    mode: str  # "fixed" (no demand) | "count" (demand, fixed fleet) | "sized" (demand)
    batch: float
    clients: float | None  # closed-loop clients a replica holds (``concurrency``), else None
    visible_output_tokens: float
    reasoning_tokens: float
    licence_usd_per_year: float
    rentals: tuple[_Offer, ...]  # the offers the scenario's rental term prices
    rental_column: str  # the rentals column of that term (the key samples address)
    apis: tuple[_Offer, ...]
    embodied_kg: float | None
    embodied_life_years: float
    bases: dict[str, float | None]  # each input's base value, by key (:attr:`specs`)

    @cached_property
    def _grid_stats(self) -> tuple[float, float, float]:
        """From the grid the scalar estimate chose from: the batch of the base layout's highest
        request rate, the grid's largest batch over all layouts and the base layout's largest
        batch. Built on first use only: a fixed deployment evaluated at its own batch (the
        calculator's one estimate) needs none of them."""
        return _row_stats(self.scenario, self.setup, self.lay, self.mode)

    @property
    def batch_top(self) -> float:
        """Batch of the layout's highest request rate (queueing in demand modes)."""
        return self._grid_stats[0]

    @property
    def grid_top(self) -> float:
        """The base grid's largest batch over all layouts (its log grid's end)."""
        return self._grid_stats[1]

    @property
    def row_max_batch(self) -> float:
        """The largest batch of the base layout."""
        return self._grid_stats[2]

    @property
    def batch_fixed(self) -> bool:
        """The scalar path evaluates one batch only: the scenario's, the clients', or 1 for
        min-latency without a demand (:func:`tokenfab.scenario.batch_fixed_by`, the rule by
        which ``montecarlo --reoptimise`` is refused on such a scenario)."""
        return batch_fixed_by(self.scenario) is not None

    @classmethod
    def build(cls, scenario: Scenario, cat: Catalog, est: Any) -> _Base:
        from tokenfab.carbon import embodied_table
        from tokenfab.planning import evaluate as scalar_evaluate
        from tokenfab.planning import latest_api_prices, licence_usd_per_accelerator_year
        from tokenfab.sizing import demand_output_tok_s

        est = est or scalar_evaluate(scenario, cat)
        op = est.op
        setup = op.setup
        sc = with_workload_targets(scenario, cat)
        inputs = default_cost_inputs(cat)
        lay = layout(
            op.tensor_parallel, op.pipeline_parallel, op.expert_parallel, op.attention_data_parallel
        )
        demand = demand_output_tok_s(sc, setup.output_tokens)
        mode = "fixed" if demand is None else ("count" if sc.accelerators is not None else "sized")
        work = cat.workload(sc.workload) if sc.workload else None
        o_vis = sc.output_tokens or (work.output_tokens if work else DEFAULT_OUTPUT_TOKENS)
        r = (
            sc.reasoning_tokens
            if sc.reasoning_tokens is not None
            else (work.reasoning_tokens if work else 0)
        )
        licence, _ = licence_usd_per_accelerator_year(
            cat, sc.software_licence, setup.accelerator.id, setup.engine.software, sc.ownership
        )
        rentals = tuple(
            _Offer(o.id, (float(rental_rate_usd_per_accelerator_hour(o, sc.rental_term)),))
            for o in _current_rentals(cat.table("rentals"))
            if o.accelerator_id == setup.accelerator.id
            and _has_price(o, sc.rental_term)
            and (sc.rental_provider is None or o.provider.lower() == sc.rental_provider.lower())
        )
        apis = tuple(
            _Offer(
                p.id,
                (
                    p.input_usd_per_mtok,
                    p.input_usd_per_mtok
                    if p.cached_input_usd_per_mtok is None
                    else p.cached_input_usd_per_mtok,
                    p.output_usd_per_mtok,
                ),
            )
            for p in latest_api_prices(cat, setup.model.id)
        )
        row_emb = embodied_table().get(setup.accelerator.id)
        base = cls(
            scenario=sc,
            catalog=cat,
            setup=setup,
            est=est,
            inputs=inputs,
            lay=lay,
            per_replica=op.accelerators // op.replicas,
            mode=mode,
            batch=float(op.batch_size),
            clients=None
            if sc.concurrency is None
            else sc.concurrency
            / max((sc.accelerators or 1) // (op.accelerators // op.replicas), 1),
            visible_output_tokens=float(o_vis),
            reasoning_tokens=float(r),
            licence_usd_per_year=licence,
            rentals=rentals,
            rental_column=_RENTAL_COLUMNS[sc.rental_term],
            apis=apis,
            embodied_kg=None
            if row_emb is None
            else row_emb.accelerator_kgco2e + row_emb.host_kgco2e,
            embodied_life_years=default_cost_inputs(default_catalog()).useful_life_years,
            bases={},
        )
        object.__setattr__(base, "bases", {row[0]: row[-1] for row in base._spec_rows()})
        return base

    # -- the inputs and their base values ------------------------------------------------------

    @cached_property
    def specs(self) -> dict[str, FieldSpec]:
        """Every input a sample may vary, by key. Built on first use only: the calculator's
        one estimate reads only the base values (:attr:`bases`)."""
        return {row[0]: FieldSpec(*row) for row in self._spec_rows()}

    def _spec_rows(self) -> Iterator[tuple[Any, ...]]:
        """Each input as :class:`FieldSpec`'s fields: key, unit, range, description, base."""
        s, sc = self.setup, self.scenario
        acc, region = s.accelerator, self.catalog.region(sc.region)
        eng = s.engine.engine
        base_scenario = {
            # with a demand the utilisation follows from it; without one there is no peak
            "utilization": None
            if self.mode != "fixed"
            else sc.utilization or self.inputs.default_utilization,
            "input_tokens": s.input_tokens,
            "output_tokens": self.visible_output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "prefix_cache_hit_rate": s.prefix_cache_hit_rate,
            "steps_per_task": s.steps_per_task,
            "acceptance_rate": (sc.acceptance_rate or 0.0) if sc.speculative_tokens else None,
            "gpu_memory_utilization": float(eng.memory_utilization),
            "tokens_per_day": sc.tokens_per_day,
            "requests_per_second": sc.requests_per_second,
            "peak_to_average": None if self.mode == "fixed" else sc.peak_to_average,
            "ttft_slo_s": sc.ttft_slo_s,
            "tpot_slo_s": sc.tpot_slo_s,
        }
        for key, (unit, lo, hi, lo_open, hi_open, desc) in _SCENARIO_FIELDS.items():
            b = base_scenario[key]
            yield (key, unit, lo, hi, lo_open, hi_open, desc, _f(b))
        for col, (unit, lo, lo_open, desc) in _ACCELERATOR_COLUMNS.items():
            if getattr(acc, col, None) is not None:
                key = f"accelerators.{acc.id}.{col}"
                yield (key, unit, lo, INF, lo_open, False, desc, _f(getattr(acc, col)))
        for col, (unit, lo, hi, lo_open, desc) in _REGION_COLUMNS.items():
            key = f"regions.{region.id}.{col}"
            yield (key, unit, lo, hi, lo_open, False, desc, _f(getattr(region, col)))
        for f, (unit, lo, hi, lo_open, field, scale) in _EFFICIENCY_FACTORS.items():
            key = f"efficiency.{f}"
            b = float(getattr(eng, field)) / scale
            yield (key, unit, lo, hi, lo_open, False, f"{s.engine.software}", b)
        for f, desc in MODEL_ERROR_RATIOS.items():
            yield (f"model_error.{f}", "-", 0.0, INF, True, False, desc, 1.0)
        for f, (unit, lo, hi, lo_open, hi_open) in _COST_FIELDS.items():
            key = f"cost.{f}"
            b = getattr(self.inputs, f)
            yield (key, unit, lo, hi, lo_open, hi_open, "cost assumption", _f(b))
        for offer in self.apis:
            for col, b in zip(_API_COLUMNS, offer.base, strict=True):
                key = f"api-prices.{offer.id}.{col}"
                yield (key, "USD/Mtok", 0.0, INF, False, False, "API price", b)
        for offer in self.rentals:
            key = f"rentals.{offer.id}.{self.rental_column}"
            what = f"{self.scenario.rental_term} rental"
            yield (key, "USD/h", 0.0, INF, True, False, what, offer.base[0])

    def check(self, samples: Mapping[str, Any]) -> tuple[int, dict[str, NDArray]]:
        """Samples as float arrays of one length, every key known and every value in range."""
        arrays: dict[str, NDArray] = {}
        n: int | None = None
        first = ""
        for key, raw in samples.items():
            spec = self.specs.get(key)
            if spec is None:
                raise ScenarioError(_unknown_key(key, self))
            try:
                arr = np.asarray(raw, dtype=float)
            except (TypeError, ValueError):
                raise ScenarioError(f"{key}: samples are not numbers") from None
            if arr.ndim != 1:
                raise ScenarioError(f"{key}: samples must be a 1-D array, got shape {arr.shape}")
            if n is None:
                n, first = arr.size, key
            elif arr.size != n:
                raise ScenarioError(
                    f"{key}: {plural(arr.size, 'sample')}, but {first} has {n}; every input needs the "
                    "same number"
                )
            if spec.base is None and key not in (
                "ttft_slo_s",
                "tpot_slo_s",
            ):  # targets may be added
                raise ScenarioError(_no_base(key, self))
            spec.check(arr)
            arrays[key] = arr
        if n is not None and n > MAX_SAMPLES:
            raise ScenarioError(f"samples: {n:,} samples exceed the limit of {MAX_SAMPLES:,}")
        return (1 if n is None else n), arrays


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


_MODELS_REFUSAL = (
    "{key}: a model's catalog columns are its architecture (layers, heads, parameters, "
    "context), exact and not sampled; its speed varies through efficiency.<factor> "
    "({factors}) and the performance model's error through model_error.<ratio> ({ratios}), "
    "and its tokens through input_tokens, output_tokens, reasoning_tokens, "
    "prefix_cache_hit_rate (tokenfab.pipeline.fields(scenario) lists every input)"
)
"""Why ``models.<id>.<column>`` is not an input: the perf model takes the architecture as
exact (a model's shape is one set of integers, not a sample axis); what is uncertain about a
model's speed is how well the engine runs it, which the efficiency factors carry."""


def refusal(key: str, scenario: Scenario | Mapping[str, Any], catalog: Catalog | None = None):
    """The one-line reason ``key`` is not an input of ``scenario`` (None when it is one).

    Examples
    --------
    >>> sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm")
    >>> refusal("models.llama-3.1-8b.total_params_b", sc).split(";")[0]
    "models.llama-3.1-8b.total_params_b: a model's catalog columns are its architecture (layers, heads, parameters, context), exact and not sampled"
    >>> refusal("regions.us.pue", sc) is None
    True
    """
    base = _base(Scenario.parse(scenario), catalog or default_catalog())
    return None if key in base.specs else _unknown_key(key, base)


def _unknown_key(key: str, base: _Base) -> str:
    head = key.split(".")[0]
    same = sorted(k for k in base.specs if k.split(".")[0] == head)
    if head == "models":
        return _MODELS_REFUSAL.format(
            key=key,
            factors=", ".join(_EFFICIENCY_FACTORS),
            ratios=", ".join(MODEL_ERROR_RATIOS),
        )
    if same:
        return f"{key}: not an input of this scenario; allowed: {', '.join(same)}"
    scen = ", ".join(_SCENARIO_FIELDS)
    return (
        f"{key}: unknown input; allowed: scenario fields ({scen}) or catalog paths "
        f"accelerators.{base.setup.accelerator.id}.<column>, regions.{base.scenario.region}."
        "<column>, efficiency.<factor>, model_error.<ratio>, cost.<assumption>, "
        "api-prices.<id>.<column>, "
        "rentals.<id>.<column> (tokenfab.pipeline.fields(scenario) lists them)"
    )


def _no_base(key: str, base: _Base) -> str:
    if key == "utilization":
        return (
            "utilization: the scenario sizes for a demand, so its utilisation follows from the "
            "demand and the capacity; vary tokens_per_day or requests_per_second instead"
        )
    if key == "acceptance_rate":
        return (
            "acceptance_rate: the scenario drafts no speculative tokens (speculative_tokens 0); "
            "set speculative_tokens to vary the acceptance rate"
        )
    if key in ("tokens_per_day", "requests_per_second", "peak_to_average"):
        return (
            f"{key}: the scenario states no demand of this kind; give it a base {key} to vary"
            if key != "peak_to_average"
            else f"{key}: the scenario states no demand; give it tokens_per_day or "
            "requests_per_second to vary its peak"
        )
    return f"{key}: the scenario sets no {key}; give it a base value to vary"


def _row_stats(sc: Scenario, setup: Setup, lay: Layout, mode: str) -> tuple[float, float, float]:
    """:attr:`_Base._grid_stats` from the base layout's row alone: the largest batch of every
    layout the scalar grid holds fixes its log batch grid (memory arithmetic, no step
    times); the row is then evaluated on that grid as the scalar estimate evaluated it (one
    layout instead of all of them: :func:`tokenfab.sizing.sizing_grid`'s every replica size
    with a demand, sized or on a fixed count, :func:`tokenfab.perf.operating.scenario_layouts`
    without one)."""
    from tokenfab.perf.operating import candidate_layouts, max_batches
    from tokenfab.sizing import MAX_REPLICA_ACCELERATORS

    if mode in ("sized", "count"):
        every = candidate_layouts(
            setup,
            MAX_REPLICA_ACCELERATORS,
            sc.tensor_parallel,
            sc.pipeline_parallel,
            sc.expert_parallel,
            sc.attention_data_parallel,
            sc.moe_tensor_parallel,
        )
    else:
        every = scenario_layouts(setup, sc.accelerators or 1)
    top = max(float(np.max(max_batches(setup, every))), 1.0)
    row = layout(
        *(np.atleast_1d(v) for v in (lay.tensor_parallel, lay.pipeline_parallel)),
        *(np.atleast_1d(v) for v in (lay.expert_parallel, lay.attention_data_parallel)),
    )
    row_max = float(max_batches(setup, row)[0])
    if sc.batch_size is not None:
        batch = np.array([float(sc.batch_size)])
    elif sc.objective == "min-latency" and sc.requests_per_second is None and mode == "fixed":
        batch = np.array([1.0])
    else:  # operating.batch_grid of the whole grid, closed by this row's largest batch
        points = np.unique(np.round(np.logspace(0, np.log10(top), BATCH_GRID_POINTS)))
        batch = np.concatenate([points, [max(row_max, 1.0)]])
    grid = evaluate_grid(setup, row, batch)
    rate = np.where(grid.valid[0], grid.output_tok_s_replica[0], -np.inf)
    return float(grid.batch[0, int(np.argmax(rate))]), top, row_max


# -- one chunk ---------------------------------------------------------------------------------


class _Inputs:
    """Sample values where given, base values elsewhere (scalars broadcast)."""

    def __init__(self, base: _Base, samples: Mapping[str, NDArray]):
        self.base, self.s = base, samples

    def __call__(self, key: str) -> Any:
        if key in self.s:
            return self.s[key]
        return self.base.bases[key]

    def has(self, key: str) -> bool:
        return key in self.s


def _engine(base: _Base, x: _Inputs) -> Engine:
    eng = base.setup.engine.engine
    changes: dict[str, Any] = {}
    for f, (_, _, _, _, field, scale) in _EFFICIENCY_FACTORS.items():
        if x.has(f"efficiency.{f}"):
            changes[field] = x(f"efficiency.{f}") * scale
    if x.has("gpu_memory_utilization"):
        changes["memory_utilization"] = x("gpu_memory_utilization")
        changes["memory_utilization_follows_tp"] = np.asarray(0.0)  # given: the same at every TP
    return replace(eng, **changes) if changes else eng


def _hardware(base: _Base, x: _Inputs) -> Hardware:
    acc = base.setup.accelerator
    values = {
        col: x.s[f"accelerators.{acc.id}.{col}"]
        for col in _ACCELERATOR_COLUMNS
        if f"accelerators.{acc.id}.{col}" in x.s
    }
    return hardware(acc, base.setup.precision, values) if values else base.setup.hw


@dataclass
class _Point:
    """Per-sample operating point before sizing (one value a sample)."""

    batch: NDArray
    max_batch: NDArray
    st: SteadyState
    roof_out: NDArray
    top_out: NDArray  # output tok/s of a replica at its highest request rate


def _state(base: _Base, hw: Hardware, eng: Engine, lay: Layout, batch: Any, tok: dict) -> Any:
    s = base.setup
    fn = disaggregated_state if base.scenario.disaggregated else steady_state
    return fn(s.shape, hw, eng, lay, s.weight_bytes_per_param, s.kv_bytes_per_element, batch, **tok)


def _output_tok_s(base: _Base, hw: Hardware, eng: Engine, batch: Any, tok: dict) -> Any:
    """Output tok/s of a replica at ``batch``: the throughput alone (two rounds, not four)
    where batching is continuous, the whole state where prefill and decode are split."""
    if base.scenario.disaggregated:
        return _state(base, hw, eng, base.lay, batch, tok).output_tok_s
    s = base.setup
    args = (s.shape, hw, eng, base.lay, s.weight_bytes_per_param, s.kv_bytes_per_element)
    return steady_output_tok_s(*args, batch, **tok)


_ROOF_KEYS = frozenset({"roofline_output_tok_s_total", "roofline_fraction"})


def _roof_out(base: _Base, hw, eng, batch, tok, keys: tuple[str, ...]) -> Any:
    """Output tok/s of a replica at the roofline (every efficiency 1), if a key needs it."""
    if _ROOF_KEYS.isdisjoint(keys):
        return np.nan
    return _output_tok_s(base, hw, eng.roofline(), batch, tok)


def _with_roofline(eng: Engine) -> Engine:
    """The engine with a leading axis of two, 0 the engine and 1 its roofline, ahead of the
    sample axis (:func:`tokenfab.perf.operating._with_roofline` for a grid's axes)."""
    roof = vars(eng.roofline())
    stacked = {}
    for name, value in vars(eng).items():
        if roof[name] is value:  # roofline() passes the fields it keeps on as they are
            continue
        pair = np.stack(
            np.broadcast_arrays(np.asarray(value, float), np.asarray(roof[name], float))
        )
        stacked[name] = pair.reshape(2, 1) if pair.ndim == 1 else pair
    return replace(eng, **stacked)


def _fixed_point(
    base: _Base, hw, eng, tok, bmax, keys, chosen: GridPoint | None = None, err: ModelError = None
) -> _Point:
    n = np.shape(bmax)
    # closed-loop clients: each sample's replica holds as many as its memory allows
    # (perf.operating.closed_loop), the rest wait for a slot
    batch = base.batch if base.clients is None else np.maximum(np.minimum(base.clients, bmax), 1.0)
    carried = chosen is not None and bool(np.all(chosen.state.batch_size == batch))
    if carried:  # the base case at the point the scalar search chose: its grid computed it
        st, roof = chosen.state, chosen.roofline_output_tok_s
    elif _ROOF_KEYS.isdisjoint(keys) or math.prod(n) > STACK_MAX_ELEMENTS:
        st = _state(base, hw, eng, base.lay, batch, tok)
        roof = _roof_out(base, hw, eng, batch, tok, keys)
    else:  # few samples: the engine and its roofline in one call (per-call cost dominates)
        both = _state(base, hw, _with_roofline(eng), base.lay, batch, tok)
        st = SteadyState(*(v[0] if np.ndim(v) > len(n) else v for v in _values(both)))
        roof = both.output_tok_s[1]
    st = _with_model_error(st, err)
    if base.mode == "fixed":
        top = st.output_tok_s
    elif carried:  # the search's grid holds the layout's row: batch_top's throughput is there
        top = chosen.top_output_tok_s
    elif base.batch_top == base.batch:
        top = st.output_tok_s
    elif err is not None:  # the error scales by the prompts' share: the whole state
        top_st = _state(base, hw, eng, base.lay, base.batch_top, tok)
        top = _with_model_error(top_st, err).output_tok_s
    else:
        top = _output_tok_s(base, hw, eng, base.batch_top, tok)
    # a fixed batch is one number for every sample: returned as such, not an array of copies
    return _Point(batch, bmax, _bcast(st, n), np.broadcast_to(roof, n), np.broadcast_to(top, n))


def _bcast(st: SteadyState, shape: tuple[int, ...]) -> SteadyState:
    if math.prod(shape) == 1:  # one sample: a copy is cheaper than a view
        return SteadyState(*(np.full(shape, v, dtype=float) for v in _values(st)))
    return SteadyState(*(np.broadcast_to(np.asarray(v, dtype=float), shape) for v in _values(st)))


def _values(st: SteadyState) -> list[Any]:
    return [
        st.batch_size,
        st.tpot_s,
        st.ttft_service_s,
        st.output_tok_s,
        st.prefill_tok_s,
        st.prefill_time_share,
        st.memory_bound,
        st.hbm_busy_share,
        st.compute_busy_share,
    ]


ModelError = tuple[Any, Any] | None
"""The sampled ``(decode, prefill)`` measured / predicted time ratios, or None where neither
is sampled (the predicted times stand)."""


def _with_model_error(st: SteadyState, err: ModelError) -> SteadyState:
    """A replica's state with its predicted times multiplied by the model's error.

    ``err = (r_d, r_p)`` (:data:`MODEL_ERROR_RATIOS`): TPOT times ``r_d`` and the prompt's
    first-token service time times ``r_p`` -- what the held-out bands of measured / predicted
    TPOT and TTFT describe; a round's time is ``1 - s`` decode and ``s`` prompts (``s`` the
    prefill time share), so it takes ``f = (1 - s) r_d + s r_p`` times the predicted time: the
    replica's output and prefill throughput divide by ``f``, the prompts' share becomes
    ``s r_p / f`` and the memory and compute busy shares (the same bytes and FLOPs over a longer
    round) divide by ``f``, at most 1 (:func:`~tokenfab.perf.serving.busy_shares`). The roofline is physical and is not scaled. Arrays broadcast
    (``err`` of shape ``(n, 1)`` against a grid of ``(n, batches)``).
    """
    if err is None:
        return st
    r_d, r_p = err
    s = st.prefill_time_share
    f = (1.0 - s) * r_d + s * r_p
    return SteadyState(
        st.batch_size,
        st.tpot_s * r_d,
        st.ttft_service_s * r_p,
        st.output_tok_s / f,
        st.prefill_tok_s / f,
        s * r_p / f,
        st.memory_bound,
        np.minimum(st.hbm_busy_share / f, 1.0),  # at most busy all the time, as busy_shares
        np.minimum(st.compute_busy_share / f, 1.0),
    )


def _model_error(x: _Inputs) -> ModelError:
    """The sample's ``(r_d, r_p)``, or None where neither is sampled."""
    keys = [f"model_error.{k}" for k in MODEL_ERROR_RATIOS]
    if not any(x.has(k) for k in keys):
        return None
    return x(keys[0]), x(keys[1])


def _evaluate_chunk(
    base: _Base,
    samples: Mapping[str, NDArray],
    n: int,
    reoptimise: bool,
    keys: tuple[str, ...],
    chosen: GridPoint | None = None,
) -> tuple[dict[str, NDArray], NDArray, NDArray]:
    """KPIs of ``n`` samples (arrays or scalars, infeasible samples not yet masked),
    feasibility, and the index of each sample's reason (``len(REASONS)``: feasible).

    ``chosen``: the base case's point as the scalar search's grid computed it (no samples
    only), taken instead of computing its steady state, largest batch and (from the operating
    point) memory per accelerator again."""
    x = _Inputs(base, samples)
    s, sc = base.setup, base.scenario
    hw, eng = _hardware(base, x), _engine(base, x)
    i = x("input_tokens")
    o = x("output_tokens") + x("reasoning_tokens")
    hit = x("prefix_cache_hit_rate")
    ones = np.ones(n)
    i, o, hit = i * ones, o * ones, hit * ones
    tok = {
        "input_tokens": i,
        "output_tokens": o,
        "prefix_cache_hit_rate": hit,
        "speculative_tokens": float(sc.speculative_tokens),
        "acceptance_rate": x("acceptance_rate"),
    }
    lay = base.lay
    bpp, kvb = s.weight_bytes_per_param, s.kv_bytes_per_element
    if chosen is None:
        bmax = max_batch_size(s.shape, hw, eng, lay, bpp, kvb, i, o, i * (1 - hit)) * ones
    else:
        bmax = chosen.max_batch * ones
    demand = _demand(base, x, o)
    peak = None if demand is None else demand * x("peak_to_average")
    chosen_ok = carries_re = replicas_re = wait_re = None
    err = _model_error(x)
    if reoptimise and not base.batch_fixed:
        pt, chosen_ok, carries_re, replicas_re, wait_re = _reoptimised_point(
            base, hw, eng, tok, bmax, o, peak, x, keys, err
        )
    else:
        pt = _fixed_point(base, hw, eng, tok, bmax, keys, chosen, err)
    st = pt.st
    a = float(base.per_replica)
    x_rep = st.output_tok_s
    # replicas and the queueing wait, as the scalar path sizes them
    # numbers the same for every sample stay scalars (no array to fill, write and return)
    if base.mode == "fixed":
        replicas: Any = float(base.est.op.replicas)
        wait: Any = (
            0.0 if base.clients is None else _closed_loop_wait_s(base, hw, eng, pt, tok, err)
        )
        carries = np.ones(n, dtype=bool)
    elif base.mode == "count":
        replicas = float(base.est.op.replicas)
        need = peak / replicas / o  # requests/s each replica must carry at the peak (in the
        # order tokenfab.sizing divides: the same TTFT to the last digit)
        carries = x_rep / o >= need
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            wait = md1_wait_s(need, 1.0 / (pt.top_out / o))
    elif replicas_re is not None:
        replicas, wait, carries = replicas_re, wait_re, np.ones(n, dtype=bool)
    else:
        safe = np.where(x_rep > 0, x_rep, 1.0)
        replicas = np.maximum(np.ceil(peak / safe * (1 - 1e-12)), 1.0)
        if sc.disaggregated:
            replicas = np.maximum(replicas, 2.0)
        with np.errstate(divide="ignore", over="ignore"):
            if x("ttft_slo_s") is None:  # the sizing's queue headroom (tokenfab.sizing)
                wait_r = replicas_for_wait(peak, pt.top_out, o, DEFAULT_QUEUE_WAIT_S)
            else:  # the wait the target leaves after the point's TTFT service
                wait_r = replicas_for_ttft(
                    peak, safe, pt.top_out, o, x("ttft_slo_s"), st.ttft_service_s
                )
        replicas = np.where(pt.top_out > 0, np.maximum(replicas, wait_r), replicas)
        if sc.disaggregated:  # whole prefill and decode pools carry the peak at the batch
            replicas = whole_pool_replicas(peak, replicas, x_rep, st.prefill_time_share)
        load = peak / replicas
        carries = np.ones(n, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            wait = md1_wait_s(load / o, 1.0 / (np.maximum(pt.top_out, 1e-300) / o))
    if carries_re is not None:
        carries = carries_re
    ttft = st.ttft_service_s + wait
    out = x_rep * replicas
    prefill = st.prefill_tok_s * replicas
    share = st.prefill_time_share
    n_prefill: Any = 0.0
    n_decode: Any = 0.0
    if sc.disaggregated:
        n_prefill, n_decode, split = disaggregated_split_arrays(replicas, x_rep, share)
        # a sized fleet's whole pools carry the peak already (whole_pool_replicas)
        if base.mode == "count":  # a fixed fleet carries what its whole pools carry
            carries = carries & (split >= peak * (1 - 1e-9))
        out = x_rep * replicas
        scale = split / out
        prefill = st.prefill_tok_s * replicas * scale
        out, share = split, n_prefill / replicas
    accelerators = replicas * a
    # feasibility, first reason first
    tpot_slo = x("tpot_slo_s")
    ttft_slo = x("ttft_slo_s")
    checks = [
        i + o > s.model.max_context_tokens,
        bmax < np.maximum(pt.batch, 1.0),
        ~carries,
        st.tpot_s > (INF if tpot_slo is None else tpot_slo),
        ttft > (INF if ttft_slo is None else ttft_slo),
    ]
    if chosen_ok is not None:  # reoptimised and no batch met every target together
        missed = ~chosen_ok & ~checks[1] & ~checks[2] & ~checks[3] & ~checks[4]
        checks[3] = checks[3] | missed
    reason = np.full(n, len(REASONS))
    for k in range(len(checks) - 1, -1, -1):
        reason = np.where(checks[k], k, reason)
    feasible = reason == len(REASONS)

    def safe_(v: Any) -> NDArray:
        return np.where(feasible, v, 1.0)

    if demand is None:
        u = x("utilization") * ones
    else:
        u = np.minimum(demand / np.where(feasible, out, 1.0), 1.0)
    if chosen is None:
        w_acc = weight_bytes_per_accelerator(s.shape, lay, bpp)
        kv_acc = kv_budget_bytes(s.shape, hw, eng, lay, bpp)
        reserve = runtime_reserve_bytes(s.shape, eng, lay, bpp)
        memory_gb = (w_acc / 1e9, np.maximum(kv_acc, 0.0) / 1e9, reserve / 1e9)
    else:  # the operating point's: the same functions of the same layout and engine
        op = base.est.op
        memory_gb = (
            op.weights_gb_per_accelerator,
            op.kv_gb_per_accelerator,
            op.reserve_gb_per_accelerator,
        )
    vals: dict[str, Any] = {
        "accelerators": accelerators,
        "tensor_parallel": float(lay.tensor_parallel),
        "pipeline_parallel": float(lay.pipeline_parallel),
        "expert_parallel": float(lay.expert_parallel),
        "attention_data_parallel": float(lay.attention_data_parallel),
        "moe_tensor_parallel": float(lay.moe_tensor_parallel),
        "replicas": replicas,
        "prefill_replicas": n_prefill,
        "decode_replicas": n_decode,
        # the scalar reports the whole sequences of a fractional clients-per-replica batch
        "batch_size": pt.batch if base.clients is None else np.floor(pt.batch),
        "max_batch_size": bmax,
        "input_tokens": i,
        "output_tokens": o,
        "input_tok_s": out * i / o,
        "prefill_tok_s": prefill,
        "prefix_cache_hit_rate": hit,
        "output_tok_s_total": out,
        "output_tok_s_per_accelerator": out / accelerators,
        "output_tok_s_per_user": 1.0 / st.tpot_s,
        "ttft_s": ttft,
        "queue_wait_s": wait,
        "tpot_s": st.tpot_s,
        "request_latency_s": ttft + (o - 1.0) * st.tpot_s,
        "requests_per_second": out / o,
        "roofline_output_tok_s_total": pt.roof_out * replicas,
        "roofline_fraction": out / (pt.roof_out * replicas),
        "hbm_busy_share": st.hbm_busy_share,
        "compute_busy_share": st.compute_busy_share,
        "prefill_time_share": share,
        "weights_gb_per_accelerator": memory_gb[0],
        "kv_gb_per_accelerator": memory_gb[1],
        "reserve_gb_per_accelerator": memory_gb[2],
        "accelerators_needed": accelerators,
        "utilization": u,
    }
    band = s.band  # the model's held-out error band (data/error_bands.csv), as the scalar
    if band is not None:
        vals["error_band_coverage"] = band.coverage
        # TTFT under closed-loop clients has its own band (OperatingPoint.error_band_keys)
        ttft_band = "ttft_s_concurrent" if sc.concurrency is not None else "ttft_s"
        for key, metric in (
            ("ttft_s", ttft_band),
            ("tpot_s", "tpot_s"),
            ("output_tok_s_total", "output_tok_s"),
        ):
            if metric in band.low:
                vals[f"{key}_low"] = vals[key] * band.low[metric]
                vals[f"{key}_high"] = vals[key] * band.high[metric]
    vals.update(_money(base, x, n, out, out * i / o, st, share, accelerators, u, o, safe_))
    vals["api_usd_per_mtok_blended"] = _api(base, x, i, o, hit)
    return {k: vals.get(k, np.nan) for k in keys}, feasible, reason


def _closed_loop_wait_s(
    base: _Base, hw: Hardware, eng: Engine, pt: _Point, tok: dict, err: ModelError = None
) -> Any:
    """TTFT beyond the service time of a sample's closed-loop clients [s]
    (:func:`tokenfab.perf.operating.closed_loop` and ``choose``): the clients in flight wait
    :func:`~tokenfab.perf.serving.closed_loop_ttft_s` (times the sampled prefill time ratio,
    :func:`_with_model_error`), the others ``(c - b) / b`` requests' time for a slot."""
    s, st = base.setup, pt.st
    i, o = tok["input_tokens"], tok["output_tokens"]
    prompt = i * (1.0 - tok["prefix_cache_hit_rate"])
    args = (s.shape, hw, eng, base.lay, s.weight_bytes_per_param, s.kv_bytes_per_element)
    eng_s = s.engine
    own = closed_loop_ttft_s(*args, pt.batch, prompt, o, eng_s.frontend_s, eng_s.first_wave_share)
    if err is not None:
        own = own * err[1]
    request_s = own + (o - 1.0) * st.tpot_s
    slots = np.maximum(base.clients - pt.batch, 0.0) / pt.batch * request_s
    return np.maximum(own + slots, st.ttft_service_s) - st.ttft_service_s


def _demand(base: _Base, x: _Inputs, o: NDArray) -> NDArray | None:
    """Average output-token demand [token/s] (``tokenfab.sizing.demand_output_tok_s``)."""
    sc = base.scenario
    if sc.tokens_per_day is not None:
        return x("tokens_per_day") / 86_400.0 * np.ones_like(o)
    if sc.requests_per_second is not None:
        return x("requests_per_second") * o
    return None


def _money(base, x, n, out, inp, st, share, accelerators, u, o, safe_) -> dict[str, Any]:
    """Power, the accelerator-hour, the eight KPIs, embodied carbon and the cost lines."""
    from tokenfab.planning import COST_FIELDS, COST_LINES, ENERGY_FIELDS

    est, s, sc = base.est, base.setup, base.scenario
    acc = s.accelerator
    nan = np.full(n, np.nan)
    lines: dict[str, Any] = {f"cost_{k}_usd_per_hour": nan for k in COST_LINES}
    if est.kpis is None and not est.kpis_left_out:  # no power figure: no energy, carbon or
        # money (as the scalar path)
        return lines
    sampled = {f: x.s[f"cost.{f}"] for f in _COST_FIELDS if f"cost.{f}" in x.s}
    inputs = replace(base.inputs, **sampled) if sampled else base.inputs
    host = host_power_w(acc)
    if est.energy_error is not None:  # rented, power not public: priced, energy NaN below
        tdp: Any = 0.0
        busy = avg = np.zeros(n)
    else:
        tdp = x(f"accelerators.{acc.id}.tdp_w")
        busy = serving_power_w(
            tdp,
            inputs.idle_power_share_of_tdp,
            safe_(st.hbm_busy_share),
            safe_(st.compute_busy_share),
            inputs.memory_power_share,
            inputs.compute_power_share,
        )
        avg = it_power_w(  # the accelerator's draw plus its host's (tokenfab.cost.it_power_w)
            average_power_w(busy, tdp * inputs.idle_power_share_of_tdp, safe_(u)), tdp, host
        )
    region = base.catalog.region(sc.region)
    pue = x(f"regions.{region.id}.pue")
    cost_h: Any = 0.0
    if est.cost is not None and sc.ownership == "rent":
        rates = [x(f"rentals.{r.id}.{base.rental_column}") * np.ones(n) for r in base.rentals]
        rate = np.minimum.reduce(rates)
        software = (base.licence_usd_per_year + inputs.software_usd_per_accelerator_year) / 8760.0
        cost_h = rate + software
        lines["cost_rental_usd_per_hour"] = rate
        software = np.broadcast_to(np.asarray(software, dtype=float), (n,))
        lines["cost_software_usd_per_hour"] = np.where(software != 0, software, np.nan)
    elif est.cost is not None:
        inputs = replace(
            inputs,
            software_usd_per_accelerator_year=inputs.software_usd_per_accelerator_year
            + base.licence_usd_per_year,
        )
        own = ownership_cost_from_inputs(
            inputs,
            price_usd=x(f"accelerators.{acc.id}.price_usd"),
            tdp_w=tdp + host,  # the facility is sized for the node, as tokenfab.planning
            power_w=avg,
            pue=pue,
            electricity_usd_per_kwh=x(f"regions.{region.id}.electricity_usd_per_kwh"),
        )
        cost_h = own.total_usd_per_hour
        for k, v in own.lines().items():
            lines[f"cost_{k}"] = v
    k = compute_kpis(
        output_tok_s_total=safe_(out),
        input_tok_s_total=safe_(inp),
        output_tok_s_per_user=safe_(1.0 / st.tpot_s),
        accelerators=safe_(accelerators),
        power_w=avg,
        busy_power_w=busy,
        prefill_time_share=safe_(share),
        cost_usd_per_accelerator_hour=cost_h,
        grid_co2e_g_per_kwh=x(f"regions.{region.id}.grid_co2e_g_per_kwh"),
        pue=pue,
        utilization=safe_(u),
        output_tokens=o,
        steps_per_task=x("steps_per_task"),
    )
    vals: dict[str, Any] = {f: getattr(k, f) for f in k.__dataclass_fields__}
    vals.pop("accelerators_needed")
    if est.cost is None:
        vals.update({f: nan for f in COST_FIELDS})
    if est.energy_error is not None:
        vals.update({f: nan for f in ENERGY_FIELDS})
    if base.embodied_kg is not None:
        from tokenfab.carbon import embodied_co2e_g_per_mtok

        life = (
            inputs.useful_life_years
            if x.has("cost.useful_life_years")
            else (base.embodied_life_years)
        )
        g = embodied_co2e_g_per_mtok(
            base.embodied_kg, life, safe_(u), safe_(out) / safe_(accelerators)
        )
        vals["embodied_co2e_g_per_mtok"] = g
        vals["total_co2e_g_per_mtok"] = g + vals["co2e_g_per_mtok"]
    return {**lines, **vals}


def _api(base: _Base, x: _Inputs, i: NDArray, o: NDArray, hit: NDArray) -> Any:
    """The cheapest API's price per million served tokens (``planning.cheapest_api``)."""
    from tokenfab.cost import api_cost_usd_per_request

    if not base.apis:
        return np.nan
    cached = i * hit
    costs = [
        api_cost_usd_per_request(i, cached, o, *(x(f"api-prices.{p.id}.{c}") for c in _API_COLUMNS))
        for p in base.apis
    ]
    return np.minimum.reduce(costs) / (i + o) * 1e6


# -- the batch chosen again for each sample ----------------------------------------------------


def _column(obj: Any) -> Any:
    """A Hardware or Engine whose sample-axis fields gain a batch axis: (n,) -> (n, 1)."""
    return replace(
        obj,
        **{k: (v[:, None] if np.ndim(v) == 1 else v) for k, v in obj.__dict__.items()},
    )


def _at(a: Any, j: NDArray, shape: tuple[int, int]) -> NDArray:
    return np.take_along_axis(np.broadcast_to(np.asarray(a, dtype=float), shape), j[:, None], 1)[
        :, 0
    ]


def _hourly_rate(base: _Base, x: _Inputs, n: int) -> tuple[NDArray, NDArray]:
    """The accelerator-hour without power and its price per watt (``planning.hourly_rate``)."""
    est, sc, acc = base.est, base.scenario, base.setup.accelerator
    if est.cost is None:
        return np.ones(n), np.zeros(n)
    inputs = replace(
        base.inputs, **{f: x.s[f"cost.{f}"] for f in _COST_FIELDS if f"cost.{f}" in x.s}
    )
    if sc.ownership == "rent":
        rate = np.minimum.reduce(
            [x(f"rentals.{r.id}.{base.rental_column}") * np.ones(n) for r in base.rentals]
        )
        software = (base.licence_usd_per_year + inputs.software_usd_per_accelerator_year) / 8760.0
        return rate + software, np.zeros(n)
    inputs = replace(
        inputs,
        software_usd_per_accelerator_year=inputs.software_usd_per_accelerator_year
        + base.licence_usd_per_year,
    )
    region = base.scenario.region
    pue = x(f"regions.{region}.pue")
    elec = x(f"regions.{region}.electricity_usd_per_kwh")
    fixed = ownership_cost_from_inputs(
        inputs,
        price_usd=x(f"accelerators.{acc.id}.price_usd"),
        tdp_w=x(f"accelerators.{acc.id}.tdp_w") + host_power_w(acc),
        power_w=0.0,
        pue=pue,
        electricity_usd_per_kwh=elec,
    ).total_usd_per_hour
    return fixed * np.ones(n), pue * elec / 1e3 * np.ones(n)


def _reoptimised_point(
    base: _Base,
    hw: Hardware,
    eng: Engine,
    tok: dict,
    bmax: NDArray,
    o: NDArray,
    peak,
    x,
    keys,
    err: ModelError = None,
) -> tuple[_Point, NDArray, NDArray | None, NDArray | None, NDArray | None]:
    """The batch each sample's scalar estimate would choose on the base layout's batch grid.

    Each sample's grid is the scalar one (:func:`tokenfab.perf.operating.batch_grid`: 48
    log-spaced batches and the layout's largest batch), its end scaled by the sample's memory
    (repeated small batches, which the scalar grid lists once, change no choice); the choice is :func:`tokenfab.perf.operating.choose`'s
    (no demand, or a fixed fleet) or :func:`tokenfab.sizing.cheapest_point`'s (a demand to
    size for) restricted to the base layout.

    Returns the point, whether a batch met every condition, whether the fleet carries the
    demand (count mode), and in sized mode the replicas and the queueing wait.
    """
    n = bmax.size
    # the scalar grid ends at the largest batch of any layout; a sample's memory moves every
    # layout's largest batch alike, so its grid ends at the base end times its own ratio
    ratio = bmax / base.row_max_batch if base.row_max_batch > 0 else np.ones(n)
    top = np.maximum(base.grid_top * ratio, 1.0)
    points = np.round(np.logspace(0, np.log10(top), BATCH_GRID_POINTS, axis=-1))
    batch = np.concatenate([points, np.maximum(bmax, 1.0)[:, None]], axis=1)
    shape = batch.shape
    hw2, eng2 = _column(hw), _column(eng)
    tok2 = {k: (v[:, None] if np.ndim(v) == 1 else v) for k, v in tok.items()}
    st = _state(base, hw2, eng2, base.lay, batch, tok2)
    if err is not None:  # each sample's ratios against its row of batches
        st = _with_model_error(st, tuple(np.reshape(r, (-1, 1)) for r in err))  # type: ignore[arg-type]
    valid = (batch <= bmax[:, None]) & (bmax[:, None] >= 1)
    xr = np.broadcast_to(st.output_tok_s, shape)
    o2 = o[:, None]
    tpot = np.broadcast_to(st.tpot_s, shape)
    service = np.broadcast_to(st.ttft_service_s, shape)
    tpot_slo, ttft_slo = x("tpot_slo_s"), x("ttft_slo_s")
    tpot_slo = INF if tpot_slo is None else np.reshape(tpot_slo, (-1, 1))
    ttft_slo = INF if ttft_slo is None else np.reshape(ttft_slo, (-1, 1))
    rate = xr / o2
    top_rate = np.max(np.where(valid, rate, 0.0), axis=1)
    carries = replicas = wait = None
    if base.mode == "fixed":
        ok = valid & (tpot <= tpot_slo) & (service <= ttft_slo)
        score = np.where(ok, xr, -np.inf)
        j = np.where(
            ok.any(axis=1),
            np.argmax(score, axis=1),
            np.argmax(np.where(valid, xr, -np.inf), axis=1),
        )
        chosen_ok = ok.any(axis=1)
    elif base.mode == "count":
        r = float(base.est.op.replicas)
        need = (peak / r / o)[:, None]
        reach = valid & (rate >= need)
        if base.scenario.disaggregated:  # what whole pools carry (tokenfab.sizing.count_point)
            share = np.broadcast_to(st.prefill_time_share, shape)
            whole = disaggregated_split_arrays(r, xr, share)[2]
            reach = valid & (whole >= peak[:, None] * (1 - 1e-9))
        j = np.argmax(reach, axis=1)
        carries = reach.any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w = md1_wait_s(need[:, 0], 1.0 / top_rate)
        ttft_j = _at(service, j, shape) + w
        chosen_ok = (
            carries & (_at(tpot, j, shape) <= np.ravel(tpot_slo)) & (ttft_j <= np.ravel(ttft_slo))
        )
    else:
        j, chosen_ok, replicas, wait = _cheapest(
            base, x, st, valid, batch, o, peak, tpot_slo, ttft_slo
        )
    b = _at(batch, j, shape)
    chosen = SteadyState(*(_at(v, j, shape) for v in _values(st)))
    roof = _roof_out(base, hw, eng, b, tok, keys)
    top = top_rate * o
    pt = _Point(b, bmax, chosen, np.broadcast_to(roof, (n,)), top)
    return pt, chosen_ok, carries, replicas, wait


def _cheapest(base, x, st, valid, batch, o, peak, tpot_slo, ttft_slo):
    """:func:`tokenfab.sizing.cheapest_point` on one layout, for each sample."""
    sc, acc = base.scenario, base.setup.accelerator
    shape = batch.shape
    n = shape[0]
    o2 = o[:, None]
    pk = peak[:, None]
    xr = np.broadcast_to(st.output_tok_s, shape)
    ok = valid & (xr > 0)
    xv = np.where(ok, xr, 0.0)
    safe = np.where(ok, xv, 1.0)
    replicas = np.where(ok, np.maximum(np.ceil(pk / safe * (1 - 1e-12)), 1.0), 1.0)
    if sc.disaggregated:
        replicas = np.maximum(replicas, 2.0)
    top_out = np.maximum(np.max(xv, axis=1, keepdims=True), 1e-300)
    with np.errstate(over="ignore"):
        if x("ttft_slo_s") is None:  # the sizing's queue headroom (tokenfab.sizing)
            wait_r = replicas_for_wait(pk, top_out, o2, DEFAULT_QUEUE_WAIT_S)
        else:  # the wait the target leaves after each cell's TTFT service
            wait_r = replicas_for_ttft(
                pk, safe, top_out, o2, ttft_slo, np.broadcast_to(st.ttft_service_s, shape)
            )
    replicas = np.where(ok, np.maximum(replicas, wait_r), replicas)
    load = pk / replicas
    if sc.disaggregated:  # whole prefill and decode pools carry the peak (tokenfab.sizing)
        share = np.broadcast_to(st.prefill_time_share, shape)
        replicas = np.where(ok, whole_pool_replicas(pk, replicas, xv, share), replicas)
        load = pk / replicas
        # each cell's batch: the smallest whose whole pools of its replicas carry the peak.
        # Whole pools carry at most R X, so none below the first batch with X >= P / R does:
        # the scan starts there, one batch a step for the cells not yet placed, and ends by
        # the cell's own batch (its replicas carry there); a (samples x batches x batches)
        # array of the split would be a chunk's 60 MB for each of its temporaries
        first = _first_reaching(np.where(ok, xv, -np.inf), pk / replicas * (1 - 1e-6))
        width = shape[1]
        x_flat, share_flat, ok_flat = xv.ravel(), np.ravel(share), ok.ravel()
        reached_flat = np.zeros(xv.size, dtype=np.intp)
        capacity_flat = np.ones(xv.size)
        cells = np.flatnonzero(ok_flat)
        sample, col = cells // width, first.ravel()[cells]
        r_cells, p_cells = replicas.ravel()[cells], peak[sample]
        while cells.size:
            j = np.minimum(col, width - 1)
            at_j = sample * width + j
            carried = disaggregated_split_arrays(r_cells, x_flat[at_j], share_flat[at_j])[2]
            hit = ok_flat[at_j] & (carried >= p_cells * (1 - 1e-9))
            reached_flat[cells[hit]] = j[hit]
            capacity_flat[cells[hit]] = carried[hit]
            keep = ~hit & (col < width - 1)
            cells, sample, col = cells[keep], sample[keep], col[keep] + 1
            r_cells, p_cells = r_cells[keep], p_cells[keep]
        reached = reached_flat.reshape(shape)
        capacity = capacity_flat.reshape(shape)
    else:
        carries = ok[:, None, :] & (xv[:, None, :] >= load[:, :, None] * (1 - 1e-9))
        reached = np.argmax(carries, axis=2)

    def at(a: Any) -> NDArray:
        return np.take_along_axis(np.broadcast_to(np.asarray(a, dtype=float), shape), reached, 1)

    if not sc.disaggregated:
        capacity = replicas * np.where(ok, at(xv), 1.0)
    capacity = np.where(ok, capacity, 1.0)
    tpot = at(st.tpot_s)
    top = top_out / o2
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        wait = np.where(ok, md1_wait_s(load / o2, 1.0 / top), np.inf)
    ttft = at(st.ttft_service_s) + wait
    feasible = ok & (tpot <= tpot_slo) & (ttft <= ttft_slo)
    accelerators = replicas * float(base.per_replica)
    demand = (peak / x("peak_to_average"))[:, None]
    utilization = np.clip(demand / capacity, 0.0, 1.0)
    fixed, per_w = _hourly_rate(base, x, n)
    tdp = x(f"accelerators.{acc.id}.tdp_w") if acc.tdp_w else None
    if tdp is not None and np.any(per_w > 0):
        inputs = replace(
            base.inputs, **{f: x.s[f"cost.{f}"] for f in _COST_FIELDS if f"cost.{f}" in x.s}
        )
        t2 = np.reshape(tdp, (-1, 1)) if np.ndim(tdp) else tdp
        idle = inputs.idle_power_share_of_tdp
        idle2 = np.reshape(idle, (-1, 1)) if np.ndim(idle) else idle
        mem = inputs.memory_power_share
        mem2 = np.reshape(mem, (-1, 1)) if np.ndim(mem) else mem
        k = inputs.compute_power_share
        k2 = np.reshape(k, (-1, 1)) if np.ndim(k) else k
        busy = serving_power_w(
            t2, idle2, at(st.hbm_busy_share), at(st.compute_busy_share), mem2, k2
        )
        avg = it_power_w(average_power_w(busy, t2 * idle2, utilization), t2, host_power_w(acc))
    else:
        avg = np.zeros(shape)
    monthly = accelerators * (fixed[:, None] + per_w[:, None] * avg)
    latency = ttft + (o2 - 1.0) * tpot
    cost = np.where(feasible, monthly, np.inf)
    best = np.min(cost, axis=1, keepdims=True)
    tied = feasible & (cost <= best * (1 + 1e-9))
    j = np.argmin(np.where(tied, latency, np.inf), axis=1)
    any_ok = feasible.any(axis=1)
    j = np.where(any_ok, j, np.argmax(ok, axis=1))
    rows = np.arange(n)
    return reached[rows, j], any_ok, replicas[rows, j], wait[rows, j]


# -- the result arrays -------------------------------------------------------------------------


def _constant(v: Any) -> float | None:
    """The one value of a chunk's result that is the same for every sample (a number, or a
    number broadcast over the samples), else None."""
    a = np.asarray(v)
    if a.ndim == 0:
        return float(a)
    if a.ndim == 1 and a.size and a.strides == (0,):
        return float(a[0])
    return None


class _Columns:
    """The result arrays of one call, filled chunk by chunk (chunks may run at once).

    A key that is one number in every chunk (the layout, a fixed batch, an input no sample
    varies) is not written sample by sample: where every sample is feasible it is returned as
    that number broadcast over the samples (a read-only view, no memory); otherwise it is
    materialised with NaN at the infeasible samples like every other key. Writing half a
    gigabyte of repeated numbers was a quarter of the time of a million samples.
    """

    def __init__(self, keys: tuple[str, ...], n: int):
        self.keys, self.n = keys, n
        self.arrays: dict[str, NDArray] = {}
        self.constants: dict[str, list[tuple[int, int, float]]] = {k: [] for k in keys}
        self.lock = threading.Lock()

    def _array(self, key: str) -> NDArray:
        arr = self.arrays.get(key)
        if arr is None:
            with self.lock:
                arr = self.arrays.get(key)
                if arr is None:
                    arr = self.arrays[key] = np.empty(self.n)
        return arr

    def put(self, key: str, start: int, stop: int, value: Any, mask: NDArray) -> None:
        """Samples ``start:stop`` of ``key``; ``mask`` is 1 where feasible, NaN elsewhere."""
        c = _constant(value)
        if c is not None:
            self.constants[key].append((start, stop, c))  # list.append is atomic
            return
        # one pass: x * 1 is x exactly, x * NaN is NaN (an infeasible sample)
        np.multiply(value, mask, out=self._array(key)[start:stop])

    def finish(self, feasible: NDArray[np.bool_]) -> dict[str, NDArray]:
        every = bool(np.all(feasible))
        out: dict[str, NDArray] = {}
        mask: NDArray | None = None  # 1 where feasible, NaN elsewhere, made once if needed
        for key in self.keys:
            parts = self.constants[key]
            values = np.array([c for _, _, c in parts])
            same = values.size and (np.all(values == values[0]) or bool(np.all(np.isnan(values))))
            if key not in self.arrays and every and same:
                out[key] = np.broadcast_to(np.float64(values[0]), (self.n,))
                continue
            arr = self._array(key)
            if parts and mask is None:
                mask = np.where(feasible, 1.0, np.nan)
            for start, stop, c in parts:
                np.multiply(mask[start:stop], c, out=arr[start:stop])
            out[key] = arr
        return out


# -- the entry point ---------------------------------------------------------------------------


def evaluate(
    scenario: Scenario | Mapping[str, Any],
    samples: Mapping[str, Any] | None = None,
    *,
    catalog: Catalog | None = None,
    reoptimise: bool = False,
    chunk_size: int = 65_536,
    keys: Iterable[str] | None = None,
) -> PipelineResult:
    """KPIs of a scenario for every sample of its inputs.

    Parameters
    ----------
    scenario : Scenario or mapping
        The base case; its own estimate fixes the layout (and, unless ``reoptimise``, the batch).
    samples : mapping, optional
        ``{key: 1-D array}``, every array of the same length ``N``; keys as :func:`fields`
        lists them. None: one sample, the scenario itself.
    catalog : Catalog, optional
        Catalogs to read (default: the built-in ones).
    reoptimise : bool
        Choose the batch again for each sample (see the module notes).
    chunk_size : int
        Samples evaluated at once; memory grows with it, not with ``N``.
    keys : iterable of str, optional
        KPI keys to return (default: all of :func:`kpi_keys`); fewer keys, less memory.

    Returns
    -------
    PipelineResult

    Raises
    ------
    ScenarioError
        An unknown key (the message lists the allowed ones), arrays of different lengths, a
        value out of its range, or more than :data:`MAX_SAMPLES` samples.
    InfeasibleError
        The base scenario itself has no operating point (its estimate fails the same way).

    Examples
    --------
    >>> sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm")
    >>> r = evaluate(sc, {"regions.us.electricity_usd_per_kwh": np.array([0.05, 0.10])})
    >>> bool(r.kpis["cost_usd_per_mtok_blended"][1] > r.kpis["cost_usd_per_mtok_blended"][0])
    True
    """
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ScenarioError(f"chunk_size: {chunk_size!r}; allowed: a whole number >= 1")
    cat = catalog or default_catalog()
    base = _base(Scenario.parse(scenario), cat)
    n, arrays = base.check(samples or {})
    all_keys = _kpi_keys()
    wanted = all_keys if keys is None else tuple(keys)
    unknown = [k for k in wanted if k not in all_keys]
    if unknown:
        raise ScenarioError(
            f"keys: {unknown[0]!r} is not a numeric estimate key; allowed: {', '.join(all_keys)}"
        )
    need = n * (8 * len(wanted) + 9)  # float64 a key, the flag and the reason a sample
    if need > MAX_OUTPUT_BYTES:
        raise ScenarioError(
            f"samples: {n:,} samples x {len(wanted)} keys need {need / 1e9:.1f} GB of results; "
            f"at most {MAX_OUTPUT_BYTES / 1e9:g} GB (ask for fewer samples or fewer keys)"
        )
    out = _Columns(wanted, n)
    feasible = np.empty(n, dtype=bool)
    reason = np.empty(n, dtype=np.int64)
    step = chunk_size if not reoptimise else min(chunk_size, REOPTIMISE_CHUNK)

    def run(start: int) -> None:  # each chunk writes its own slice of the outputs
        stop = min(start + step, n)
        part = {k: v[start:stop] for k, v in arrays.items()}
        vals, ok, why = _evaluate_chunk(base, part, stop - start, reoptimise, wanted)
        mask = np.where(ok, 1.0, np.nan)
        for k in wanted:
            out.put(k, start, stop, vals[k], mask)
        feasible[start:stop] = ok
        reason[start:stop] = why

    starts = range(0, n, step)
    workers = min(len(starts), WORKERS)
    if workers > 1:  # NumPy releases the GIL in its loops: chunks run on all cores
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    counts = np.bincount(reason, minlength=len(REASONS) + 1)
    reasons = {r: int(c) for r, c in zip(REASONS, counts, strict=False) if c}
    from tokenfab.schema import EstimateResult

    base_json = EstimateResult.from_estimate(base.est, cat).model_dump()
    return PipelineResult(n, out.finish(feasible), feasible, reasons, base_json, reoptimise)


# -- one estimate: ``tokenfab estimate``, the HTTP API and the web calculator ------------------


def estimate_result(est: Any, catalog: Catalog | None = None, today: Any = None) -> Any:
    """``estimate --json`` of a scalar estimate, every numeric key from the pipeline's one sample.

    The calculator (``tokenfab estimate``, ``POST /api/v1/estimate``, the web page) and Monte
    Carlo so share one code path: the scalar estimate (:func:`tokenfab.planning.evaluate`)
    chooses the operating point and names it (model, accelerator, bound, price basis,
    warnings); the numbers come from :func:`evaluate`'s formulas for one sample at the base
    values, which ``tests/test_pipeline.py`` holds equal to the scalar ones to 1e-12.

    A scenario the pipeline does not model, a separate prefill accelerator
    (``prefill_accelerator``), is reported from the scalar estimate alone, unchanged.

    Parameters
    ----------
    est : tokenfab.planning.Estimate
        The scalar estimate of the scenario.
    catalog : Catalog, optional
        The catalogs it was priced from (default: the built-in ones).
    today : datetime.date, optional
        The date stale prices are judged at (default: today).

    Returns
    -------
    tokenfab.schema.EstimateResult

    Examples
    --------
    >>> from tokenfab.planning import evaluate as scalar
    >>> sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm")
    >>> r = estimate_result(scalar(sc))
    >>> r.accelerators, r.tensor_parallel
    (1, 1)
    """
    from tokenfab.schema import EstimateResult

    cat = catalog if catalog is not None else default_catalog()
    out = EstimateResult.record(est, cat, today)  # validated once, with the numbers below
    sc = est.scenario
    if sc.prefill_accelerator is not None:
        return EstimateResult.model_validate(out)
    base = _Base.build(sc, cat, est)
    vals, _, _ = _evaluate_chunk(base, {}, 1, False, _kpi_keys(), est.op.grid_point)
    ints = _int_keys()
    for key, v in vals.items():
        # the one sample's value as a float: item(0) of an array (float64: the same float)
        x = float(v.item(0) if isinstance(v, np.ndarray) else v)
        if math.isnan(x):
            out[key] = None
        elif key in ints:
            out[key] = round(x)
        else:
            out[key] = x
    return EstimateResult.model_validate(out)


@cache
def _int_keys() -> frozenset[str]:
    """The keys of ``estimate --json`` that are whole numbers (``int`` or ``int | None``)."""
    from tokenfab.schema import EstimateResult

    ints = (int, int | None)
    return frozenset(k for k, f in EstimateResult.model_fields.items() if f.annotation in ints)
