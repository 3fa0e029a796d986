"""The rules a plan keeps (dependencies, working days, owners, RACI, capacity), on the demo
plan as designed and as its stakeholders edit it."""

from __future__ import annotations

from datetime import date

import pytest
from tests.chain import Chain

from improve.domain.artifacts import ImplementationPlan, PlanChange, PlanTask, RaciLetter
from improve.domain.calendar import WorkCalendar
from improve.domain.plan_edit import PlanEdits, PlanIssue, TaskEdit
from improve.domain.programme import Programme
from improve.stages.plan_check import check_plan
from improve.stages.revise import PlanRejected, revise_plan
from improve.stages.schedule import Activity, analyse

SPRING_FESTIVAL = date(2026, 2, 17)


def _edits(plan: ImplementationPlan) -> PlanEdits:
    """Every task's row and RACI letters as they stand, as read back from the workbook."""
    rows = {t.id: TaskEdit(t.start, t.end, t.owner) for t in plan.tasks}
    raci: dict[str, dict[str, tuple[RaciLetter, ...]]] = {}
    for e in plan.raci:
        cells = raci.setdefault(e.task_id, {})
        cells[e.department] = (*cells.get(e.department, ()), e.letter)
    return PlanEdits(tasks=rows, raci=raci)


def _with(plan: ImplementationPlan, edits: dict[str, TaskEdit]) -> PlanEdits:
    """The plan as it stands with the rows of `edits` (by task id) replaced."""
    base = _edits(plan)
    return PlanEdits(tasks={**base.tasks, **edits}, raci=base.raci)


def _rejected(
    plan: ImplementationPlan, edits: PlanEdits, programme: Programme, calendar: WorkCalendar
) -> list[PlanIssue]:
    with pytest.raises(PlanRejected) as caught:
        revise_plan(plan, edits, version=1, programme=programme, calendar=calendar)
    issues: list[PlanIssue] = caught.value.issues
    assert issues
    assert str(caught.value) == "; ".join(i.message for i in issues)
    return issues


def _successors(plan: ImplementationPlan, task: PlanTask) -> list[PlanTask]:
    return [t for t in plan.tasks if task.id in t.depends_on]


