"""Working-day calendar and critical-path scheduling (finish-to-start with lags)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays

from improve.domain.programme import TaskTemplate
from improve.errors import StageError


@dataclass(frozen=True)
class WorkCalendar:
    """Weekends off, except make-up working days; public holidays and extra days off."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """Whether people work on `day`."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the next one."""
        for _ in range(400):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise StageError(f"no working day within 400 days after {day}; check the calendar")

    def add_working_days(self, day: date, n: int) -> date:
        """The working day `n` working days after working day `day` (n >= 0)."""
        day = self.next_working_day(day)
        for _ in range(n):
            day = self.next_working_day(day + timedelta(days=1))
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in [first, last], both included."""
        count, day = 0, first
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


def china_calendar(years: Iterable[int], extra_days_off: Iterable[date] = ()) -> WorkCalendar:
    """Mainland China's public holidays and make-up working days (调休), plus `extra_days_off`."""
    cn = holidays.country_holidays("CN", years=sorted(set(years)))
    return WorkCalendar(
        days_off=frozenset(cn) | frozenset(extra_days_off),
        workdays=frozenset(getattr(cn, "weekend_workdays", ())),
    )


@dataclass(frozen=True)
class Activity:
    """What the scheduler needs of a task."""

    key: str
    duration: int
    depends_on: tuple[str, ...] = ()
    lag: int = 0


@dataclass(frozen=True)
class Scheduled:
    """A scheduled activity: dates, working days and slack."""

    start: date
    end: date
    working_days: int
    slack: int
    critical: bool


def schedule(
    activities: Sequence[Activity], *, start: date, calendar: WorkCalendar
) -> dict[str, Scheduled]:
    """Earliest dates for every activity from `start`, with slack against the plan's end.

    Forward and backward passes in working-day numbers; a cycle in the dependencies is a
    StageError naming the activities involved.
    """
    by_key = {a.key: a for a in activities}
    order = _topological(activities)
    early_start: dict[str, int] = {}
    early_finish: dict[str, int] = {}
    for key in order:
        a = by_key[key]
        es = max((early_finish[p] + 1 + a.lag for p in a.depends_on), default=0)
        early_start[key], early_finish[key] = es, es + a.duration - 1
    finish = max(early_finish.values(), default=0)
    successors: dict[str, list[str]] = {k: [] for k in by_key}
    for a in activities:
        for p in a.depends_on:
            successors[p].append(a.key)
    late_finish: dict[str, int] = {}
    for key in reversed(order):
        late_finish[key] = min(
            (late_finish[s] - by_key[s].duration - by_key[s].lag for s in successors[key]),
            default=finish,
        )
    first = calendar.next_working_day(start)
    out: dict[str, Scheduled] = {}
    for key in order:
        a = by_key[key]
        slack = late_finish[key] - early_finish[key]
        out[key] = Scheduled(
            start=calendar.add_working_days(first, early_start[key]),
            end=calendar.add_working_days(first, early_finish[key]),
            working_days=a.duration,
            slack=slack,
            critical=slack == 0,
        )
    return out


def schedule_tasks(
    tasks: Sequence[TaskTemplate], *, start: date, calendar: WorkCalendar
) -> dict[str, Scheduled]:
    """Schedule one strategy's task templates from `start`."""
    return schedule(
        [Activity(t.key, t.duration_days, t.depends_on, t.lag_days) for t in tasks],
        start=start,
        calendar=calendar,
    )


def _topological(activities: Sequence[Activity]) -> list[str]:
    keys = {a.key for a in activities}
    for a in activities:
        unknown = set(a.depends_on) - keys
        if unknown:
            raise StageError(f"task {a.key} depends on unknown task(s) {sorted(unknown)}")
    indegree = {a.key: len(a.depends_on) for a in activities}
    successors: dict[str, list[str]] = {a.key: [] for a in activities}
    for a in activities:
        for p in a.depends_on:
            successors[p].append(a.key)
    ready = [a.key for a in activities if indegree[a.key] == 0]
    order: list[str] = []
    while ready:
        key = ready.pop(0)
        order.append(key)
        for s in successors[key]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    if len(order) != len(activities):
        stuck = sorted(k for k, d in indegree.items() if d > 0)
        raise StageError(f"task dependencies form a cycle among {stuck}; remove one dependency")
    return order
