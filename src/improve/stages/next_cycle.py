"""The next PDCA cycle (持续优化 → 下一轮诊断): its dates from the cycle before, and what the
previous cycle's optimisation report carries into its diagnosis."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

from improve.domain.artifacts import CarriedItem, OptimisationReport, Problem
from improve.domain.calendar import WorkCalendar, months_later
from improve.domain.programme import CycleSettings
from improve.errors import StageError

_HALF = re.compile(r"^(\d{4})-H([12])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def next_key(key: str) -> str | None:
    """2026-H1 -> 2026-H2 -> 2027-H1; 2026-Q4 -> 2027-Q1; None for other names."""
    if m := _HALF.match(key):
        year, half = int(m[1]), int(m[2])
        return f"{year}-H2" if half == 1 else f"{year + 1}-H1"
    if m := _QUARTER.match(key):
        year, quarter = int(m[1]), int(m[2])
        return f"{year}-Q{quarter + 1}" if quarter < 4 else f"{year + 1}-Q1"
    return None


def next_cycle_settings(
    current: CycleSettings, calendar: WorkCalendar, *, key: str | None = None
) -> CycleSettings:
    """The cycle after `current`: diagnosed the day after its deadline, planned after the same
    lead time (on a working day), as many months long, with the same rules; owner-set targets
    and a withdrawal are not carried, and `carried_from` names the cycle before."""
    new_key = key or next_key(current.key)
    if new_key is None:
        raise StageError(
            f"cycle {current.key!r}: cannot name the next cycle from it; pass --key, e.g. "
            f"--key {current.key}-2"
        )
    if new_key == current.key:
        raise StageError(f"the next cycle needs a new key; {new_key!r} is the current one")
    diagnosis = current.deadline + timedelta(days=1)
    months = max(1, round((current.deadline - current.diagnosis_date).days / 30.44))
    deadline = months_later(diagnosis, months) - timedelta(days=1)
    lead = current.plan_start - current.diagnosis_date
    plan_start = calendar.next_working_day(diagnosis + lead)
    return current.model_copy(
        update={
            "key": new_key,
            "diagnosis_date": diagnosis,
            "plan_start": plan_start,
            "deadline": deadline,
            "targets": (),
            "withdrawn": None,
            "carried_from": current.key,
        }
    )


def carried_items(
    previous: OptimisationReport, problems: Sequence[Problem]
) -> tuple[CarriedItem, ...]:
    """The previous cycle's carry-over and lessons, each marked found again (a new problem
    on its KPI), not found again, or open (tasks and lessons: the owner's to take up)."""
    items = []
    for c in previous.carry_over:
        status: Literal["found_again", "not_found_again", "open"] = "open"
        found: tuple[str, ...] = ()
        if c.kpi is not None:
            found = tuple(p.id for p in problems if p.kpi == c.kpi)
            status = "found_again" if found else "not_found_again"
        items.append(
            CarriedItem(
                from_cycle=previous.cycle,
                kind=c.kind,
                ref=c.ref,
                kpi=c.kpi,
                reason=c.reason,
                status=status,
                problem_ids=found,
            )
        )
    items += [
        CarriedItem(
            from_cycle=previous.cycle,
            kind="lesson",
            ref=None,
            kpi=None,
            reason=lesson,
            status="open",
        )
        for lesson in previous.lessons
    ]
    return tuple(items)
