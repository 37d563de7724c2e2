"""The ``tokenfab`` command line: parse, validate a request, call the core, render.

No model logic lives here. Each command's options are generated from its request model in
:mod:`tokenfab.schema` (name, help text, unit, allowed values, default), so the CLI, the
library and the HTTP API describe and validate each field the same way; options that only
concern the terminal (``--json``, ``--csv``, ``--out``, ``--scenario``, ``--top``) are the
only ones declared here.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from tokenfab import cli_econ, cli_forward, cli_report, cli_uncertainty, operations, render, schema
from tokenfab.calibrate import cli as calibrate_cli
from tokenfab.catalog import (
    Catalog,
    _cached_catalog,
    default_catalog,
    stale_rows,
    user_catalog_dir,
    user_dirs_from_env,
)
from tokenfab.errors import ScenarioError, TokenfabError, UnknownIdError, name_unknown_id
from tokenfab.fileio import CHART_SUFFIXES, check_output_path, json_text
from tokenfab.perf.params import parameter_breakdown
from tokenfab.scenario import Scenario, describe_validation_error, in_file, with_overrides
from tokenfab.usage import cli as usage_cli

app = typer.Typer(
    name="tokenfab",
    help="Inference economics: tokens per second, dollars per million tokens, watts and CO2.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is plain: "[s]" is a unit, not a markup tag
)

ALIASES: dict[str, tuple[str, ...]] = {
    "batch_size": ("--batch",),
    "cost_usd_per_request": ("--cost-per-request",),
    "revenue_usd_per_request": ("--revenue-per-request",),
    "revenue_usd_per_user_month": ("--revenue-per-user-month",),
    "price_decline_per_year": ("--price-decline",),
}
"""Older option names kept working beside the schema's name."""


def _console() -> Console:
    return Console(markup=False, emoji=False, width=None if sys.stdout.isatty() else 140)


def _current_context() -> Any:
    try:  # typer >= 0.2x carries its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older typer on click
        from click import get_current_context
    return get_current_context(silent=True)


def _catalog_dirs(ctx: typer.Context | None = None) -> tuple[str, ...]:
    """The ``--catalog`` directories of this invocation (held on the click context, not in a
    module global)."""
    ctx = ctx or _current_context()
    return (ctx.find_root().obj if ctx is not None else None) or ()


def _catalog(ctx: typer.Context | None = None) -> Catalog:
    return default_catalog(_catalog_dirs(ctx))


@app.callback()
def _main(
    ctx: typer.Context,
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog", help="directory of catalog files that override or extend the built-in ones"
        ),
    ] = None,
) -> None:
    ctx.obj = tuple(str(p) for p in catalog or ())


def _emit_json(data: BaseModel | Any) -> None:
    """Strict JSON on stdout (a result model as its fields; NaN and inf become null)."""
    sys.stdout.write(json_text(data.model_dump() if isinstance(data, BaseModel) else data))


def _note(text: str) -> None:
    """A side note ("wrote chart.html") on stderr, so stdout holds only the answer."""
    Console(stderr=True, emoji=False).print(text, style="dim", markup=False, highlight=False)


# ------------------------------------------------------------------------------------------
# Options generated from the request models
# ------------------------------------------------------------------------------------------


def flag(name: str) -> str:
    """The CLI option of a field: ``tokens_per_day`` -> ``--tokens-per-day``."""
    return "--" + name.replace("_", "-")


