"""The customer's voice links each problem to its segment's survey figures, the words its
comments over-use and quotes using them; on the sample data, to what the sample plants."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from improve.data.voice import voice_facts
from improve.domain.artifacts import Evidence, Problem
from improve.domain.base import RootCause, Text
from improve.domain.voice import (
    Keyword,
    Quote,
    SegmentTerms,
    SegmentVoice,
    VoiceFacts,
    lifted_keywords,
)
from improve.stages.voice import customer_voice


def problem(pid: str, dimension: str, segment: str, members: tuple[str, ...] = ()) -> Problem:
    return Problem(
        id=pid,
        key=f"process/{dimension}/{segment}",
        kpi="fcr_rate",
        title=Text(zh="问题", en="Problem"),
        category=RootCause.PROCESS,
        suggested=RootCause.PROCESS,
        dimension=dimension,
        segment=segment,
        members=members,
        evidence=(
            Evidence(
                signal="rework",
                metric="reopen_rate",
                segment_value=0.2,
                overall_value=0.1,
                strength=2.0,
                text=Text(zh="返工", en="rework"),
            ),
        ),
        confidence=0.8,
        affected_tickets=100,
        impact=0.5,
        feasibility=0.5,
        quadrant=1,
        priority=int(pid[1:]),
        strategy="fix",
    )


def seg(
    dimension: str, value: str, surveys: int, satisfied: int, promoters: int, detractors: int
) -> SegmentVoice:
    """A segment whose surveys all carry a CSAT (4 or 2) and an NPS (10, 7 or 0)."""
    return SegmentVoice(
        dimension=dimension,
        value=value,
        surveys=surveys,
        rated=surveys,
        csat_rate=satisfied / surveys,
        csat_mean=(4 * satisfied + 2 * (surveys - satisfied)) / surveys,
        nps_answers=surveys,
        nps=100 * (promoters - detractors) / surveys,
        comments=surveys,
    )


def kw(term: str, count: int, share: float) -> Keyword:
    return Keyword(term=term, language="zh", count=count, share=share)


def quote(sid: str, text: str, csat: int, terms: tuple[str, ...], **segments: str) -> Quote:
    return Quote(
        survey_id=sid, ticket_id=f"T{sid}", text=text, csat=csat, segments=segments, terms=terms
    )


def terms(dimension: str, value: str, comments: int, **counts: int) -> SegmentTerms:
    return SegmentTerms(
        dimension=dimension, value=value, comments={"zh": comments}, counts={"zh": counts}
    )


# 100 Chinese comments: 20 say 表单, 20 say 退款, 50 say 客服.
OVERALL = (kw("客服", 50, 0.5), kw("表单", 20, 0.2), kw("退款", 20, 0.2))
FACTS = VoiceFacts(
    start=date(2025, 1, 1),
    end=date(2026, 1, 1),
    surveys=100,
    rated=100,
    csat_rate=0.8,
    csat_mean=3.6,
    nps_answers=100,
    nps=20.0,
    comments=100,
    comments_by_language={"zh": 100},
    negative_comments={"zh": 20},
    segments=(
        seg("channel", "web", 40, 24, 10, 14),
        seg("channel", "email", 60, 56, 30, 6),
        seg("agent", "甲", 10, 5, 1, 5),
        seg("agent", "乙", 10, 7, 3, 3),
        seg("agent", "丙", 80, 68, 36, 12),
    ),
    keywords=OVERALL,
    negative_keywords=(kw("表单", 12, 0.6), kw("退款", 8, 0.4)),
    terms=OVERALL,
    segment_terms=(
        terms("channel", "web", 40, 表单=18, 客服=20, 退款=4),
        terms("channel", "email", 60, 表单=2, 客服=30, 退款=16),
        # Neither agent alone reaches 5 comments with 退款; together they do.
        terms("agent", "甲", 10, 退款=4, 客服=5),
        terms("agent", "乙", 10, 退款=3, 客服=5),
        terms("agent", "丙", 80, 退款=13, 客服=40, 表单=20),
    ),
    quotes=(
        quote("S1", "网页表单又要重填", 2, ("表单",), channel="web", agent="丙"),
        quote("S2", "网页表单又要重填", 1, ("表单",), channel="web", agent="丙"),  # same text
        quote("S3", "表单字段不全，客服又问", 1, ("客服", "表单"), channel="web", agent="丙"),
        quote("S4", "客服回复慢", 1, ("客服",), channel="web", agent="丙"),  # no over-used term
        quote("S5", "邮件里的表单看不懂", 1, ("表单",), channel="email", agent="丙"),
        quote("S6", "退款被转了几个部门", 2, ("退款",), channel="email", agent="甲"),
        quote("S7", "退款一直没到账", 3, ("退款",), channel="email", agent="乙"),
        quote("S8", "退款太慢", 1, ("退款",), channel="email", agent="丙"),
    ),
)


def test_a_segment_gets_its_over_used_terms_and_their_quotes() -> None:
    voice = customer_voice(FACTS, [problem("P1", "channel", "web")])
    (web,) = voice.problems
    # 表单: 18 of web's 40 comments (45%) against 20% overall, lift 2.25; 客服 is as common
    # in web as anywhere (lift 1.0) and 退款 rarer.
    assert [(k.term, k.count) for k in web.keywords] == [("表单", 18)]
    assert web.keywords[0].lift == pytest.approx(2.25)
    assert web.keywords[0].share == pytest.approx(0.45)
    # Web's quotes with 表单, lowest CSAT first, one per text: never email's S5, never S4.
    assert [q.survey_id for q in web.quotes] == ["S2", "S3"]
    assert web.surveys == 40 and web.csat_rate == pytest.approx(0.6)
    assert web.csat_rate_vs_overall == pytest.approx(-0.2)
    assert web.nps == pytest.approx(-10.0) and web.nps_vs_overall == pytest.approx(-30.0)


def test_a_group_of_agents_pools_its_members() -> None:
    voice = customer_voice(FACTS, [problem("P2", "agent", "甲、乙", ("甲", "乙"))])
    (group,) = voice.problems
    assert group.members == ("甲", "乙")
    # 7 of 20 comments (35%) against 20%: lift 1.75, though each agent alone has fewer than 5.
    assert [(k.term, k.count) for k in group.keywords] == [("退款", 7)]
    assert group.keywords[0].lift == pytest.approx(1.75)
    assert [q.survey_id for q in group.quotes] == ["S6", "S7"]  # not 丙's S8
    # Pooled exactly: 12 of 20 satisfied, NPS (4 - 8) / 20.
    assert group.surveys == 20 and group.csat_rate == pytest.approx(0.6)
    assert group.csat_mean == pytest.approx((4 * 12 + 2 * 8) / 20)
    assert group.nps == pytest.approx(-20.0)


def test_a_segment_without_surveys_has_no_voice() -> None:
    voice = customer_voice(FACTS, [problem("P3", "category", "账单与退款")])
    (p,) = voice.problems
    assert (p.surveys, p.csat_rate, p.nps, p.csat_rate_vs_overall) == (0, None, None, None)
    assert p.keywords == () and p.quotes == ()


def test_overall_figures_and_reported_segments() -> None:
    voice = customer_voice(FACTS, [])
    assert (voice.surveys, voice.csat_rate, voice.nps) == (100, 0.8, 20.0)
    assert {s.dimension for s in voice.segments} == {"channel"}  # agents stay out
    assert voice.keywords == FACTS.keywords
    assert voice.negative_keywords == FACTS.negative_keywords


@pytest.mark.parametrize(
    ("count", "comments", "kept"),
    [
        (5, 10, True),  # 50% vs 20%: lift 2.5
        (4, 8, False),  # too few comments use it
        (6, 20, True),  # 30% vs 20%: lift exactly 1.5
        (5, 20, False),  # 25% vs 20%: lift 1.25
    ],
)
def test_lift_thresholds(count: int, comments: int, kept: bool) -> None:
    found = lifted_keywords({"zh": {"退款": count}}, {"zh": comments}, OVERALL, {"zh": 100})
    assert bool(found) is kept


@pytest.mark.parametrize(("second", "order"), [(17, ["乙", "甲"]), (12, ["甲", "乙"])])
def test_lifted_terms_rank_by_count_times_log_lift(second: int, order: list[str]) -> None:
    overall = (kw("甲", 50, 0.5), kw("乙", 10, 0.1))  # of 100 comments
    # Of the segment's 50 comments 40 say 甲 (lift 1.6, 40 ln 1.6 = 18.8). 17 saying 乙
    # (lift 3.4, 17 ln 3.4 = 20.8) rank first, though lift x count would put 甲 first (64 to
    # 57.8); 12 (lift 2.4, 10.5) do not.
    found = lifted_keywords({"zh": {"甲": 40, "乙": second}}, {"zh": 50}, overall, {"zh": 100})
    assert [k.term for k in found] == order


def test_top_terms_per_language() -> None:
    overall = tuple(kw(f"词{i}", 10, 0.1) for i in range(8)) + tuple(
        Keyword(term=f"w{i}", language="en", count=2, share=0.1) for i in range(3)
    )
    found = lifted_keywords(
        {"zh": {f"词{i}": 10 + i for i in range(8)}, "en": {f"w{i}": 5 for i in range(3)}},
        {"zh": 50, "en": 10},
        overall,
        {"zh": 100, "en": 20},
    )
    assert [k.term for k in found if k.language == "zh"] == ["词7", "词6", "词5", "词4", "词3"]
    assert [k.term for k in found if k.language == "en"] == ["w0", "w1", "w2"]


def test_sample_problems_hear_what_the_sample_plants(sample_con: duckdb.DuckDBPyConnection) -> None:
    facts = voice_facts(sample_con, start=date(2025, 1, 1), end=date(2026, 1, 1))
    assert facts is not None
    voice = customer_voice(
        facts, [problem("P1", "category", "账单与退款"), problem("P2", "channel", "web")]
    )
    billing, web = voice.problems
    assert {"退款", "部门"} & {k.term for k in billing.keywords}
    assert "表单" in {k.term for k in web.keywords}
    assert any(k.language == "en" for k in web.keywords)  # top terms per language
    for p, dim, value in ((billing, "category", "账单与退款"), (web, "channel", "web")):
        assert p.quotes and all(q.segments[dim] == value for q in p.quotes)
        assert all(q.csat is not None and q.csat <= 3 for q in p.quotes)
        assert all(set(q.terms) & {k.term for k in p.keywords} for q in p.quotes)
    # The broken web form (extra replies) shows in the scores too.
    assert web.csat_rate_vs_overall is not None and web.csat_rate_vs_overall < 0
