"""Survey facts on a hand-built DuckDB: keywords counted once per comment, stopwords left
out, segment CSAT and NPS as computed by hand, comments carried verbatim."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from improve.data.kpis import DIMENSIONS
from improve.data.voice import comment_terms, voice_facts
from improve.domain.voice import VoiceFacts

START, END = date(2025, 1, 1), date(2026, 1, 1)
HYPERLINK = '=HYPERLINK("http://evil.example","退款")'
SCRIPT = "<script>alert(1)</script> refund failed"

TICKETS = [
    # ticket_id, channel, category, team, agent, priority, region, product
    ("T1", "web", "账单与退款", "账务组", "张伟", "高", "华东", "云盘"),
    ("T2", "web", "账单与退款", "账务组", "李娜", "中", "华北", "云盘"),
    ("T3", "email", "功能咨询", "一线客服组", "王芳", "中", "华东", "会员"),
    ("T4", "chat", "功能咨询", "一线客服组", "王芳", "低", "华南", "会员"),
]
SURVEYS: list[tuple[Any, ...]] = [
    # survey_id, answered_at, ticket_id, csat, nps, comment, region, channel
    ("S01", "2025-03-01", "T1", 1, 2, "退款流程太复杂，退款等了3天", "华东", "web"),
    ("S02", "2025-03-02", "T2", 2, 5, "我们的退款一直没有处理", "华北", "web"),
    ("S03", "2025-03-03", "T3", 5, 10, "客服很专业，很快就解决了", "华东", "email"),
    ("S04", "2025-03-04", "T4", 4, 9, "The agent was quick and professional", "华南", "chat"),
    ("S05", "2025-03-05", "T1", 2, 6, "Refunds take too long, the refund is late", "华东", "web"),
    ("S06", "2025-03-06", "T3", 3, 7, HYPERLINK, "华东", "email"),
    ("S07", "2025-03-07", "T4", 1, 0, SCRIPT, "华南", "chat"),
    ("S08", "2025-03-08", "T2", None, 8, None, "华北", "web"),
    ("S09", "2025-03-09", "TX", 5, 10, "很好", "西南", "phone"),  # ticket not loaded
    ("S10", "2024-12-31", "T1", 1, 0, "退款", "华东", "web"),  # before the window
    ("S11", "2025-03-11", "T3", 4, None, "   ", "华东", "email"),  # blank comment
]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute(
        "CREATE TABLE tickets (ticket_id VARCHAR, channel VARCHAR, category VARCHAR, "
        "team VARCHAR, agent VARCHAR, priority VARCHAR, region VARCHAR, product VARCHAR)"
    )
    c.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?)", TICKETS)
    c.execute(
        "CREATE TABLE surveys (survey_id VARCHAR, answered_at TIMESTAMP, ticket_id VARCHAR, "
        "csat BIGINT, nps BIGINT, comment VARCHAR, region VARCHAR, channel VARCHAR)"
    )
    c.executemany("INSERT INTO surveys VALUES (?, ?, ?, ?, ?, ?, ?, ?)", SURVEYS)
    yield c
    c.close()


@pytest.fixture
def facts(con: duckdb.DuckDBPyConnection) -> VoiceFacts:
    out = voice_facts(con, start=START, end=END)
    assert out is not None
    return out


def _in_window() -> list[dict[str, Any]]:
    """The surveys answered in the window, each with its ticket's dimension values."""
    tickets = {t[0]: dict(zip(DIMENSIONS, t[1:], strict=True)) for t in TICKETS}
    rows = []
    for sid, answered, tid, csat, nps, comment, region, channel in SURVEYS:
        if not START <= datetime.fromisoformat(answered).date() < END:
            continue
        dims = tickets.get(tid) or {"channel": channel, "region": region}
        rows.append({"survey_id": sid, "csat": csat, "nps": nps, "comment": comment, **dims})
    return rows


