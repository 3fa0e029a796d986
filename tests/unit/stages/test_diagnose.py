"""Diagnose finds what the sample data plants, from the data alone."""

from __future__ import annotations

from datetime import date

from tests.chain import Chain

from improve.data import sample
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


def test_nothing_planted_gives_no_problem_and_no_shift(
    programme: Programme, playbook: Playbook, rules: RootCauseRules
) -> None:
    """The same desk with flat volume and staffing, no weak engineers, no billing rework and
    a complete web form: charts may show the odd special cause, but no problem is reported
    and no KPI of ticket handling shifts."""
    import duckdb

    from improve.data.facts import window_facts
    from improve.data.sample import generate_tickets

    con = duckdb.connect()
    con.register("generated", generate_tickets(planted=False))
    con.execute("CREATE TABLE tickets AS SELECT * FROM generated").fetchall()
    facts = window_facts(con, start=date(2025, 1, 1), end=date(2026, 1, 1))
    report = diagnose(facts, programme=programme, playbook=playbook, rules=rules)
    assert report.problems == ()
    shifted = {b.kpi for b in report.baseline if b.chart and b.chart.shift}
    # Open tickets pile up from the export's first day (some are never closed), and handle
    # time follows the season (charted, yet no problem): only these may move.
    assert shifted <= {"backlog_end", "handle_minutes_mean"}


def test_the_front_line_slowdown_is_charted(chain: Chain) -> None:
    frt = chain.diagnosis.kpi_baseline("frt_median_min").chart
    # whole ISO weeks inside 2025: 2025-01-06 to the week of 2025-12-22
    assert frt is not None and frt.kind == "xmr" and len(frt.weeks) == 51
    assert frt.shift is not None and frt.shift.worse and frt.shift.after > frt.shift.before
    fcr = chain.diagnosis.kpi_baseline("fcr_rate").chart
    assert fcr is not None and fcr.kind == "p"
    front = next(s for s in chain.facts.segments if s.value == "一线客服组")
    assert len(front.weekly) == 51


def test_every_planted_problem_is_ranked_with_its_segment_cause_and_start(chain: Chain) -> None:
    """Each planted problem is among the top-ranked, with its segment, its category and the
    week it started (within two weeks), dated by its own segment's weekly series."""
    truth = {
        (RootCause.TOOLS, "channel", "web"): sample.WEB_FORM_RELEASE,
        (RootCause.PROCESS, "category", "账单与退款"): sample.REFUND_APPROVAL,
        (RootCause.RESOURCES, "team", "一线客服组"): sample.ATTRITION,
    }
    problems = chain.diagnosis.problems
    top = problems[:6]  # the demo programme targets its first six (cycle.max_problems)
    for (category, dimension, segment), started in truth.items():
        found = [
            p for p in top if (p.category, p.dimension, p.segment) == (category, dimension, segment)
        ]
        assert len(found) == 1, (category, segment)
        assert found[0].started is not None
        assert abs((found[0].started - started).days) <= 14, (category, found[0].started)
    people = [p for p in top if p.category == RootCause.PEOPLE]
    assert len(people) == 1 and people[0].dimension == "agent"
    assert people[0].started is not None
    assert abs((people[0].started - sample.PRODUCT_RELEASE).days) <= 14
    # Nothing else is reported: every problem is one of the four planted.
    assert len(problems) == 4


def test_the_diagnosis_carries_the_customers_voice_per_problem(chain: Chain) -> None:
    """The sample's surveys: CSAT and NPS by segment, and each problem's own complaints (the
    web form's 表单, the billing problem's 退款) with quotes from its segment's tickets."""
    voice = chain.diagnosis.voice
    assert voice is not None and voice.surveys > 5000 and voice.nps is not None
    assert {s.dimension for s in voice.segments} >= {"channel", "team", "category"}
    by_problem = {v.problem: v for v in voice.problems}
    assert set(by_problem) == {p.id for p in chain.diagnosis.problems}
    for p in chain.diagnosis.problems:
        terms = {t for k in by_problem[p.id].keywords for t in (k.term, *k.also)}
        quotes = by_problem[p.id].quotes
        if p.segment == "web":
            assert any("表单" in t for t in terms)
        if p.segment == "账单与退款":
            assert "退款" in terms
        for q in quotes:
            assert q.segments.get(p.dimension) in (p.members or (p.segment,))
