"""The usage report, written once as Ibis expressions (DuckDB, Spark, any Ibis backend).

``load`` reads and maps a log; ``priced`` joins list prices; each analysis takes the priced
table and returns plain Python data. Spend is the cost the log records, or the list cost
where it records none. Percentiles are exact, Hyndman and Fan's type 7 (linear interpolation
between order statistics: for sorted x_1..x_n, h = (n - 1) p + 1 and
Q(p) = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)); NumPy's default), which is
DuckDB's ``quantile_cont`` and Spark's ``percentile``.

References
----------
.. [1] R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", The American
   Statistician 50(4), 1996, pp. 361-365. https://doi.org/10.1080/00031305.1996.10473566
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.usage import adapters, reader
from tokenfab.usage.prices import Price, list_cost_usd, resolve
from tokenfab.usage.schema import UsageLogError

PERCENTILES = (0.5, 0.9, 0.95, 0.99)
PROMPT_PERCENTILES = (0.1, 0.5, 0.9, 0.99)
DIMENSIONS = ("model", "provider", "app", "category")
TOP = 20
ORDER_CHECK_MAX_ROWS = 10_000_000


@dataclass
class Loaded:
    """A log read and mapped: the generic table (with ``_problem``) and how it was read."""

    con: Any
    raw: reader.Raw
    adapter: adapters.Adapter
    sources: dict[str, Any]
    table: ir.Table
    valid_pairs: list[dict[str, Any]] | None = None  # (model, provider) of the valid rows
    last_valid: Any = None  # latest timestamp of a valid row

    def has(self, field: str) -> bool:
        """Whether the log fills ``field`` (an optional field the adapter found)."""
        return field in self.sources


def load(con: Any, paths: list[str], fmt: str | None = None) -> Loaded:
    """Read files and map them onto the generic schema."""
    raw = reader.read(con, paths)
    cols = {c for c in raw.table.columns if c not in ("_file", "_row")}
    adapter, chosen = adapters.detect(cols, fmt)
    return Loaded(con, raw, adapter, chosen, adapters.to_generic(raw.table, chosen))


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def _scalar(expr: ir.Scalar) -> Any:
    value = expr.to_pyarrow()
    return value.as_py() if hasattr(value, "as_py") else value


def quality(ld: Loaded, check_order_max_rows: int = ORDER_CHECK_MAX_ROWS) -> dict[str, Any]:
    """Rows read, malformed rows by field with examples, time zones and order."""
    g = ld.table
    bad = ~g._ok
    # one pass by (model, provider): the counts, and what pricing needs (the models of the
    # valid rows and their latest timestamp), so the prices need no pass of their own
    groups = _rows(
        g.group_by("model", "provider").aggregate(
            rows=g.count(),
            malformed=bad.cast("int64").sum(),
            with_zone=(g._zone.notnull() & (g._zone != "")).cast("int64").sum(),
            without_zone=(g._zone == "").cast("int64").sum(),
            valid=g._ok.cast("int64").sum(),
            last=g.timestamp.max(where=g._ok),
        )
    )
    head = {
        k: sum(int(r[k] or 0) for r in groups)
        for k in ("rows", "malformed", "with_zone", "without_zone")
    }
    ld.valid_pairs = [
        {"model": r["model"], "provider": r["provider"]} for r in groups if r["valid"]
    ]
    lasts = [r["last"] for r in groups if r["last"] is not None]
    ld.last_valid = max(lasts) if lasts else None
    rows = int(head["rows"] or 0)
    if rows == 0:
        raise UsageLogError(f"LOGS: {', '.join(ld.raw.files)} holds no records")
    out: dict[str, Any] = {
        "files": ld.raw.files,
        "format": ld.adapter.name,
        "rows_read": rows,
        "unreadable_lines": ld.raw.bad_lines,
        "unreadable_examples": ld.raw.bad_examples,
        "malformed_rows": int(head["malformed"] or 0),
        "valid_rows": rows - int(head["malformed"] or 0),
        "malformed_by_field": {},
        "malformed_examples": [],
        "row_unit": ld.raw.row_unit,
    }
    if out["malformed_rows"]:
        field = g._problem.split(":")[0]
        out["malformed_by_field"] = {
            r["field"]: int(r["n"])
            for r in _rows(g.filter(bad).group_by(field=field).aggregate(n=ibis._.count()))
        }
        out["malformed_examples"] = [
            {
                "file": r["_file"],
                ld.raw.row_unit: None if r["_row"] is None else int(r["_row"]),
                "reason": r["_problem"],
            }
            for r in _rows(
                g.filter(bad)
                .order_by(["_file", "_row"])
                .select("_file", "_row", "_problem")
                .limit(reader.EXAMPLES)
            )
        ]
    zones = []
    if head["with_zone"]:
        zones = [
            {"offset": r["_zone"], "rows": int(r["n"])}
            for r in _rows(
                g.filter(g._zone.notnull() & (g._zone != ""))
                .group_by("_zone")
                .aggregate(n=ibis._.count())
                .order_by(ibis.desc("n"))
                .limit(10)
            )
        ]
    out["time_zones"] = {
        "offsets": zones,
        "rows_without_offset_read_as_utc": int(head["without_zone"] or 0),
        "mixed": len(zones) + (1 if head["without_zone"] else 0) > 1,
    }
    if rows <= check_order_max_rows and ld.raw.row_unit:
        # each row against the row before it in its file: a join, which spills to disk under
        # a memory limit where a window over the whole log would not
        a = g.filter(g.timestamp.notnull() & g._row.notnull()).select("_file", "_row", "timestamp")
        b = a.select(_file2="_file", _next=a._row + 1, prev="timestamp")
        j = a.join(b, (a._file == b._file2) & (a._row == b._next))
        out["out_of_order_rows"] = int(_scalar((j.timestamp < j.prev).cast("int64").sum()) or 0)
    else:
        out["out_of_order_rows"] = None  # not checked: too many rows, or no row numbers
    return out


def priced(
    ld: Loaded, catalog: Catalog | None = None
) -> tuple[ir.Table, dict[str, Price], list[str]]:
    """Valid rows with their list prices, ``list_cost_usd`` and ``spend_usd`` columns."""
    cat = catalog or default_catalog()
    v = ld.table.filter(ld.table._ok).drop("_ok", "_problem", "_zone")
    if ld.valid_pairs is not None:  # found by quality's pass
        last, pairs = ld.last_valid, ld.valid_pairs
    else:
        last = _scalar(v.timestamp.max())
        pairs = _rows(v.select("model", "provider").distinct())
    names = sorted({p["model"] for p in pairs})
    providers = {p["model"]: p["provider"] for p in pairs if p["provider"]}
    as_of: date | None = last.date() if last is not None else None
    found, unknown = resolve(names, cat, as_of, providers)
    prices = ibis.memtable(
        {
            "model": list(found) or [""],
            "price_id": [p.price_id for p in found.values()] or [None],
            "p_in": [p.input_usd_per_mtok for p in found.values()] or [None],
            "p_cached": [p.cached_input_usd_per_mtok for p in found.values()] or [None],
            "p_out": [p.output_usd_per_mtok for p in found.values()] or [None],
        },
        schema={
            "model": "string",
            "price_id": "string",
            "p_in": "float64",
            "p_cached": "float64",
            "p_out": "float64",
        },
    )
    j = v.left_join(prices, "model").drop("model_right")
    lc = list_cost_usd(
        j.input_tokens, j.cached_input_tokens, j.output_tokens, j.p_in, j.p_cached, j.p_out
    )
    j = j.mutate(list_cost_usd=lc)
    j = j.mutate(spend_usd=j.cost_usd.fill_null(j.list_cost_usd))
    return j, found, unknown


STORED_COLUMNS = (
    "timestamp",
    "model",
    "price_id",
    "provider",
    "app",
    "category",
    "status",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "list_cost_usd",
    "spend_usd",
    "latency_s",
    "ttft_s",
    "task_id",
)
"""The priced columns the analyses read after the cube."""


MICROSECONDS_PER_DAY = 86_400_000_000


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[empty-body, valid-type]
    """DuckDB's ``epoch_us``: microseconds since 1970-01-01 UTC."""


