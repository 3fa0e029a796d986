"""The embedded analytical engine: a DuckDB connection with bounded memory."""

from __future__ import annotations

import os
from typing import Any

import duckdb

# Big imports spill to disk instead of growing past this; IMPROVE_DUCKDB_MEMORY overrides.
DEFAULT_MEMORY_LIMIT = "3GB"


def connect(*, deterministic: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose memory is capped (it spills to a temporary folder).

    `deterministic` runs on one thread: parallel float sums add in a varying order, and an
    artifact computed twice from the same data must hash the same (a rerun adds nothing).
    """
    con = duckdb.connect()
    if deterministic:
        con.execute("SET threads = 1").fetchall()
    limit = os.environ.get("IMPROVE_DUCKDB_MEMORY", DEFAULT_MEMORY_LIMIT)
    con.execute("SET memory_limit = ?", [limit]).fetchall()
    con.execute("SET preserve_insertion_order = true").fetchall()
    return con


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """The rows of `sql` as dicts by column name."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
