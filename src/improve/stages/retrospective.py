"""The monthly retrospective (月度复盘): the plan in force, the owners' reports and the
month's KPIs -> MonthlyRetrospective. Pure: the store and the data are read by the caller."""

from __future__ import annotations

import math
from datetime import date, timedelta

from scipy import stats

from improve.domain.artifacts import ImplementationPlan, Target, TargetList
from improve.domain.base import ArtifactRef, Direction, Text
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import GroupKpis, MonthlyFacts, PeriodKpis
from improve.domain.kpi import KPIS
from improve.domain.meetings import (
    Deviation,
    KpiForecast,
    MonthlyRetrospective,
    ReviewTask,
    RiskEntry,
    Scorecard,
    TaskShift,
)
from improve.domain.programme import Programme
from improve.stages.execute import path_value, schedule_performance
from improve.stages.review import review_tasks
from improve.stages.schedule import earliest_start

INTERVAL = 0.90  # prediction interval of the forecast at the deadline
MIN_MONTHS = 3  # months of values before a line is fitted
MIN_AGENT_TICKETS = 20  # an agent with fewer tickets in the month gets no total


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def forecast(
    target: Target, monthly: tuple[PeriodKpis, ...], *, plan_start: date, month_end: date
) -> KpiForecast:
    """The target's KPI projected to its deadline month along the least-squares line through
    its monthly values since the plan started, with a 90% prediction interval."""
    start = plan_start.replace(day=1)
    points = [
        (_months_between(start, m.period), float(v))
        for m in monthly
        if start <= m.period <= month_end and (v := m.values.get(target.kpi)) is not None
    ]
    actual = next(
        (
            v
            for m in monthly
            if m.period == month_end.replace(day=1)
            for v in [m.values.get(target.kpi)]
        ),
        None,
    )
    planned = path_value(target, month_end, plan_start)
    common = {
        "target_id": target.id,
        "kpi": target.kpi,
        "months": len(points),
        "actual": actual,
        "planned": planned,
        "target": target.target,
    }
    if len(points) < MIN_MONTHS:
        return KpiForecast(**common, forecast=None, low=None, high=None, outlook="unknown")
    n = len(points)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    fit = stats.linregress(xs, ys)
    x0 = _months_between(start, target.deadline)
    predicted = fit.intercept + fit.slope * x0
    residual = sum((y - (fit.intercept + fit.slope * x)) ** 2 for x, y in points)
    s = math.sqrt(residual / (n - 2)) if n > 2 else 0.0
    mean_x = sum(xs) / n
    sxx = sum((x - mean_x) ** 2 for x in xs) or 1.0
    half = (
        float(stats.t.ppf(0.5 + INTERVAL / 2, n - 2))
        * s
        * math.sqrt(1 + 1 / n + (x0 - mean_x) ** 2 / sxx)
    )
    low, high = predicted - half, predicted + half
    if KPIS[target.kpi].is_rate:
        low, high, predicted = max(0.0, low), min(1.0, high), min(1.0, max(0.0, predicted))
    lower = target.direction == Direction.LOWER
    best, worst = (low, high) if lower else (high, low)

    def meets(value: float) -> bool:
        return value <= target.target if lower else value >= target.target

    outlook = "likely" if meets(worst) else "unlikely" if not meets(best) else "at_risk"
    return KpiForecast(
        **common,
        forecast=round(predicted, 4),
        low=round(low, 4),
        high=round(high, 4),
        outlook=outlook,
    )


def replan(
    plan: ImplementationPlan, rows: list[ReviewTask], as_of: date, calendar: WorkCalendar
) -> list[TaskShift]:
    """Each late task's remaining work from the month's end, and its dependants moved to
    start after it (with their lags), keeping their working days."""
    dates = {t.id: (t.start, t.end) for t in plan.tasks}
    cause: dict[str, str] = {}
    first_free = calendar.next_working_day(as_of + timedelta(days=1))
    for r in rows:
        task = plan.task(r.task_id)
        if r.progress.status == "done" or r.behind_days <= 0:
            continue
        remaining = math.ceil((100 - (r.progress.actual_pct or 0.0)) / 100 * task.working_days)
        if remaining <= 0:
            continue
        start = task.start if (r.progress.actual_pct or 0) > 0 else max(task.start, first_free)
        end = calendar.add_working_days(max(first_free, start), remaining - 1)
        if end > task.end:
            dates[task.id] = (start, end)
            cause[task.id] = task.id
    changed = True
    while changed:  # push dependants until nothing moves (plans are small)
        changed = False
        for t in plan.tasks:
            for pid in t.depends_on:
                if pid not in cause:
                    continue
                start = earliest_start(dates[pid][1], t.lag_days, calendar)
                if start > dates[t.id][0]:
                    dates[t.id] = (start, calendar.add_working_days(start, t.working_days - 1))
                    cause[t.id] = cause[pid]
                    changed = True
    return [
        TaskShift(
            task_id=t.id,
            start=t.start,
            end=t.end,
            new_start=dates[t.id][0],
            new_end=dates[t.id][1],
            because_of=cause[t.id],
        )
        for t in plan.tasks
        if t.id in cause
    ]


