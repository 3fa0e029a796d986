"""The steps of a stage run, as plain functions the Prefect tasks wrap: read inputs from the
store, read facts from the data, compute the artifact, store it, publish the reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from improve.data import engine
from improve.data.business import add_business_hours
from improve.data.canonical import PROGRESS, SURVEYS, TICKETS, load_canonical
from improve.data.facts import (
    add_months,
    evaluation_facts,
    execution_facts,
    load_progress_reports,
    monthly_facts,
    pilot_facts,
    weekly_facts,
    window_facts,
)
from improve.data.located import refuse
from improve.data.planbook import read_plan_workbook
from improve.data.progressbook import read_progress_workbook
from improve.data.store import ImportResult
from improve.data.worksheet import read_worksheet
from improve.domain.artifacts import (
    DiagnosisReport,
    EvaluationReport,
    ExecutionReport,
    ImplementationPlan,
    OptimisationReport,
    PilotEvaluation,
    PlanChange,
    TargetList,
)
from improve.domain.base import Artifact, ArtifactRef, Stage
from improve.domain.facts import (
    EvaluationFacts,
    ExecutionFacts,
    MonthlyFacts,
    ProgressReport,
    WeeklyFacts,
    WindowFacts,
)
from improve.domain.gate import LEVEL_NAMES, awaited
from improve.domain.meetings import (
    MonthlyRetrospective,
    WeeklyReview,
    parse_month,
    parse_week,
    week_of,
)
from improve.domain.portfolio import Digest
from improve.domain.review import RootCauseReview
from improve.errors import ConfigError, InputDataError, StageError
from improve.faults import crash_point
from improve.orchestration.context import RunContext
from improve.reports.meetings import write_monthly, write_weekly
from improve.reports.progressbook import build_progress_workbook, progress_name
from improve.reports.site import copy_plotly_js, save_workbook, write_cycle_reports
from improve.reports.workbook import build_workbook
from improve.reports.worksheet import WORKSHEET_NAME, build_worksheet
from improve.stages.design import design_plan
from improve.stages.diagnose import diagnose
from improve.stages.evaluate import evaluate_cycle
from improve.stages.execute import planned_percent, track_execution
from improve.stages.optimise import optimise_cycle
from improve.stages.pilot import evaluate_pilot
from improve.stages.plan_check import check_plan
from improve.stages.retrospective import monthly_retrospective
from improve.stages.review import weekly_review
from improve.stages.revise import PlanRejected, revise_plan
from improve.stages.target import set_targets
from improve.storage import repository as repo
from improve.storage.repository import ProgressRow, StoredArtifact, StoredReport

# What each stage reads, the artifact it derives from first.
INPUTS: dict[Stage, tuple[Stage, ...]] = {
    Stage.DIAGNOSE: (),
    Stage.TARGET: (Stage.DIAGNOSE,),
    Stage.DESIGN: (Stage.TARGET, Stage.DIAGNOSE),
    Stage.EXECUTE: (Stage.DESIGN, Stage.TARGET),
    Stage.EVALUATE: (Stage.EXECUTE, Stage.TARGET),
    Stage.OPTIMISE: (Stage.EVALUATE, Stage.EXECUTE, Stage.DESIGN, Stage.TARGET, Stage.DIAGNOSE),
}

Inputs = dict[Stage, StoredArtifact]


def baseline_window(ctx: RunContext) -> tuple[date, date]:
    """[start, end) of the baseline: the months before the diagnosis date."""
    cycle = ctx.programme.cycle
    end = cycle.diagnosis_date.replace(day=1)
    return add_months(end, -cycle.baseline_months), end


def read_inputs(ctx: RunContext, stage: Stage) -> Inputs:
    """The latest approved artifact of every stage `stage` reads, from the store."""
    out: Inputs = {}
    key, cycle = ctx.programme.key, ctx.programme.cycle.key
    with ctx.transaction() as session:
        for needed in INPUTS[stage]:
            stored = repo.latest_artifact(
                session=session, programme_key=key, cycle_key=cycle, stage=needed
            )
            if stored is None:
                raise StageError(
                    f"{stage.value} needs the {needed.value} artifact of {key}/{cycle}, which "
                    f"does not exist; run `improve run {ctx.config_path} --stage {needed.value}`"
                )
            if stored.status != "approved":
                raise StageError(
                    f"{stage.value} needs {stored.ref.artifact_id} v{stored.ref.version} "
                    f"approved (it is {stored.status}); run `improve approve "
                    f"{stored.ref.artifact_id} --as NAME`"
                )
            out[needed] = stored
    return out


def open_data(ctx: RunContext, *, progress: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the programme's canonical tickets (from its ticket store once
    anything was imported, else from the configured file), surveys and progress."""
    con = engine.connect(deterministic=True)
    sources = ctx.programme.data
    tz = ctx.programme.timezone
    if ctx.store.exists():
        ctx.store.read_into(con)
    else:
        load_canonical(con, TICKETS, sources.tickets, base_dir=ctx.data_root, timezone=tz)
    if ctx.programme.business_hours is not None:
        add_business_hours(con, ctx.programme.business_hours)
    if sources.surveys is not None:
        load_canonical(con, SURVEYS, sources.surveys, base_dir=ctx.data_root, timezone=tz)
    if progress and sources.progress is not None:
        load_canonical(con, PROGRESS, sources.progress, base_dir=ctx.data_root, timezone=tz)
    return con