def _metavar(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "metavar" in extra:  # a text form of its own (factory --mix)
        return str(extra["metavar"])
    allowed = schema.allowed_values(field)
    if schema.is_list(field) and schema._of_models(field):
        return "NAME=NUMBER,..."
    if schema.is_list(field):
        return "IDS" if not allowed else ",".join(allowed)
    if allowed:
        return "[" + "|".join(allowed) + "]"
    t = schema.value_type(field)
    return {int: "INTEGER", float: "FLOAT"}.get(t, "TEXT")


def option_parameter(name: str, field: FieldInfo, argument: bool = False) -> inspect.Parameter:
    """The Typer parameter of one request field.

    Values reach the request model as given (text), so the model validates them: a bad value
    is the same one-line message on the command line as in the HTTP API. Every option
    defaults to "not given" (None); the model supplies its own default.
    """
    help_ = schema.help_text(field)
    if argument:
        many = schema.is_list(field)  # `usage report LOG...`: one or more
        info: Any = typer.Argument(help=help_, show_default=False)
        return inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[list[str] | None if many else str | None, info],
            default=None,
        )
    if schema.value_type(field) is bool:
        info = typer.Option(flag(name), help=help_, show_default=False)
        annotation: Any = Annotated[bool | None, info]
    else:
        info = typer.Option(
            flag(name),
            *ALIASES.get(name, ()),
            help=help_,
            metavar=_metavar(field),
            show_default=False,
        )
        # a list option may be repeated (--api a --api b) or comma-separated (--api a,b)
        annotation = Annotated[list[str] | None if schema.is_list(field) else str | None, info]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None
    )


def _given(field: FieldInfo, value: Any, argument: bool) -> Any:
    """An option's value as the request model takes it: a repeated list option joined with
    commas (the model splits it again), a number's text as its number; None: not given."""
    if isinstance(value, list | tuple):
        if not value:
            return None
        return list(value) if argument else ",".join(value)
    return _number(field, value)


