"""Adapters: map the columns of a known log format onto the generic schema, row problems.

Each adapter says, for every generic field, which source columns can fill it, best first.
A source is a column path (nested JSON fields joined with dots) or a small transform:
``("ms", col)`` milliseconds to seconds, ``("epoch_s", col)`` Unix seconds to a time,
``("seconds_between", end, start)``, ``("error_if", col, values)`` and ``("error_if_true", col)``
for the status. The first source whose columns all exist is used.

Field names of each format, as documented by its project:

- OpenAI-compatible usage records: the chat completion object, ``created``, ``model``,
  ``usage.prompt_tokens``, ``usage.completion_tokens``,
  ``usage.prompt_tokens_details.cached_tokens``, ``usage.completion_tokens_details.reasoning_tokens``
  (https://platform.openai.com/docs/api-reference/chat/object).
- LiteLLM spend logs: the ``LiteLLM_SpendLogs`` table of the proxy database, ``request_id``,
  ``spend``, ``prompt_tokens``, ``completion_tokens``, ``startTime``, ``endTime``,
  ``completionStartTime``, ``request_duration_ms``, ``model``, ``custom_llm_provider``, ``user``,
  ``team_id``, ``end_user``, ``session_id``, ``status`` (BerriAI/litellm@schema.prisma).
- Langfuse observations (export or public API): ``id``, ``traceId``, ``name``, ``startTime``,
  ``endTime``, ``completionStartTime``, ``model``, ``promptTokens``, ``completionTokens``,
  ``usageDetails``, ``calculatedTotalCost``, ``costDetails``, ``latency`` [s],
  ``timeToFirstToken`` [s], ``level`` (Langfuse OpenAPI spec, Observation and
  ObservationsView, https://cloud.langfuse.com/generated/api/openapi.yml).
- OpenRouter generation records (``GET /api/v1/generation``, one ``data`` object per
  request): ``id``, ``created_at``, ``model``, ``provider_name``, ``app_id``, ``external_user``,
  ``tokens_prompt``, ``tokens_completion``, ``native_tokens_prompt``,
  ``native_tokens_completion``, ``native_tokens_reasoning``, ``native_tokens_cached``,
  ``total_cost``, ``latency`` [ms], ``cancelled``; the SDKs spell them in camelCase
  (https://openrouter.ai/docs/api-reference/get-a-generation). OpenRouter's Activity-page CSV
  export is aggregated by period, not per request, so it is read only where its columns carry
  the per-request fields above.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tokenfab.scenario import MAX_TOKENS_PER_REQUEST
from tokenfab.usage.schema import BY_NAME, FIELDS, REQUIRED, UsageLogError

Source = str | tuple[Any, ...]


@dataclass(frozen=True)
class Adapter:
    """A log format: generic field -> candidate sources, best first."""

    name: str
    description: str
    fields: dict[str, tuple[Source, ...]]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _both(*names: str) -> tuple[str, ...]:
    """snake_case names followed by their camelCase spelling (OpenRouter's SDKs)."""
    return tuple(names) + tuple(_camel(n) for n in names)


GENERIC = Adapter(
    "generic", "tokenfab's generic schema (docs/usage.md)", {f.name: (f.name,) for f in FIELDS}
)

OPENAI = Adapter(
    "openai",
    "OpenAI-compatible chat completion objects with their usage block",
    {
        "timestamp": (("epoch_s", "created"),),
        "model": ("model",),
        "input_tokens": ("usage.prompt_tokens", "usage.input_tokens"),
        "output_tokens": ("usage.completion_tokens", "usage.output_tokens"),
        "cached_input_tokens": (
            "usage.prompt_tokens_details.cached_tokens",
            "usage.input_tokens_details.cached_tokens",
        ),
        "reasoning_tokens": (
            "usage.completion_tokens_details.reasoning_tokens",
            "usage.output_tokens_details.reasoning_tokens",
        ),
        "provider": ("provider",),
        "cost_usd": ("cost_usd",),
        "latency_s": ("latency_s",),
        "status": ("status",),
        "app": ("app",),
        "user": ("user",),
        "task_id": ("task_id",),
        "request_id": ("id",),
    },
)

LITELLM = Adapter(
    "litellm",
    "LiteLLM proxy spend logs (LiteLLM_SpendLogs rows)",
    {
        "timestamp": ("startTime", "start_time"),
        "model": ("model",),
        "input_tokens": ("prompt_tokens",),
        "output_tokens": ("completion_tokens",),
        "provider": ("custom_llm_provider",),
        "cost_usd": ("spend",),
        "latency_s": (
            ("ms", "request_duration_ms"),
            ("seconds_between", "endTime", "startTime"),
            ("seconds_between", "end_time", "start_time"),
        ),
        "ttft_s": (("seconds_between", "completionStartTime", "startTime"),),
        "status": ("status",),
        "app": ("team_id",),
        "user": ("end_user", "user"),
        "task_id": ("session_id",),
        "request_id": ("request_id",),
    },
)

LANGFUSE = Adapter(
    "langfuse",
    "Langfuse observation export (generations)",
    {
        "timestamp": ("startTime",),
        "model": ("model",),
        "input_tokens": ("promptTokens", "usageDetails.input", "usage.input"),
        "output_tokens": ("completionTokens", "usageDetails.output", "usage.output"),
        "cost_usd": ("calculatedTotalCost", "costDetails.total"),
        "latency_s": ("latency", ("seconds_between", "endTime", "startTime")),
        "ttft_s": ("timeToFirstToken", ("seconds_between", "completionStartTime", "startTime")),
        "status": (("error_if", "level", ("ERROR",)),),
        "app": ("name",),
        "user": ("userId",),
        "task_id": ("traceId",),
        "request_id": ("id",),
    },
)

OPENROUTER = Adapter(
    "openrouter",
    "OpenRouter generation records (GET /api/v1/generation data, snake or camel case)",
    {
        "timestamp": _both("created_at"),
        "model": ("model",),
        "input_tokens": _both("native_tokens_prompt", "tokens_prompt"),
        "output_tokens": _both("native_tokens_completion", "tokens_completion"),
        "cached_input_tokens": _both("native_tokens_cached"),
        "reasoning_tokens": _both("native_tokens_reasoning"),
        "provider": _both("provider_name"),
        "cost_usd": _both("total_cost", "usage"),
        "latency_s": (("ms", "latency"),),
        "status": (("error_if_true", "cancelled"),),
        "app": _both("app_id"),
        "user": _both("external_user"),
        "request_id": ("id",),
    },
)

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (GENERIC, OPENAI, LITELLM, LANGFUSE, OPENROUTER)}


