"""Build the facts each stage reads from the canonical tables, with DuckDB."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Literal

import duckdb

from improve.data.engine import records
from improve.data.kpis import (
    DIMENSIONS,
    as_float,
    compute_kpis,
    has_table,
    ticket_view,
    time_window,
)
from improve.data.voice import comment_term_counts, voice_facts
from improve.domain.facts import (
    DepartmentFacts,
    EvaluationFacts,
    ExecutionFacts,
    GroupKpis,
    MeasureStat,
    MeasureWindows,
    MonthlyFacts,
    PairFacts,
    PeriodKpis,
    PilotFacts,
    ProgressReport,
    SegmentFacts,
    TeamLoad,
    WeeklyFacts,
    WindowFacts,
)
from improve.domain.kpi import KPI_NAMES
from improve.domain.programme import Pilot
from improve.errors import InputDataError

_FCR = (
    "reopens = 0 AND CASE WHEN agent_replies IS NOT NULL THEN agent_replies <= 1 "
    "ELSE coalesce(reassignments, 0) = 0 END"
)

# KPI -> the per-ticket measure whose mean decomposes it (NULL where a ticket does not count).
MEASURES: dict[str, str] = {
    "frt_median_min": "frt_min",
    "frt_mean_min": "frt_min",
    "frt_p90_min": "frt_min",
    "resolution_median_h": "res_h",
    "resolution_p90_h": "res_h",
    "fcr_rate": f"CASE WHEN resolved THEN CAST(({_FCR}) AS INT) END",
    "reopen_rate": "CASE WHEN resolved THEN CAST(reopens > 0 AS INT) END",
    "csat_rate": "CAST(csat >= 4 AS INT)",
    "csat_mean": "csat",
    "complaint_rate": "CAST(coalesce(complaint, FALSE) AS INT)",
    "sla_breach_rate": "CAST(sla_breached AS INT)",
    "handle_minutes_mean": "handle_minutes",
}


def _stat_columns(condition: str | None = None, prefix: str = "") -> str:
    """Count, mean and variance of every measure (over the rows meeting `condition`)."""
    only = f" FILTER ({condition})" if condition else ""
    parts = []
    for i, expr in enumerate(dict.fromkeys(MEASURES.values())):
        parts.append(
            f"count({expr}){only} AS {prefix}n{i}, avg({expr}){only} AS {prefix}m{i}, "
            f"var_samp({expr}){only} AS {prefix}v{i}"
        )
    return ", ".join(parts)


def _stats(row: Mapping[str, object], prefix: str = "") -> dict[str, MeasureStat]:
    index = {expr: i for i, expr in enumerate(dict.fromkeys(MEASURES.values()))}
    out = {}
    for kpi_name, expr in MEASURES.items():
        i = index[expr]
        out[kpi_name] = MeasureStat(
            n=int(row[f"{prefix}n{i}"] or 0),  # type: ignore[call-overload]
            mean=as_float(row[f"{prefix}m{i}"]),
            var=as_float(row[f"{prefix}v{i}"]),
        )
    return out


def _kpis(rows: Sequence[Mapping[str, object]]) -> dict[str, float | None]:
    if not rows:
        return dict.fromkeys(KPI_NAMES)
    return {k: as_float(rows[0][k]) for k in KPI_NAMES}


def fingerprint(con: duckdb.DuckDBPyConnection, start: date, end: date) -> tuple[int, str]:
    """Ticket count and an order-independent SHA-256 fingerprint of the window's tickets."""
    count, xor = con.execute(
        "SELECT count(*), bit_xor(hash(ticket_id, created_at, first_response_at, resolved_at, "
        "channel, category, team, agent, priority, region, product, reopens, agent_replies, "
        "reassignments, csat, complaint, sla_breached, handle_minutes)) "
        f"FROM tickets WHERE {time_window('created_at', start, end)}"
    ).fetchall()[0]
    digest = hashlib.sha256(f"{start}|{end}|{count}|{xor}".encode()).hexdigest()
    return int(count), digest


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# Rate KPI -> the tickets its weekly value counts (a p-chart's sample size).
RATE_SIZES: dict[str, str] = {
    "fcr_rate": "count(*) FILTER (resolved)",
    "reopen_rate": "count(*) FILTER (resolved)",
    "csat_rate": "count(csat)",
    "complaint_rate": "count(*)",
    "sla_breach_rate": "count(sla_breached)",
}


