"""The execution cadence's reports: the weekly review (周例会) of one ISO week. Each is stored
per programme, cycle and period; running the same period again on the same data stores
nothing new."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from improve.domain.artifacts import TaskProgress
from improve.domain.base import ArtifactRef, Model

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