def _columns(source: Source) -> tuple[str, ...]:
    if isinstance(source, str):
        return (source,)
    kind, *args = source
    if kind == "seconds_between":
        return tuple(args)
    return (args[0],)


def resolve(adapter: Adapter, columns: set[str]) -> tuple[dict[str, Source], list[str]]:
    """The source chosen for each generic field, and the required fields with no source."""
    chosen: dict[str, Source] = {}
    for name, sources in adapter.fields.items():
        for s in sources:
            if all(c in columns for c in _columns(s)):
                chosen[name] = s
                break
    missing = [f for f in REQUIRED if f not in chosen]
    return chosen, missing


def detect(columns: set[str], name: str | None = None) -> tuple[Adapter, dict[str, Source]]:
    """The adapter named, or the first whose required fields all have a source.

    Raises
    ------
    UsageLogError
        No adapter fits: names the closest one's missing fields and the columns found.
    """
    if name is not None and name not in ADAPTERS:
        raise UsageLogError(
            f"--format: unknown log format {name!r}; allowed: {', '.join(ADAPTERS)}"
        )
    tried = [ADAPTERS[name]] if name else list(ADAPTERS.values())
    attempts = []
    for a in tried:
        chosen, missing = resolve(a, columns)
        if not missing:
            return a, chosen
        attempts.append((len(missing), a, missing))
    _, best, missing = min(attempts, key=lambda x: x[0])
    wanted = ", ".join(
        f"{m} (from {' or '.join('+'.join(_columns(s)) for s in best.fields[m])})" for m in missing
    )
    found = ", ".join(sorted(columns)[:12]) + (" ..." if len(columns) > 12 else "")
    raise UsageLogError(
        f"LOGS: columns match no log format; tried {', '.join(a.name for a in tried)}; "
        f"closest is {best.name}, which misses {wanted}; columns found: {found or 'none'}"
    )


def _as_float(col: ir.Value) -> ir.Value:
    if col.type().is_numeric() or col.type().is_boolean():
        return col.cast("float64")
    return col.cast("string").try_cast("float64")


def _not_finite(val: ir.Value, known: _Known | None = None) -> ir.BooleanValue:
    """Whether a float is inf, -inf or NaN: none is a count, a cost or a duration, and
    DuckDB orders NaN above every number, so ``val < 0`` lets it through (an inf cost_usd
    once reached ``sqrt`` and failed the report with "-nan can't be cast"). Only NaN where
    ``known`` bounds the column by finite numbers (Parquet statistics leave NaN out)."""
    if known is not None and known.finite():
        return val.isnan()
    return val.isinf() | val.isnan()


