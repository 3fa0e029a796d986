"""Reads behind the portal and the digest: every programme, each cycle's artifact versions
with their review decisions, and a programme's monthly KPI series. A few queries per
programme, however many versions it holds."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from improve.domain.base import Stage
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview
from improve.domain.portfolio import ArtifactEntry, CycleEntry, DecisionEntry, VersionEntry
from improve.errors import StorageError
from improve.storage.orm import (
    ApprovalRow,
    ArtifactVersionRow,
    CadenceReportRow,
    CycleRow,
    KpiSnapshotRow,
    ProgrammeRow,
)
from improve.storage.repository import (
    StoredArtifact,
    artifact_id_for,
    get_artifact,
    latest_artifact,
)


def programme_keys(*, session: Session) -> list[str]:
    """Every stored programme's key, in order."""
    return list(session.scalars(select(ProgrammeRow.key).order_by(ProgrammeRow.key)))


def cycle_entries(*, session: Session, programme_key: str) -> list[CycleEntry]:
    """The programme's cycles in key order, each with every stage's versions and their
    decisions, and the furthest stage it has produced."""
    cycles = list(
        session.scalars(
            select(CycleRow).where(CycleRow.programme_key == programme_key).order_by(CycleRow.key)
        )
    )
    versions = list(
        session.scalars(
            select(ArtifactVersionRow)
            .where(ArtifactVersionRow.cycle_id.in_([c.id for c in cycles]))
            .order_by(ArtifactVersionRow.artifact_id, ArtifactVersionRow.version)
        )
    )
    decisions: dict[int, list[DecisionEntry]] = defaultdict(list)
    for d in session.scalars(
        select(ApprovalRow)
        .where(ApprovalRow.artifact_version_id.in_([v.id for v in versions]))
        .order_by(ApprovalRow.id)
    ):
        decisions[d.artifact_version_id].append(
            DecisionEntry(
                level=d.level,
                approver=d.approver,
                decision=d.decision,
                comment=d.comment,
                at=d.created_at,
            )
        )
    by_artifact: dict[tuple[int, str], list[ArtifactVersionRow]] = defaultdict(list)
    for v in versions:
        by_artifact[(v.cycle_id, v.stage)].append(v)
    out = []
    for cycle in cycles:
        artifacts = [
            ArtifactEntry(
                stage=stage,
                artifact_id=rows[0].artifact_id,
                versions=tuple(
                    VersionEntry(
                        version=r.version,
                        status=r.status,
                        created_by=r.created_by,
                        created_at=r.created_at,
                        content_hash=r.content_hash,
                        decisions=tuple(decisions[r.id]),
                    )
                    for r in rows
                ),
            )
            for stage in Stage
            if (rows := by_artifact.get((cycle.id, stage.value)))
        ]
        furthest = artifacts[-1] if artifacts else None
        out.append(
            CycleEntry(
                key=cycle.key,
                stage=furthest.stage if furthest else None,
                status=furthest.latest.status if furthest else None,
                artifacts=tuple(artifacts),
            )
        )
    return out


def monthly_kpis(
    *, session: Session, programme_key: str, scope: str = "all"
) -> dict[str, list[tuple[date, float | None]]]:
    """The programme's stored monthly KPI values, per KPI, oldest month first."""
    series: dict[str, list[tuple[date, float | None]]] = defaultdict(list)
    for row in session.scalars(
        select(KpiSnapshotRow)
        .where(
            KpiSnapshotRow.programme_key == programme_key,
            KpiSnapshotRow.scope == scope,
            KpiSnapshotRow.grain == "month",
        )
        .order_by(KpiSnapshotRow.kpi, KpiSnapshotRow.period)
    ):
        series[row.kpi].append((row.period, row.value))
    return dict(series)


def latest_cadence(
    *, session: Session, programme_key: str, cycle_key: str, kind: str, up_to: str
) -> tuple[WeeklyReview | MonthlyRetrospective, str] | None:
    """The newest version of the latest `kind` review of a period up to `up_to` (periods
    sort as text: 2026-W04, 2026-02), and its name like 'weekly 2026-W04 v2'; None: none."""
    row = session.scalar(
        select(CadenceReportRow)
        .where(
            CadenceReportRow.programme_key == programme_key,
            CadenceReportRow.cycle_key == cycle_key,
            CadenceReportRow.kind == kind,
            CadenceReportRow.period <= up_to,
        )
        .order_by(CadenceReportRow.period.desc(), CadenceReportRow.version.desc())
        .limit(1)
    )
    if row is None:
        return None
    model = WeeklyReview if kind == "weekly" else MonthlyRetrospective
    name = f"{kind} {row.period} v{row.version}"
    try:
        return model.model_validate(row.payload), name
    except ValidationError as exc:
        raise StorageError(
            f"the stored {name} review of {programme_key}/{cycle_key} does not validate "
            f"({exc.error_count()} error(s)); the store was edited by hand or by a newer "
            "version: restore it, or run the review again"
        ) from exc


def in_force(
    *, session: Session, programme_key: str, cycle_key: str, stage: Stage
) -> StoredArtifact | None:
    """The stage's newest approved version in the cycle, else its newest version (an
    artifact still in its first review); None when the stage has not run."""
    artifact_id = artifact_id_for(programme_key, cycle_key, stage)
    approved = session.scalar(
        select(ArtifactVersionRow.version)
        .where(
            ArtifactVersionRow.artifact_id == artifact_id,
            ArtifactVersionRow.status == "approved",
        )
        .order_by(ArtifactVersionRow.version.desc())
        .limit(1)
    )
    if approved is not None:
        return get_artifact(session=session, artifact_id=artifact_id, version=approved)
    return latest_artifact(
        session=session, programme_key=programme_key, cycle_key=cycle_key, stage=stage
    )
