"""Diagnose finds what the sample data plants, from the data alone."""

from __future__ import annotations

from tests.chain import Chain

from improve.domain.base import RootCause
from improve.domain.programme import Playbook, Programme, RootCauseRules
from improve.stages.diagnose import diagnose


def test_baseline_gaps_against_benchmarks(chain: Chain) -> None:
    d = chain.diagnosis
    fcr = d.kpi_baseline("fcr_rate")
    assert fcr.benchmark == 0.70 and fcr.gap is not None and fcr.gap > 0.1
    assert "SQM" in (fcr.benchmark_source or "")
    frt = d.kpi_baseline("frt_median_min")
    assert frt.gap is not None and frt.gap < 0  # better than the benchmark ...
    assert frt.deteriorated  # ... but getting worse as front-line load grows
    assert len(frt.monthly) == 12


def test_each_planted_root_cause_is_found_with_its_segment(chain: Chain) -> None:
    found = {(p.category, p.segment) for p in chain.diagnosis.problems}
    assert (RootCause.TOOLS, "web") in found
    assert (RootCause.PROCESS, "账单与退款") in found
    assert (RootCause.RESOURCES, "一线客服组") in found
    people = [p for p in chain.diagnosis.problems if p.category == RootCause.PEOPLE]
    # The four planted second-line engineers, and no one else, are flagged.
    weak = {name for p in people for name in p.segment.split("、")}
    assert len(weak) == 4
    team_of = {s.value: s.parent for s in chain.facts.segments if s.dimension == "agent"}
    assert {team_of[n] for n in weak} == {"二线技术组"}


def test_problems_carry_evidence_priority_and_strategy(chain: Chain) -> None:
    problems = chain.diagnosis.problems
    assert [p.priority for p in problems] == list(range(1, len(problems) + 1))
    assert [p.quadrant for p in problems] == sorted(p.quadrant for p in problems)
    for p in problems:
        assert p.evidence and 0 <= p.confidence <= 1 and 0 <= p.impact <= 1
        assert p.strategy


def test_drivers_contributions_add_up_per_dimension(chain: Chain) -> None:
    for segments in chain.diagnosis.drivers.values():
        for dim in {s.dimension for s in segments}:
            if dim in ("channel", "category", "team", "priority", "region", "product"):
                assert abs(sum(s.contribution for s in segments if s.dimension == dim) - 1) < 1e-6


def test_diagnosis_is_deterministic(
    chain: Chain, programme: Programme, playbook: Playbook, rules: RootCauseRules
) -> None:
    again = diagnose(chain.facts, programme=programme, playbook=playbook, rules=rules)
    assert again == chain.diagnosis
