"""Critical-path scheduling on working days (finish-to-start with lags), the float of a plan
with fixed dates, and owners booked beyond their capacity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from improve.domain.artifacts import Overallocation
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


@dataclass(frozen=True)
class Booking:
    """An owner's share of time on a task between two dates."""

    key: str
    owner: str
    start: date
    end: date
    load: float


def schedule(
    activities: Sequence[Activity], *, start: date, calendar: WorkCalendar
) -> dict[str, Scheduled]:
    """Earliest dates for every activity from `start`, with slack against the plan's end.

    A forward pass in working-day numbers, then `analyse` for the float; a cycle in the
    dependencies is a StageError naming the activities involved.
    """
    by_key = {a.key: a for a in activities}
    early_start: dict[str, int] = {}
    for key in _topological(activities):
        a = by_key[key]
        early_start[key] = max(
            (early_start[p] + by_key[p].duration + a.lag for p in a.depends_on), default=0
        )
    first = calendar.next_working_day(start)
    dates = {
        k: (
            calendar.add_working_days(first, es),
            calendar.add_working_days(first, es + by_key[k].duration - 1),
        )
        for k, es in early_start.items()
    }
    return analyse(activities, dates, calendar=calendar)


def analyse(
    activities: Sequence[Activity],
    dates: Mapping[str, tuple[date, date]],
    *,
    calendar: WorkCalendar,
) -> dict[str, Scheduled]:
    """Working days, slack and the critical path of activities with fixed (start, end) dates:
    the backward pass from the latest end, in working days. An activity's duration is the
    working days between its dates (an edited plan may change it)."""
    order = _topological(activities)
    by_key = {a.key: a for a in activities}
    origin = min((s for s, _ in dates.values()), default=date.today())

    def index(day: date) -> int:
        return calendar.working_days_between(origin, day) - 1

    early_finish = {k: index(dates[k][1]) for k in order}
    duration = {k: max(1, calendar.working_days_between(*dates[k])) for k in order}
    finish = max(early_finish.values(), default=0)
    successors: dict[str, list[str]] = {k: [] for k in by_key}
    for a in activities:
        for p in a.depends_on:
            successors[p].append(a.key)
    late_finish: dict[str, int] = {}
    for key in reversed(order):
        late_finish[key] = min(
            (late_finish[s] - duration[s] - by_key[s].lag for s in successors[key]),
            default=finish,
        )
    out = {}
    for key in order:
        slack = max(0, late_finish[key] - early_finish[key])
        out[key] = Scheduled(
            start=dates[key][0],
            end=dates[key][1],
            working_days=duration[key],
            slack=slack,
            critical=slack == 0,
        )
    return out


def earliest_start(after: date, lag: int, calendar: WorkCalendar) -> date:
    """The first day a task may start once a predecessor ends on `after`, `lag` working
    days later."""
    return calendar.add_working_days(calendar.next_working_day(after + timedelta(days=1)), lag)


def overallocations(
    bookings: Sequence[Booking], capacity: Mapping[str, float], *, calendar: WorkCalendar
) -> tuple[Overallocation, ...]:
    """Runs of working days on which an owner's tasks (one, or several overlapping) take
    more than their capacity, one per owner and set of tasks, with the dates."""
    out: list[Overallocation] = []
    for owner in sorted({b.owner for b in bookings}):
        mine = [b for b in bookings if b.owner == owner]
        limit = capacity.get(owner, 1.0)
        days = sorted(
            {d for b in mine for d in _days(b.start, b.end) if calendar.is_working_day(d)}
        )
        run: tuple[tuple[str, ...], date, date, float] | None = None
        for day in days:
            on = [b for b in mine if b.start <= day <= b.end]
            booked = sum(b.load for b in on)
            keys = tuple(sorted(b.key for b in on))
            if booked > limit + 1e-9:
                if run is not None and run[0] == keys:
                    run = (keys, run[1], day, max(run[3], booked))
                    continue
                if run is not None:
                    out.append(_over(owner, run, limit))
                run = (keys, day, day, booked)
            elif run is not None:
                out.append(_over(owner, run, limit))
                run = None
        if run is not None:
            out.append(_over(owner, run, limit))
    return tuple(out)


def _over(
    owner: str, run: tuple[tuple[str, ...], date, date, float], limit: float
) -> Overallocation:
    keys, first, last, booked = run
    return Overallocation(
        owner=owner, start=first, end=last, booked=round(booked, 3), capacity=limit, task_ids=keys
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


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
