"""The rules a plan must keep, checked on the designed plan and on every stakeholder edit:
finish-to-start dependencies with their lags, working days only, known owners within their
capacity, and a RACI with exactly one Accountable and at least one Responsible per task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import date, timedelta

from improve.domain.artifacts import Overallocation, PlanTask, RaciEntry
from improve.domain.calendar import WorkCalendar
from improve.domain.plan_edit import PlanIssue
from improve.domain.programme import Programme
from improve.stages.schedule import Booking, earliest_start, overallocations


def check_plan(
    tasks: Sequence[PlanTask],
    raci: Sequence[RaciEntry],
    *,
    programme: Programme,
    calendar: WorkCalendar,
    changed: Collection[str] | None = None,
) -> list[PlanIssue]:
    """Every broken rule of the plan, in task order (an empty list: the plan holds).

    `changed` names the tasks an edit touched: an over-allocation only they are free of was
    already in the plan as designed (and reported there), so it is not held against the
    edit; each one that involves an edited task is located at that task."""
    issues: list[PlanIssue] = []
    by_id = {t.id: t for t in tasks}
    people = programme.people
    cycle = programme.cycle
    for t in tasks:
        issues.extend(_dates(t, calendar))
        if t.start < cycle.plan_start:
            issues.append(
                PlanIssue(
                    "dates",
                    t.id,
                    "start",
                    f"task {t.id} starts {t.start}, before the plan may start "
                    f"({cycle.plan_start}); start it then or later",
                )
            )
        if t.end > cycle.deadline:
            issues.append(
                PlanIssue(
                    "dates",
                    t.id,
                    "end",
                    f"task {t.id} ends {t.end}, after the cycle's deadline {cycle.deadline}; "
                    "finish it by then (or move the deadline in the programme)",
                )
            )
        for pid in t.depends_on:
            before = by_id.get(pid)
            if before is None:
                continue
            first = earliest_start(before.end, t.lag_days, calendar)
            if t.start < first:
                lag = f" plus {t.lag_days} working day(s) of lag" if t.lag_days else ""
                issues.append(
                    PlanIssue(
                        "dependency",
                        t.id,
                        "start",
                        f"task {t.id} starts {t.start}, before its predecessor {pid} ends "
                        f"({before.end}){lag}; start it on {first} or later",
                    )
                )
        if t.owner not in people:
            issues.append(
                PlanIssue(
                    "owner",
                    t.id,
                    "owner",
                    f"task {t.id}: owner {t.owner!r} is not a member or head of any department; "
                    f"choose one of {', '.join(sorted(people))}",
                )
            )
    issues.extend(raci_issues(tasks, raci, programme=programme))
    for over in plan_overallocations(tasks, programme=programme, calendar=calendar):
        edited = [tid for tid in over.task_ids if changed is None or tid in changed]
        if not edited:
            continue
        at = max(edited, key=lambda tid: (by_id[tid].start, tid))
        issues.append(
            PlanIssue(
                "overallocation",
                at,
                "owner",
                f"{over.owner} is booked {over.booked:.0%} of full time from {over.start} to "
                f"{over.end} on {', '.join(over.task_ids)} (capacity {over.capacity:.0%}); "
                "move one task or give it another owner",
            )
        )
    return issues


def _dates(t: PlanTask, calendar: WorkCalendar) -> list[PlanIssue]:
    out = []
    if t.end < t.start:
        out.append(
            PlanIssue("dates", t.id, "end", f"task {t.id} ends {t.end}, before it starts {t.start}")
        )
    for name, day in (("start", t.start), ("end", t.end)):
        if not calendar.is_working_day(day):
            out.append(
                PlanIssue(
                    "day_off",
                    t.id,
                    name,
                    f"task {t.id} {'starts' if name == 'start' else 'ends'} on {day} "
                    f"({day:%A}), a day off; use {_nearest(day, name, calendar)}",
                )
            )
    return out


def _nearest(day: date, name: str, calendar: WorkCalendar) -> str:
    if name == "start":
        return f"the next working day, {calendar.next_working_day(day)}"
    back = day
    while not calendar.is_working_day(back):
        back -= timedelta(days=1)
    return f"the previous working day, {back}"


def raci_issues(
    tasks: Sequence[PlanTask], raci: Sequence[RaciEntry], *, programme: Programme
) -> list[PlanIssue]:
    """Per task: exactly one A, at least one R, known departments, and the owner's
    department responsible or accountable."""
    known = {d.key for d in programme.departments}
    people = programme.people
    out = []
    for t in tasks:
        entries = [e for e in raci if e.task_id == t.id]
        letters = Counter(e.letter for e in entries)
        for e in entries:
            if e.department not in known:
                out.append(
                    PlanIssue(
                        "raci",
                        t.id,
                        f"raci:{e.department}",
                        f"task {t.id}: RACI names unknown department {e.department!r}",
                    )
                )
        accountable = [e.department for e in entries if e.letter == "A"]
        if letters["A"] != 1:
            out.append(
                PlanIssue(
                    "raci",
                    t.id,
                    f"raci:{accountable[1] if len(accountable) > 1 else ''}",
                    f"task {t.id} has {letters['A']} Accountable "
                    f"({', '.join(accountable) or 'none'}); give exactly one department A",
                )
            )
        if letters["R"] == 0:
            out.append(
                PlanIssue(
                    "raci",
                    t.id,
                    "raci:",
                    f"task {t.id} has no Responsible; mark at least one department R",
                )
            )
        owner = people.get(t.owner)
        if owner is not None:
            mine = {e.letter for e in entries if e.department == owner[1].key}
            if letters["R"] and not mine & {"R", "A"}:
                out.append(
                    PlanIssue(
                        "raci",
                        t.id,
                        f"raci:{owner[1].key}",
                        f"task {t.id}: its owner {t.owner} works in {owner[1].key}, which is "
                        "neither R nor A for it; mark it R or choose an owner from a "
                        "responsible department",
                    )
                )
    return out


def plan_overallocations(
    tasks: Sequence[PlanTask], *, programme: Programme, calendar: WorkCalendar
) -> tuple[Overallocation, ...]:
    """The owners booked beyond their capacity in the plan."""
    capacity = {name: person.capacity for name, (person, _) in programme.people.items()}
    return overallocations(
        [Booking(t.id, t.owner, t.start, t.end, t.load) for t in tasks],
        capacity,
        calendar=calendar,
    )
