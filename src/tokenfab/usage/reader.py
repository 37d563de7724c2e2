"""Reading request logs (Parquet, CSV, JSON Lines; paths or globs) into an Ibis table.

Structural problems are counted and kept with examples: a CSV line with the wrong number of
fields (DuckDB's reject table gives its line) or a JSON Lines line that is not valid JSON.
Every row read carries ``_file`` and ``_row`` (the line of a CSV or JSON Lines file, the
1-based row of a Parquet file) so a malformed value can be reported where it is.
"""

from __future__ import annotations

import csv
import glob
import os
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

from tokenfab.usage.schema import UsageLogError
from tokenfab.words import plural

SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
EXAMPLES = 5


@dataclass
class Raw:
    """Rows as read, flat (nested fields joined with dots), and the lines that could not be."""

    table: ir.Table
    kind: str
    files: list[str]
    bad_lines: int = 0
    bad_examples: list[dict[str, Any]] = field(default_factory=list)
    row_unit: str = "line"


def expand(paths: list[str]) -> tuple[list[str], str]:
    """Files named by paths or globs, sorted, and their one format.

    Raises
    ------
    UsageLogError
        A pattern matches nothing, a file is empty, a suffix is unknown, formats are mixed or
        a ``.parquet`` file lacks Parquet's frame (magic bytes, footer length).
    """
    files: list[str] = []
    named_by: dict[str, str] = {}  # a file's real path -> the argument that first named it
    for p in paths:
        hits = sorted(glob.glob(p)) if any(ch in p for ch in "*?[") else [p]
        if not hits:
            raise UsageLogError(f"LOGS: no file matches {p!r}")
        for h in hits:
            if not os.path.isfile(h):
                raise UsageLogError(f"LOGS: {h} is not a file")
            if os.path.getsize(h) == 0:
                raise UsageLogError(f"LOGS: {h} is empty (0 bytes); a log needs a header or rows")
            # a file named twice (`logs/*.csv logs/a.csv`) was read twice: its requests and
            # spend counted double, without a word
            real = os.path.realpath(h)
            if real in named_by:
                raise UsageLogError(
                    f"LOGS: {h} is named twice (by {named_by[real]!r} and {p!r}); give each "
                    "file once"
                )
            named_by[real] = p
            files.append(h)
    kinds = set()
    for f in files:
        suffix = os.path.splitext(f)[1].lower()
        if suffix not in SUFFIXES:
            raise UsageLogError(
                f"LOGS: {f}: unknown file type {suffix or '(none)'}; allowed: {', '.join(SUFFIXES)}"
            )
        kinds.add(SUFFIXES[suffix])
    if len(kinds) > 1:
        raise UsageLogError(f"LOGS: mixed file types ({', '.join(sorted(kinds))}); give one type")
    kind = kinds.pop()
    if kind == "parquet":
        for f in files:
            why = _parquet_problem(f)
            if why:
                raise UsageLogError(f"LOGS: {f} is not a readable Parquet file ({why})")
    return files, kind


