"""Diagnose (全面诊断): facts of the baseline window -> DiagnosisReport (服务问题诊断报告)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from improve.domain.artifacts import (
    DiagnosisReport,
    Evidence,
    GapExplanation,
    KpiBaseline,
    OptimisationReport,
    PeriodValue,
    Problem,
    Segment,
)
from improve.domain.base import ROOT_CAUSE_LABELS, RootCause, Text
from improve.domain.control import ControlChart
from improve.domain.facts import PeriodKpis, SegmentFacts, WindowFacts
from improve.domain.kpi import KPIS
from improve.domain.programme import EvidenceRule, Playbook, Programme, RootCauseRules
from improve.domain.review import ProblemReview
from improve.stages.control import control_chart
from improve.stages.gap import decompose, explain, reference, worse_by
from improve.stages.next_cycle import carried_items
from improve.stages.voice import customer_voice

DETERIORATION = 0.05  # late three months at least 5% worse than the first three
TOP_SEGMENTS = 5
MIN_SEGMENT_TICKETS = 30
OUTLIER_Z = 4.0
# Signals measured as a segment's value over the overall value, and the fact they read.
_RATIO_SIGNALS = {"rework": "rework_rate", "extra_contacts": "replies_mean"}


def baseline_row(kpi_name: str, facts: WindowFacts, programme: Programme) -> KpiBaseline:
    """One KPI's baseline against benchmark and trend."""
    value, early, late = (
        facts.kpis.get(kpi_name),
        facts.early.get(kpi_name),
        facts.late.get(kpi_name),
    )
    bench = programme.benchmark(kpi_name)
    gap = None
    if bench is not None and value is not None and KPIS[kpi_name].direction is not None:
        gap = worse_by(kpi_name, value, bench.value)
    deteriorated = False
    if early and late is not None and KPIS[kpi_name].direction is not None:
        deteriorated = worse_by(kpi_name, late, early) / abs(early) >= DETERIORATION
    return KpiBaseline(
        kpi=kpi_name,
        value=value,
        benchmark=bench.value if bench else None,
        benchmark_source=bench.source if bench else None,
        gap=gap,
        early=early,
        late=late,
        deteriorated=deteriorated,
        monthly=tuple(
            PeriodValue(period=m.period, value=m.values.get(kpi_name)) for m in facts.monthly
        ),
        chart=_chart(kpi_name, facts),
    )


def _chart(kpi_name: str, facts: WindowFacts) -> ControlChart | None:
    """The KPI's weekly control chart over all tickets."""
    return _series_chart(kpi_name, facts.weekly) if facts.weekly else None


def _series_chart(kpi_name: str, weekly: Sequence[PeriodKpis]) -> ControlChart:
    """A weekly series' control chart (a p' chart when the facts give the denominators)."""
    rate = all(kpi_name in w.sizes for w in weekly)
    return control_chart(
        kpi_name,
        [w.period for w in weekly],
        [w.values.get(kpi_name) for w in weekly],
        direction=KPIS[kpi_name].direction,
        sizes=[w.sizes[kpi_name] for w in weekly] if rate else None,
    )


def _started(candidate: _Candidate, facts: WindowFacts) -> date | None:
    """The first week the problem's own segment (its earliest member) shifted for the worse
    on the problem's KPI; None when it did not shift inside the window (it was already
    there, or it crept)."""
    by_key = {(s.dimension, s.value): s for s in facts.segments}
    starts = []
    for member in candidate.members:
        seg = by_key.get((candidate.dimension, member))
        if seg is None or not seg.weekly:
            continue
        shift = _series_chart(candidate.kpi, seg.weekly).shift
        if shift is not None and shift.worse:
            starts.append(shift.started)
    return min(starts, default=None)


def _signal(
    rule: EvidenceRule,
    kpi_name: str,
    segments: Sequence[Segment],
    facts: WindowFacts,
) -> list[tuple[str, float, float, float, Sequence[Segment]]]:
    """Evaluate one rule: (segment label, segment value, overall value, strength, members)."""
    mine = [
        s
        for s in segments
        if s.dimension == rule.dimension and s.contribution > 0 and s.tickets >= MIN_SEGMENT_TICKETS
    ]
    seg_facts = {(s.dimension, s.value): s for s in facts.segments}
    found: list[tuple[str, float, float, float, Sequence[Segment]]] = []
    if rule.signal == "concentration":
        outliers = _outliers(kpi_name, mine, facts)
        explained = sum(s.contribution for s in outliers)
        share = sum(s.share for s in outliers)
        if outliers and share > 0:
            found.append(
                (
                    "、".join(s.value for s in outliers),
                    explained,
                    share,
                    explained / share,
                    outliers,
                )
            )
        return found
    for seg in mine[:3]:
        f: SegmentFacts = seg_facts[(seg.dimension, seg.value)]
        if rule.signal in _RATIO_SIGNALS:
            attribute = _RATIO_SIGNALS[rule.signal]
            value, overall = getattr(f, attribute), getattr(facts, attribute)
            if value is not None and overall:
                found.append((seg.value, value, overall, value / overall, (seg,)))
        elif rule.signal == "load":
            load = next((t for t in facts.team_load if t.team == seg.value), None)
            series = load.measures.get(kpi_name) if load else None
            if load and series:
                pairs = [
                    (x, y)
                    for x, y in zip(load.tickets_per_agent, series, strict=True)
                    if x is not None and y is not None
                ]
                if len(pairs) >= 4:
                    xs, ys = zip(*pairs, strict=True)
                    try:
                        corr = statistics.correlation(xs, ys)
                    except statistics.StatisticsError:
                        continue
                    worse = worse_by(kpi_name, ys[-1], ys[0]) > 0
                    if worse and corr > 0:
                        found.append((seg.value, corr, 0.0, corr, (seg,)))
    return found


