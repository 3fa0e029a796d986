"""Achievement, the overall rating, and what carries into the next cycle."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from tests.chain import Chain
from tests.samples import make_targets

from improve.domain.programme import Programme
from improve.stages.evaluate import achievement, grade_of, target_result


@pytest.mark.parametrize(
    ("baseline", "target", "actual", "expected"),
    [
        (30, 15, 12, 1.2),  # the source's example: 120%
        (30, 15, 15, 1.0),
        (30, 15, 30, 0.0),
        (30, 15, 35, -1 / 3),  # worse than the baseline
        (0.70, 0.85, 0.88, 1.2),  # higher is better works the same way
    ],
)
def test_achievement(baseline: float, target: float, actual: float, expected: float) -> None:
    assert achievement(baseline, target, actual) == pytest.approx(expected)


def test_achievement_needs_a_change() -> None:
    with pytest.raises(ValueError, match="undefined"):
        achievement(10, 10, 5)


@pytest.mark.parametrize(
    ("score", "grade"), [(90, "A"), (85, "A"), (70, "B"), (60, "C"), (10, "D")]
)
def test_grades(score: float, grade: str) -> None:
    assert grade_of(score) == grade


def test_evaluation_on_the_sample(chain: Chain) -> None:
    ev = chain.evaluation
    assert (ev.before_start, ev.before_end) == (date(2025, 1, 1), date(2025, 12, 31))
    assert (ev.after_start, ev.after_end) == (date(2026, 4, 1), date(2026, 6, 30))
    results = {r.kpi: r for r in ev.results}
    assert results["fcr_rate"].met and results["frt_median_min"].met
    # The engineers' training helped only in part (their new criteria stalled): the reopen
    # target, shared with the billing fix, falls short.
    reopen = results["reopen_rate"]
    assert not reopen.met and reopen.achievement is not None
    assert 0.5 < reopen.achievement < 1
    for r in ev.results:
        assert r.achievement_display is not None and 0 <= r.achievement_display <= 1.5
    assert ev.outcome == "partly_successful" and ev.grade in ("A", "B")


def test_the_planted_improvement_is_significant_against_the_same_period(chain: Chain) -> None:
    """Every target KPI improved against the same months of 2025 as well as against the
    baseline year: the change is real, not the season."""
    for r in chain.evaluation.results:
        assert r.basis == "same_period" and r.significant and not r.seasonal
        assert r.same_period is not None and r.same_period.moved == "better"
        assert (r.same_period.reference_start, r.same_period.reference_end) == (
            date(2025, 4, 1),
            date(2025, 6, 30),
        )
        assert r.before_after is not None and r.before_after.moved == "better"
        low, high, change = r.same_period.ci_low, r.same_period.ci_high, r.same_period.change
        assert low is not None and high is not None and change is not None
        assert low <= change <= high


def test_customers_confirm_it_and_their_complaints_moved(chain: Chain) -> None:
    customer = chain.evaluation.customer
    assert customer.source == "surveys"
    moved = {m.kpi: m.comparison.moved for m in customer.measures if m.comparison}
    assert moved == {"csat_rate": "better", "csat_mean": "better", "nps": "better"}
    faded = {(k.language, k.term, *k.also) for k in customer.faded}
    # The slow replies and the broken web form are heard far less often ...
    assert any("太慢" in f for f in faded) and any("表单" in f for f in faded)
    assert any("waited" in f for f in faded)
    # ... and the new assistant brought a complaint of its own.
    new = {t for k in customer.new for t in (k.term, *k.also)}
    assert "答非所问" in new and "chatbot" in new
    assert all(k.after_share > k.before_share for k in customer.new)


def test_a_seasonal_swing_alone_is_not_a_significant_improvement(programme: Programme) -> None:
    """Handle time swings with the season and nothing else changes it on the desk with
    nothing planted: a summer window looks better than the whole baseline year, but not than
    the same summer a year earlier, so the target is neither significant nor met."""
    from improve.data.facts import evaluation_facts
    from improve.data.sample import generate_tickets

    con = duckdb.connect()
    con.register("generated", generate_tickets(planted=False))
    con.execute("CREATE TABLE tickets AS SELECT * FROM generated").fetchall()
    facts = evaluation_facts(
        con,
        before_start=date(2025, 1, 1),
        before_end=date(2026, 1, 1),
        after_start=date(2026, 4, 1),
        after_end=date(2026, 7, 1),
        kpis=["handle_minutes_mean"],
    )
    windows = facts.measure("handle_minutes_mean")
    assert windows is not None
    baseline = sum(windows.before) / len(windows.before)
    target = (
        make_targets()
        .targets[0]
        .model_copy(
            update={"kpi": "handle_minutes_mean", "baseline": baseline, "target": baseline * 0.92}
        )
    )
    result = target_result(target, facts)
    assert result.achievement is not None and result.achievement > 0.5  # looks like progress
    assert result.before_after is not None and result.before_after.moved == "better"
    assert result.same_period is not None and result.same_period.moved is None
    assert result.basis == "same_period" and result.significant is False
    assert result.seasonal and not result.met and result.counted == 0


def test_optimisation_on_the_sample(chain: Chain) -> None:
    op = chain.optimisation
    assert {m.strategy for m in op.standardise} >= {"capacity", "smart-service"}
    assert "skills-training" not in {m.strategy for m in op.standardise}  # a task stalled
    kinds = {(c.kind, c.ref) for c in op.carry_over}
    assert ("incomplete_task", "skills-training/criteria") in kinds
    unmet = next(r.target_id for r in chain.evaluation.results if not r.met)
    assert ("unmet_target", unmet) in kinds
    assert any("供应商延期" in lesson.zh for lesson in op.lessons)
