"""Property tests of critical-path scheduling on mainland China's working days: random
task networks, random start dates, random extra days off."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from improve.domain.calendar import WorkCalendar, china_calendar
from improve.stages.schedule import Activity, Scheduled, analyse, earliest_start, schedule

SETTINGS = settings(max_examples=200, deadline=None)
FIRST, LAST = date(2025, 12, 1), date(2027, 6, 30)


@lru_cache(maxsize=256)
def _calendar(extra: frozenset[date]) -> WorkCalendar:
    return china_calendar(range(2025, 2030), extra_days_off=extra)


@st.composite
def _activities(draw: st.DrawFn) -> list[Activity]:
    """A random DAG: each activity depends on a random subset of the earlier ones."""
    n = draw(st.integers(1, 12))
    out: list[Activity] = []
    for i in range(n):
        earlier = [a.key for a in out]
        depends = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        out.append(
            Activity(
                key=f"t{i}",
                duration=draw(st.integers(1, 15)),
                depends_on=tuple(sorted(depends)),
                lag=draw(st.integers(0, 5)),
            )
        )
    return out


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[Activity], date, WorkCalendar]:
    activities = draw(_activities())
    start = draw(st.dates(FIRST, LAST))
    # a few company days off, mostly inside the plan's first months
    extra = draw(
        st.frozensets(st.dates(start, start + timedelta(days=200)), max_size=4)
        | st.frozensets(st.dates(FIRST, date(2028, 6, 30)), max_size=2)
    )
    return activities, start, _calendar(extra)


def _forward(
    activities: list[Activity],
    start: date,
    calendar: WorkCalendar,
    not_before: dict[str, date] | None = None,
) -> dict[str, tuple[date, date]]:
    """Earliest dates by hand, date by date, optionally holding some activities back."""
    dates: dict[str, tuple[date, date]] = {}
    for a in activities:  # earlier activities come first: already topological
        first = max(
            (earliest_start(dates[p][1], a.lag, calendar) for p in a.depends_on),
            default=calendar.next_working_day(start),
        )
        if not_before and a.key in not_before:
            first = max(first, not_before[a.key])
        dates[a.key] = (first, calendar.add_working_days(first, a.duration - 1))
    return dates


def _check(activities: list[Activity], plan: dict[str, Scheduled], cal: WorkCalendar) -> None:
    assert set(plan) == {a.key for a in activities}
    for a in activities:
        s = plan[a.key]
        assert cal.is_working_day(s.start), (a.key, s.start)
        assert cal.is_working_day(s.end), (a.key, s.end)
        assert cal.working_days_between(s.start, s.end) == a.duration == s.working_days
        for p in a.depends_on:
            assert s.start >= earliest_start(plan[p].end, a.lag, cal), (a.key, p)
        assert s.slack >= 0
        assert s.critical == (s.slack == 0)
    assert any(s.critical for s in plan.values())
    last = max(s.end for s in plan.values())
    for key, s in plan.items():
        if s.end == last:
            assert s.critical, key


@SETTINGS
@given(case=_case())
def test_schedule_keeps_working_days_dependencies_and_a_critical_path(
    case: tuple[list[Activity], date, WorkCalendar],
) -> None:
    activities, start, cal = case
    plan = schedule(activities, start=start, calendar=cal)
    _check(activities, plan, cal)
    # and every activity starts as early as its predecessors allow
    assert {k: (s.start, s.end) for k, s in plan.items()} == _forward(activities, start, cal)
    assert min(s.start for s in plan.values()) == cal.next_working_day(start)


@SETTINGS
@given(case=_case(), pick=st.integers(0, 11))
def test_delaying_a_non_critical_activity_by_its_slack_keeps_the_end(
    case: tuple[list[Activity], date, WorkCalendar], pick: int
) -> None:
    activities, start, cal = case
    plan = schedule(activities, start=start, calendar=cal)
    floating = [k for k, s in plan.items() if not s.critical]
    if not floating:
        return
    key = floating[pick % len(floating)]
    slack = plan[key].slack
    later = cal.add_working_days(plan[key].start, slack)
    dates = _forward(activities, start, cal, not_before={key: later})
    assert dates[key][0] == later
    assert max(end for _, end in dates.values()) == max(s.end for s in plan.values())
    # the delayed activity has used its float up; the plan still holds together
    delayed = analyse(activities, dates, calendar=cal)
    assert delayed[key].slack == 0 and delayed[key].critical
    _check(activities, delayed, cal)
    # one working day more and the plan ends later
    beyond = _forward(
        activities, start, cal, not_before={key: cal.add_working_days(plan[key].start, slack + 1)}
    )
    assert max(end for _, end in beyond.values()) > max(s.end for s in plan.values())


@SETTINGS
@given(case=_case(), data=st.data())
def test_analyse_on_the_schedules_own_dates_gives_the_same_float(
    case: tuple[list[Activity], date, WorkCalendar], data: st.DataObject
) -> None:
    activities, start, cal = case
    plan = schedule(activities, start=start, calendar=cal)
    shuffled = data.draw(st.permutations(activities))
    again = analyse(shuffled, {k: (s.start, s.end) for k, s in plan.items()}, calendar=cal)
    assert again == plan