def _outliers(kpi_name: str, segments: Sequence[Segment], facts: WindowFacts) -> list[Segment]:
    """Segments (agents) far worse than their own team: more than OUTLIER_Z standard errors,
    so that a team's mix of work is not mistaken for individual performance."""
    seg_facts = {(s.dimension, s.value): s for s in facts.segments}
    teams = {s.value: s for s in facts.segments if s.dimension == "team"}
    out = []
    for seg in segments:
        own = seg_facts[(seg.dimension, seg.value)]
        team = teams.get(own.parent or "")
        mine, ref = own.measures.get(kpi_name), team.measures.get(kpi_name) if team else None
        if (
            not mine
            or not ref
            or mine.mean is None
            or ref.mean is None
            or not ref.var
            or mine.n < MIN_SEGMENT_TICKETS
        ):
            continue
        z = worse_by(kpi_name, mine.mean, ref.mean) / math.sqrt(ref.var / mine.n)
        if z >= OUTLIER_Z:
            out.append(seg)
    return sorted(out[:TOP_SEGMENTS], key=lambda s: s.value)


def _evidence_text(
    rule: EvidenceRule, kpi_name: str, label: str, value: float, overall: float
) -> Text:
    k = KPIS[kpi_name].label
    if rule.signal == "concentration":
        return Text(
            zh=f"{k.zh}差距的 {value:.0%} 集中在 {label}（仅占工单 {overall:.0%}）",
            en=f"{value:.0%} of the {k.en} gap sits with {label} ({overall:.0%} of tickets)",
        )
    if rule.signal == "rework":
        return Text(
            zh=f"{label} 返工率 {value:.0%}，整体 {overall:.0%}",
            en=f"{label}: rework {value:.0%} against {overall:.0%} overall",
        )
    if rule.signal == "extra_contacts":
        return Text(
            zh=f"{label} 渠道平均客服回复 {value:.2f} 次，整体 {overall:.2f} 次",
            en=f"{label}: {value:.2f} agent replies per ticket against {overall:.2f}",
        )
    return Text(
        zh=f"{label} 人均负荷与{k.zh}的月度相关系数 {value:.2f}",
        en=f"{label}: monthly load per agent and {k.en} correlate at {value:.2f}",
    )


def diagnose(
    facts: WindowFacts,
    *,
    programme: Programme,
    playbook: Playbook,
    rules: RootCauseRules,
    reviews: Sequence[ProblemReview] = (),
    previous: OptimisationReport | None = None,
) -> DiagnosisReport:
    """Build the 服务问题诊断报告: KPI baseline, gap drivers, problems with root-cause
    category from evidence, impact x feasibility priority; beside them, what the `previous`
    cycle's optimisation report carried over, each marked found again or not.

    `reviews` are the stakeholders' worksheet answers (by problem key): a confirmed category
    replaces the suggested one (and picks the strategy), a feasibility rating replaces the
    playbook's, and the 5-Why and fishbone travel with the problem."""
    reviewed = {r.problem_key: r for r in reviews}
    baseline = tuple(baseline_row(k, facts, programme) for k in KPIS)
    drivers: dict[str, tuple[Segment, ...]] = {}
    explanations: dict[str, GapExplanation] = {}
    for row in baseline:
        if (row.gap is not None and row.gap > 0) or row.deteriorated:
            segs = decompose(row.kpi, row, facts)
            explained = explain(row.kpi, row, segs, facts)
            if segs and explained:
                drivers[row.kpi], explanations[row.kpi] = segs, explained

    by_kpi = {b.kpi: b for b in baseline}
    candidates: dict[tuple[RootCause, str, str], _Candidate] = {}
    for kpi_name, segs in drivers.items():
        for rule in rules.rules:
            if rule.kpis and kpi_name not in rule.kpis:
                continue
            for label, value, overall, strength, members in _signal(rule, kpi_name, segs, facts):
                ratio = strength / rule.threshold
                if ratio < 1:
                    continue
                evidence = Evidence(
                    signal=rule.signal,
                    metric=kpi_name,
                    segment_value=round(value, 4),
                    overall_value=round(overall, 4),
                    strength=round(ratio, 3),
                    text=_evidence_text(rule, kpi_name, label, value, overall),
                )
                key = (rule.category, rule.dimension, label)
                found = candidates.setdefault(
                    key,
                    _Candidate(
                        category=rule.category,
                        dimension=rule.dimension,
                        segment=label,
                        tickets=sum(m.tickets for m in members),
                        members=tuple(m.value for m in members),
                    ),
                )
                misses = (by_kpi[kpi_name].gap or 0.0) > 0
                found.add(evidence, kpi_name, sum(m.contribution for m in members), misses)

    scored = [
        c.score(by_kpi[c.kpi], facts.tickets, playbook, reviewed.get(c.key))
        for c in candidates.values()
    ]
    top_impact = max((s.impact_raw for s in scored), default=1.0) or 1.0
    for s in scored:
        s.impact = round(s.impact_raw / top_impact, 3)
        high_i, high_f = s.impact >= 0.5, s.feasibility >= 0.5
        s.quadrant = 1 if high_i and high_f else 2 if high_i else 3 if high_f else 4
    scored.sort(
        key=lambda s: (s.quadrant, -s.impact * s.feasibility, s.candidate.kpi, s.candidate.segment)
    )
    problems = tuple(_problem(i + 1, s, _started(s.candidate, facts)) for i, s in enumerate(scored))
    return DiagnosisReport(
        programme=programme.key,
        cycle=programme.cycle.key,
        window_start=facts.start,
        window_end=facts.end - timedelta(days=1),
        tickets=facts.tickets,
        data_fingerprint=facts.fingerprint,
        baseline=baseline,
        drivers=drivers,
        departments=facts.departments,
        explanations=explanations,
        problems=problems,
        voice=customer_voice(facts.voice, problems) if facts.voice else None,
        carried_over=carried_items(previous, problems) if previous else (),
    )


