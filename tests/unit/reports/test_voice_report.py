"""The customer's voice as report sections and keyword charts: customer text is carried
verbatim into tables and made inert in charts."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from improve.domain.base import Locale
from improve.domain.voice import (
    CustomerVoice,
    Keyword,
    KeywordLift,
    ProblemVoice,
    Quote,
    SegmentVoice,
)
from improve.reports.sections import Words
from improve.reports.voice import voice_charts, voice_sections
from improve.reports.workbook import write_cell

HOSTILE = '=HYPERLINK("http://evil.example","退款")'
MARKUP = "<b>表单</b>"
FIGURES = {
    "surveys": 10,
    "rated": 10,
    "csat_rate": 0.5,
    "csat_mean": 3.0,
    "nps_answers": 10,
    "nps": -10.0,
    "comments": 8,
}


def make_voice() -> CustomerVoice:
    quote = Quote(
        survey_id="S1",
        ticket_id="T1",
        text=HOSTILE,
        csat=1,
        segments={"channel": "web"},
        terms=(MARKUP, "退款"),
    )
    return CustomerVoice(
        **FIGURES,
        comments_by_language={"zh": 6, "en": 2},
        segments=(SegmentVoice(dimension="channel", value="web", **FIGURES),),
        keywords=(
            Keyword(term=MARKUP, language="zh", count=3, share=0.5, also=("网页",)),
            Keyword(term="refund", language="en", count=1, share=0.5),
        ),
        negative_keywords=(Keyword(term=MARKUP, language="zh", count=2, share=1.0),),
        problems=(
            ProblemVoice(
                problem="P1",
                dimension="channel",
                members=("web",),
                **FIGURES,
                csat_rate_vs_overall=-0.1,
                nps_vs_overall=-5.0,
                keywords=(KeywordLift(term=MARKUP, language="zh", count=3, share=0.5, lift=2.0),),
                quotes=(quote,),
            ),
        ),
    )


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_sections_cover_segments_keywords_problems_and_quotes(locale: Locale) -> None:
    sections = voice_sections(make_voice(), Words(locale))
    by_key = {s.key: s for s in sections}
    assert list(by_key) == ["voice_segments", "voice_keywords", "voice_problems", "voice_quotes"]
    for s in sections:
        assert all(len(row) == len(s.headers) == len(s.formats) for row in s.rows)
    assert len(by_key["voice_segments"].rows) == 2  # all, then web
    assert len(by_key["voice_keywords"].rows) == 3  # two of all comments, one of CSAT <= 3
    (quote_row,) = by_key["voice_quotes"].rows
    assert quote_row[:4] == ["P1", "S1", "T1", 1]
    assert quote_row[4] == HOSTILE  # verbatim: the workbook and the page make it inert
    assert "退款" not in quote_row[5]  # only the problem's own terms
    assert MARKUP in by_key["voice_problems"].rows[0][-1]


def test_a_quoted_formula_stays_a_text_cell() -> None:
    quotes = voice_sections(make_voice(), Words("en"))[-1]
    cell = write_cell(Workbook().create_sheet("q"), 1, 1, quotes.rows[0][4])
    assert (cell.value, cell.data_type, cell.quotePrefix) == (HOSTILE, "s", True)


def test_keyword_charts_escape_customer_text() -> None:
    charts = voice_charts(make_voice(), Words("en"))
    assert len(charts) == 2  # Chinese and English
    zh = charts[0]
    assert 'id="voice-keywords-zh"' in zh
    assert '"y":["&lt;b&gt;表单&lt;\\u002fb&gt;"]' in zh  # plotly writes / as \u002f
    assert "<b>表单" not in zh and "\\u003cb\\u003e表单" not in zh


def test_no_comments_no_charts() -> None:
    voice = make_voice().model_copy(update={"keywords": (), "negative_keywords": ()})
    assert voice_charts(voice, Words("zh-CN")) == []
