"""Target (目标设定): DiagnosisReport -> TargetList (服务提升目标清单) of SMART targets."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date

from improve.domain.artifacts import (
    DiagnosisReport,
    KpiBaseline,
    Segment,
    SmartCheck,
    SubTarget,
    Target,
    TargetList,
)
from improve.domain.base import ArtifactRef, Dimension, Direction, Text
from improve.domain.kpi import KPIS
from improve.domain.programme import Programme
from improve.errors import StageError

MAX_RELATIVE_CHANGE = 0.6  # a target moving a KPI by more than 60% in one cycle is not achievable
RESTORE_SHARE = 1.0  # a deteriorated KPI without a missed benchmark: back to its early level
_OBJECTIVES = {
    Dimension.EFFICIENCY: Text(
        zh="提升服务效率：更快响应与解决", en="Faster response and resolution (efficiency)"
    ),
    Dimension.QUALITY: Text(
        zh="提升服务质量：一次解决，减少返工", en="Solve it the first time, less rework (quality)"
    ),
    Dimension.EXPERIENCE: Text(
        zh="提升客户体验：满意度与口碑", en="Customer satisfaction and advocacy (experience)"
    ),
    Dimension.COST: Text(
        zh="控制服务成本：减少无效工作量", en="Less wasted effort per agent (cost)"
    ),
}


def _round(kpi_name: str, value: float) -> float:
    return round(value, 3) if KPIS[kpi_name].is_rate else round(value, 1)


def best_decile(kpi_name: str, row: KpiBaseline) -> float | None:
    """The best 10% of the programme's own monthly values (linear interpolation)."""
    values = sorted(p.value for p in row.monthly if p.value is not None)
    if len(values) < 2:
        return values[0] if values else None
    lower = KPIS[kpi_name].direction == Direction.LOWER
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return deciles[0] if lower else deciles[-1]


def smart_check(target: Target, *, plan_start: date, evidence_backed: bool) -> SmartCheck:
    """Check a target letter by letter; each failure says what to change."""
    failures: list[Text] = []
    specific = bool(target.kpi in KPIS and target.owner_department and target.problem_ids)
    if not specific:
        failures.append(
            Text(
                zh="S：需指定指标、责任部门与对应问题",
                en="S: name the KPI, the owner department and the problem",
            )
        )
    measurable = (
        target.baseline == target.baseline and target.target == target.target and bool(target.unit)
    )
    if not measurable:
        failures.append(
            Text(
                zh="M：基线与目标值须为数值并带单位",
                en="M: baseline and target must be numbers with a unit",
            )
        )
    change = abs(target.target - target.baseline) / (abs(target.baseline) or 1.0)
    beyond_history = target.best_decile is not None and (
        target.target < target.best_decile
        if target.direction == Direction.LOWER
        else target.target > target.best_decile
    )
    achievable = change <= MAX_RELATIVE_CHANGE and not (
        beyond_history and "justified" not in target.rule.en
    )
    if not achievable:
        failures.append(
            Text(
                zh=f"A：变动 {change:.0%} 超出可实现范围（≤{MAX_RELATIVE_CHANGE:.0%}，"
                "且不超过自身历史最佳 10%）",
                en=f"A: a {change:.0%} change is beyond reach (at most {MAX_RELATIVE_CHANGE:.0%}, "
                "and within the programme's own best decile unless justified)",
            )
        )
    relevant = evidence_backed and bool(target.objective.zh)
    if not relevant:
        failures.append(
            Text(
                zh="R：须对应有证据支撑的问题和战略目标",
                en="R: link it to an evidenced problem and a strategic objective",
            )
        )
    time_bound = (
        plan_start
        < target.deadline
        <= date(plan_start.year + 1, plan_start.month, min(plan_start.day, 28))
    )
    if not time_bound:
        failures.append(
            Text(
                zh="T：截止日期须在计划开始后 12 个月内",
                en="T: the deadline must fall within 12 months of the plan start",
            )
        )
    return SmartCheck(
        specific=specific,
        measurable=measurable,
        achievable=achievable,
        relevant=relevant,
        time_bound=time_bound,
        failures=tuple(failures),
    )


