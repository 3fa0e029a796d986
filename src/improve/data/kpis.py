"""The KPI engine: KPI.md's default definitions as DuckDB SQL over the canonical tables.

Per-ticket KPIs are attributed to the period in which the ticket was created; percentiles
interpolate linearly (quantile_cont); backlog_end counts what was open at each period's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import Any, Literal

import duckdb

from improve.data.business import WORKDAYS, ticket_view_sql
from improve.data.readers import run
from improve.domain.kpi import KPI_NAMES
from improve.errors import InputDataError

Grain = Literal["week", "month", "window"]
DIMENSIONS: tuple[str, ...] = (
    "channel", "category", "team", "agent", "priority", "region", "product",
)  # fmt: skip

_FCR = (
    "resolved AND reopens = 0 AND CASE WHEN agent_replies IS NOT NULL THEN agent_replies <= 1 "
    "ELSE coalesce(reassignments, 0) = 0 END"
)

# KPI name -> aggregate over the per-ticket view `t` (one row per ticket).
TICKET_AGGREGATES: dict[str, str] = {
    "volume": "count(*)",
    "frt_median_min": "_frt_q[1]",
    "frt_mean_min": "avg(frt_min)",
    "frt_p90_min": "_frt_q[2]",
    "resolution_median_h": "_res_q[1]",
    "resolution_p90_h": "_res_q[2]",
    "fcr_rate": f"count(*) FILTER ({_FCR}) / nullif(count(*) FILTER (resolved), 0)",
    "reopen_rate": "count(*) FILTER (resolved AND reopens > 0) "
    "/ nullif(count(*) FILTER (resolved), 0)",
    "csat_rate": "count(*) FILTER (csat >= 4) / nullif(count(csat), 0)",
    "csat_mean": "avg(csat)",
    "complaint_rate": "count(*) FILTER (coalesce(complaint, FALSE)) / count(*)",
    "sla_breach_rate": "count(*) FILTER (sla_breached) / nullif(count(sla_breached), 0)",
    # per period; over a whole window, per month (divided by the months it spans)
    "tickets_per_agent": "count(*) FILTER (resolved) "
    "/ nullif(count(DISTINCT agent) FILTER (resolved), 0)",
    "handle_minutes_mean": "avg(handle_minutes)",
}
# Both percentiles of a duration from one sort: quantile_cont over a list of fractions.
QUANTILES: dict[str, str] = {
    "_frt_q": "quantile_cont(frt_min, [0.5, 0.9])",
    "_res_q": "quantile_cont(res_h, [0.5, 0.9])",
}
SURVEY_AGGREGATES: dict[str, str] = {
    "nps": "100.0 * (count(*) FILTER (nps >= 9) - count(*) FILTER (nps <= 6)) "
    "/ nullif(count(nps), 0)",
}
assert set(TICKET_AGGREGATES) | set(SURVEY_AGGREGATES) | {"backlog_end"} == set(KPI_NAMES)


def _period_expr(grain: Grain, column: str, start: date | None) -> str:
    if grain == "window":
        return f"DATE '{(start or date(1970, 1, 1)).isoformat()}'"
    return f"CAST(date_trunc('{grain}', {column}) AS DATE)"


def time_window(column: str, start: date | None, end: date | None) -> str:
    """SQL condition: `column` within [start, end), either bound optional."""
    parts = ["TRUE"]
    if start:
        parts.append(f"{column} >= TIMESTAMP '{start.isoformat()}'")
    if end:
        parts.append(f"{column} < TIMESTAMP '{end.isoformat()}'")
    return " AND ".join(parts)


def _check_dims(con: duckdb.DuckDBPyConnection, dims: Sequence[str]) -> None:
    for d in dims:
        if d not in DIMENSIONS:
            raise InputDataError(
                f"unknown dimension {d!r}; choose from {', '.join(DIMENSIONS)} "
                "(e.g. --dims team,channel)"
            )


def compute_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    grain: Grain = "month",
    dims: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
    where: str | None = None,
    surveys: bool | None = None,
) -> list[dict[str, Any]]:
    """KPIs per period (and per combination of `dims`) of tickets created in [start, end).

    `grain="window"` gives one row for the whole window, with `period` = `start`.
    `where` is an extra SQL condition on the ticket columns (a pilot scope, say).
    Rows are ordered by period then dimension values; each has every KPI, None where
    undefined. NPS comes from the `surveys` table when it exists (and has the dims).
    """
    _check_dims(con, dims)
    dim_cols = [f'"{d}"' for d in dims]
    group = ", ".join(["period", *dim_cols])
    cond = time_window("created_at", start, end) + (f" AND ({where})" if where else "")
    aggregates = dict(TICKET_AGGREGATES)
    if grain == "window":
        aggregates["tickets_per_agent"] += (
            " / count(DISTINCT date_trunc('month', created_at)) FILTER (resolved)"
        )
    quantile_names = [name for name, sql in aggregates.items() if sql.startswith("_")]
    aggs = ", ".join(
        [f"{sql} AS {name}" for name, sql in aggregates.items() if name not in quantile_names]
        + [f"{sql} AS {name}" for name, sql in QUANTILES.items()]
    )
    period = _period_expr(grain, "created_at", start)
    inner = (
        f"SELECT {period} AS period, {', '.join([*dim_cols, aggs]) if dim_cols else aggs} "
        f"FROM ({ticket_view(con)}) t WHERE {cond} AND {_CHUNK} GROUP BY {group}"
    )
    picked = ", ".join(f"{aggregates[n]} AS {n}" for n in quantile_names)
    # The aggregate, the backlog and the survey KPIs one after another into small tables:
    # run as one query, their scans would hold memory at the same time.
    try:
        run(con, f"CREATE OR REPLACE TEMP TABLE _kpi_base AS SELECT * FROM ({inner}) LIMIT 0")
        # Percentiles and distinct counts keep every value of a group in memory: a long
        # history is aggregated a run of whole periods at a time.
        for chunk in _chunks(con, grain, start, end):
            run(
                con,
                f"INSERT INTO _kpi_base SELECT * FROM ({inner.replace(_CHUNK, chunk)})",
            )
        run(
            con,
            f"CREATE OR REPLACE TEMP TABLE _kpi_base AS "
            f"SELECT * EXCLUDE ({', '.join(QUANTILES)}), {picked} FROM _kpi_base",
        )
        backlog = _backlog_sql(grain, dim_cols, where, start, end)
        run(con, f"CREATE OR REPLACE TEMP TABLE _kpi_backlog AS {backlog}")
        nps = _nps_sql(con, grain, dims, start, end, where, surveys)
        joins = f" LEFT JOIN _kpi_backlog bl ON {_same_group('b', 'bl', dim_cols)}"
        nps_col = "NULL::DOUBLE AS nps"
        if nps:
            joins += f" LEFT JOIN ({nps}) sv ON {_same_group('b', 'sv', dim_cols)}"
            nps_col = "sv.nps"
        order = ", ".join(["b.period", *(f"b.{d}" for d in dim_cols)])
        cursor = con.execute(
            f"SELECT b.*, coalesce(bl.backlog_end, 0) AS backlog_end, {nps_col} "
            f"FROM _kpi_base b{joins} ORDER BY {order}"
        )
        names = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall()
    finally:
        run(con, "DROP TABLE IF EXISTS _kpi_base")
        run(con, "DROP TABLE IF EXISTS _kpi_backlog")
    out: list[dict[str, Any]] = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        item: dict[str, Any] = {"period": _as_date(record["period"])}
        for d in dims:
            item[d] = record[d]
        for name in KPI_NAMES:
            value = record.get(name)
            item[name] = (
                None
                if value is None
                else (int(value) if name in ("volume", "backlog_end") else float(value))
            )
        out.append(item)
    return out


CHUNK_ROWS = 5_000_000  # tickets aggregated at once, at most (unless one period has more)
_CHUNK = "/*chunk*/TRUE"


def _chunks(
    con: duckdb.DuckDBPyConnection, grain: Grain, start: date | None, end: date | None
) -> list[str]:
    """Conditions splitting the tickets created in [start, end) into runs of whole periods
    of at most CHUNK_ROWS tickets each (one condition, TRUE, when they are fewer)."""
    window = time_window("created_at", start, end)
    total = int(con.execute(f"SELECT count(*) FROM tickets WHERE {window}").fetchall()[0][0])
    if grain == "window" or total <= CHUNK_ROWS:
        return ["TRUE"]
    counts = con.execute(
        f"SELECT {_period_expr(grain, 'created_at', start)} AS p, count(*) FROM tickets "
        f"WHERE {window} GROUP BY p ORDER BY p"
    ).fetchall()
    bounds: list[date] = []
    size = 0
    for period, n in counts:
        if size and size + n > CHUNK_ROWS:
            bounds.append(period)
            size = 0
        size += n
    edges: list[date | None] = [None, *bounds, None]
    return [time_window("created_at", low, high) for low, high in pairwise(edges)]


def _same_group(a: str, b: str, dim_cols: list[str]) -> str:
    """Join condition on period and dimensions; a missing (NULL) value matches itself."""
    return " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in ["period", *dim_cols])


def _backlog_sql(
    grain: Grain, dim_cols: list[str], where: str | None, start: date | None, end: date | None
) -> str:
    """Tickets open at each period's end: created before it and not resolved by then.

    Counted as a running sum of +1 per creation and -1 per resolution by period (per
    dimension values), so each ticket is read twice rather than once per period.
    """
    scope = where or "TRUE"  # tickets created before the window are backlog too
    dims_sel = "".join(f", {d}" for d in dim_cols)
    if grain == "window":
        # [start, end) ends before `end`; a window without an end, at (and including) the
        # last ticket created: what was still open once it came in
        last = "<= (SELECT max(created_at) FROM tickets)"
        stop = f"< TIMESTAMP '{end.isoformat()}'" if end else last
        return (
            f"SELECT {_period_expr(grain, 'created_at', start)} AS period{dims_sel}, "
            f"count(*) FILTER (created_at {stop}) - count(*) FILTER (resolved_at {stop}) "
            f"AS backlog_end FROM tickets WHERE {scope} GROUP BY ALL"
        )
    created = _period_expr(grain, "created_at", start)
    resolved = _period_expr(grain, "resolved_at", start)
    partition = f"PARTITION BY {', '.join(dim_cols)} " if dim_cols else ""
    return (
        f"SELECT period{dims_sel}, sum(delta) OVER ({partition}ORDER BY period "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS backlog_end FROM ("
        f"SELECT period{dims_sel}, sum(delta) AS delta FROM ("
        f"SELECT {created} AS period{dims_sel}, 1 AS delta FROM tickets WHERE {scope} "
        f"UNION ALL SELECT {resolved} AS period{dims_sel}, -1 AS delta FROM tickets "
        f"WHERE {scope} AND resolved_at IS NOT NULL) GROUP BY ALL)"
    )


def _nps_sql(
    con: duckdb.DuckDBPyConnection,
    grain: Grain,
    dims: Sequence[str],
    start: date | None,
    end: date | None,
    where: str | None,
    surveys: bool | None,
) -> str | None:
    if surveys is False or not has_table(con, "surveys"):
        return None
    survey_cols = {r[0] for r in con.execute("DESCRIBE surveys").fetchall()}
    if any(d not in survey_cols for d in dims):
        return None
    if where:
        # A scope on ticket columns applies to surveys only through the columns they share.
        return None
    dim_cols = [f'"{d}"' for d in dims]
    period = _period_expr(grain, "answered_at", start)
    sel = ", ".join([f"{period} AS period", *dim_cols, f"{SURVEY_AGGREGATES['nps']} AS nps"])
    group = ", ".join(["period", *dim_cols])
    return (
        f"SELECT {sel} FROM surveys WHERE {time_window('answered_at', start, end)} GROUP BY {group}"
    )


def ticket_view(con: duckdb.DuckDBPyConnection) -> str:
    """The per-ticket view: durations in business time when a workdays table exists."""
    return ticket_view_sql(business=has_table(con, WORKDAYS))


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether table `name` exists in the connection's main schema."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()[0]
    return bool(row and row[0])


def as_float(value: object) -> float | None:
    """A database number as a float (None stays None)."""
    return None if value is None else float(value)  # type: ignore[arg-type]


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    assert isinstance(value, date)
    return value