def weekly_kpis(
    con: duckdb.DuckDBPyConnection, start: date, end: date, dim: str | None = None
) -> dict[str | None, tuple[PeriodKpis, ...]]:
    """Every KPI per ISO week wholly inside [start, end), with the rates' denominators: one
    series per value of `dim` (or one, under None), each over every week (a week without
    tickets has no values and size 0)."""
    first = start + timedelta(days=-start.weekday() % 7)
    last = end - timedelta(days=end.weekday())
    if last <= first:
        return {}
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7)]
    key = f'"{dim}"' if dim else "NULL"
    rows = {
        (r.get(dim) if dim else None, r["period"]): r
        for r in compute_kpis(con, grain="week", dims=[dim] if dim else [], start=first, end=last)
    }
    sizes = {
        (r["value"], r["period"]): r
        for r in records(
            con,
            f"SELECT CAST(date_trunc('week', created_at) AS DATE) AS period, {key} AS value, "
            + ", ".join(f"{sql} AS {kpi}" for kpi, sql in RATE_SIZES.items())
            + f" FROM ({ticket_view(con)}) WHERE {time_window('created_at', first, last)} "
            "GROUP BY ALL",
        )
    }
    out: dict[str | None, tuple[PeriodKpis, ...]] = {}
    for value in sorted({v for v, _ in rows if not dim or v is not None}, key=str):
        series = []
        for week in weeks:
            row, size = rows.get((value, week)), sizes.get((value, week))
            series.append(
                PeriodKpis(
                    period=week,
                    values=_kpis([row] if row else []),
                    sizes={k: int(size[k]) if size else 0 for k in RATE_SIZES},
                )
            )
        out[str(value) if dim else None] = tuple(series)
    return out


TREND_MONTHS = 3  # the trend compares the window's first and last three months


def window_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    start: date,
    end: date,
    departments: Mapping[str, Sequence[str]] | None = None,
) -> WindowFacts:
    """Baseline window facts: KPIs, trend, per-segment measures, team load, and per
    department (`departments`: department key -> its ticket teams)."""
    tickets, digest = fingerprint(con, start, end)
    window = compute_kpis(con, grain="window", start=start, end=end)
    monthly = compute_kpis(con, grain="month", start=start, end=end)
    early_end, late_start = add_months(start, TREND_MONTHS), add_months(end, -TREND_MONTHS)
    early = compute_kpis(con, grain="window", start=start, end=early_end)
    late = compute_kpis(con, grain="window", start=late_start, end=end)
    cond = time_window("created_at", start, end)
    overall = records(
        con,
        f"SELECT {_stat_columns()}, "
        "avg(CAST(reopens > 0 OR coalesce(reassignments, 0) > 0 AS INT)) AS rw, "
        f"avg(agent_replies) AS rp FROM ({ticket_view(con)}) WHERE {cond}",
    )[0]
    first_months = time_window("created_at", start, early_end)
    last_months = time_window("created_at", late_start, end)
    segments: list[SegmentFacts] = []
    for dim in DIMENSIONS:
        weekly = weekly_kpis(con, start, end, dim)
        kpi_rows = {
            r[dim]: r for r in compute_kpis(con, grain="window", dims=[dim], start=start, end=end)
        }
        parent = "mode(team)" if dim == "agent" else "NULL"
        for row in records(
            con,
            f'SELECT "{dim}" AS value, {parent} AS parent, count(*) AS tickets, '
            f"{_stat_columns()}, {_stat_columns(first_months, 'e_')}, "
            f"{_stat_columns(last_months, 'l_')}, "
            "avg(CAST(reopens > 0 OR coalesce(reassignments, 0) > 0 AS INT)) AS rw, "
            f"avg(agent_replies) AS rp FROM ({ticket_view(con)}) WHERE {cond} "
            f'AND "{dim}" IS NOT NULL GROUP BY 1 ORDER BY 1',
        ):
            segments.append(
                SegmentFacts(
                    dimension=dim,
                    value=str(row["value"]),
                    parent=None if row["parent"] is None else str(row["parent"]),
                    tickets=int(row["tickets"]),
                    kpis=_kpis([kpi_rows[row["value"]]]),
                    measures=_stats(row),
                    rework_rate=as_float(row["rw"]),
                    replies_mean=as_float(row["rp"]),
                    weekly=weekly.get(str(row["value"]), ()),
                    early=_stats(row, "e_"),
                    late=_stats(row, "l_"),
                )
            )
    return WindowFacts(
        start=start,
        end=end,
        tickets=tickets,
        fingerprint=digest,
        kpis=_kpis(window),
        early=_kpis(early),
        late=_kpis(late),
        monthly=tuple(PeriodKpis(period=r["period"], values=_kpis([r])) for r in monthly),
        weekly=weekly_kpis(con, start, end).get(None, ()),
        overall=_stats(overall),
        rework_rate=as_float(overall["rw"]),
        replies_mean=as_float(overall["rp"]),
        segments=tuple(segments),
        pairs=_pair_facts(con, cond, first_months, last_months),
        voice=voice_facts(con, start=start, end=end),
        team_load=_team_load(con, cond),
        departments=department_facts(con, start=start, end=end, departments=departments or {}),
    )