def last_ticket_day(con: duckdb.DuckDBPyConnection) -> date:
    """The creation date of the newest ticket."""
    value = con.execute("SELECT CAST(max(created_at) AS DATE) FROM tickets").fetchall()[0][0]
    if value is None:
        raise StageError("the ticket table is empty; import tickets before running the cycle")
    assert isinstance(value, date)
    return value


def read_facts(ctx: RunContext, stage: Stage, inputs: Inputs) -> Any:
    """The measured facts `stage` reads (None for the stages that read artifacts only).

    For execution, the progress file is first imported into the store (re-imports add
    nothing) and the reports are then read back from the store.
    """
    if stage not in (Stage.DIAGNOSE, Stage.EXECUTE, Stage.EVALUATE):
        return None
    con = open_data(ctx, progress=stage == Stage.EXECUTE)
    try:
        if stage == Stage.DIAGNOSE:
            start, end = baseline_window(ctx)
            facts = window_facts(con, start=start, end=end, departments=ctx.programme.team_map)
            if facts.tickets == 0:
                raise StageError(
                    f"no tickets created between {start} and {end}; check the "
                    "cycle's diagnosis_date and the ticket export"
                )
            return facts
        if stage == Stage.EXECUTE:
            return _execution_facts(ctx, con)
        execution = inputs[Stage.EXECUTE].artifact
        assert isinstance(execution, ExecutionReport)
        after_end = execution.as_of + timedelta(days=1)
        after_start = add_months(
            after_end - timedelta(days=1), 1 - ctx.programme.cycle.evaluation_months
        )
        before_start, before_end = baseline_window(ctx)
        targets = inputs[Stage.TARGET].artifact
        assert isinstance(targets, TargetList)
        return evaluation_facts(
            con,
            before_start=before_start,
            before_end=before_end,
            after_start=after_start,
            after_end=after_end,
            kpis=[t.kpi for t in targets.targets],
        )
    finally:
        con.close()


def _execution_facts(ctx: RunContext, con: duckdb.DuckDBPyConnection) -> ExecutionFacts:
    cycle = ctx.programme.cycle
    as_of = min(cycle.deadline, last_ticket_day(con))
    return execution_facts(
        con,
        plan_start=cycle.plan_start,
        as_of=as_of,
        progress=stored_progress(ctx, con),
        pilots=ctx.programme.pilots,
    )


def stored_progress(ctx: RunContext, con: duckdb.DuckDBPyConnection) -> list[ProgressReport]:
    """Every progress report of the cycle: the configured progress file's rows are first
    imported into the store (re-imports add nothing), then all are read back from it."""
    key, cycle = ctx.programme.key, ctx.programme.cycle
    rows = [_row_of(r) for r in load_progress_reports(con)]
    with ctx.transaction() as session:
        if rows:
            repo.save_progress_updates(
                session=session, programme_key=key, cycle_key=cycle.key, rows=rows
            )
        stored = repo.load_progress(session=session, programme_key=key, cycle_key=cycle.key)
    return [r.report() for r in stored]


