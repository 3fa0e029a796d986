"""Gap explanation: mix against rate, the concentrating dimension, the two-level drill-down."""

from __future__ import annotations

import random
from datetime import date

import pytest
from tests.chain import Chain

from improve.domain.artifacts import KpiBaseline, Segment
from improve.domain.facts import MeasureStat, PairFacts, SegmentFacts, WindowFacts
from improve.stages.gap import drill_down, mix_rate


def stat(n: int, mean: float) -> MeasureStat:
    return MeasureStat(n=n, mean=mean, var=1.0)


def test_work_moving_to_a_slow_segment_is_all_mix() -> None:
    # Both segments keep their own speed; the slow one's share grows from 50% to 80%.
    effects = mix_rate(
        [
            ("slow", stat(50, 20.0), stat(80, 20.0)),
            ("fast", stat(50, 10.0), stat(20, 10.0)),
        ]
    )
    assert effects["slow"][1] == pytest.approx(0) and effects["fast"][1] == pytest.approx(0)
    assert sum(m for m, _ in effects.values()) == pytest.approx(1)
    # Means 15 -> 18 (midpoint 16.5): slow 0.3 x (20 - 16.5), fast -0.3 x (10 - 16.5), over 3.
    assert effects["slow"][0] == pytest.approx(0.35) and effects["fast"][0] == pytest.approx(0.65)


def test_a_segment_getting_slower_is_all_rate() -> None:
    effects = mix_rate(
        [("a", stat(50, 10.0), stat(50, 16.0)), ("b", stat(50, 10.0), stat(50, 10.0))]
    )
    assert effects["a"] == pytest.approx((0.0, 1.0))
    assert effects["b"] == pytest.approx((0.0, 0.0))


def test_mix_and_rate_add_up_to_the_change_whatever_the_data() -> None:
    rng = random.Random(7)
    for _ in range(200):
        segments = []
        for i in range(rng.randint(2, 6)):
            early = stat(rng.randint(1, 500), rng.uniform(1, 100)) if rng.random() > 0.1 else None
            late = stat(rng.randint(1, 500), rng.uniform(1, 100)) if rng.random() > 0.1 else None
            segments.append((f"s{i}", early, late))
        effects = mix_rate(segments)
        if effects:
            assert sum(m + r for m, r in effects.values()) == pytest.approx(1)


def test_no_change_or_one_period_only_explains_nothing() -> None:
    assert mix_rate([("a", stat(5, 3.0), stat(5, 3.0))]) == {}
    assert mix_rate([("a", stat(5, 3.0), None)]) == {}


def _facts(cells: dict[tuple[str, str], tuple[int, float]]) -> WindowFacts:
    """A window of team x channel cells (tickets, mean handle time), no change over time."""
    teams = sorted({t for t, _ in cells})
    channels = sorted({c for _, c in cells})

    def pooled(keys: list[tuple[str, str]]) -> tuple[int, float]:
        n = sum(cells[k][0] for k in keys)
        return n, sum(cells[k][0] * cells[k][1] for k in keys) / n

    def segment(dim: str, value: str, keys: list[tuple[str, str]]) -> SegmentFacts:
        n, mean = pooled(keys)
        return SegmentFacts(
            dimension=dim,
            value=value,
            tickets=n,
            kpis={"handle_minutes_mean": mean},
            measures={"handle_minutes_mean": stat(n, mean)},
            rework_rate=None,
            replies_mean=None,
        )

    segments = [segment("team", t, [k for k in cells if k[0] == t]) for t in teams]
    segments += [segment("channel", c, [k for k in cells if k[1] == c]) for c in channels]
    n, mean = pooled(list(cells))
    return WindowFacts(
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        tickets=n,
        fingerprint="x",
        kpis={"handle_minutes_mean": mean},
        early={},
        late={},
        monthly=(),
        overall={"handle_minutes_mean": stat(n, mean)},
        rework_rate=None,
        replies_mean=None,
        segments=tuple(segments),
        pairs=tuple(
            PairFacts(
                dimensions=("channel", "team"),
                values=(c, t),
                tickets=cells[(t, c)][0],
                measures={"handle_minutes_mean": stat(*cells[(t, c)])},
            )
            for t, c in cells
        ),
        team_load=(),
    )


def test_drill_down_finds_the_cell_inside_the_worst_team() -> None:
    # Team A is slow only on the web; team B is fine everywhere. Benchmark: 10 minutes.
    cells = {
        ("A", "web"): (100, 30.0),
        ("A", "phone"): (100, 10.0),
        ("A", "chat"): (100, 10.0),
        ("B", "web"): (100, 10.0),
        ("B", "phone"): (100, 10.0),
        ("B", "chat"): (100, 10.0),
    }
    facts = _facts(cells)
    mean = facts.overall["handle_minutes_mean"].mean
    assert mean is not None
    row = KpiBaseline(kpi="handle_minutes_mean", value=mean, benchmark=10.0, gap=mean - 10.0)
    team_a = Segment(
        dimension="team", value="A", tickets=300, share=0.5, kpi_value=None, weight=300,
        contribution=1.0,
    )  # fmt: skip
    drill = drill_down("handle_minutes_mean", row, team_a, facts)
    assert drill is not None
    assert (drill.parent_dimension, drill.parent, drill.dimension) == ("team", "A", "channel")
    assert drill.segments[0].value == "web"
    assert drill.segments[0].contribution == pytest.approx(1.0)
    assert drill.explained == pytest.approx(1.0)


def test_an_evenly_spread_gap_has_no_drill_down() -> None:
    cells = {(t, c): (100, 20.0 if t == "A" else 10.0) for t in "AB" for c in ("web", "phone")}
    facts = _facts(cells)
    mean = facts.overall["handle_minutes_mean"].mean
    assert mean is not None
    row = KpiBaseline(kpi="handle_minutes_mean", value=mean, benchmark=10.0, gap=mean - 10.0)
    team_a = Segment(
        dimension="team", value="A", tickets=200, share=0.5, kpi_value=None, weight=200,
        contribution=1.0,
    )  # fmt: skip
    assert drill_down("handle_minutes_mean", row, team_a, facts) is None


def test_sample_gaps_are_explained_by_the_planted_segments(chain: Chain) -> None:
    explained = chain.diagnosis.explanations
    # The web form that loses fields: FCR's gap concentrates in the web channel.
    fcr = explained["fcr_rate"]
    assert fcr.basis == "benchmark" and fcr.lead.dimension == "channel"
    assert fcr.lead.top[0] == "web"
    # Second-line and billing work: resolution time's gap sits with their teams.
    res = explained["resolution_median_h"]
    assert res.lead.dimension in ("team", "category") and res.lead.explained > 0.9
    assert res.drill is not None
    # First response only deteriorated: the change is the front line's, and it is rate, not
    # mix (the front line got slower; its share of the work barely moved).
    frt = explained["frt_median_min"]
    assert frt.basis == "trend" and frt.lead.dimension == "team"
    assert frt.lead.top[0] == "一线客服组"
    assert frt.lead.rate is not None and frt.lead.rate > 0.9
    assert frt.drill is not None and frt.drill.parent == "一线客服组"
    for e in explained.values():
        for split in e.dimensions:
            if split.mix is not None and split.rate is not None:
                assert split.mix + split.rate == pytest.approx(1, abs=1e-4)