class _Known:
    """What :func:`to_generic`'s ``facts`` tell of one source column: which checks a row
    may fail. Without facts, every one."""

    def __init__(self, facts: dict[str, Any] | None, raw: ir.Value) -> None:
        self.facts = facts or {}
        # bounds of a numeric column only: a text column's are text
        self.numeric = raw.type().is_numeric() and not raw.type().is_boolean()

    def may_be_null(self) -> bool:
        return self.facts.get("nulls") != 0

    def _bound(self, key: str) -> float | None:
        value = self.facts.get(key) if self.numeric else None
        return None if value is None or value != value else float(value)  # NaN: no bound

    def may_be_below(self, limit: float) -> bool:
        lo = self._bound("min")
        return lo is None or lo < limit

    def may_be_above(self, limit: float) -> bool:
        hi = self._bound("max")
        return hi is None or hi > limit

    def finite(self) -> bool:
        lo, hi = self._bound("min"), self._bound("max")
        return lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)

    def may_be_blank(self) -> bool:
        values = self.facts.get("values")
        if values is None or self.may_be_null():
            return True
        return any(v is None or str(v).strip() == "" for v in values)


def _as_time(col: ir.Value) -> ir.Value:
    utc = dt.Timestamp(timezone="UTC")
    if col.type().is_timestamp():
        return col.cast(utc)
    if col.type().is_date():
        return col.cast(dt.timestamp).cast(utc)
    return col.cast("string").try_cast(utc)


def _value(t: ir.Table, source: Source, kind: str) -> tuple[ir.Value, ir.Value]:
    """(parsed value, raw value) of one source; the raw value tells empty from malformed."""
    if isinstance(source, str):
        raw = t[source]
        if kind == "timestamp":
            return _as_time(raw), raw
        if kind == "int" and raw.type().is_integer():
            return raw.cast("int64"), raw  # no round trip through float64 in every query
        if kind in ("int", "float"):
            return _as_float(raw), raw
        if kind == "string" and source.endswith("id") and raw.type().is_integer():
            return raw, raw  # integer ids stay integers: grouping them is cheaper
        return raw.cast("string"), raw
    op, *args = source
    raw = t[args[0]]
    if op == "ms":
        return _as_float(raw) / 1000.0, raw
    if op == "epoch_s":
        return _as_float(raw).try_cast("int64").as_timestamp("s").cast(
            dt.Timestamp(timezone="UTC")
        ), raw
    if op == "seconds_between":
        end, start = _as_time(t[args[0]]), _as_time(t[args[1]])
        return (end.epoch_seconds() - start.epoch_seconds()).cast("float64"), raw
    if op == "error_if":
        bad = [v.lower() for v in args[1]]
        return ibis.ifelse(raw.cast("string").lower().isin(bad), "error", "success"), raw
    if op == "error_if_true":
        flag = raw.cast("string").lower().isin(["true", "1"])
        return ibis.ifelse(flag, "error", "success"), raw
    raise ValueError(f"adapter source: unknown transform {op!r}")


SUCCESS_STATUSES = ("", "success", "ok", "200", "stop", "completed")


def status_ok(value: ir.StringValue) -> ir.BooleanValue:
    """Whether a logged status reads as success: empty, or one of ``SUCCESS_STATUSES`` in
    any case with spaces around."""
    st = value.lower().strip()
    # equalities, not IN: DuckDB plans an IN list over an expression as a join
    return functools.reduce(operator.or_, (st == v for v in SUCCESS_STATUSES), st.isnull())