def _reference(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """KPI.md's survey figures, one answer at a time."""
    rated = [r["csat"] for r in rows if r["csat"] is not None]
    nps = [r["nps"] for r in rows if r["nps"] is not None]
    return {
        "surveys": len(rows),
        "rated": len(rated),
        "csat_rate": sum(c >= 4 for c in rated) / len(rated) if rated else None,
        "csat_mean": sum(rated) / len(rated) if rated else None,
        "nps_answers": len(nps),
        "nps": 100 * (sum(n >= 9 for n in nps) - sum(n <= 6 for n in nps)) / len(nps)
        if nps
        else None,
        "comments": sum(1 for r in rows if r["comment"] and r["comment"].strip()),
    }


def _figures(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in _reference([])}


def test_no_surveys_table_gives_none() -> None:
    con = duckdb.connect()
    assert voice_facts(con, start=START, end=END) is None


def test_an_empty_window_has_no_figures(con: duckdb.DuckDBPyConnection) -> None:
    facts = voice_facts(con, start=date(2030, 1, 1), end=date(2031, 1, 1))
    assert facts is not None
    assert (facts.surveys, facts.csat_rate, facts.nps, facts.comments) == (0, None, None, 0)
    assert facts.segments == facts.keywords == facts.quotes == facts.segment_terms == ()


def test_without_tickets_only_the_surveys_own_dimensions(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute("DROP TABLE tickets")
    facts = voice_facts(con, start=START, end=END)
    assert facts is not None and facts.surveys == 10
    assert {s.dimension for s in facts.segments} == {"channel", "region"}
    assert all(set(q.segments) == {"channel", "region"} for q in facts.quotes)


def test_overall_and_segment_figures_match_a_hand_computation(facts: VoiceFacts) -> None:
    rows = _in_window()
    assert _figures(facts) == pytest.approx(_reference(rows))
    expected = {
        (dim, value): _reference([r for r in rows if r.get(dim) == value])
        for dim in DIMENSIONS
        for value in {r.get(dim) for r in rows} - {None}
    }
    got = {(s.dimension, s.value): _figures(s) for s in facts.segments}
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        assert got[key] == pytest.approx(want), key
    # The unknown ticket's survey counts under its own channel and region only.
    assert got["channel", "phone"]["surveys"] == 1
    assert not any(s.value == "phone" for s in facts.segments if s.dimension != "channel")


def test_web_segment_by_hand(facts: VoiceFacts) -> None:
    web = next(s for s in facts.segments if (s.dimension, s.value) == ("channel", "web"))
    # S01 (1, 2), S02 (2, 5), S05 (2, 6), S08 (no CSAT, 8): S10 is before the window.
    assert (web.surveys, web.rated, web.nps_answers, web.comments) == (4, 3, 4, 3)
    assert web.csat_rate == 0 and web.csat_mean == pytest.approx(5 / 3)
    assert web.nps == pytest.approx(-75.0)  # no promoter, three detractors of four


def test_keywords_count_once_per_comment_without_stopwords(facts: VoiceFacts) -> None:
    zh = {k.term: k for k in facts.keywords if k.language == "zh"}
    en = {k.term: k for k in facts.keywords if k.language == "en"}
    # Chinese: S01 (twice), S02 and S06 say 退款; comments S01 S02 S03 S06 S09 are Chinese.
    assert facts.comments_by_language == {"zh": 5, "en": 3}
    assert zh["退款"].count == 3 and zh["退款"].share == pytest.approx(3 / 5)
    assert {"我们", "一直", "没有", "的", "很", "了", "3", "3天", "，"}.isdisjoint(zh)
    assert all(len(term) >= 2 for term in zh)
    # English: "Refunds" and "refund" in one comment count once; stopwords are gone.
    assert en["refund"].count == 2 and en["refund"].share == pytest.approx(2 / 3)
    assert {"the", "was", "and", "is", "too", "refunds"}.isdisjoint(en)
    # Low-CSAT comments: S01 S02 S06 in Chinese, S05 S07 in English.
    assert facts.negative_comments == {"zh": 3, "en": 2}
    negative = {(k.language, k.term): k for k in facts.negative_keywords}
    assert negative["zh", "退款"].count == 3 and negative["zh", "退款"].share == 1
    assert ("zh", "专业") not in negative and ("en", "professional") not in negative
    # Deterministic order: count desc, then term.
    for language in ("zh", "en"):
        ks = [k for k in facts.keywords if k.language == language]
        assert ks == sorted(ks, key=lambda k: (-k.count, k.term))


def test_words_always_used_together_count_as_one(facts: VoiceFacts) -> None:
    zh = {k.term: k for k in facts.keywords if k.language == "zh"}
    # S03 alone says 客服 专业 很快 解决: one keyword, named by its rarest word in jieba's
    # dictionary, the others with it; likewise S01's 流程 and 复杂 (退款 is in S02 too).
    assert zh["客服"].also == ("很快", "解决", "专业") and zh["客服"].count == 1
    assert zh["流程"].also == ("复杂",)
    assert zh["退款"].also == ()
    assert {"专业", "很快", "解决", "复杂"}.isdisjoint(zh)


def test_formulas_and_markup_are_carried_as_plain_text(facts: VoiceFacts) -> None:
    quotes = {q.survey_id: q for q in facts.quotes}
    assert quotes["S06"].text == HYPERLINK and "退款" in quotes["S06"].terms
    assert quotes["S07"].text == SCRIPT and "refund" in quotes["S07"].terms
    assert quotes["S07"].segments == {
        "channel": "chat",
        "category": "功能咨询",
        "team": "一线客服组",
        "agent": "王芳",
        "priority": "低",
        "region": "华南",
        "product": "会员",
    }
    # Only low-CSAT answers are quoted, each once, by survey_id.
    assert all(q.csat is not None and q.csat <= 3 for q in facts.quotes)
    assert [q.survey_id for q in facts.quotes] == sorted(quotes)


def test_segment_term_counts(facts: VoiceFacts) -> None:
    by = {(s.dimension, s.value): s for s in facts.segment_terms}
    web = by["channel", "web"]
    assert web.comments == {"zh": 2, "en": 1}
    assert web.counts["zh"]["退款"] == 2 and web.counts["en"]["refund"] == 1
    assert by["category", "功能咨询"].counts["zh"]["退款"] == 1  # S06


def test_voice_facts_is_deterministic(con: duckdb.DuckDBPyConnection, facts: VoiceFacts) -> None:
    assert voice_facts(con, start=START, end=END) == facts


@pytest.mark.parametrize(
    ("text", "language", "terms"),
    [
        ("退款流程太复杂，退款等了3天", "zh", {"退款", "流程", "复杂"}),
        ("我们的退款一直没有处理", "zh", {"退款", "处理"}),
        ("Refunds take too long, the refund is late", "en", {"refund", "take", "long", "late"}),
        ("Two replies, no answer!", "en", {"reply", "answer"}),
        ("12345 !!", None, set()),
    ],
)
def test_comment_terms(text: str, language: str | None, terms: set[str]) -> None:
    assert comment_terms(text) == (language, frozenset(terms))


def test_jieba_is_quiet_and_leaves_no_cache(tmp_path: Path) -> None:
    """Compiled afresh (its own bytecode folder) under -W error, jieba must neither warn,
    log to stderr nor leave its dictionary cache in the temporary folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code = "from improve.data.voice import comment_terms; print(comment_terms('退款流程太复杂'))"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-X", f"pycache_prefix={tmp_path / 'pyc'}", "-c", code],
        capture_output=True,
        text=True,
        env={"TMPDIR": str(tmp), "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "退款" in done.stdout
    assert list(tmp.iterdir()) == []
