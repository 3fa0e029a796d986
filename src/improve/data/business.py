"""Business-hours durations: working minutes between two instants, as SQL.

A `workdays` table holds, per date, whether it is a working day, its opening and closing
minute and the working minutes of all earlier dates (cum_before). The working minutes up
to an instant t are then W(t) = cum_before(day t) + the part of day t's opening hours
before t, and a duration is W(end) - W(start): one equi-join per timestamp, no loops.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pyarrow as pa

from improve.data.readers import run
from improve.domain.calendar import WorkCalendar, china_calendar
from improve.domain.programme import BusinessHours

WORKDAYS = "workdays"


def calendar_for(hours: BusinessHours, years: range) -> WorkCalendar:
    """The day-level calendar of the business hours."""
    base = china_calendar(years) if hours.holidays == "CN" else WorkCalendar()
    return WorkCalendar(
        days_off=base.days_off, workdays=base.workdays, weekdays=frozenset(hours.weekdays)
    )


def create_workdays(
    con: duckdb.DuckDBPyConnection, hours: BusinessHours, first: date, last: date
) -> None:
    """The `workdays` table for every date from `first` to `last` (a margin is added)."""
    first, last = first - timedelta(days=7), last + timedelta(days=7)
    calendar = calendar_for(hours, range(first.year, last.year + 1))
    open_min, close_min = hours.minutes
    days, working, cum = [], [], []
    total = 0
    day = first
    while day <= last:
        works = calendar.is_working_day(day)
        days.append(day)
        working.append(works)
        cum.append(total)
        total += (close_min - open_min) if works else 0
        day += timedelta(days=1)
    table = pa.table(
        {
            "day": pa.array(days, pa.date32()),
            "working": pa.array(working),
            "cum_before": pa.array(cum, pa.int64()),
        }
    )
    con.register("_workdays_arrow", table)
    run(
        con,
        f"CREATE OR REPLACE TABLE {WORKDAYS} AS SELECT *, {open_min} AS open_min, "
        f"{close_min} AS close_min FROM _workdays_arrow",
    )
    con.unregister("_workdays_arrow")


def working_minutes_sql(column: str, alias: str) -> str:
    """W(column): working minutes up to the instant, given `alias` joined on its date."""
    # microsecond(): the seconds of the minute with their fraction (second() drops it)
    minute = f"(hour({column}) * 60 + minute({column}) + microsecond({column}) / 60e6)"
    return (
        f"({alias}.cum_before + CASE WHEN {alias}.working THEN "
        f"least(greatest({minute} - {alias}.open_min, 0), "
        f"{alias}.close_min - {alias}.open_min) ELSE 0 END)"
    )


def ticket_view_sql(business: bool) -> str:
    """One row per ticket with frt_min, res_h and resolved: calendar or business time."""
    if not business:
        return (
            "SELECT *, (epoch(first_response_at) - epoch(created_at)) / 60.0 AS frt_min, "
            "(epoch(resolved_at) - epoch(created_at)) / 3600.0 AS res_h, "
            "resolved_at IS NOT NULL AS resolved FROM tickets"
        )
    w_created = working_minutes_sql("t.created_at", "wc")
    w_first = working_minutes_sql("t.first_response_at", "wf")
    w_resolved = working_minutes_sql("t.resolved_at", "wr")
    return (
        f"SELECT t.*, CASE WHEN t.first_response_at IS NOT NULL THEN {w_first} - "
        f"{w_created} END AS frt_min, CASE WHEN t.resolved_at IS NOT NULL THEN "
        f"({w_resolved} - {w_created}) / 60.0 END AS res_h, "
        f"t.resolved_at IS NOT NULL AS resolved FROM tickets t "
        f"LEFT JOIN {WORKDAYS} wc ON wc.day = CAST(t.created_at AS DATE) "
        f"LEFT JOIN {WORKDAYS} wf ON wf.day = CAST(t.first_response_at AS DATE) "
        f"LEFT JOIN {WORKDAYS} wr ON wr.day = CAST(t.resolved_at AS DATE)"
    )


def add_business_hours(con: duckdb.DuckDBPyConnection, hours: BusinessHours) -> None:
    """Create the workdays table spanning every timestamp of the tickets table."""
    first, last = con.execute(
        "SELECT CAST(min(created_at) AS DATE), CAST(greatest(max(created_at), "
        "max(first_response_at), max(resolved_at)) AS DATE) FROM tickets"
    ).fetchall()[0]
    if first is None:
        return
    create_workdays(con, hours, first, last)
