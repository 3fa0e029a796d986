"""A plan edited by its stakeholders (dates, owners, RACI letters) becomes the next plan
version: every rule checked, the float and the critical path recomputed, the diff kept."""

from __future__ import annotations

from improve.domain.artifacts import (
    ImplementationPlan,
    PlanChange,
    PlanTask,
    RaciEntry,
)
from improve.domain.calendar import WorkCalendar
from improve.domain.plan_edit import PlanEdits, PlanIssue, TaskEdit
from improve.domain.programme import Programme
from improve.errors import StageError
from improve.stages.plan_check import check_plan, plan_overallocations
from improve.stages.schedule import Activity, analyse


class PlanRejected(StageError):
    """The edited plan breaks rules; `issues` says which and where."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(i.message for i in issues))


def revise_plan(
    plan: ImplementationPlan,
    edits: PlanEdits,
    *,
    version: int,
    programme: Programme,
    calendar: WorkCalendar,
) -> ImplementationPlan:
    """The plan with the edits applied, as a revision of plan version `version`; the plan
    itself when nothing changed. PlanRejected lists every broken rule."""
    people = programme.people
    tasks = []
    for t in plan.tasks:
        edit = edits.tasks.get(t.id, TaskEdit(t.start, t.end, t.owner))
        department = people[edit.owner][1].key if edit.owner in people else t.department
        tasks.append(
            t.model_copy(
                update={
                    "start": edit.start,
                    "end": edit.end,
                    "owner": edit.owner,
                    "department": department,
                }
            )
        )
    raci = _raci(plan, edits)
    changes = _changes(plan, tasks, raci)
    issues = check_plan(
        tasks,
        raci,
        programme=programme,
        calendar=calendar,
        changed={c.task_id for c in changes},
    )
    if issues:
        raise PlanRejected(issues)
    if not changes:
        return plan
    timing = analyse(
        [Activity(t.id, t.working_days, t.depends_on, t.lag_days) for t in tasks],
        {t.id: (t.start, t.end) for t in tasks},
        calendar=calendar,
    )
    tasks = [
        t.model_copy(
            update={
                "working_days": timing[t.id].working_days,
                "slack_days": timing[t.id].slack,
                "critical": timing[t.id].critical,
            }
        )
        for t in tasks
    ]
    start, end = min(t.start for t in tasks), max(t.end for t in tasks)
    return plan.model_copy(
        update={
            "tasks": tuple(tasks),
            "raci": tuple(raci),
            "start": start,
            "end": end,
            "days_off": tuple(
                sorted(d for d in calendar.days_off if start <= d <= end and d.weekday() < 5)
            ),
            "overallocations": plan_overallocations(tasks, programme=programme, calendar=calendar),
            "revised_from": version,
            "changes": tuple(changes),
        }
    )


def _raci(plan: ImplementationPlan, edits: PlanEdits) -> list[RaciEntry]:
    out: list[RaciEntry] = []
    for t in plan.tasks:
        edited = edits.raci.get(t.id)
        if edited is None:
            out.extend(e for e in plan.raci if e.task_id == t.id)
            continue
        for department, letters in edited.items():
            out.extend(RaciEntry(task_id=t.id, department=department, letter=x) for x in letters)
    return out


def _letters(raci: list[RaciEntry] | tuple[RaciEntry, ...], tid: str) -> dict[str, str]:
    cells: dict[str, str] = {}
    for e in raci:
        if e.task_id == tid:
            cells[e.department] = "/".join(
                sorted({*cells.get(e.department, "").split("/"), e.letter} - {""})
            )
    return cells


def _changes(
    plan: ImplementationPlan, tasks: list[PlanTask], raci: list[RaciEntry]
) -> list[PlanChange]:
    out = []
    for old, new in zip(plan.tasks, tasks, strict=True):
        for name in ("start", "end", "owner"):
            before, after = getattr(old, name), getattr(new, name)
            if before != after:
                out.append(
                    PlanChange(task_id=old.id, field=name, before=str(before), after=str(after))
                )
        was, now = _letters(plan.raci, old.id), _letters(raci, old.id)
        for department in sorted(set(was) | set(now)):
            if was.get(department, "") != now.get(department, ""):
                out.append(
                    PlanChange(
                        task_id=old.id,
                        field=f"raci:{department}",
                        before=was.get(department, ""),
                        after=now.get(department, ""),
                    )
                )
    return out