def to_generic(
    t: ir.Table,
    chosen: dict[str, Source],
    success: list[str] | None = None,
    facts: dict[str, dict[str, Any]] | None = None,
) -> ir.Table:
    """The generic table: every schema field, ``_ok`` (the row is valid), ``_problem`` (why
    not; null when valid),
    ``_zone`` (the UTC offset a text timestamp carried, '' when none, null when typed),
    ``_status`` (the status as logged, where a column holds it), and the reader's ``_file``
    and ``_row``.

    ``success``: the logged status values that read as success (:func:`status_ok`, found
    once over the log's distinct values); a row's status then compares its value with
    those as it is instead of lowering and trimming every row's (0.25 CPU-s on 10M rows
    here, in each pass that reads the status).

    ``facts``: what the engine knows of a source column without reading its rows, by column
    name (:func:`tokenfab.usage.analyses.column_facts`: DuckDB answers them from the
    Parquet statistics): ``nulls``, ``min`` and ``max`` (numeric columns), ``values`` (the
    distinct values, where the caller has them). A check no row can fail by them (no null,
    no negative minimum, no maximum above the limit, no infinite bound, no blank value) is
    left out of ``_ok`` and ``_problem``; every row's validity and reason are the same.
    What stays: NaN (the statistics leave it out) and the checks between two columns. On
    the 10M-row synthetic log here every check alone took 2.2 CPU-s more than none, what
    stays 0.8; the report's all-row cube, 6.8 to 8.7 against 5.9 to 6.0 CPU-s (A/B runs).

    Token counts must be whole and not negative; cached tokens at most the input tokens and
    reasoning tokens at most the output tokens. Optional token fields that are empty read 0.
    """
    facts = facts or {}
    cols: dict[str, ir.Value] = {}
    problems: list[tuple[ir.BooleanValue, ir.StringValue]] = []
    zone: ir.Value = ibis.null().cast("string")
    for f in FIELDS:
        src = chosen.get(f.name)
        if src is None:
            typ = {"timestamp": dt.Timestamp(timezone="UTC"), "int": dt.int64}.get(f.kind)
            if f.kind in ("int",):
                cols[f.name] = ibis.literal(0, dt.int64)
            else:
                cols[f.name] = ibis.null().cast(
                    typ or ("float64" if f.kind == "float" else "string")
                )
            continue
        val, raw = _value(t, src, f.kind)
        shown = raw.cast("string")
        known = _Known(facts.get(src) if isinstance(src, str) else None, raw)
        if f.kind == "timestamp":
            if not raw.type().is_timestamp() and raw.type().is_string():
                # only a timestamp that was read has a zone (or none): "not-a-time" is a
                # malformed row, not a row read as UTC
                zone = ibis.ifelse(
                    val.notnull(),
                    raw.re_extract(r"(Z|[+-]\d\d:?\d\d)$", 1),
                    ibis.null().cast("string"),
                )
            if f.required and known.may_be_null():
                problems.append((raw.isnull(), ibis.literal(f"{f.name}: empty")))
            if not raw.type().is_timestamp():
                problems.append(
                    (raw.notnull() & val.isnull(), f"{f.name}: not a date-time (" + shown + ")")
                )
        elif f.kind == "int":
            if f.required and known.may_be_null():
                problems.append((raw.isnull(), ibis.literal(f"{f.name}: empty")))
            if not (raw.type().is_numeric() or raw.type().is_boolean()):
                problems.append(
                    (raw.notnull() & val.isnull(), f"{f.name}: not a number (" + shown + ")")
                )
            if val.type().is_floating():
                problems.append(
                    (_not_finite(val, known), f"{f.name}: not a finite number (" + shown + ")")
                )
            if known.may_be_below(0):
                problems.append((val < 0, f"{f.name}: negative (" + shown + ")"))
            if known.may_be_above(MAX_TOKENS_PER_REQUEST):
                too_big = val > MAX_TOKENS_PER_REQUEST
                problems.append(
                    (too_big, f"{f.name}: above {MAX_TOKENS_PER_REQUEST:g} tokens (" + shown + ")")
                )
            if not raw.type().is_integer():
                problems.append((val % 1 != 0, f"{f.name}: not a whole number (" + shown + ")"))
            val = val.fill_null(0) if not f.required else val
            # a refused row's count is never read, but the cast runs on every row: a plain
            # cast of 1e300 (and round(), an int64 in ibis) failed the whole query
            val = val.try_cast("int64")
        elif f.kind == "float":
            if not raw.type().is_numeric():
                problems.append(
                    (raw.notnull() & val.isnull(), f"{f.name}: not a number (" + shown + ")")
                )
            problems.append(
                (_not_finite(val, known), f"{f.name}: not a finite number (" + shown + ")")
            )
            if known.may_be_below(0):
                problems.append((val < 0, f"{f.name}: negative (" + shown + ")"))
        elif f.required and known.may_be_blank():
            problems.append((raw.isnull() | (val.strip() == ""), ibis.literal(f"{f.name}: empty")))
        cols[f.name] = val
    logged_status: ir.Value = ibis.null().cast("string")
    if "status" in chosen:
        if isinstance(chosen["status"], str):
            logged_status = cols["status"]
        if success is not None:
            # the logged values that read as success, each compared as it is
            st = cols["status"]
            ok = functools.reduce(operator.or_, (st == v for v in success), st.isnull())
        else:
            ok = status_ok(cols["status"])
        cols["status"] = ibis.ifelse(ok, "success", "error")
    else:
        cols["status"] = ibis.literal("success")
    problems.append(
        (
            cols["cached_input_tokens"] > cols["input_tokens"],
            ibis.literal("cached_input_tokens: more than input_tokens"),
        )
    )
    problems.append(
        (
            cols["reasoning_tokens"] > cols["output_tokens"],
            ibis.literal("reasoning_tokens: more than output_tokens"),
        )
    )
    conds = [c.fill_null(False) for c, _ in problems]
    problem = ibis.cases(
        *zip(conds, [m for _, m in problems], strict=True), else_=ibis.null("string")
    )
    ok = ~functools.reduce(operator.or_, conds)
    return t.select(
        **cols,
        _ok=ok,
        _problem=problem,
        _zone=zone,
        _status=logged_status,
        _file=t["_file"],
        _row=t["_row"],
    )


def required_fields() -> tuple[str, ...]:
    """The generic fields every log must fill."""
    return tuple(n for n in REQUIRED if BY_NAME[n].required)
