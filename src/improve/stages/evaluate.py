"""Evaluate (效果评估): targets + execution + facts -> EvaluationReport.

Each target's achievement follows the source: (baseline - actual) / (baseline - target), in
either direction, stored raw and capped for display. Whether the change is real is judged on
the same-period comparison (同期对比: the evaluation window against its dates a year earlier)
when the data reaches back that far, so that a seasonal swing is not taken for improvement;
else on the plain before/after comparison. A target is met when its achievement reaches 100%
and its KPI really improved. The overall rating (综合效果评定) weighs target achievement,
customer verification and execution discipline (config, default 50/30/20).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from scipy import stats

from improve.domain.artifacts import (
    Comparison,
    CustomerMeasure,
    CustomerVerification,
    EvaluationReport,
    ExecutionReport,
    Grade,
    KeywordShift,
    Outcome,
    Rating,
    Target,
    TargetList,
    TargetResult,
)
from improve.domain.base import ArtifactRef, Text
from improve.domain.facts import CommentTerms, EvaluationFacts
from improve.domain.programme import Programme, RatingWeights
from improve.stages.compare import compare
from improve.stages.pilot import ALPHA, MIN_GROUP

DISPLAY_CAP = 1.5
GRADES: tuple[tuple[float, Grade], ...] = ((85.0, "A"), (70.0, "B"), (55.0, "C"))
CUSTOMER_SCORE = {"better": 100.0, None: 50.0, "worse": 0.0}  # a measure's part in the rating
KEYWORD_CANDIDATES = 40  # per language and window: the most used terms are compared
MIN_KEYWORD_COUNT = 5  # comments using a term, in the window it is a candidate from
KEYWORD_RATIO = 1.5  # faded: used 1.5 times less often; new: 1.5 times more often
MAX_SHIFTS = 10  # per list and language


def achievement(baseline: float, target: float, actual: float) -> float:
    """(baseline - actual) / (baseline - target): 1.0 is exactly on target, either direction.

    The source's example: baseline 30 min, target 15, actual 12 -> 1.2 (120%). Target
    setting refuses a target equal to its baseline, so the division is always defined.
    """
    if baseline == target:
        raise ValueError(f"baseline and target are both {baseline}; achievement is undefined")
    return (baseline - actual) / (baseline - target)


def grade_of(score: float) -> Grade:
    """A (>= 85), B (>= 70), C (>= 55), else D."""
    return next((g for floor, g in GRADES if score >= floor), "D")


def target_result(target: Target, facts: EvaluationFacts) -> TargetResult:
    """One target's achievement, its two comparisons and whether the change is real."""
    actual = facts.after.get(target.kpi)
    raw = None if actual is None else achievement(target.baseline, target.target, actual)
    windows = facts.measure(target.kpi)
    before_after = same_period = None
    if windows is not None:
        before_after = compare(
            target.kpi,
            windows.before,
            windows.after,
            basis="before_after",
            reference_start=facts.before_start,
            reference_end=facts.before_end - timedelta(days=1),
        )
        if windows.last_year is not None and len(windows.last_year) >= MIN_GROUP:
            same_period = compare(
                target.kpi,
                windows.last_year,
                windows.after,
                basis="same_period",
                reference_start=facts.last_year_start,
                reference_end=facts.last_year_end - timedelta(days=1),
            )
    judged: Comparison | None = same_period or before_after
    significant = None if judged is None or judged.p_value is None else judged.moved is not None
    real = judged is None or judged.p_value is None or judged.moved == "better"
    return TargetResult(
        target_id=target.id,
        kpi=target.kpi,
        baseline=target.baseline,
        target=target.target,
        actual=actual,
        achievement=None if raw is None else round(raw, 4),
        achievement_display=None if raw is None else round(min(max(raw, 0.0), DISPLAY_CAP), 4),
        counted=None if raw is None else round(min(max(raw, 0.0), 1.0) if real else 0.0, 4),
        before_after=before_after,
        same_period=same_period,
        basis=None if judged is None else judged.basis,
        significant=significant,
        seasonal=before_after is not None
        and before_after.moved == "better"
        and same_period is not None
        and same_period.moved != "better",
        met=raw is not None and raw >= 1.0 and real,
    )


def _two_proportion(b: int, nb: int, a: int, na: int) -> float:
    pooled = (a + b) / (na + nb)
    se = math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    return 1.0 if se == 0 else float(min(1.0, 2 * stats.norm.sf(abs(a / na - b / nb) / se)))


