"""SMART targets: proposed from the diagnosis, checked letter by letter."""

from __future__ import annotations

from datetime import date

import pytest
from tests.chain import Chain
from tests.samples import ref_of

from improve.domain.artifacts import SmartCheck, Target
from improve.domain.base import Dimension, Text
from improve.domain.kpi import KPIS
from improve.domain.programme import Programme, TargetSetting
from improve.errors import StageError
from improve.stages.target import best_decile, set_targets, smart_check

_OK = SmartCheck(specific=True, measurable=True, achievable=True, relevant=True, time_bound=True)


def _target(
    kpi: str,
    baseline: float,
    value: float,
    deadline: date = date(2026, 6, 30),
    rule: str = "close 60% of the gap",
) -> Target:
    spec = KPIS[kpi]
    assert spec.direction is not None and spec.dimension is not None
    return Target(
        id="T1",
        kpi=kpi,
        dimension=spec.dimension,
        direction=spec.direction,
        unit=spec.unit,
        baseline=baseline,
        target=value,
        benchmark=None,
        best_decile=None,
        deadline=deadline,
        owner_department="cs",
        problem_ids=("P1",),
        objective=Text(zh="目标", en="objective"),
        rule=Text(zh=rule, en=rule),
        smart=_OK,
    )


@pytest.mark.parametrize(
    ("kpi", "baseline", "value", "dimension"),
    [
        ("frt_mean_min", 30, 15, Dimension.EFFICIENCY),  # response time 30 -> 15 min
        ("fcr_rate", 0.70, 0.85, Dimension.QUALITY),  # first-contact resolution 70% -> 85%
        ("csat_rate", 0.80, 0.90, Dimension.EXPERIENCE),  # CSAT 80 -> 90
        ("tickets_per_agent", 50, 40, Dimension.COST),  # tickets per agent 50 -> 40
    ],
)
def test_the_sources_four_examples_pass(
    kpi: str, baseline: float, value: float, dimension: Dimension
) -> None:
    target = _target(kpi, baseline, value)
    assert target.dimension == dimension
    check = smart_check(target, plan_start=date(2026, 1, 5), evidence_backed=True)
    assert check.passed, check.failures


def test_a_target_in_the_wrong_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="not better than baseline"):
        _target("frt_mean_min", 30, 45)


@pytest.mark.parametrize(
    ("change", "deadline", "backed", "letter"),
    [
        ((30, 5), date(2026, 6, 30), True, "A"),  # an 83% cut in one cycle
        ((30, 15), date(2027, 6, 30), True, "T"),  # beyond twelve months
        ((30, 15), date(2026, 6, 30), False, "R"),  # no evidenced problem behind it
    ],
)
def test_smart_failures_say_which_letter(
    change: tuple[float, float], deadline: date, backed: bool, letter: str
) -> None:
    check = smart_check(
        _target("frt_mean_min", *change, deadline=deadline),
        plan_start=date(2026, 1, 5),
        evidence_backed=backed,
    )
    assert not check.passed
    assert [f.en[0] for f in check.failures] == [letter]


def test_targets_from_the_sample_diagnosis(chain: Chain) -> None:
    targets = chain.targets.targets
    assert {t.kpi for t in targets} >= {"fcr_rate", "reopen_rate", "frt_median_min"}
    problem_ids = {p.id for p in chain.diagnosis.problems}
    for t in targets:
        assert t.smart.passed, (t.id, t.smart.failures)
        assert set(t.problem_ids) <= problem_ids
        assert t.deadline == date(2026, 6, 30)
        assert t.sub_targets and abs(sum(s.volume_share for s in t.sub_targets) - 1) < 1e-3
    fcr = next(t for t in targets if t.kpi == "fcr_rate")
    # 60% of the gap from 53.5% to the 70% benchmark.
    assert fcr.target == pytest.approx(fcr.baseline + 0.6 * (0.70 - fcr.baseline), abs=1e-3)
    assert chain.targets.derived_from[0].stage.value == "diagnose"


def test_sub_targets_add_up_to_the_overall_target(chain: Chain) -> None:
    for t in chain.targets.targets:
        if KPIS[t.kpi].is_rate:
            weighted = sum(s.target * s.volume_share for s in t.sub_targets)
            assert weighted == pytest.approx(t.target, abs=0.002), t.kpi
            assert all((s.target - s.baseline) * (t.target - t.baseline) > 0 for s in t.sub_targets)


def _with_settings(programme: Programme, *settings: TargetSetting) -> Programme:
    cycle = programme.cycle.model_copy(update={"targets": settings})
    return programme.model_copy(update={"cycle": cycle})


def test_a_target_set_by_the_owner_replaces_the_proposal(
    chain: Chain, programme: Programme
) -> None:
    fcr = next(t for t in chain.targets.targets if t.kpi == "fcr_rate")
    p = _with_settings(programme, TargetSetting(kpi="fcr_rate", target=0.60))
    targets = set_targets(chain.diagnosis, source=ref_of(chain.diagnosis), programme=p)
    mine = next(t for t in targets.targets if t.kpi == "fcr_rate")
    assert mine.target == 0.60 and mine.rule.en == "set by the programme owner"
    assert mine.problem_ids == fcr.problem_ids and mine.smart.passed
    assert mine.cascade is not None and mine.cascade.holds


def test_beyond_the_best_decile_needs_a_written_justification(
    chain: Chain, programme: Programme
) -> None:
    row = chain.diagnosis.kpi_baseline("reopen_rate")
    decile = best_decile("reopen_rate", row)
    assert decile is not None
    value = round(decile - 0.01, 3)
    bare = _with_settings(programme, TargetSetting(kpi="reopen_rate", target=value))
    targets = set_targets(chain.diagnosis, source=ref_of(chain.diagnosis), programme=bare)
    t = next(t for t in targets.targets if t.kpi == "reopen_rate")
    assert not t.smart.achievable
    assert any("best decile" in f.en and "justification" in f.en for f in t.smart.failures)
    argued = _with_settings(
        programme,
        TargetSetting(kpi="reopen_rate", target=value, justification="new release fixes bug X"),
    )
    targets = set_targets(chain.diagnosis, source=ref_of(chain.diagnosis), programme=argued)
    t = next(t for t in targets.targets if t.kpi == "reopen_rate")
    assert t.smart.passed and t.justification == "new release fixes bug X"


def test_a_target_equal_to_its_baseline_is_refused_at_target_setting(
    chain: Chain, programme: Programme
) -> None:
    baseline = next(t for t in chain.targets.targets if t.kpi == "fcr_rate").baseline
    p = _with_settings(programme, TargetSetting(kpi="fcr_rate", target=baseline))
    with pytest.raises(StageError, match="achievement would divide by zero"):
        set_targets(chain.diagnosis, source=ref_of(chain.diagnosis), programme=p)


def test_a_target_no_problem_asks_for_fails_s_and_r(chain: Chain, programme: Programme) -> None:
    row = chain.diagnosis.kpi_baseline("csat_mean")
    decile = best_decile("csat_mean", row)
    assert row.value is not None and decile is not None and decile > row.value
    within = round((row.value + decile) / 2, 2)  # better than now, within its own history
    p = _with_settings(programme, TargetSetting(kpi="csat_mean", target=within))
    targets = set_targets(chain.diagnosis, source=ref_of(chain.diagnosis), programme=p)
    t = next(t for t in targets.targets if t.kpi == "csat_mean")
    assert not t.smart.specific and not t.smart.relevant
    assert [f.en[0] for f in t.smart.failures] == ["S", "R"]