def department_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    start: date,
    end: date,
    departments: Mapping[str, Sequence[str]],
) -> tuple[DepartmentFacts, ...]:
    """Each department's KPIs over [start, end) on its teams' tickets, with the weight each
    KPI averages over (measured tickets; for tickets per agent, the agents)."""
    cond = time_window("created_at", start, end)
    out = []
    for key, teams in departments.items():
        if not teams:
            continue
        where = "team IN (" + ", ".join(_sql_text(t) for t in teams) + ")"
        row = records(
            con,
            f"SELECT count(*) AS tickets, {_stat_columns()}, "
            "count(DISTINCT agent) FILTER (resolved) AS agents "
            f"FROM ({ticket_view(con)}) WHERE {cond} AND {where}",
        )[0]
        if not row["tickets"]:
            continue
        weights = {k: s.n for k, s in _stats(row).items()}
        weights["tickets_per_agent"] = int(row["agents"] or 0)
        out.append(
            DepartmentFacts(
                department=key,
                tickets=int(row["tickets"]),
                kpis=_kpis(compute_kpis(con, grain="window", start=start, end=end, where=where)),
                weights=weights,
            )
        )
    return tuple(out)


def _sql_text(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _pair_facts(
    con: duckdb.DuckDBPyConnection, cond: str, first_months: str, last_months: str
) -> tuple[PairFacts, ...]:
    """Measures of every pair of dimension values, in one scan (GROUPING SETS). Agents are
    left out: they sit inside a team, and the agent facts already carry it."""
    dims = [d for d in DIMENSIONS if d != "agent"]
    pairs = list(itertools.combinations(dims, 2))
    columns = ", ".join(f'"{d}", grouping("{d}") AS "g_{d}"' for d in dims)
    sets = ", ".join(f'("{a}", "{b}")' for a, b in pairs)
    out = []
    for row in records(
        con,
        f"SELECT {columns}, count(*) AS tickets, {_stat_columns()}, "
        f"{_stat_columns(first_months, 'e_')}, {_stat_columns(last_months, 'l_')} "
        f"FROM ({ticket_view(con)}) WHERE {cond} GROUP BY GROUPING SETS ({sets})",
    ):
        a, b = (d for d in dims if row[f"g_{d}"] == 0)
        if row[a] is None or row[b] is None:
            continue
        out.append(
            PairFacts(
                dimensions=(a, b),
                values=(str(row[a]), str(row[b])),
                tickets=int(row["tickets"]),
                measures=_stats(row),
                early=_stats(row, "e_"),
                late=_stats(row, "l_"),
            )
        )
    out.sort(key=lambda p: (p.dimensions, p.values))
    return tuple(out)


def _team_load(con: duckdb.DuckDBPyConnection, cond: str) -> tuple[TeamLoad, ...]:
    rows = records(
        con,
        f"SELECT team, CAST(date_trunc('month', created_at) AS DATE) AS period, "
        "count(*) FILTER (resolved) / nullif(count(DISTINCT agent) "
        "FILTER (resolved), 0) AS tpa, avg(frt_min) AS frt, avg(res_h) AS res "
        f"FROM ({ticket_view(con)}) WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2",
    )
    teams: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        teams.setdefault(str(r["team"]), []).append(r)
    out = []
    for team, points in teams.items():
        frt = tuple(as_float(p["frt"]) for p in points)
        res = tuple(as_float(p["res"]) for p in points)
        out.append(
            TeamLoad(
                team=team,
                periods=tuple(p["period"] for p in points),
                tickets_per_agent=tuple(as_float(p["tpa"]) for p in points),
                measures={
                    k: (frt if MEASURES[k] == "frt_min" else res)
                    for k in MEASURES
                    if MEASURES[k] in ("frt_min", "res_h")
                },
            )
        )
    return tuple(out)


def scope_condition(scope: Mapping[str, str]) -> str:
    """SQL condition selecting tickets in a pilot scope (values are quoted safely)."""
    parts = []
    for column, value in sorted(scope.items()):
        parts.append(f'"{column}" = {_sql_text(value)}')
    return " AND ".join(parts)


def execution_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    plan_start: date,
    as_of: date,
    progress: Sequence[ProgressReport],
    pilots: Sequence[Pilot] = (),
) -> ExecutionFacts:
    """Monthly KPIs from the plan's start month to `as_of`, the reports and the pilots."""
    monthly = compute_kpis(con, grain="month", start=add_months(plan_start, 0), end=as_of)
    return ExecutionFacts(
        as_of=as_of,
        monthly=tuple(PeriodKpis(period=r["period"], values=_kpis([r])) for r in monthly),
        progress=tuple(progress),
        pilots=tuple(f for p in pilots for f in pilot_facts(con, pilot=p, pilots=pilots)),
    )


