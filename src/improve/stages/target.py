"""Target (目标设定): DiagnosisReport -> TargetList (服务提升目标清单) of SMART targets."""

from __future__ import annotations

import statistics
from datetime import date

from improve.domain.artifacts import (
    DiagnosisReport,
    KpiBaseline,
    SmartCheck,
    Target,
    TargetList,
)
from improve.domain.base import ArtifactRef, Dimension, Direction, Text
from improve.domain.kpi import KPIS
from improve.domain.programme import Programme
from improve.errors import StageError
from improve.stages.cascade import DepartmentValue, cascade, decimals

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
    return round(value, decimals(kpi_name))


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
    if change > MAX_RELATIVE_CHANGE:
        failures.append(
            Text(
                zh=f"A：变动 {change:.0%} 超出一个周期可实现的范围（≤{MAX_RELATIVE_CHANGE:.0%}）",
                en=f"A: a {change:.0%} change is beyond one cycle's reach "
                f"(at most {MAX_RELATIVE_CHANGE:.0%})",
            )
        )
    if beyond_history and not target.justification:
        failures.append(
            Text(
                zh=f"A：超出自身历史最佳 10%（{target.best_decile:g}），须写明依据",
                en=f"A: beyond the programme's own best decile ({target.best_decile:g}); "
                "write a justification",
            )
        )
    achievable = change <= MAX_RELATIVE_CHANGE and not (beyond_history and not target.justification)
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
) -> tuple[float, Text, str | None]:
    """A target value, the rule that set it and, beyond the programme's own best decile,
    the justification (the published benchmark); without one the value is capped there."""
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
        return _round(kpi_name, value), rule, f"published benchmark: {row.benchmark_source}"
    if beyond and decile is not None:
        value = decile
        rule = Text(
            zh=rule.zh + "；以自身历史最佳 10% 为上限",
            en=rule.en + ", capped at the programme's own best decile",
        )
    return _round(kpi_name, value), rule, None


def department_values(kpi_name: str, diagnosis: DiagnosisReport) -> list[DepartmentValue]:
    """Each department's baseline value of the KPI with its weight, from the diagnosis."""
    out = []
    for d in diagnosis.departments:
        value = d.kpis.get(kpi_name)
        if value is not None:
            out.append(DepartmentValue(d.department, value, d.weights.get(kpi_name, 0)))
    return out


def set_targets(
    diagnosis: DiagnosisReport, *, source: ArtifactRef, programme: Programme
) -> TargetList:
    """Build the 服务提升目标清单: one SMART target per KPI of the prioritised problems (the
    value the programme sets in `cycle.targets`, else the proposed one), each cascaded to
    the departments."""
    cycle = programme.cycle
    chosen = [p for p in diagnosis.problems if p.priority <= cycle.max_problems]
    settings = {t.kpi: t for t in cycle.targets}
    if not chosen and not settings:
        raise StageError(
            f"diagnosis {source.artifact_id} v{source.version} found no problem to set a target "
            "for; check the benchmarks in the programme definition, or set targets in "
            "cycle.targets"
        )
    by_kpi: dict[str, list[str]] = {}
    for problem in chosen:
        by_kpi.setdefault(problem.kpi, []).append(problem.id)
    for kpi_name in settings:
        by_kpi.setdefault(kpi_name, [])
    targets: list[Target] = []
    for kpi_name, problem_ids in by_kpi.items():
        spec, row = KPIS[kpi_name], diagnosis.kpi_baseline(kpi_name)
        if row.value is None or spec.direction is None or spec.dimension is None:
            if kpi_name in settings:
                raise StageError(
                    f"cycle.targets sets {kpi_name}, which has no baseline value in diagnosis "
                    f"{source.artifact_id} (no data for it); remove it or add the data"
                )
            continue
        decile = best_decile(kpi_name, row)
        baseline = _round(kpi_name, row.value)
        setting = settings.get(kpi_name)
        if setting is not None:
            value, justification = setting.target, setting.justification
            rule = Text(zh="由项目负责人设定", en="set by the programme owner")
            if value == baseline:
                raise StageError(
                    f"cycle.targets sets {kpi_name} to {value}, its baseline: achievement "
                    "would divide by zero; set a value that improves on the baseline"
                )
        else:
            value, rule, justification = propose_value(kpi_name, row, cycle.gap_closure, decile)
            if value == baseline:
                continue
        try:
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
                deadline=setting.deadline if setting and setting.deadline else cycle.deadline,
                owner_department=programme.department_of_kpi(kpi_name).key,
                problem_ids=tuple(problem_ids),
                objective=_OBJECTIVES[spec.dimension],
                rule=rule,
                justification=justification,
                smart=SmartCheck(
                    specific=True, measurable=True, achievable=True, relevant=True, time_bound=True
                ),
            )
        except ValueError as exc:
            raise StageError(f"cycle.targets, {kpi_name}: {exc}; fix the value") from None
        owned = sum(d.tickets for d in diagnosis.departments)
        split = cascade(
            kpi_name,
            row.value,
            value,
            department_values(kpi_name, diagnosis),
            coverage=min(1.0, owned / diagnosis.tickets) if diagnosis.tickets else 0.0,
        )
        check = smart_check(draft, plan_start=cycle.plan_start, evidence_backed=bool(problem_ids))
        targets.append(
            draft.model_copy(
                update={
                    "smart": check,
                    "sub_targets": split[0] if split else (),
                    "cascade": split[1] if split else None,
                }
            )
        )
    if not targets:
        raise StageError(f"no target could be set from diagnosis {source.artifact_id}")
    return TargetList(
        programme=programme.key, cycle=cycle.key, derived_from=(source,), targets=tuple(targets)
    )
