"""Property tests of the KPI engine (DuckDB SQL) against a naive, one-ticket-at-a-time reading
of KPI.md's default definitions, on small random ticket tables: nulls, ties, reopened tickets,
tickets answered outside business hours, several teams and segments, every grain, windows,
pilot scopes and survey NPS."""

from __future__ import annotations

import functools
import math
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import holidays
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from improve.data import kpis
from improve.data.business import WORKDAYS, add_business_hours
from improve.data.canonical import SURVEY_TYPES, SURVEYS, TICKET_TYPES, TICKETS, load_canonical
from improve.data.engine import connect
from improve.domain.kpi import KPI_NAMES
from improve.domain.programme import BusinessHours, DataSource

SETTINGS = settings(max_examples=40, deadline=None)
Row = dict[str, Any]
EPOCH = date(1970, 1, 1)

# --- random ticket tables -------------------------------------------------------------------

# Dates from mid-December 2024 to March 2025: a year end inside an ISO week (2024-12-30 is the
# Monday of 2025-W01), New Year's Day and the Spring Festival with its make-up working days.
FIRST_DAY = datetime(2024, 12, 16)
SPAN_MIN = 100 * 24 * 60
ARROW: dict[str, pa.DataType] = {
    "text": pa.string(),
    "timestamp": pa.timestamp("us"),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}
TEAMS = ("support", "tech", "客服", "O'Brien")  # a quote: the scope below is SQL text
CHANNELS = ("email", "web", "chat")


@st.composite
def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy[Any], p_none: float = 0.3) -> Any:
    """`strategy`, or None about `p_none` of the time."""
    return None if draw(st.integers(0, 99)) < 100 * p_none else draw(strategy)


@st.composite
def _instant(draw: st.DrawFn, after: datetime | None = None) -> datetime:
    """A timestamp in the span (or a while after `after`): whole minutes mostly, sometimes
    seconds or microseconds, sometimes exactly `after` (a zero duration)."""
    if after is None:
        out = FIRST_DAY + timedelta(minutes=draw(st.integers(0, SPAN_MIN)))
    else:
        kind = draw(st.sampled_from(["zero", "minutes", "hours", "days"]))
        scale = {"zero": 0, "minutes": 1, "hours": 60, "days": 1440}[kind]
        out = after + timedelta(minutes=scale * draw(st.integers(1, 40)))
    precision = draw(st.sampled_from(["minute", "minute", "second", "microsecond"]))
    if precision == "second":
        out += timedelta(seconds=draw(st.integers(0, 59)))
    elif precision == "microsecond":
        out += timedelta(microseconds=draw(st.integers(0, 59_999_999)))
    return out


@st.composite
def _ticket(draw: st.DrawFn, i: int, earlier: Sequence[datetime]) -> Row:
    if earlier and draw(st.booleans()) and draw(st.booleans()):
        created = draw(st.sampled_from(earlier))  # a tie on created_at
    else:
        created = draw(_instant())
    return {
        "ticket_id": f"T{i}",
        "created_at": created,
        "first_response_at": draw(_maybe(_instant(created), 0.25)),
        "resolved_at": draw(_maybe(_instant(created), 0.35)),
        "channel": draw(st.sampled_from(CHANNELS)),
        "category": draw(st.sampled_from(("billing", "bug"))),
        "team": draw(st.sampled_from(TEAMS)),
        "agent": draw(_maybe(st.sampled_from(("ann", "bo", "chen")), 0.2)),
        "priority": draw(st.sampled_from(("low", "high"))),
        "region": draw(_maybe(st.sampled_from(("north", "south")))),
        "product": draw(_maybe(st.sampled_from(("app", "web")))),
        "reopens": draw(
            st.one_of(st.just(0), st.just(0), st.integers(1, 3), _maybe(st.just(0), 0.5))
        ),
        "agent_replies": draw(_maybe(st.integers(0, 4))),
        "reassignments": draw(_maybe(st.integers(0, 2))),
        "csat": draw(_maybe(st.integers(1, 5), 0.4)),
        "complaint": draw(_maybe(st.booleans(), 0.1)),
        "sla_breached": draw(_maybe(st.booleans())),
        "handle_minutes": draw(_maybe(st.floats(0, 500, allow_nan=False), 0.4)),
    }


