"""Where a KPI's gap comes from: segment contributions per dimension, mix against rate, the
dimension that concentrates it most and a drill-down into its leading segment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from improve.domain.artifacts import (
    DimensionSplit,
    DrillDown,
    GapExplanation,
    KpiBaseline,
    Segment,
)
from improve.domain.base import Direction
from improve.domain.facts import MeasureStat, WindowFacts
from improve.domain.kpi import KPIS

TOP = 3
MIN_CONCENTRATION = 0.05  # a drill-down must explain 5 points more than its size


def worse_by(kpi_name: str, value: float, reference: float) -> float:
    """How much worse `value` is than `reference`, in the KPI's unit (> 0 is worse)."""
    direction = KPIS[kpi_name].direction
    return value - reference if direction == Direction.LOWER else reference - value


def reference(row: KpiBaseline) -> float | None:
    """What the KPI should be: the benchmark when it is missed, else the early level."""
    if _misses(row):
        return row.benchmark
    if row.deteriorated:
        return row.early
    return None


def _misses(row: KpiBaseline) -> bool:
    return row.gap is not None and row.gap > 0 and row.benchmark is not None


def _basis(kpi_name: str, row: KpiBaseline, facts: WindowFacts) -> tuple[float, float] | None:
    """The reference on the KPI's per-ticket measure (a median benchmark becomes a mean by the
    overall mean/median ratio) and the whole gap in measure x tickets; None without a gap."""
    ref = reference(row)
    overall = facts.overall.get(kpi_name)
    if ref is None or overall is None or overall.mean is None or not row.value:
        return None
    ref_measure = ref * overall.mean / row.value
    total_gap = overall.n * worse_by(kpi_name, overall.mean, ref_measure)
    return (ref_measure, total_gap) if total_gap > 0 else None


def _contribution(kpi_name: str, stat: MeasureStat, basis: tuple[float, float]) -> float:
    ref_measure, total_gap = basis
    assert stat.mean is not None
    return stat.n * worse_by(kpi_name, stat.mean, ref_measure) / total_gap


def decompose(kpi_name: str, row: KpiBaseline, facts: WindowFacts) -> tuple[Segment, ...]:
    """Segments of every dimension ranked by the share of the KPI's gap they explain.

    Against a missed benchmark r, a segment's contribution is n_s (m_s - r) / (N (m - r)) on
    the KPI's per-ticket measure m. A KPI that only deteriorated is explained by the change
    itself: a segment's contribution is its mix plus rate share of the change (`mix_rate`).
    Either way contributions in one dimension add up to 1.
    """
    basis = _basis(kpi_name, row, facts)
    if basis is None:
        return ()
    trend = not _misses(row)
    effects: dict[tuple[str, str], tuple[float, float]] = {}
    if row.deteriorated:
        for dim in dict.fromkeys(s.dimension for s in facts.segments):
            mine = [
                (s.value, s.early.get(kpi_name), s.late.get(kpi_name))
                for s in facts.segments
                if s.dimension == dim
            ]
            effects.update(((dim, v), e) for v, e in mix_rate(mine).items())
    segments = []
    for seg in facts.segments:
        stat = seg.measures.get(kpi_name)
        if stat is None or stat.mean is None or stat.n == 0:
            continue
        effect = effects.get((seg.dimension, seg.value))
        if trend and effect is None:
            continue
        mix, rate = effect if effect is not None else (None, None)
        contribution = (
            sum(effect) if trend and effect is not None else _contribution(kpi_name, stat, basis)
        )
        segments.append(
            Segment(
                dimension=seg.dimension,
                value=seg.value,
                tickets=seg.tickets,
                share=min(1.0, seg.tickets / facts.tickets) if facts.tickets else 0.0,
                kpi_value=seg.kpis.get(kpi_name),
                weight=stat.n,
                contribution=contribution,
                mix=None if mix is None else round(mix, 6),
                rate=None if rate is None else round(rate, 6),
            )
        )
    segments.sort(key=lambda s: (-s.contribution, s.dimension, s.value))
    return tuple(segments)


def mix_rate(
    segments: Iterable[tuple[str, MeasureStat | None, MeasureStat | None]],
) -> dict[str, tuple[float, float]]:
    """Each segment's mix and rate effect on the change of a measure from the first to the
    last three months (segments given as value, early, late), as shares of that change.

    Symmetric split of M_late - M_early = sum dw_s (mbar_s - Mbar) + sum wbar_s dm_s, where w
    is a segment's share of the measured tickets and bars are early/late averages: mix is work
    moving towards worse (or better) segments, rate is segments themselves getting worse. Both
    add up to 1 over a dimension. A segment seen in one period only is all mix.
    """
    points = []
    for value, early, late in segments:
        n_e = early.n if early and early.mean is not None else 0
        n_l = late.n if late and late.mean is not None else 0
        if n_e + n_l == 0:
            continue
        m_e = early.mean if early and n_e else None
        m_l = late.mean if late and n_l else None
        m_e = m_e if m_e is not None else m_l
        m_l = m_l if m_l is not None else m_e
        assert m_e is not None and m_l is not None
        points.append((value, n_e, n_l, m_e, m_l))
    total_e, total_l = sum(p[1] for p in points), sum(p[2] for p in points)
    if not total_e or not total_l:
        return {}
    mean_e = sum(n_e * m_e for _, n_e, _, m_e, _ in points) / total_e
    mean_l = sum(n_l * m_l for _, _, n_l, _, m_l in points) / total_l
    change = mean_l - mean_e
    if abs(change) <= 1e-12 * max(abs(mean_e), 1.0):
        return {}
    mean_bar = (mean_e + mean_l) / 2
    out = {}
    for value, n_e, n_l, m_e, m_l in points:
        w_e, w_l = n_e / total_e, n_l / total_l
        mix = (w_l - w_e) * ((m_e + m_l) / 2 - mean_bar)
        rate = (w_e + w_l) / 2 * (m_l - m_e)
        out[value] = (mix / change, rate / change)
    return out


