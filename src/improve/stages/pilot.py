"""Pilot evaluation (试点效果评估): did the measure move its KPIs in the pilot scope more than
in the control group over the same weeks?

For each KPI, the effect is the difference in differences (DiD) of the KPI's own statistic
(the median or P90 of a duration, the mean, or the rate), with a 95% interval from a
stratified bootstrap of the tickets. The p-value comes from the test that fits the metric:
for durations, a DiD of mid-ranks of all four groups pooled (a Mann-Whitney-type statistic,
robust to the long tail of durations); for rates, the two-proportion z-test of the DiD; for
other means, Welch's z. The power is the chance of detecting the change the KPI's target asks
for; the minimum detectable effect is the one found with 80% power. The verdict: roll out
when the interval excludes zero on the improving side and the test agrees; stop when it
excludes zero on the worse side, or when the pilot had the power to see the wanted change
and did not; extend (collect more weeks) otherwise.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats

from improve.domain.artifacts import (
    PilotEvaluation,
    PilotKpiResult,
    PilotVerdict,
    TargetList,
)
from improve.domain.base import Direction, Text
from improve.domain.facts import PilotFacts
from improve.domain.kpi import KPIS
from improve.domain.programme import Pilot
from improve.errors import StageError

BOOTSTRAP = 2000
CHUNK = 100  # bootstrap resamples drawn at once (memory: CHUNK x group size floats)
ALPHA = 0.05
POWER = 0.80
MIN_GROUP = 30  # tickets per group below which no verdict is given
QUANTILES = {
    "frt_median_min": 0.5,
    "frt_p90_min": 0.9,
    "resolution_median_h": 0.5,
    "resolution_p90_h": 0.9,
}
Z_ALPHA = float(stats.norm.ppf(1 - ALPHA / 2))
Z_POWER = float(stats.norm.ppf(POWER))
Statistic = Literal["median", "p90", "mean", "rate"]


def statistic_of(kpi_name: str) -> Statistic:
    """Which statistic the KPI is: a percentile of a duration, a rate or a mean."""
    q = QUANTILES.get(kpi_name)
    if q is not None:
        return "median" if q == 0.5 else "p90"
    return "rate" if KPIS[kpi_name].is_rate else "mean"


def _value(values: np.ndarray, kpi_name: str) -> float:
    q = QUANTILES.get(kpi_name)
    return float(np.quantile(values, q)) if q is not None else float(values.mean())


def _seed(*parts: str) -> int:
    """A seed from the pilot and KPI, so a rerun draws the same resamples (and stores the
    same artifact)."""
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")


def _resampled(values: np.ndarray, kpi_name: str, rng: np.random.Generator) -> np.ndarray:
    """BOOTSTRAP resampled values of the KPI's statistic over one group of tickets."""
    n = values.size
    if statistic_of(kpi_name) == "rate":
        return rng.binomial(n, float(values.mean()), BOOTSTRAP) / n
    q = QUANTILES.get(kpi_name)
    out = np.empty(BOOTSTRAP)
    for first in range(0, BOOTSTRAP, CHUNK):
        size = min(CHUNK, BOOTSTRAP - first)
        sample = values[rng.integers(0, n, (size, n))]
        out[first : first + size] = (
            np.quantile(sample, q, axis=1) if q is not None else sample.mean(axis=1)
        )
    return out


def _p_value(kpi_name: str, groups: Sequence[np.ndarray]) -> float:
    """Two-sided p-value of the DiD by the test that fits the metric."""
    pb, pa, cb, ca = groups
    statistic = statistic_of(kpi_name)
    if statistic in ("median", "p90"):
        ranks = stats.rankdata(np.concatenate(groups)) / sum(g.size for g in groups)
        cuts = np.cumsum([g.size for g in groups])[:-1]
        groups = np.split(ranks, cuts)
        pb, pa, cb, ca = groups
    means = [float(g.mean()) for g in (pb, pa, cb, ca)]
    if statistic == "rate":
        variances = [m * (1 - m) for m in means]
    else:
        variances = [float(g.var(ddof=1)) for g in (pb, pa, cb, ca)]
    se = math.sqrt(sum(v / g.size for v, g in zip(variances, (pb, pa, cb, ca), strict=True)))
    did = (means[1] - means[0]) - (means[3] - means[2])
    if se == 0:
        return 1.0 if did == 0 else 0.0
    return float(2 * stats.norm.sf(abs(did) / se))


def _power(wanted: float | None, se: float) -> float | None:
    if wanted is None or se <= 0:
        return None
    shift = abs(wanted) / se
    return float(stats.norm.cdf(shift - Z_ALPHA) + stats.norm.cdf(-shift - Z_ALPHA))


def _test(kpi_name: str) -> Literal["rank_did", "two_proportion", "welch"]:
    statistic = statistic_of(kpi_name)
    if statistic in ("median", "p90"):
        return "rank_did"
    return "two_proportion" if statistic == "rate" else "welch"