@contextmanager
def stored(con: Any, t: ir.Table) -> Iterator[ir.Table]:
    """The priced rows written once, in DuckDB's own compressed format, to a scratch database
    in a temporary folder (removed afterwards); the analyses then scan it instead of decoding
    the log, mapping its columns, checking every row and joining the prices again on each
    pass. Other backends get ``t`` as it is (their engines plan and cache on their own).

    The scratch file lies in DuckDB's ``temp_directory`` when one is set (where it spills
    too), else in the system's temporary folder; under a ``memory_limit`` it is written and
    read through DuckDB's buffer manager, so memory stays bounded.
    """
    if getattr(con, "name", None) != "duckdb":
        yield t
        return
    name = f"_usage_priced_{uuid.uuid4().hex[:8]}"
    cols = [c for c in STORED_COLUMNS if c in t.columns]
    # the UTC day as a day number, from the microseconds DuckDB stores: a calendar
    # truncation of a TIMESTAMPTZ goes through ICU row by row, ~10x slower
    day = _epoch_us(t.timestamp) // MICROSECONDS_PER_DAY
    try:
        yield con.create_table(name, t.select(*cols, _day=day), temp=True)
    finally:
        con.raw_sql(f"DROP TABLE IF EXISTS temp.main.{name}")


SUM_FIELDS = (
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "spend_usd",
    "logged_cost_usd",
    "list_cost_usd",
    "rows_off",
    "unpriced_requests",
)
CUBE_KEYS = ("day", "model", "price_id", "provider", "app", "category", "status", "prompt_bin")


