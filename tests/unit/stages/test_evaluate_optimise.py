"""Achievement, the overall rating, and what carries into the next cycle."""

from __future__ import annotations

from datetime import date

import pytest
from tests.chain import Chain

from improve.stages.evaluate import achievement, grade_of


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
    assert all(c.improved for c in ev.customer)
    assert ev.outcome == "partly_successful" and ev.grade in ("A", "B")


def test_optimisation_on_the_sample(chain: Chain) -> None:
    op = chain.optimisation
    assert {m.strategy for m in op.standardise} >= {"capacity", "smart-service"}
    assert "skills-training" not in {m.strategy for m in op.standardise}  # a task stalled
    kinds = {(c.kind, c.ref) for c in op.carry_over}
    assert ("incomplete_task", "skills-training/criteria") in kinds
    unmet = next(r.target_id for r in chain.evaluation.results if not r.met)
    assert ("unmet_target", unmet) in kinds
    assert any("供应商延期" in lesson.zh for lesson in op.lessons)
