"""Design (方案设计): TargetList + DiagnosisReport -> ImplementationPlan (服务提升实施方案)."""

from __future__ import annotations

from improve.domain.artifacts import (
    DiagnosisReport,
    ImplementationPlan,
    PlanTask,
    RaciEntry,
    RaciLetter,
    StrategyChoice,
    TargetList,
)
from improve.domain.base import ArtifactRef
from improve.domain.calendar import WorkCalendar
from improve.domain.programme import Playbook, Programme, Strategy
from improve.errors import StageError
from improve.stages.schedule import Activity, schedule


def task_id(strategy: Strategy, task_key: str) -> str:
    """The stable id of a strategy's task in every plan version."""
    return f"{strategy.key}/{task_key}"


def _raci(
    strategy: Strategy,
    task_role: str,
    consulted: tuple[str, ...],
    accountable: str,
    programme: Programme,
    tid: str,
) -> list[RaciEntry]:
    responsible = programme.department_of_role(task_role).key
    entries = [
        RaciEntry(task_id=tid, department=accountable, letter="A"),
        RaciEntry(task_id=tid, department=responsible, letter="R"),
    ]
    involved = {accountable, responsible}
    for role in consulted:
        dept = programme.department_of_role(role).key
        if dept not in involved:
            entries.append(RaciEntry(task_id=tid, department=dept, letter="C"))
            involved.add(dept)
    letter: RaciLetter = "I"
    entries.extend(
        RaciEntry(task_id=tid, department=d.key, letter=letter)
        for d in programme.departments
        if d.key not in involved
    )
    return entries


def design_plan(
    targets: TargetList,
    diagnosis: DiagnosisReport,
    *,
    sources: tuple[ArtifactRef, ...],
    programme: Programme,
    playbook: Playbook,
    calendar: WorkCalendar,
) -> ImplementationPlan:
    """Build the 服务提升实施方案: a playbook strategy per targeted problem's root cause, its
    tasks scheduled on working days from the plan start (critical path, slack) and a RACI
    with the target's owner department accountable."""
    problems = {p.id: p for p in diagnosis.problems}
    chosen: dict[str, tuple[list[str], list[str]]] = {}
    for target in targets.targets:
        for pid in target.problem_ids:
            problem = problems.get(pid)
            if problem is None:
                raise StageError(
                    f"target {target.id} names problem {pid}, which diagnosis "
                    f"{diagnosis.cycle} does not have; re-run the target stage"
                )
            pids, tids = chosen.setdefault(problem.strategy, ([], []))
            pids.append(pid)
            if target.id not in tids:
                tids.append(target.id)
    strategies: list[StrategyChoice] = []
    activities: list[Activity] = []
    accountable: dict[str, str] = {}
    owner_of_target = {t.id: t.owner_department for t in targets.targets}
    for key, (pids, tids) in chosen.items():
        strategy = playbook.strategy(key)
        strategies.append(
            StrategyChoice(
                key=key,
                category=strategy.category,
                name=strategy.name,
                description=strategy.description,
                problem_ids=tuple(pids),
                target_ids=tuple(tids),
            )
        )
        accountable[key] = owner_of_target[tids[0]]
        activities.extend(
            Activity(
                task_id(strategy, t.key),
                t.duration_days,
                tuple(task_id(strategy, d) for d in t.depends_on),
                t.lag_days,
            )
            for t in strategy.tasks
        )
    timing = schedule(activities, start=programme.cycle.plan_start, calendar=calendar)
    tasks: list[PlanTask] = []
    raci: list[RaciEntry] = []
    for choice in strategies:
        strategy = playbook.strategy(choice.key)
        for t in strategy.tasks:
            tid = task_id(strategy, t.key)
            s = timing[tid]
            tasks.append(
                PlanTask(
                    id=tid,
                    strategy=strategy.key,
                    name=t.name,
                    role=t.role,
                    department=programme.department_of_role(t.role).key,
                    start=s.start,
                    end=s.end,
                    working_days=s.working_days,
                    depends_on=tuple(task_id(strategy, d) for d in t.depends_on),
                    resources=t.resources,
                    acceptance=t.acceptance,
                    critical=s.critical,
                    slack_days=s.slack,
                )
            )
            raci.extend(
                _raci(strategy, t.role, t.consulted, accountable[strategy.key], programme, tid)
            )
    start = min(t.start for t in tasks)
    end = max(t.end for t in tasks)
    if end > programme.cycle.deadline:
        raise StageError(
            f"plan for {programme.key}/{programme.cycle.key} ends {end}, after the deadline "
            f"{programme.cycle.deadline}; move the deadline or shorten the playbook tasks"
        )
    days_off = tuple(sorted(d for d in calendar.days_off if start <= d <= end and d.weekday() < 5))
    return ImplementationPlan(
        programme=programme.key,
        cycle=programme.cycle.key,
        derived_from=sources,
        start=start,
        end=end,
        strategies=tuple(strategies),
        tasks=tuple(tasks),
        raci=tuple(raci),
        days_off=days_off,
    )
