"""Repository functions on a real database: artifact versions without duplicates, approvals,
plan tasks, progress and KPI snapshots that a rerun does not duplicate, and the status view."""

from __future__ import annotations

import threading
from datetime import UTC, date
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.chain import Chain

from improve.config import demo_programme_path, load_programme
from improve.domain.artifacts import ImplementationPlan, TargetList
from improve.domain.base import Artifact, Stage
from improve.domain.hashing import content_hash
from improve.domain.programme import Programme
from improve.errors import ApprovalError, NotFoundError, StorageError
from improve.storage import repository as repo
from improve.storage.db import make_engine, migrate, session_factory
from improve.storage.orm import (
    ApprovalRow,
    ArtifactVersionRow,
    AuditRow,
    KpiSnapshotRow,
    PlanTaskRow,
    ProgrammeRow,
    ProgressUpdateRow,
)
from improve.storage.repository import ProgressRow

KEY, CYCLE = "demo", "2026-H1"  # the `care` programme of conftest.py


def _save_all(
    session: Session, programme: Programme, artifacts: dict[Stage, Artifact]
) -> dict[Stage, repo.StoredArtifact]:
    repo.save_programme(session=session, programme=programme)
    out = {}
    for stage, artifact in artifacts.items():
        stored, created = repo.save_artifact(
            session=session, programme_key=KEY, cycle_key=CYCLE, artifact=artifact, actor="王敏"
        )
        assert created
        out[stage] = stored
    return out


def test_every_artifact_type_round_trips(
    engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    with session_factory(engine).begin() as session:
        saved = _save_all(session, care, stage_artifacts)
    # A new session reads everything back from the database, not from the identity map.
    with session_factory(engine)() as session:
        for stage, artifact in stage_artifacts.items():
            loaded = repo.latest_artifact(
                session=session, programme_key=KEY, cycle_key=CYCLE, stage=stage
            )
            assert loaded is not None
            assert type(loaded.artifact) is type(artifact)
            assert loaded.artifact == artifact
            assert content_hash(loaded.artifact) == loaded.ref.content_hash
            assert loaded.ref == saved[stage].ref
            assert loaded.ref.artifact_id == f"{KEY}/{CYCLE}/{stage.value}"
            assert (loaded.ref.version, loaded.status) == (1, "pending")
            assert loaded.created_at.tzinfo is not None
            assert loaded.created_at.utcoffset() == UTC.utcoffset(None)
        row = session.scalars(
            select(ArtifactVersionRow).where(ArtifactVersionRow.stage == "design")
        ).one()
        assert row.derived_from == [
            r.model_dump(mode="json") for r in stage_artifacts[Stage.DESIGN].derived_from
        ]
        # The dump carries the concrete report's fields, not only the Artifact header.
        last = repo.get_artifact(session=session, artifact_id=f"{KEY}/{CYCLE}/optimise")
        dumped = last.model_dump(mode="json")["artifact"]
        assert dumped == stage_artifacts[Stage.OPTIMISE].model_dump(mode="json")


def test_real_stage_artifacts_round_trip(session: Session, chain: Chain) -> None:
    demo = load_programme(demo_programme_path())
    repo.save_programme(session=session, programme=demo)
    artifacts = (
        chain.diagnosis,
        chain.targets,
        chain.plan,
        chain.execution,
        chain.evaluation,
        chain.optimisation,
    )
    for artifact in artifacts:
        stored, _ = repo.save_artifact(
            session=session, programme_key=demo.key, cycle_key=demo.cycle.key, artifact=artifact
        )
        session.expunge_all()
        loaded = repo.get_artifact(session=session, artifact_id=stored.ref.artifact_id)
        assert loaded.artifact == artifact
        assert content_hash(loaded.artifact) == stored.ref.content_hash


def test_saving_the_same_artifact_again_adds_no_version(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    _save_all(session, care, stage_artifacts)
    audits = repo.count_rows(session=session, table=AuditRow)
    again, created = repo.save_artifact(
        session=session,
        programme_key=KEY,
        cycle_key=CYCLE,
        artifact=stage_artifacts[Stage.DIAGNOSE],
    )
    assert not created and again.ref.version == 1
    assert repo.count_rows(session=session, table=ArtifactVersionRow) == 6
    assert repo.count_rows(session=session, table=AuditRow) == audits


def test_a_changed_artifact_is_version_two_and_audited(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    repo.save_programme(session=session, programme=care)
    targets = stage_artifacts[Stage.TARGET]
    assert isinstance(targets, TargetList)
    first, _ = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE, artifact=targets, actor="王敏"
    )
    edited = targets.model_copy(
        update={"targets": (targets.targets[0].model_copy(update={"target": 0.72}),)}
    )
    second, created = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE, artifact=edited, actor="李娜"
    )
    assert created and second.ref.version == 2
    assert second.ref.content_hash == content_hash(edited) != first.ref.content_hash
    assert repo.get_artifact(session=session, artifact_id=first.ref.artifact_id) == second
    old = repo.get_artifact(session=session, artifact_id=first.ref.artifact_id, version=1)
    assert old.artifact == targets
    # Saving version 1's content again returns version 1, it does not make version 3.
    back, created = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE, artifact=targets
    )
    assert not created and back.ref.version == 1
    saved = session.scalars(
        select(AuditRow).where(AuditRow.action == "artifact.saved").order_by(AuditRow.id)
    ).all()
    assert [(a.actor, a.object, a.hash_before, a.hash_after) for a in saved] == [
        ("王敏", f"{first.ref.artifact_id}@v1", None, first.ref.content_hash),
        ("李娜", f"{first.ref.artifact_id}@v2", first.ref.content_hash, second.ref.content_hash),
    ]