def _number(field: FieldInfo, text: Any) -> Any:
    """A numeric option's text as the number it spells ("1e9", "inf", "8"), so the model
    reports a bad number as a number; text that spells none goes to the model as it is."""
    t = schema.value_type(field)
    if not isinstance(text, str) or t not in (int, float):
        return text
    for parse in (int, float) if t is int else (float,):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def _extra(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


AS_JSON = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
SCENARIO = Annotated[
    Path | None,
    typer.Option(
        "--scenario",
        help="YAML scenario file (tokenfab demand --write-scenario writes one with the "
        "demand's fields); options override it",
    ),
]
OUT = Annotated[
    str | None, typer.Option("--out", help="write an interactive HTML chart (and a PNG beside it)")
]
"""``--out`` is text, not a Path: ``--out ""`` must read as empty, not as the current folder."""

DEMAND = Annotated[
    Path | None,
    typer.Option(
        "--demand",
        help="demand YAML: tokenfab demand's input (an archetypes list) or the file its "
        "--write-scenario wrote; sets tokens_per_day, lengths and peak_to_average",
    ),
]

INTERFACE_OPTIONS = {
    "--json",
    "--csv",
    "--out",
    "--scenario",
    "--demand",
    "--top",
    "--list",
    "--write-scenario",
    "--force",
    "--help",
}
"""Options that concern the terminal only; every other option is a request field."""


class OnceCommand(TyperCommand):
    """A command whose single-valued options may be given once: ``--model a ... --model b``
    is refused with one line naming the field, not read as ``b`` (the parser keeps the last
    value, so an earlier one was dropped without a word). List options (``--api a --api b``),
    arguments and flags (``--json``) may repeat."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:  # typer >= 0.2x carries its own copy of click
            from typer._click.exceptions import UsageError
        except ImportError:  # pragma: no cover - older typer on click
            from click.exceptions import UsageError

        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        seen: set[str] = set()
        for param in order:
            if getattr(param, "multiple", True) or getattr(param, "is_flag", True):
                continue
            if param.name in seen:
                raise UsageError(
                    f"{param.name}: {'/'.join(param.opts)} given more than once; give it once",
                    ctx=ctx,
                )
            seen.add(param.name)
        return super().parse_args(ctx, args)


def command(
    name: str,
    request: type[BaseModel],
    extras: dict[str, tuple[Any, Any]],
    arguments: tuple[str, ...] = (),
    target: typer.Typer | None = None,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``run(ctx, given, **extras)`` as command ``name`` with one option per field of
    ``request``; ``given`` holds the fields given on the command line."""

    def register(run: Callable[..., None]) -> Callable[..., None]:
        fields = request.model_fields
        params = [
            inspect.Parameter(
                "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
            )
        ]
        params += [option_parameter(n, fields[n], argument=True) for n in arguments]
        params += [option_parameter(n, f) for n, f in fields.items() if n not in arguments]
        params += [_extra(k, ann, default) for k, (ann, default) in extras.items()]

        def callback(ctx: typer.Context, **kwargs: Any) -> None:
            given = {k: kwargs.pop(k) for k in list(kwargs) if k in fields}
            given = {k: _given(fields[k], v, k in arguments) for k, v in given.items()}
            given = {k: v for k, v in given.items() if v is not None}
            try:
                run(ctx, given, **kwargs)
            except UnknownIdError as exc:  # the option that gave the id, not its catalog
                raise _named(exc, ctx, given) from None

        callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        callback.__annotations__ = {p.name: p.annotation for p in params}
        callback.__doc__ = run.__doc__
        callback.__name__ = run.__name__
        (target or app).command(name, cls=OnceCommand)(callback)
        return run

    return register


FILE_VALUES = "tokenfab.file_values"
"""Key of the click context's ``meta`` holding ``(path, {field: value})`` of the scenario
file's fields a command used (:func:`request_from`), so an unknown id there names its line."""


def remember_file_values(path: Path, values: dict[str, Any]) -> None:
    """Keep the scenario file's fields a command used (``path``, ``{field: value}``) on this
    invocation's context, so an unknown id among them names its file line."""
    ctx = _current_context()
    if ctx is not None:
        ctx.meta[FILE_VALUES] = (path, values)


def _named(exc: UnknownIdError, ctx: typer.Context, given: dict[str, Any]) -> UnknownIdError:
    """An unknown id naming the option that gave it, else the scenario file's line (a file
    read by :func:`request_from`, or the scenario file ``project`` and ``roadmap`` take)."""
    named = name_unknown_id(exc, given)
    if named is not exc:
        return named
    if FILE_VALUES in ctx.meta:
        path, values = ctx.meta[FILE_VALUES]
    elif isinstance(given.get("scenario"), str) and Path(given["scenario"]).is_file():
        from tokenfab.scenario import _read_mapping

        path = given["scenario"]
        try:
            values, _ = _read_mapping(path)
        except TokenfabError:  # not a scenario mapping: the catalog's line as it is
            return exc
        values = {k: v for k, v in values.items() if k not in given}
    else:
        return exc
    named = name_unknown_id(exc, values)
    return exc if named is exc else in_file(named, path, values)  # type: ignore[arg-type]


def request_from(
    model: type[schema.Request] | type[Scenario],
    given: dict[str, Any],
    file: Path | None = None,
    ignore_from_file: tuple[str, ...] = (),
    demand: Path | None = None,
) -> Any:
    """The request from an optional scenario file, an optional demand file and the options
    given (options win over the demand, the demand over the scenario file).

    A scenario file describes a deployment; a command takes from it the fields it has.
    """
    base: dict[str, Any] = {}
    if file is not None:
        # the options fill what the file leaves out (a file without model or accelerator); a
        # field the command ignores in the file (plan's accelerator) need not be in it
        ignored = {k: "-" for k in ignore_from_file if Scenario.model_fields[k].is_required()}
        values = Scenario.from_yaml(file, {**ignored, **given}).model_dump(exclude_unset=True)
        base = {
            k: v for k, v in values.items() if k in model.model_fields and k not in ignore_from_file
        }
    from_file = set(base) - set(given)
    if file is not None:
        remember_file_values(file, {k: base[k] for k in from_file})
    if demand is not None:
        from tokenfab.demand import demand_fields

        from_demand = demand_fields(demand)
        base = {**base, **from_demand}
        base.pop("requests_per_second", None)
        from_file -= set(from_demand)  # those come from the demand file now
    try:
        return model.parse(with_overrides(base, given))
    except ScenarioError as exc:  # a file's field refused beside an option: name its line
        raise (in_file(exc, file, from_file) if file is not None else exc) from None


# ------------------------------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------------------------------


class _CatalogGroup(TyperGroup):
    """``catalog NAME`` shows a catalog; ``catalog import-model`` etc. are subcommands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        # `--stale` with no number means 12 months
        for i, a in enumerate(args):
            if a == "--stale" and (i + 1 == len(args) or not _is_number(args[i + 1])):
                args[i] = "--stale=12"
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


catalog_app = typer.Typer(
    cls=_CatalogGroup,
    help="Show the catalogs, list stale rows, import model configs and price lists.",
)
app.add_typer(catalog_app, name="catalog")


def _write_dir() -> Path:
    """Where importers write: the first --catalog, else TOKENFAB_CATALOG, else the user dir.

    A folder the user names may be new, but not its parent (as for every ``--out``); only the
    per-user catalog folder is created with its parents."""
    from tokenfab.fileio import check_output_folder

    given = _catalog_dirs()
    if given:
        return check_output_folder(given[0], option="--catalog")
    dirs = user_dirs_from_env()
    if dirs and Path(dirs[0]) != user_catalog_dir():
        return check_output_folder(dirs[0], option="TOKENFAB_CATALOG")
    return user_catalog_dir()


@command(
    "show", schema.CatalogRequest, {"as_json": (AS_JSON, False)}, ("name",), target=catalog_app
)
def catalog_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """Show the catalogs: an overview, or one catalog as a table."""
    op = operations.get("catalog")
    req = op.parse(given)
    cat = _catalog(ctx)
    if as_json:
        _emit_json(op.present(op.compute(req, cat), cat))
        return
    console = _console()
    if req.stale is not None:
        now = req.today or date.today()
        rows = stale_rows(cat, req.stale, now, [req.name] if req.name else None)
        console.print(render.stale_table(rows, req.stale, now))
        return
    if req.name is None:
        console.print(render.catalog_overview(cat))
        return
    records = cat.table(req.name)
    console.print(render.catalog_table(req.name, list(records.values()), req.sources))


def import_model_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """Add a model to the user catalog from its Hugging Face config.json."""
    from tokenfab.importers import model_from_config, read_json, write_rows

    req = schema.ImportModelRequest.parse(given)
    read_on = date.today()
    result = model_from_config(
        read_json(Path(req.config)),
        model_id=req.id,
        source=req.source or req.config,
        as_of=req.as_of or read_on,
        retrieved=read_on,
        name=req.name,
        developer=req.developer,
        total_params_b=req.total_params_b,
        active_params_b=req.active_params_b,
        params_source=req.params_source,
        released=req.released,
        active_params_basis=req.active_basis,
        where=req.config,
    )
    new_id = result.rows[0]["id"]
    target = _write_dir()
    dirs = _catalog_dirs() or user_dirs_from_env()
    # the catalog as it stands: the built-in rows and the folders that exist (the folder the
    # row goes to may be new)
    present = _cached_catalog(tuple(d for d in dirs if Path(d).is_dir()))
    existed = new_id in present.table("models")
    if existed and not req.replace:
        # an import under an id the catalog has replaced that model everywhere without a
        # word: --id llama-3.1-8b on gpt-oss-120b's config, or a second config whose
        # model_type (the default id) was imported before
        raise TokenfabError(
            f"id: {new_id!r} is already a model in the catalog; give another --id, or "
            "--replace to replace it"
        )
    path = write_rows(target, "models", result.rows)
    _cached_catalog.cache_clear()
    row = result.rows[0]
    record = _catalog().model(row["id"])
    counts = parameter_breakdown(record)
    computed = {
        "total_params_b": counts.total / 1e9,
        "active_params_b": counts.active_as(record.active_params_basis) / 1e9,
    }
    published = {"total_params_b": req.total_params_b, "active_params_b": req.active_params_b}
    if as_json:
        _emit_json({"row": row, "computed": computed, "file": str(path), "notes": result.notes})
        return
    done = "replaced" if existed else "added"
    _console().print(f"{done} model {row['id']!r} in {path}", markup=False, highlight=False)
    for key, label in (("total_params_b", "total"), ("active_params_b", "active")):
        value = published[key]
        shown = f"{value:g} B published" if value else "none published"
        _console().print(f"  {label} parameters: {computed[key]:.2f} B computed, {shown}")
    for note in result.notes:
        _console().print(f"  note: {note}", style="dim", markup=False)


def import_prices_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """Add API price rows to the user catalog from an OpenRouter or LiteLLM price list."""
    from tokenfab.importers import (
        prices_from_litellm,
        prices_from_openrouter,
        read_json,
        write_rows,
    )

    req = schema.ImportPricesRequest.parse(given)
    readers = {"openrouter": prices_from_openrouter, "litellm": prices_from_litellm}
    result = readers[req.format](
        read_json(Path(req.file)),
        as_of=req.as_of,
        source=req.source or req.file,
        retrieved=date.today(),
        where=req.file,
    )
    if not result.rows:
        raise TokenfabError(f"{req.file}: no priced model in the list")
    path = write_rows(_write_dir(), "api-prices", result.rows)
    _cached_catalog.cache_clear()
    if as_json:
        _emit_json({"rows": result.rows, "file": str(path), "notes": result.notes})
        return
    _console().print(
        f"added {len(result.rows)} API price rows to {path}", markup=False, highlight=False
    )
    for note in result.notes:
        _console().print(f"  note: {note}", style="dim", markup=False)


command(
    "import-model",
    schema.ImportModelRequest,
    {"as_json": (Annotated[bool, typer.Option("--json", help="print the row as JSON")], False)},
    ("config",),
    target=catalog_app,
)(import_model_cmd)
command(
    "import-prices",
    schema.ImportPricesRequest,
    {"as_json": (Annotated[bool, typer.Option("--json", help="print the rows as JSON")], False)},
    ("file",),
    target=catalog_app,
)(import_prices_cmd)


@command(
    "estimate",
    schema.EstimateRequest,
    {"scenario": (SCENARIO, None), "demand": (DEMAND, None), "as_json": (AS_JSON, False)},
)
def estimate(
    ctx: typer.Context,
    given: dict[str, Any],
    scenario: Path | None,
    demand: Path | None,
    as_json: bool,
) -> None:
    """Estimate a deployment: TTFT, TPOT, tokens per second, and the eight cost/energy/carbon KPIs."""
    op = operations.get("estimate")
    req = request_from(schema.EstimateRequest, given, scenario, demand=demand)
    cat = _catalog(ctx)
    if as_json:
        _emit_json(op.run(req, cat))
        return
    from tokenfab.planning import evaluate

    est = evaluate(req.scenario(), cat)  # the table shows the KPIs of the scalar estimate
    result = op.present(est, cat)
    console = _console()
    # one line, never broken by rich (the terminal wraps it; a pipe or a file gets it whole)
    console.print(render.headline(est), markup=False, highlight=False, soft_wrap=True)
    console.print(render.estimate(est))
    if result.precision_note:  # plan would serve it in another format: said, as in the JSON
        console.print(result.precision_note, markup=False, highlight=False, soft_wrap=True)
    for line in result.warning_lines():  # the same lines the JSON and the HTTP API carry
        console.print(line, style="yellow", markup=False, highlight=False)


@command("frontier", schema.FrontierRequest, {"out": (OUT, None), "as_json": (AS_JSON, False)})
def frontier_cmd(ctx: typer.Context, given: dict[str, Any], out: str | None, as_json: bool) -> None:
    """The Pareto frontier of tokens/s per accelerator against tokens/s per user."""
    chart = check_output_path(out, suffixes=CHART_SUFFIXES) if out is not None else None
    op = operations.get("frontier")
    req = op.parse(given)
    cat = _catalog(ctx)
    fronts = op.compute(req, cat)
    console = _console()
    if as_json:
        _emit_json(op.present(fronts, cat))
    else:
        for f in fronts:
            console.print(render.frontier_table(req.model, f))
        for acc, reason in getattr(fronts, "left_out", []):
            console.print(
                f"left out {acc}: {reason}", style="yellow", markup=False, highlight=False
            )
    if chart is not None:
        from tokenfab import charts

        html, png = charts.frontier_chart(req.model, fronts, chart)
        _note(f"wrote {html} and {png}")


@command(
    "plan",
    schema.PlanRequest,
    {
        "top": (Annotated[int, typer.Option("--top", min=1, help="feasible options to show")], 15),
        "scenario": (SCENARIO, None),
        "demand": (DEMAND, None),
        "as_json": (AS_JSON, False),
        "as_csv": (Annotated[bool, typer.Option("--csv", help="print all options as CSV")], False),
    },
)
def plan_cmd(
    ctx: typer.Context,
    given: dict[str, Any],
    top: int,
    scenario: Path | None,
    demand: Path | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Capacity plan: every accelerator x region x ownership for a demand and latency targets, cheapest first."""
    if as_json and as_csv:
        raise ScenarioError("--json, --csv: choose one output format, not both")
    if (as_json or as_csv) and _given_on_command_line(ctx, "top"):
        # the JSON and the CSV list every option; --top cut nothing there and was dropped
        raise ScenarioError(
            f"top: cuts the table only; {'--json' if as_json else '--csv'} lists every "
            "option; drop --top"
        )

    # a scenario file's accelerator and ownership describe one deployment; a plan weighs them all
    req = request_from(
        schema.PlanRequest, given, scenario, ("accelerator", "ownership"), demand=demand
    )
    op = operations.get("plan")
    result = op.run(req, _catalog(ctx))
    rows = [o.model_dump(mode="json") for o in result.options]
    if as_json:
        _emit_json(result)
        return
    if as_csv:
        import csv

        keys = list(schema.PlanOption.model_fields)
        w = csv.DictWriter(sys.stdout, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
        return
    _console().print(render.plan_table(req, rows, top))


def _given_on_command_line(ctx: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was typed (not its default), for an option that only some
    output formats use."""
    source = ctx.get_parameter_source(name)  # typer may carry its own click: compare by name
    return source is not None and source.name == "COMMANDLINE"


def _pools_name(req: Any) -> str:
    """The accelerator of a request, with its separate prefill pool's where it has one."""
    pre = getattr(req, "prefill_accelerator", None)
    return req.accelerator if pre is None else f"{req.accelerator} + {pre} (prefill)"


@command(
    "breakeven",
    schema.BreakevenRequest,
    {"scenario": (SCENARIO, None), "out": (OUT, None), "as_json": (AS_JSON, False)},
)
def breakeven_cmd(
    ctx: typer.Context,
    given: dict[str, Any],
    scenario: Path | None,
    out: str | None,
    as_json: bool,
) -> None:
    """Break-even: monthly cost of buying, renting or an API against output tokens a day."""
    chart = check_output_path(out, suffixes=CHART_SUFFIXES) if out is not None else None
    op = operations.get("breakeven")
    req = request_from(schema.BreakevenRequest, given, scenario)
    cat = _catalog(ctx)
    analysis = op.compute(req, cat)
    result = op.present(analysis, cat)
    console = _console()
    if as_json:
        _emit_json(result)
    else:
        rows = [r.model_dump() for r in result.rows]
        title = f"Break-even: {req.model} {result.formats()} on {_pools_name(req)} ({req.region})"
        console.print(render.breakeven_table(title, rows, result.summary_lines()))
        for option, why in result.missing.items():
            console.print(f"{option}: not priced ({why})", style="dim")
    if chart is not None:
        from tokenfab import charts

        fine = analysis.fine
        series = [
            {
                "name": name,
                "x": fine.tokens_per_day,
                "y": y,
                "color": charts.COLORS[k],
                "style": "-",
            }
            for k, (name, y) in enumerate(
                (("buy", fine.buy_usd), ("rent", fine.rent_usd), ("API", fine.api_usd))
            )
            if not all(v != v for v in y)
        ]
        html, png = charts.line_chart(
            chart,
            series,
            f"Monthly cost vs volume: {req.model} on {_pools_name(req)}",
            "output tokens/day",
            "USD/month",
            logx=True,
            logy=True,
        )
        if not as_json:
            _note(f"wrote {html} and {png}")


@app.command("serve", cls=OnceCommand)
def serve_cmd(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="address to listen on; 0.0.0.0 exposes the API to the network")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port, 1 to 65535")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes, 1 to 64")] = 1,
) -> None:
    """Serve the HTTP API (and the calculator page) until interrupted; API docs at /docs."""
    from tokenfab import api

    address = api.url(host, port)
    console = Console(stderr=True, emoji=False, soft_wrap=True, markup=False)

    def announce() -> None:
        console.print(
            f"tokenfab serving on {address} (API docs: {address}docs); Ctrl-C stops it",
            markup=False,
            highlight=False,
        )
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(
                f"note: --host {host} makes the API reachable from other machines; it has no "
                "authentication",
                style="yellow",
                markup=False,
                highlight=False,
            )

    api.serve(host, port, workers, _catalog_dirs(ctx), on_start=announce)