def control_condition(pilot: Pilot, pilots: Sequence[Pilot]) -> str:
    """SQL condition selecting the pilot's control group: its matched segments, else every
    ticket outside all the pilots' scopes."""
    if pilot.control is not None:
        return " AND ".join(
            f'"{column}" IN ({", ".join(_sql_text(v) for v in values)})'
            for column, values in sorted(pilot.control.items())
        )
    scopes = [p.scope for p in pilots if p.key != pilot.key] + [pilot.scope]
    return " AND ".join(f"NOT coalesce({scope_condition(s)}, FALSE)" for s in scopes)


def pilot_facts(
    con: duckdb.DuckDBPyConnection, *, pilot: Pilot, pilots: Sequence[Pilot] = ()
) -> tuple[PilotFacts, ...]:
    """Each pilot KPI's per-ticket measure in scope and in the control group, over the pilot
    (start to end, both included) and an equally long window just before it."""
    unknown = [k for k in pilot.kpis if k not in MEASURES]
    if unknown:
        raise InputDataError(
            f"pilot {pilot.key}: KPI(s) {unknown} have no per-ticket measure to compare; "
            f"judge the pilot on {', '.join(MEASURES)}"
        )
    after_end = pilot.end + timedelta(days=1)
    before = pilot.start - (after_end - pilot.start)
    in_scope = scope_condition(pilot.scope)
    control = control_condition(pilot, pilots)
    windows = {
        "before": time_window("created_at", before, pilot.start),
        "after": time_window("created_at", pilot.start, after_end),
    }

    def values(expr: str, group: str, window: str) -> tuple[float, ...]:
        rows = con.execute(
            f"SELECT CAST({expr} AS DOUBLE) FROM ({ticket_view(con)}) WHERE ({group}) AND "
            f"{windows[window]} AND ({expr}) IS NOT NULL ORDER BY ticket_id"
        ).fetchall()
        return tuple(r[0] for r in rows)

    return tuple(
        PilotFacts(
            pilot=pilot.key,
            kpi=kpi_name,
            pilot_before=values(MEASURES[kpi_name], in_scope, "before"),
            pilot_after=values(MEASURES[kpi_name], in_scope, "after"),
            control_before=values(MEASURES[kpi_name], control, "before"),
            control_after=values(MEASURES[kpi_name], control, "after"),
        )
        for kpi_name in pilot.kpis
    )


SURVEY_MEASURES: dict[str, str] = {
    "csat_rate": "CAST(csat >= 4 AS INT)",
    "csat_mean": "csat",
    "nps": "CASE WHEN nps >= 9 THEN 100 WHEN nps <= 6 THEN -100 ELSE 0 END",
}


