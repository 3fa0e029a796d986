"""The execution cadence's reports: the weekly review (周例会) of one ISO week and the monthly
retrospective (月度复盘) of one calendar month. Each is stored
per programme, cycle and period; running the same period again on the same data stores
nothing new."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from improve.domain.artifacts import TaskProgress
from improve.domain.base import ArtifactRef, Model, Text

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(period: str) -> tuple[date, date]:
    """Monday and Sunday of ISO week `period` (like 2026-W04); ValueError says the format."""
    found = _WEEK.match(period)
    if found is None:
        raise ValueError(f"{period!r} is not an ISO week; write it like 2026-W04")
    try:
        monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise ValueError(f"{period!r}: {found[1]} has no week {found[2]}") from None
    return monday, monday + timedelta(days=6)


def week_of(day: date) -> str:
    """The ISO week `day` falls in, like 2026-W04."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


class ReviewTask(Model):
    """A task as the weekly meeting sees it: where it stands against plan and its dates."""

    task_id: str
    owner: str
    department: str
    start: date
    end: date
    critical: bool
    progress: TaskProgress
    behind_days: int = Field(description="Working days of work behind plan (negative: ahead).")
    overdue_days: int = Field(ge=0, description="Working days past its end, not done.")
    due_in_days: int | None = Field(
        description="Working days left to its end, when it ends within the look-ahead."
    )


class DepartmentBlockers(Model):
    """What blocks a department's tasks, by task."""

    department: str
    blockers: tuple[tuple[str, str], ...] = Field(description="(task id, blocker) pairs.")


class WeeklyKpi(Model):
    """A target's KPI this week against where its path to the target should be by now."""

    target_id: str
    kpi: str
    actual: float | None
    planned: float
    target: float
    on_track: bool | None


class WeeklyReview(Model):
    """周例会: one ISO week of execution: schedule performance and variance, overdue and
    due-soon tasks, blockers by department, this week's KPIs against their target paths."""

    schema_version: Literal[1] = 1
    kind: Literal["weekly"] = "weekly"
    programme: str
    cycle: str
    period: str = Field(pattern=r"^\d{4}-W\d{2}$")
    start: date = Field(description="Monday of the week.")
    end: date = Field(description="Sunday of the week: progress is read as of this day.")
    plan: ArtifactRef
    targets: ArtifactRef
    spi: float | None = Field(description="Earned / planned percent, weighted by working days.")
    sv_points: float | None = Field(
        description="Schedule variance: earned minus planned percent complete (points)."
    )
    tasks: tuple[ReviewTask, ...]
    overdue: tuple[str, ...] = Field(description="Tasks past their end and not done.")
    due_soon: tuple[str, ...] = Field(description="Tasks ending within the look-ahead.")
    look_ahead_days: int = Field(ge=1, description="Working days the due-soon list looks ahead.")
    blockers: tuple[DepartmentBlockers, ...]
    kpis: tuple[WeeklyKpi, ...]


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(period: str) -> tuple[date, date]:
    """First and last day of month `period` (like 2026-02); ValueError says the format."""
    found = _MONTH.match(period)
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"{period!r} is not a month; write it like 2026-02")
    first = date(int(found[1]), int(found[2]), 1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


class Deviation(Model):
    """A task off plan at the month's end and why, in its owner's words."""

    task_id: str
    owner: str
    behind_days: int
    overdue_days: int
    cause: str | None = Field(description="The latest note or blocker; None: not explained.")


class KpiForecast(Model):
    """A target's KPI projected to its deadline from its monthly values since the plan
    started (least-squares line), with a 90% prediction interval."""

    target_id: str
    kpi: str
    months: int = Field(ge=0, description="Monthly values the line was fitted on.")
    actual: float | None = Field(description="This month's value.")
    planned: float = Field(description="Where the path says it should be at month's end.")
    forecast: float | None
    low: float | None
    high: float | None
    target: float
    outlook: Literal["likely", "at_risk", "unlikely", "unknown"] = Field(
        description="likely: the whole interval meets the target; unlikely: none of it does."
    )


class TaskShift(Model):
    """A proposed re-planning: a late task or one that depends on it, moved."""

    task_id: str
    start: date
    end: date
    new_start: date
    new_end: date
    because_of: str = Field(description="The late task that pushes it.")


class RiskEntry(Model):
    """A line of the risk register: configured, or raised from a late critical task."""

    key: str
    title: Text
    probability: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int = Field(ge=1, le=25, description="Probability x impact.")
    owner: str
    response: Text
    status: Literal["open", "mitigating", "closed"]
    raised: Literal["register", "late_critical_task"]


class Scorecard(Model):
    """A team's or an agent's weighted KPI score for the month (0..100)."""

    kind: Literal["team", "agent"]
    name: str
    team: str | None
    tickets: int = Field(ge=0)
    scores: dict[str, float | None] = Field(description="Per KPI, 0..100 against its reference.")
    weights: dict[str, float]
    total: float | None


class MonthlyRetrospective(Model):
    """月度复盘: one month of execution against plan, why tasks deviate, each KPI's outlook at
    its deadline, the re-planning it calls for, the risk register and the scorecards."""

    schema_version: Literal[1] = 1
    kind: Literal["monthly"] = "monthly"
    programme: str
    cycle: str
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    start: date
    end: date
    plan: ArtifactRef
    targets: ArtifactRef
    spi: float | None
    sv_points: float | None
    tasks: tuple[ReviewTask, ...]
    deviations: tuple[Deviation, ...]
    forecasts: tuple[KpiForecast, ...]
    shifts: tuple[TaskShift, ...]
    plan_end: date = Field(description="The plan's end after the proposed shifts.")
    past_deadline: bool
    risks: tuple[RiskEntry, ...] = Field(description="Highest score first.")
    scorecards: tuple[Scorecard, ...]