BUG_EXIT_CODE = 3

try:  # typer >= 0.20 carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError


cli_econ.register(app)  # market, demand, route, viability (tokenfab.cli_econ)
cli_forward.register(app)  # project, roadmap, narrative, scenario new (tokenfab.cli_forward)
usage_cli.register(app)  # usage synth|params|report|whatif, export-prices (tokenfab.usage.cli)
calibrate_cli.register(app)  # calibrate (tokenfab.calibrate.cli; the fit loads when run)
cli_report.register(app)  # report (tokenfab.cli_report)
cli_uncertainty.register(app)  # montecarlo, sensitivity (tokenfab.cli_uncertainty)


def _option_error(exc: Exception) -> str | None:
    """A terminal option (``--top``, ``--port`` ...) that typer's pydantic check refused, in
    tokenfab's words (``top: -1 is out of range; allowed: 1 or more``), not pydantic's."""
    from tokenfab.scenario import describe_error

    cause, param = exc.__cause__, getattr(exc, "param", None)
    if not isinstance(cause, ValidationError) or param is None or not cause.errors():
        return None
    err = {**cause.errors()[0], "loc": (param.name,)}
    got = err.get("input")
    if isinstance(got, str):  # the option's text: a number shows as one
        for kind in (int, float):
            try:
                err["input"] = kind(got)
                break
            except ValueError:
                continue
    line = describe_error(err)
    lo, hi = getattr(param, "min", None), getattr(param, "max", None)
    if lo is not None and hi is not None:
        # pydantic names the one bound crossed ("allowed: 1 or more" for --port 0); an option
        # with both is given its whole range, as the scenario's fields are
        line = f"{line.split('; allowed: ')[0]}; allowed: {lo} to {hi}"
    return line