def _year_earlier(day: date) -> date:
    """The same date a year earlier (28 February for the 29th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def evaluation_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    before_start: date,
    before_end: date,
    after_start: date,
    after_end: date,
    kpis: Sequence[str],
) -> EvaluationFacts:
    """The KPIs after; for each of `kpis` with a per-ticket measure, its values in the
    baseline window, the evaluation window and the evaluation window's dates a year earlier
    (when the tickets reach back that far); CSAT and NPS per survey answer before and after
    (the tickets' CSAT without a survey table); comment terms before and after."""
    last_start, last_end = _year_earlier(after_start), _year_earlier(after_end)
    first = con.execute("SELECT CAST(min(created_at) AS DATE) FROM tickets").fetchall()[0][0]
    reaches_back = first is not None and first <= last_start

    def values(expr: str, start: date, end: date, *, table: str, column: str) -> tuple[float, ...]:
        rows = con.execute(
            f"SELECT CAST({expr} AS DOUBLE) AS x FROM {table} WHERE "
            f"{time_window(column, start, end)} AND ({expr}) IS NOT NULL ORDER BY x"
        ).fetchall()
        return tuple(r[0] for r in rows)

    tickets = f"({ticket_view(con)})"
    measures = tuple(
        MeasureWindows(
            kpi=k,
            before=values(
                MEASURES[k], before_start, before_end, table=tickets, column="created_at"
            ),
            after=values(MEASURES[k], after_start, after_end, table=tickets, column="created_at"),
            last_year=values(MEASURES[k], last_start, last_end, table=tickets, column="created_at")
            if reaches_back
            else None,
        )
        for k in dict.fromkeys(kpis)
        if k in MEASURES
    )
    terms = comment_term_counts(con, [(before_start, before_end), (after_start, after_end)])
    surveys = has_table(con, "surveys")
    source: Literal["surveys", "tickets"] = "surveys" if surveys else "tickets"
    customer = tuple(
        MeasureWindows(
            kpi=k,
            before=values(expr, before_start, before_end, table=table, column=column),
            after=values(expr, after_start, after_end, table=table, column=column),
            last_year=None,
        )
        for k, expr, table, column in (
            [(k, e, "surveys", "answered_at") for k, e in SURVEY_MEASURES.items()]
            if surveys
            else [(k, MEASURES[k], tickets, "created_at") for k in ("csat_rate", "csat_mean")]
        )
    )
    return EvaluationFacts(
        before_start=before_start,
        before_end=before_end,
        after_start=after_start,
        after_end=after_end,
        last_year_start=last_start,
        last_year_end=last_end,
        after=_kpis(compute_kpis(con, grain="window", start=after_start, end=after_end)),
        measures=measures,
        customer_source=source,
        customer=customer,
        terms_before=terms[0] if terms else None,
        terms_after=terms[1] if terms else None,
    )


def load_progress_reports(con: duckdb.DuckDBPyConnection) -> list[ProgressReport]:
    """Rows of the canonical `progress` table."""
    if not has_table(con, "progress"):
        return []
    return [
        ProgressReport.model_validate(r)
        for r in records(
            con,
            "SELECT task_id, as_of, percent_complete, status, note, blocker FROM progress "
            "ORDER BY task_id, as_of",
        )
    ]


def weekly_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    start: date,
    end: date,
    progress: Sequence[ProgressReport],
) -> WeeklyFacts:
    """The KPIs of the tickets created in the week [start, end], and the progress reports."""
    kpis = compute_kpis(con, grain="window", start=start, end=end + timedelta(days=1))
    return WeeklyFacts(start=start, end=end, kpis=_kpis(kpis), progress=tuple(progress))


def monthly_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    start: date,
    end: date,
    plan_start: date,
    progress: Sequence[ProgressReport],
) -> MonthlyFacts:
    """The month [start, end]'s KPIs overall, per team and per agent (with the team it works
    in most), every month's KPIs from the plan's start month, and the progress reports."""
    after = end + timedelta(days=1)
    monthly = compute_kpis(con, grain="month", start=plan_start.replace(day=1), end=after)
    overall = compute_kpis(con, grain="window", start=start, end=after)
    teams = compute_kpis(con, grain="window", dims=["team"], start=start, end=after)
    agents = compute_kpis(con, grain="window", dims=["agent"], start=start, end=after)
    home = dict(
        con.execute(
            f"SELECT agent, mode(team) FROM tickets WHERE {time_window('created_at', start, after)}"
            " AND agent IS NOT NULL GROUP BY agent"
        ).fetchall()
    )
    return MonthlyFacts(
        start=start,
        end=end,
        monthly=tuple(PeriodKpis(period=r["period"], values=_kpis([r])) for r in monthly),
        overall=_kpis(overall),
        teams=tuple(
            GroupKpis(name=str(r["team"]), tickets=int(r["volume"] or 0), kpis=_kpis([r]))
            for r in teams
            if r["team"] is not None
        ),
        agents=tuple(
            GroupKpis(
                name=str(r["agent"]),
                team=home.get(r["agent"]),
                tickets=int(r["volume"] or 0),
                kpis=_kpis([r]),
            )
            for r in agents
            if r["agent"] is not None
        ),
        progress=tuple(progress),
    )
