"""The audit trail is a hash chain: verify passes on what improve wrote, and names the entry
when one byte of a stored artifact, an entry's field, or the chain's order was changed;
concurrent writers from several processes keep one unbroken chain."""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from improve.domain.base import Artifact, Stage
from improve.domain.programme import Programme
from improve.storage import repository as repo
from improve.storage.audit import GENESIS, verify
from improve.storage.db import alembic_config, make_engine, migrate, session_factory
from improve.storage.orm import ArtifactVersionRow, AuditRow

KEY, CYCLE = "demo", "2026-H1"


def _store(engine: Engine, programme: Programme, artifacts: dict[Stage, Artifact]) -> None:
    with session_factory(engine)() as s, s.begin():
        repo.save_programme(session=s, programme=programme)
        for artifact in artifacts.values():
            repo.save_artifact(
                session=s, programme_key=KEY, cycle_key=CYCLE, artifact=artifact, actor="王敏"
            )
        repo.approve(session=s, artifact_id=f"{KEY}/{CYCLE}/diagnose", version=1,
                     approver="王敏", approvers=programme.approvers, auto=True)  # fmt: skip


def _check(engine: Engine):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return verify(session=s)


def test_what_improve_wrote_verifies(
    engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    _store(engine, care, stage_artifacts)
    check = _check(engine)
    assert check.ok, check.problems
    assert check.entries == 1 + len(stage_artifacts) + 1 and check.contents == 7
    with session_factory(engine)() as s:
        rows = list(s.scalars(select(AuditRow).order_by(AuditRow.id)))
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(rows))