def previous_optimisation(ctx: RunContext) -> OptimisationReport | None:
    """The optimisation report of the cycle this one carries over from (None when it names
    none); a missing one is an error naming the cycle to finish first."""
    p = ctx.programme
    if p.cycle.carried_from is None:
        return None
    with ctx.transaction() as session:
        stored = repo.latest_artifact(
            session=session,
            programme_key=p.key,
            cycle_key=p.cycle.carried_from,
            stage=Stage.OPTIMISE,
        )
    if stored is None:
        raise StageError(
            f"cycle {p.cycle.key} carries over from {p.cycle.carried_from}, which has no "
            "optimisation report in the store; run that cycle to the optimise stage first"
        )
    assert isinstance(stored.artifact, OptimisationReport)
    return stored.artifact


def compute(ctx: RunContext, stage: Stage, inputs: Inputs, facts: Any) -> Artifact:
    """Run the pure stage function on its inputs."""
    p, refs = ctx.programme, tuple(inputs[s].ref for s in INPUTS[stage])
    a = {s: stored.artifact for s, stored in inputs.items()}
    if stage == Stage.DIAGNOSE:
        assert isinstance(facts, WindowFacts)
        with ctx.transaction() as session:
            reviews = repo.load_reviews(session=session, programme_key=p.key, cycle_key=p.cycle.key)
        return diagnose(
            facts,
            programme=p,
            playbook=ctx.playbook,
            rules=ctx.rules,
            reviews=reviews,
            previous=previous_optimisation(ctx),
        )
    if stage == Stage.TARGET:
        diagnosis = a[Stage.DIAGNOSE]
        assert isinstance(diagnosis, DiagnosisReport)
        return set_targets(diagnosis, source=refs[0], programme=p)
    targets = a[Stage.TARGET]
    assert isinstance(targets, TargetList)
    if stage == Stage.DESIGN:
        diagnosis = a[Stage.DIAGNOSE]
        assert isinstance(diagnosis, DiagnosisReport)
        edited = _edited_plan(ctx, refs)
        if edited is not None:
            return edited
        return design_plan(
            targets,
            diagnosis,
            sources=refs,
            programme=p,
            playbook=ctx.playbook,
            calendar=ctx.calendar,
        )
    if stage == Stage.EXECUTE:
        plan = a[Stage.DESIGN]
        assert isinstance(plan, ImplementationPlan) and isinstance(facts, ExecutionFacts)
        return track_execution(
            plan, targets, facts, sources=refs, programme=p, calendar=ctx.calendar
        )
    execution = a[Stage.EXECUTE]
    assert isinstance(execution, ExecutionReport)
    if stage == Stage.EVALUATE:
        assert isinstance(facts, EvaluationFacts)
        return evaluate_cycle(targets, execution, facts, sources=refs, programme=p)
    evaluation, plan, diagnosis = a[Stage.EVALUATE], a[Stage.DESIGN], a[Stage.DIAGNOSE]
    assert isinstance(evaluation, EvaluationReport) and isinstance(plan, ImplementationPlan)
    assert isinstance(diagnosis, DiagnosisReport)
    return optimise_cycle(
        evaluation,
        execution,
        plan,
        targets,
        diagnosis,
        sources=refs,
        programme=p,
        playbook=ctx.playbook,
    )


def _edited_plan(ctx: RunContext, refs: tuple[ArtifactRef, ...]) -> ImplementationPlan | None:
    """The stakeholders' edited plan, while it answers the same targets and diagnosis: a
    rerun of the design stage keeps their edits instead of designing afresh. Checked again
    against the programme as it is now (new days off, people, capacities): a plan that no
    longer holds is a StageError naming each broken rule."""
    key, cycle = ctx.programme.key, ctx.programme.cycle.key
    with ctx.transaction() as session:
        stored = repo.latest_artifact(
            session=session, programme_key=key, cycle_key=cycle, stage=Stage.DESIGN
        )
    plan = stored.artifact if stored else None
    if not (
        isinstance(plan, ImplementationPlan) and plan.revised_from and plan.derived_from == refs
    ):
        return None
    assert stored is not None
    issues = check_plan(
        plan.tasks,
        plan.raci,
        programme=ctx.programme,
        calendar=ctx.calendar,
        changed={c.task_id for c in plan.changes},
    )
    if issues:
        raise StageError(
            f"the edited plan {stored.ref.artifact_id} v{stored.ref.version} no longer holds "
            f"for the programme as it is now; write its workbook (`improve plan "
            f"{ctx.config_path} --out FILE`), fix it and import it: "
            + "; ".join(i.message for i in issues)
        )
    return plan