def main() -> None:
    """Entry point: a tokenfab error prints one line and exits 2; any other exception is a bug,
    printed as one line asking for a report, with exit code 3."""
    err = Console(stderr=True, soft_wrap=True, emoji=False, markup=False)
    with warnings.catch_warnings():
        # Inputs are range-checked before they reach NumPy, so a floating-point warning here
        # would be noise in front of the answer; the test suite runs with warnings shown.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            code = app(standalone_mode=False, prog_name="tokenfab")
        except NoArgsIsHelpError:  # bare `tokenfab`: the help was shown
            raise SystemExit(0) from None
        except UsageError as exc:  # one line, not a boxed panel
            where = exc.ctx.command_path if exc.ctx else "tokenfab"
            err.print(
                f"error: {_option_error(exc) or exc.format_message()} (see `{where} --help`)",
                style="bold red",
                markup=False,
                highlight=False,
            )
            raise SystemExit(exc.exit_code) from None
        except ClickException as exc:
            err.print(f"error: {exc.format_message()}", style="bold red", markup=False)
            raise SystemExit(exc.exit_code) from None
        except typer.Abort:
            raise SystemExit(1) from None
        except TokenfabError as exc:
            err.print(f"error: {exc}", style="bold red", markup=False, highlight=False)
            raise SystemExit(2) from None
        except ValidationError as exc:  # a model validated outside Request.parse
            message = describe_validation_error(exc)
            err.print(f"error: {message}", style="bold red", markup=False, highlight=False)
            raise SystemExit(2) from None
        except (KeyboardInterrupt, BrokenPipeError):
            raise SystemExit(130) from None
        except Exception as exc:  # the last line of defence: one line to report, no traceback
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            at = (
                f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}"
                if where
                else ""
            )
            err.print(
                f"bug: {type(exc).__name__}: {exc}{at} -- this is a tokenfab bug; please "
                "report it with the command you ran",
                style="bold red",
                markup=False,
                highlight=False,
            )
            raise SystemExit(BUG_EXIT_CODE) from None
        raise SystemExit(code if isinstance(code, int) else 0)
