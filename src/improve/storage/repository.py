"""Repository functions: keyword-only, pydantic in and out; the caller owns the transaction
(these flush, never commit), so a stage's artifact, its plan tasks and its audit rows land
together or not at all."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from improve.domain.artifacts import ARTIFACT_TYPES, ImplementationPlan
from improve.domain.base import Artifact, ArtifactRef, Model, Stage
from improve.domain.facts import ProgressReport
from improve.domain.gate import awaited, check_decision
from improve.domain.hashing import content_hash
from improve.domain.programme import Approvers, Programme
from improve.domain.review import ProblemReview, RootCauseReview
from improve.errors import ApprovalError, ConflictError, NotFoundError, StorageError
from improve.storage import audit
from improve.storage.orm import (
    GRAINS,
    ApprovalRow,
    ArtifactVersionRow,
    CadenceReportRow,
    CycleRow,
    KpiSnapshotRow,
    PlanTaskRow,
    ProgrammeRow,
    ProgressUpdateRow,
    RootCauseReviewRow,
    utcnow,
)

Status = Literal["pending", "approved", "rejected"]
Level = Literal["author", "cross", "final"]
Grain = Literal["week", "month", "window"]

SYSTEM_ACTOR = "improve"


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoredArtifact(_Result):
    """An artifact version as stored: its identity, approval status and content."""

    ref: ArtifactRef
    status: Status
    # SerializeAsAny: dump the concrete report's fields, not only the Artifact header.
    artifact: SerializeAsAny[Artifact]
    created_at: datetime = Field(description="UTC.")


class ProgressRow(_Result):
    """One progress report row (执行进度跟踪表): a task's completion at a date."""

    task_id: str = Field(min_length=1, max_length=200)
    as_of: date
    percent_complete: float = Field(ge=0, le=100)
    status: str = Field(default="", max_length=64)
    note: str | None = None
    blocker: str | None = None

    def report(self) -> ProgressReport:
        """The row as the stages read it (an empty status: none reported)."""
        return ProgressReport(
            task_id=self.task_id,
            as_of=self.as_of,
            percent_complete=self.percent_complete,
            status=self.status or None,
            note=self.note,
            blocker=self.blocker,
        )

    @property
    def source_hash(self) -> str:
        """SHA-256 of the row's content: an unchanged re-import is recognised by it (a row
        without a blocker hashes as rows did before blockers were reported)."""
        skip = {"blocker"} if self.blocker is None else set()
        return hashlib.sha256(self.model_dump_json(exclude=skip).encode()).hexdigest()


class StageStatus(_Result):
    """The latest version of one stage's artifact in a cycle (None when not run yet)."""

    stage: Stage
    artifact_id: str | None
    version: int | None
    status: Status | None


class CycleStatus(_Result):
    """A cycle and where each of its six stages stands, for `improve status`."""

    programme_key: str
    cycle_key: str
    stages: tuple[StageStatus, ...]