def store(
    ctx: RunContext, artifact: Artifact, facts: Any, *, actor: str
) -> tuple[StoredArtifact, bool]:
    """Save the artifact (a rerun on the same inputs adds no version), with the plan's tasks
    and the KPI snapshots it was computed from."""
    key, cycle = ctx.programme.key, ctx.programme.cycle.key
    with ctx.transaction() as session:
        repo.save_programme(session=session, programme=ctx.programme)
        repo.ensure_cycle(session=session, programme_key=key, cycle_key=cycle)
        stored, created = repo.save_artifact(
            session=session, programme_key=key, cycle_key=cycle, artifact=artifact, actor=actor
        )
        if isinstance(artifact, ImplementationPlan):
            repo.save_plan_tasks(session=session, ref=stored.ref, plan=artifact)
        if isinstance(facts, WindowFacts | ExecutionFacts):
            repo.save_kpi_snapshots(
                session=session,
                programme_key=key,
                cycle_key=cycle,
                grain="month",
                scope="all",
                rows=[
                    (m.period, name, value)
                    for m in facts.monthly
                    for name, value in m.values.items()
                ],
            )
        crash_point(f"store-{_stage_name(artifact)}")  # written, not committed yet
    return stored, created


def _stage_name(artifact: Artifact) -> str:
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    return stage.value


def auto_approve(ctx: RunContext, stored: StoredArtifact) -> StoredArtifact:
    """Sign the artifact version off at every review level as the programme owner
    (`--auto-approve`: the demo and unattended test runs), marked as automatic in the audit."""
    with ctx.transaction() as session:
        return repo.approve(
            session=session,
            artifact_id=stored.ref.artifact_id,
            version=stored.ref.version,
            approver=ctx.programme.owner,
            approvers=ctx.programme.approvers,
            auto=True,
        )


@dataclass(frozen=True)
class GateState:
    """Where a version's review stands: its status, decisions so far and what is next."""

    status: str
    decisions: int
    prompt: str


def gate_state(ctx: RunContext, artifact_id: str, version: int) -> GateState:
    """The review of a version: its status, how many decisions it has, and who is awaited
    at which level."""
    with ctx.transaction() as session:
        decisions = repo.approvals(session=session, artifact_id=artifact_id, version=version)
        status = repo.get_artifact(session=session, artifact_id=artifact_id, version=version).status
    step = awaited(
        [(d.level, d.approver) for d in decisions if d.decision == "approved"],
        ctx.programme.approvers,
    )
    prompt = (
        "nothing left to decide"
        if step is None
        else f"awaits the {LEVEL_NAMES[step[0]]} by {', '.join(step[1])}"
    )
    return GateState(status=status, decisions=len(decisions), prompt=prompt)


def decide(ctx: RunContext, artifact_id: str, version: int, decision: Any) -> StoredArtifact:
    """Record a reviewer's decision taken at a suspended stage gate (audited, as with
    `improve approve`)."""
    with ctx.transaction() as session:
        return repo.approve(
            session=session,
            artifact_id=artifact_id,
            version=version,
            approver=decision.approver,
            approvers=ctx.programme.approvers,
            level=decision.level,
            reject=decision.reject,
            comment=decision.comment,
        )


def publish(ctx: RunContext) -> Path:
    """Write every stage's workbook and page for the cycle, and the index; its path."""
    key, cycle = ctx.programme.key, ctx.programme.cycle.key
    with ctx.transaction() as session:
        latest = {
            s: repo.latest_artifact(session=session, programme_key=key, cycle_key=cycle, stage=s)
            for s in Stage
        }
    present = {s: (v.ref, v.artifact) for s, v in latest.items() if v is not None}
    paths = write_cycle_reports(
        ctx.reports_dir,
        programme=ctx.programme,
        cycle_key=cycle,
        artifacts=present,
        locale=ctx.locale,
        statuses={s: v.status for s, v in latest.items() if v},
    )
    diagnosis = latest[Stage.DIAGNOSE]
    if diagnosis is not None:
        write_worksheet(ctx, stored=diagnosis)
    return paths.index


