"""Working-day calendar and critical-path scheduling."""

from __future__ import annotations

from datetime import date

import pytest

from improve.domain.calendar import WorkCalendar, china_calendar
from improve.errors import StageError
from improve.stages.schedule import Activity, schedule


def test_china_calendar_knows_spring_festival_and_make_up_days() -> None:
    cal = china_calendar([2026])
    assert not cal.is_working_day(date(2026, 2, 17))  # Spring Festival
    assert not cal.is_working_day(date(2026, 2, 21))  # Saturday
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday made a working day (调休)
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)


def test_dependencies_lags_critical_path_and_slack() -> None:
    cal = WorkCalendar()
    plan = schedule(
        [
            Activity("a", 5),
            Activity("b", 10, ("a",)),
            Activity("c", 3, ("a",), lag=2),
            Activity("d", 2, ("b", "c")),
        ],
        start=date(2026, 3, 2),
        calendar=cal,
    )
    assert (plan["a"].start, plan["a"].end) == (date(2026, 3, 2), date(2026, 3, 6))
    assert plan["b"].start == date(2026, 3, 9)
    assert plan["c"].start == date(2026, 3, 11)  # two working days of lag
    assert plan["d"].start == date(2026, 3, 23)
    assert [k for k, s in plan.items() if s.critical] == ["a", "b", "d"]
    assert plan["c"].slack == 5


def test_a_dependency_cycle_is_an_error() -> None:
    with pytest.raises(StageError, match="cycle among"):
        schedule(
            [Activity("a", 1, ("b",)), Activity("b", 1, ("a",))],
            start=date(2026, 3, 2),
            calendar=WorkCalendar(),
        )


def test_a_programme_day_off_wins_over_a_make_up_working_day() -> None:
    cal = china_calendar([2026], extra_days_off=[date(2026, 2, 14)])
    assert not cal.is_working_day(date(2026, 2, 14))  # the office stays shut that Saturday
    assert cal.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)  # after Spring Festival