def cube(t: ir.Table, rel_tol: float = 0.01, abs_tol_usd: float = 1e-6) -> ir.Table:
    """One pass over the rows: sums by day, model, provider, app, category, status and
    power-of-two prompt-length bin. Every breakdown below reads this small table.

    ``rows_off`` counts rows whose logged cost differs from the list cost by more than both
    ``rel_tol`` of it and ``abs_tol_usd``.
    """
    diff = (t.cost_usd - t.list_cost_usd).abs()
    off = (diff > abs_tol_usd) & (diff > rel_tol * t.list_cost_usd.abs())
    day_number = "_day" in t.columns  # the stored rows carry their UTC day number
    keys = {
        "day": t._day if day_number else t.timestamp.truncate("D"),
        "model": t.model,
        "price_id": t.price_id,
        "provider": t.provider.cast("string"),
        "app": t.app.cast("string"),
        "category": t.category.cast("string"),
        "status": t.status,
        "prompt_bin": (t.input_tokens.cast("float64") + 1).log2().floor().cast("int64"),
    }
    c = t.group_by(**keys).aggregate(
        **traffic_sums(t),
        logged_cost_usd=t.cost_usd.sum(),
        rows_off=off.fill_null(False).cast("int64").sum(),
        unpriced_requests=t.price_id.isnull().cast("int64").sum(),
    )
    if day_number:  # back to the day's midnight UTC, on the small table
        c = c.mutate(day=(c.day * 86_400).as_timestamp("s").cast(t.timestamp.type()))
    return c


def traffic_sums(t: ir.Table) -> dict[str, ir.Scalar]:
    """Request count, token and spend sums, and the first and last timestamp of rows ``t``."""
    return {
        "requests": t.count(),
        "input_tokens": t.input_tokens.sum(),
        "cached_input_tokens": t.cached_input_tokens.sum(),
        "output_tokens": t.output_tokens.sum(),
        "reasoning_tokens": t.reasoning_tokens.sum(),
        "spend_usd": t.spend_usd.sum(),
        "list_cost_usd": t.list_cost_usd.sum(),
        "first": t.timestamp.min(),
        "last": t.timestamp.max(),
    }


def _sums(c: ir.Table) -> dict[str, ir.Scalar]:
    return {k: c[k].sum() for k in SUM_FIELDS}


