"""The customer's voice of a diagnosis: what surveys say overall, per segment and about each
problem's segment (its CSAT and NPS, the words its comments over-use, a few quotes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from improve.domain.artifacts import Problem
from improve.domain.voice import (
    MAX_PROBLEM_QUOTES,
    CustomerVoice,
    KeywordLift,
    Language,
    ProblemVoice,
    Quote,
    SegmentVoice,
    VoiceFacts,
    VoiceFigures,
    lifted_keywords,
)

# Per-agent survey figures stay in the facts (a people problem uses them); the report's
# segment table lists the ticket dimensions a programme manages.
REPORTED_DIMENSIONS = ("channel", "category", "team", "priority", "region", "product")


def _members(problem: Problem) -> tuple[str, ...]:
    return problem.members or (problem.segment,)


def _combined(segments: Iterable[SegmentVoice]) -> VoiceFigures:
    """The figures of the union of disjoint segments (values of one dimension). Each rate
    is a ratio of whole counts, so rounding rate x denominator recovers the count exactly."""
    parts = list(segments)
    if len(parts) == 1:
        return VoiceFigures(**parts[0].model_dump(include=set(VoiceFigures.model_fields)))
    rated = sum(s.rated for s in parts)
    answers = sum(s.nps_answers for s in parts)
    satisfied = sum(round((s.csat_rate or 0) * s.rated) for s in parts)
    points = sum(round((s.csat_mean or 0) * s.rated) for s in parts)
    net = sum(round((s.nps or 0) * s.nps_answers / 100) for s in parts)
    return VoiceFigures(
        surveys=sum(s.surveys for s in parts),
        rated=rated,
        csat_rate=satisfied / rated if rated else None,
        csat_mean=points / rated if rated else None,
        nps_answers=answers,
        nps=100 * net / answers if answers else None,
        comments=sum(s.comments for s in parts),
    )


def _difference(value: float | None, overall: float | None) -> float | None:
    return None if value is None or overall is None else value - overall


def _keywords(facts: VoiceFacts, dimension: str, members: Sequence[str]) -> tuple[KeywordLift, ...]:
    """The terms the members' comments, pooled, use more often than all comments do."""
    comments: Counter[Language] = Counter()
    counts: dict[Language, Counter[str]] = {}
    for s in facts.segment_terms:
        if s.dimension == dimension and s.value in members:
            comments.update(s.comments)
            for language, found in s.counts.items():
                counts.setdefault(language, Counter()).update(found)
    return lifted_keywords(counts, comments, facts.terms, facts.comments_by_language)


def _quotes(
    facts: VoiceFacts, dimension: str, members: Sequence[str], keywords: Sequence[KeywordLift]
) -> tuple[Quote, ...]:
    """Up to MAX_PROBLEM_QUOTES of the segment's low-CSAT comments, taking the strongest
    keyword's best quote first, then the next keyword's, and so on; one per distinct text,
    lowest CSAT then survey_id first."""
    pool = sorted(
        (q for q in facts.quotes if q.segments.get(dimension) in members),
        key=lambda q: (q.csat if q.csat is not None else 6, q.survey_id),
    )
    chosen: list[Quote] = []
    texts: set[str] = set()
    progress = True
    while progress and len(chosen) < MAX_PROBLEM_QUOTES:
        progress = False
        for k in keywords:
            quote = next((q for q in pool if k.term in q.terms and q.text not in texts), None)
            if quote is not None and len(chosen) < MAX_PROBLEM_QUOTES:
                chosen.append(quote)
                texts.add(quote.text)
                progress = True
    return tuple(chosen)


def _problem_voice(facts: VoiceFacts, problem: Problem) -> ProblemVoice:
    members = _members(problem)
    figures = _combined(
        s for s in facts.segments if s.dimension == problem.dimension and s.value in members
    )
    keywords = _keywords(facts, problem.dimension, members)
    return ProblemVoice(
        problem=problem.id,
        dimension=problem.dimension,
        members=members,
        **figures.model_dump(),
        csat_rate_vs_overall=_difference(figures.csat_rate, facts.csat_rate),
        nps_vs_overall=_difference(figures.nps, facts.nps),
        keywords=keywords,
        quotes=_quotes(facts, problem.dimension, members, keywords),
    )


def customer_voice(facts: VoiceFacts, problems: Sequence[Problem]) -> CustomerVoice:
    """The `CustomerVoice` of a diagnosis: survey figures overall and per segment, the
    leading comment keywords, and for each problem its segment's CSAT and NPS against the
    whole, the terms over-represented in its comments (lift) and quotes using them."""
    return CustomerVoice(
        **facts.model_dump(include=set(VoiceFigures.model_fields)),
        comments_by_language=facts.comments_by_language,
        segments=tuple(s for s in facts.segments if s.dimension in REPORTED_DIMENSIONS),
        keywords=facts.keywords,
        negative_keywords=facts.negative_keywords,
        problems=tuple(_problem_voice(facts, p) for p in problems),
    )