def risk_register(programme: Programme, rows: list[ReviewTask]) -> list[RiskEntry]:
    """The configured risks, plus one per late critical task; highest score first."""
    out = [
        RiskEntry(
            key=r.key,
            title=r.title,
            probability=r.probability,
            impact=r.impact,
            score=r.probability * r.impact,
            owner=r.owner,
            response=r.response,
            status=r.status,
            raised="register",
        )
        for r in programme.risks
    ]
    for r in rows:
        late = max(r.behind_days, r.overdue_days)
        if not r.critical or r.progress.status == "done" or late <= 0:
            continue
        probability = 4 if late >= 5 else 3
        out.append(
            RiskEntry(
                key=f"late-{r.task_id}",
                title=Text(
                    zh=f"关键任务 {r.task_id} 落后 {late} 个工作日，计划完成可能推迟",
                    en=f"critical task {r.task_id} is {late} working day(s) late; the plan's "
                    "end may slip",
                ),
                probability=probability,
                impact=4,
                score=probability * 4,
                owner=r.owner,
                response=Text(
                    zh="顺延依赖任务，增加资源或调整范围",
                    en="shift its dependants, add resources or cut scope",
                ),
                status="open",
                raised="late_critical_task",
            )
        )
    return sorted(out, key=lambda r: (-r.score, r.key))


def _reference(
    kpi_name: str, targets: TargetList, programme: Programme, overall: dict[str, float | None]
) -> float | None:
    target = next((t for t in targets.targets if t.kpi == kpi_name), None)
    if target is not None:
        return target.target
    benchmark = programme.benchmark(kpi_name)
    return benchmark.value if benchmark else overall.get(kpi_name)


def scorecard(
    group: GroupKpis, kind: str, weights: dict[str, float], references: dict[str, float | None]
) -> Scorecard:
    """Each weighted KPI scored 0..100 against its reference (the target's value, else the
    benchmark, else the month's overall value), capped at 100; the weighted total over the
    KPIs the group has values for."""
    scores: dict[str, float | None] = {}
    for kpi_name in weights:
        value, ref = group.kpis.get(kpi_name), references.get(kpi_name)
        if value is None or ref is None or ref <= 0 or value < 0:
            scores[kpi_name] = None
            continue
        lower = KPIS[kpi_name].direction == Direction.LOWER
        ratio = (ref / value if value else 1.0) if lower else value / ref
        scores[kpi_name] = round(100 * min(1.0, ratio), 1)
    counted = {k: w for k, w in weights.items() if scores[k] is not None}
    enough = kind == "team" or group.tickets >= MIN_AGENT_TICKETS
    total = None
    if counted and enough:
        total = round(
            sum(w * (scores[k] or 0.0) for k, w in counted.items()) / sum(counted.values()), 1
        )
    return Scorecard(
        kind="team" if kind == "team" else "agent",
        name=group.name,
        team=group.team,
        tickets=group.tickets,
        scores=scores,
        weights=weights,
        total=total,
    )


def monthly_retrospective(
    plan: ImplementationPlan,
    targets: TargetList,
    facts: MonthlyFacts,
    *,
    period: str,
    plan_ref: ArtifactRef,
    targets_ref: ArtifactRef,
    programme: Programme,
    calendar: WorkCalendar,
) -> MonthlyRetrospective:
    """The month ending `facts.end` against plan: deviations and their causes, each target's
    outlook at its deadline, the re-planning late tasks call for, the risk register (with a
    risk raised per late critical task) and the team and agent scorecards."""
    as_of = facts.end
    plan_start = programme.cycle.plan_start
    rows = review_tasks(plan, facts.progress, as_of, calendar)
    spi, sv = schedule_performance(plan, [r.progress for r in rows])
    deviations = [
        Deviation(
            task_id=r.task_id,
            owner=r.owner,
            behind_days=r.behind_days,
            overdue_days=r.overdue_days,
            cause=r.progress.blocker or r.progress.note,
        )
        for r in rows
        if r.progress.status != "done" and (r.behind_days > 0 or r.overdue_days > 0)
    ]
    shifts = replan(plan, rows, as_of, calendar)
    new_end = max([plan.end, *(s.new_end for s in shifts)])
    references = {
        k: _reference(k, targets, programme, facts.overall)
        for weights in [*programme.scorecards.roles.values(), programme.scorecards.weights_of(None)]
        for k in weights
    }
    cards = [
        scorecard(g, "team", programme.scorecards.weights_of(g.name), references)
        for g in facts.teams
    ] + [
        scorecard(g, "agent", programme.scorecards.weights_of(g.team), references)
        for g in facts.agents
    ]
    return MonthlyRetrospective(
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
        deviations=tuple(deviations),
        forecasts=tuple(
            forecast(t, facts.monthly, plan_start=plan_start, month_end=as_of)
            for t in targets.targets
        ),
        shifts=tuple(shifts),
        plan_end=new_end,
        past_deadline=new_end > programme.cycle.deadline,
        risks=tuple(risk_register(programme, rows)),
        scorecards=tuple(cards),
    )