def _refuse_repeated_columns(path: str) -> None:
    """A CSV header that names a column twice (``input_tokens`` twice) is ambiguous: the
    reader renamed the second (``input_tokens_1``) and priced the first without a word."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        header = next(csv.reader([fh.readline()]), [])
    seen: set[str] = set()
    for name in (h.strip() for h in header):
        if name in seen:
            raise UsageLogError(
                f"LOGS: {path}: the header names column {name!r} twice; give each column once"
            )
        seen.add(name)


PARQUET_MAGIC = b"PAR1"


def _parquet_problem(path: str) -> str | None:
    """Why ``path`` cannot be a Parquet file, from its frame alone; None when it may be.

    A Parquet file starts and ends with the 4 bytes ``PAR1``; before the last 4 come the
    footer's length (4 bytes, little-endian) and before those the footer itself
    (Apache Parquet format, "File format": https://parquet.apache.org/docs/file-format/).
    A cut or garbage file fails one of these; DuckDB's own message ("No magic bytes found
    at end of file") came out as a crash.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
        if size < 12:
            return f"{size} bytes, shorter than a Parquet file's frame of 12"
        fh.seek(size - 8)
        tail = fh.read(8)
    if head != PARQUET_MAGIC:
        return "it does not start with Parquet's magic bytes PAR1"
    if tail[4:] != PARQUET_MAGIC:
        return "it does not end with Parquet's magic bytes PAR1; cut short?"
    footer = int.from_bytes(tail[:4], "little")
    if footer > size - 12:
        return f"its footer claims {footer:,} bytes of a {size:,}-byte file; cut short?"
    return None


def _sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def flatten(t: ir.Table) -> ir.Table:
    """Struct columns become one column per leaf field, named ``a.b.c``; a ``data.`` wrapper
    (OpenRouter's generation response) is dropped."""
    cols: dict[str, ir.Value] = {}

    def walk(name: str, value: ir.Value) -> None:
        if value.type().is_struct():
            for sub in value.type().names:
                walk(f"{name}.{sub}", value[sub])
        else:
            cols[name] = value

    for name in t.columns:
        walk(name, t[name])
    data = [c for c in cols if not c.startswith("_")]
    if data and all(c.startswith("data.") for c in data):
        cols = {c.removeprefix("data."): v for c, v in cols.items()}
    return t.select(**cols)


_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CSV_ERRORS = {
    "UNQUOTED VALUE": "a quoted value with text after its closing quote",
    "LINE SIZE OVER MAXIMUM": "a line longer than the reader's maximum",
    "INVALID UNICODE": "bytes that are not UTF-8 text",
}


def csv_reason(error_type: str, message: str) -> str:
    """A rejected CSV line's reason in the report's words, from DuckDB's reject table.

    >>> csv_reason("MISSING COLUMNS", "Expected Number of Columns: 4 Found: 3")
    '3 fields where the header has 4'
    >>> csv_reason("INVALID UNICODE", "Invalid unicode (byte sequence mismatch)")
    'bytes that are not UTF-8 text'
    """
    m = _FIELDS.search(message or "")
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS") and m:
        return f"{m.group(2)} fields where the header has {m.group(1)}"
    return _CSV_ERRORS.get(error_type) or f"{error_type.lower()}: {message}"


def _number_rows(con: Any, read: str, file_col: str, number: str, out: str) -> None:
    """Table ``out``: ``read``'s rows with ``number``, each row's place in its file (1, 2 ...).

    A table created from a scan keeps the scan's order (DuckDB's default
    ``preserve_insertion_order``), so its ``rowid`` runs through each file in file order; the
    place is the ``rowid`` less the file's first. (``row_number() OVER (PARTITION BY file)``
    without an order numbers rows in whatever order the parallel window sees them: on a
    30,000-row CSV it put line 25,001 at 8,617.)
    """
    con.raw_sql(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT r.*, r.rowid - f._first + 1 AS {number} "
        f"FROM {read} r JOIN (SELECT {file_col} AS _f, min(rowid) AS _first FROM {read} "
        f"GROUP BY {file_col}) f ON r.{file_col} = f._f"
    )
    con.raw_sql(f"DROP TABLE {read}")


def read(con: Any, paths: list[str]) -> Raw:
    """Read the files into one flat table with ``_file`` and ``_row``."""
    files, kind = expand(paths)
    if con.name == "duckdb":
        return _read_duckdb(con, files, kind)
    reader = {"parquet": con.read_parquet, "csv": con.read_csv, "jsonl": con.read_json}[kind]
    t = reader(files if len(files) > 1 else files[0])
    label = files[0] if len(files) == 1 else f"{len(files)} files"
    # no row number here: a global window would reorder (and slow) every distributed query
    t = t.mutate(_file=ibis.literal(label), _row=ibis.null("int64"))
    return Raw(flatten(t), kind, files, row_unit="row")


def _read_parquet_duckdb(con: Any, files: list[str], lst: str) -> Raw:
    if len(files) == 1:  # the name as a constant: no string column per row
        name = files[0].replace("'", "''")
        t = con.sql(
            f"SELECT *, '{name}' AS _file, file_row_number + 1 AS _row "
            f"FROM read_parquet({lst}, file_row_number = true)"
        ).drop("file_row_number")
    else:
        t = con.sql(
            f"SELECT *, filename AS _file, file_row_number + 1 AS _row "
            f"FROM read_parquet({lst}, filename = true, file_row_number = true)"
        ).drop("filename", "file_row_number")
    return Raw(flatten(t), "parquet", files, row_unit="row")


def _read_duckdb(con: Any, files: list[str], kind: str) -> Raw:
    lst = _sql_list(files)
    if kind == "parquet":
        try:
            return _read_parquet_duckdb(con, files, lst)
        except duckdb.OutOfMemoryException:
            raise  # the memory limit's own one line (cli._within_memory)
        except duckdb.Error as exc:
            # a sound frame around a corrupt footer: name the file DuckDB cannot read
            bad, reason = (files[0] if len(files) == 1 else f"one of {len(files)} files"), exc
            for f in files:
                try:
                    con.raw_sql(f"SELECT 1 FROM parquet_schema({_sql_list([f])}) LIMIT 1")
                except duckdb.Error as one:
                    bad, reason = f, one
                    break
            text = str(reason).strip()
            first = text.splitlines()[0] if text else type(reason).__name__
            raise UsageLogError(f"LOGS: {bad} is not a readable Parquet file ({first})") from None
    if kind == "csv":
        for f in files:
            _refuse_repeated_columns(f)
        # rejected lines go to tables of their own, emptied first: DuckDB appends every
        # scan's rejects to the same tables, so a second log read on one connection
        # reported the first one's bad lines as its own
        con.raw_sql("DROP TABLE IF EXISTS _usage_rejects; DROP TABLE IF EXISTS _usage_reject_scans")
        con.raw_sql(
            "CREATE OR REPLACE TEMP TABLE _usage_csv_read AS SELECT * FROM "
            f"read_csv({lst}, all_varchar = true, header = true, filename = true, "
            "store_rejects = true, rejects_table = '_usage_rejects', "
            "rejects_scan = '_usage_reject_scans')"
        )
        _number_rows(con, "_usage_csv_read", "filename", "_n", "_usage_csv")
        rejects = (
            con.sql(
                "SELECT s.file_path AS file, e.line AS line, e.error_type AS type, "
                "e.error_message AS message FROM _usage_rejects e JOIN _usage_reject_scans s "
                "USING (scan_id, file_id) ORDER BY s.file_path, e.line"
            )
            .to_pyarrow()
            .to_pylist()
        )
        bad_by_file: dict[str, list[int]] = {}
        for r in rejects:
            bad_by_file.setdefault(r["file"], []).append(int(r["line"]))
        # line of the n-th good row: header + n + the bad lines before it
        t = con.table("_usage_csv")
        line = t["_n"] + 1
        for f, lines in bad_by_file.items():
            for bad in sorted(set(lines)):
                line = line + ((t["filename"] == f) & (line >= bad)).cast("int64")
        t = t.mutate(_file=t["filename"], _row=line).drop("filename", "_n")
        examples = [
            {
                "file": r["file"],
                "line": int(r["line"]),
                "reason": csv_reason(r["type"], r["message"]),
            }
            for r in rejects[:EXAMPLES]
        ]
        n_bad = len({(r["file"], r["line"]) for r in rejects})
        return Raw(flatten(t), kind, files, n_bad, examples)
    # JSON Lines: every line as text first, to count and place the ones that are not JSON
    con.raw_sql(
        f"CREATE OR REPLACE TEMP TABLE _usage_lines_read AS SELECT filename AS file, text "
        f"FROM read_csv({lst}, columns = {{'text': 'VARCHAR'}}, header = false, "
        f"delim = '\\x1f', quote = '', escape = '', filename = true, auto_detect = false, "
        f"strict_mode = false)"
    )
    _number_rows(con, "_usage_lines_read", "file", "line", "_usage_lines")
    # a record is a JSON object: a line of valid JSON that is not one (`[1, 2]`, `"x"`, `3`)
    # is a line that cannot be read, counted and placed like one that is not JSON (it once
    # stopped the whole log with no line named); valid JSON that starts with `{` is an object
    is_object = "coalesce(json_valid(text), false) AND starts_with(ltrim(text), '{')"
    bad = con.sql(
        "SELECT file, line, text, coalesce(json_valid(text), false) AS is_json "
        f"FROM _usage_lines WHERE trim(coalesce(text, '')) <> '' AND NOT ({is_object}) "
        "ORDER BY file, line"
    )
    n_bad = int(bad.count().execute())
    examples = [
        {
            "file": r["file"],
            "line": int(r["line"]),
            "reason": ("not a JSON object" if r["is_json"] else "not valid JSON")
            + f": {r['text'][:60]!r}",
        }
        for r in bad.limit(EXAMPLES).to_pyarrow().to_pylist()
    ]
    good = f"trim(coalesce(text, '')) <> '' AND {is_object}"
    structure = con.raw_sql(
        f"SELECT json_group_structure(text::JSON) FROM _usage_lines WHERE {good}"
    ).fetchone()[0]
    if structure is None:
        if n_bad:
            raise UsageLogError(
                f"LOGS: no line is a JSON object ({plural(n_bad, 'line')}; e.g. {examples[0]['file']}:"
                f"{examples[0]['line']} {examples[0]['reason']})"
            )
        raise UsageLogError(f"LOGS: {', '.join(files)} holds no records")
    structure = str(structure).replace("'", "''")
    t = con.sql(
        f"SELECT unnest(json_transform(text, '{structure}')), file AS _file, line AS _row "
        f"FROM _usage_lines WHERE {good}"
    )
    return Raw(flatten(t), kind, files, n_bad, examples)
