"""The customer's voice in the diagnosis report: survey figures by segment, comment
keywords and each problem's over-used terms and quotes, as sections and keyword charts.

Comments and terms are customer text: the workbook writes them as text cells (never
formulas), the page autoescapes them, and the charts pass them through `charts.label`.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from improve.domain.voice import (
    LANGUAGES,
    MIN_COUNT,
    MIN_LIFT,
    CustomerVoice,
    Keyword,
    Language,
)
from improve.reports.figures import BAD, NORMAL, fragment, label
from improve.reports.labels import dim_label
from improve.reports.sections import Section, Val, Words

CHART_TERMS = 15  # per language and per chart panel
TABLE_TERMS = 20  # per language and scope in the keyword table


def _language(language: Language, w: Words) -> str:
    return w("中文", "Chinese") if language == "zh" else w("英文", "English")


def _of(keywords: tuple[Keyword, ...], language: Language, n: int) -> list[Keyword]:
    return [k for k in keywords if k.language == language][:n]


def voice_sections(v: CustomerVoice, w: Words) -> list[Section]:
    """Survey CSAT and NPS overall and by segment, the comment keywords per language (all
    comments and low-CSAT ones), each problem's segment against the whole with its
    over-represented terms, and the quotes supporting them."""
    segments = Section(
        "voice_segments",
        w("客户之声：满意度与 NPS", "Customer voice: CSAT and NPS"),
        [
            w("维度", "Dimension"),
            w("细分", "Segment"),
            w("调查数", "Surveys"),
            w("评论数", "Comments"),
            w("CSAT 满意率", "CSAT rate"),
            w("CSAT 均分", "CSAT mean"),
            w("NPS", "NPS"),
        ],
        ["text", "text", "int", "int", "pct", "num2", "num1"],
        note=w(
            "CSAT 满意率 = 评分 4–5 的答卷占有评分答卷的比例；NPS = 9–10 分占比 − 0–6 分占比"
            "（−100…100）。细分按调查对应工单的维度值。",
            "CSAT rate: answers scoring 4-5 among rated answers; NPS: % scoring 9-10 minus % "
            "scoring 0-6 (-100 to 100). Segments are the surveyed tickets' values.",
        ),
    )
    segments.add(w("全部", "All"), "—", v.surveys, v.comments, v.csat_rate, v.csat_mean, v.nps)
    for s in v.segments:
        segments.add(
            dim_label(s.dimension, w),
            s.value,
            s.surveys,
            s.comments,
            s.csat_rate,
            s.csat_mean,
            s.nps,
        )

    keywords = Section(
        "voice_keywords",
        w("评论关键词", "Comment keywords"),
        [
            w("范围", "Comments"),
            w("语言", "Language"),
            w("关键词", "Keyword"),
            w("提及评论数", "Comments using it"),
            w("占比", "Share"),
            w("总是同时出现的词", "Always used with"),
        ],
        ["text", "text", "text", "int", "pct", "text"],
        note=w(
            "中文用 jieba 分词，英文按单词；每条评论每个词只计一次，已去除停用词、标点和数字。"
            "占比 = 提及评论数 ÷ 同语言评论数；总是出现在相同评论中的词合并计数。",
            "Chinese is segmented with jieba, English split into words; a word counts once per "
            "comment, stopwords, punctuation and numbers left out. Share: comments using it / "
            "comments in that language. Words always found in the same comments are counted "
            "as one.",
        ),
    )
    for scope, listed in (
        (w("全部评论", "All"), v.keywords),
        (w("差评（CSAT ≤ 3）", "CSAT ≤ 3"), v.negative_keywords),
    ):
        for language in LANGUAGES:
            for k in _of(listed, language, TABLE_TERMS):
                keywords.add(
                    scope,
                    _language(language, w),
                    k.term,
                    k.count,
                    k.share,
                    w("、", ", ").join(k.also),
                )

    problems = Section(
        "voice_problems",
        w("问题细分的客户之声", "Customer voice of each problem"),
        [
            w("问题", "Problem"),
            w("维度", "Dimension"),
            w("细分", "Segment"),
            w("调查数", "Surveys"),
            w("CSAT 满意率", "CSAT rate"),
            w("较整体", "vs all"),
            w("NPS", "NPS"),
            w("较整体", "vs all"),
            w("突出关键词（提及数，倍数）", "Over-used terms (comments, lift)"),
        ],
        ["text", "text", "text", "int", "pct", "pct", "num1", "num1", "text"],
        note=w(
            f"突出关键词：该细分评论中的出现比例至少是全部评论的 {MIN_LIFT:g} 倍、且至少 "
            f"{MIN_COUNT} 条评论提及的词；倍数 = 细分内占比 ÷ 全部评论占比。",
            f"Over-used terms: used by at least {MIN_COUNT} of the segment's comments and at "
            f"least {MIN_LIFT:g} times as often as in all comments; lift = share in the "
            "segment / share in all.",
        ),
    )
    quotes = Section(
        "voice_quotes",
        w("客户原声", "Customer quotes"),
        [
            w("问题", "Problem"),
            w("调查编号", "Survey"),
            w("工单号", "Ticket"),
            w("CSAT", "CSAT"),
            w("评论原文", "Comment"),
            w("关键词", "Terms"),
        ],
        ["text", "text", "text", "int", "text", "text"],
    )
    for p in v.problems:
        problems.add(
            p.problem,
            dim_label(p.dimension, w),
            "、".join(p.members),
            p.surveys,
            p.csat_rate,
            Val(p.csat_rate_vs_overall, "pct"),
            p.nps,
            Val(p.nps_vs_overall, "num1"),
            "；".join(f"{k.term}（{k.count}，×{k.lift:.1f}）" for k in p.keywords)
            if w.locale == "zh-CN"
            else "; ".join(f"{k.term} ({k.count}, x{k.lift:.1f})" for k in p.keywords),
        )
        shown = {k.term for k in p.keywords}
        for q in p.quotes:
            quotes.add(
                p.problem,
                q.survey_id,
                q.ticket_id,
                q.csat,
                q.text,
                w("、", ", ").join(t for t in q.terms if t in shown),
            )
    return [segments, keywords, problems, quotes]


def voice_charts(v: CustomerVoice, w: Words) -> list[str]:
    """Per comment language: the most used terms in all comments beside those in low-CSAT
    comments, as horizontal bars (plotly HTML fragments)."""

    def hover(k: Keyword) -> str:
        parts = [f"{k.term}: {k.count} ({k.share:.1%})", *([" ".join(k.also)] if k.also else [])]
        return "<br>".join(label(p) for p in parts)

    out = []
    for language in LANGUAGES:
        panels = [
            (w("全部评论", "All comments"), _of(v.keywords, language, CHART_TERMS), NORMAL),
            (
                w("差评（CSAT ≤ 3）", "CSAT ≤ 3"),
                _of(v.negative_keywords, language, CHART_TERMS),
                BAD,
            ),
        ]
        if not any(terms for _, terms, _ in panels):
            continue
        fig = make_subplots(
            rows=1, cols=2, subplot_titles=[title for title, _, _ in panels], horizontal_spacing=0.2
        )
        for col, (title, terms, color) in enumerate(panels, start=1):
            shown = list(reversed(terms))  # the most used on top
            fig.add_trace(
                go.Bar(
                    x=[k.count for k in shown],
                    y=[label(k.term) for k in shown],
                    orientation="h",
                    marker={"color": color},
                    name=title,
                    hovertext=[hover(k) for k in shown],
                    hoverinfo="text",
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        fig.update_layout(
            title=w("评论关键词（", "Comment keywords (")
            + _language(language, w)
            + w("，提及评论数）", ", comments using each)"),
            height=max(380, 24 * CHART_TERMS + 140),
        )
        out.append(fragment(fig, f"voice-keywords-{language}"))
    return out
