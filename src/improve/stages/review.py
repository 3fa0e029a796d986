"""The weekly review (周例会): the plan in force, the owners' reports and the week's KPIs ->
WeeklyReview. Pure: the store and the data are read by the caller."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from improve.domain.artifacts import ImplementationPlan, TargetList
from improve.domain.base import ArtifactRef
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import ProgressReport, WeeklyFacts
from improve.domain.meetings import DepartmentBlockers, ReviewTask, WeeklyKpi, WeeklyReview
from improve.stages.execute import on_path, path_value, schedule_performance, task_progress

LOOK_AHEAD = 5  # working days the due-soon list looks ahead of the week's end


def review_tasks(
    plan: ImplementationPlan,
    progress: Sequence[ProgressReport],
    as_of: date,
    calendar: WorkCalendar,
) -> list[ReviewTask]:
    """Every task of the plan as of `as_of`: its latest report against plan, working days
    behind (negative: ahead), overdue, and left when it ends within LOOK_AHEAD."""
    reports: dict[str, list[ProgressReport]] = {}
    for report in progress:
        reports.setdefault(report.task_id, []).append(report)
    rows = []
    for t in plan.tasks:
        done_by = task_progress(t, reports.get(t.id, []), as_of, calendar)
        done = done_by.status == "done"
        actual = done_by.actual_pct or 0.0
        overdue = 0
        if t.end < as_of and not done:
            overdue = calendar.working_days_between(t.end + timedelta(days=1), as_of)
        left = calendar.working_days_between(as_of + timedelta(days=1), t.end)
        rows.append(
            ReviewTask(
                task_id=t.id,
                owner=t.owner,
                department=t.department,
                start=t.start,
                end=t.end,
                critical=t.critical,
                progress=done_by,
                behind_days=round((done_by.planned_pct - actual) / 100 * t.working_days),
                overdue_days=overdue,
                due_in_days=left if not done and as_of < t.end and left <= LOOK_AHEAD else None,
            )
        )
    return rows


def weekly_review(
    plan: ImplementationPlan,
    targets: TargetList,
    facts: WeeklyFacts,
    *,
    period: str,
    plan_ref: ArtifactRef,
    targets_ref: ArtifactRef,
    plan_start: date,
    calendar: WorkCalendar,
) -> WeeklyReview:
    """The week ending `facts.end`: each task's progress against plan as of that Sunday (SPI,
    schedule variance, working days behind), the tasks overdue and due within LOOK_AHEAD
    working days, what blocks each department, and each target's KPI this week against its
    straight path from baseline to target."""
    as_of = facts.end
    rows = review_tasks(plan, facts.progress, as_of, calendar)
    spi, sv = schedule_performance(plan, [r.progress for r in rows])
    blocked: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        if r.progress.status == "blocked":
            blocked.setdefault(r.department, []).append((r.task_id, r.progress.blocker or ""))
    kpis = []
    for target in targets.targets:
        actual_kpi = facts.kpis.get(target.kpi)
        planned = path_value(target, as_of, plan_start)
        kpis.append(
            WeeklyKpi(
                target_id=target.id,
                kpi=target.kpi,
                actual=actual_kpi,
                planned=planned,
                target=target.target,
                on_track=on_path(target, actual_kpi, planned),
            )
        )
    return WeeklyReview(
        programme=plan.programme,
        cycle=plan.cycle,
        period=period,
        start=facts.start,
        end=facts.end,
        plan=plan_ref,
        targets=targets_ref,
        spi=spi,
        sv_points=sv,
        tasks=tuple(rows),
        overdue=tuple(r.task_id for r in rows if r.overdue_days),
        due_soon=tuple(r.task_id for r in rows if r.due_in_days is not None),
        look_ahead_days=LOOK_AHEAD,
        blockers=tuple(
            DepartmentBlockers(department=d, blockers=tuple(b)) for d, b in sorted(blocked.items())
        ),
        kpis=tuple(kpis),
    )
