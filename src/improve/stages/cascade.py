"""Department sub-targets (目标分解) that provably add up to the overall target.

How a KPI aggregates decides the rule: a weighted mean (rates, means, tickets per agent) is
the weighted mean of the departments' values, so sub-targets are set so their weighted mean
is the target; for a percentile (median, P90) every department gets a sub-target at or
better than the target: when at least half (90%) of every department's tickets are within
its sub-target, at least half (90%) of all tickets are within the target (interpolating
between neighbouring tickets, as quantile_cont does, can move the pooled P90 by less than
the gap between two tickets); a count (backlog) is the sum of the departments'. Values are
rounded towards the better side, so rounding never breaks the guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from improve.domain.artifacts import Cascade, CascadeRule, SubTarget
from improve.domain.base import Direction
from improve.domain.kpi import KPIS

RULES: dict[str, CascadeRule] = {
    "frt_median_min": "every_department",
    "frt_p90_min": "every_department",
    "resolution_median_h": "every_department",
    "resolution_p90_h": "every_department",
    "backlog_end": "sum",
    "volume": "sum",
}
# Upper bounds of higher-is-better KPIs: their distance to the bound is what is scaled.
UPPER: dict[str, float] = {"csat_mean": 5.0, "nps": 100.0}
DECIMALS: dict[str, int] = {"backlog_end": 0, "volume": 0, "csat_mean": 2}


@dataclass(frozen=True)
class DepartmentValue:
    """A department's baseline value of the KPI and what that value averages over."""

    department: str
    value: float
    weight: int


def decimals(kpi_name: str) -> int:
    """Decimal places a KPI's target is set to."""
    return DECIMALS.get(kpi_name, 3 if KPIS[kpi_name].is_rate else 1)


def _better_round(kpi_name: str, value: float) -> float:
    """Round to the KPI's precision towards the better side."""
    scale: int = 10 ** decimals(kpi_name)
    lower = KPIS[kpi_name].direction != Direction.HIGHER
    # the epsilon keeps an exact decimal (0.595 stored as 0.59499...) from moving a step
    rounded = math.floor(value * scale + 1e-9) if lower else math.ceil(value * scale - 1e-9)
    return rounded / scale


def _bound(kpi_name: str) -> float | None:
    if KPIS[kpi_name].direction != Direction.HIGHER:
        return None
    return 1.0 if KPIS[kpi_name].is_rate else UPPER.get(kpi_name)


def _scaled(kpi_name: str, value: float, baseline: float, target: float) -> float:
    """`value` moved by the same factor as baseline -> target (its distance to the upper
    bound for a higher-is-better KPI, so a good department is never asked past the bound)."""
    bound = _bound(kpi_name)
    if bound is not None and baseline < bound:
        return bound - (bound - value) * (bound - target) / (bound - baseline)
    if bound is None and baseline:
        return value * target / baseline
    return value + (target - baseline)


def _fmt(kpi_name: str, value: float) -> str:
    return f"{value:.{decimals(kpi_name)}f}"


def cascade(
    kpi_name: str,
    baseline: float,
    target: float,
    departments: Sequence[DepartmentValue],
    *,
    coverage: float = 1.0,
) -> tuple[tuple[SubTarget, ...], Cascade] | None:
    """Sub-targets for `departments` and the arithmetic showing they meet `target`; None
    when there is nothing to split (no department with a value). `coverage` is the share
    of the tickets the departments own: below 1 the tickets of teams no department owns
    are left out, and the cascade cannot promise the target."""
    parts = [d for d in departments if d.weight > 0 or RULES.get(kpi_name) == "sum"]
    if not parts:
        return None
    rule = RULES.get(kpi_name, "weighted_mean")
    lower = KPIS[kpi_name].direction != Direction.HIGHER
    if rule == "sum":
        total_base = sum(d.value for d in parts)
        weights = [max(0, round(d.value)) for d in parts]
        subs = [
            _better_round(kpi_name, d.value * target / total_base if total_base else 0.0)
            for d in parts
        ]
        achieved = sum(subs)
        working = " + ".join(_fmt(kpi_name, s) for s in subs) + f" = {_fmt(kpi_name, achieved)}"
    elif rule == "every_department":
        weights = [d.weight for d in parts]
        subs = [
            _better_round(
                kpi_name,
                min(_scaled(kpi_name, d.value, baseline, target), target)
                if lower
                else max(_scaled(kpi_name, d.value, baseline, target), target),
            )
            for d in parts
        ]
        achieved = max(subs) if lower else min(subs)
        working = (
            f"{'max' if lower else 'min'}({', '.join(_fmt(kpi_name, s) for s in subs)}) = "
            f"{_fmt(kpi_name, achieved)}"
        )
    else:
        weights = [d.weight for d in parts]
        total = sum(weights)
        own_base = sum(d.value * d.weight for d in parts) / total
        subs = [
            _better_round(kpi_name, _scaled(kpi_name, d.value, own_base, target)) for d in parts
        ]
        achieved = sum(s * w for s, w in zip(subs, weights, strict=True)) / total
        working = (
            "("
            + " + ".join(f"{w}×{_fmt(kpi_name, s)}" for s, w in zip(subs, weights, strict=True))
            + f") / {total} = {achieved:.{decimals(kpi_name) + 2}f}"
        )
    holds = (achieved <= target + 1e-9 if lower else achieved >= target - 1e-9) and (
        coverage >= 1 - 1e-9
    )
    total_weight = sum(weights) or 1
    moves = [
        abs(d.value - s) * (w if rule != "sum" else 1)
        for d, s, w in zip(parts, subs, weights, strict=True)
    ]
    total_move = sum(moves)
    out = tuple(
        SubTarget(
            department=d.department,
            baseline=round(d.value, decimals(kpi_name) + 1),
            target=s,
            weight=w,
            volume_share=round(w / total_weight, 4),
            responsibility=round(m / total_move, 4) if total_move else 0.0,
        )
        for d, s, w, m in zip(parts, subs, weights, moves, strict=True)
    )
    sign = "≤" if lower else "≥"
    uncovered = "" if coverage >= 1 - 1e-9 else f" (departments own {coverage:.1%} of tickets)"
    return out, Cascade(
        rule=rule,
        achieved=round(achieved, decimals(kpi_name) + 3),
        holds=holds,
        coverage=round(coverage, 4),
        working=f"{working} {sign} {_fmt(kpi_name, target)}{uncovered}",
    )
