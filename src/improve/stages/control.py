"""Control charts of weekly KPIs, to tell signal from noise, and the week a shift started.

XmR charts for durations, counts and means; Laney p' charts for rates, whose plain p-chart
limits are far too tight at thousands of tickets a week (every week would be "special").
Sigma comes from the median moving range (Wheeler), so that a shift inside the series does
not widen its own limits. Special causes follow the Western Electric rules. A shift is
asserted only by the CUSUM change-point test (the cumulative sum of standardised deviations,
whose maximum under no change follows the Kolmogorov distribution), at 1%: a run rule on its
own fires on pure noise in a year of weeks more often than not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
from scipy.stats import kstwobign

from improve.domain.base import Direction
from improve.domain.control import ControlChart, Rule, Shift, SpecialCause

MIN_WEEKS = 8  # fewer points make no chart
MIN_SEGMENT = 4  # weeks on each side of a shift
SHIFT_ALPHA = 0.01
MEDIAN_MR_TO_SIGMA = 0.954  # d4 for moving ranges of two points (Wheeler)


def control_chart(
    kpi: str,
    weeks: Sequence[date],
    values: Sequence[float | None],
    *,
    direction: Direction | None,
    sizes: Sequence[int] | None = None,
) -> ControlChart:
    """The chart of one KPI's weekly `values`; `sizes` (the rate's denominators) make it a
    Laney p' chart. Weeks without a value (or with size 0) are left out of the limits."""
    kept = [
        i
        for i, v in enumerate(values)
        if v is not None and math.isfinite(v) and (sizes is None or sizes[i] > 0)
    ]
    kind = "p" if sizes is not None else "xmr"
    empty = ControlChart(
        kpi=kpi,
        kind=kind,
        weeks=tuple(weeks),
        values=tuple(values),
        center=None,
        lower=(None,) * len(weeks),
        upper=(None,) * len(weeks),
    )
    if len(kept) < MIN_WEEKS:
        return empty
    x = np.array([values[i] for i in kept], dtype=float)
    if sizes is not None:
        n = np.array([sizes[i] for i in kept], dtype=float)
        center = float((x * n).sum() / n.sum())
        binomial = np.sqrt(max(center * (1 - center), 0.0) / n)
        if not binomial.all():
            return empty
        sigma = binomial * _robust_sigma((x - center) / binomial)
    else:
        center = float(x.mean())
        sigma = np.full(len(x), _robust_sigma(x))
    if not sigma.all():
        return empty  # no week-to-week variation: nothing to chart
    z = (x - center) / sigma
    at = [weeks[i] for i in kept]
    lower: list[float | None] = [None] * len(weeks)
    upper: list[float | None] = [None] * len(weeks)
    for j, i in enumerate(kept):
        low = center - 3 * sigma[j]
        lower[i] = max(low, 0.0) if kind == "p" else low
        upper[i] = min(center + 3 * sigma[j], 1.0) if kind == "p" else center + 3 * sigma[j]
    return empty.model_copy(
        update={
            "center": center,
            "lower": tuple(lower),
            "upper": tuple(upper),
            "signals": tuple(special_causes(z, at, direction)),
            "shift": cusum_shift(x, z, at, direction),
        }
    )


def _robust_sigma(x: np.ndarray) -> float:
    """Sigma from the median moving range: one jump barely moves it."""
    return float(np.median(np.abs(np.diff(x)))) / MEDIAN_MR_TO_SIGMA


def _worse(up: bool, direction: Direction | None) -> bool | None:
    if direction is None:
        return None
    return up == (direction == Direction.LOWER)


def special_causes(
    z: np.ndarray, weeks: Sequence[date], direction: Direction | None
) -> list[SpecialCause]:
    """Western Electric rules on standardised values: a point beyond 3 sigma; two of three
    beyond 2 sigma on one side; eight in a row on one side; six in a row rising or falling.
    Each pattern is reported once, when it completes."""
    out: list[SpecialCause] = []

    def found(rule: Rule, first: int, last: int, up: bool) -> None:
        out.append(
            SpecialCause(
                rule=rule,
                first_week=weeks[first],
                week=weeks[last],
                direction="up" if up else "down",
                worse=_worse(up, direction),
            )
        )

    last_two_of_three = -1
    run_start, trend_start = 0, 0
    for i, value in enumerate(z):
        if abs(value) > 3:
            found("beyond_limits", i, i, value > 0)
        if i >= 2 and i - 2 > last_two_of_three:
            window = z[i - 2 : i + 1]
            for up in (True, False):
                beyond = window > 2 if up else window < -2
                if beyond.sum() >= 2 and beyond[-1]:
                    found("two_of_three", i - 2, i, up)
                    last_two_of_three = i
        if i and np.sign(value) != np.sign(z[i - 1]):
            run_start = i
        if i - run_start + 1 == 8 and value != 0:
            found("run_of_eight", run_start, i, value > 0)
        if i >= 2 and np.sign(z[i] - z[i - 1]) != np.sign(z[i - 1] - z[i - 2]):
            trend_start = i - 1
        if i - trend_start + 1 == 6 and z[i] != z[i - 1]:
            found("trend_of_six", trend_start, i, z[i] > z[i - 1])
    return sorted(out, key=lambda s: (s.week, s.rule))


def cusum_shift(
    x: np.ndarray, z: np.ndarray, weeks: Sequence[date], direction: Direction | None
) -> Shift | None:
    """The one most likely change of level, if the CUSUM test finds it at SHIFT_ALPHA.

    S_k sums the standardised deviations from their mean; max |S_k| / sqrt(n) follows the
    Kolmogorov distribution when the level does not change. The shift starts the week after
    the maximum."""
    n = len(z)
    cusum = np.cumsum(z - z.mean())
    inner = np.abs(cusum[MIN_SEGMENT - 1 : n - MIN_SEGMENT])
    if n < 2 * MIN_SEGMENT or not inner.size:
        return None
    k = int(np.argmax(inner)) + MIN_SEGMENT - 1
    p_value = float(kstwobign.sf(inner.max() / math.sqrt(n)))
    if p_value >= SHIFT_ALPHA:
        return None
    before, after = float(x[: k + 1].mean()), float(x[k + 1 :].mean())
    return Shift(
        started=weeks[k + 1],
        before=before,
        after=after,
        p_value=p_value,
        worse=_worse(after > before, direction),
    )
