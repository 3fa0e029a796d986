"""Optimise (持续优化): evaluation + plan + execution -> OptimisationReport."""

from __future__ import annotations

from improve.domain.artifacts import (
    CarryOver,
    DiagnosisReport,
    EvaluationReport,
    ExecutionReport,
    ImplementationPlan,
    OptimisationReport,
    StandardMeasure,
    TargetList,
)
from improve.domain.base import ArtifactRef, Text
from improve.domain.kpi import KPIS
from improve.domain.programme import Playbook, Programme


def optimise_cycle(
    evaluation: EvaluationReport,
    execution: ExecutionReport,
    plan: ImplementationPlan,
    targets: TargetList,
    diagnosis: DiagnosisReport,
    *,
    sources: tuple[ArtifactRef, ...],
    programme: Programme,
    playbook: Playbook,
) -> OptimisationReport:
    """Build the 持续优化报告: strategies whose targets were all met and whose tasks are done
    become standards; unmet targets, problems left out and unfinished tasks carry over."""
    results = {r.target_id: r for r in evaluation.results}
    progress = {p.task_id: p for p in execution.progress}
    standardise, carry = [], []
    for choice in plan.strategies:
        tasks = [t for t in plan.tasks if t.strategy == choice.key]
        all_done = all(progress[t.id].status == "done" for t in tasks)
        achieved = [results[t] for t in choice.target_ids if t in results]
        if all_done and achieved and all(r.met for r in achieved):
            rates = "、".join(
                f"{r.target_id} {r.achievement:.0%}" for r in achieved if r.achievement is not None
            )
            standardise.append(
                StandardMeasure(
                    strategy=choice.key,
                    name=choice.name,
                    standard=playbook.strategy(choice.key).standard,
                    target_ids=choice.target_ids,
                    evidence=Text(
                        zh=f"目标达成率：{rates}；全部任务已完成",
                        en=f"Achievement: {rates}; all tasks done",
                    ),
                )
            )
    for target in targets.targets:
        r = results[target.id]
        if not r.met:
            label = KPIS[target.kpi].label
            shown = "n/a" if r.achievement is None else f"{r.achievement:.0%}"
            carry.append(
                CarryOver(
                    kind="unmet_target",
                    ref=target.id,
                    kpi=target.kpi,
                    reason=Text(
                        zh=f"{label.zh}目标 {target.target:g} 未达成（达成率 {shown}），"
                        "转入下一周期",
                        en=f"{label.en} target {target.target:g} not met (achievement {shown}); "
                        "carried into the next cycle",
                    ),
                )
            )
    targeted = {pid for t in targets.targets for pid in t.problem_ids}
    for problem in diagnosis.problems:
        if problem.id not in targeted:
            carry.append(
                CarryOver(
                    kind="unresolved_problem",
                    ref=problem.id,
                    kpi=problem.kpi,
                    reason=Text(
                        zh=f"本周期未处理：{problem.title.zh}",
                        en=f"Not addressed this cycle: {problem.title.en}",
                    ),
                )
            )
    names = {t.id: t.name for t in plan.tasks}
    lessons = []
    for p in execution.progress:
        if p.status != "done":
            carry.append(
                CarryOver(
                    kind="incomplete_task",
                    ref=p.task_id,
                    kpi=None,
                    reason=Text(
                        zh=f"任务“{names[p.task_id].zh}”截至 {execution.as_of} 未完成"
                        f"（{p.actual_pct or 0:.0f}%）",
                        en=f"Task '{names[p.task_id].en}' unfinished at {execution.as_of} "
                        f"({p.actual_pct or 0:.0f}%)",
                    ),
                )
            )
        if p.note:
            lessons.append(
                Text(zh=f"{names[p.task_id].zh}：{p.note}", en=f"{names[p.task_id].en}: {p.note}")
            )
    for pilot in execution.pilots:
        verdict = {
            "roll_out": ("试点有效，可推广", "the pilot worked and can be rolled out"),
            "extend": ("证据不足，需延长试点", "not enough evidence; the pilot needs more time"),
            "stop": ("试点未达预期，已停止", "the pilot did not deliver and was stopped"),
        }
        zh, en = verdict[pilot.verdict]
        lessons.append(Text(zh=f"{pilot.name.zh}：{zh}", en=f"{pilot.name.en}: {en}"))
    return OptimisationReport(
        programme=programme.key,
        cycle=programme.cycle.key,
        derived_from=sources,
        standardise=tuple(standardise),
        carry_over=tuple(carry),
        lessons=tuple(lessons),
    )