def test_one_flipped_byte_in_a_stored_artifact_names_its_entry(
    engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    _store(engine, care, stage_artifacts)
    target_id = f"{KEY}/{CYCLE}/target"
    with session_factory(engine)() as s, s.begin():
        row = s.scalar(
            select(ArtifactVersionRow).where(ArtifactVersionRow.artifact_id == target_id)
        )
        assert row is not None
        payload = dict(row.payload)
        payload["programme"] = KEY[:-1] + chr(ord(KEY[-1]) ^ 1)  # one bit of one byte
        s.execute(update(ArtifactVersionRow).where(ArtifactVersionRow.id == row.id)
                  .values(payload=payload))  # fmt: skip
        saved = s.scalar(select(AuditRow.id).where(AuditRow.object == f"{target_id}@v1"))
    check = _check(engine)
    assert not check.ok
    [problem] = check.problems
    assert problem.object == f"{target_id}@v1" and problem.entry == saved
    assert f"entry #{saved}" in problem.problem and "changed" in problem.problem


def test_a_rewritten_hash_is_caught_by_the_entry_and_an_edited_entry_by_its_own_hash(
    engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    _store(engine, care, stage_artifacts)
    with session_factory(engine)() as s, s.begin():
        # Content and its hash rewritten together: no entry ever recorded that hash.
        s.execute(update(ArtifactVersionRow)
                  .where(ArtifactVersionRow.artifact_id == f"{KEY}/{CYCLE}/design")
                  .values(content_hash="f" * 64, payload={"forged": True}))  # fmt: skip
        # An entry's actor changed afterwards.
        first = s.scalar(select(AuditRow).order_by(AuditRow.id).limit(1))
        assert first is not None
        s.execute(update(AuditRow).where(AuditRow.id == first.id).values(actor="mallory"))
    problems = _check(engine).problems
    assert any(p.object.endswith("/design@v1") for p in problems)
    assert any(p.entry == first.id and "was changed after it was written" in p.problem
               for p in problems)  # fmt: skip


def test_a_removed_entry_breaks_the_next_link(
    engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    _store(engine, care, stage_artifacts)
    with session_factory(engine)() as s, s.begin():
        ids = list(s.scalars(select(AuditRow.id).order_by(AuditRow.id)))
        s.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
    problems = _check(engine).problems
    assert any(p.entry == ids[3] and "link" in p.problem for p in problems)


def test_the_migration_chains_entries_written_before_it(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
        with engine.begin() as connection:
            for i in range(3):
                connection.execute(
                    text("INSERT INTO audit_log (at, actor, action, object, detail) VALUES "
                         "(:at, 'old', 'legacy', :obj, NULL)"),
                    {"at": f"2026-01-0{i + 1} 08:00:00", "obj": f"thing-{i}"},
                )  # fmt: skip
        migrate(engine)
        check = _check(engine)
        assert check.ok and check.entries == 3
    finally:
        engine.dispose()


def _append_many(url: str, worker: int, n: int) -> None:
    engine = make_engine(url)
    try:
        for i in range(n):
            with session_factory(engine)() as s, s.begin():
                repo.record_audit(session=s, actor=f"worker-{worker}", action="test.append",
                                  object=f"w{worker}/{i}")  # fmt: skip
    finally:
        engine.dispose()


def test_concurrent_writers_keep_one_chain(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(database_url, w, 15)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=240)
        assert p.exitcode == 0
    check = _check(engine)
    engine.dispose()
    assert check.ok, check.problems
    assert check.entries == 4 * 15


def test_record_and_verify_in_one_session(session: Session) -> None:
    """Entries written in the same transaction chain to each other before any commit."""
    for i in range(3):
        repo.record_audit(session=session, actor="a", action="x", object=f"o{i}")
    assert verify(session=session).ok


def test_improve_audit_verify(
    database_url: str, engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    """The command: exit 0 on an intact trail; after a flipped byte, exit 1 naming the entry."""
    import json

    from typer.testing import CliRunner

    from improve.cli.app import app

    _store(engine, care, stage_artifacts)
    runner, env = CliRunner(), {"IMPROVE_DATABASE_URL": database_url}
    ok = runner.invoke(app, ["audit", "verify", "--json"], env=env)
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    with session_factory(engine)() as s, s.begin():
        s.execute(
            text("UPDATE programme SET definition_hash = :h WHERE key = :k"),
            {"h": "0" * 63 + "1", "k": KEY},
        )
    bad = runner.invoke(app, ["audit", "verify", "--json"], env=env)
    assert bad.exit_code == 1
    [problem] = json.loads(bad.stdout)["problems"]
    assert problem["object"] == KEY and problem["entry"] == 1
    human = runner.invoke(app, ["audit", "verify"], env=env)
    assert human.exit_code == 1 and "entry #1" in human.output


HEADS = ("李娜", "周杰", "吴芳", "孙丽", "郑浩", "黄磊")


def _approve_as(url: str, head: str, conflicts: list[int] | None = None) -> None:
    """One cross-department head's approval, repeated on a conflict (as the error says)."""
    from improve.domain.programme import Approvers
    from improve.errors import ConflictError

    approvers = Approvers(author=("王敏",), cross=HEADS, final=("张伟",))
    engine = make_engine(url)
    try:
        for _ in range(50):
            try:
                with session_factory(engine)() as s, s.begin():
                    repo.approve(session=s, artifact_id=f"{KEY}/{CYCLE}/design", version=1,
                                 approver=head, approvers=approvers)  # fmt: skip
                return
            except ConflictError:
                continue
        raise AssertionError(f"{head} kept conflicting")
    finally:
        engine.dispose()


def test_concurrent_approvals_from_several_processes_lose_nothing(
    database_url: str, engine: Engine, care: Programme, stage_artifacts: dict[Stage, Artifact]
) -> None:
    """Six heads approve the same version at once, each in its own process: every approval
    is recorded once, and the chain holds."""
    from improve.domain.programme import Approvers

    care = care.model_copy(
        update={"approvers": Approvers(author=("王敏",), cross=HEADS, final=("张伟",))}
    )
    with session_factory(engine)() as s, s.begin():
        repo.save_programme(session=s, programme=care)
        for artifact in stage_artifacts.values():
            repo.save_artifact(session=s, programme_key=KEY, cycle_key=CYCLE, artifact=artifact)
        repo.approve(session=s, artifact_id=f"{KEY}/{CYCLE}/design", version=1,
                     approver="王敏", approvers=care.approvers)  # fmt: skip
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_approve_as, args=(database_url, h)) for h in HEADS]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=240)
        assert p.exitcode == 0
    with session_factory(engine)() as s:
        decisions = repo.approvals(session=s, artifact_id=f"{KEY}/{CYCLE}/design", version=1)
        status = repo.get_artifact(session=s, artifact_id=f"{KEY}/{CYCLE}/design").status
    assert sorted(d.approver for d in decisions if d.level == "cross") == sorted(HEADS)
    assert status == "pending"  # the final sign-off is still to come
    assert _check(engine).ok
