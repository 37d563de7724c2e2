"""The operations tokenfab offers, in one registry the CLI and the HTTP API both call.

An :class:`Operation` names a request model, a result model and two functions:

- ``compute(request, catalog)``: the core's answer (an :class:`~tokenfab.planning.Estimate`,
  a market projection, ...), which a terminal may render in its own way;
- ``present(answer, catalog)``: that answer as the typed result, the JSON object that
  ``tokenfab COMMAND --json`` prints and ``POST /api/v1/COMMAND`` returns.

:meth:`Operation.run` is ``present(compute(parse(request)))``. A command added to the
registry with :func:`register` appears in the HTTP API (``tokenfab.api``) without further
code, so the two interfaces cannot drift. Neither interface holds model logic: it parses,
calls an operation and renders.

Limits that only a server needs (a sample count or a grid a request may not exceed, so one
request cannot hold a worker for minutes or exhaust its memory) are stated by each operation
as ``http_limits``; the CLI, run by the user on their own machine, keeps the model's own
bounds. :func:`register` adds two rules to every operation, so a new one is safe to serve:

- a request field called ``samples`` is limited to :data:`MAX_HTTP_SAMPLES` over HTTP;
- a field that names a file (``file_fields``; by default every text field whose description
  says "file" or "YAML") is never a path over HTTP: the API refuses a string there and passes
  a JSON object on as the file's content, so an operation whose core accepts the content as a
  mapping (a scenario with its ``distributions:`` block, a demand's ``archetypes``) is served
  without reading the server's disk.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, RootModel

from tokenfab import schema
from tokenfab.catalog import TABLES, Catalog, default_catalog, stale_rows
from tokenfab.errors import ScenarioError, TokenfabError
from tokenfab.words import plural


class LimitError(ScenarioError):
    """A request is larger than the HTTP API serves (samples, grid size); the message names
    the field, the value and the limit."""


@dataclass(frozen=True)
class Limit:
    """A bound the HTTP API puts on a request: ``size(request, catalog)`` at most ``most``."""

    field: str
    most: float
    size: Callable[[Any, Catalog], float]
    what: str

    def check(self, request: Any, catalog: Catalog) -> None:
        value = self.size(request, catalog)
        if value > self.most:
            raise LimitError(
                f"{self.field}: {self.what} is {value:,.0f}; the HTTP API serves at most "
                f"{self.most:,.0f} (the CLI has no such limit)"
            )


@dataclass(frozen=True)
class Operation:
    """One command: its request and result models and the core functions behind them."""

    name: str
    request: type[BaseModel]
    result: type[BaseModel] | None
    compute: Callable[[Any, Catalog], Any]
    present: Callable[[Any, Catalog], Any]
    summary: str
    http_limits: tuple[Limit, ...] = field(default=())
    file_fields: tuple[str, ...] = field(default=())

    def parse(self, data: Any) -> Any:
        """The request model of a mapping; a problem is one :class:`ScenarioError` line."""
        return self.request.parse(data)  # type: ignore[attr-defined]

    def run(self, data: Any, catalog: Catalog | None = None) -> Any:
        """The typed result of a request (a mapping or a request model)."""
        cat = catalog if catalog is not None else default_catalog()
        return self.present(self.compute(self.parse(data), cat), cat)

    def check_http_limits(self, request: Any, catalog: Catalog) -> None:
        """Refuse, with :class:`LimitError`, a request beyond what the HTTP API serves."""
        for limit in self.http_limits:
            limit.check(request, catalog)


OPERATIONS: dict[str, Operation] = {}
"""Every registered operation, by command name."""


MAX_HTTP_SAMPLES = 100_000
"""Monte Carlo samples one HTTP request may ask for (the market's fan of 1e5 takes 0.1 s)."""


def _bare(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _names_a_file(name: str, info: Any) -> bool:
    """Whether a request field may hold a path: text (alone or among other types) described
    as a file or YAML."""
    kind = schema.value_type(info)
    union = get_origin(kind) in (Union, UnionType)
    text = kind is str or (union and any(_bare(a) is str for a in get_args(kind)))
    words = f"{name} {info.description or ''}".lower().replace(";", " ").split()
    return text and ("file" in words or "yaml" in words)


def register(operation: Operation) -> Operation:
    """Add an operation; its name must be new. Fields called ``samples`` gain the HTTP sample
    limit and fields that name a file are marked, unless the operation says otherwise."""
    if operation.name in OPERATIONS:
        raise KeyError(f"operation {operation.name!r} is registered twice")
    fields = operation.request.model_fields
    limits = operation.http_limits
    if "samples" in fields:
        samples = Limit(
            "samples", MAX_HTTP_SAMPLES, lambda req, cat: req.samples, "the sample count"
        )
        limits = (*limits, samples)
    files = operation.file_fields or tuple(n for n, f in fields.items() if _names_a_file(n, f))
    operation = replace(operation, http_limits=limits, file_fields=files)
    OPERATIONS[operation.name] = operation
    return operation


def get(name: str) -> Operation:
    """The operation called ``name``."""
    return OPERATIONS[name]


# ------------------------------------------------------------------------------------------
# The operations of the core
# ------------------------------------------------------------------------------------------


def _estimate(req: schema.EstimateRequest, cat: Catalog) -> Any:
    """The scalar estimate without its KPIs: the numbers come from the pipeline
    (:func:`_estimate_result`), which computes them again; the CLI's table computes the whole
    scalar estimate itself."""
    from tokenfab.planning import evaluate

    return evaluate(req.scenario(), cat, kpis=False)


def _estimate_result(est: Any, cat: Catalog) -> schema.EstimateResult:
    """``estimate --json``: the numbers from the vectorised pipeline's one sample, the code path
    Monte Carlo takes (:func:`tokenfab.pipeline.estimate_result`)."""
    from tokenfab.pipeline import estimate_result
    from tokenfab.planning import plan_precision_note

    result = estimate_result(est, cat)
    # estimate keeps the model's native format; where plan would choose another for the same
    # scenario, one line says so (docs/method.md, "Weight format")
    note = plan_precision_note(
        est.scenario, result.precision, result.cost_usd_per_mtok_blended, cat
    )
    return result.model_copy(update={"precision_note": note}) if note else result


register(
    Operation(
        "estimate",
        schema.EstimateRequest,
        schema.EstimateResult,
        _estimate,
        _estimate_result,
        "One deployment: TTFT, TPOT, tokens per second and the eight cost, energy and carbon KPIs.",
    )
)


def _plan(req: schema.PlanRequest, cat: Catalog) -> Any:
    from tokenfab.planning import plan_request

    return plan_request(req, cat)


def _plan_options(req: schema.PlanRequest, cat: Catalog) -> float:
    """Candidates a plan weighs: accelerators x regions x ownerships."""
    from tokenfab.planning import shipping_accelerators

    accelerators = req.accelerator or shipping_accelerators(cat)
    return len(accelerators) * len(req.region) * len(req.ownership)


MAX_PLAN_OPTIONS = 300
"""Candidates (accelerators x regions x ownerships) one plan request may weigh over HTTP: the
default plan (every shipping accelerator, one region, buy and rent) weighs about 50 in 0.5 s."""

register(
    Operation(
        "plan",
        schema.PlanRequest,
        schema.PlanResult,
        _plan,
        lambda options, cat: schema.PlanResult.from_options(options),
        "Capacity plan: every accelerator x region x ownership for a demand and latency "
        "targets, feasible options cheapest first.",
        (
            Limit(
                "accelerator",
                MAX_PLAN_OPTIONS,
                _plan_options,
                "the number of candidates (accelerators x regions x ownerships)",
            ),
        ),
    )
)


def _frontier(req: schema.FrontierRequest, cat: Catalog) -> Any:
    from tokenfab.factory import frontier_economics
    from tokenfab.perf.frontier import frontier
    from tokenfab.perf.operating import resolve
    from tokenfab.planning import check_licence_applies

    scenarios = req.scenarios()
    for sc in scenarios:  # a misspelt id is refused, as plan does, not left out with exit 0
        cat.get("accelerators", sc.accelerator)
    if req.software_licence is not None:
        # one licence over the accelerators compared: charged where it applies (the $/Mtok
        # of frontier_economics), refused where it applies to none, as plan does
        pairs = []
        for sc in scenarios:
            try:
                pairs.append((sc.accelerator, resolve(sc, cat).engine.software))
            except TokenfabError:  # this accelerator's own error is its frontier's
                continue
        cat.get("licences", req.software_licence)  # an unknown id, with or without pairs
        check_licence_applies(cat, req.software_licence, pairs)
    if len(scenarios) == 1:  # one accelerator: its error is the answer
        return Fronts([frontier_economics(frontier(scenarios[0], cat), scenarios[0], cat)])
    fronts, errors = Fronts(), []
    for sc in scenarios:
        try:
            fronts.append(frontier_economics(frontier(sc, cat), sc, cat))
        except TokenfabError as exc:  # this accelerator only: the others still compare
            errors.append((sc.accelerator, exc))
    if not fronts:  # none fits: one line with every accelerator's reason
        raise type(errors[0][1])("; ".join(str(exc) for _, exc in errors))
    left_out = [(acc, str(exc)) for acc, exc in errors]
    fronts.left_out = left_out
    return fronts


class Fronts(list):  # type: ignore[type-arg]
    """The frontiers of a ``frontier`` request, with ``left_out``: ``(accelerator, reason)`` of
    each accelerator that could not run it (the model does not fit on its count, ...)."""

    def __init__(self, fronts: Any = ()) -> None:
        super().__init__(fronts)
        self.left_out: list[tuple[str, str]] = []


MAX_FRONTIER_ACCELERATORS = 12
"""Accelerators one frontier request may compare over HTTP (about 40 ms each)."""

register(
    Operation(
        "frontier",
        schema.FrontierRequest,
        schema.FrontierResult,
        _frontier,
        lambda fronts, cat: schema.FrontierResult.from_frontiers(fronts),
        "The Pareto frontier of output tokens/s per accelerator against tokens/s per user.",
        (
            Limit(
                "accelerator",
                MAX_FRONTIER_ACCELERATORS,
                lambda req, cat: len(req.accelerator),
                "the number of accelerators",
            ),
        ),
    )
)


def _analyse_in(module: str) -> Callable[[Any, Catalog], Any]:
    """The operation that runs ``tokenfab.<module>.analyse(req, cat)``, importing the module
    only when the operation first runs."""

    def run(req: Any, cat: Catalog) -> Any:
        return importlib.import_module(f"tokenfab.{module}").analyse(req, cat)

    return run


register(
    Operation(
        "breakeven",
        schema.BreakevenRequest,
        schema.BreakevenResult,
        _analyse_in("breakeven"),
        lambda analysis, cat: schema.BreakevenResult.from_analysis(analysis),
        "Break-even: monthly cost of buying, renting or an API against output tokens a day.",
    )
)


register(
    Operation(
        "market",
        schema.MarketRequest,
        schema.MarketResult,
        _analyse_in("market"),
        lambda proj, cat: schema.MarketResult.model_validate(proj.as_dict()),
        "Market value = token volume x blended price by segment, to 2030, with GW and a fan.",
    )
)


def _demand(req: schema.DemandRequest, cat: Catalog) -> Any:
    from tokenfab import demand

    return demand.analyse(req)


register(
    Operation(
        "demand",
        schema.DemandRequest,
        schema.DemandResult,
        _demand,
        lambda d, cat: schema.DemandResult.model_validate(d.as_dict()),
        "Demand from usage: users x sessions x requests x tokens, by archetype.",
        file_fields=("file",),
    )
)


register(
    Operation(
        "route",
        schema.RouteRequest,
        schema.RouteResult,
        _analyse_in("routing"),
        lambda d, cat: schema.RouteResult.model_validate(d),
        "Cost per successful outcome with a small model routed in front of a big one.",
    )
)


register(
    Operation(
        "viability",
        schema.ViabilityRequest,
        schema.ViabilityResult,
        _analyse_in("viability"),
        lambda rows, cat: schema.ViabilityResult.from_rows(rows),
        "Margin, verdict and break-even price of a product (without a cost: the seed's "
        "business-model table).",
    )
)


class FactoryResults(
    RootModel[schema.FactoryResult | list[schema.FactoryResult] | schema.FactoryMixResult]
):
    """``factory --json``: one accelerator's factory, a list of them for several, or a
    facility split across accelerators and models (``mix``)."""


def _factory_result(results: list[Any], cat: Catalog) -> FactoryResults:
    from tokenfab.factory import FactoryMix

    if len(results) == 1 and isinstance(results[0], FactoryMix):
        return FactoryResults(schema.FactoryMixResult.model_validate(results[0].as_dict()))
    typed = [schema.FactoryResult.model_validate(f.as_dict()) for f in results]
    return FactoryResults(typed[0] if len(typed) == 1 else typed)


register(
    Operation(
        "factory",
        schema.FactoryRequest,
        FactoryResults,
        _analyse_in("factory"),
        _factory_result,
        "AI factory: a power budget split across price tiers, revenue and cost a year.",
    )
)


MAX_HTTP_REOPTIMISED_SAMPLES = 10_000
"""Monte Carlo samples over HTTP when the batch is chosen again for each (about 1 s)."""

MAX_HTTP_SOBOL_BASE = 4_096
"""Sobol base samples N over HTTP: N x (inputs + 2) runs, 10 s for 10 inputs (issue #13)."""


def _register_uncertainty() -> None:
    """``montecarlo`` and ``sensitivity`` on the vectorised pipeline (:mod:`tokenfab.pipeline`)."""
    from tokenfab import uncertainty

    register(
        Operation(
            "montecarlo",
            schema.MonteCarloRequest,
            schema.MonteCarloResult,
            lambda req, cat: uncertainty.analyse_montecarlo(req, cat),
            lambda mc, cat: schema.MonteCarloResult.model_validate(mc.as_dict()),
            "Monte Carlo: mean, P5, P50 and P95 of every KPI when the inputs are uncertain.",
            (
                Limit(
                    "samples",
                    MAX_HTTP_REOPTIMISED_SAMPLES,
                    lambda req, cat: req.samples if req.reoptimise else 0,
                    "the sample count with reoptimise",
                ),
            ),
        )
    )
    register(
        Operation(
            "sensitivity",
            schema.SensitivityRequest,
            schema.SensitivityResult,
            lambda req, cat: uncertainty.analyse_sensitivity(req, cat),
            lambda s, cat: schema.SensitivityResult.model_validate(s.as_dict()),
            "Sensitivity: which uncertain inputs move a KPI (tornado swings or Sobol indices).",
            (
                Limit(
                    "samples",
                    MAX_HTTP_SOBOL_BASE,
                    lambda req, cat: req.samples if req.method == "sobol" else 0,
                    "the Sobol base sample count",
                ),
            ),
        )
    )


_register_uncertainty()


def projection_inputs(source: Any, overrides: dict[str, Any] | None = None) -> Any:
    """The scenario's ``projection:`` block (a file's, or the ``projection`` key of its
    content as a mapping) with the options given on top, validated."""
    from tokenfab.projection import RATES, ProjectionInputs
    from tokenfab.scenario import scenario_with_block

    _, block = scenario_with_block(source, "projection")
    lines = block.pop("__lines__", {})
    where = "" if isinstance(source, dict) else str(source)
    given = {**block, **(overrides or {})}
    inputs = ProjectionInputs.parse({**given, "__lines__": lines}, where=where)

    def prefix(name: str) -> str:  # the file and line where the field is the block's own
        if not where or name not in block or name in (overrides or {}):
            return ""
        return f"{where}:{lines[name]}: " if name in lines else f"{where}: "

    after_year_0 = inputs.years - 1  # a rate moves year t from year t - 1: none for year 0
    for name in (*RATES, "distributions"):
        value = getattr(inputs, name)
        if value is None:
            continue
        if after_year_0 == 0:
            # --years 1 projected year 0 alone and dropped the rates without a word
            raise ScenarioError(
                f"{prefix(name)}projection.{name}: "
                + ("samples yearly rates" if name == "distributions" else "a yearly rate")
                + ", and years: 1 projects year 0 alone, which no rate moves; give years 2 "
                f"or more, or drop {name}"
            )
        if isinstance(value, list) and len(value) > after_year_0:
            if "years" in (overrides or {}) and name not in (overrides or {}):
                # --years 3 on a file whose list runs 4 years shortens the file's horizon:
                # the years projected take their values, and the assumptions print those
                inputs = inputs.model_copy(update={name: value[:after_year_0]})
                continue
            # 4 values for 3 years in one place used the first 2, the rest dropped unseen
            raise ScenarioError(
                f"{prefix(name)}projection.{name}: {plural(len(value), 'value')} for "
                f"{plural(inputs.years, 'year')}; give {after_year_0} (one per year after year 0) or one number"
            )
    if str(given.get("successor")).lower() == "none" and "generation_path" in given:
        # the path prices the successor's generation; with none bought it priced nothing,
        # while the assumptions listed it ("generation_path = vendor-claims") as if it had
        line = f":{lines['generation_path']}" if "generation_path" in lines else ""
        prefix = f"{where}{line}: " if where and "generation_path" in block else ""
        raise ScenarioError(
            f"{prefix}projection.generation_path: prices the successor, and none is bought "
            "(successor: none); give a successor, or drop generation_path"
        )
    return inputs


def _scenario(source: Any) -> Any:
    from tokenfab.scenario import scenario_with_block

    return scenario_with_block(source, "projection")[0]


def _scenario_inputs(source: Any, scenario: Any, cat: Catalog) -> Any:
    """The scenario's uncertain inputs as ``montecarlo`` takes them: its ``distributions:``
    block (a file's, with the line of each entry for messages; or the mapping's key), else the
    sourced defaults."""
    from tokenfab.scenario import read_scenario_file
    from tokenfab.uncertainty import prepare_inputs

    if isinstance(source, dict):
        return prepare_inputs(scenario, source.get("distributions"), cat)
    sf = read_scenario_file(source)
    return prepare_inputs(scenario, sf.distributions, cat, sf.where, path=str(source))


def _project(req: Any, cat: Catalog) -> Any:
    from tokenfab.projection import project

    scenario = _scenario(req.scenario)
    if req.reoptimise:  # the scenario is in a file, read here: the request could not check it
        from tokenfab.errors import ScenarioError
        from tokenfab.schema import check_reoptimise

        try:
            check_reoptimise(scenario)
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
    return project(
        scenario,
        projection_inputs(req.scenario, req.overrides()),
        cat,
        samples=req.samples,
        seed=req.seed,
        scenario_inputs=_scenario_inputs(req.scenario, scenario, cat) if req.samples else None,
        reoptimise=req.reoptimise,
    )


def _roadmap(req: Any, cat: Catalog) -> Any:
    from tokenfab.roadmap import roadmap

    scenario = _scenario(req.scenario)
    return roadmap(scenario, cat, req.small_model, req.routed_share, req.success_small)


def _narrative(req: Any, cat: Catalog) -> Any:
    from tokenfab.narrative import narrative

    return narrative(_scenario(req.scenario), projection_inputs(req.scenario), cat)


for _name, _request, _result, _compute, _summary in (
    (
        "project",
        schema.ProjectRequest,
        schema.ProjectResult,
        _project,
        "Year-by-year cost and cash of buying, renting and an API for a scenario.",
    ),
    (
        "roadmap",
        schema.RoadmapRequest,
        schema.RoadmapResult,
        _roadmap,
        "Cost-saving levers of a scenario, each re-estimated and ranked, and a staged plan.",
    ),
    (
        "narrative",
        schema.NarrativeRequest,
        schema.NarrativeResult,
        _narrative,
        "A deployment narrative written from the model's numbers (no language model).",
    ),
):
    register(
        Operation(
            _name,
            _request,
            _result,
            _compute,
            lambda answer, cat, _result=_result: _result.model_validate(answer.as_dict()),
            _summary,
        )
    )


def _catalog(req: schema.CatalogRequest, cat: Catalog) -> Any:
    """The ``catalog --json`` data: stale rows, an overview (rows per catalog) or one
    catalog's records."""
    if req.stale is not None:
        now = req.today or date.today()
        return [
            r.__dict__ for r in stale_rows(cat, req.stale, now, [req.name] if req.name else None)
        ]
    if req.name is None:
        return {n: len(cat.table(n)) for n in TABLES}
    return [r.model_dump(mode="json") for r in cat.table(req.name).values()]


register(
    Operation(
        "catalog",
        schema.CatalogRequest,
        None,
        _catalog,
        lambda data, cat: data,
        "The catalogs: an overview (rows per catalog), one catalog's records, or stale rows.",
    )
)


def as_json_data(result: Any) -> Any:
    """A result as the plain data ``--json`` prints (a model as its fields)."""
    return result.model_dump() if isinstance(result, BaseModel) else result


__all__ = [
    "OPERATIONS",
    "Limit",
    "LimitError",
    "Operation",
    "as_json_data",
    "get",
    "register",
]
