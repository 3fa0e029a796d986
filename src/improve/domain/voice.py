"""The customer's voice: survey CSAT and NPS by segment, comment keywords and quotes.

`VoiceFacts` is what the data layer measures; `CustomerVoice` is the diagnosis's account of
it, with the keywords and quotes that support each problem (`ProblemVoice`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Literal

from pydantic import Field

from improve.domain.base import Model

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

# A segment's term is over-represented when at least MIN_COUNT of its comments use it and
# they do so MIN_LIFT times as often as all comments; a problem shows, per language, the
# TOP_TERMS with the highest count x ln(lift): the term's part in the segment's divergence
# from all comments (lift x count would let any frequent word just past MIN_LIFT outrank a
# sharply concentrated one).
MIN_COUNT = 5
MIN_LIFT = 1.5
TOP_TERMS = 5
MAX_PROBLEM_QUOTES = 3


class VoiceFigures(Model):
    """Survey answers and their CSAT and NPS, over some set of surveys."""

    surveys: int = Field(ge=0, description="Survey answers counted.")
    rated: int = Field(ge=0, description="Answers with a CSAT score.")
    csat_rate: float | None = Field(
        ge=0, le=1, description="Share of rated answers with CSAT >= 4 (top-2-box)."
    )
    csat_mean: float | None = Field(ge=1, le=5, description="Mean CSAT over rated answers.")
    nps_answers: int = Field(ge=0, description="Answers with an NPS score.")
    nps: float | None = Field(
        ge=-100, le=100, description="% of NPS answers scoring 9-10 minus % scoring 0-6."
    )
    comments: int = Field(ge=0, description="Answers with a non-empty comment.")


class SegmentVoice(VoiceFigures):
    """Survey figures of one value of one ticket dimension."""

    dimension: str = Field(min_length=1, description="Ticket dimension, e.g. channel.")
    value: str = Field(min_length=1, description="The dimension's value, e.g. web.")


class Keyword(Model):
    """A comment term: how many comments use it, and what share of comments that is."""

    term: str = Field(min_length=1, description="The word, lower-cased for English.")
    language: Language = Field(description="Language of the comments it was counted in.")
    count: int = Field(ge=0, description="Comments containing the term (once per comment).")
    share: float = Field(
        ge=0, le=1, description="count / comments in that language (of the set counted)."
    )
    also: tuple[str, ...] = Field(
        default=(),
        description="Terms found in exactly the same comments, counted with this one.",
    )


class KeywordLift(Keyword):
    """A term a segment's comments use more often than all comments do."""

    lift: float = Field(
        ge=0, description="Share among the segment's comments / share among all comments."
    )


class Quote(Model):
    """One survey comment, verbatim, with the ticket segments it belongs to."""

    survey_id: str = Field(min_length=1, description="The survey answer quoted.")
    ticket_id: str | None = Field(description="The ticket the survey was about.")
    text: str = Field(min_length=1, description="The comment as the customer wrote it.")
    csat: int | None = Field(ge=1, le=5, description="The answer's CSAT score.")
    segments: dict[str, str] = Field(
        description="The ticket's known dimension values (channel, category, team, ...)."
    )
    terms: tuple[str, ...] = Field(
        default=(), description="The counted keywords the comment contains."
    )


class SegmentTerms(Model):
    """Counts of the candidate keywords in one segment's comments (for lift)."""

    dimension: str = Field(min_length=1, description="Ticket dimension.")
    value: str = Field(min_length=1, description="The dimension's value.")
    comments: dict[Language, int] = Field(description="The segment's comments per language.")
    counts: dict[Language, dict[str, int]] = Field(
        description="Per language: candidate term -> the segment's comments containing it "
        "(terms it never uses left out)."
    )


class VoiceFacts(VoiceFigures):
    """What the data layer measures about survey answers in a window [start, end)."""

    start: date = Field(description="First day of the window (answered_at).")
    end: date = Field(description="Day after the window.")
    comments_by_language: dict[Language, int] = Field(description="Comments per language.")
    negative_comments: dict[Language, int] = Field(
        description="Comments per language of answers with CSAT <= 3."
    )
    segments: tuple[SegmentVoice, ...] = Field(description="Figures per dimension value.")
    keywords: tuple[Keyword, ...] = Field(description="Top terms per language, all comments.")
    negative_keywords: tuple[Keyword, ...] = Field(
        description="Top terms per language in comments with CSAT <= 3."
    )
    terms: tuple[Keyword, ...] = Field(
        description="Candidate terms counted per segment, with their counts in all comments."
    )
    segment_terms: tuple[SegmentTerms, ...] = Field(
        description="Per dimension value: the candidate terms its comments contain."
    )
    quotes: tuple[Quote, ...] = Field(
        description="Low-CSAT comments: a few per negative keyword and per segment's "
        "over-represented term, one per survey, by survey_id."
    )


class ProblemVoice(VoiceFigures):
    """What the customers of one problem's segment say."""

    problem: str = Field(pattern=r"^P\d+$", description="The problem's id.")
    dimension: str = Field(description="The problem's ticket dimension.")
    members: tuple[str, ...] = Field(description="The dimension values the segment covers.")
    csat_rate_vs_overall: float | None = Field(
        description="Segment CSAT rate minus the overall rate (share points)."
    )
    nps_vs_overall: float | None = Field(description="Segment NPS minus overall NPS (points).")
    keywords: tuple[KeywordLift, ...] = Field(
        description="Terms over-represented in the segment's comments, strongest first."
    )
    quotes: tuple[Quote, ...] = Field(
        max_length=MAX_PROBLEM_QUOTES, description="Low-CSAT comments using those terms."
    )


class CustomerVoice(VoiceFigures):
    """客户之声: survey figures overall and by segment, keywords, and each problem's voice."""

    comments_by_language: dict[Language, int] = Field(description="Comments per language.")
    segments: tuple[SegmentVoice, ...] = Field(description="Figures per dimension value.")
    keywords: tuple[Keyword, ...] = Field(description="Top terms per language, all comments.")
    negative_keywords: tuple[Keyword, ...] = Field(
        description="Top terms per language in comments with CSAT <= 3."
    )
    problems: tuple[ProblemVoice, ...] = Field(description="One per diagnosed problem.")


def lifted_keywords(
    counts: Mapping[Language, Mapping[str, int]],
    comments: Mapping[Language, int],
    overall: Iterable[Keyword],
    overall_comments: Mapping[Language, int],
    *,
    min_count: int = MIN_COUNT,
    min_lift: float = MIN_LIFT,
    top: int = TOP_TERMS,
) -> tuple[KeywordLift, ...]:
    """The terms a segment's comments use (`counts` over its `comments`, per language) at
    least `min_count` times and `min_lift` times as often as all comments do (`overall`
    counts over `overall_comments`): the `top` per language by count x ln(lift), strongest
    first."""
    out = []
    for k in overall:
        count = counts.get(k.language, {}).get(k.term, 0)
        n = comments.get(k.language, 0)
        total = overall_comments.get(k.language, 0)
        if count < min_count or not n or not k.count or not total:
            continue
        lift = count * total / (n * k.count)  # (count / n) / (k.count / total), exact at 1.5
        if lift >= min_lift:
            out.append(
                KeywordLift(
                    term=k.term,
                    language=k.language,
                    count=count,
                    share=count / n,
                    also=k.also,
                    lift=lift,
                )
            )
    out.sort(key=lambda k: (-k.count * math.log(k.lift), k.term, k.language))
    kept = [k for language in LANGUAGES for k in [k for k in out if k.language == language][:top]]
    return tuple(k for k in out if k in kept)