def latest_of(ctx: RunContext, stage: Stage, purpose: str) -> StoredArtifact:
    """The cycle's latest version of `stage`'s artifact; StageError naming `purpose` when
    there is none."""
    key, cycle = ctx.programme.key, ctx.programme.cycle.key
    with ctx.transaction() as session:
        stored = repo.latest_artifact(
            session=session, programme_key=key, cycle_key=cycle, stage=stage
        )
    if stored is None:
        raise StageError(
            f"{key}/{cycle} has no {stage.value} artifact, so {purpose}; run `improve run "
            f"{ctx.config_path} --stage {stage.value}` first"
        )
    return stored


def write_worksheet(
    ctx: RunContext, out: Path | None = None, *, stored: StoredArtifact | None = None
) -> Path:
    """The 5-Why / fishbone worksheet of the latest diagnosis (`stored`, when the caller has
    it), prefilled with the answers in force; written to `out`, by default
    `diagnose-worksheet.xlsx` beside the reports. Its path."""
    stored = stored or latest_of(ctx, Stage.DIAGNOSE, "there is nothing to review")
    assert isinstance(stored.artifact, DiagnosisReport)
    with ctx.transaction() as session:
        reviews = repo.load_reviews(
            session=session, programme_key=ctx.programme.key, cycle_key=ctx.programme.cycle.key
        )
    path = out or ctx.reports_dir / WORKSHEET_NAME
    book = build_worksheet(
        stored.artifact,
        stored.ref,
        locale=ctx.locale,
        reviews={r.problem_key: r for r in reviews},
    )
    save_workbook(book, path)
    return path


def import_reviews(ctx: RunContext, path: Path, *, actor: str) -> tuple[RootCauseReview, int]:
    """Validate a filled worksheet against the latest diagnosis and store its reviews (an
    unchanged re-import adds nothing); the review and how many reviews were new."""
    stored = latest_of(ctx, Stage.DIAGNOSE, f"{path} cannot be merged into one")
    assert isinstance(stored.artifact, DiagnosisReport)
    known = {p.key: p.id for p in stored.artifact.problems}
    review = read_worksheet(path, known=known)
    if review.diagnosis_id != stored.ref.artifact_id:
        raise InputDataError(
            f"{path}: answers the diagnosis {review.diagnosis_id}, not {stored.ref.artifact_id} "
            f"of this programme; import it with that programme's definition"
        )
    with ctx.transaction() as session:
        added = repo.save_reviews(
            session=session,
            programme_key=ctx.programme.key,
            cycle_key=ctx.programme.cycle.key,
            review=review,
            actor=actor,
        )
    return review, added


def import_tickets(ctx: RunContext, path: Path, *, preset: str | None, actor: str) -> ImportResult:
    """Validate an export and merge it into the ticket store; the import is audited."""
    configured = ctx.programme.data.tickets
    source = configured.model_copy(
        update={
            "path": str(path.resolve()),
            "preset": preset or configured.preset,
            "format": None,
            "sheet": configured.sheet if path.suffix.lower() == ".xlsx" else None,
        }
    )
    con = engine.connect()
    try:
        result = ctx.store.import_source(
            con, source, base_dir=Path.cwd(), timezone=ctx.programme.timezone
        )
    finally:
        con.close()
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    with ctx.transaction() as session:
        repo.save_programme(session=session, programme=ctx.programme)
        repo.record_audit(
            session=session,
            actor=actor,
            action="tickets.imported",
            object=f"{ctx.programme.key}:{path.name}",
            hash_after=digest,
            detail={
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "generation": result.generation,
            },
        )
    return result


@dataclass(frozen=True)
class PlanImport:
    """An imported plan workbook: the version it is stored as, whether that version is new,
    and what changed from the version the workbook was written from."""

    stored: StoredArtifact
    created: bool
    changes: tuple[PlanChange, ...]


