"""Measured facts the data layer hands to the stages, so that stages stay pure."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from improve.domain.base import Model
from improve.domain.voice import VoiceFacts


class MeasureStat(Model):
    """Count, mean and variance of a per-ticket measure (a duration or a 0/1 outcome)."""

    n: int = Field(ge=0)
    mean: float | None
    var: float | None


class PeriodKpis(Model):
    """Every KPI in one period (first day)."""

    period: date
    values: dict[str, float | None]
    sizes: dict[str, int] = Field(
        default_factory=dict, description="A rate KPI's denominator (tickets it counts)."
    )


class SegmentFacts(Model):
    """One value of one dimension over a window."""

    dimension: str
    value: str
    parent: str | None = Field(default=None, description="For an agent: the team it works in.")
    tickets: int = Field(ge=0)
    kpis: dict[str, float | None]
    measures: dict[str, MeasureStat]
    rework_rate: float | None = Field(description="Share with a reopen or a reassignment.")
    replies_mean: float | None = Field(description="Mean agent replies per ticket.")
    weekly: tuple[PeriodKpis, ...] = Field(default=(), description="Its KPIs per ISO week.")
    early: dict[str, MeasureStat] = Field(default_factory=dict, description="First 3 months.")
    late: dict[str, MeasureStat] = Field(default_factory=dict, description="Last 3 months.")


class PairFacts(Model):
    """Tickets with one value of each of two dimensions (a cell of a two-level drill-down)."""

    dimensions: tuple[str, str]
    values: tuple[str, str]
    tickets: int = Field(ge=0)
    measures: dict[str, MeasureStat]
    early: dict[str, MeasureStat] = Field(default_factory=dict, description="First 3 months.")
    late: dict[str, MeasureStat] = Field(default_factory=dict, description="Last 3 months.")


class TeamLoad(Model):
    """A team's monthly load (resolved tickets per agent) beside its KPI measures."""

    team: str
    periods: tuple[date, ...]
    tickets_per_agent: tuple[float | None, ...]
    measures: dict[str, tuple[float | None, ...]]


class DepartmentFacts(Model):
    """A department's KPIs over a window (its teams' tickets) and what each KPI counts there:
    the cascade of targets to departments reads them."""

    department: str
    tickets: int = Field(ge=0)
    kpis: dict[str, float | None]
    weights: dict[str, int] = Field(
        description="Per KPI, what its value averages over: tickets measured, or agents."
    )


class WindowFacts(Model):
    """Everything the diagnosis reads about a baseline window [start, end)."""

    start: date
    end: date
    tickets: int = Field(ge=0)
    fingerprint: str
    kpis: dict[str, float | None]
    early: dict[str, float | None] = Field(description="First three months.")
    late: dict[str, float | None] = Field(description="Last three months.")
    monthly: tuple[PeriodKpis, ...]
    weekly: tuple[PeriodKpis, ...] = Field(
        default=(), description="ISO weeks wholly inside the window, with rate denominators."
    )
    overall: dict[str, MeasureStat]
    rework_rate: float | None
    replies_mean: float | None
    segments: tuple[SegmentFacts, ...]
    pairs: tuple[PairFacts, ...] = Field(
        default=(), description="Every pair of dimensions but agent (agents drill from teams)."
    )
    voice: VoiceFacts | None = Field(
        default=None, description="Surveys answered in the window, when there are surveys."
    )
    team_load: tuple[TeamLoad, ...]
    departments: tuple[DepartmentFacts, ...] = Field(
        default=(), description="Per department of the programme, when teams are mapped."
    )


class PilotFacts(Model):
    """One pilot KPI's per-ticket measure (a duration, or 0/1 for a rate) in the pilot scope
    and the control group, over equally long windows before and after the pilot's start,
    ordered by ticket id (the bootstrap resamples them)."""

    pilot: str = Field(description="The pilot's key.")
    kpi: str
    pilot_before: tuple[float, ...]
    pilot_after: tuple[float, ...]
    control_before: tuple[float, ...]
    control_after: tuple[float, ...]


class ProgressReport(Model):
    """One progress row as an owner reported it (执行进度跟踪表)."""

    task_id: str
    as_of: date
    percent_complete: float = Field(ge=0, le=100)
    status: str | None = None
    note: str | None = None
    blocker: str | None = Field(default=None, description="What blocks the task.")


class ExecutionFacts(Model):
    """What execution reads: monthly KPIs since the plan started, reports, the pilot."""

    as_of: date
    monthly: tuple[PeriodKpis, ...]
    progress: tuple[ProgressReport, ...]
    pilots: tuple[PilotFacts, ...] = Field(default=(), description="Per pilot and KPI.")


class WeeklyFacts(Model):
    """What the weekly review reads: the week's KPIs and every progress report so far."""

    start: date = Field(description="Monday.")
    end: date = Field(description="Sunday.")
    kpis: dict[str, float | None] = Field(description="KPIs of the tickets created that week.")
    progress: tuple[ProgressReport, ...]


class GroupKpis(Model):
    """One team's or agent's KPIs over a period."""

    name: str
    team: str | None = Field(default=None, description="For an agent: the team it works in.")
    tickets: int = Field(ge=0)
    kpis: dict[str, float | None]


class MonthlyFacts(Model):
    """What the monthly retrospective reads: every month's KPIs since the plan started, this
    month's overall and per team and agent, and every progress report."""

    start: date
    end: date
    monthly: tuple[PeriodKpis, ...]
    overall: dict[str, float | None]
    teams: tuple[GroupKpis, ...]
    agents: tuple[GroupKpis, ...]
    progress: tuple[ProgressReport, ...]


class MeasureWindows(Model):
    """One KPI's per-ticket (or per-answer) values in the windows the evaluation compares."""

    kpi: str
    before: tuple[float, ...] = Field(description="The baseline window.")
    after: tuple[float, ...] = Field(description="The evaluation window.")
    last_year: tuple[float, ...] | None = Field(
        description="The evaluation window's dates a year earlier; None when the data does "
        "not reach back that far."
    )


class CommentTerms(Model):
    """How many comments of a window each term appears in, per language."""

    comments: dict[str, int] = Field(description="Comments per language.")
    counts: dict[str, dict[str, int]] = Field(description="Language -> term -> comments.")
    also: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="'language:term' -> terms found in exactly the same comments, counted with it.",
    )


class EvaluationFacts(Model):
    """What the evaluation reads: the KPIs after, each target KPI's per-ticket values before,
    after and a year earlier, the survey measures before and after, and comment terms.
    Window ends are exclusive."""

    before_start: date
    before_end: date
    after_start: date
    after_end: date
    last_year_start: date
    last_year_end: date
    after: dict[str, float | None]
    measures: tuple[MeasureWindows, ...] = Field(
        description="Target KPIs with a per-ticket measure."
    )
    customer_source: Literal["surveys", "tickets"]
    customer: tuple[MeasureWindows, ...] = Field(description="csat_rate, csat_mean, nps.")
    terms_before: CommentTerms | None = None
    terms_after: CommentTerms | None = None

    def measure(self, kpi: str) -> MeasureWindows | None:
        """The target KPI's values, if it has a per-ticket measure."""
        return next((m for m in self.measures if m.kpi == kpi), None)