@st.composite
def _tickets(draw: st.DrawFn) -> list[Row]:
    out: list[Row] = []
    for i in range(draw(st.integers(1, 40))):
        out.append(draw(_ticket(i, [t["created_at"] for t in out])))
    return out


@st.composite
def _surveys(draw: st.DrawFn) -> list[Row]:
    out: list[Row] = []
    for i in range(draw(st.integers(1, 25))):  # the loader refuses a header-only file
        out.append(
            {
                "survey_id": f"S{i}",
                "answered_at": draw(_instant()),
                "ticket_id": None,
                "csat": draw(_maybe(st.integers(1, 5))),
                "nps": draw(_maybe(st.integers(0, 10), 0.2)),
                "comment": None,
                "region": draw(_maybe(st.sampled_from(("north", "south")))),
                "channel": draw(st.sampled_from(CHANNELS)),
            }
        )
    return out


HOURS = (
    BusinessHours(),  # 09:00-18:00, Monday to Friday, mainland China's holidays
    BusinessHours(start="08:30", end="20:00", weekdays=(0, 1, 2, 3, 4, 5, 6), holidays="none"),
    BusinessHours(start="00:00", end="23:59", weekdays=(0, 2, 4), holidays="none"),
    BusinessHours(start="13:15", end="14:45", weekdays=(5, 6), holidays="CN"),
)


@dataclass(frozen=True)
class Query:
    """One call of compute_kpis, and how the connection is set up for it."""

    grain: kpis.Grain
    dims: tuple[str, ...]
    start: date | None
    end: date | None
    team: str | None  # the pilot scope `where team = ...`
    hours: BusinessHours | None
    chunk_rows: int | None  # a small CHUNK_ROWS aggregates a run of periods at a time
    deterministic: bool

    @property
    def where(self) -> str | None:
        return None if self.team is None else "team = '" + self.team.replace("'", "''") + "'"


def _bound() -> st.SearchStrategy[date | None]:
    return _maybe(st.dates(date(2024, 12, 10), date(2025, 3, 31)), 0.5)


@st.composite
def _query(draw: st.DrawFn) -> Query:
    start, end = draw(_bound()), draw(_bound())
    if start and end and end <= start:  # [start, end) with start before end
        start, end = end, max(start, end + timedelta(days=1))
    return Query(
        grain=draw(st.sampled_from(("week", "month", "window"))),
        dims=tuple(draw(st.lists(st.sampled_from(kpis.DIMENSIONS), max_size=2, unique=True))),
        start=start,
        end=end,
        team=draw(_maybe(st.sampled_from(TEAMS), 0.7)),
        hours=draw(_maybe(st.sampled_from(HOURS), 0.6)),
        chunk_rows=draw(_maybe(st.integers(1, 12), 0.7)),
        deterministic=draw(st.booleans()),
    )


# --- the reference: KPI.md one ticket at a time ----------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default, quantile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _period(ts: datetime, grain: str, start: date | None) -> date:
    d = ts.date()
    if grain == "window":
        return start or EPOCH
    return d.replace(day=1) if grain == "month" else d - timedelta(days=d.weekday())


def _period_end(p: date, grain: str) -> datetime:
    """The first instant after period `p`."""
    nxt = p + timedelta(days=7) if grain == "week" else (p.replace(day=28) + timedelta(days=4))
    return datetime.combine(nxt.replace(day=1) if grain == "month" else nxt, time())


@functools.cache
def _working_day(hours: BusinessHours) -> Callable[[date], bool]:
    """Working days: the weekdays, unless a public holiday; make-up days work (CN)."""
    if hours.holidays == "none":
        return lambda d: d.weekday() in hours.weekdays
    cn = holidays.country_holidays("CN", years=range(2024, 2027))
    off, makeup = set(cn), set(getattr(cn, "weekend_workdays", ()))
    return lambda d: d not in off and (d in makeup or d.weekday() in hours.weekdays)


