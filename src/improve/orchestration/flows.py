"""The cycle flow and the stage subflow: each stage reads its inputs from the store, so any
stage can be re-run alone; without auto-approval the cycle stops at each stage gate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from prefect import flow, get_run_logger

from improve.domain.base import Locale, Stage
from improve.orchestration import tasks
from improve.orchestration.context import RunContext


@dataclass(frozen=True)
class StageOutcome:
    """What one stage run produced."""

    stage: str
    artifact_id: str
    version: int
    created: bool
    status: str


@dataclass(frozen=True)
class CycleOutcome:
    """Where a cycle run got to."""

    programme: str
    cycle: str
    stages: list[StageOutcome] = field(default_factory=list)
    waiting_for: StageOutcome | None = None
    index: str | None = None


@flow(name="improve-stage", flow_run_name="{stage}")
def stage_flow(
    config_path: str,
    stage: str,
    data_root: str | None = None,
    locale: Locale | None = None,
    actor: str | None = None,
    auto_approve: bool = False,
) -> StageOutcome:
    """Run one stage: inputs from the store, facts from the data, artifact into the store,
    reports out; with `auto_approve` the programme owner's approval is recorded."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    try:
        step = Stage(stage)
        who = actor or ctx.programme.owner
        inputs = tasks.read_inputs(ctx, step)
        facts = tasks.read_facts(ctx, step, inputs)
        artifact = tasks.compute(ctx, step, inputs, facts)
        stored, created = tasks.store(ctx, artifact, facts, who)
        if auto_approve and stored.status != "approved":
            stored = tasks.approve(ctx, stored, ctx.programme.owner)
        tasks.publish(ctx)
        get_run_logger().info(
            "%s: %s v%s (%s, %s)",
            step.value,
            stored.ref.artifact_id,
            stored.ref.version,
            "new" if created else "unchanged",
            stored.status,
        )
        return StageOutcome(
            stage=step.value,
            artifact_id=stored.ref.artifact_id,
            version=stored.ref.version,
            created=created,
            status=stored.status,
        )
    finally:
        ctx.close()


@flow(name="improve-cycle")
def cycle_flow(
    config_path: str,
    stages: Sequence[str] | None = None,
    data_root: str | None = None,
    locale: Locale | None = None,
    auto_approve: bool = False,
) -> CycleOutcome:
    """Run the stages in PDCA order; stop at the first artifact still awaiting approval."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    programme, cycle, reports = ctx.programme.key, ctx.programme.cycle.key, ctx.reports_dir
    ctx.close()
    wanted = [Stage(s) for s in stages] if stages else list(Stage)
    done: list[StageOutcome] = []
    for step in sorted(wanted, key=lambda s: s.order):
        outcome = stage_flow(
            config_path, step.value, data_root=data_root, locale=locale, auto_approve=auto_approve
        )
        done.append(outcome)
        if outcome.status != "approved":
            get_run_logger().warning(
                "stage gate: %s v%s awaits approval; run `improve approve %s --as NAME`, then "
                "run the cycle again",
                outcome.artifact_id,
                outcome.version,
                outcome.artifact_id,
            )
            return CycleOutcome(
                programme, cycle, done, waiting_for=outcome, index=str(reports / "index.html")
            )
    return CycleOutcome(programme, cycle, done, index=str(reports / "index.html"))
