"""The store on a real database: migrations, versions without duplicates, approvals,
progress and KPI snapshots."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session
from tests.chain import Chain

from improve.config import demo_programme_path, load_programme
from improve.domain.base import Stage
from improve.errors import ApprovalError, NotFoundError
from improve.storage import repository as repo
from improve.storage.orm import ArtifactVersionRow, AuditRow, Base, ProgressUpdateRow
from improve.storage.repository import ProgressRow

PROGRAMME = load_programme(demo_programme_path())
KEY, CYCLE = PROGRAMME.key, PROGRAMME.cycle.key


def test_migrations_create_exactly_the_orm_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= {
        "programme",
        "cycle",
        "artifact_version",
        "approval",
        "kpi_snapshot",
        "plan_task",
        "progress_update",
        "audit_log",
        "alembic_version",
    }


def _save_all(session: Session, chain: Chain) -> dict[Stage, repo.StoredArtifact]:
    repo.save_programme(session=session, programme=PROGRAMME)
    out = {}
    for artifact in (
        chain.diagnosis,
        chain.targets,
        chain.plan,
        chain.execution,
        chain.evaluation,
        chain.optimisation,
    ):
        stored, created = repo.save_artifact(
            session=session, programme_key=KEY, cycle_key=CYCLE, artifact=artifact, actor="王敏"
        )
        assert created
        out[stored.ref.stage] = stored
    return out


def test_every_artifact_round_trips(session: Session, chain: Chain) -> None:
    saved = _save_all(session, chain)
    for stage, stored in saved.items():
        loaded = repo.latest_artifact(
            session=session, programme_key=KEY, cycle_key=CYCLE, stage=stage
        )
        assert loaded is not None
        assert loaded.artifact == stored.artifact
        assert loaded.ref.artifact_id == f"demo/2026-H1/{stage.value}"
        assert (loaded.ref.version, loaded.status) == (1, "pending")


def test_saving_the_same_artifact_again_adds_no_version(session: Session, chain: Chain) -> None:
    _save_all(session, chain)
    again, created = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE, artifact=chain.diagnosis, actor="王敏"
    )
    assert not created and again.ref.version == 1
    assert repo.count_rows(session=session, table=ArtifactVersionRow) == 6


def test_an_unknown_programme_is_refused(session: Session, chain: Chain) -> None:
    with pytest.raises(NotFoundError, match="not in the store"):
        repo.save_artifact(
            session=session,
            programme_key="nope",
            cycle_key=CYCLE,
            artifact=chain.diagnosis,
            actor="王敏",
        )


def test_a_changed_artifact_is_version_two_and_audited(session: Session, chain: Chain) -> None:
    repo.save_programme(session=session, programme=PROGRAMME)
    first, _ = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE, artifact=chain.targets, actor="王敏"
    )
    edited = chain.targets.model_copy(update={"targets": chain.targets.targets[:1]})
    second, created = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE, artifact=edited, actor="李娜"
    )
    assert created and second.ref.version == 2
    assert second.ref.content_hash != first.ref.content_hash
    assert (
        repo.get_artifact(session=session, artifact_id=first.ref.artifact_id, version=1).artifact
        == chain.targets
    )
    audit = session.query(AuditRow).filter_by(action="artifact.saved").all()
    assert [(a.hash_before, a.hash_after) for a in audit][-1] == (
        first.ref.content_hash,
        second.ref.content_hash,
    )


def test_approve_reject_and_refuse(session: Session, chain: Chain) -> None:
    saved = _save_all(session, chain)
    artifact_id = saved[Stage.DIAGNOSE].ref.artifact_id
    approvers = PROGRAMME.approvers.everyone
    with pytest.raises(ApprovalError, match="not an approver"):
        repo.approve(
            session=session,
            artifact_id=artifact_id,
            version=1,
            approver="路人",
            approvers=approvers,
        )
    done = repo.approve(
        session=session, artifact_id=artifact_id, version=1, approver="王敏", approvers=approvers
    )
    assert done.status == "approved"
    twice = repo.approve(
        session=session, artifact_id=artifact_id, version=1, approver="王敏", approvers=approvers
    )
    assert twice.status == "approved"
    rejected = repo.approve(
        session=session,
        artifact_id=artifact_id,
        version=1,
        approver="李娜",
        approvers=approvers,
        reject=True,
        comment="补充证据",
    )
    assert rejected.status == "rejected"
    with pytest.raises(NotFoundError, match="improve status"):
        repo.get_artifact(session=session, artifact_id="demo/2026-H1/nothing")


def test_progress_reimport_adds_nothing_and_changes_update(session: Session) -> None:
    repo.save_programme(session=session, programme=PROGRAMME)
    rows = [
        ProgressRow(
            task_id="smart-service/vendor",
            as_of=date(2026, 1, 23),
            percent_complete=40,
            status="late",
            note="供应商延期",
        ),
        ProgressRow(
            task_id="smart-service/vendor",
            as_of=date(2026, 1, 30),
            percent_complete=70,
            status="late",
        ),
    ]
    assert (
        repo.save_progress_updates(session=session, programme_key=KEY, cycle_key=CYCLE, rows=rows)
        == 2
    )
    assert (
        repo.save_progress_updates(session=session, programme_key=KEY, cycle_key=CYCLE, rows=rows)
        == 0
    )
    fixed = rows[1].model_copy(update={"percent_complete": 75.0})
    assert (
        repo.save_progress_updates(
            session=session, programme_key=KEY, cycle_key=CYCLE, rows=[fixed]
        )
        == 1
    )
    assert repo.count_rows(session=session, table=ProgressUpdateRow) == 2
    loaded = repo.load_progress(session=session, programme_key=KEY, cycle_key=CYCLE)
    assert [r.percent_complete for r in loaded] == [40, 75]


def test_kpi_snapshots_upsert(session: Session) -> None:
    repo.save_programme(session=session, programme=PROGRAMME)
    rows = [(date(2025, 1, 1), "fcr_rate", 0.54), (date(2025, 1, 1), "nps", None)]
    args = {
        "session": session,
        "programme_key": KEY,
        "cycle_key": CYCLE,
        "grain": "month",
        "scope": "all",
    }
    assert repo.save_kpi_snapshots(**args, rows=rows) == 2
    assert repo.save_kpi_snapshots(**args, rows=rows) == 0
    assert repo.save_kpi_snapshots(**args, rows=[(date(2025, 1, 1), "fcr_rate", 0.55)]) == 1


def test_plan_tasks_are_stored_once(session: Session, chain: Chain) -> None:
    saved = _save_all(session, chain)
    ref = saved[Stage.DESIGN].ref
    assert repo.save_plan_tasks(session=session, ref=ref, plan=chain.plan) == len(chain.plan.tasks)
    assert repo.save_plan_tasks(session=session, ref=ref, plan=chain.plan) == 0


def test_cycle_status_lists_each_stage(session: Session, chain: Chain) -> None:
    _save_all(session, chain)
    [status] = repo.cycle_status(session=session)
    assert status.programme_key == KEY and status.cycle_key == CYCLE
    assert [(s.stage, s.version, s.status) for s in status.stages] == [
        (s.value, 1, "pending") for s in Stage
    ]


def test_programme_definition_round_trips(session: Session) -> None:
    repo.save_programme(session=session, programme=PROGRAMME)
    assert repo.get_programme(session=session, key=KEY) == PROGRAMME