def working_minutes(a: datetime, b: datetime, hours: BusinessHours) -> float:
    """Minutes of opening hours on working days between a and b, day by day."""
    works = _working_day(hours)
    (h1, m1), (h2, m2) = (map(int, s.split(":")) for s in (hours.start, hours.end))
    total, day = 0.0, a.date()
    while day <= b.date():
        if works(day):
            lo = max(a, datetime.combine(day, time(h1, m1)))
            hi = min(b, datetime.combine(day, time(h2, m2)))
            total += max((hi - lo).total_seconds(), 0) / 60
        day += timedelta(days=1)
    return total


def _minutes(a: datetime, b: datetime, hours: BusinessHours | None) -> float:
    return (b - a).total_seconds() / 60 if hours is None else working_minutes(a, b, hours)


def _fcr(t: Row) -> bool:
    if t["reopens"] != 0:  # unknown reopens (None) is not first-contact resolution
        return False
    if t["agent_replies"] is not None:
        return bool(t["agent_replies"] <= 1)
    return (t["reassignments"] or 0) == 0


def _months(tickets: Sequence[Row]) -> int:
    return len({(t["created_at"].year, t["created_at"].month) for t in tickets})


def _ticket_kpis(tickets: list[Row], q: Query) -> Row:
    frt = [
        _minutes(t["created_at"], t["first_response_at"], q.hours)
        for t in tickets
        if t["first_response_at"] is not None
    ]
    resolved = [t for t in tickets if t["resolved_at"] is not None]
    res = [_minutes(t["created_at"], t["resolved_at"], q.hours) / 60 for t in resolved]
    rated = [t["csat"] for t in tickets if t["csat"] is not None]
    sla = [t["sla_breached"] for t in tickets if t["sla_breached"] is not None]
    handle = [t["handle_minutes"] for t in tickets if t["handle_minutes"] is not None]
    agents = {t["agent"] for t in resolved if t["agent"] is not None}
    per_agent = _ratio(len(resolved), len(agents))
    if q.grain == "window" and per_agent is not None:  # per month over a whole window
        per_agent /= _months(resolved)
    return {
        "volume": len(tickets),
        "frt_median_min": percentile(frt, 0.5),
        "frt_mean_min": _mean(frt),
        "frt_p90_min": percentile(frt, 0.9),
        "resolution_median_h": percentile(res, 0.5),
        "resolution_p90_h": percentile(res, 0.9),
        "fcr_rate": _ratio(sum(map(_fcr, resolved)), len(resolved)),
        "reopen_rate": _ratio(sum((t["reopens"] or 0) > 0 for t in resolved), len(resolved)),
        "csat_rate": _ratio(sum(c >= 4 for c in rated), len(rated)),
        "csat_mean": _mean(rated),
        "complaint_rate": _ratio(sum(t["complaint"] is True for t in tickets), len(tickets)),
        "sla_breach_rate": _ratio(sum(sla), len(sla)),
        "tickets_per_agent": per_agent,
        "handle_minutes_mean": _mean(handle),
    }


def _backlog(tickets: list[Row], scoped: list[Row], key: tuple[Any, ...], q: Query) -> int:
    """KPI.md's backlog_end: tickets (of the scope and segment, created in the window or
    before it) created by the period's end and not resolved by then. A period ends before
    the next one starts, a window before its `end`; a window without an end ends at the
    data's last creation, which it includes (created_at <= it, resolved_at null or later)."""
    same = [t for t in scoped if tuple(t[d] for d in q.dims) == key[1:]]
    if q.grain == "window" and q.end is None:
        stop = max(t["created_at"] for t in tickets)
        return sum(
            t["created_at"] <= stop and (t["resolved_at"] is None or t["resolved_at"] > stop)
            for t in same
        )
    stop = _period_end(key[0], q.grain) if q.grain != "window" else datetime.combine(q.end, time())
    return sum(
        t["created_at"] < stop and (t["resolved_at"] is None or t["resolved_at"] >= stop)
        for t in same
    )


