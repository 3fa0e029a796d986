"""Evaluate (效果评估): targets + execution + facts -> EvaluationReport."""

from __future__ import annotations

from datetime import timedelta

from improve.domain.artifacts import (
    CustomerVerification,
    EvaluationReport,
    ExecutionReport,
    Grade,
    Outcome,
    TargetList,
    TargetResult,
)
from improve.domain.base import ArtifactRef, Direction
from improve.domain.facts import EvaluationFacts
from improve.domain.kpi import KPIS
from improve.domain.programme import Programme

DISPLAY_CAP = 1.5
WEIGHTS = (0.5, 0.3, 0.2)  # target achievement, customer verification, execution discipline
CUSTOMER_KPIS = ("csat_rate", "csat_mean", "nps")
GRADES: tuple[tuple[float, Grade], ...] = ((85.0, "A"), (70.0, "B"), (55.0, "C"))


def achievement(baseline: float, target: float, actual: float) -> float:
    """(baseline - actual) / (baseline - target): 1.0 is exactly on target, either direction.

    The source's example: baseline 30 min, target 15, actual 12 -> 1.2 (120%).
    """
    if baseline == target:
        raise ValueError(f"baseline and target are both {baseline}; achievement is undefined")
    return (baseline - actual) / (baseline - target)


def grade_of(score: float) -> Grade:
    """A (>= 85), B (>= 70), C (>= 55), else D."""
    return next((g for floor, g in GRADES if score >= floor), "D")


def evaluate_cycle(
    targets: TargetList,
    execution: ExecutionReport,
    facts: EvaluationFacts,
    *,
    sources: tuple[ArtifactRef, ...],
    programme: Programme,
) -> EvaluationReport:
    """Build the 效果评估报告: achievement per target, customer experience before and after,
    execution discipline, and the weighted 综合效果评定 with grade and outcome."""
    results = []
    for t in targets.targets:
        actual = facts.after.get(t.kpi)
        raw = None if actual is None else achievement(t.baseline, t.target, actual)
        results.append(
            TargetResult(
                target_id=t.id,
                kpi=t.kpi,
                baseline=t.baseline,
                target=t.target,
                actual=actual,
                achievement=None if raw is None else round(raw, 4),
                achievement_display=None
                if raw is None
                else round(min(max(raw, 0.0), DISPLAY_CAP), 4),
                met=raw is not None and raw >= 1.0,
            )
        )
    customer = []
    for name in CUSTOMER_KPIS:
        before, after = facts.survey_before.get(name), facts.survey_after.get(name)
        improved = None
        if before is not None and after is not None:
            improved = after < before if KPIS[name].direction == Direction.LOWER else after > before
        customer.append(
            CustomerVerification(kpi=name, before=before, after=after, improved=improved)
        )
    done = [p for p in execution.progress if p.status == "done"]
    discipline = len(done) / len(execution.progress) if execution.progress else 0.0
    scored = [min(max(r.achievement, 0.0), 1.0) for r in results if r.achievement is not None]
    target_part = 100.0 * sum(scored) / len(scored) if scored else 0.0
    judged = [c for c in customer if c.improved is not None]
    customer_part = 100.0 * sum(bool(c.improved) for c in judged) / len(judged) if judged else 0.0
    score = round(
        WEIGHTS[0] * target_part + WEIGHTS[1] * customer_part + WEIGHTS[2] * 100.0 * discipline, 1
    )
    met = sum(r.met for r in results)
    outcome: Outcome
    if results and met == len(results):
        outcome = "successful"
    elif met * 2 >= len(results) or score >= GRADES[-1][0]:
        outcome = "partly_successful"
    else:
        outcome = "unsuccessful"
    return EvaluationReport(
        programme=programme.key,
        cycle=programme.cycle.key,
        derived_from=sources,
        before_start=facts.before_start,
        before_end=facts.before_end - timedelta(days=1),
        after_start=facts.after_start,
        after_end=facts.after_end - timedelta(days=1),
        results=tuple(results),
        customer=tuple(customer),
        execution_discipline=round(discipline, 4),
        score=score,
        grade=grade_of(score),
        outcome=outcome,
    )
