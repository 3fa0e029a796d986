"""Pilot evaluation: difference in differences with a bootstrap interval, the test that fits
the metric, its power, and a verdict (roll out, extend, stop)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from tests.chain import Chain

from improve.domain.base import Text
from improve.domain.facts import PilotFacts
from improve.domain.programme import Pilot, Programme
from improve.errors import StageError
from improve.stages.pilot import evaluate_pilot, kpi_result


def _pilot(kpis: tuple[str, ...] = ("frt_median_min",)) -> Pilot:
    return Pilot(
        key="p",
        name=Text(zh="试点", en="pilot"),
        strategy="smart-service",
        kpis=kpis,
        scope={"region": "A"},
        start=date(2026, 2, 2),
        end=date(2026, 3, 31),
    )


def _durations(median: float, n: int, seed: int) -> tuple[float, ...]:
    rng = np.random.default_rng(seed)
    return tuple(float(x) for x in median * np.exp(rng.normal(0, 0.9, n)))


def _rates(rate: float, n: int, seed: int) -> tuple[float, ...]:
    rng = np.random.default_rng(seed)
    return tuple(float(x) for x in (rng.random(n) < rate))


def _facts(kpi: str, groups: tuple[tuple[float, ...], ...]) -> PilotFacts:
    pb, pa, cb, ca = groups
    return PilotFacts(
        pilot="p", kpi=kpi, pilot_before=pb, pilot_after=pa, control_before=cb, control_after=ca
    )


def test_the_planted_pilot_rolls_out_with_an_interval_excluding_zero(chain: Chain) -> None:
    east = next(p for p in chain.execution.pilots if p.key == "east-assistant")
    assert east.verdict == "roll_out"
    frt = next(r for r in east.kpis if r.kpi == "frt_median_min")
    assert frt.verdict == "roll_out" and frt.moved == "better" and frt.test == "rank_did"
    assert frt.ci_low is not None and frt.ci_high is not None and frt.ci_high < 0
    assert frt.p_value is not None and frt.p_value < 0.001
    # the assistant and the new form roughly halve first response on email and web
    assert frt.effect is not None and -45 < frt.effect < -25
    fcr = next(r for r in east.kpis if r.kpi == "fcr_rate")
    assert fcr.test == "two_proportion" and fcr.ci_low is not None and fcr.ci_low > 0


def test_a_placebo_pilot_on_an_untouched_region_finds_no_effect(chain: Chain) -> None:
    north = next(p for p in chain.execution.pilots if p.key == "north-scripts")
    assert north.verdict != "roll_out"
    for r in north.kpis:
        assert r.moved is None, r
        assert r.ci_low is not None and r.ci_high is not None and r.ci_low < 0 < r.ci_high
        assert r.p_value is not None and r.p_value > 0.05
    # targets ask fcr for +10 points; the pilot had the power to see that and saw nothing
    fcr = next(r for r in north.kpis if r.kpi == "fcr_rate")
    assert fcr.power is not None and fcr.power > 0.8 and fcr.verdict == "stop"
    assert north.verdict == "extend"  # first response is under-powered: not yet decided


def test_a_rerun_draws_the_same_bootstrap(chain: Chain, programme: Programme) -> None:
    pilot = programme.pilot("east-assistant")
    facts = [f for f in chain.execution_facts.pilots if f.pilot == pilot.key]
    assert evaluate_pilot(pilot, facts) == evaluate_pilot(pilot, facts)


@pytest.mark.parametrize(
    ("after", "verdict", "moved"),
    [(60.0, "roll_out", "better"), (130.0, "stop", "worse"), (100.0, "extend", None)],
)
def test_duration_verdicts(after: float, verdict: str, moved: str | None) -> None:
    groups = (
        _durations(100, 400, 1),
        _durations(after, 400, 2),
        _durations(100, 400, 3),
        _durations(100, 400, 4),
    )
    result = kpi_result(_pilot(), _facts("frt_median_min", groups), wanted=None)
    assert (result.verdict, result.moved) == (verdict, moved)
    assert result.statistic == "median" and result.power is None and result.mde is not None


def test_a_well_powered_pilot_that_sees_nothing_is_stopped() -> None:
    groups = tuple(_rates(0.5, 5000, seed) for seed in range(4))
    result = kpi_result(_pilot(("fcr_rate",)), _facts("fcr_rate", groups), wanted=0.10)
    assert result.test == "two_proportion" and result.moved is None
    assert result.power is not None and result.power > 0.99 and result.verdict == "stop"
    small = kpi_result(_pilot(("fcr_rate",)), _facts("fcr_rate", groups), wanted=0.001)
    assert small.power is not None and small.power < 0.2 and small.verdict == "extend"


def test_too_few_tickets_extend_without_a_verdict() -> None:
    groups = (_durations(100, 10, 1), *(_durations(100, 400, s) for s in (2, 3, 4)))
    result = kpi_result(_pilot(), _facts("frt_median_min", groups), wanted=-10)
    assert result.verdict == "extend" and result.effect is None and result.tickets[0] == 10


def test_a_pilot_harming_one_kpi_is_stopped_whatever_the_others_say() -> None:
    better = (_durations(100, 400, 1), _durations(60, 400, 2), *(_durations(100, 400, s)
              for s in (3, 4)))  # fmt: skip
    worse = (
        _rates(0.6, 3000, 5),
        _rates(0.45, 3000, 6),
        _rates(0.6, 3000, 7),
        _rates(0.6, 3000, 8),
    )
    pilot = _pilot(("frt_median_min", "fcr_rate"))
    evaluation = evaluate_pilot(
        pilot, [_facts("frt_median_min", better), _facts("fcr_rate", worse)]
    )
    assert [r.verdict for r in evaluation.kpis] == ["roll_out", "stop"]
    assert evaluation.verdict == "stop" and "fcr_rate" in evaluation.reason.en
    with pytest.raises(StageError, match="no facts for KPI"):
        evaluate_pilot(pilot, [_facts("fcr_rate", worse)])