def _nps(surveys: list[Row] | None, key: tuple[Any, ...], q: Query) -> float | None:
    """% promoters minus % detractors of the answers of the group's period and segment; only
    from a survey table holding every dimension, and not under a ticket scope."""
    if surveys is None or q.team is not None or not set(q.dims) <= set(SURVEY_TYPES):
        return None
    scores = [
        s["nps"]
        for s in surveys
        if s["nps"] is not None
        and (q.start is None or s["answered_at"] >= datetime.combine(q.start, time()))
        and (q.end is None or s["answered_at"] < datetime.combine(q.end, time()))
        and _period(s["answered_at"], q.grain, q.start) == key[0]
        and tuple(s[d] for d in q.dims) == key[1:]
    ]
    if not scores:
        return None
    return 100 * (sum(x >= 9 for x in scores) - sum(x <= 6 for x in scores)) / len(scores)


def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """By period, then dimension values, a missing value last (DuckDB's NULLS LAST)."""
    return (key[0], *((v is None, v or "") for v in key[1:]))


def reference_kpis(tickets: list[Row], surveys: list[Row] | None, q: Query) -> list[Row]:
    scoped = [t for t in tickets if q.team is None or t["team"] == q.team]
    lo = datetime.combine(q.start, time()) if q.start else None
    hi = datetime.combine(q.end, time()) if q.end else None
    groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for t in scoped:
        if (lo is None or t["created_at"] >= lo) and (hi is None or t["created_at"] < hi):
            key = (_period(t["created_at"], q.grain, q.start), *(t[d] for d in q.dims))
            groups[key].append(t)
    out = []
    for key in sorted(groups, key=_order):
        row: Row = {"period": key[0], **dict(zip(q.dims, key[1:], strict=True))}
        row.update(_ticket_kpis(groups[key], q))
        row["backlog_end"] = _backlog(tickets, scoped, key, q)
        row["nps"] = _nps(surveys, key, q)
        out.append({k: row[k] for k in ["period", *q.dims, *KPI_NAMES]})
    return out


# --- the engine, loaded the way the pipeline loads it ----------------------------------------


def _write(path: Path, rows: list[Row], types: dict[str, str]) -> Path:
    schema = pa.schema([(c, ARROW[k]) for c, k in types.items()])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@functools.cache
def _connection(deterministic: bool) -> duckdb.DuckDBPyConnection:
    """One engine connection of each kind for the module (connecting costs more than a
    small example's KPIs); each example starts from no tables."""
    return connect(deterministic=deterministic)