def kpi_result(pilot: Pilot, facts: PilotFacts, *, wanted: float | None) -> PilotKpiResult:
    """The DiD of one KPI with its interval, test, power and verdict."""
    kpi_name = facts.kpi
    groups = [
        np.asarray(g, dtype=float)
        for g in (facts.pilot_before, facts.pilot_after, facts.control_before, facts.control_after)
    ]
    sizes = (groups[0].size, groups[1].size, groups[2].size, groups[3].size)
    values = [_value(g, kpi_name) if g.size else None for g in groups]
    common = {
        "kpi": kpi_name,
        "statistic": statistic_of(kpi_name),
        "pilot_before": values[0],
        "pilot_after": values[1],
        "control_before": values[2],
        "control_after": values[3],
        "test": _test(kpi_name),
        "wanted": wanted,
        "tickets": sizes,
    }
    if min(sizes) < MIN_GROUP:
        return PilotKpiResult(
            **common,
            effect=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            power=None,
            mde=None,
            moved=None,
            verdict="extend",
            reason=Text(
                zh=f"样本不足（每组至少 {MIN_GROUP} 张工单），延长试点以积累数据",
                en=f"too few tickets (at least {MIN_GROUP} per group); extend the pilot",
            ),
        )
    rng = np.random.default_rng(_seed(pilot.key, kpi_name))
    pb, pa, cb, ca = (_resampled(g, kpi_name, rng) for g in groups)
    boot = (pa - pb) - (ca - cb)
    assert values[0] is not None and values[1] is not None
    assert values[2] is not None and values[3] is not None
    effect = (values[1] - values[0]) - (values[3] - values[2])
    low, high = (float(x) for x in np.quantile(boot, [ALPHA / 2, 1 - ALPHA / 2]))
    se = float(boot.std(ddof=1))
    p_value = _p_value(kpi_name, groups)
    power = _power(wanted, se)
    lower_better = KPIS[kpi_name].direction == Direction.LOWER
    better = high < 0 if lower_better else low > 0
    worse = low > 0 if lower_better else high < 0
    verdict: PilotVerdict
    if better and p_value < ALPHA:
        verdict = "roll_out"
        reason = Text(
            zh="区间不含零且检验显著：效果真实，可推广",
            en="the interval excludes zero and the test agrees: the effect is real; roll out",
        )
    elif worse:
        verdict = "stop"
        reason = Text(zh="指标显著变差：停止试点", en="the KPI got significantly worse; stop")
    elif power is not None and power >= POWER:
        verdict = "stop"
        reason = Text(
            zh=f"检验功效 {power:.0%} 足以发现目标要求的变化，却未发现：停止",
            en=f"with {power:.0%} power to see the change the target asks for, none was seen; stop",
        )
    else:
        verdict = "extend"
        shown = "unknown" if power is None else f"{power:.0%}"
        reason = Text(
            zh=f"效果不显著且检验功效不足（{'未知' if power is None else f'{power:.0%}'}）："
            "延长试点",
            en=f"no significant effect and too little power ({shown}); extend the pilot",
        )
    return PilotKpiResult(
        **common,
        effect=effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        power=power,
        mde=(Z_ALPHA + Z_POWER) * se,
        moved="better" if better else "worse" if worse else None,
        verdict=verdict,
        reason=reason,
    )


def evaluate_pilot(
    pilot: Pilot, facts: Sequence[PilotFacts], *, targets: TargetList | None = None
) -> PilotEvaluation:
    """The pilot's evaluation over its KPIs (facts in the pilot's KPI order). The overall
    verdict: stop when any KPI got worse, roll out when the leading KPI rolls out, stop when
    every KPI says stop, extend otherwise."""
    by_kpi = {f.kpi: f for f in facts if f.pilot == pilot.key}
    missing = [k for k in pilot.kpis if k not in by_kpi]
    if missing:
        raise StageError(f"pilot {pilot.key}: no facts for KPI(s) {missing}; read them first")
    wanted = {t.kpi: t.target - t.baseline for t in targets.targets} if targets else {}
    results = tuple(kpi_result(pilot, by_kpi[k], wanted=wanted.get(k)) for k in pilot.kpis)
    harmed = [r for r in results if r.moved == "worse"]
    verdict: PilotVerdict
    if harmed:
        verdict = "stop"
        reason = Text(zh=f"{harmed[0].kpi} 显著变差", en=f"{harmed[0].kpi} got significantly worse")
    elif results[0].verdict == "roll_out":
        verdict = "roll_out"
        reason = Text(
            zh=f"主要指标 {results[0].kpi} 改善显著", en=f"{results[0].kpi} improved significantly"
        )
    elif all(r.verdict == "stop" for r in results):
        verdict = "stop"
        reason = Text(zh="各指标均无值得推广的效果", en="no KPI moved enough to be worth it")
    else:
        verdict = "extend"
        reason = Text(zh="证据尚不充分：延长试点", en="not enough evidence yet; extend the pilot")
    return PilotEvaluation(
        key=pilot.key,
        name=pilot.name,
        strategy=pilot.strategy,
        scope=pilot.scope,
        control=pilot.control,
        start=pilot.start,
        end=pilot.end,
        kpis=results,
        verdict=verdict,
        reason=reason,
    )