def summary(c: ir.Table) -> dict[str, Any]:
    """Totals, time span and the token shares (uncached input, cached, visible output, reasoning)."""
    r = _rows(c.aggregate(**_sums(c), first=c["first"].min(), last=c["last"].max()))[0]
    total = sum(int(r[k] or 0) for k in ("input_tokens", "output_tokens")) or 1
    span_s = (r["last"] - r["first"]).total_seconds() if r["first"] else 0.0
    r["days"] = span_s / 86400.0
    r["shares"] = {
        "input_uncached": (r["input_tokens"] - r["cached_input_tokens"]) / total,
        "input_cached": r["cached_input_tokens"] / total,
        "output_visible": (r["output_tokens"] - r["reasoning_tokens"]) / total,
        "output_reasoning": r["reasoning_tokens"] / total,
    }
    return r


def by_dimension(c: ir.Table, dim: str, top: int = TOP) -> list[dict[str, Any]]:
    """Requests, tokens and spend by one dimension, largest spend first."""
    g = c.group_by(**{dim: c[dim].fill_null("(none)")}).aggregate(**_sums(c))
    return _rows(g.order_by([ibis.desc("spend_usd", nulls_first=False), dim]).limit(top))


def over_time(c: ir.Table, unit: str = "D") -> list[dict[str, Any]]:
    """Requests, tokens and spend per day (``unit="D"``) or week (``"W"``)."""
    g = c.group_by(period=c.day.truncate(unit)).aggregate(**_sums(c))
    return _rows(g.order_by("period"))


def _quantiles(
    t: ir.Table, col: str, ps: tuple[float, ...] = PERCENTILES, by: str | None = None
) -> list[dict[str, Any]]:
    c = t[col]
    # one aggregate for every p: a single sorted state, not one copy of the column per p
    aggs = {"_q": c.quantile(list(ps)), "mean": c.mean(), "n": c.count()}
    f = t.filter(c.notnull())
    rows = _rows(
        f.aggregate(**aggs) if by is None else f.group_by(by).aggregate(**aggs).order_by(by)
    )
    for r in rows:
        qs = r.pop("_q") or [None] * len(ps)
        r.update({f"p{round(p * 100):g}": q for p, q in zip(ps, qs, strict=True)})
    return rows


def _quantiles_many(
    t: ir.Table, columns: dict[str, tuple[str, tuple[float, ...]]], **extra: ir.Scalar
) -> dict[str, Any]:
    """Percentiles, mean and count of several columns (``{name: (column, ps)}``) and any
    ``extra`` scalars, in one aggregate: one scan of the rows, one sorted state a column.
    Nulls are left out of each column's figures, as in :func:`_quantiles`."""
    aggs: dict[str, ir.Scalar] = dict(extra)
    for name, (col, ps) in columns.items():
        c = t[col]
        aggs[f"{name}__q"] = c.quantile(list(ps))
        aggs[f"{name}__mean"] = c.mean()
        aggs[f"{name}__n"] = c.count()
    row = _rows(t.aggregate(**aggs))[0]
    out: dict[str, Any] = {k: row[k] for k in extra}
    for name, (_, ps) in columns.items():
        qs = row[f"{name}__q"] or [None] * len(ps)
        out[name] = {
            "mean": row[f"{name}__mean"],
            "n": row[f"{name}__n"],
            **{f"p{round(p * 100):g}": q for p, q in zip(ps, qs, strict=True)},
        }
    return out