def engine_kpis(tickets: list[Row], surveys: list[Row] | None, q: Query) -> list[Row]:
    con = _connection(q.deterministic)
    for table in ("tickets", "surveys", WORKDAYS):  # workdays switches on business hours
        con.execute(f"DROP TABLE IF EXISTS {table}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = DataSource(path=str(_write(folder / "t.parquet", tickets, dict(TICKET_TYPES))))
        assert load_canonical(con, TICKETS, source, base_dir=folder) == len(tickets)
        if surveys is not None:
            path = _write(folder / "s.parquet", surveys, dict(SURVEY_TYPES))
            load_canonical(con, SURVEYS, DataSource(path=str(path)), base_dir=folder)
    if q.hours is not None:
        add_business_hours(con, q.hours)
    chunk = kpis.CHUNK_ROWS if q.chunk_rows is None else q.chunk_rows
    with mock.patch.object(kpis, "CHUNK_ROWS", chunk):
        rows = kpis.compute_kpis(
            con, grain=q.grain, dims=q.dims, start=q.start, end=q.end, where=q.where
        )
    return rows


def assert_same(actual: list[Row], expected: list[Row]) -> None:
    """Same groups in the same order, counts exactly, other KPIs to float rounding: relative
    1e-9, and absolute 1e-8 (minutes or hours, rates): calendar durations are differences
    of epoch seconds as doubles, whose step at today's epoch is 0.24 microseconds."""
    keys = [k for k in expected[0] if k not in KPI_NAMES] if expected else []
    assert [[r[k] for k in keys] for r in actual] == [[r[k] for k in keys] for r in expected]
    for a, e in zip(actual, expected, strict=True):
        assert list(a) == list(e)
        for name in KPI_NAMES:
            where = ([e[k] for k in keys], name)
            if e[name] is None or isinstance(e[name], int):
                assert a[name] == e[name], where
            else:
                assert a[name] == pytest.approx(e[name], rel=1e-9, abs=1e-8), where


@SETTINGS
@given(tickets=_tickets(), surveys=_maybe(_surveys(), 0.5), q=_query())
def test_engine_equals_the_reference(
    tickets: list[Row], surveys: list[Row] | None, q: Query
) -> None:
    note(f"{q}")
    assert_same(engine_kpis(tickets, surveys, q), reference_kpis(tickets, surveys, q))


# --- percentiles and empty groups, exactly ---------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(minutes=st.lists(st.integers(0, 10_000), min_size=1, max_size=12))
def test_percentiles_interpolate_linearly(minutes: list[int]) -> None:
    """P50 and P90 of the first response are quantile_cont's (numpy's linear), not a rank."""
    created = datetime(2025, 3, 3, 9)
    tickets = [
        {
            **dict.fromkeys(TICKET_TYPES),
            "ticket_id": f"T{i}",
            "created_at": created,
            "first_response_at": created + timedelta(minutes=m),
            "resolved_at": created + timedelta(minutes=2 * m),
            "channel": "web",
            "category": "bug",
            "team": "support",
            "reopens": 0,
            "complaint": False,
        }
        for i, m in enumerate(minutes)
    ]
    q = Query("window", (), None, None, None, None, None, True)
    [row] = engine_kpis(tickets, None, q)
    xs = sorted(minutes)
    for name, fraction in (("frt_median_min", 0.5), ("frt_p90_min", 0.9)):
        h = (len(xs) - 1) * fraction
        lo = math.floor(h)
        expected = xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])
        assert row[name] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert row["resolution_p90_h"] == pytest.approx(2 * row["frt_p90_min"] / 60)
    if len(xs) == 2 and xs[0] != xs[1]:  # quantile_disc would give a value of the data
        assert row["frt_median_min"] not in xs


def test_a_group_with_nothing_measured_has_no_values() -> None:
    """A group of open, unanswered, unrated tickets: every measure but the counts is None
    (not 0 and not NaN); volume and backlog still count them."""
    created = datetime(2025, 3, 3, 9)
    blank = {**dict.fromkeys(TICKET_TYPES), "channel": "web", "category": "bug", "reopens": 0}
    tickets = [
        {**blank, "ticket_id": "T1", "created_at": created, "team": "a"},
        {**blank, "ticket_id": "T2", "created_at": created, "team": "b", "complaint": True},
        {
            **blank,
            "ticket_id": "T3",
            "created_at": created,
            "team": "b",
            "first_response_at": created,
            "resolved_at": created + timedelta(hours=1),
            "csat": 5,
        },
    ]
    q = Query("month", ("team",), None, None, None, None, None, True)
    a, b = engine_kpis(tickets, None, q)
    assert (a["team"], a["volume"], a["backlog_end"]) == ("a", 1, 1)
    assert a["complaint_rate"] == 0.0
    counts = {"volume", "backlog_end", "complaint_rate"}
    assert all(a[name] is None for name in KPI_NAMES if name not in counts)
    assert (b["volume"], b["backlog_end"], b["complaint_rate"]) == (2, 1, 0.5)
    assert (b["frt_median_min"], b["fcr_rate"], b["csat_rate"]) == (0.0, 1.0, 1.0)
    assert b["nps"] is None and b["sla_breach_rate"] is None
    # a window with no ticket has no row at all
    later = Query("window", (), date(2025, 4, 1), None, None, None, None, True)
    assert engine_kpis(tickets, None, later) == []
