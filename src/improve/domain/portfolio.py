"""What leaders see across programmes: the portfolio behind `improve portal` (each
programme's stage, tasks off schedule, reviews waiting, KPIs against target, every stored
version), and the weekly digest a programme's team receives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from improve.domain.base import Locale, Model, Stage, Text
from improve.domain.gate import ReviewLevel

ArtifactStatus = Literal["pending", "approved", "rejected"]


class DecisionEntry(Model):
    """One reviewer's decision on a version."""

    level: ReviewLevel
    approver: str
    decision: Literal["approved", "rejected"]
    comment: str | None
    at: datetime


class VersionEntry(Model):
    """A stored version of a stage artifact and its review."""

    version: int = Field(ge=1)
    status: ArtifactStatus
    created_by: str
    created_at: datetime
    content_hash: str
    decisions: tuple[DecisionEntry, ...]


class ArtifactEntry(Model):
    """A stage's artifact in a cycle with all its versions, oldest first."""

    stage: Stage
    artifact_id: str
    versions: tuple[VersionEntry, ...] = Field(min_length=1)

    @property
    def latest(self) -> VersionEntry:
        """The newest version."""
        return self.versions[-1]


class CycleEntry(Model):
    """A cycle of a programme: the stage it has reached and its artifacts."""

    key: str
    stage: Stage | None = Field(description="The furthest stage produced; None: none yet.")
    status: ArtifactStatus | None = Field(description="That stage's latest version's status.")
    artifacts: tuple[ArtifactEntry, ...]


class PendingApproval(Model):
    """A version waiting for a review level, and who may decide at it."""

    artifact_id: str
    stage: Stage
    version: int
    level: ReviewLevel
    awaiting: tuple[str, ...]
    since: datetime = Field(description="When the version was stored (UTC).")


class TaskFlag(Model):
    """A plan task that is overdue or due within the look-ahead, as of the portfolio's day."""

    task_id: str
    name: Text
    owner: str
    department: str
    end: date
    percent_complete: float | None
    overdue_days: int = Field(ge=0)
    due_in_days: int | None
    critical: bool


KpiStatus = Literal["met", "not_met", "on_track", "off_track", "unknown"]


class KpiLine(Model):
    """A target's KPI: its monthly values (the sparkline), the latest, and where it stands:
    met / not met once evaluated, else on or off its straight path from baseline to target."""

    target_id: str
    kpi: str
    direction: Literal["lower", "higher"]
    baseline: float
    target: float
    deadline: date
    series: tuple[tuple[date, float | None], ...] = Field(
        description="(month, value), oldest first."
    )
    latest: float | None
    latest_period: date | None
    expected: float | None = Field(description="Where the path says it should be at that month.")
    status: KpiStatus


class KpiAlert(Model):
    """A KPI the team should look at this week: off its path, or forecast to miss."""

    target_id: str
    kpi: str
    kind: Literal["off_path", "forecast_unlikely", "forecast_at_risk"]
    period: str = Field(description="The week or month the alert is read from.")
    actual: float | None
    expected: float | None = Field(description="The path value, or the forecast at deadline.")
    target: float


class ProgrammeSummary(Model):
    """One programme in the portfolio, as of its day: its current cycle's stage, tasks off
    schedule, reviews waiting (all cycles), KPIs, and every cycle with its versions."""

    key: str
    name: Text
    owner: str
    locale: Locale
    cycle: str = Field(description="The programme's current cycle.")
    stage: Stage | None
    status: ArtifactStatus | None
    overdue: tuple[TaskFlag, ...]
    due_soon: tuple[TaskFlag, ...]
    pending: tuple[PendingApproval, ...]
    kpis: tuple[KpiLine, ...]
    cycles: tuple[CycleEntry, ...]


class Portfolio(Model):
    """Every stored programme, as of one day."""

    schema_version: Literal[1] = 1
    as_of: date
    programmes: tuple[ProgrammeSummary, ...]


class Digest(Model):
    """周报摘要: a programme's week for its team: reviews waiting on someone, tasks overdue and
    due soon, and KPI alerts from the latest weekly review and monthly retrospective."""

    schema_version: Literal[1] = 1
    kind: Literal["digest"] = "digest"
    programme: str
    name: Text
    cycle: str
    period: str = Field(pattern=r"^\d{4}-W\d{2}$")
    as_of: date = Field(description="Sunday of the week: tasks are judged as of this day.")
    pending: tuple[PendingApproval, ...]
    overdue: tuple[TaskFlag, ...]
    due_soon: tuple[TaskFlag, ...]
    alerts: tuple[KpiAlert, ...]
    sources: tuple[str, ...] = Field(
        description="The stored reviews the alerts come from, like 'weekly 2026-W04 v1'."
    )

    @property
    def quiet(self) -> bool:
        """Nothing to act on this week."""
        return not (self.pending or self.overdue or self.due_soon or self.alerts)
