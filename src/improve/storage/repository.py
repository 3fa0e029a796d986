"""Repository functions: keyword-only, pydantic in and out; the caller owns the transaction
(these flush, never commit)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from improve.domain.artifacts import ARTIFACT_TYPES
from improve.domain.base import Artifact, ArtifactRef, Stage
from improve.domain.hashing import canonical_json, content_hash
from improve.domain.programme import Programme
from improve.errors import ApprovalError, NotFoundError
from improve.storage.orm import (
    ApprovalRow,
    ArtifactVersionRow,
    AuditRow,
    CycleRow,
    KpiSnapshotRow,
    PlanTaskRow,
    ProgrammeRow,
    ProgressUpdateRow,
    utcnow,
)

Status = Literal["pending", "approved", "rejected"]


class StoredArtifact(BaseModel):
    """An artifact version as stored: its identity, approval status and content."""

    model_config = ConfigDict(frozen=True)

    ref: ArtifactRef
    status: Status
    artifact: Artifact
    created_at: datetime


class ProgressRow(BaseModel):
    """One progress report row (执行进度跟踪表)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str = Field(min_length=1)
    as_of: date
    percent_complete: float = Field(ge=0, le=100)
    status: str = ""
    note: str | None = None

    @property
    def source_hash(self) -> str:
        """Hash of the row's content: an unchanged re-import is recognised."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class StageStatus(BaseModel):
    """The latest version of one stage's artifact in a cycle."""

    stage: str
    artifact_id: str | None
    version: int | None
    status: str | None


class CycleStatus(BaseModel):
    """A cycle and where each of its stages stands."""

    programme_key: str
    cycle_key: str
    stages: list[StageStatus]


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
    """Append an audit entry."""
    session.add(
        AuditRow(
            actor=actor,
            action=action,
            object=object,
            hash_before=hash_before,
            hash_after=hash_after,
            detail=detail,
        )
    )
    session.flush()


def save_programme(*, session: Session, programme: Programme) -> None:
    """Insert or update the programme's stored definition."""
    definition = json.loads(canonical_json(programme))
    digest = content_hash(programme)
    row = session.get(ProgrammeRow, programme.key)
    if row is None:
        session.add(
            ProgrammeRow(
                key=programme.key,
                name=programme.name.zh,
                owner=programme.owner,
                definition=definition,
                definition_hash=digest,
            )
        )
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
            programme.name.zh,
            programme.owner,
            definition,
            digest,
        )
        row.updated_at = utcnow()
        record_audit(
            session=session,
            actor=programme.owner,
            action="programme.updated",
            object=programme.key,
            hash_before=before,
            hash_after=digest,
        )
    session.flush()


def get_programme(*, session: Session, key: str) -> Programme:
    """The stored definition of programme `key`."""
    row = session.get(ProgrammeRow, key)
    if row is None:
        raise NotFoundError(
            f"programme {key!r} is not in the store; run it first "
            "(improve run CONFIG) or check IMPROVE_DATABASE_URL"
        )
    return Programme.model_validate(row.definition)


def ensure_cycle(*, session: Session, programme_key: str, cycle_key: str) -> int:
    """The id of the cycle, created when new."""
    found = session.scalar(
        select(CycleRow.id).where(
            CycleRow.programme_key == programme_key, CycleRow.key == cycle_key
        )
    )
    if found is not None:
        return found
    if session.get(ProgrammeRow, programme_key) is None:
        raise NotFoundError(
            f"programme {programme_key!r} is not in the store; save its "
            "definition first (a stage run does)"
        )
    row = CycleRow(programme_key=programme_key, key=cycle_key)
    session.add(row)
    session.flush()
    return row.id


def _stored(row: ArtifactVersionRow) -> StoredArtifact:
    stage = Stage(row.stage)
    artifact = ARTIFACT_TYPES[stage].model_validate(row.payload)
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


def save_artifact(
    *, session: Session, programme_key: str, cycle_key: str, artifact: Artifact, actor: str
) -> tuple[StoredArtifact, bool]:
    """Store the artifact as a new version, unless a version with the same content exists
    (then that version is returned and nothing is added)."""
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    artifact_id = artifact_id_for(programme_key, cycle_key, stage)
    digest = content_hash(artifact)
    same = session.scalar(
        select(ArtifactVersionRow).where(
            ArtifactVersionRow.artifact_id == artifact_id, ArtifactVersionRow.content_hash == digest
        )
    )
    if same is not None:
        return _stored(same), False
    cycle_id = ensure_cycle(session=session, programme_key=programme_key, cycle_key=cycle_key)
    previous = session.scalar(
        select(ArtifactVersionRow)
        .where(ArtifactVersionRow.artifact_id == artifact_id)
        .order_by(ArtifactVersionRow.version.desc())
        .limit(1)
    )
    row = ArtifactVersionRow(
        cycle_id=cycle_id,
        stage=stage.value,
        artifact_id=artifact_id,
        version=(previous.version + 1) if previous else 1,
        content_hash=digest,
        payload=artifact.model_dump(mode="json"),
        derived_from=[r.model_dump(mode="json") for r in artifact.derived_from],
        status="pending",
        created_by=actor,
    )
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="artifact.saved",
        object=f"{artifact_id}@v{row.version}",
        hash_before=previous.content_hash if previous else None,
        hash_after=digest,
    )
    return _stored(row), True