def _split(dimension: str, segments: Sequence[Segment]) -> DimensionSplit:
    """The dimension's top segments (up to TOP of those explaining more of the gap than their
    share of tickets), what they explain, and the dimension's mix/rate totals."""
    total_weight = sum(s.weight for s in segments) or 1
    top = [s for s in segments if s.contribution > s.weight / total_weight][:TOP]
    has_effects = any(s.mix is not None for s in segments)
    return DimensionSplit(
        dimension=dimension,
        top=tuple(s.value for s in top),
        explained=round(sum(s.contribution for s in top), 6),
        weight_share=round(min(1.0, sum(s.weight for s in top) / total_weight), 6),
        mix=round(sum(s.mix or 0.0 for s in segments), 6) if has_effects else None,
        rate=round(sum(s.rate or 0.0 for s in segments), 6) if has_effects else None,
    )


@dataclass(frozen=True)
class _Child:
    value: str
    tickets: int
    stat: MeasureStat
    early: MeasureStat | None
    late: MeasureStat | None


def _children(kpi_name: str, parent: Segment, dimension: str, facts: WindowFacts) -> list[_Child]:
    """The parent segment's tickets across `dimension` (agents only inside a team)."""
    if dimension == "agent":
        if parent.dimension != "team":
            return []
        return [
            _Child(
                s.value,
                s.tickets,
                s.measures[kpi_name],
                s.early.get(kpi_name),
                s.late.get(kpi_name),
            )
            for s in facts.segments
            if s.dimension == "agent" and s.parent == parent.value and kpi_name in s.measures
        ]
    out = []
    for pair in facts.pairs:
        if pair.dimensions == (parent.dimension, dimension) and pair.values[0] == parent.value:
            value = pair.values[1]
        elif pair.dimensions == (dimension, parent.dimension) and pair.values[1] == parent.value:
            value = pair.values[0]
        else:
            continue
        out.append(
            _Child(
                value,
                pair.tickets,
                pair.measures[kpi_name],
                pair.early.get(kpi_name),
                pair.late.get(kpi_name),
            )
        )
    return out


def drill_down(
    kpi_name: str, row: KpiBaseline, parent: Segment, facts: WindowFacts
) -> DrillDown | None:
    """The parent segment's gap across the dimension that concentrates it most: children
    ranked by their share of the KPI's whole gap (against a missed benchmark, the level;
    otherwise their mix and rate shares of the parent's change). None when no dimension
    concentrates it by at least MIN_CONCENTRATION (the gap is spread evenly)."""
    basis = _basis(kpi_name, row, facts)
    if basis is None or parent.contribution <= 0:
        return None
    trend = not _misses(row)
    best: tuple[float, DrillDown] | None = None
    for dimension in dict.fromkeys(s.dimension for s in facts.segments):
        if dimension == parent.dimension:
            continue
        found = [
            c
            for c in _children(kpi_name, parent, dimension, facts)
            if c.stat.n and c.stat.mean is not None
        ]
        effects = mix_rate((c.value, c.early, c.late) for c in found) if trend else {}
        children = []
        for c in found:
            if trend and c.value not in effects:
                continue
            contribution = (
                sum(effects[c.value]) * parent.contribution
                if trend
                else _contribution(kpi_name, c.stat, basis)
            )
            children.append(
                Segment(
                    dimension=dimension,
                    value=c.value,
                    tickets=c.tickets,
                    share=min(1.0, c.tickets / parent.tickets) if parent.tickets else 0.0,
                    kpi_value=None,
                    weight=c.stat.n,
                    contribution=round(contribution, 6),
                )
            )
        if len(children) < 2:
            continue
        children.sort(key=lambda s: (-s.contribution, s.value))
        # Within the parent, a child's share of the parent's gap meets its share of tickets.
        split = _split(
            dimension,
            [
                c.model_copy(update={"contribution": c.contribution / parent.contribution})
                for c in children
            ],
        )
        explained = split.explained
        score = explained - split.weight_share
        if score >= MIN_CONCENTRATION and (best is None or score > best[0]):
            best = (
                score,
                DrillDown(
                    parent_dimension=parent.dimension,
                    parent=parent.value,
                    dimension=dimension,
                    segments=tuple(children),
                    explained=round(explained, 6),
                ),
            )
    return best[1] if best else None


def explain(
    kpi_name: str, row: KpiBaseline, segments: Sequence[Segment], facts: WindowFacts
) -> GapExplanation | None:
    """The KPI's gap across every dimension, the most concentrated first, with a drill-down
    into the leading dimension's top segment."""
    ref = reference(row)
    if ref is None or row.value is None or not segments:
        return None
    basis: Literal["benchmark", "trend"] = "benchmark" if _misses(row) else "trend"
    by_dim: dict[str, list[Segment]] = {}
    for seg in segments:
        by_dim.setdefault(seg.dimension, []).append(seg)
    splits = sorted(
        (_split(dim, segs) for dim, segs in by_dim.items()),
        key=lambda s: (-s.concentration, s.dimension),
    )
    lead = splits[0]
    drill = None
    if lead.top:
        top = next(s for s in by_dim[lead.dimension] if s.value == lead.top[0])
        drill = drill_down(kpi_name, row, top, facts)
    return GapExplanation(
        kpi=kpi_name,
        basis=basis,
        reference=ref,
        value=row.value if basis == "benchmark" or row.late is None else row.late,
        dimensions=tuple(splits),
        drill=drill,
    )
