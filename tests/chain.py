"""The six stages chained on the sample data with no store and no Prefect (test helper)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from improve.data.facts import (
    evaluation_facts,
    execution_facts,
    load_progress_reports,
    window_facts,
)
from improve.domain.artifacts import (
    DiagnosisReport,
    EvaluationReport,
    ExecutionReport,
    ImplementationPlan,
    OptimisationReport,
    TargetList,
)
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import ExecutionFacts, WindowFacts
from improve.domain.programme import Playbook, Programme, RootCauseRules
from improve.stages.design import design_plan
from improve.stages.diagnose import diagnose
from improve.stages.evaluate import evaluate_cycle
from improve.stages.execute import track_execution
from improve.stages.optimise import optimise_cycle
from improve.stages.target import set_targets
from tests.samples import ref_of


@dataclass(frozen=True)
class Chain:
    facts: WindowFacts
    diagnosis: DiagnosisReport
    targets: TargetList
    plan: ImplementationPlan
    execution: ExecutionReport
    execution_facts: ExecutionFacts
    evaluation: EvaluationReport
    optimisation: OptimisationReport


def build_chain(
    sample_con: duckdb.DuckDBPyConnection,
    programme: Programme,
    playbook: Playbook,
    rules: RootCauseRules,
    calendar: WorkCalendar,
) -> Chain:
    facts = window_facts(
        sample_con,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        departments=programme.team_map,
    )
    diagnosis = diagnose(facts, programme=programme, playbook=playbook, rules=rules)
    targets = set_targets(diagnosis, source=ref_of(diagnosis), programme=programme)
    plan = design_plan(
        targets,
        diagnosis,
        sources=(ref_of(targets), ref_of(diagnosis)),
        programme=programme,
        playbook=playbook,
        calendar=calendar,
    )
    ef = execution_facts(
        sample_con,
        plan_start=programme.cycle.plan_start,
        as_of=date(2026, 6, 30),
        progress=load_progress_reports(sample_con),
        pilots=programme.pilots,
    )
    execution = track_execution(
        plan,
        targets,
        ef,
        sources=(ref_of(plan), ref_of(targets)),
        programme=programme,
        calendar=calendar,
    )
    vf = evaluation_facts(
        sample_con,
        before_start=date(2025, 1, 1),
        before_end=date(2026, 1, 1),
        after_start=date(2026, 4, 1),
        after_end=date(2026, 7, 1),
        kpis=[t.kpi for t in targets.targets],
    )
    evaluation = evaluate_cycle(
        targets, execution, vf, sources=(ref_of(execution), ref_of(targets)), programme=programme
    )
    optimisation = optimise_cycle(
        evaluation,
        execution,
        plan,
        targets,
        diagnosis,
        sources=(ref_of(evaluation),),
        programme=programme,
        playbook=playbook,
    )
    return Chain(facts, diagnosis, targets, plan, execution, ef, evaluation, optimisation)
