"""Engines: the in-process DuckDB default, or any Ibis backend named by a connection URL."""

from __future__ import annotations

import re
from typing import Any

import ibis

from tokenfab.usage.schema import UsageLogError


def connect(
    backend: str | None = None, memory_limit: str | None = None, threads: int | None = None
) -> Any:
    """An Ibis connection: DuckDB in memory by default, else ``ibis.connect(backend)``.

    Parameters
    ----------
    backend : str, optional
        Ibis connection URL, e.g. ``duckdb://``, ``pyspark://``, ``trino://user@host/cat/schema``.
    memory_limit : str, optional
        DuckDB only: the most memory the engine may hold, e.g. ``"2GB"``; larger data spills
        to a temporary directory.
    threads : int, optional
        DuckDB only: worker threads.
    """
    if backend in (None, "", "duckdb", "duckdb://"):
        con = ibis.duckdb.connect()
    else:
        try:
            con = ibis.connect(backend)
        except Exception as exc:  # the backend's own error, one line
            raise UsageLogError(
                f"--backend: cannot connect to {backend!r} ({type(exc).__name__}: {exc})"
            ) from None
    if memory_limit and not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit, re.IGNORECASE):
        raise UsageLogError(
            f"--memory-limit: {memory_limit!r} is not a size; allowed: a number and a unit "
            "(KB, MB, GB, TB, KiB ... TiB), e.g. 4GB"
        )
    if threads is not None and threads < 1:
        raise UsageLogError(f"--threads: must be at least 1 (got {threads})")
    if con.name == "duckdb":
        con.raw_sql("SET TimeZone = 'UTC'")
        con.raw_sql("SET enable_progress_bar = false")
        if memory_limit:
            con.raw_sql(f"SET memory_limit = '{memory_limit}'")
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
    return con