def write_plan_workbook(ctx: RunContext, out: Path, *, version: int | None = None) -> Path:
    """The plan workbook of the latest (or `version`) plan, to edit and import; its path."""
    stored = plan_version(ctx, version)
    assert isinstance(stored.artifact, ImplementationPlan)
    book = build_workbook(
        stored.artifact, locale=ctx.locale, programme=ctx.programme, ref=stored.ref
    )
    save_workbook(book, out)
    return out


def plan_version(ctx: RunContext, version: int | None = None) -> StoredArtifact:
    """The cycle's latest plan, or its version `version`."""
    latest = latest_of(ctx, Stage.DESIGN, "there is no plan")
    if version is None or version == latest.ref.version:
        return latest
    with ctx.transaction() as session:
        return repo.get_artifact(
            session=session, artifact_id=latest.ref.artifact_id, version=version
        )


def import_plan(ctx: RunContext, path: Path, *, actor: str) -> PlanImport:
    """Validate an edited plan workbook against the plan version it was written from, and
    store the result as the next plan version (pending approval), audited; the reports are
    published again. The same file twice stores nothing the second time; a file written
    from an older version than the latest is refused unless it is that version's import."""
    book = read_plan_workbook(path)
    latest = latest_of(ctx, Stage.DESIGN, f"{path} cannot be imported")
    if book.plan_id != latest.ref.artifact_id:
        raise InputDataError(
            f"{path}: is the plan {book.plan_id}, not {latest.ref.artifact_id} of this "
            "programme; import it with that programme's definition"
        )
    base = plan_version(ctx, book.plan_version) if book.plan_version else latest
    if base.ref.content_hash != book.content_hash:
        raise InputDataError(
            f"{path}: written from plan v{book.plan_version}, whose stored content differs; "
            f"write a fresh workbook with `improve plan {ctx.config_path} --out FILE`"
        )
    assert isinstance(base.artifact, ImplementationPlan)
    try:
        revised = revise_plan(
            base.artifact,
            book.edits,
            version=base.ref.version,
            programme=ctx.programme,
            calendar=ctx.calendar,
        )
    except PlanRejected as exc:
        raise refuse(
            path, [book.locate(i) for i in exc.issues], fix="Fix the plan and import it again"
        ) from None
    if revised is base.artifact:
        return PlanImport(base, False, ())
    if base.ref.version != latest.ref.version:
        with ctx.transaction() as session:
            same = repo.find_artifact(session=session, artifact=revised)
        if same is None:
            raise InputDataError(
                f"{path}: edits plan v{base.ref.version}, but v{latest.ref.version} is the "
                f"latest; write a fresh workbook with `improve plan {ctx.config_path} --out "
                "FILE` and make the edits there"
            )
        return PlanImport(same, False, revised.changes)
    stored, created = store(ctx, revised, None, actor=actor)
    if created:
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        with ctx.transaction() as session:
            repo.record_audit(
                session=session,
                actor=actor,
                action="plan.imported",
                object=f"{stored.ref.artifact_id}@v{stored.ref.version}",
                hash_before=base.ref.content_hash,
                hash_after=stored.ref.content_hash,
                detail={"file": path.name, "sha256": digest, "changes": len(revised.changes)},
            )
        publish(ctx)
    return PlanImport(stored, created, revised.changes)


def evaluate_pilot_now(ctx: RunContext, key: str) -> PilotEvaluation:
    """Pilot `key` evaluated on the data as it stands, judged against the cycle's latest
    targets when there are any (for its power); nothing is stored."""
    try:
        pilot = ctx.programme.pilot(key)
    except KeyError as exc:
        raise ConfigError(f"{ctx.config_path}: {exc.args[0]}; add it under pilots:") from None
    con = open_data(ctx)
    try:
        facts = pilot_facts(con, pilot=pilot, pilots=ctx.programme.pilots)
    finally:
        con.close()
    with ctx.transaction() as session:
        stored = repo.latest_artifact(
            session=session,
            programme_key=ctx.programme.key,
            cycle_key=ctx.programme.cycle.key,
            stage=Stage.TARGET,
        )
    targets = stored.artifact if stored is not None else None
    return evaluate_pilot(
        pilot, facts, targets=targets if isinstance(targets, TargetList) else None
    )


@dataclass(frozen=True)
class ProgressImport:
    """An imported progress workbook: its date, the rows it reported and how many of them
    the store did not hold yet (new or changed)."""

    as_of: date
    reported: int
    stored: int


