"""Critical-path scheduling on working days (finish-to-start with lags)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from improve.domain.calendar import WorkCalendar
from improve.domain.programme import TaskTemplate
from improve.errors import StageError


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
