"""Two-window comparisons: the change, its interval and the test, for each kind of KPI."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from tests.samples import make_targets

from improve.domain.artifacts import CustomerMeasure, CustomerVerification, TargetResult
from improve.domain.base import Text
from improve.domain.facts import EvaluationFacts
from improve.domain.programme import Programme, RatingWeights, Withdrawal
from improve.stages.compare import compare
from improve.stages.evaluate import outcome_of, rating_of, target_result

DAY = date(2025, 1, 1)


def _compare(kpi: str, reference: np.ndarray, current: np.ndarray):  # type: ignore[no-untyped-def]
    return compare(
        kpi, list(reference), list(current), basis="before_after",
        reference_start=DAY, reference_end=DAY,
    )  # fmt: skip


def test_a_faster_first_response_is_better_with_an_interval_around_it() -> None:
    rng = np.random.default_rng(1)
    before, after = rng.lognormal(4.0, 0.9, 4000), rng.lognormal(3.7, 0.9, 3000)
    c = _compare("frt_median_min", before, after)
    assert c.test == "mann_whitney" and c.moved == "better"
    assert c.change == pytest.approx(np.median(after) - np.median(before))
    assert c.ci_low < c.change < c.ci_high < 0
    assert c.reference.low < c.reference.value < c.reference.high


def test_without_a_change_intervals_cover_zero_and_false_alarms_are_rare() -> None:
    """Calibration over 200 pairs of draws from one distribution: the 95% interval covers
    zero about 95% of the time, and a change is declared about 5% of the time or less."""
    covered = alarms = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        c = _compare("frt_median_min", rng.lognormal(4, 0.9, 2000), rng.lognormal(4, 0.9, 2000))
        covered += c.ci_low < 0 < c.ci_high
        alarms += c.moved is not None
    assert covered >= 0.92 * 200 and alarms <= 0.08 * 200


def test_rates_use_the_two_proportion_test_and_higher_is_better_for_fcr() -> None:
    rng = np.random.default_rng(3)
    c = _compare("fcr_rate", rng.random(5000) < 0.55, rng.random(5000) < 0.62)
    assert c.test == "two_proportion" and c.moved == "better" and c.ci_low > 0
    worse = _compare("reopen_rate", rng.random(5000) < 0.08, rng.random(5000) < 0.11)
    assert worse.moved == "worse" and worse.ci_low > 0


def test_too_few_tickets_give_values_but_no_verdict() -> None:
    c = _compare("csat_mean", np.array([4.0, 5.0, 3.0]), np.array([5.0, 5.0]))
    assert c.change == pytest.approx(5 - 4)
    assert c.p_value is None and c.ci_low is None and c.moved is None


def _result(counted: float, met: bool) -> TargetResult:
    return TargetResult(
        target_id="T1", kpi="fcr_rate", baseline=0.5, target=0.6, actual=0.6,
        achievement=counted, achievement_display=counted, counted=counted, met=met,
    )  # fmt: skip


CUSTOMER = CustomerVerification(
    source="tickets",
    measures=(CustomerMeasure(kpi="csat_rate", comparison=None),),
    comments_before={},
    comments_after={},
    faded=(),
    new=(),
)


def test_the_rating_uses_the_configured_weights() -> None:
    results = [_result(1.0, True), _result(0.5, False)]
    default = rating_of(results, CUSTOMER, 0.8, RatingWeights())
    # targets 75, customers 50 (nothing judged), discipline 80
    assert default.score == pytest.approx(0.5 * 75 + 0.3 * 50 + 0.2 * 80)
    heavy = rating_of(
        results, CUSTOMER, 0.8, RatingWeights(targets=0.8, customer=0.1, discipline=0.1)
    )
    assert heavy.score == pytest.approx(0.8 * 75 + 0.1 * 50 + 0.1 * 80)
    with pytest.raises(ValueError, match=r"sum to 1\.1"):
        RatingWeights(targets=0.6, customer=0.3, discipline=0.2)


def test_outcomes(programme: Programme) -> None:
    rating = rating_of([_result(1.0, True)], CUSTOMER, 1.0, RatingWeights())
    assert outcome_of([_result(1.0, True)], rating, programme)[0] == "successful"
    low = rating_of([_result(0.0, False)], CUSTOMER, 0.0, RatingWeights())
    assert outcome_of([_result(0.0, False)], low, programme)[0] == "unsuccessful"
    mixed = [_result(1.0, True), _result(0.0, False)]
    assert outcome_of(mixed, low, programme)[0] == "partly_successful"
    cycle = programme.cycle.model_copy(
        update={
            "withdrawn": Withdrawal(
                on=date(2026, 3, 1), reason=Text(zh="业务调整", en="reorganised")
            )
        }
    )
    withdrawn = programme.model_copy(update={"cycle": cycle})
    outcome, reason = outcome_of(mixed, rating, withdrawn)
    assert outcome == "withdrawn" and "reorganised" in reason.en and "业务调整" in reason.zh


def _facts(actual: float, kpi: str) -> EvaluationFacts:
    return EvaluationFacts(
        before_start=date(2025, 1, 1), before_end=date(2026, 1, 1),
        after_start=date(2026, 4, 1), after_end=date(2026, 7, 1),
        last_year_start=date(2025, 4, 1), last_year_end=date(2025, 7, 1),
        after={kpi: actual}, measures=(), customer_source="tickets", customer=(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("actual", "achieved", "met"),
    [(40.0, 1.0, True), (35.0, 1.5, True), (55.0, -0.5, False), (45.0, 0.5, False)],
    ids=["met exactly", "overshot", "got worse", "half way"],
)
def test_target_results_without_a_per_ticket_measure(
    actual: float, achieved: float, met: bool
) -> None:
    """Tickets per agent (baseline 50, target 40, lower is better) has no per-ticket measure:
    achievement alone decides, and nothing claims a significance it cannot test."""
    target = (
        make_targets()
        .targets[0]
        .model_copy(update={"kpi": "tickets_per_agent", "baseline": 50.0, "target": 40.0})
    )
    r = target_result(target, _facts(actual, "tickets_per_agent"))
    assert r.achievement == pytest.approx(achieved) and r.met is met
    assert r.basis is None and r.significant is None and r.before_after is None
    assert r.achievement_display == pytest.approx(min(max(achieved, 0), 1.5))
    assert r.counted == pytest.approx(min(max(achieved, 0), 1))