def _progress_history(ctx: RunContext) -> list[ProgressReport]:
    with ctx.transaction() as session:
        rows = repo.load_progress(
            session=session, programme_key=ctx.programme.key, cycle_key=ctx.programme.cycle.key
        )
    return [r.report() for r in rows]


def _row_of(report: ProgressReport) -> ProgressRow:
    """A reported row as the store keeps it (no status: an empty one)."""
    return ProgressRow(
        task_id=report.task_id,
        as_of=report.as_of,
        percent_complete=report.percent_complete,
        status=report.status or "",
        note=report.note,
        blocker=report.blocker,
    )


def write_progress_workbook(ctx: RunContext, out: Path | None, *, as_of: date) -> Path:
    """The progress workbook of the latest plan for the report date `as_of`, with each
    task's percent planned by then and its last report; by default
    `progress-<date>.xlsx` beside the reports. Its path."""
    stored = latest_of(ctx, Stage.DESIGN, "there is no plan to report progress on")
    plan = stored.artifact
    assert isinstance(plan, ImplementationPlan)
    latest: dict[str, ProgressReport] = {}
    for report in sorted(_progress_history(ctx), key=lambda r: r.as_of):
        if report.as_of <= as_of:
            latest[report.task_id] = report
    book = build_progress_workbook(
        plan,
        stored.ref,
        as_of=as_of,
        planned={t.id: planned_percent(t, as_of, ctx.calendar) for t in plan.tasks},
        latest=latest,
        locale=ctx.locale,
        programme=ctx.programme,
    )
    path = out or ctx.reports_dir / progress_name(as_of)
    save_workbook(book, path)
    return path


def import_progress(ctx: RunContext, path: Path, *, actor: str) -> ProgressImport:
    """Validate a filled progress workbook against the latest plan and the reports already
    stored, and store its rows by (task, date): the same file again stores nothing, a
    corrected row replaces the one it corrects (audited)."""
    stored = latest_of(ctx, Stage.DESIGN, f"{path} has no plan to report against")
    plan = stored.artifact
    assert isinstance(plan, ImplementationPlan)
    submission = read_progress_workbook(
        path, known={t.id for t in plan.tasks}, history=_progress_history(ctx)
    )
    if submission.plan_id != stored.ref.artifact_id:
        raise InputDataError(
            f"{path}: reports on the plan {submission.plan_id}, not {stored.ref.artifact_id} of "
            "this programme; import it with that programme's definition"
        )
    rows = [_row_of(r) for r in submission.reports]
    with ctx.transaction() as session:
        changed = repo.save_progress_updates(
            session=session,
            programme_key=ctx.programme.key,
            cycle_key=ctx.programme.cycle.key,
            rows=rows,
            actor=actor,
        )
    return ProgressImport(as_of=submission.as_of, reported=len(rows), stored=changed)


def last_complete_week(today: date) -> str:
    """The ISO week that ended on the last Sunday before `today`."""
    return week_of(today - timedelta(days=today.weekday() + 1))


def weekly_facts_of(ctx: RunContext, period: str) -> WeeklyFacts:
    """The week's KPIs (tickets created Monday to Sunday) and every progress report."""
    try:
        start, end = parse_week(period)
    except ValueError as exc:
        raise StageError(f"weekly review: {exc}") from None
    con = open_data(ctx, progress=True)
    try:
        return weekly_facts(con, start=start, end=end, progress=stored_progress(ctx, con))
    finally:
        con.close()


def _in_force(inputs: Inputs) -> tuple[ImplementationPlan, ArtifactRef, TargetList, ArtifactRef]:
    """The plan and the targets a review reads, with their stored versions."""
    plan, targets = inputs[Stage.DESIGN], inputs[Stage.TARGET]
    assert isinstance(plan.artifact, ImplementationPlan)
    assert isinstance(targets.artifact, TargetList)
    return plan.artifact, plan.ref, targets.artifact, targets.ref


def compute_weekly(
    ctx: RunContext, inputs: Inputs, facts: WeeklyFacts, period: str
) -> WeeklyReview:
    """The pure weekly review over the plan and targets in force."""
    plan, plan_ref, targets, targets_ref = _in_force(inputs)
    return weekly_review(
        plan,
        targets,
        facts,
        period=period,
        plan_ref=plan_ref,
        targets_ref=targets_ref,
        plan_start=ctx.programme.cycle.plan_start,
        calendar=ctx.calendar,
    )


