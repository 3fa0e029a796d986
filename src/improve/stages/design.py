"""Design (方案设计): TargetList + DiagnosisReport -> ImplementationPlan (服务提升实施方案)."""

from __future__ import annotations

from datetime import date

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
from improve.stages.plan_check import plan_overallocations
from improve.stages.schedule import Activity, Booking, schedule


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
    templates = {
        task_id(strategy, t.key): (strategy, t)
        for strategy in (playbook.strategy(c.key) for c in strategies)
        for t in strategy.tasks
    }
    activities = [
        Activity(tid, t.duration_days, tuple(task_id(s, d) for d in t.depends_on), t.lag_days)
        for tid, (s, t) in templates.items()
    ]
    timing = schedule(activities, start=programme.cycle.plan_start, calendar=calendar)
    tasks: list[PlanTask] = []
    raci: list[RaciEntry] = []
    owners = _Owners(programme, calendar)
    # owners are given in start order, each task to its role's least-booked person
    for tid in sorted(templates, key=lambda k: (timing[k].start, k)):
        strategy, t = templates[tid]
        s = timing[tid]
        last = max(strategy.tasks, key=lambda x: (timing[task_id(strategy, x.key)].end, x.key))
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
                lag_days=t.lag_days,
                resources=t.resources,
                acceptance=t.acceptance,
                owner=owners.assign(tid, t.role, s.start, s.end, t.load),
                load=t.load,
                critical=s.critical,
                slack_days=s.slack,
                milestone=last.key == t.key,
            )
        )
    order = {tid: i for i, tid in enumerate(templates)}
    tasks.sort(key=lambda x: order[x.id])
    for task in tasks:
        strategy, t = templates[task.id]
        raci.extend(
            _raci(strategy, t.role, t.consulted, accountable[strategy.key], programme, task.id)
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
        overallocations=plan_overallocations(tasks, programme=programme, calendar=calendar),
    )


class _Owners:
    """Hands each task to the person filling its role who is least booked over its dates."""

    def __init__(self, programme: Programme, calendar: WorkCalendar) -> None:
        self.programme, self.calendar = programme, calendar
        self.booked: list[Booking] = []

    def assign(self, tid: str, role: str, start: date, end: date, load: float) -> str:
        candidates = self.programme.department_of_role(role).owners_for(role)

        def busy(name: str) -> float:
            overlapping = [b for b in self.booked if b.owner == name and b.start <= end]
            return sum(b.load for b in overlapping if b.end >= start)

        person = min(candidates, key=lambda p: busy(p.name) / p.capacity)
        self.booked.append(Booking(tid, person.name, start, end, load))
        return person.name