def prompt_lengths(
    t: ir.Table, c: ir.Table, percentiles: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Prompt-length percentiles, a power-of-two histogram and the weekly mean (its growth);
    ``percentiles`` when the report computed them with the other columns' in one pass."""
    q = percentiles or _quantiles(t, "input_tokens", PROMPT_PERCENTILES)[0]
    hist = _rows(
        c.group_by("prompt_bin").aggregate(requests=c.requests.sum()).order_by("prompt_bin")
    )
    histogram = [
        {
            "from_tokens": 2 ** int(h["prompt_bin"]) - 1,
            "to_tokens": 2 ** (int(h["prompt_bin"]) + 1) - 1,
            "requests": int(h["requests"]),
        }
        for h in hist
    ]
    weekly = _rows(
        c.group_by(week=c.day.truncate("W"))
        .aggregate(input_tokens=c.input_tokens.sum(), requests=c.requests.sum())
        .order_by("week")
    )
    for w in weekly:
        w["mean_input_tokens"] = w["input_tokens"] / w["requests"]
    growth = (
        weekly[-1]["mean_input_tokens"] / weekly[0]["mean_input_tokens"]
        if len(weekly) > 1 and weekly[0]["mean_input_tokens"]
        else None
    )
    return {
        "percentiles": q,
        "histogram": histogram,
        "weekly": weekly,
        "growth_last_over_first_week": growth,
    }


def cost_per_request(t: ir.Table) -> dict[str, Any]:
    """Spend per request: mean and percentiles [USD]."""
    return _quantiles(t, "spend_usd")[0]


def _alone_sums(t: ir.Table, has_task: bool) -> dict[str, ir.Scalar]:
    """Tasks, successes and spend of the requests without a task id (each its own task)."""
    alone = t.task_id.isnull() if has_task else ibis.literal(True)
    ok = (t.status == "success").fill_null(False)
    return {
        "alone_tasks": alone.cast("int64").sum(),
        "alone_ok": (alone & ok).cast("int64").sum(),
        "alone_spend": t.spend_usd.sum(where=alone),
    }


def outcomes(t: ir.Table, has_task: bool, alone: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cost per successful outcome: all spend over the tasks whose last request succeeded.

    A task is the requests sharing a ``task_id`` (a request without one is a task of its own);
    it succeeded when its latest request has status success (with two latest requests at
    one timestamp, both must). ``alone`` holds :func:`_alone_sums` when the report computed
    them in its one-pass aggregate.

    One group-by over the tasks: a task succeeded when no failed request is as late as its
    latest request (``max(timestamp where failed) < max(timestamp)``), which needs no join
    back to the rows.
    """
    r = alone if alone is not None else _rows(t.aggregate(**_alone_sums(t, has_task)))[0]
    r = {
        "tasks": r["alone_tasks"] or 0,
        "ok": r["alone_ok"] or 0,
        "spend": r["alone_spend"] or 0.0,
        "requests": r["alone_tasks"] or 0,
    }
    if has_task:
        tt = t.filter(t.task_id.notnull())
        failed = ~(tt.status == "success").fill_null(False)
        per = tt.group_by("task_id").aggregate(
            n=tt.count(),
            spend=tt.spend_usd.sum(),
            last_ts=tt.timestamp.max(),
            last_failed_ts=tt.timestamp.max(where=failed),
        )
        ok = per.last_ts.notnull() & (
            per.last_failed_ts.isnull() | (per.last_failed_ts < per.last_ts)
        )
        g = _rows(
            per.aggregate(
                tasks=per.count(),
                spend=per.spend.sum(),
                requests=per.n.sum(),
                ok=ok.cast("int64").sum(),
            )
        )[0]
        for k in ("tasks", "ok", "spend", "requests"):
            r[k] = (r[k] or 0) + (g[k] or 0)
    tasks, ok_tasks = int(r["tasks"]), int(r["ok"] or 0)
    return {
        "tasks": tasks,
        "successful_tasks": ok_tasks,
        "success_rate": ok_tasks / tasks if tasks else None,
        "requests_per_task": int(r["requests"]) / tasks if tasks else None,
        "spend_per_task_usd": r["spend"] / tasks if tasks else None,
        "cost_per_successful_outcome_usd": r["spend"] / ok_tasks if ok_tasks else None,
    }


def latency(t: ir.Table, has_ttft: bool, overall: dict[str, Any] | None = None) -> dict[str, Any]:
    """Latency (and TTFT) percentiles [s], all requests and by model; ``overall`` holds the
    all-request figures when the report computed them in its one-pass aggregate."""
    if overall is None:
        overall = {"all": _quantiles(t, "latency_s")[0]}
        if has_ttft:
            overall["ttft_all"] = _quantiles(t, "ttft_s")[0]
    out = {"all": overall["all"], "by_model": _quantiles(t, "latency_s", by="model")}
    if has_ttft:
        out["ttft_all"] = overall["ttft_all"]
    return out


def cost_drivers(c: ir.Table, dims: list[str], top: int = 10) -> list[dict[str, Any]]:
    """The (app, model, ...) combinations with the largest spend, with their share."""
    keys = {d: c[d].fill_null("(none)") for d in dims}
    total = _scalar(c.spend_usd.sum()) or 0.0
    rows = _rows(
        c.group_by(**keys)
        .aggregate(requests=c.requests.sum(), spend_usd=c.spend_usd.sum())
        .order_by([ibis.desc("spend_usd", nulls_first=False), *dims])
        .limit(top)
    )
    for r in rows:
        r["share"] = r["spend_usd"] / total if total and r["spend_usd"] is not None else None
    return rows


def reconciliation(c: ir.Table, has_cost: bool) -> dict[str, Any]:
    """Logged cost against list price by model, rows off, and the models with no price."""
    unknown = _rows(
        c.filter(c.price_id.isnull())
        .group_by("model")
        .aggregate(
            requests=c.requests.sum(),
            input_tokens=c.input_tokens.sum(),
            output_tokens=c.output_tokens.sum(),
            logged_cost_usd=c.logged_cost_usd.sum(),
        )
        .order_by("model")
    )
    out: dict[str, Any] = {"unknown_models": unknown}
    if not has_cost:
        out["note"] = "the log records no cost; spend is the list cost"
        return out
    p = c.filter(c.price_id.notnull())
    by_model = _rows(
        p.group_by("model", "price_id")
        .aggregate(
            requests=p.requests.sum(),
            logged_cost_usd=p.logged_cost_usd.sum(),
            list_cost_usd=p.list_cost_usd.sum(),
            rows_off=p.rows_off.sum(),
        )
        .order_by("model")
    )
    for r in by_model:
        r["difference_usd"] = (r["logged_cost_usd"] or 0.0) - (r["list_cost_usd"] or 0.0)
    out.update(
        tolerance={"relative": 0.01, "absolute_usd": 1e-6},
        rows_off=sum(int(r["rows_off"] or 0) for r in by_model),
        by_model=by_model,
    )
    return out


def report(
    con: Any,
    paths: list[str],
    fmt: str | None = None,
    catalog: Catalog | None = None,
    check_order_max_rows: int = ORDER_CHECK_MAX_ROWS,
) -> dict[str, Any]:
    """The standard report of a log as one JSON-ready mapping."""
    ld = load(con, paths, fmt)
    q = quality(ld, check_order_max_rows)
    if q["valid_rows"] == 0:
        ex = q["malformed_examples"][0]
        raise UsageLogError(
            f"LOGS: every row is malformed ({q['malformed_rows']}); e.g. {ex['file']} "
            f"{q['row_unit']} {ex[q['row_unit']]}: {ex['reason']}"
        )
    t, found, _unknown = priced(ld, catalog)
    with stored(con, t) as t:
        c = ibis.memtable(cube(t).to_pyarrow())  # small: later breakdowns run in-process
        dims = [d for d in DIMENSIONS if d == "model" or ld.has(d)]
        out: dict[str, Any] = {"quality": q, "summary": summary(c)}
        out["by"] = {d: by_dimension(c, d) for d in dims}
        out["daily"] = over_time(c, "D")
        # every whole-log percentile and the requests without a task: one scan
        cols = {
            "prompt": ("input_tokens", PROMPT_PERCENTILES),
            "spend": ("spend_usd", PERCENTILES),
        }
        if ld.has("latency_s"):
            cols["all"] = ("latency_s", PERCENTILES)
            if ld.has("ttft_s"):
                cols["ttft_all"] = ("ttft_s", PERCENTILES)
        one = _quantiles_many(t, cols, **_alone_sums(t, ld.has("task_id")))
        out["prompt_length"] = prompt_lengths(t, c, one["prompt"])
        out["cost_per_request_usd"] = one["spend"]
        out["outcomes"] = outcomes(t, ld.has("task_id"), one)
        if ld.has("latency_s"):
            out["latency_s"] = latency(t, ld.has("ttft_s"), one)
    out["top_cost_drivers"] = cost_drivers(
        c, [d for d in ("app", "model", "category") if d in dims]
    )
    out["reconciliation"] = reconciliation(c, ld.has("cost_usd"))
    out["prices"] = {k: vars(v) for k, v in found.items()}
    out["percentile_definition"] = "exact, Hyndman-Fan type 7 (linear interpolation; numpy default)"
    return out
