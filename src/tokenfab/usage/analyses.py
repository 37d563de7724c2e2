"""The usage report, written once as Ibis expressions (DuckDB, Spark, any Ibis backend).

``load`` reads and maps a log; ``priced`` joins list prices; each analysis takes the priced
table and returns plain Python data. Spend is the cost the log records, or the list cost
where it records none. Percentiles are exact, Hyndman and Fan's type 7 (linear interpolation
between order statistics: for sorted x_1..x_n, h = (n - 1) p + 1 and
Q(p) = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)); NumPy's default, DuckDB's
``quantile_cont`` and Spark's ``percentile``). They are found by selection, not by holding a
column in memory (see :func:`exact_quantiles`): two grouped counts on any engine, so memory
stays bounded on logs of any size and every engine gives the same order statistics.

References
----------
.. [1] R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", The American
   Statistician 50(4), 1996, pp. 361-365. https://doi.org/10.1080/00031305.1996.10473566
"""

from __future__ import annotations

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.usage import adapters, engines, reader
from tokenfab.usage.prices import Price, list_cost_usd, provider_matters, resolve
from tokenfab.usage.schema import BY_NAME, UsageLogError

PERCENTILES = (0.5, 0.9, 0.95, 0.99)
PROMPT_PERCENTILES = (0.1, 0.5, 0.9, 0.99)
DIMENSIONS = ("model", "provider", "app", "category")
TOP = 20
ORDER_CHECK_MAX_ROWS = 10_000_000
STATUS_VALUES_MAX = 16  # up to this many distinct logged statuses, each compared as logged


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
    clean: bool = False  # quality found no malformed row: the valid rows are all the rows
    zones: bool = True  # the timestamps are text, which may carry a UTC offset

    def has(self, field: str) -> bool:
        """Whether the log fills ``field`` (an optional field the adapter found)."""
        return field in self.sources


def load(con: Any, paths: list[str], fmt: str | None = None) -> Loaded:
    """Read files and map them onto the generic schema."""
    raw = reader.read(con, paths)
    cols = {c for c in raw.table.columns if c not in ("_file", "_row")}
    adapter, chosen = adapters.detect(cols, fmt)
    ts = chosen["timestamp"]
    zones = isinstance(ts, str) and raw.table[ts].type().is_string()
    return Loaded(con, raw, adapter, chosen, adapters.to_generic(raw.table, chosen), zones=zones)


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def _scalar(expr: ir.Scalar) -> Any:
    value = expr.to_pyarrow()
    return value.as_py() if hasattr(value, "as_py") else value