def keyword_shifts(
    before: CommentTerms | None, after: CommentTerms | None
) -> tuple[tuple[KeywordShift, ...], tuple[KeywordShift, ...]]:
    """Comment terms used significantly less often after (faded) and more often (new): the
    most used terms of either window, compared by the share of comments using them."""
    faded: list[KeywordShift] = []
    new: list[KeywordShift] = []
    if before is None or after is None:
        return (), ()
    for language in ("zh", "en"):
        nb, na = before.comments.get(language, 0), after.comments.get(language, 0)
        if nb < MIN_GROUP or na < MIN_GROUP:
            continue
        cb, ca = before.counts.get(language, {}), after.counts.get(language, {})
        candidates: dict[str, None] = {}
        for counts in (cb, ca):
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:KEYWORD_CANDIDATES]
            candidates.update((term, None) for term, n in top if n >= MIN_KEYWORD_COUNT)
        shifts: list[KeywordShift] = []
        for term in candidates:
            b, a = cb.get(term, 0), ca.get(term, 0)
            sb, sa = b / nb, a / na
            p = _two_proportion(b, nb, a, na)
            if p >= ALPHA:
                continue
            if sa * KEYWORD_RATIO <= sb or sb * KEYWORD_RATIO <= sa:
                shifts.append(
                    KeywordShift(
                        term=term,
                        language=language,
                        before_count=b,
                        before_share=round(sb, 4),
                        after_count=a,
                        after_share=round(sa, 4),
                        p_value=p,
                        trend="faded" if sa < sb else "new",
                        also=before.also.get(f"{language}:{term}", ()),
                    )
                )
        by_change = sorted(shifts, key=lambda s: (-abs(s.after_share - s.before_share), s.term))
        faded += [s for s in by_change if s.trend == "faded"][:MAX_SHIFTS]
        new += [s for s in by_change if s.trend == "new"][:MAX_SHIFTS]
    return tuple(faded), tuple(new)


def customer_verification(facts: EvaluationFacts) -> CustomerVerification:
    """CSAT and NPS after against before with intervals, and the comment keywords that
    faded or are new."""
    measures = []
    for windows in facts.customer:
        comparison = None
        if windows.before and windows.after:
            comparison = compare(
                windows.kpi,
                windows.before,
                windows.after,
                basis="before_after",
                reference_start=facts.before_start,
                reference_end=facts.before_end - timedelta(days=1),
            )
        measures.append(CustomerMeasure(kpi=windows.kpi, comparison=comparison))
    faded, new = keyword_shifts(facts.terms_before, facts.terms_after)
    return CustomerVerification(
        source=facts.customer_source,
        measures=tuple(measures),
        comments_before=facts.terms_before.comments if facts.terms_before else {},
        comments_after=facts.terms_after.comments if facts.terms_after else {},
        faded=faded,
        new=new,
    )


def rating_of(
    results: Sequence[TargetResult],
    customer: CustomerVerification,
    discipline: float,
    weights: RatingWeights,
) -> Rating:
    """The weighted score: targets (mean counted achievement), customer verification (a
    measure better 100, unchanged 50, worse 0; 50 with nothing judged) and discipline."""
    counted = [r.counted for r in results if r.counted is not None]
    targets = 100.0 * sum(counted) / len(counted) if counted else 0.0
    judged = [
        m.comparison for m in customer.measures if m.comparison and m.comparison.p_value is not None
    ]
    part = sum(CUSTOMER_SCORE[c.moved] for c in judged) / len(judged) if judged else 50.0
    score = round(
        weights.targets * targets + weights.customer * part + weights.discipline * 100 * discipline,
        1,
    )
    return Rating(
        targets=round(targets, 1),
        customer=round(part, 1),
        discipline=round(100 * discipline, 1),
        weights=weights,
        score=score,
        grade=grade_of(score),
    )


def outcome_of(
    results: Sequence[TargetResult], rating: Rating, programme: Programme
) -> tuple[Outcome, Text]:
    """Closure outcome: withdrawn when the owner withdrew the cycle; successful when every
    target is met; partly successful when one is, or the grade is C or better."""
    met, total = sum(r.met for r in results), len(results)
    summary = Text(
        zh=f"{total} 个目标中 {met} 个达成；综合评分 {rating.score:g}（{rating.grade}）",
        en=f"{met} of {total} targets met; overall score {rating.score:g} ({rating.grade})",
    )
    withdrawn = programme.cycle.withdrawn
    if withdrawn is not None:
        reason = withdrawn.reason
        zh, en = (reason, reason) if isinstance(reason, str) else (reason.zh, reason.en)
        return "withdrawn", Text(
            zh=f"{withdrawn.on} 撤销：{zh}；{summary.zh}",
            en=f"withdrawn on {withdrawn.on}: {en}; {summary.en}",
        )
    outcome: Outcome
    if total and met == total:
        outcome = "successful"
    elif met or rating.score >= GRADES[-1][0]:
        outcome = "partly_successful"
    else:
        outcome = "unsuccessful"
    return outcome, summary


def evaluate_cycle(
    targets: TargetList,
    execution: ExecutionReport,
    facts: EvaluationFacts,
    *,
    sources: tuple[ArtifactRef, ...],
    programme: Programme,
) -> EvaluationReport:
    """Build the 效果评估报告: achievement per target with its before/after and same-period
    comparisons, customer verification, execution discipline, and the weighted 综合效果评定
    with grade and closure outcome."""
    results = tuple(target_result(t, facts) for t in targets.targets)
    customer = customer_verification(facts)
    done = [p for p in execution.progress if p.status == "done"]
    discipline = len(done) / len(execution.progress) if execution.progress else 0.0
    rating = rating_of(results, customer, discipline, programme.evaluation.weights)
    outcome, reason = outcome_of(results, rating, programme)
    return EvaluationReport(
        programme=programme.key,
        cycle=programme.cycle.key,
        derived_from=sources,
        before_start=facts.before_start,
        before_end=facts.before_end - timedelta(days=1),
        after_start=facts.after_start,
        after_end=facts.after_end - timedelta(days=1),
        results=results,
        customer=customer,
        execution_discipline=round(discipline, 4),
        rating=rating,
        outcome=outcome,
        outcome_reason=reason,
    )