def latest_artifact(
    *, session: Session, programme_key: str, cycle_key: str, stage: Stage
) -> StoredArtifact | None:
    """The highest version of the stage's artifact in the cycle, if any."""
    row = session.scalar(
        select(ArtifactVersionRow)
        .where(ArtifactVersionRow.artifact_id == artifact_id_for(programme_key, cycle_key, stage))
        .order_by(ArtifactVersionRow.version.desc())
        .limit(1)
    )
    return None if row is None else _stored(row)


def _version_row(session: Session, artifact_id: str, version: int | None) -> ArtifactVersionRow:
    query = select(ArtifactVersionRow).where(ArtifactVersionRow.artifact_id == artifact_id)
    if version is not None:
        query = query.where(ArtifactVersionRow.version == version)
    row = session.scalar(query.order_by(ArtifactVersionRow.version.desc()).limit(1))
    if row is None:
        which = f" v{version}" if version is not None else ""
        raise NotFoundError(
            f"artifact {artifact_id}{which} does not exist; `improve status` lists the artifact ids"
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
    approvers: tuple[str, ...],
    reject: bool = False,
    comment: str | None = None,
) -> StoredArtifact:
    """Record an approver's decision; approving twice records it once."""
    if approver not in approvers:
        raise ApprovalError(
            f"{approver!r} may not approve {artifact_id}: not an approver of the "
            f"programme ({', '.join(approvers)}); ask one of them"
        )
    row = _version_row(session, artifact_id, version)
    decision = "rejected" if reject else "approved"
    existing = session.scalar(
        select(ApprovalRow).where(
            ApprovalRow.artifact_version_id == row.id,
            ApprovalRow.level == "author",
            ApprovalRow.approver == approver,
        )
    )
    if existing is None:
        session.add(
            ApprovalRow(
                artifact_version_id=row.id, approver=approver, decision=decision, comment=comment
            )
        )
    elif existing.decision != decision or existing.comment != comment:
        existing.decision, existing.comment = decision, comment
    else:
        return _stored(row)
    row.status = decision
    session.flush()
    record_audit(
        session=session,
        actor=approver,
        action=f"artifact.{decision}",
        object=f"{artifact_id}@v{version}",
        hash_before=row.content_hash,
        hash_after=row.content_hash,
        detail={"comment": comment} if comment else None,
    )
    return _stored(row)


def save_plan_tasks(*, session: Session, ref: ArtifactRef, plan: Any) -> int:
    """Store the plan version's tasks (once); returns how many were added."""
    row = _version_row(session, ref.artifact_id, ref.version)
    have = set(
        session.scalars(
            select(PlanTaskRow.task_id).where(PlanTaskRow.artifact_version_id == row.id)
        )
    )
    added = 0
    for t in plan.tasks:
        if t.id in have:
            continue
        session.add(
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
        )
        added += 1
    session.flush()
    return added


def save_progress_updates(
    *, session: Session, programme_key: str, cycle_key: str, rows: Iterable[ProgressRow]
) -> int:
    """Store progress rows; an identical row already stored is skipped, a changed one for
    the same task and date replaces it. Returns how many rows were added or changed."""
    stored = {
        (r.task_id, r.as_of): r
        for r in session.scalars(
            select(ProgressUpdateRow).where(
                ProgressUpdateRow.programme_key == programme_key,
                ProgressUpdateRow.cycle_key == cycle_key,
            )
        )
    }
    changed = 0
    for new in rows:
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
                source_hash=new.source_hash,
            )
            session.add(row)
            stored[(new.task_id, new.as_of)] = row
        elif old.source_hash != new.source_hash:
            old.percent_complete, old.status, old.note, old.source_hash = (
                new.percent_complete,
                new.status,
                new.note,
                new.source_hash,
            )
        else:
            continue
        changed += 1
    session.flush()
    if changed:
        record_audit(
            session=session,
            actor="import",
            action="progress.imported",
            object=f"{programme_key}/{cycle_key}",
            detail={"rows": changed},
        )
    return changed


def load_progress(*, session: Session, programme_key: str, cycle_key: str) -> list[ProgressRow]:
    """Every stored progress row of the cycle, by task and date."""
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
        )
        for r in rows
    ]


def save_kpi_snapshots(
    *,
    session: Session,
    programme_key: str,
    cycle_key: str | None,
    grain: str,
    scope: str,
    rows: Iterable[tuple[date, str, float | None]],
) -> int:
    """Insert or update KPI values by (scope, grain, period, KPI); returns rows changed."""
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
    for period, kpi, value in rows:
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
    """Every cycle with each stage's latest artifact version and status."""
    query = select(CycleRow).order_by(CycleRow.programme_key, CycleRow.key)
    if programme_key is not None:
        query = query.where(CycleRow.programme_key == programme_key)
    out = []
    for cycle in session.scalars(query):
        stages = []
        for stage in Stage:
            latest = latest_artifact(
                session=session, programme_key=cycle.programme_key, cycle_key=cycle.key, stage=stage
            )
            stages.append(
                StageStatus(
                    stage=stage.value,
                    artifact_id=latest.ref.artifact_id if latest else None,
                    version=latest.ref.version if latest else None,
                    status=latest.status if latest else None,
                )
            )
        out.append(
            CycleStatus(programme_key=cycle.programme_key, cycle_key=cycle.key, stages=stages)
        )
    return out
