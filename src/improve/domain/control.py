"""Control charts of a KPI's weekly series: limits, special causes, and the shift's start."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from improve.domain.base import Model

ChartKind = Literal["xmr", "p"]
Rule = Literal["beyond_limits", "two_of_three", "run_of_eight", "trend_of_six"]


class SpecialCause(Model):
    """A pattern that ordinary week-to-week variation rarely makes (Western Electric rules)."""

    rule: Rule
    first_week: date = Field(description="First week of the pattern.")
    week: date = Field(description="Week the pattern completes (when it could first be seen).")
    direction: Literal["up", "down"]
    worse: bool | None = Field(description="Whether the KPI got worse; None without a direction.")


class Shift(Model):
    """A sustained change of level, dated by the CUSUM change-point test."""

    started: date = Field(description="First week at the new level.")
    before: float = Field(description="Mean weekly value before.")
    after: float = Field(description="Mean weekly value from `started` on.")
    p_value: float = Field(ge=0, le=1)
    worse: bool | None


class ControlChart(Model):
    """A KPI's weekly values with centre line and 3-sigma limits (per week for p-charts)."""

    kpi: str
    kind: ChartKind = Field(description="xmr for durations and counts, p (Laney p') for rates.")
    weeks: tuple[date, ...]
    values: tuple[float | None, ...]
    center: float | None
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    signals: tuple[SpecialCause, ...] = ()
    shift: Shift | None = None
