"""A programme's summary for the portal and its weekly digest, from what the store holds
(cycles and versions, the plan in force and its progress, the targets, monthly KPIs and the
latest cadence reviews). Pure: the caller reads the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from improve.domain.artifacts import EvaluationReport, ImplementationPlan, TargetList
from improve.domain.calendar import WorkCalendar, month_end
from improve.domain.facts import ProgressReport
from improve.domain.gate import awaited
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview, parse_week
from improve.domain.portfolio import (
    CycleEntry,
    Digest,
    KpiAlert,
    KpiLine,
    KpiStatus,
    PendingApproval,
    ProgrammeSummary,
    TaskFlag,
)
from improve.domain.programme import Programme
from improve.stages.execute import on_path, path_value
from improve.stages.review import review_tasks

SPARKLINE_MONTHS = 18  # months of history a sparkline shows


def pending_approvals(cycles: Sequence[CycleEntry], programme: Programme) -> list[PendingApproval]:
    """Each artifact whose latest version waits for a review level, with who may decide."""
    out = []
    for cycle in cycles:
        for artifact in cycle.artifacts:
            latest = artifact.latest
            if latest.status != "pending":
                continue
            step = awaited(
                [(d.level, d.approver) for d in latest.decisions if d.decision == "approved"],
                programme.approvers,
            )
            if step is None:
                continue
            out.append(
                PendingApproval(
                    artifact_id=artifact.artifact_id,
                    stage=artifact.stage,
                    version=latest.version,
                    level=step[0],
                    awaiting=step[1],
                    since=latest.created_at,
                )
            )
    return out


def task_flags(
    plan: ImplementationPlan | None,
    progress: Sequence[ProgressReport],
    as_of: date,
    calendar: WorkCalendar,
) -> tuple[list[TaskFlag], list[TaskFlag]]:
    """The plan's tasks overdue (most days first) and due within the weekly review's
    look-ahead (soonest first), as of `as_of`."""
    if plan is None:
        return [], []
    tasks = {t.id: t for t in plan.tasks}
    flags = []
    for row in review_tasks(plan, progress, as_of, calendar):
        if not row.overdue_days and row.due_in_days is None:
            continue
        flags.append(
            TaskFlag(
                task_id=row.task_id,
                name=tasks[row.task_id].name,
                owner=row.owner,
                department=row.department,
                end=row.end,
                percent_complete=row.progress.actual_pct,
                overdue_days=row.overdue_days,
                due_in_days=row.due_in_days,
                critical=row.critical,
            )
        )
    overdue = sorted((f for f in flags if f.overdue_days), key=lambda f: (-f.overdue_days, f.end))
    due = sorted((f for f in flags if not f.overdue_days), key=lambda f: (f.end, f.task_id))
    return overdue, due


def kpi_lines(
    targets: TargetList | None,
    evaluation: EvaluationReport | None,
    monthly: Mapping[str, Sequence[tuple[date, float | None]]],
    *,
    plan_start: date,
    as_of: date,
) -> list[KpiLine]:
    """Each target's KPI over its last SPARKLINE_MONTHS months up to `as_of`, and its status:
    met / not met when the cycle is evaluated, else the latest month against the path."""
    if targets is None:
        return []
    results = {r.target_id: r for r in evaluation.results} if evaluation else {}
    lines = []
    for t in targets.targets:
        series = [(m, v) for m, v in sorted(monthly.get(t.kpi, ())) if m <= as_of]
        series = series[-SPARKLINE_MONTHS:]
        known = [(m, v) for m, v in series if v is not None]
        latest_period, latest = known[-1] if known else (None, None)
        expected = (
            path_value(t, month_end(latest_period), plan_start)
            if latest_period is not None and latest_period >= plan_start.replace(day=1)
            else None
        )
        status: KpiStatus
        if t.id in results:
            status = "met" if results[t.id].met else "not_met"
        elif expected is None:
            status = "unknown"
        else:
            status = "on_track" if on_path(t, latest, expected) else "off_track"
        lines.append(
            KpiLine(
                target_id=t.id,
                kpi=t.kpi,
                direction=t.direction.value,
                baseline=t.baseline,
                target=t.target,
                deadline=t.deadline,
                series=tuple(series),
                latest=latest,
                latest_period=latest_period,
                expected=expected,
                status=status,
            )
        )
    return lines


def summarise(
    programme: Programme,
    cycles: Sequence[CycleEntry],
    *,
    plan: ImplementationPlan | None,
    progress: Sequence[ProgressReport],
    targets: TargetList | None,
    evaluation: EvaluationReport | None,
    monthly: Mapping[str, Sequence[tuple[date, float | None]]],
    as_of: date,
    calendar: WorkCalendar,
) -> ProgrammeSummary:
    """The programme as of `as_of`: its current cycle's furthest stage and status, that
    cycle's tasks overdue and due soon, every version awaiting review, and its KPIs."""
    current = next((c for c in cycles if c.key == programme.cycle.key), None)
    overdue, due_soon = task_flags(plan, progress, as_of, calendar)
    return ProgrammeSummary(
        key=programme.key,
        name=programme.name,
        owner=programme.owner,
        locale=programme.locale,
        cycle=programme.cycle.key,
        stage=current.stage if current else None,
        status=current.status if current else None,
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        pending=tuple(pending_approvals(cycles, programme)),
        kpis=tuple(
            kpi_lines(
                targets,
                evaluation,
                monthly,
                plan_start=programme.cycle.plan_start,
                as_of=as_of,
            )
        ),
        cycles=tuple(cycles),
    )


def kpi_alerts(weekly: WeeklyReview | None, monthly: MonthlyRetrospective | None) -> list[KpiAlert]:
    """The week's KPIs off their path, then the month's forecasts that miss (unlikely) or
    may miss (at risk) their target at the deadline."""
    alerts = []
    if weekly is not None:
        for k in weekly.kpis:
            if k.on_track is False:
                alerts.append(
                    KpiAlert(
                        target_id=k.target_id,
                        kpi=k.kpi,
                        kind="off_path",
                        period=weekly.period,
                        actual=k.actual,
                        expected=k.planned,
                        target=k.target,
                    )
                )
    if monthly is not None:
        for f in monthly.forecasts:
            if f.outlook in ("unlikely", "at_risk"):
                alerts.append(
                    KpiAlert(
                        target_id=f.target_id,
                        kpi=f.kpi,
                        kind="forecast_unlikely" if f.outlook == "unlikely" else "forecast_at_risk",
                        period=monthly.period,
                        actual=f.actual,
                        expected=f.forecast,
                        target=f.target,
                    )
                )
    return alerts


def weekly_digest(
    programme: Programme,
    cycles: Sequence[CycleEntry],
    *,
    period: str,
    plan: ImplementationPlan | None,
    progress: Sequence[ProgressReport],
    weekly: WeeklyReview | None,
    monthly: MonthlyRetrospective | None,
    sources: Sequence[str],
    calendar: WorkCalendar,
) -> Digest:
    """The digest of ISO week `period`: tasks as of its Sunday, every version awaiting
    review, and the alerts of the given weekly review and monthly retrospective (the latest
    stored up to that week; `sources` names them)."""
    _, sunday = parse_week(period)
    overdue, due_soon = task_flags(plan, progress, sunday, calendar)
    return Digest(
        programme=programme.key,
        name=programme.name,
        cycle=programme.cycle.key,
        period=period,
        as_of=sunday,
        pending=tuple(pending_approvals(cycles, programme)),
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        alerts=tuple(kpi_alerts(weekly, monthly)),
        sources=tuple(sources),
    )