def propose_value(
    kpi_name: str, row: KpiBaseline, gap_closure: float, decile: float | None
) -> tuple[float, Text]:
    """A target value and the rule that set it."""
    assert row.value is not None
    lower = KPIS[kpi_name].direction == Direction.LOWER
    if row.benchmark is not None and row.gap is not None and row.gap > 0:
        value = row.value + gap_closure * (row.benchmark - row.value)
        rule = Text(
            zh=f"缩小与基准（{row.benchmark:g}）差距的 {gap_closure:.0%}",
            en=f"close {gap_closure:.0%} of the gap to the benchmark {row.benchmark:g}",
        )
    elif row.early is not None:
        value = row.value + RESTORE_SHARE * (row.early - row.value)
        rule = Text(
            zh="恢复到基线窗口前三个月的水平",
            en="restore the level of the window's first three months",
        )
    else:
        raise StageError(f"KPI {kpi_name}: no benchmark gap and no trend to set a target from")
    beyond = decile is not None and ((lower and value < decile) or (not lower and value > decile))
    if beyond and row.benchmark_source:
        rule = Text(
            zh=rule.zh + f"；超出自身历史最佳 10%，依据：{row.benchmark_source}",
            en=rule.en + f"; beyond the programme's own best decile, justified by the "
            f"published benchmark ({row.benchmark_source})",
        )
    elif beyond and decile is not None:
        value = decile
        rule = Text(
            zh=rule.zh + "；以自身历史最佳 10% 为上限",
            en=rule.en + ", capped at the programme's own best decile",
        )
    return _round(kpi_name, value), rule


def sub_targets(
    kpi_name: str, baseline: float, target: float, segments: Sequence[Segment], programme: Programme
) -> tuple[SubTarget, ...]:
    """Department sub-targets: every department scaled by the same factor, so that the
    weighted sum of sub-targets equals the overall target (for rates, the distance to 100%
    is scaled when higher is better)."""
    teams = [s for s in segments if s.dimension == "team" and s.kpi_value is not None]
    by_dept: dict[str, list[Segment]] = {}
    for seg in teams:
        dept = programme.department_of_team(seg.value)
        if dept is not None:
            by_dept.setdefault(dept.key, []).append(seg)
    total = sum(s.weight for group in by_dept.values() for s in group)
    if not total:
        return ()
    complement = KPIS[kpi_name].is_rate and KPIS[kpi_name].direction == Direction.HIGHER
    out = []
    for dept_key, group in sorted(by_dept.items()):
        weight = sum(s.weight for s in group)
        if not weight:
            continue
        base = sum(s.weight * (s.kpi_value or 0.0) for s in group) / weight
        if complement:
            factor = (1 - target) / (1 - baseline) if baseline < 1 else 1.0
            value = 1 - (1 - base) * factor
        else:
            value = base * (target / baseline) if baseline else base
        out.append(
            SubTarget(
                department=dept_key,
                baseline=_round(kpi_name, base),
                target=_round(kpi_name, value),
                volume_share=round(weight / total, 4),
            )
        )
    return tuple(out)


def set_targets(
    diagnosis: DiagnosisReport, *, source: ArtifactRef, programme: Programme
) -> TargetList:
    """Build the 服务提升目标清单: one SMART target per KPI of the prioritised problems."""
    cycle = programme.cycle
    chosen = [p for p in diagnosis.problems if p.priority <= cycle.max_problems]
    if not chosen:
        raise StageError(
            f"diagnosis {source.artifact_id} v{source.version} found no problem to set a target "
            "for; check the benchmarks in the programme definition"
        )
    by_kpi: dict[str, list[str]] = {}
    for problem in chosen:
        by_kpi.setdefault(problem.kpi, []).append(problem.id)
    targets: list[Target] = []
    for kpi_name, problem_ids in by_kpi.items():
        spec, row = KPIS[kpi_name], diagnosis.kpi_baseline(kpi_name)
        if row.value is None or spec.direction is None or spec.dimension is None:
            continue
        decile = best_decile(kpi_name, row)
        value, rule = propose_value(kpi_name, row, cycle.gap_closure, decile)
        baseline = _round(kpi_name, row.value)
        if value == baseline:
            continue
        draft = Target(
            id=f"T{len(targets) + 1}",
            kpi=kpi_name,
            dimension=spec.dimension,
            direction=spec.direction,
            unit=spec.unit,
            baseline=baseline,
            target=value,
            benchmark=row.benchmark,
            best_decile=None if decile is None else _round(kpi_name, decile),
            deadline=cycle.deadline,
            owner_department=programme.department_of_kpi(kpi_name).key,
            problem_ids=tuple(problem_ids),
            objective=_OBJECTIVES[spec.dimension],
            rule=rule,
            smart=SmartCheck(
                specific=True, measurable=True, achievable=True, relevant=True, time_bound=True
            ),
            sub_targets=sub_targets(
                kpi_name, row.value, value, diagnosis.drivers.get(kpi_name, ()), programme
            ),
        )
        check = smart_check(draft, plan_start=cycle.plan_start, evidence_backed=True)
        targets.append(draft.model_copy(update={"smart": check}))
    if not targets:
        raise StageError(f"no target could be set from diagnosis {source.artifact_id}")
    return TargetList(
        programme=programme.key, cycle=cycle.key, derived_from=(source,), targets=tuple(targets)
    )
