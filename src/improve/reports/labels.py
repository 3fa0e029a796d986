"""How reports name and format KPIs, ticket dimensions and task timings, in the report's
language."""

from __future__ import annotations

from improve.domain.base import DIMENSION_LABELS
from improve.domain.kpi import KPIS
from improve.domain.portfolio import TaskFlag
from improve.reports.sections import Fmt, Val, Words


def is_rate(kpi_name: str) -> bool:
    """Whether the KPI is a share shown as a percentage (unknown names are not)."""
    spec = KPIS.get(kpi_name)
    return spec is not None and spec.is_rate


def kpi_label(kpi_name: str, w: Words) -> str:
    """The KPI's display name in the locale; an unknown name stands for itself."""
    spec = KPIS.get(kpi_name)
    return w.text(spec.label) if spec else kpi_name


COUNTS = frozenset({"volume", "backlog_end"})  # whole tickets, no decimals


def dim_label(dimension: str, w: Words) -> str:
    """A ticket dimension's name in the locale (unknown ones as they are)."""
    known = DIMENSION_LABELS.get(dimension)
    return w.text(known) if known else dimension


def kpi_fmt(kpi_name: str) -> Fmt:
    """Percent for rates, whole numbers for ticket counts, one decimal otherwise (minutes,
    hours, points, tickets per agent)."""
    if is_rate(kpi_name):
        return "pct"
    return "int" if kpi_name in COUNTS else "num1"


def kv(kpi_name: str, value: float | None) -> Val:
    """A KPI value with its format."""
    return Val(value, kpi_fmt(kpi_name))


def task_timing(t: TaskFlag, w: Words) -> str:
    """How late a flagged task is, or how soon it is due, in working days."""
    if t.overdue_days:
        return w(
            f"逾期 {t.overdue_days} 个工作日",
            f"{t.overdue_days} working day{'' if t.overdue_days == 1 else 's'} overdue",
        )
    return w(
        f"还剩 {t.due_in_days} 个工作日",
        f"due in {t.due_in_days} working day{'' if t.due_in_days == 1 else 's'}",
    )
