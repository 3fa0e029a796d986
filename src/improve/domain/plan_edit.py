"""A plan as stakeholders edited it, and what is wrong with a plan: the values the plan
workbook reader hands to the plan rules and the revision stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from improve.domain.artifacts import RaciLetter

IssueKind = Literal["dependency", "day_off", "dates", "owner", "raci", "overallocation"]


@dataclass(frozen=True)
class PlanIssue:
    """One broken rule: the task, the field it sits in (start, end, owner or raci:<dept>)
    and what to change."""

    kind: IssueKind
    task_id: str
    field: str
    message: str


@dataclass(frozen=True)
class TaskEdit:
    """A task's row as the stakeholders left it."""

    start: date
    end: date
    owner: str


@dataclass(frozen=True)
class PlanEdits:
    """Every task's row and RACI letters as read back from the plan workbook."""

    tasks: Mapping[str, TaskEdit]
    raci: Mapping[str, Mapping[str, tuple[RaciLetter, ...]]] = field(default_factory=dict)
