"""Control charts: the rules fire on their patterns, noise rarely makes a shift, a real step
is dated within two weeks, and rates with thousands of tickets a week are not all 'special'."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from improve.domain.base import Direction
from improve.stages.control import control_chart, special_causes

WEEKS = [date(2025, 1, 6) + timedelta(weeks=i) for i in range(78)]


def _rules(z: list[float]) -> list[tuple[str, int, int, str]]:
    weeks = WEEKS[: len(z)]
    return [
        (s.rule, weeks.index(s.first_week), weeks.index(s.week), s.direction)
        for s in special_causes(np.array(z), weeks, Direction.LOWER)
    ]


def test_each_rule_fires_once_on_its_pattern() -> None:
    assert _rules([0.1, -0.2, 3.5, -0.3, 0.2]) == [("beyond_limits", 2, 2, "up")]
    assert _rules([0.1, -2.5, 0.3, -2.2, 0.4, -0.1]) == [("two_of_three", 1, 3, "down")]
    assert _rules([-0.1] + [0.4, 0.6] * 4 + [-0.3]) == [("run_of_eight", 1, 8, "up")]
    assert _rules([0.3, -0.9, -0.6, -0.3, 0.0, 0.3, 0.6, -0.5]) == [("trend_of_six", 1, 6, "up")]


def test_worse_follows_the_kpi_direction() -> None:
    late = [10.0 + 0.1 * (i % 3) for i in range(30)] + [14.0 + 0.1 * (i % 3) for i in range(30)]
    lower = control_chart("frt_median_min", WEEKS[:60], late, direction=Direction.LOWER)
    higher = control_chart("fcr_rate", WEEKS[:60], late, direction=Direction.HIGHER)
    assert lower.shift and lower.shift.worse is True
    assert higher.shift and higher.shift.worse is False
    assert all(s.worse for s in lower.signals if s.direction == "up")


def test_noise_rarely_makes_a_shift() -> None:
    rng = np.random.default_rng(7)
    shifts = sum(
        control_chart("frt_mean_min", WEEKS, list(rng.normal(60, 5, 78)), direction=None).shift
        is not None
        for _ in range(400)
    )
    assert shifts <= 12  # 1% nominal; 3% allowed for 78 weeks


@pytest.mark.parametrize("step", [1.5, 3.0])
def test_a_step_is_dated_within_two_weeks(step: float) -> None:
    rng = np.random.default_rng(11)
    dated = 0
    for _ in range(100):
        series = rng.normal(60, 5, 78)
        series[40:] += step * 5
        chart = control_chart("frt_mean_min", WEEKS, list(series), direction=Direction.LOWER)
        if chart.shift and abs((chart.shift.started - WEEKS[40]).days) <= 14:
            assert chart.shift.worse and chart.shift.after > chart.shift.before
            dated += 1
    assert dated >= (80 if step < 2 else 98)


def test_rates_with_large_weeks_use_laney_limits() -> None:
    """Thousands of tickets a week and a little real week-to-week variation: plain p-chart
    limits (binomial only) would mark most weeks; Laney's p' keeps noise inside."""
    rng = np.random.default_rng(3)
    sizes = [int(s) for s in rng.integers(2000, 2600, 78)]
    rates = np.clip(rng.normal(0.7, 0.02, 78), 0, 1)
    values = [float(rng.binomial(n, p) / n) for n, p in zip(sizes, rates, strict=True)]
    chart = control_chart("fcr_rate", WEEKS, values, direction=Direction.HIGHER, sizes=sizes)
    assert chart.kind == "p" and chart.center == pytest.approx(0.7, abs=0.01)
    binomial = np.sqrt(0.7 * 0.3 / np.array(sizes))
    outside_binomial = sum(abs(v - 0.7) > 3 * b for v, b in zip(values, binomial, strict=True))
    assert outside_binomial > 10  # 18 of 78 weeks here
    assert sum(s.rule == "beyond_limits" for s in chart.signals) <= 2
    assert chart.shift is None
    assert all(
        lo is not None and hi is not None and lo < hi
        for lo, hi in zip(chart.lower, chart.upper, strict=True)
    )


def test_short_or_flat_series_make_no_chart() -> None:
    short = control_chart("volume", WEEKS[:5], [1.0] * 5, direction=None)
    flat = control_chart("volume", WEEKS[:20], [7.0] * 20, direction=None)
    gaps = control_chart("csat_mean", WEEKS[:9], [4.1, None] * 4 + [4.0], direction=None)
    for chart in (short, flat, gaps):
        assert chart.center is None and not chart.signals and chart.shift is None
