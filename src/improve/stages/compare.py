"""A KPI in two windows (the evaluation window against a reference): the change with its 95%
interval and the test that fits the metric.

Windows hold tens of thousands of tickets, so the intervals are analytic rather than
bootstrapped: a percentile's standard error comes from its distribution-free order-statistic
interval (Price and Bonett's interval for a difference of medians); a rate's and a mean's from
their variance. The p-value is Mann-Whitney's for durations (robust to their long tail), the
two-proportion z-test for rates and Welch's t-test for means. A change counts as moved only
when the interval excludes zero and the test agrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
from scipy import stats

from improve.domain.artifacts import Basis, Comparison, Estimate, Moved, Test
from improve.domain.base import Direction
from improve.domain.kpi import KPIS
from improve.stages.pilot import ALPHA, MIN_GROUP, QUANTILES, Z_ALPHA, statistic_of


def _quantile_se(values: np.ndarray, q: float) -> tuple[float, float, float]:
    """The q-quantile's order-statistic 95% interval and the standard error it implies."""
    ordered = np.sort(values)
    n = ordered.size
    half = Z_ALPHA * math.sqrt(n * q * (1 - q))
    low = ordered[max(math.floor(n * q - half), 0)]
    high = ordered[min(math.ceil(n * q + half), n - 1)]
    return float(low), float(high), float(high - low) / (2 * Z_ALPHA)


def estimate(kpi_name: str, values: Sequence[float]) -> tuple[Estimate, float | None]:
    """The KPI's statistic over one window's per-ticket values, its interval and its SE."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return Estimate(value=None, n=0), None
    q = QUANTILES.get(kpi_name)
    if q is not None:
        value = float(np.quantile(x, q))
        if x.size < MIN_GROUP:
            return Estimate(value=value, n=x.size), None
        low, high, se = _quantile_se(x, q)
        return Estimate(value=value, low=low, high=high, n=x.size), se
    value = float(x.mean())
    if x.size < MIN_GROUP:
        return Estimate(value=value, n=x.size), None
    if statistic_of(kpi_name) == "rate":
        # Wilson's interval for the rate itself; the Wald SE for the difference.
        ci = stats.binomtest(round(x.sum()), x.size).proportion_ci(method="wilson")
        se = math.sqrt(value * (1 - value) / x.size)
        return Estimate(value=value, low=ci.low, high=ci.high, n=x.size), se
    se = float(x.std(ddof=1)) / math.sqrt(x.size)
    return Estimate(value=value, low=value - Z_ALPHA * se, high=value + Z_ALPHA * se, n=x.size), se


def _test(kpi_name: str) -> Test:
    statistic = statistic_of(kpi_name)
    if statistic in ("median", "p90"):
        return "mann_whitney"
    return "two_proportion" if statistic == "rate" else "welch_t"


def p_value(kpi_name: str, reference: np.ndarray, current: np.ndarray) -> float:
    """Two-sided p-value of the change by the test that fits the metric."""
    test = _test(kpi_name)
    if test == "mann_whitney":
        return float(stats.mannwhitneyu(current, reference, method="asymptotic").pvalue)
    if test == "two_proportion":
        pooled = (reference.sum() + current.sum()) / (reference.size + current.size)
        se = math.sqrt(pooled * (1 - pooled) * (1 / reference.size + 1 / current.size))
        diff = float(current.mean() - reference.mean())
        if se == 0:
            return 1.0 if diff == 0 else 0.0
        return float(2 * stats.norm.sf(abs(diff) / se))
    if reference.var() == 0 and current.var() == 0:
        return 1.0 if reference.mean() == current.mean() else 0.0
    return float(stats.ttest_ind(current, reference, equal_var=False).pvalue)


def moved(kpi_name: str, low: float, high: float, p: float) -> Moved | None:
    """better / worse when the interval excludes zero on that side and p < ALPHA."""
    if p >= ALPHA:
        return None
    lower_better = KPIS[kpi_name].direction == Direction.LOWER
    if high < 0:
        return "better" if lower_better else "worse"
    if low > 0:
        return "worse" if lower_better else "better"
    return None


def compare(
    kpi_name: str,
    reference: Sequence[float],
    current: Sequence[float],
    *,
    basis: Basis,
    reference_start: date,
    reference_end: date,
) -> Comparison:
    """The KPI's change from the reference window to the current one, with its interval."""
    ref, ref_se = estimate(kpi_name, reference)
    cur, cur_se = estimate(kpi_name, current)
    common = {
        "basis": basis,
        "reference_start": reference_start,
        "reference_end": reference_end,
        "reference": ref,
        "current": cur,
        "test": _test(kpi_name),
    }
    if ref.value is None or cur.value is None:
        return Comparison(
            **common, change=None, ci_low=None, ci_high=None, p_value=None, moved=None
        )
    change = cur.value - ref.value
    if ref_se is None or cur_se is None:
        return Comparison(
            **common, change=change, ci_low=None, ci_high=None, p_value=None, moved=None
        )
    half = Z_ALPHA * math.sqrt(ref_se**2 + cur_se**2)
    p = p_value(kpi_name, np.asarray(reference, float), np.asarray(current, float))
    return Comparison(
        **common,
        change=change,
        ci_low=change - half,
        ci_high=change + half,
        p_value=p,
        moved=moved(kpi_name, change - half, change + half, p),
    )