@dataclass
class _Candidate:
    """A problem in the making: one segment flagged by one or more rules."""

    category: RootCause
    dimension: str
    segment: str
    tickets: int
    members: tuple[str, ...] = ()
    evidence: list[Evidence] = field(default_factory=list)
    kpi: str = ""
    contribution: float = -1.0
    misses: bool = False

    def add(self, evidence: Evidence, kpi_name: str, contribution: float, misses: bool) -> None:
        """Record evidence. The problem's KPI is the one it explains most, preferring KPIs
        that miss their benchmark over ones that only deteriorated."""
        if all(e.text != evidence.text for e in self.evidence):
            self.evidence.append(evidence)
        if (misses, contribution) > (self.misses, self.contribution):
            self.kpi, self.contribution, self.misses = kpi_name, contribution, misses

    @property
    def key(self) -> str:
        """The problem's stable key: what the evidence found, whatever reviewers decide."""
        return f"{self.category.value}/{self.dimension}/{self.segment}"

    def score(
        self,
        row: KpiBaseline,
        total_tickets: int,
        playbook: Playbook,
        review: ProblemReview | None,
    ) -> _Scored:
        """Impact (customers affected x severity), feasibility (stakeholders' rating, else the
        playbook's effort of the strategy for the category in force), confidence."""
        ref = reference(row) or 0.0
        severity = min(1.0, abs(worse_by(self.kpi, row.value or 0.0, ref)) / (abs(ref) or 1.0))
        share = self.tickets / total_tickets if total_tickets else 0.0
        strength = max(e.strength for e in self.evidence)
        confidence = min(
            1.0,
            0.35
            + 0.3 * min(strength - 1.0, 1.0)
            + 0.35 * min(max(self.contribution, 0.0) / 0.3, 1.0),
        )
        category = (review.confirmed_category if review else None) or self.category
        strategy = playbook.for_problem(category, self.kpi)
        rated = review.feasibility_score if review else None
        return _Scored(
            candidate=self,
            category=category,
            review=review,
            strategy=strategy.key,
            confidence=round(confidence, 3),
            impact_raw=math.sqrt(share * severity) * max(self.contribution, 0.05),
            feasibility=round(rated if rated is not None else (6 - strategy.effort) / 5, 3),
        )


@dataclass
class _Scored:
    candidate: _Candidate
    category: RootCause
    review: ProblemReview | None
    strategy: str
    confidence: float
    impact_raw: float
    feasibility: float
    impact: float = 0.0
    quadrant: Literal[1, 2, 3, 4] = 4


def _problem(rank: int, s: _Scored, started: date | None) -> Problem:
    c = s.candidate
    label, cat = KPIS[c.kpi].label, ROOT_CAUSE_LABELS[s.category]
    return Problem(
        id=f"P{rank}",
        key=c.key,
        kpi=c.kpi,
        category=s.category,
        suggested=c.category,
        dimension=c.dimension,
        segment=c.segment,
        members=c.members,
        evidence=tuple(c.evidence),
        confidence=s.confidence,
        title=Text(
            zh=f"{label.zh}未达标：{c.segment}（{cat.zh}）",
            en=f"{label.en} off target: {c.segment} ({cat.en.lower()})",
        ),
        affected_tickets=c.tickets,
        gap_share=round(c.contribution, 4),
        impact=s.impact,
        feasibility=s.feasibility,
        feasibility_source="stakeholders" if s.review and s.review.feasibility else "playbook",
        quadrant=s.quadrant,
        priority=rank,
        strategy=s.strategy,
        started=started,
        review=s.review,
    )
