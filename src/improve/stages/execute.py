"""Execute (执行落地): plan + targets + facts -> ExecutionReport (执行进度跟踪表,
试点效果评估报告)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from improve.domain.artifacts import (
    ExecutionReport,
    ImplementationPlan,
    KpiTrajectory,
    PlanTask,
    Target,
    TargetList,
    TaskProgress,
    TrajectoryPoint,
)
from improve.domain.base import ArtifactRef, Direction
from improve.domain.calendar import WorkCalendar, month_end
from improve.domain.facts import ExecutionFacts, ProgressReport
from improve.domain.programme import Programme
from improve.stages.pilot import evaluate_pilot

LATE_MARGIN = 10.0  # percentage points behind plan before a task counts as late


def planned_percent(task: PlanTask, as_of: date, calendar: WorkCalendar) -> float:
    """Share of the task's working days elapsed by the end of `as_of`."""
    if as_of < task.start:
        return 0.0
    if as_of >= task.end:
        return 100.0
    done = calendar.working_days_between(task.start, as_of)
    return round(100.0 * done / task.working_days, 1)


def task_progress(
    task: PlanTask, reports: list[ProgressReport], as_of: date, calendar: WorkCalendar
) -> TaskProgress:
    """The task's latest report on or before `as_of`, against its plan."""
    planned = planned_percent(task, as_of, calendar)
    latest = max((r for r in reports if r.as_of <= as_of), key=lambda r: r.as_of, default=None)
    if latest is None:
        status = "not_started" if planned == 0 else "no_report"
        return TaskProgress(task_id=task.id, planned_pct=planned, status=status)
    actual = latest.percent_complete
    if actual >= 100:
        status = "done"
    elif (latest.status or "").lower() == "blocked":
        status = "blocked"
    elif actual < planned - LATE_MARGIN:
        status = "late"
    else:
        status = "on_track" if actual > 0 or planned > 0 else "not_started"
    # The latest note explains the latest deviation, even when the row after it has none.
    noted = [r for r in reports if r.as_of <= as_of and r.note]
    note = max(noted, key=lambda r: r.as_of).note if noted else None
    return TaskProgress(
        task_id=task.id,
        planned_pct=planned,
        actual_pct=actual,
        status=status,
        note=note,
        blocker=latest.blocker if status == "blocked" else None,
        reported_on=latest.as_of,
    )


def path_value(target: Target, day: date, start: date) -> float:
    """Where the target's KPI should be on `day` on the straight path from its baseline at
    the plan's `start` to its value at the deadline."""
    span = (target.deadline - start).days or 1
    fraction = min(1.0, max(0.0, (day - start).days / span))
    return round(target.baseline + (target.target - target.baseline) * fraction, 4)


def on_path(target: Target, actual: float | None, planned: float) -> bool | None:
    """Whether `actual` is at or better than the path (None without a value)."""
    if actual is None:
        return None
    return actual <= planned if target.direction == Direction.LOWER else actual >= planned


def schedule_performance(
    plan: ImplementationPlan, progress: Sequence[TaskProgress]
) -> tuple[float | None, float | None]:
    """SPI (earned / planned percent complete) and schedule variance (earned minus planned,
    in points), each task weighted by its working days; None before anything was planned."""
    weights = {t.id: t.working_days for t in plan.tasks}
    total = sum(weights.values()) or 1
    planned = sum(p.planned_pct * weights[p.task_id] for p in progress)
    earned = sum((p.actual_pct or 0.0) * weights[p.task_id] for p in progress)
    if not planned:
        return None, None
    return round(earned / planned, 3), round((earned - planned) / total, 1)


def track_execution(
    plan: ImplementationPlan,
    targets: TargetList,
    facts: ExecutionFacts,
    *,
    sources: tuple[ArtifactRef, ...],
    programme: Programme,
    calendar: WorkCalendar,
) -> ExecutionReport:
    """Build the 执行进度跟踪表 and 试点效果评估报告: progress against plan with SPI, each
    target's KPI month by month against its straight path, and each pilot's verdict."""
    by_task: dict[str, list[ProgressReport]] = {}
    for report in facts.progress:
        by_task.setdefault(report.task_id, []).append(report)
    progress = tuple(
        task_progress(t, by_task.get(t.id, []), facts.as_of, calendar) for t in plan.tasks
    )
    spi, _ = schedule_performance(plan, progress)

    trajectories = []
    for target in targets.targets:
        points = [
            TrajectoryPoint(
                period=month.period,
                actual=month.values.get(target.kpi),
                planned=path_value(target, month_end(month.period), programme.cycle.plan_start),
            )
            for month in facts.monthly
        ]
        last = next((p for p in reversed(points) if p.actual is not None), None)
        on_track = on_path(target, last.actual, last.planned) if last else None
        trajectories.append(
            KpiTrajectory(
                target_id=target.id, kpi=target.kpi, points=tuple(points), on_track=on_track
            )
        )
    pilots = tuple(evaluate_pilot(p, facts.pilots, targets=targets) for p in programme.pilots)
    return ExecutionReport(
        programme=programme.key,
        cycle=programme.cycle.key,
        derived_from=sources,
        as_of=facts.as_of,
        progress=progress,
        spi=spi,
        trajectories=tuple(trajectories),
        pilots=pilots,
    )