def _json_payload(model: BaseModel, what: str) -> dict[str, Any]:
    """The model's JSON dump, refused (on every backend alike) when it holds a NaN or an
    infinity: PostgreSQL's JSON rejects them, SQLite would store non-standard JSON."""
    payload = model.model_dump(mode="json")
    bad = _non_finite(payload, "")
    if bad is not None:
        raise StorageError(
            f"{what} cannot be stored: {bad or 'a value'} is not a finite number (NaN or "
            "infinity); the stage that computed it should give None where it has no value"
        )
    return payload


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first NaN or infinity in a JSON dump, if any."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if not isinstance(value, dict | list | tuple):
        return None
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        found = _non_finite(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def artifact_id_for(programme_key: str, cycle_key: str, stage: Stage) -> str:
    """`programme/cycle/stage`: the stable id of a stage's artifact in a cycle."""
    return f"{programme_key}/{cycle_key}/{stage.value}"


def record_audit(
    *,
    session: Session,
    actor: str,
    action: str,
    object: str,
    hash_before: str | None = None,
    hash_after: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry: who did what to which object, with content hashes, chained
    to the entry before (storage/audit.py)."""
    audit.append(
        session=session,
        actor=actor,
        action=action,
        object=object,
        hash_before=hash_before,
        hash_after=hash_after,
        detail=detail,
    )


def save_programme(*, session: Session, programme: Programme) -> None:
    """Insert the programme, or update its stored definition when it changed (audited)."""
    definition = programme.model_dump(mode="json")
    digest = content_hash(programme)
    name = programme.name.model_dump()
    row = session.get(ProgrammeRow, programme.key)
    if row is None:
        session.add(
            ProgrammeRow(
                key=programme.key,
                name=name,
                owner=programme.owner,
                definition=definition,
                definition_hash=digest,
            )
        )
        session.flush()
        record_audit(
            session=session,
            actor=programme.owner,
            action="programme.created",
            object=programme.key,
            hash_after=digest,
        )
    elif row.definition_hash != digest:
        before = row.definition_hash
        row.name, row.owner, row.definition, row.definition_hash = (
            name,
            programme.owner,
            definition,
            digest,
        )
        row.updated_at = utcnow()
        session.flush()
        record_audit(
            session=session,
            actor=programme.owner,
            action="programme.updated",
            object=programme.key,
            hash_before=before,
            hash_after=digest,
        )


def get_programme(*, session: Session, key: str) -> Programme:
    """The stored definition of programme `key` (as last run)."""
    row = session.get(ProgrammeRow, key)
    if row is None:
        raise NotFoundError(
            f"programme {key!r} is not in the store; run it first (improve run CONFIG) "
            "or check IMPROVE_DATABASE_URL"
        )
    try:
        return Programme.model_validate(row.definition)
    except ValidationError as exc:
        raise StorageError(
            f"the stored definition of programme {key!r} no longer validates "
            f"({exc.error_count()} errors); rerun the programme to store it again"
        ) from exc


def _require_programme(session: Session, programme_key: str, what: str) -> None:
    if session.get(ProgrammeRow, programme_key) is None:
        raise NotFoundError(
            f"programme {programme_key!r} is not in the store, so {what} cannot be saved; "
            "save the programme first (save_programme, which every run does)"
        )


def ensure_cycle(*, session: Session, programme_key: str, cycle_key: str) -> int:
    """The id of the cycle, created when new; the programme must be saved first."""
    found = session.scalar(
        select(CycleRow.id).where(
            CycleRow.programme_key == programme_key, CycleRow.key == cycle_key
        )
    )
    if found is not None:
        return found
    _require_programme(session, programme_key, f"cycle {cycle_key!r}")
    row = CycleRow(programme_key=programme_key, key=cycle_key, created_at=utcnow())
    session.add(row)
    session.flush()
    return row.id


def _stage_of(artifact: Artifact) -> Stage:
    stage = getattr(artifact, "stage", None)
    if not isinstance(stage, Stage):
        raise StorageError(
            f"{type(artifact).__name__} has no stage, so it cannot be stored; "
            f"store one of {', '.join(t.__name__ for t in ARTIFACT_TYPES.values())}"
        )
    return stage


def _stored(row: ArtifactVersionRow) -> StoredArtifact:
    stage = Stage(row.stage)
    try:
        artifact = ARTIFACT_TYPES[stage].model_validate(row.payload)
    except ValidationError as exc:
        raise StorageError(
            f"stored artifact {row.artifact_id} v{row.version} does not match the "
            f"{ARTIFACT_TYPES[stage].__name__} model ({exc.error_count()} errors); rerun the "
            "stage to store a readable version, or use the improve release that wrote it"
        ) from exc
    return StoredArtifact(
        ref=ArtifactRef(
            stage=stage,
            artifact_id=row.artifact_id,
            version=row.version,
            content_hash=row.content_hash,
        ),
        status=row.status,
        artifact=artifact,
        created_at=row.created_at,
    )


def _latest_row(session: Session, artifact_id: str) -> ArtifactVersionRow | None:
    return session.scalar(
        select(ArtifactVersionRow)
        .where(ArtifactVersionRow.artifact_id == artifact_id)
        .order_by(ArtifactVersionRow.version.desc())
        .limit(1)
    )


def save_artifact(
    *,
    session: Session,
    programme_key: str,
    cycle_key: str,
    artifact: Artifact,
    actor: str = SYSTEM_ACTOR,
) -> tuple[StoredArtifact, bool]:
    """Store the artifact as the next version, pending approval, and audit it.

    Returns the stored version and whether it is new: when a version with the same content
    hash exists, that version is returned and nothing is written (reruns are idempotent).
    """
    stage = _stage_of(artifact)
    artifact_id = artifact_id_for(programme_key, cycle_key, stage)
    digest = content_hash(artifact)
    same = _same_content(session, artifact_id, digest)
    if same is not None:
        return _stored(same), False
    cycle_id = ensure_cycle(session=session, programme_key=programme_key, cycle_key=cycle_key)
    previous = _latest_row(session, artifact_id)
    row = ArtifactVersionRow(
        cycle_id=cycle_id,
        stage=stage.value,
        artifact_id=artifact_id,
        version=previous.version + 1 if previous else 1,
        content_hash=digest,
        payload=_json_payload(artifact, f"artifact {artifact_id}"),
        derived_from=[r.model_dump(mode="json") for r in artifact.derived_from],
        status="pending",
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise StorageError(
            f"artifact {artifact_id} v{row.version} was stored by another run at the same "
            "time; rerun the stage (it will reuse or follow that version)"
        ) from exc
    record_audit(
        session=session,
        actor=actor,
        action="artifact.saved",
        object=audit.artifact_object(artifact_id, row.version),
        hash_before=previous.content_hash if previous else None,
        hash_after=digest,
    )
    return _stored(row), True


def _same_content(session: Session, artifact_id: str, digest: str) -> ArtifactVersionRow | None:
    return session.scalar(
        select(ArtifactVersionRow).where(
            ArtifactVersionRow.artifact_id == artifact_id, ArtifactVersionRow.content_hash == digest
        )
    )


def find_artifact(*, session: Session, artifact: Artifact) -> StoredArtifact | None:
    """The stored version with exactly this content, if any."""
    artifact_id = artifact_id_for(artifact.programme, artifact.cycle, _stage_of(artifact))
    row = _same_content(session, artifact_id, content_hash(artifact))
    return None if row is None else _stored(row)


def latest_artifact(
    *, session: Session, programme_key: str, cycle_key: str, stage: Stage
) -> StoredArtifact | None:
    """The highest version of the stage's artifact in the cycle, or None if never run."""
    row = _latest_row(session, artifact_id_for(programme_key, cycle_key, stage))
    return None if row is None else _stored(row)


def _version_row(session: Session, artifact_id: str, version: int | None) -> ArtifactVersionRow:
    row = (
        _latest_row(session, artifact_id)
        if version is None
        else session.scalar(
            select(ArtifactVersionRow).where(
                ArtifactVersionRow.artifact_id == artifact_id,
                ArtifactVersionRow.version == version,
            )
        )
    )
    if row is None:
        which = "" if version is None else f" version {version}"
        raise NotFoundError(
            f"artifact {artifact_id}{which} does not exist; `improve status` lists the "
            "artifact ids and their latest versions"
        )
    return row


def get_artifact(
    *, session: Session, artifact_id: str, version: int | None = None
) -> StoredArtifact:
    """A stored artifact version (the latest when `version` is None)."""
    return _stored(_version_row(session, artifact_id, version))


def approve(
    *,
    session: Session,
    artifact_id: str,
    version: int,
    approver: str,
    approvers: Approvers,
    level: Level | None = None,
    reject: bool = False,
    comment: str | None = None,
    auto: bool = False,
) -> StoredArtifact:
    """Record one decision of the three-level review on a version (audited): author, every
    cross-department head, then the final sign-off, each by the people listed for it (the
    awaited level when `level` is None). The final approval approves the version; a
    rejection rejects it, so the stage must make a new version. `auto` (demo and
    `--auto-approve`) records the owner's sign-off of every level at once.

    Repeating the decision that completed the review changes nothing. Each decision bumps
    the version's lock: a concurrent decision on the same state fails with ConflictError.
    """
    row = _version_row(session, artifact_id, version)
    what = f"{artifact_id} v{version}"
    rows = list(
        session.scalars(select(ApprovalRow).where(ApprovalRow.artifact_version_id == row.id))
    )
    approved = [(r.level, r.approver) for r in rows if r.decision == "approved"]
    if (
        row.status == "approved"
        and not reject
        and (auto or (level in (None, "final") and ("final", approver) in approved))
    ):
        return _stored(row)
    if row.status != "pending":
        raise ApprovalError(
            f"{what} is {row.status} already; "
            + (
                "run its stage again (or import an edit) to make a new version to review"
                if row.status == "rejected"
                else "a change makes a new version that needs approval again"
            )
        )
    if reject and not (comment and comment.strip()):
        raise ApprovalError(f"rejecting {what} needs a comment saying what to change")
    if auto:
        decided: Level = "final"
        status: Status = "approved"
    else:
        decided = check_decision(what, approved, approvers, reviewer=approver, level=level)
        done = awaited([*approved, (decided, approver)], approvers) is None
        status = "rejected" if reject else "approved" if done else "pending"
    session.add(
        ApprovalRow(
            artifact_version_id=row.id,
            level=decided,
            approver=approver,
            decision="rejected" if reject else "approved",
            comment=comment if comment or not auto else "auto-approved",
            created_at=utcnow(),
        )
    )
    bumped = session.execute(
        update(ArtifactVersionRow)
        .where(ArtifactVersionRow.id == row.id, ArtifactVersionRow.lock_version == row.lock_version)
        .values(status=status, lock_version=row.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"{what} was decided on by someone else at the same time; nothing of yours was "
            "stored: look at it again (`improve status`) and repeat your decision"
        )
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"{approver} decided on {what} twice at the same time; the first one counts"
        ) from exc
    session.refresh(row)
    record_audit(
        session=session,
        actor=approver,
        action=f"artifact.{'rejected' if reject else 'approved'}",
        object=audit.artifact_object(artifact_id, version),
        hash_before=row.content_hash,
        hash_after=row.content_hash,
        detail={"level": decided, "comment": comment, "status": status, "auto": auto},
    )
    return _stored(row)


class Decision(_Result):
    """One decision of the review of an artifact version."""

    level: str
    approver: str
    decision: str
    comment: str | None
    at: datetime


def approvals(*, session: Session, artifact_id: str, version: int) -> list[Decision]:
    """The review decisions on a version, in the order they were made."""
    row = _version_row(session, artifact_id, version)
    return [
        Decision(
            level=r.level,
            approver=r.approver,
            decision=r.decision,
            comment=r.comment,
            at=r.created_at,
        )
        for r in session.scalars(
            select(ApprovalRow)
            .where(ApprovalRow.artifact_version_id == row.id)
            .order_by(ApprovalRow.id)
        )
    ]


def save_plan_tasks(
    *,
    session: Session,
    plan: ImplementationPlan,
    ref: ArtifactRef | None = None,
    artifact_version_id: int | None = None,
) -> int:
    """Store the plan version's tasks (the Gantt rows) once; returns how many were added.

    Name the version by `ref` (as save_artifact returns it) or by `artifact_version_id`.
    """
    if (ref is None) == (artifact_version_id is None):
        raise TypeError("save_plan_tasks needs exactly one of ref= or artifact_version_id=")
    if ref is not None:
        row = _version_row(session, ref.artifact_id, ref.version)
    else:
        found = session.get(ArtifactVersionRow, artifact_version_id)
        if found is None:
            raise NotFoundError(
                f"artifact version id {artifact_version_id} does not exist; save the plan "
                "with save_artifact first"
            )
        row = found
    if row.stage != Stage.DESIGN.value or row.content_hash != content_hash(plan):
        raise StorageError(
            f"the plan given is not the content of {row.artifact_id} v{row.version}; pass the "
            "plan that save_artifact stored under that version"
        )
    have = set(
        session.scalars(
            select(PlanTaskRow.task_id).where(PlanTaskRow.artifact_version_id == row.id)
        )
    )
    new = [t for t in plan.tasks if t.id not in have]
    session.add_all(
        PlanTaskRow(
            artifact_version_id=row.id,
            task_id=t.id,
            strategy=t.strategy,
            name_zh=t.name.zh,
            name_en=t.name.en,
            department=t.department,
            role=t.role,
            start=t.start,
            end=t.end,
            critical=t.critical,
        )
        for t in new
    )
    session.flush()
    return len(new)


def save_progress_updates(
    *,
    session: Session,
    programme_key: str,
    cycle_key: str,
    rows: Iterable[ProgressRow],
    actor: str = SYSTEM_ACTOR,
) -> int:
    """Store progress rows by (task, as-of date): a row identical to the stored one is
    skipped, a changed one replaces it. Returns how many rows were inserted or changed
    (0 when the same report is imported again)."""
    _require_programme(session, programme_key, "its progress reports")
    stored = {
        (r.task_id, r.as_of): r
        for r in session.scalars(
            select(ProgressUpdateRow).where(
                ProgressUpdateRow.programme_key == programme_key,
                ProgressUpdateRow.cycle_key == cycle_key,
            )
        )
    }
    inserted = updated = 0
    for new in rows:
        digest = new.source_hash
        old = stored.get((new.task_id, new.as_of))
        if old is None:
            row = ProgressUpdateRow(
                programme_key=programme_key,
                cycle_key=cycle_key,
                task_id=new.task_id,
                as_of=new.as_of,
                percent_complete=new.percent_complete,
                status=new.status,
                note=new.note,
                blocker=new.blocker,
                source_hash=digest,
                created_at=utcnow(),
            )
            session.add(row)
            stored[(new.task_id, new.as_of)] = row
            inserted += 1
        elif old.source_hash != digest:
            old.percent_complete, old.status, old.note, old.blocker, old.source_hash = (
                new.percent_complete,
                new.status,
                new.note,
                new.blocker,
                digest,
            )
            updated += 1
    session.flush()
    if inserted or updated:
        record_audit(
            session=session,
            actor=actor,
            action="progress.imported",
            object=f"{programme_key}/{cycle_key}",
            detail={"inserted": inserted, "updated": updated},
        )
    return inserted + updated


def load_progress(*, session: Session, programme_key: str, cycle_key: str) -> list[ProgressRow]:
    """Every stored progress row of the cycle, ordered by task and date."""
    rows = session.scalars(
        select(ProgressUpdateRow)
        .where(
            ProgressUpdateRow.programme_key == programme_key,
            ProgressUpdateRow.cycle_key == cycle_key,
        )
        .order_by(ProgressUpdateRow.task_id, ProgressUpdateRow.as_of)
    )
    return [
        ProgressRow(
            task_id=r.task_id,
            as_of=r.as_of,
            percent_complete=r.percent_complete,
            status=r.status,
            note=r.note,
            blocker=r.blocker,
        )
        for r in rows
    ]


def save_kpi_snapshots(
    *,
    session: Session,
    programme_key: str,
    cycle_key: str | None,
    grain: Grain,
    scope: str,
    rows: Iterable[tuple[date, str, float | None]],
) -> int:
    """Insert or update KPI values by (programme, scope, grain, period, KPI); NaN is stored
    as NULL. Returns how many rows were inserted or changed (0 on an identical rerun)."""
    if grain not in GRAINS:
        raise ValueError(f"KPI snapshot grain {grain!r} unknown; use one of {', '.join(GRAINS)}")
    _require_programme(session, programme_key, "its KPI snapshots")
    existing = {
        (r.period, r.kpi): r
        for r in session.scalars(
            select(KpiSnapshotRow).where(
                KpiSnapshotRow.programme_key == programme_key,
                KpiSnapshotRow.scope == scope,
                KpiSnapshotRow.grain == grain,
            )
        )
    }
    changed = 0
    for period, kpi, raw in rows:
        value = None if raw is None or math.isnan(raw) else float(raw)
        old = existing.get((period, kpi))
        if old is None:
            row = KpiSnapshotRow(
                programme_key=programme_key,
                cycle_key=cycle_key,
                scope=scope,
                grain=grain,
                period=period,
                kpi=kpi,
                value=value,
                computed_at=utcnow(),
            )
            session.add(row)
            existing[(period, kpi)] = row
        elif old.value != value:
            old.value, old.cycle_key, old.computed_at = value, cycle_key, utcnow()
        else:
            continue
        changed += 1
    session.flush()
    return changed


def count_rows(*, session: Session, table: type[Any]) -> int:
    """Rows in an ORM table (for checks that a rerun added nothing)."""
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def cycle_status(*, session: Session, programme_key: str | None = None) -> list[CycleStatus]:
    """Every cycle (of one programme, or all) with each stage's latest version and status."""
    cycles = select(CycleRow).order_by(CycleRow.programme_key, CycleRow.key)
    if programme_key is not None:
        cycles = cycles.where(CycleRow.programme_key == programme_key)
    newest = (
        select(
            ArtifactVersionRow.cycle_id,
            ArtifactVersionRow.stage,
            func.max(ArtifactVersionRow.version).label("version"),
        )
        .group_by(ArtifactVersionRow.cycle_id, ArtifactVersionRow.stage)
        .subquery()
    )
    latest = select(
        ArtifactVersionRow.cycle_id,
        ArtifactVersionRow.stage,
        ArtifactVersionRow.artifact_id,
        ArtifactVersionRow.version,
        ArtifactVersionRow.status,
    ).join(
        newest,
        (ArtifactVersionRow.cycle_id == newest.c.cycle_id)
        & (ArtifactVersionRow.stage == newest.c.stage)
        & (ArtifactVersionRow.version == newest.c.version),
    )
    by_cycle: dict[tuple[int, str], tuple[str, int, Any]] = {
        (r.cycle_id, r.stage): (r.artifact_id, r.version, r.status) for r in session.execute(latest)
    }
    out = []
    for cycle in session.scalars(cycles):
        stages = []
        for stage in Stage:
            artifact_id, version, status = by_cycle.get((cycle.id, stage.value), (None, None, None))
            stages.append(
                StageStatus(stage=stage, artifact_id=artifact_id, version=version, status=status)
            )
        out.append(
            CycleStatus(
                programme_key=cycle.programme_key, cycle_key=cycle.key, stages=tuple(stages)
            )
        )
    return out


def save_reviews(
    *,
    session: Session,
    programme_key: str,
    cycle_key: str,
    review: RootCauseReview,
    actor: str,
) -> int:
    """Store a worksheet's problem reviews; one whose content is already stored for that
    problem is skipped, so importing the same file again adds nothing. Returns how many
    were added (audited, with each review's content hash)."""
    _require_programme(session, programme_key, "its root-cause reviews")
    stored = set(
        session.execute(
            select(RootCauseReviewRow.problem_key, RootCauseReviewRow.content_hash).where(
                RootCauseReviewRow.programme_key == programme_key,
                RootCauseReviewRow.cycle_key == cycle_key,
            )
        ).tuples()
    )
    added = []
    for r in review.reviews:
        digest = content_hash(r)
        if (r.problem_key, digest) in stored:
            continue
        session.add(
            RootCauseReviewRow(
                programme_key=programme_key,
                cycle_key=cycle_key,
                problem_key=r.problem_key,
                diagnosis_id=review.diagnosis_id,
                diagnosis_version=review.diagnosis_version,
                reviewer=r.reviewer,
                payload=r.model_dump(mode="json"),
                content_hash=digest,
                created_at=utcnow(),
            )
        )
        stored.add((r.problem_key, digest))
        added.append((r.problem_key, digest))
    session.flush()
    for problem_key, digest in added:
        record_audit(
            session=session,
            actor=actor,
            action="review.imported",
            object=f"{programme_key}/{cycle_key}/{problem_key}"[:200],
            hash_after=digest,
            detail={"diagnosis": f"{review.diagnosis_id} v{review.diagnosis_version}"},
        )
    return len(added)


def load_reviews(*, session: Session, programme_key: str, cycle_key: str) -> list[ProblemReview]:
    """The review in force per problem: the latest imported, in problem-key order."""
    latest: dict[str, RootCauseReviewRow] = {}
    for row in session.scalars(
        select(RootCauseReviewRow)
        .where(
            RootCauseReviewRow.programme_key == programme_key,
            RootCauseReviewRow.cycle_key == cycle_key,
        )
        .order_by(RootCauseReviewRow.id)
    ):
        latest[row.problem_key] = row
    out = []
    for key in sorted(latest):
        try:
            out.append(ProblemReview.model_validate(latest[key].payload))
        except ValidationError as exc:
            raise StorageError(
                f"root-cause review {latest[key].id} of {programme_key}/{cycle_key} ({key}) "
                f"does not validate ({exc.error_count()} error(s)); the store was edited by "
                "hand or by a newer version: restore it or import the worksheet again"
            ) from exc
    return out


class StoredReport(_Result):
    """A stored weekly review or monthly retrospective version."""

    kind: str
    period: str
    version: int
    content_hash: str
    payload: dict[str, Any]


def save_cadence_report(
    *,
    session: Session,
    programme_key: str,
    cycle_key: str,
    kind: str,
    period: str,
    report: Model,
    actor: str = SYSTEM_ACTOR,
) -> tuple[StoredReport, bool]:
    """Store a review of one period as its next version; the same content again stores
    nothing and returns the version holding it (a rerun leaves the store unchanged)."""
    _require_programme(session, programme_key, "its reviews")
    digest = content_hash(report)
    where = (
        CadenceReportRow.programme_key == programme_key,
        CadenceReportRow.cycle_key == cycle_key,
        CadenceReportRow.kind == kind,
        CadenceReportRow.period == period,
    )
    same = session.scalar(
        select(CadenceReportRow).where(*where, CadenceReportRow.content_hash == digest)
    )
    if same is not None:
        return _report(same), False
    last = session.scalar(select(func.max(CadenceReportRow.version)).where(*where)) or 0
    row = CadenceReportRow(
        programme_key=programme_key,
        cycle_key=cycle_key,
        kind=kind,
        period=period,
        version=last + 1,
        payload=_json_payload(report, f"the {kind} review {period}"),
        content_hash=digest,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise StorageError(
            f"the {kind} review {period} of {programme_key}/{cycle_key} was stored by another "
            "run at the same time; run it again (it will find that version)"
        ) from exc
    record_audit(
        session=session,
        actor=actor,
        action=f"review.{kind}.saved",
        object=audit.cadence_object(programme_key, cycle_key, kind, period, row.version),
        hash_after=digest,
    )
    return _report(row), True


def cadence_reports(
    *, session: Session, programme_key: str, cycle_key: str, kind: str
) -> list[StoredReport]:
    """Every stored version of the cycle's reviews of `kind`, by period then version."""
    rows = session.scalars(
        select(CadenceReportRow)
        .where(
            CadenceReportRow.programme_key == programme_key,
            CadenceReportRow.cycle_key == cycle_key,
            CadenceReportRow.kind == kind,
        )
        .order_by(CadenceReportRow.period, CadenceReportRow.version)
    )
    return [_report(r) for r in rows]


def _report(row: CadenceReportRow) -> StoredReport:
    return StoredReport(
        kind=row.kind,
        period=row.period,
        version=row.version,
        content_hash=row.content_hash,
        payload=dict(row.payload),
    )