def store_review(
    ctx: RunContext, review: WeeklyReview | MonthlyRetrospective | Digest, *, actor: str
) -> tuple[StoredReport, bool]:
    """Save a period's review or digest (the same content again stores nothing)."""
    with ctx.transaction() as session:
        saved = repo.save_cadence_report(
            session=session,
            programme_key=ctx.programme.key,
            cycle_key=ctx.programme.cycle.key,
            kind=review.kind,
            period=review.period,
            report=review,
            actor=actor,
        )
        crash_point(f"store-{review.kind}")  # written, not committed yet
    return saved


def publish_weekly(ctx: RunContext, review: WeeklyReview) -> list[Path]:
    """The review's workbook and page beside the stage reports (plotly.min.js copied there),
    and the progress workbook owners fill in for the coming week."""
    copy_plotly_js(ctx.reports_dir)
    xlsx, html = write_weekly(ctx.reports_dir, review, locale=ctx.locale, programme=ctx.programme)
    coming = review.end + timedelta(days=7)
    progress_book = write_progress_workbook(ctx, None, as_of=coming)
    return [xlsx, html, progress_book]


def last_complete_month(today: date) -> str:
    """The calendar month before the one `today` falls in, like 2026-02."""
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def is_first_working_day(ctx: RunContext, day: date) -> bool:
    """Whether `day` is its month's first working day on the programme's calendar (the
    retrospective's schedule fires on weekdays 1-7 and runs only then)."""
    return day == ctx.calendar.next_working_day(day.replace(day=1))


def monthly_facts_of(ctx: RunContext, period: str) -> MonthlyFacts:
    """The month's KPIs overall, per team and agent, every month's since the plan started,
    and every progress report."""
    try:
        start, end = parse_month(period)
    except ValueError as exc:
        raise StageError(f"monthly retrospective: {exc}") from None
    con = open_data(ctx, progress=True)
    try:
        return monthly_facts(
            con,
            start=start,
            end=end,
            plan_start=ctx.programme.cycle.plan_start,
            progress=stored_progress(ctx, con),
        )
    finally:
        con.close()


def compute_monthly(
    ctx: RunContext, inputs: Inputs, facts: MonthlyFacts, period: str
) -> MonthlyRetrospective:
    """The pure monthly retrospective over the plan and targets in force."""
    plan, plan_ref, targets, targets_ref = _in_force(inputs)
    return monthly_retrospective(
        plan,
        targets,
        facts,
        period=period,
        plan_ref=plan_ref,
        targets_ref=targets_ref,
        programme=ctx.programme,
        calendar=ctx.calendar,
    )


def publish_monthly(ctx: RunContext, retro: MonthlyRetrospective) -> list[Path]:
    """The retrospective's workbook and page beside the stage reports."""
    copy_plotly_js(ctx.reports_dir)
    return list(write_monthly(ctx.reports_dir, retro, locale=ctx.locale, programme=ctx.programme))


def missing_periods(ctx: RunContext, kind: str, today: date) -> list[str]:
    """The weeks (or months) of the cycle, from the plan's start to the last complete one
    before `today` (and not past the deadline), that have no stored review yet: what a
    catch-up runs after the scheduler was down."""
    cycle = ctx.programme.cycle
    with ctx.transaction() as session:
        done = {
            r.period
            for r in repo.cadence_reports(
                session=session, programme_key=ctx.programme.key, cycle_key=cycle.key, kind=kind
            )
        }
    periods: list[str] = []
    if kind == "weekly":
        last = parse_week(last_complete_week(today))[1]
        day = cycle.plan_start - timedelta(days=cycle.plan_start.weekday())
        while day <= min(last, cycle.deadline):
            periods.append(week_of(day))
            day += timedelta(days=7)
    else:
        last = parse_month(last_complete_month(today))[1]
        month = cycle.plan_start.replace(day=1)
        while month <= min(last, cycle.deadline):
            periods.append(f"{month.year}-{month.month:02d}")
            month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [p for p in periods if p not in done]