def test_the_designed_plan_keeps_every_rule(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    assert check_plan(plan.tasks, plan.raci, programme=programme, calendar=calendar) == []
    assert plan.overallocations == ()
    assert plan.revised_from is None and plan.changes == ()


def test_edits_equal_to_the_plan_give_the_plan_back(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    same = revise_plan(plan, _edits(plan), version=1, programme=programme, calendar=calendar)
    assert same is plan
    # rows left out of the edits stand as they are
    empty = revise_plan(
        plan, PlanEdits(tasks={}), version=1, programme=programme, calendar=calendar
    )
    assert empty is plan


def test_a_task_moved_onto_spring_festival_starts_on_a_day_off(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    assert not calendar.is_working_day(SPRING_FESTIVAL)
    task = plan.tasks[-1]
    end = calendar.add_working_days(SPRING_FESTIVAL, task.working_days - 1)
    issues = _rejected(
        plan,
        _with(plan, {task.id: TaskEdit(SPRING_FESTIVAL, end, task.owner)}),
        programme,
        calendar,
    )
    day_off = [i for i in issues if i.kind == "day_off"]
    assert [(i.task_id, i.field) for i in day_off] == [(task.id, "start")]
    assert "2026-02-17" in day_off[0].message
    # it names the next working day: the festival runs to 2026-02-23
    assert str(calendar.next_working_day(SPRING_FESTIVAL)) in day_off[0].message
    assert calendar.next_working_day(SPRING_FESTIVAL) == date(2026, 2, 24)


def test_a_task_starting_before_its_predecessor_ends_breaks_the_dependency(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    task = next(t for t in plan.tasks if t.depends_on)
    before = plan.task(task.depends_on[0])
    start = before.end  # the day the predecessor is still being worked on
    end = calendar.add_working_days(start, task.working_days - 1)
    issues = _rejected(
        plan, _with(plan, {task.id: TaskEdit(start, end, task.owner)}), programme, calendar
    )
    broken = [i for i in issues if i.kind == "dependency"]
    assert [(i.task_id, i.field) for i in broken] == [(task.id, "start")]
    assert before.id in broken[0].message and str(before.end) in broken[0].message
    assert not [i for i in issues if i.kind == "day_off"]


def test_two_accountable_departments_on_a_task_is_a_raci_issue(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    task = plan.tasks[0]
    edits = _edits(plan)
    cells = dict(edits.raci[task.id])
    accountable = next(d for d, letters in cells.items() if "A" in letters)
    other = next(d for d, letters in cells.items() if set(letters) <= {"C", "I"})
    cells[other] = ("A",)
    raci = {**edits.raci, task.id: cells}
    issues = _rejected(plan, PlanEdits(tasks=edits.tasks, raci=raci), programme, calendar)
    assert [(i.kind, i.task_id) for i in issues] == [("raci", task.id)]
    two = issues[0]
    assert task.id in two.message and "2 Accountable" in two.message
    assert accountable in two.message and other in two.message
    assert two.field in {f"raci:{accountable}", f"raci:{other}"}


def test_an_unknown_owner_is_an_owner_issue(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    task = plan.tasks[0]
    issues = _rejected(
        plan, _with(plan, {task.id: TaskEdit(task.start, task.end, "无名氏")}), programme, calendar
    )
    assert [(i.kind, i.task_id, i.field) for i in issues] == [("owner", task.id, "owner")]
    assert "无名氏" in issues[0].message
    # it offers the people who may own tasks
    assert all(name in issues[0].message for name in programme.people)


def test_three_overlapping_tasks_of_one_person_overallocate_them(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    person, department = programme.people["周杰"]
    assert person.capacity == 1.0
    ids = ("capacity/hiring", "remove-handoffs/trial", "skills-training/curriculum")
    tasks = [plan.task(i) for i in ids]
    assert all(t.load == 0.5 for t in tasks)
    # the department owning them must be R or A on every task, so only capacity is at stake
    for t in tasks:
        letters = {e.letter for e in plan.raci if e.task_id == t.id and e.department == "cs"}
        assert letters & {"R", "A"} and department.key == "cs"
    first, last = max(t.start for t in tasks), min(t.end for t in tasks)
    assert first <= last
    edits = _with(plan, {t.id: TaskEdit(t.start, t.end, person.name) for t in tasks})
    issues = _rejected(plan, edits, programme, calendar)
    assert {i.kind for i in issues} == {"overallocation"}
    over = next(i for i in issues if all(t in i.message for t in ids))
    # located at the edited task that starts last (hiring was 周杰's already)
    edited = [t for t in tasks if t.owner != person.name]
    assert over.field == "owner" and over.task_id == max(edited, key=lambda t: t.start).id
    assert "周杰" in over.message
    assert f"from {first} to {last}" in over.message
    assert "150%" in over.message and "capacity 100%" in over.message
    assert len(issues) == 1
    assert (first, last) == (date(2026, 1, 19), date(2026, 1, 21))


def test_a_valid_edit_is_the_next_plan_version(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    # a non-critical task nothing waits for, moved later within its slack
    moved = next(t for t in plan.tasks if not t.critical and not _successors(plan, t))
    shift = max(1, moved.slack_days // 2)
    assert shift < moved.slack_days
    start = calendar.add_working_days(moved.start, shift)
    end = calendar.add_working_days(moved.end, shift)
    # another member filling the same role in the same department takes a task over
    handed, new_owner = next(
        (t, p.name)
        for t in plan.tasks
        if t.id != moved.id
        for p in programme.people[t.owner][1].members
        if p.name != t.owner and t.role in p.roles
    )
    edits = _with(
        plan,
        {
            moved.id: TaskEdit(start, end, moved.owner),
            handed.id: TaskEdit(handed.start, handed.end, new_owner),
        },
    )
    revised = revise_plan(plan, edits, version=3, programme=programme, calendar=calendar)
    assert revised is not plan
    assert revised.revised_from == 3
    expected = {
        PlanChange(task_id=moved.id, field="start", before=str(moved.start), after=str(start)),
        PlanChange(task_id=moved.id, field="end", before=str(moved.end), after=str(end)),
        PlanChange(task_id=handed.id, field="owner", before=handed.owner, after=new_owner),
    }
    assert set(revised.changes) == expected and len(revised.changes) == len(expected)
    assert revised.task(handed.id).department == handed.department
    assert revised.task(handed.id).owner == new_owner
    # the float is recomputed: the moved task used `shift` of its slack; nothing else moved
    after = revised.task(moved.id)
    assert (after.start, after.end, after.working_days) == (start, end, moved.working_days)
    assert after.slack_days == moved.slack_days - shift and not after.critical
    for t in plan.tasks:
        if t.id != moved.id:
            now = revised.task(t.id)
            assert (now.slack_days, now.critical) == (t.slack_days, t.critical), t.id
    timing = analyse(
        [Activity(t.id, t.working_days, t.depends_on, t.lag_days) for t in revised.tasks],
        {t.id: (t.start, t.end) for t in revised.tasks},
        calendar=calendar,
    )
    assert {t.id: t.slack_days for t in revised.tasks} == {k: s.slack for k, s in timing.items()}
    assert (revised.start, revised.end) == (plan.start, plan.end)
    assert revised.raci == plan.raci
    assert check_plan(revised.tasks, revised.raci, programme=programme, calendar=calendar) == []


def test_dates_outside_the_cycle_are_refused(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    plan = chain.plan
    first, last = plan.tasks[0], max(plan.tasks, key=lambda t: t.end)
    moved = TaskEdit(date(2025, 12, 1), first.end, first.owner)
    early = _rejected(plan, _with(plan, {first.id: moved}), programme, calendar)
    assert [(i.kind, i.task_id, i.field) for i in early] == [("dates", first.id, "start")]
    assert "before the plan may start (2026-01-05)" in early[0].message
    moved = TaskEdit(last.start, date(2026, 7, 14), last.owner)
    late = _rejected(plan, _with(plan, {last.id: moved}), programme, calendar)
    assert [(i.kind, i.field) for i in late] == [("dates", "end")]
    assert "after the cycle's deadline 2026-06-30" in late[0].message


def test_one_task_beyond_its_owners_capacity_is_over_allocation() -> None:
    from improve.stages.schedule import Booking, overallocations

    [over] = overallocations(
        [Booking("a/x", "p", date(2026, 3, 2), date(2026, 3, 6), 0.8)],
        {"p": 0.5},
        calendar=WorkCalendar(),
    )
    assert (over.task_ids, over.start, over.end, over.booked) == (
        ("a/x",), date(2026, 3, 2), date(2026, 3, 6), 0.8,
    )  # fmt: skip


def test_an_over_allocation_in_the_design_does_not_block_unrelated_edits(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    """The design reports an over-allocation it could not avoid; stakeholders may still edit
    other tasks, and an edit that touches it is refused at the edited task."""
    from improve.stages.plan_check import plan_overallocations

    cs = next(d for d in programme.departments if d.key == "cs")
    members = tuple(
        m.model_copy(update={"capacity": 0.4}) if m.name == "孙丽" else m for m in cs.members
    )
    squeezed = programme.model_copy(
        update={
            "departments": tuple(
                d.model_copy(update={"members": members}) if d.key == "cs" else d
                for d in programme.departments
            )
        }
    )
    plan = chain.plan.model_copy(
        update={
            "overallocations": plan_overallocations(
                chain.plan.tasks, programme=squeezed, calendar=calendar
            )
        }
    )
    assert {o.owner for o in plan.overallocations} == {"孙丽"}
    hiring = next(t for t in plan.tasks if t.id == "capacity/rota")
    moved = _with(plan, {hiring.id: TaskEdit(date(2026, 1, 21), date(2026, 1, 27), hiring.owner)})
    revised = revise_plan(plan, moved, version=1, programme=squeezed, calendar=calendar)
    assert revised.revised_from == 1 and revised.overallocations == plan.overallocations
    trainer_task = next(t for t in plan.tasks if t.owner == "孙丽")
    later = calendar.add_working_days(trainer_task.end, 1) if not _successors(
        plan, trainer_task) else trainer_task.end  # fmt: skip
    touched = _with(plan, {trainer_task.id: TaskEdit(trainer_task.start, later, "孙丽")})
    issues = _rejected(plan, touched, squeezed, calendar)
    assert [(i.kind, i.task_id) for i in issues] == [("overallocation", trainer_task.id)]
