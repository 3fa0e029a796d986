"""Execute (执行落地): plan + targets + facts -> ExecutionReport (执行进度跟踪表,
试点效果评估报告)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from improve.domain.artifacts import (
    ExecutionReport,
    ImplementationPlan,
    KpiTrajectory,
    PilotResult,
    PlanTask,
    TargetList,
    TaskProgress,
    TrajectoryPoint,
)
from improve.domain.base import ArtifactRef, Direction
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import ExecutionFacts, MeasureStat, PilotFacts, ProgressReport
from improve.domain.kpi import KPIS
from improve.domain.programme import Pilot, Programme

LATE_MARGIN = 10.0  # percentage points behind plan before a task counts as late
Z_95 = 1.959963984540054


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
        reported_on=latest.as_of,
    )


def _month_end_fraction(period: date, start: date, deadline: date) -> float:
    month_end = (period.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    span = (deadline - start).days or 1
    return min(1.0, max(0.0, (month_end - start).days / span))


def _effect(facts: PilotFacts) -> tuple[float, float, float] | None:
    """Difference in differences of the means, its standard error and two-sided p-value."""
    groups: list[MeasureStat] = [
        facts.pilot_before,
        facts.pilot_after,
        facts.control_before,
        facts.control_after,
    ]
    if any(g.n < 30 or g.mean is None or g.var is None for g in groups):
        return None
    pb, pa, cb, ca = (g.mean for g in groups)
    assert pb is not None and pa is not None and cb is not None and ca is not None
    effect = (pa - pb) - (ca - cb)
    se = math.sqrt(sum((g.var or 0.0) / g.n for g in groups))
    if se == 0:
        return effect, 0.0, 0.0 if effect else 1.0
    p_value = math.erfc(abs(effect / se) / math.sqrt(2))
    return effect, se, p_value


def pilot_result(pilot: Pilot, facts: PilotFacts) -> PilotResult:
    """试点效果评估: difference in differences with a 95% interval and a verdict."""
    computed = _effect(facts)
    lower_better = KPIS[pilot.kpi].direction == Direction.LOWER
    if computed is None:
        effect = low = high = p_value = None
        verdict = "insufficient_data"
    else:
        effect, se, p_value = computed
        low, high = effect - Z_95 * se, effect + Z_95 * se
        improving = high < 0 if lower_better else low > 0
        worsening = low > 0 if lower_better else high < 0
        verdict = "effective" if improving else "worse" if worsening else "no_effect"
    return PilotResult(
        name=pilot.name,
        strategy=pilot.strategy,
        kpi=pilot.kpi,
        scope=pilot.scope,
        start=pilot.start,
        end=pilot.end,
        pilot_before=facts.pilot_before.mean,
        pilot_after=facts.pilot_after.mean,
        control_before=facts.control_before.mean,
        control_after=facts.control_after.mean,
        effect=effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        tickets_pilot=facts.pilot_before.n + facts.pilot_after.n,
        tickets_control=facts.control_before.n + facts.control_after.n,
        verdict=verdict,
    )


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
    target's KPI month by month against its straight path, and the pilot's verdict."""
    by_task: dict[str, list[ProgressReport]] = {}
    for report in facts.progress:
        by_task.setdefault(report.task_id, []).append(report)
    progress = tuple(
        task_progress(t, by_task.get(t.id, []), facts.as_of, calendar) for t in plan.tasks
    )
    weights = {t.id: t.working_days for t in plan.tasks}
    planned = sum(p.planned_pct * weights[p.task_id] for p in progress)
    earned = sum((p.actual_pct or 0.0) * weights[p.task_id] for p in progress)
    spi = round(earned / planned, 3) if planned else None

    trajectories = []
    for target in targets.targets:
        points = []
        for month in facts.monthly:
            fraction = _month_end_fraction(
                month.period, programme.cycle.plan_start, target.deadline
            )
            path = target.baseline + (target.target - target.baseline) * fraction
            points.append(
                TrajectoryPoint(
                    period=month.period, actual=month.values.get(target.kpi), planned=round(path, 4)
                )
            )
        last = next((p for p in reversed(points) if p.actual is not None), None)
        on_track = None
        if last is not None and last.actual is not None:
            on_track = (
                last.actual <= last.planned
                if target.direction == Direction.LOWER
                else last.actual >= last.planned
            )
        trajectories.append(
            KpiTrajectory(
                target_id=target.id, kpi=target.kpi, points=tuple(points), on_track=on_track
            )
        )
    pilot = pilot_result(programme.pilot, facts.pilot) if programme.pilot and facts.pilot else None
    return ExecutionReport(
        programme=programme.key,
        cycle=programme.cycle.key,
        derived_from=sources,
        as_of=facts.as_of,
        progress=progress,
        spi=spi,
        trajectories=tuple(trajectories),
        pilot=pilot,
    )
