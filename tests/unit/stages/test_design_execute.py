"""The plan (schedule, RACI) and its execution (progress, trajectory, pilot)."""

from __future__ import annotations

from datetime import date

from tests.chain import Chain

from improve.domain.artifacts import PlanTask
from improve.domain.base import Text
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import ProgressReport
from improve.stages.execute import task_progress


def test_plan_has_a_strategy_per_root_cause_found(chain: Chain) -> None:
    plan = chain.plan
    categories = {s.category for s in plan.strategies}
    targeted = {
        p.category
        for p in chain.diagnosis.problems
        if any(p.id in t.problem_ids for t in chain.targets.targets)
    }
    assert categories == targeted
    assert plan.end <= date(2026, 6, 30)


def test_tasks_fall_on_working_days_and_follow_dependencies(
    chain: Chain, calendar: WorkCalendar
) -> None:
    tasks = {t.id: t for t in chain.plan.tasks}
    for t in tasks.values():
        assert calendar.is_working_day(t.start) and calendar.is_working_day(t.end)
        assert calendar.working_days_between(t.start, t.end) == t.working_days
        for d in t.depends_on:
            assert tasks[d].end < t.start
    assert any(t.critical for t in tasks.values())


def test_raci_has_one_accountable_and_a_responsible_per_task(chain: Chain) -> None:
    for task in chain.plan.tasks:
        letters = [e.letter for e in chain.plan.raci if e.task_id == task.id]
        assert letters.count("A") == 1 and "R" in letters


def test_progress_statuses(calendar: WorkCalendar) -> None:
    task = PlanTask(
        id="s/t",
        strategy="s",
        name=Text(zh="任务", en="task"),
        role="r",
        department="cs",
        start=date(2026, 3, 2),
        end=date(2026, 3, 13),
        working_days=10,
        resources=Text(zh="-", en="-"),
        acceptance=Text(zh="-", en="-"),
        owner="李娜",
        critical=True,
        slack_days=0,
    )

    def report(pct: float, status: str | None = None, note: str | None = None) -> ProgressReport:
        return ProgressReport(
            task_id="s/t", as_of=date(2026, 3, 9), percent_complete=pct, status=status, note=note
        )

    as_of = date(2026, 3, 10)  # 7 of 10 working days gone: 70% planned
    assert task_progress(task, [], as_of, calendar).status == "no_report"
    assert task_progress(task, [], date(2026, 2, 1), calendar).status == "not_started"
    assert task_progress(task, [report(65)], as_of, calendar).status == "on_track"
    late = task_progress(task, [report(40, note="供应商延期")], as_of, calendar)
    assert (late.status, late.planned_pct, late.note) == ("late", 70.0, "供应商延期")
    assert task_progress(task, [report(40, "blocked")], as_of, calendar).status == "blocked"
    assert task_progress(task, [report(100)], as_of, calendar).status == "done"


def test_execution_on_the_sample(chain: Chain) -> None:
    ex = chain.execution
    assert {p.task_id for p in ex.progress} == {t.id for t in chain.plan.tasks}
    stalled = next(p for p in ex.progress if p.task_id == "skills-training/criteria")
    assert stalled.status == "blocked" and stalled.actual_pct == 60
    assert ex.spi is not None and 0.9 < ex.spi < 1.0
    assert {t.target_id for t in ex.trajectories} == {t.id for t in chain.targets.targets}
    assert all(len(t.points) == 6 for t in ex.trajectories)