def test_an_unknown_programme_is_refused(
    session: Session, stage_artifacts: dict[Stage, Artifact]
) -> None:
    with pytest.raises(NotFoundError, match=r"'nope' is not in the store.*save the programme"):
        repo.save_artifact(
            session=session,
            programme_key="nope",
            cycle_key=CYCLE,
            artifact=stage_artifacts[Stage.DIAGNOSE],
        )


def test_an_unknown_artifact_names_the_id_and_improve_status(session: Session) -> None:
    with pytest.raises(NotFoundError, match=r"demo/2026-H1/nothing does not exist.*improve status"):
        repo.get_artifact(session=session, artifact_id="demo/2026-H1/nothing")
    with pytest.raises(NotFoundError, match="version 7 does not exist"):
        repo.get_artifact(session=session, artifact_id="demo/2026-H1/diagnose", version=7)
    assert (
        repo.latest_artifact(
            session=session, programme_key=KEY, cycle_key=CYCLE, stage=Stage.TARGET
        )
        is None
    )


def test_three_level_review_in_order_by_the_listed_people(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    """Author (王敏), the cross-department head (李娜), then the final sign-off (张伟)."""
    saved = _save_all(session, care, stage_artifacts)
    artifact_id = saved[Stage.DIAGNOSE].ref.artifact_id
    decide = partial(
        repo.approve, session=session, artifact_id=artifact_id, version=1,
        approvers=care.approvers,
    )  # fmt: skip
    with pytest.raises(ApprovalError, match=r"'路人' may not decide the author review"):
        decide(approver="路人")
    with pytest.raises(ApprovalError, match=r"not ready for the cross-department review"):
        decide(approver="李娜", level="cross")
    with pytest.raises(ApprovalError, match=r"李娜 decides at the cross-department review"):
        decide(approver="李娜")
    assert repo.count_rows(session=session, table=ApprovalRow) == 0

    assert decide(approver="王敏").status == "pending"
    with pytest.raises(ApprovalError, match=r"not ready for the final sign-off"):
        decide(approver="张伟", level="final")
    assert decide(approver="李娜").status == "pending"
    assert decide(approver="张伟", level="final").status == "approved"
    audits = repo.count_rows(session=session, table=AuditRow)
    assert decide(approver="张伟").status == "approved"  # the same decision again: nothing
    assert repo.count_rows(session=session, table=AuditRow) == audits
    decisions = repo.approvals(session=session, artifact_id=artifact_id, version=1)
    assert [(d.level, d.approver, d.decision) for d in decisions] == [
        ("author", "王敏", "approved"),
        ("cross", "李娜", "approved"),
        ("final", "张伟", "approved"),
    ]
    with pytest.raises(ApprovalError, match="approved already; a change makes a new version"):
        decide(approver="张伟", reject=True, comment="太晚了")
    # Other stages stay pending.
    target_id = saved[Stage.TARGET].ref.artifact_id
    assert repo.get_artifact(session=session, artifact_id=target_id).status == "pending"


def test_a_rejection_sends_the_version_back(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    saved = _save_all(session, care, stage_artifacts)
    artifact_id = saved[Stage.TARGET].ref.artifact_id
    decide = partial(
        repo.approve, session=session, artifact_id=artifact_id, version=1,
        approvers=care.approvers,
    )  # fmt: skip
    decide(approver="王敏")
    with pytest.raises(ApprovalError, match="needs a comment"):
        decide(approver="李娜", reject=True)
    rejected = decide(approver="李娜", reject=True, comment="补充证据")
    assert rejected.status == "rejected"
    with pytest.raises(ApprovalError, match="rejected already; run its stage again"):
        decide(approver="张伟")
    actions = session.scalars(
        select(AuditRow.action).where(AuditRow.object == f"{artifact_id}@v1").order_by(AuditRow.id)
    ).all()
    assert actions == ["artifact.saved", "artifact.approved", "artifact.rejected"]
    # An edit is a new version, which needs the whole review again.
    targets = stage_artifacts[Stage.TARGET]
    assert isinstance(targets, TargetList)
    edited, created = repo.save_artifact(
        session=session, programme_key=KEY, cycle_key=CYCLE,
        artifact=targets.model_copy(update={"targets": targets.targets[::-1]}),
    )  # fmt: skip
    assert created and edited.ref.version == 2 and edited.status == "pending"
    assert repo.approvals(session=session, artifact_id=artifact_id, version=2) == []


def test_auto_approval_signs_every_level_off_at_once(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    saved = _save_all(session, care, stage_artifacts)
    artifact_id = saved[Stage.DESIGN].ref.artifact_id
    stored = repo.approve(session=session, artifact_id=artifact_id, version=1, approver="王敏",
                          approvers=care.approvers, auto=True)  # fmt: skip
    assert stored.status == "approved"
    [decision] = repo.approvals(session=session, artifact_id=artifact_id, version=1)
    assert (decision.level, decision.comment) == ("final", "auto-approved")
    detail = session.scalar(
        select(AuditRow.detail)
        .where(AuditRow.object == f"{artifact_id}@v1")
        .order_by(AuditRow.id.desc())
    )
    assert detail is not None and detail["auto"] is True


def test_approving_a_missing_version_is_not_found(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    saved = _save_all(session, care, stage_artifacts)
    with pytest.raises(NotFoundError, match="version 2 does not exist"):
        repo.approve(
            session=session,
            artifact_id=saved[Stage.DIAGNOSE].ref.artifact_id,
            version=2,
            approver="王敏",
            approvers=care.approvers,
        )


def test_plan_tasks_are_stored_once(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    saved = _save_all(session, care, stage_artifacts)
    plan = stage_artifacts[Stage.DESIGN]
    assert isinstance(plan, ImplementationPlan)
    ref = saved[Stage.DESIGN].ref
    assert repo.save_plan_tasks(session=session, ref=ref, plan=plan) == len(plan.tasks)
    assert repo.save_plan_tasks(session=session, ref=ref, plan=plan) == 0
    version_id = session.scalars(
        select(ArtifactVersionRow.id).where(ArtifactVersionRow.artifact_id == ref.artifact_id)
    ).one()
    assert repo.save_plan_tasks(session=session, artifact_version_id=version_id, plan=plan) == 0
    rows = session.scalars(select(PlanTaskRow).order_by(PlanTaskRow.start)).all()
    assert sorted((r.task_id, r.name_zh, r.critical, r.end) for r in rows) == sorted(
        (t.id, t.name.zh, t.critical, t.end) for t in plan.tasks
    )


def test_plan_tasks_must_belong_to_the_named_version(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    saved = _save_all(session, care, stage_artifacts)
    plan = stage_artifacts[Stage.DESIGN]
    assert isinstance(plan, ImplementationPlan)
    other = plan.model_copy(update={"days_off": ()})
    with pytest.raises(StorageError, match="is not the content of demo/2026-H1/design v1"):
        repo.save_plan_tasks(session=session, ref=saved[Stage.DESIGN].ref, plan=other)
    with pytest.raises(NotFoundError, match="artifact version id 999"):
        repo.save_plan_tasks(session=session, artifact_version_id=999, plan=plan)


def _progress() -> list[ProgressRow]:
    return [
        ProgressRow(
            task_id="coaching/train",
            as_of=date(2026, 1, 23),
            percent_complete=40,
            status="late",
            note="讲师延期",
        ),
        ProgressRow(
            task_id="coaching/train", as_of=date(2026, 1, 30), percent_complete=70, status="late"
        ),
    ]


def test_progress_reimport_adds_nothing_and_changes_update(
    session: Session, care: Programme
) -> None:
    repo.save_programme(session=session, programme=care)
    save = partial(repo.save_progress_updates, session=session, programme_key=KEY, cycle_key=CYCLE)
    assert save(rows=_progress()) == 2
    assert save(rows=_progress()) == 0
    fixed = _progress()[1].model_copy(update={"percent_complete": 75.0, "status": "on_track"})
    assert save(rows=[fixed]) == 1
    assert save(rows=[fixed, fixed]) == 0
    assert repo.count_rows(session=session, table=ProgressUpdateRow) == 2
    loaded = repo.load_progress(session=session, programme_key=KEY, cycle_key=CYCLE)
    assert loaded == [_progress()[0], fixed]
    assert repo.load_progress(session=session, programme_key=KEY, cycle_key="other") == []
    imports = session.scalars(
        select(AuditRow.detail).where(AuditRow.action == "progress.imported").order_by(AuditRow.id)
    ).all()
    assert imports == [{"inserted": 2, "updated": 0}, {"inserted": 0, "updated": 1}]


def test_progress_needs_a_stored_programme(session: Session) -> None:
    with pytest.raises(NotFoundError, match="progress reports cannot be saved"):
        repo.save_progress_updates(
            session=session, programme_key="ghost", cycle_key=CYCLE, rows=_progress()
        )


def test_progress_rows_are_validated() -> None:
    with pytest.raises(ValueError, match="less than or equal to 100"):
        ProgressRow(task_id="t", as_of=date(2026, 1, 1), percent_complete=120)


def test_kpi_snapshots_upsert(session: Session, care: Programme) -> None:
    repo.save_programme(session=session, programme=care)
    jan, feb = date(2025, 1, 1), date(2025, 2, 1)
    rows = [(jan, "fcr_rate", 0.54), (jan, "nps", None), (feb, "fcr_rate", float("nan"))]
    save = partial(
        repo.save_kpi_snapshots, session=session, programme_key=KEY, cycle_key=CYCLE, scope="all"
    )
    assert save(grain="month", rows=rows) == 3
    assert save(grain="month", rows=rows) == 0
    assert save(grain="month", rows=[(jan, "fcr_rate", 0.55)]) == 1
    # Another scope or grain is a separate series.
    assert save(scope="region=华东", grain="month", rows=rows) == 3
    assert save(grain="week", rows=rows[:1]) == 1
    assert repo.count_rows(session=session, table=KpiSnapshotRow) == 7
    stored = session.execute(
        select(KpiSnapshotRow.period, KpiSnapshotRow.kpi, KpiSnapshotRow.value)
        .where(KpiSnapshotRow.scope == "all", KpiSnapshotRow.grain == "month")
        .order_by(KpiSnapshotRow.period, KpiSnapshotRow.kpi)
    ).all()
    assert [tuple(r) for r in stored] == [
        (jan, "fcr_rate", 0.55),
        (jan, "nps", None),
        (feb, "fcr_rate", None),
    ]
    with pytest.raises(ValueError, match="grain 'day' unknown"):
        save(grain="day", rows=rows)  # type: ignore[arg-type]


def test_programme_upsert_and_round_trip(session: Session, care: Programme) -> None:
    repo.save_programme(session=session, programme=care)
    repo.save_programme(session=session, programme=care)
    assert repo.get_programme(session=session, key=KEY) == care
    renamed = care.model_copy(update={"owner": "赵磊"})
    repo.save_programme(session=session, programme=renamed)
    assert repo.get_programme(session=session, key=KEY) == renamed
    row = session.get(ProgrammeRow, KEY)
    assert row is not None
    assert row.name == {"zh": "客服提升", "en": "Customer care improvement"}
    assert row.definition_hash == content_hash(renamed)
    assert row.updated_at >= row.created_at
    actions = session.scalars(
        select(AuditRow.action).where(AuditRow.object == KEY).order_by(AuditRow.id)
    ).all()
    assert actions == ["programme.created", "programme.updated"]
    with pytest.raises(NotFoundError, match="programme 'ghost' is not in the store"):
        repo.get_programme(session=session, key="ghost")


def test_ensure_cycle_is_idempotent(session: Session, care: Programme) -> None:
    repo.save_programme(session=session, programme=care)
    first = repo.ensure_cycle(session=session, programme_key=KEY, cycle_key=CYCLE)
    assert repo.ensure_cycle(session=session, programme_key=KEY, cycle_key=CYCLE) == first
    assert repo.ensure_cycle(session=session, programme_key=KEY, cycle_key="2026-H2") != first


def test_cycle_status_lists_each_stage(
    session: Session, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    assert repo.cycle_status(session=session) == []
    repo.save_programme(session=session, programme=care)
    for stage in (Stage.DIAGNOSE, Stage.TARGET):
        repo.save_artifact(
            session=session, programme_key=KEY, cycle_key=CYCLE, artifact=stage_artifacts[stage]
        )
    targets = stage_artifacts[Stage.TARGET]
    repo.save_artifact(
        session=session,
        programme_key=KEY,
        cycle_key=CYCLE,
        artifact=targets.model_copy(update={"targets": targets.targets[::-1]}),  # an edit
    )
    repo.approve(
        session=session,
        artifact_id=f"{KEY}/{CYCLE}/diagnose",
        version=1,
        approver="王敏",
        approvers=care.approvers,
        auto=True,
    )
    repo.ensure_cycle(session=session, programme_key=KEY, cycle_key="2026-H2")
    first, second = repo.cycle_status(session=session)
    assert (first.programme_key, first.cycle_key, second.cycle_key) == (KEY, CYCLE, "2026-H2")
    assert [(s.stage, s.artifact_id, s.version, s.status) for s in first.stages] == [
        (Stage.DIAGNOSE, f"{KEY}/{CYCLE}/diagnose", 1, "approved"),
        (Stage.TARGET, f"{KEY}/{CYCLE}/target", 2, "pending"),
        *((s, None, None, None) for s in list(Stage)[2:]),
    ]
    assert all(s.version is None for s in second.stages)
    assert repo.cycle_status(session=session, programme_key="other") == []
    assert first.model_dump(mode="json")["stages"][0]["stage"] == "diagnose"


def test_record_audit_keeps_detail_and_null(session: Session) -> None:
    repo.record_audit(session=session, actor="a", action="x.done", object="o", detail={"n": 1})
    repo.record_audit(session=session, actor="a", action="x.done", object="p")
    rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
    assert [(r.object, r.detail, r.hash_before) for r in rows] == [
        ("o", {"n": 1}, None),
        ("p", None, None),
    ]
    assert all(r.at.tzinfo is not None for r in rows)


def test_concurrent_versions_on_sqlite_are_numbered_in_turn(
    tmp_path: Path, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    """Six runs store six edits of one artifact at once: each transaction reads the latest
    version and writes the next, so they must take turns (BEGIN IMMEDIATE), not collide."""
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        repo.save_programme(session=session, programme=care)
    targets = stage_artifacts[Stage.TARGET]
    assert isinstance(targets, TargetList)
    edits = [
        targets.model_copy(
            update={"targets": (targets.targets[0].model_copy(update={"target": 0.7 + n / 100}),)}
        )
        for n in range(6)
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(len(edits))

    def save(artifact: Artifact) -> None:
        start.wait()
        try:
            with sessions.begin() as session:
                repo.save_artifact(
                    session=session, programme_key=KEY, cycle_key=CYCLE, artifact=artifact
                )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(a,)) for a in edits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with sessions() as session:
            versions = session.scalars(
                select(ArtifactVersionRow.version).order_by(ArtifactVersionRow.version)
            ).all()
        assert versions == [1, 2, 3, 4, 5, 6]
    finally:
        engine.dispose()


def test_a_nul_character_is_refused_alike_on_every_backend(engine: Engine, care: Programme) -> None:
    """PostgreSQL's text cannot hold U+0000 (a driver error mid-transaction) and SQLite took
    it silently; both now refuse it before writing, naming the table and column."""
    sessions = session_factory(engine)
    with sessions.begin() as session:
        repo.save_programme(session=session, programme=care)
    bad = _progress()[1].model_copy(update={"note": "讲师\x00延期"})
    with (
        pytest.raises(StorageError, match=r'progress_update\.note = "讲师\\x00延期" holds a NUL'),
        sessions.begin() as session,
    ):
        repo.save_progress_updates(
            session=session, programme_key=KEY, cycle_key=CYCLE, rows=[_progress()[0], bad]
        )
    with sessions() as session:
        assert repo.count_rows(session=session, table=ProgressUpdateRow) == 0