def quality(
    ld: Loaded,
    check_order_max_rows: int = ORDER_CHECK_MAX_ROWS,
    groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Rows read, malformed rows by field with examples, time zones and order.

    ``groups`` holds the counts by (model, provider) when the report's all-row cube found
    them (:func:`quality_groups`); else one aggregate finds them here. They also give what
    pricing needs: the models of the valid rows and their latest timestamp.
    """
    g = ld.table
    bad = ~g._ok
    if groups is None:
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
    ld.clean = int(head["malformed"] or 0) == 0
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
    # no filter where quality found every row valid: the later passes then read only the
    # columns they use instead of every column the validity check needs
    v = ld.table if ld.clean else ld.table.filter(ld.table._ok)
    v = v.drop("_ok", "_problem", "_zone", "_status")
    if ld.valid_pairs is not None:  # found by quality's pass
        last, pairs = ld.last_valid, ld.valid_pairs
    else:
        last = _scalar(v.timestamp.max())
        pairs = _rows(v.select("model", "provider").distinct())
    found, unknown = _prices(pairs, last, cat)
    return with_prices(v, found), found, unknown


def _prices(
    pairs: list[dict[str, Any]], last: Any, cat: Catalog
) -> tuple[dict[str, Price], list[str]]:
    """Prices of the models in ``pairs`` (model, provider) as of the day of ``last``."""
    names = sorted({p["model"] for p in pairs if p["model"] is not None})
    providers = {p["model"]: p["provider"] for p in pairs if p["provider"]}
    as_of: date | None = last.date() if last is not None else None
    return resolve(names, cat, as_of, providers)


def with_prices(v: ir.Table, found: dict[str, Price]) -> ir.Table:
    """Rows ``v`` with their list prices, ``list_cost_usd`` and ``spend_usd`` columns."""
    j = v.left_join(_price_table(found), "model").drop("model_right")
    lc = list_cost_usd(
        j.input_tokens, j.cached_input_tokens, j.output_tokens, j.p_in, j.p_cached, j.p_out
    )
    j = j.mutate(list_cost_usd=lc)
    return j.mutate(spend_usd=j.cost_usd.fill_null(j.list_cost_usd))


def _price_table(found: dict[str, Price]) -> ir.Table:
    """The prices of ``found`` as a small table keyed by model."""
    return ibis.memtable(
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


MICROSECONDS_PER_DAY = 86_400_000_000


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[empty-body, valid-type]
    """DuckDB's ``epoch_us``: microseconds since 1970-01-01 UTC."""


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


QUANTILE_COLUMNS = ("input_tokens", "spend_usd", "latency_s", "ttft_s")
"""Columns whose count, minimum, maximum and sum the cube keeps (for the percentiles)."""


def cube(
    t: ir.Table,
    rel_tol: float = 0.01,
    abs_tol_usd: float = 1e-6,
    day_number: bool = False,
    zones: bool = True,
    prices: dict[str, Price] | None = None,
    optimistic: bool = False,
    alone: bool = True,
    status: bool = True,
) -> ir.Table:
    """One pass over the rows: sums by day, model, provider, app, category, status and
    power-of-two prompt-length bin. Every breakdown below reads this small table.

    ``rows_off`` counts rows whose logged cost differs from the list cost by more than both
    ``rel_tol`` of it and ``abs_tol_usd``. The cube also keeps, per cell, the count, minimum,
    maximum and sum of each of ``QUANTILE_COLUMNS`` (``q_<column>_n`` ...; the minimum is
    not needed: the values are never negative), and the tasks,
    successes and spend of the requests without a task id (``alone_*``; not where ``alone``
    is false: the caller knows every row has a task id).

    Where ``t`` carries the validity flag ``_ok`` (every row read, as :func:`report` passes
    it), ``_ok`` is a key too, a malformed row's other keys are null, and ``with_zone`` and
    ``without_zone`` count the timestamps read with and without a UTC offset (where
    ``zones``: the log's timestamps are text; typed ones carry no offset): the data
    quality counts come out of the same pass. ``day_number`` (DuckDB) takes the UTC day from
    the stored microseconds instead of a calendar truncation of the time zone-aware
    timestamp, which DuckDB does row by row through ICU (about ten times slower).

    ``prices`` (those :func:`with_prices` joined to ``t``): the price id, a function of the
    model, is joined to the small table after the pass instead of being a ninth key of it
    (9.1 against 8.1 CPU-s on 10M rows here); the cells are the same. So are, from the
    cell's sums and its model's prices, ``list_cost_usd`` (the cell's token sums at the
    list prices: the sum of the rows' list costs to rounding, 1e-15 relative) and
    ``q_spend_usd_n`` (every valid row of a priced model has a list cost, so a spend: the
    cell's requests; else its logged costs): two sums fewer a row.

    ``optimistic`` (with ``_ok`` in ``t``): instead of keying by validity and nulling a
    malformed row's keys (one conditional a key a row), count the malformed rows of each
    cell (``malformed``); where that count is 0 everywhere, the cells are those of the
    valid rows, keyed by validity. Else the caller runs the keyed cube (4.3 against about
    2.7 CPU-s for the keys alone on 10M rows here). Its cells hold no ``first`` and
    ``last`` timestamp and no maximum of the prompt tokens, latency and TTFT: the report
    takes the log's from the Parquet statistics; and no sum of latency and TTFT: their
    first percentile counts sum them (:class:`_Selection`), so the cube reads neither
    column where it has no null (about 0.8 against 0.3 CPU-s on 10M rows here: the
    first counts each sum one column more).

    ``status``: false leaves the status out of the keys (the cells of each other key
    together): :func:`report` reads no cell by status (the outcomes take their own pass);
    on 10M rows here the pass takes 4.4 CPU-s without the key, 4.9 with it (its value is a
    test of each row's logged status, and it splits most cells in two).
    """
    diff = (t.cost_usd - t.list_cost_usd).abs()
    off = (diff > abs_tol_usd) & (diff > rel_tol * t.list_cost_usd.abs())
    keys = {
        "day": _epoch_us(t.timestamp) // MICROSECONDS_PER_DAY
        if day_number
        else t.timestamp.truncate("D"),
        "model": t.model,
        **({} if prices is not None else {"price_id": t.price_id}),
        "provider": t.provider.cast("string"),
        "app": t.app.cast("string"),
        "category": t.category.cast("string"),
        **({"status": t.status} if status else {}),
        "prompt_bin": (t.input_tokens.cast("float64") + 1).log2().floor().cast("int64"),
    }
    extra: dict[str, ir.Scalar] = {}
    if optimistic and "_ok" in t.columns:
        # a malformed row's keys are never used; abs keeps a negative count from the log
        # of a negative number, which DuckDB refuses
        keys["prompt_bin"] = (t.input_tokens.abs().cast("float64") + 1).log2().floor()
        keys["prompt_bin"] = keys["prompt_bin"].cast("int64")
        extra["malformed"] = (~t._ok).cast("int64").sum()
        if zones:
            extra |= {
                "with_zone": (t._zone.notnull() & (t._zone != "")).cast("int64").sum(),
                "without_zone": (t._zone == "").cast("int64").sum(),
            }
    elif "_ok" in t.columns:
        keys = {k: ibis.ifelse(t._ok, v, ibis.null(v.type())) for k, v in keys.items()}
        keys = {"_ok": t._ok, **keys}
        if zones:
            extra = {
                "with_zone": (t._zone.notnull() & (t._zone != "")).cast("int64").sum(),
                "without_zone": (t._zone == "").cast("int64").sum(),
            }
    timed = ("input_tokens", "latency_s", "ttft_s")
    whole_only = timed if optimistic and "_ok" in t.columns else ()
    for col in QUANTILE_COLUMNS:  # no minimum: the values are never negative (0 is the floor)
        x = t[col].cast("float64")
        if col not in whole_only:  # those: the report's, from the Parquet statistics
            extra[f"q_{col}_max"] = x.max()
        if col in ("latency_s", "ttft_s"):  # input tokens: requests; spend: spend_usd
            extra[f"q_{col}_n"] = x.count()  # DuckDB: count(*) where the column has no null
            if col not in whole_only:  # else the sums come with the first percentile count
                extra[f"q_{col}_sum"] = x.sum()
    if prices is None:
        extra["q_spend_usd_n"] = t.spend_usd.count()
    extra["q_cost_usd_n"] = t.cost_usd.count()
    sums = traffic_sums(t)
    if prices is not None:  # from the cell's sums, after the pass
        del sums["list_cost_usd"]
    if optimistic and "_ok" in t.columns:
        del sums["first"], sums["last"]
    c = t.group_by(**keys).aggregate(
        **sums,
        logged_cost_usd=t.cost_usd.sum(),
        rows_off=off.fill_null(False).cast("int64").sum(),
        **(
            {}
            if prices is not None
            else {"unpriced_requests": t.price_id.isnull().cast("int64").sum()}
        ),
        **(_alone_sums(t, True) if alone else {}),
        **extra,
    )
    if prices is not None:
        ids = _price_table(prices).rename(_m="model")
        c = c.left_join(ids, c.model == ids._m).drop("_m")
        c = c.mutate(
            unpriced_requests=ibis.ifelse(c.price_id.isnull(), c.requests, 0),
            list_cost_usd=list_cost_usd(
                c.input_tokens, c.cached_input_tokens, c.output_tokens, c.p_in, c.p_cached, c.p_out
            ),
            q_spend_usd_n=ibis.ifelse(c.price_id.isnull(), c.q_cost_usd_n, c.requests),
        ).drop("p_in", "p_cached", "p_out")
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


MIN_SPAN_S = 3600.0
"""A log shorter than an hour (a one-row log spans 0 s) counts as one hour: ``usage report``
and ``usage whatif`` read the same span from it, and a month is never scaled from 0 s."""


def span_days(first: Any, last: Any) -> float:
    """The log's span [days]: last - first timestamp, at least :data:`MIN_SPAN_S`; 0 for a log
    without rows (no timestamps)."""
    if first is None or last is None:
        return 0.0
    return max((last - first).total_seconds(), MIN_SPAN_S) / 86400.0


def summary(c: ir.Table) -> dict[str, Any]:
    """Totals, time span and the token shares (uncached input, cached, visible output, reasoning)."""
    r = _rows(c.aggregate(**_sums(c), first=c["first"].min(), last=c["last"].max()))[0]
    total = sum(int(r[k] or 0) for k in ("input_tokens", "output_tokens")) or 1
    r["days"] = span_days(r["first"], r["last"])
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


QUANTILE_BUCKETS = 65_536
DIRECT_VALUES_MAX = 1 << 22
"""An integer column whose values span fewer than this many integers is counted by value in
one pass (no second count): at most this many counts, whatever the row count."""
_WHOLE = object()  # the whole column's group in exact_quantiles(total=...)
IN_LIST_MIN = 8  # DuckDB plans an IN list of six values or more as a hash probe


def _pname(p: float) -> str:
    return f"p{round(p * 100):g}"


def exact_quantiles(
    t: ir.Table,
    col: str,
    ps: tuple[float, ...] = PERCENTILES,
    by: str | None = None,
    stats: list[dict[str, Any]] | None = None,
    buckets: int = QUANTILE_BUCKETS,
    total: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Exact type-7 percentiles of ``t[col]`` (nulls left out), with mean and count, for the
    whole table or each value of ``by`` (one row each, in ``by`` order), found by selection
    in two grouped counts instead of a sort or a buffer of every value.

    1. Each value x in a group with minimum lo and maximum hi goes to bucket
       int(sqrt(x - lo) x (B - 1) / sqrt(hi - lo)), 0 to B - 1 (B = ``buckets``; the
       engine's cast to an integer, which rounds on DuckDB and truncates on Spark, either
       never decreasing). Subtraction, square root and multiplication are correctly rounded
       IEEE operations, so the bucket never decreases as x grows (that is all selection
       needs; each engine counts both passes with its own one expression); the square root
       spreads a long right tail
       (latency, cost) over more buckets than a linear scale. One count by bucket gives, for
       each order statistic the percentiles need (ranks floor(h) and floor(h) + 1, h =
       (n - 1) p, from 0), the bucket holding it and the rows before that bucket.
    2. One count by (bucket, value) over the rows of those buckets only gives the values
       themselves; Q(p) = x_(floor h) + (h - floor h)(x_(floor h + 1) - x_(floor h)).

    An integer column whose values span fewer than ``DIRECT_VALUES_MAX`` integers (token
    counts) is counted by value in step 1: each value its own bucket, no step 2.

    Memory is one count per bucket and per distinct value of a chosen bucket, whatever the
    number of rows; any Ibis engine runs both counts. ``stats`` gives each group's ``n``,
    ``lo``, ``hi`` and ``mean`` (and the ``by`` key) where the caller has them (the report
    takes them from its cube); else one aggregate finds them.

    ``total`` (with ``by``): the whole column's ``n``, ``lo``, ``hi`` and ``mean``; its
    percentiles come out of the same two counts, as one more row (``by`` None) after the
    groups'. Every group shares one bucket scale, from the least minimum to the largest
    maximum of the groups, which are the whole column's: a whole-column bucket count is the
    sum of the groups' counts, and the values of a bucket are the groups' values in it
    (saves the two counts of its own, 1.5 CPU-s on 10M rows here).

    :func:`exact_quantiles_many` runs the second counts of several columns in one pass.
    """
    s = _Selection(t, col, ps, by, stats, buckets, total)
    s.count_buckets()
    s.count_values()
    return s.rows()


def exact_quantiles_many(
    t: ir.Table, specs: dict[str, dict[str, Any]], hash_keys: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """:func:`exact_quantiles` of several columns of ``t`` (``specs``: name -> its keyword
    arguments, ``col`` among them): every column's first count, then every second count.

    ``hash_keys`` (DuckDB): a column by groups of text values (latency by model) is counted
    by DuckDB's 64-bit ``hash`` of the value instead of the text, where the groups' values
    all hash apart (checked; else by the text): 0.72 against 1.0 CPU-s for the first count
    of latency by model over 10M rows here. Every count is the same.

    One pass for the second counts of every column was tried and dropped: DuckDB plans an
    ``IN`` list under an ``OR`` as a mark join, one per column (1.8 against 1.5 CPU-s for
    three columns on 10M rows here), and the columns share no decoding.
    """
    sels = {name: _Selection(t, **kw) for name, kw in specs.items()}
    for s in sels.values():
        if hash_keys:
            s.hash_groups()
            s.narrow = True
        if s.narrow and s.spread and not s.direct and s.names is None and not s.by:
            # a 16-bit bucket, whose range DuckDB knows from its type, counted in a perfect
            # hash table (an array of 65,536 counts): 0.27 against 0.36 CPU-s for TTFT over
            # 10M rows here; DuckDB takes one for keys of at most 2^perfect_ht_threshold
            # values (12 by default, 17 here, for this count only)
            con = t.get_backend()
            before = con.raw_sql("SELECT current_setting('perfect_ht_threshold')").fetchone()[0]
            con.raw_sql(f"SET perfect_ht_threshold = {max(int(before), 17)}")
            try:
                s.count_buckets()
            finally:
                con.raw_sql(f"SET perfect_ht_threshold = {int(before)}")
        else:
            s.count_buckets()
    for s in sels.values():
        s.count_values()
    return {name: s.rows() for name, s in sels.items()}


@ibis.udf.scalar.builtin(name="hash")
def _hash(value: dt.string) -> dt.uint64:  # type: ignore[empty-body, valid-type]
    """DuckDB's ``hash``: a 64-bit hash of a value."""


class _Selection:
    """One column's exact percentiles in progress (:func:`exact_quantiles`): the groups and
    their wanted ranks, the first count (:meth:`count_buckets`), the buckets the second count
    needs (``need``, :meth:`condition`), the values it found (:meth:`take`), the figures
    (:meth:`rows`)."""

    def __init__(
        self,
        t: ir.Table,
        col: str,
        ps: tuple[float, ...] = PERCENTILES,
        by: str | None = None,
        stats: list[dict[str, Any]] | None = None,
        buckets: int = QUANTILE_BUCKETS,
        total: dict[str, Any] | None = None,
    ) -> None:
        self.t, self.col, self.ps, self.by, self.total = t, col, ps, by, total
        self.x = x = t[col].cast("float64")
        self.f = f = t.filter(t[col].notnull())
        if stats is None:
            aggs = {"n": x.count(), "lo": x.min(), "hi": x.max(), "mean": x.mean()}
            stats = _rows(f.aggregate(**aggs) if by is None else f.group_by(by).aggregate(**aggs))
        groups = sorted(
            (r for r in stats if r["n"]),
            key=lambda r: (r[by] is None, r[by]) if by else 0,
        )
        self.key = (lambda r: r[by]) if by else (lambda r: None)
        if by and total is not None and total["n"]:
            # the whole column as one more group, keyed by a marker no value can equal
            groups.append({**total, by: _WHOLE})
            self.key = lambda r: r[by]
        self.groups = groups
        # a group without its mean (None): the first count sums the column too
        self.sums = any(r.get("mean") is None for r in groups)
        self.wanted: dict[Any, dict[int, float]] = {}  # group -> rank -> value, filled below
        for r in groups:
            n = int(r["n"])
            ranks = set()
            for p in ps:
                lo_rank = int((n - 1) * p)
                ranks |= {lo_rank, min(lo_rank + 1, n - 1)}
            self.wanted[self.key(r)] = dict.fromkeys(ranks, r["lo"])  # one value: its value
        self.spread = [r for r in groups if r["hi"] > r["lo"]]
        self.keys = {"_g": t[by]} if by else {}
        self.names: dict[Any, Any] | None = None  # hash -> group value, where hashed
        self.need: list[int] = []
        self.loc: dict[Any, dict[int, tuple[int, int]]] = {}  # group -> rank -> (bucket, before)
        self.direct = False
        self.buckets = buckets
        self.narrow = False  # DuckDB: the first count keys a 16-bit bucket (exact_quantiles_many)
        if self.spread:
            # one scale for every group (still monotone within each): no per-group expression
            lo = min(float(r["lo"]) for r in self.spread)
            hi = max(float(r["hi"]) for r in self.spread)
            self.direct = t[col].type().is_integer() and hi - lo < DIRECT_VALUES_MAX
            if self.direct:  # each value its own bucket
                self.bucket = t[col].cast("int64")
            else:
                # lo is at most every value, so x - lo >= 0; no clamp, no floor, one product
                # (0.26 against 0.44 CPU-s for the expression over 10M rows here)
                scale = (buckets - 1) / (hi - lo) ** 0.5
                self.bucket = ((x if lo == 0.0 else x - lo).sqrt() * scale).cast("int64")

    def hash_groups(self) -> None:
        """Count by the DuckDB hash of a text ``by`` value where the groups' values hash
        apart (:func:`exact_quantiles_many`)."""
        by = self.by
        if not by or not self.t[by].type().is_string():
            return
        values = [r[by] for r in self.groups if r[by] is not _WHOLE]
        if not values or any(v is None for v in values):
            return
        m = ibis.memtable({"v": values}, schema={"v": "string"})
        con = self.t.get_backend()
        got = con.to_pyarrow(m.select(v=m.v, h=_hash(m.v))).to_pylist()
        names = {r["h"]: r["v"] for r in got}
        if len(names) == len(set(values)):  # no two values share a hash
            self.names = names
            self.keys = {"_g": _hash(self.t[by])}

    def _counts(self, expr: ir.Table) -> list[dict[str, Any]]:
        """Rows of a count, each group key back to its value where counted by hash."""
        rows = _rows(expr)
        if self.names is not None:
            for r in rows:
                if r["_g"] not in self.names:
                    raise RuntimeError(f"{self.col}: a {self.by} outside the known groups")
                r["_g"] = self.names[r["_g"]]
        return rows

    def count_buckets(self) -> None:
        """The first count: the bucket of each wanted rank and the rows before it (and the
        sum of each group's values, where a group's mean is missing)."""
        if not self.spread:
            for r in self.groups:  # every value of a group is its minimum
                if r.get("mean") is None:
                    r["mean"] = r["lo"]
            return
        f = self.f
        b = self.bucket
        if self.narrow and not self.direct and self.buckets <= 1 << 16:
            b = b.cast("uint16")  # the same bucket numbers; its type bounds its range
        aggs = {"_n": f.count(), **({"_s": self.x.sum()} if self.sums else {})}
        counts = self._counts(f.group_by(**self.keys, _b=b).aggregate(**aggs))
        if self.sums:
            parts: dict[Any, list[float]] = {}
            for c in counts:
                parts.setdefault(c.get("_g"), []).append(c["_s"])
                if self.by and self.total is not None:
                    parts.setdefault(_WHOLE, []).append(c["_s"])
            for r in self.groups:
                if r.get("mean") is None:
                    r["mean"] = math.fsum(parts.get(self.key(r), [])) / int(r["n"])
        by_group: dict[Any, list[tuple[int, int]]] = {}
        for c in counts:
            by_group.setdefault(c.get("_g"), []).append((c["_b"], int(c["_n"])))
        if self.by and self.total is not None:
            whole: dict[int, int] = {}
            for c in counts:
                whole[c["_b"]] = whole.get(c["_b"], 0) + int(c["_n"])
            by_group[_WHOLE] = list(whole.items())
        for r in self.spread:
            g = self.key(r)
            cum, starts = 0, []
            for b, n_b in sorted(by_group.get(g, [])):
                starts.append((b, cum, n_b))
                cum += n_b
            if cum != int(r["n"]):
                raise RuntimeError(
                    f"{self.col}: bucket counts ({cum}) differ from the count ({r['n']})"
                )
            self.loc[g] = {
                rank: next((b, b0) for b, b0, n_b in starts if b0 <= rank < b0 + n_b)
                for rank in self.wanted[g]
            }
        if self.direct:  # the buckets are the values: nothing left to count
            self.take(
                [
                    {"_g": c.get("_g"), "_b": c["_b"], "_v": float(c["_b"]), "_n": c["_n"]}
                    for c in counts
                ]
            )
            return
        self.need = sorted({b for r in self.spread for b, _ in self.loc[self.key(r)].values()})

    def count_values(self) -> None:
        """The second count: the values of the chosen buckets."""
        if self.need:
            chosen = self.f.filter(self.condition())
            keys, x = self.keys, self.x
            self.take(
                self._counts(
                    chosen.group_by(**keys, _b=self.bucket, _v=x).aggregate(_n=chosen.count())
                )
            )

    def condition(self) -> ir.BooleanValue:
        """The rows of the chosen buckets (the second count's)."""
        # an IN list, not a chain of equalities: DuckDB evaluates each equality of an OR
        # chain on the bucket expression again (22 against 0.5 CPU-s for 72 buckets over
        # 10M rows here), where it plans an IN list as one hash probe a row
        # DuckDB expands an IN list of fewer than six values into such a chain: padded with
        # buckets that cannot occur (negative), it stays one probe (1.15 against 0.4 CPU-s
        # for four buckets over 10M rows here)
        pad = [-1 - i for i in range(max(0, IN_LIST_MIN - len(self.need)))]
        return self.t[self.col].notnull() & self.bucket.isin(self.need + pad)

    def take(self, vals: list[dict[str, Any]]) -> None:
        """The wanted values from counts by (group, bucket, value)."""
        runs: dict[tuple[Any, int], list[tuple[float, int]]] = {}
        whole = self.by and self.total is not None
        for v in vals:
            runs.setdefault((v.get("_g"), v["_b"]), []).append((v["_v"], int(v["_n"])))
            if whole:
                runs.setdefault((_WHOLE, v["_b"]), []).append((v["_v"], int(v["_n"])))
        for r in self.spread:
            g = self.key(r)
            for rank, (b, b0) in self.loc[g].items():
                at = rank - b0
                for v, n_v in sorted(runs.get((g, b), [])):
                    if at < n_v:
                        self.wanted[g][rank] = v
                        break
                    at -= n_v
                else:
                    raise RuntimeError(
                        f"{self.col}: rank {rank} not in bucket {b} on the second count"
                    )

    def rows(self) -> list[dict[str, Any]]:
        """Mean, count and percentiles of each group (the whole column's last)."""
        out = []
        by = self.by
        for r in self.groups:
            n, got = int(r["n"]), self.wanted[self.key(r)]
            row: dict[str, Any] = {by: r[by]} if by and r[by] is not _WHOLE else {}
            row |= {"mean": r["mean"], "n": n}
            for p in self.ps:
                h = (n - 1) * p
                i = int(h)
                a, b = got[i], got[min(i + 1, n - 1)]
                row[_pname(p)] = a + (h - i) * (b - a)
            out.append(row)
        return out


def over_time_by(c: ir.Table, dim: str, unit: str = "W", top: int = TOP) -> list[dict[str, Any]]:
    """Requests, tokens and spend per week (``unit="W"``) or day (``"D"``) and value of one
    dimension, for the ``top`` values with the largest spend over the whole log."""
    key = c[dim].fill_null("(none)")
    leaders = (
        c.group_by(_k=key)
        .aggregate(_s=c.spend_usd.sum())
        .order_by([ibis.desc("_s", nulls_first=False), "_k"])
        .limit(top)
    )
    keep = [r["_k"] for r in _rows(leaders)]
    sub = c.filter(key.isin(keep))
    g = sub.group_by(period=sub.day.truncate(unit), **{dim: sub[dim].fill_null("(none)")})
    return _rows(g.aggregate(**_sums(sub)).order_by(["period", dim]))


def _quantiles(
    t: ir.Table, col: str, ps: tuple[float, ...] = PERCENTILES, by: str | None = None
) -> list[dict[str, Any]]:
    """Percentiles, mean and count of one column (:func:`exact_quantiles`); an empty
    column gives one row of nulls (whole table) or no row (by group)."""
    rows = exact_quantiles(t, col, ps, by)
    if not rows and by is None:
        return [{"mean": None, "n": 0, **{_pname(p): None for p in ps}}]
    return rows


def _stats_from_cube(
    c: list[dict[str, Any]], col: str, by: str | None = None
) -> list[dict[str, Any]]:
    """Count, floor (0), maximum and mean of ``col`` (per ``by``) from the cube's cells."""
    acc: dict[Any, dict[str, Any]] = {}
    count, total = {
        "input_tokens": ("requests", "input_tokens"),
        "spend_usd": ("q_spend_usd_n", "spend_usd"),
    }.get(col, (f"q_{col}_n", f"q_{col}_sum"))
    summed = bool(c) and total in c[0]  # else the first percentile count sums the column
    for r in c:
        n = r[count] or 0
        if not n:
            continue
        g = r[by] if by else None
        a = acc.setdefault(g, {"n": 0, "lo": None, "hi": None, "sum": 0.0})
        a["n"] += n
        if summed:
            a["sum"] += r[total]
        hi = r[f"q_{col}_max"]
        a["lo"] = 0.0  # every value is 0 or more: a scale from 0 is monotone over them all
        a["hi"] = hi if a["hi"] is None else max(a["hi"], hi)
    out = []
    for g, a in acc.items():
        mean = a["sum"] / a["n"] if summed else None
        row = {"n": a["n"], "lo": a["lo"], "hi": a["hi"], "mean": mean}
        if by:
            row[by] = g
        out.append(row)
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


def outcomes(
    t: ir.Table,
    has_task: bool,
    alone: dict[str, Any] | None = None,
    totals: dict[str, Any] | None = None,
    one_max: bool = False,
    dense_ids: bool | ir.Table = False,
    counted: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cost per successful outcome: all spend over the tasks whose last request succeeded.

    A task is the requests sharing a ``task_id`` (a request without one is a task of its own);
    it succeeded when its latest request has status success (with two latest requests at
    one timestamp, both must). ``alone`` holds :func:`_alone_sums` when the report computed
    them in its one-pass aggregate.

    One group-by over the tasks: a task succeeded when no failed request is as late as its
    latest request (``max(timestamp where failed) < max(timestamp)``), which needs no join
    back to the rows. ``totals`` holds the log's ``requests`` and ``spend_usd`` when the
    report has them (its cube): every request belongs to one task, so the tasks' requests
    and spend are the log's, and the group-by reads only task id, time and status.

    ``one_max`` (DuckDB): one maximum a task instead of two, of 2 x (microseconds since
    1970) + 1 where the request failed. Its larger part is the latest timestamp and its
    last bit says whether a failed request is at it: the task succeeded where that maximum
    is even. The same tasks succeed (a request without a timestamp counts in neither
    form); 1.7 against 1.9 CPU-s for 3.9M tasks over 10M rows here.

    ``dense_ids`` (DuckDB, where the task id's range costs nothing to find: Parquet
    statistics): integer task ids spanning few enough values are grouped in a perfect hash
    table, one slot a possible id (:func:`_with_direct_groups`); a table: the one, holding
    every row of ``t`` and more (the log before the validity filter), whose statistics
    give the range.

    ``counted`` (with ``totals``): the tasks and successes of the requests with a task id
    (:func:`task_counts`), where the caller counted them already (the report: alongside
    its other passes, :class:`_Alongside`).
    """
    r = alone if alone is not None else _rows(t.aggregate(**_alone_sums(t, has_task)))[0]
    r = {
        "tasks": r["alone_tasks"] or 0,
        "ok": r["alone_ok"] or 0,
        "spend": r["alone_spend"],  # None: no request with a spend (every model unpriced)
        "requests": r["alone_tasks"] or 0,
    }
    if has_task:
        g = counted if counted is not None else task_counts(t, totals is None, one_max, dense_ids)
        for k in ("tasks", "ok", "requests"):
            if k in g:
                r[k] = (r[k] or 0) + (g[k] or 0)
        if "spend" in g and g["spend"] is not None:
            r["spend"] = (r["spend"] or 0.0) + g["spend"]
    if totals is not None:
        r["requests"], r["spend"] = totals["requests"], totals["spend_usd"]
    tasks, ok_tasks = int(r["tasks"]), int(r["ok"] or 0)
    # no spend at all (every model unpriced, no logged cost) is unknown, not $0 a task: the
    # report printed "spend $-" beside "cost per successful outcome $0"
    spend = r["spend"]
    return {
        "tasks": tasks,
        "successful_tasks": ok_tasks,
        "success_rate": ok_tasks / tasks if tasks else None,
        "requests_per_task": int(r["requests"]) / tasks if tasks else None,
        "spend_per_task_usd": spend / tasks if tasks and spend is not None else None,
        "cost_per_successful_outcome_usd": spend / ok_tasks
        if ok_tasks and spend is not None
        else None,
    }


def task_counts(
    t: ir.Table, sums: bool = True, one_max: bool = False, dense_ids: bool | ir.Table = False
) -> dict[str, Any]:
    """:func:`outcomes`' one group-by: the tasks of the requests with a task id and those
    that succeeded (``tasks``, ``ok``), with their ``requests`` and ``spend`` where
    ``sums``."""
    tt = t.filter(t.task_id.notnull())
    failed = ~(tt.status == "success").fill_null(False)
    more = {"n": tt.count(), "spend": tt.spend_usd.sum()} if sums else {}
    if one_max:
        per = tt.group_by("task_id").aggregate(
            **more, last=(_epoch_us(tt.timestamp) * 2 + failed.cast("int64")).max()
        )
        ok = per.last.notnull() & (per.last % 2 == 0)
    else:
        per = tt.group_by("task_id").aggregate(
            **more,
            last_ts=tt.timestamp.max(),
            last_failed_ts=tt.timestamp.max(where=failed),
        )
        ok = per.last_ts.notnull() & (
            per.last_failed_ts.isnull() | (per.last_failed_ts < per.last_ts)
        )
    totals = {"spend": per.spend.sum(), "requests": per.n.sum()} if sums else {}
    final = per.aggregate(tasks=per.count(), ok=ok.cast("int64").sum(), **totals)
    whole = dense_ids if isinstance(dense_ids, ir.Table) else t
    return _with_direct_groups(whole, "task_id", lambda: _rows(final)[0], dense_ids is not False)


class _Alongside:
    """The report's task counts (:func:`task_counts`, one thread: DuckDB's perfect hash
    table) on a second in-process DuckDB database, in a thread of its own, while the
    report's other passes run on its connection: on 100M rows here the count takes about
    11 s on one thread, during which the second core had nothing to do.

    The second database reads the same files through the same mapping (``success``,
    ``facts``), with the report connection's ``memory_limit`` and ``temp_directory`` and one
    thread: the report then runs one thread more than ``threads`` while both work. It is
    started only where the task ids fit a perfect hash table (else the count is an ordinary
    parallel group-by, which gains nothing beside other passes); :meth:`result` waits for
    the counts, :meth:`stop` interrupts them (the report failed meanwhile).
    """

    def __init__(self, con: Any, ld: Loaded, fmt: str | None, success: Any, facts: Any) -> None:
        get = "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        limit, tmp = con.raw_sql(get).fetchone()
        self.con = engines.connect(threads=1)
        for key, value in (("memory_limit", limit), ("temp_directory", tmp)):
            if value:
                self.con.raw_sql(f"SET {key} = '{str(value).replace(chr(39), chr(39) * 2)}'")
        self.future: Any = None
        two = load(self.con, ld.raw.files, fmt)
        g = adapters.to_generic(two.raw.table, two.sources, success=success, facts=facts)
        if _direct_span(g, "task_id") is None:
            self.con.disconnect()
            return
        v = g if ld.clean else g.filter(g._ok)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenfab-tasks")
        self.future = pool.submit(task_counts, v, False, True, g)
        pool.shutdown(wait=False)

    @classmethod
    def start(
        cls, con: Any, ld: Loaded, fmt: str | None, success: Any, facts: Any
    ) -> _Alongside | None:
        """The counts started beside the report, where they gain from it: DuckDB with two
        threads or more, a Parquet log (its task-id range from the statistics) whose task
        ids fit a perfect hash table; else None."""
        threads = int(con.raw_sql("SELECT current_setting('threads')").fetchone()[0])
        if threads < 2 or ld.raw.kind != "parquet" or not ld.has("task_id"):
            return None
        along = cls(con, ld, fmt, success, facts)
        return along if along.future is not None else None

    def result(self) -> dict[str, Any]:
        try:
            return self.future.result()
        finally:
            self.con.disconnect()

    def stop(self) -> None:
        if self.future is not None and not self.future.done():
            self.con.con.interrupt()
            with contextlib.suppress(Exception):  # the interrupt's own error
                self.future.result()
            self.con.disconnect()


PERFECT_HASH_BYTES_PER_SLOT = 40
"""Resident memory of one slot of DuckDB's perfect hash table for the task outcomes' one
maximum: 2,341 MB for 2^26 slots (39M task ids from 0) on one thread, measured here."""


def _memory_limit_bytes(con: Any) -> float:
    """DuckDB's ``memory_limit`` in bytes (it reads back as e.g. '3.7 GiB')."""
    text = str(con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0])
    num, _, unit = text.partition(" ")
    scale = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    scale |= {"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
    return float(num) * scale.get(unit.strip(), 1)


def _direct_span(t: ir.Table, col: str) -> int | None:
    """How many values the integer ``col`` spans, where a perfect hash table of them fits
    in three quarters of ``memory_limit`` (:func:`_with_direct_groups`); else None."""
    if not t[col].type().is_integer():
        return None
    span = _rows(t.aggregate(lo=t[col].min(), hi=t[col].max()))[0]
    if span["lo"] is None:
        return None
    values = int(span["hi"]) - int(span["lo"]) + 1
    if values * PERFECT_HASH_BYTES_PER_SLOT > 0.75 * _memory_limit_bytes(t.get_backend()):
        return None
    return values


def _with_direct_groups(t: ir.Table, col: str, run: Any, allowed: bool) -> Any:
    """``run()`` with DuckDB grouping by the integer ``col`` in a perfect hash table (an
    array indexed by the value less the least: no hashing, no key comparison) on one
    thread, where the table fits in three quarters of ``memory_limit``
    (``PERFECT_HASH_BYTES_PER_SLOT`` a possible value; it is not spilled). DuckDB takes one
    when the key's range, known from its statistics, spans at most 2^``perfect_ht_threshold``
    values (12 by default); with two threads each holds a whole table and they are merged
    (3,433 MB peak). Task outcomes over 100M rows here, 39.2M task ids from 0: 7.1 CPU-s and
    10.8 s on one thread against 15.4 CPU-s for the hash table on two; on 10M rows, 0.74
    against 1.29 CPU-s. ``allowed``: the range costs nothing to find (DuckDB answers the
    minimum and maximum from the Parquet statistics); elsewhere ``run()`` as it is.
    """
    values = _direct_span(t, col) if allowed else None
    if values is None:
        return run()
    con = t.get_backend()
    get = "SELECT current_setting('perfect_ht_threshold'), current_setting('threads')"
    bits0, threads0 = con.raw_sql(get).fetchone()
    con.raw_sql(f"SET perfect_ht_threshold = {max(int(bits0), values.bit_length() + 1)}")
    con.raw_sql("SET threads = 1")
    try:
        return run()
    finally:
        con.raw_sql(f"SET perfect_ht_threshold = {int(bits0)}")
        con.raw_sql(f"SET threads = {int(threads0)}")


def latency(
    t: ir.Table,
    has_ttft: bool,
    overall: dict[str, Any] | None = None,
    by_model: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Latency (and TTFT) percentiles [s], all requests and by model; ``overall`` and
    ``by_model`` hold the figures when the report computed them already."""
    if overall is None:
        overall = {"all": _quantiles(t, "latency_s")[0]}
        if has_ttft:
            overall["ttft_all"] = _quantiles(t, "ttft_s")[0]
    if by_model is None:
        by_model = _quantiles(t, "latency_s", by="model")
    out = {"all": overall["all"], "by_model": by_model}
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


def quality_groups(cube_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`quality`'s counts by (model, provider) from the cells of an all-row cube."""
    acc: dict[tuple[Any, Any], dict[str, Any]] = {}
    for r in cube_rows:
        ok = bool(r["_ok"])
        a = acc.setdefault(
            (r["model"], r["provider"]) if ok else (None, None),
            {
                "model": r["model"] if ok else None,
                "provider": r["provider"] if ok else None,
                "rows": 0,
                "malformed": 0,
                "with_zone": 0,
                "without_zone": 0,
                "valid": 0,
                "last": None,
            },
        )
        n = int(r["requests"])
        a["rows"] += n
        a["valid" if ok else "malformed"] += n
        a["with_zone"] += int(r.get("with_zone") or 0)
        a["without_zone"] += int(r.get("without_zone") or 0)
        if ok and r["last"] is not None:
            a["last"] = r["last"] if a["last"] is None else max(a["last"], r["last"])
    return list(acc.values())


def column_facts(ld: Loaded, models: list[Any] | None = None) -> dict[str, dict[str, Any]]:
    """What DuckDB knows of a Parquet log's source columns without reading their rows: each
    one's nulls, and a numeric one's minimum and maximum, all answered from the Parquet
    statistics (one query, no scan); ``models``: the distinct values of the model column,
    where the caller found them. Empty elsewhere (another engine, or a CSV or JSON Lines
    log, whose rows a count would read). :func:`adapters.to_generic` leaves out the checks
    no row can fail by these.
    """
    if ld.raw.kind != "parquet" or getattr(ld.con, "name", None) != "duckdb":
        return {}
    raw = ld.raw.table
    aggs: dict[str, ir.Scalar] = {"_rows": raw.count()}
    columns = sorted(
        {
            src
            for name, src in ld.sources.items()
            if isinstance(src, str) and BY_NAME[name].kind != "string"
        }
        | ({ld.sources["model"]} if models is not None else set())
    )
    required = {src for name, src in ld.sources.items() if BY_NAME[name].required}
    for i, col in enumerate(columns):
        if col in required:  # a null check; a count of a column with nulls reads it
            aggs[f"n{i}"] = raw[col].count()
        typ = raw[col].type()
        if typ.is_numeric() and not typ.is_boolean():
            aggs |= {f"lo{i}": raw[col].min(), f"hi{i}": raw[col].max()}
    r = _rows(raw.aggregate(**aggs))[0]
    facts = {
        col: {
            "nulls": r["_rows"] - r[f"n{i}"] if f"n{i}" in r else None,
            "min": r.get(f"lo{i}"),
            "max": r.get(f"hi{i}"),
        }
        for i, col in enumerate(columns)
    }
    if models is not None:
        facts[ld.sources["model"]]["values"] = list(models)
    return facts


def _same_prices(a: dict[str, Price], b: dict[str, Price], names: set[str]) -> bool:
    return all(a.get(n) == b.get(n) for n in names)


def report(
    con: Any,
    paths: list[str],
    fmt: str | None = None,
    catalog: Catalog | None = None,
    check_order_max_rows: int = ORDER_CHECK_MAX_ROWS,
) -> dict[str, Any]:
    """The standard report of a log as one JSON-ready mapping.

    Passes over the log: (1) the models and their latest timestamp, reading only those
    columns, to find the prices (and, answered from the Parquet statistics, the column
    facts that rule validity checks out: :func:`column_facts`); (2) every row once, priced,
    into the cube, keyed by validity too, which gives the data-quality counts, every
    breakdown, the reconciliation, the requests without a task, and the count, minimum,
    maximum and sum the percentiles start from; (3) task outcomes, one group-by (on DuckDB
    with two threads or more, a one-thread count on a second database beside (4):
    :class:`_Alongside`); (4) two grouped counts for each percentile column
    (:func:`exact_quantiles`). Where some rows are malformed, the quality examples
    take their own queries, and the later passes filter the valid rows. Up to
    ``check_order_max_rows`` rows, a join counts the rows out of time order.
    """
    cat = catalog or default_catalog()
    ld = load(con, paths, fmt)
    g = ld.table
    day_number = getattr(con, "name", None) == "duckdb"
    # the models, the logged statuses and the latest timestamp: the last answered by DuckDB
    # from the Parquet statistics; the models and statuses each their own distinct (0.09
    # and 0.07 CPU-s on 10M rows here, dictionary-encoded text), not one distinct of
    # (model, provider, status), 0.65: the provider, which only picks among a model's
    # catalog rows from several providers, is read for those models alone, where any
    models = [r["model"] for r in _rows(g.select("model").distinct())]
    logged = sorted(
        r["_status"] for r in _rows(g.select("_status").distinct()) if r["_status"] is not None
    )
    named = [m for m in models if m is not None]
    ambiguous = provider_matters(named, cat)
    pre = [{"model": m, "provider": None} for m in models if m not in ambiguous]
    if ambiguous:
        pre += _rows(g.filter(g.model.isin(ambiguous)).select("model", "provider").distinct())
    success = None
    if 0 < len(logged) <= STATUS_VALUES_MAX:  # each row's status compared as logged
        m = ibis.memtable({"s": logged}, schema={"s": "string"})
        read = con.to_pyarrow(m.select("s", ok=adapters.status_ok(m.s))).to_pylist()
        success = [r["s"] for r in read if r["ok"]]
    facts = column_facts(ld, models if isinstance(ld.sources["model"], str) else None)
    if success is not None or facts:
        ld.table = adapters.to_generic(ld.raw.table, ld.sources, success=success, facts=facts)
        g = ld.table
    span = _rows(
        g.aggregate(
            first=g.timestamp.min(),
            last=g.timestamp.max(),
            q_input_tokens_max=g.input_tokens.max(),  # no cast: a cast defeats the statistics
            q_ttft_s_max=g.ttft_s.max(),
            q_latency_s_max=g.latency_s.max(),
            rows=g.count(),
            with_task=g.task_id.count(),
        )
    )[0]
    # every row has a task id (DuckDB: from the Parquet statistics): no request is a task
    # of its own, and the cube leaves out the three sums of those requests (alone_*)
    alone = span["with_task"] != span["rows"]
    found, _ = _prices(pre, span["last"], cat)
    cells = cube(
        with_prices(g, found),
        day_number=day_number,
        zones=ld.zones,
        prices=found,
        optimistic=True,
        alone=alone,
        status=False,
    ).to_pyarrow()
    if pc.sum(cells["malformed"]).as_py():  # some rows are malformed: cells keyed by validity
        cells = cube(
            with_prices(g, found),
            day_number=day_number,
            zones=ld.zones,
            prices=found,
            alone=alone,
            status=False,
        ).to_pyarrow()
    else:  # every row valid: the log's first and last timestamps are the valid rows'
        n = cells.num_rows
        cells = cells.drop_columns(["malformed"]).append_column(
            "_ok", pa.array([True] * n, pa.bool_())
        )
        for k in ("first", "last"):
            cells = cells.append_column(k, pa.array([span[k]] * n, cells["day"].type))
        # the whole log's maxima in every cell: the percentiles read these columns for the
        # whole log or by model on one scale (a maximum above a group's keeps its bucket
        # scale monotone)
        for k in ("q_input_tokens_max", "q_ttft_s_max", "q_latency_s_max"):
            high = None if span[k] is None else float(span[k])
            cells = cells.append_column(k, pa.array([high] * n, pa.float64()))
    q = quality(ld, check_order_max_rows, quality_groups(cells.to_pylist()))
    if q["valid_rows"] == 0:
        ex = q["malformed_examples"][0]
        raise UsageLogError(
            f"LOGS: every row is malformed ({q['malformed_rows']}); e.g. {ex['file']} "
            f"{q['row_unit']} {ex[q['row_unit']]}: {ex['reason']}"
        )
    t, valid_found, _unknown = priced(ld, cat)
    names = {p["model"] for p in ld.valid_pairs or []}
    if _same_prices(found, valid_found, names):
        cells = cells.filter(cells["_ok"])
        cells = cells.drop_columns(
            [k for k in ("_ok", "with_zone", "without_zone") if k in cells.column_names]
        )
    else:  # a malformed row's later timestamp chose other prices: the valid rows again
        cells = cube(
            t, day_number=day_number, prices=valid_found, alone=alone, status=False
        ).to_pyarrow()
    found = {n: p for n, p in valid_found.items() if n in names}
    cell_rows = cells.to_pylist()
    c = ibis.memtable(cells)  # small: the breakdowns run in-process
    dims = [d for d in DIMENSIONS if d == "model" or ld.has(d)]
    out: dict[str, Any] = {"quality": q, "summary": summary(c)}
    out["by"] = {d: by_dimension(c, d) for d in dims}
    out["daily"] = over_time(c, "D")
    out["weekly_by"] = {d: over_time_by(c, d, "W") for d in dims}

    # the valid rows without the price join, for every pass that needs no price
    v = (ld.table if ld.clean else ld.table.filter(ld.table._ok)).drop(
        "_ok", "_problem", "_zone", "_status"
    )

    # spend is the logged cost wherever the log records one: where every request with a
    # spend has a logged cost, the spend values are the cost values and their percentiles
    # need no price join (1.4 against 0.6 CPU-s a count on 10M rows here)
    spend_is_cost = sum(r["q_spend_usd_n"] or 0 for r in cell_rows) == sum(
        r["q_cost_usd_n"] or 0 for r in cell_rows
    )

    empty = {"mean": None, "n": 0, **{_pname(p): None for p in PERCENTILES}}
    # the percentile columns of the valid rows: each its first count, then one pass for
    # every column's second count (exact_quantiles_many)
    specs: dict[str, dict[str, Any]] = {
        "prompt": {
            "col": "input_tokens",
            "ps": PROMPT_PERCENTILES,
            "stats": _stats_from_cube(cell_rows, "input_tokens"),
        }
    }
    spend = {"ps": PERCENTILES, "stats": _stats_from_cube(cell_rows, "spend_usd")}
    if spend_is_cost:
        specs["spend"] = {"col": "cost_usd", **spend}
    whole = _stats_from_cube(cell_rows, "latency_s") if ld.has("latency_s") else []
    if whole:  # no value: no group either
        specs["latency"] = {
            "col": "latency_s",
            "ps": PERCENTILES,
            "by": "model",
            "stats": _stats_from_cube(cell_rows, "latency_s", "model"),
            "total": whole[0],  # the whole column's row comes last
        }
    if ld.has("latency_s") and ld.has("ttft_s"):
        specs["ttft"] = {
            "col": "ttft_s",
            "ps": PERCENTILES,
            "stats": _stats_from_cube(cell_rows, "ttft_s"),
        }
    # the task outcomes' count beside the percentile counts, on a thread of its own
    along = _Alongside.start(con, ld, fmt, success, facts) if day_number else None
    try:
        qs = exact_quantiles_many(v, specs, hash_keys=day_number)
        if not spend_is_cost:
            qs["spend"] = exact_quantiles(t, "spend_usd", **spend)
    except BaseException:
        if along is not None:
            along.stop()
        raise
    out["prompt_length"] = prompt_lengths(t, c, qs["prompt"][0])
    out["cost_per_request_usd"] = (qs["spend"] or [empty])[0]
    alone = {
        k: sum(r.get(k) or 0 for r in cell_rows) for k in ("alone_tasks", "alone_ok", "alone_spend")
    }
    out["outcomes"] = outcomes(
        v,
        ld.has("task_id"),
        alone,
        out["summary"],
        day_number,
        g if ld.raw.kind == "parquet" else False,
        along.result() if along is not None else None,
    )
    if ld.has("latency_s"):
        lat_by_model, lat_all = (qs["latency"][:-1], qs["latency"][-1]) if whole else ([], empty)
        overall = {"all": lat_all}
        if ld.has("ttft_s"):
            overall["ttft_all"] = (qs["ttft"] or [empty])[0]
        out["latency_s"] = latency(t, ld.has("ttft_s"), overall, lat_by_model)
    out["top_cost_drivers"] = cost_drivers(
        c, [d for d in ("app", "model", "category") if d in dims]
    )
    out["reconciliation"] = reconciliation(c, ld.has("cost_usd"))
    out["prices"] = {k: vars(v) for k, v in found.items()}
    out["percentile_definition"] = (
        "exact, Hyndman-Fan type 7 (linear interpolation; numpy default), found by selection"
    )
    return out
