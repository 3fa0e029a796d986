"""Several writer processes at once on one store (SQLite in WAL mode with a busy timeout and
immediate transactions; PostgreSQL): each stores edits of the same artifact and its own
progress rows, retrying a clash as the error tells it to; no update is lost, none is
stored twice, and the audit chain holds."""

from __future__ import annotations

import multiprocessing
from datetime import date

from sqlalchemy import select
from tests.samples import make_targets
from tests.storage.conftest import CYCLE, KEY, build_programme

from improve.domain.artifacts import TargetList
from improve.domain.base import Stage
from improve.errors import StorageError
from improve.storage import repository as repo
from improve.storage.audit import verify
from improve.storage.db import make_engine, migrate, session_factory
from improve.storage.orm import ArtifactVersionRow, ProgressUpdateRow
from improve.storage.repository import ProgressRow

WORKERS, EDITS = 4, 5


def _write(url: str, worker: int) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    targets = make_targets()
    try:
        for n in range(EDITS):
            value = 100.0 + worker * 10 + n  # a distinct edit per worker and round
            first = targets.targets[0].model_copy(update={"target": value})
            edit = targets.model_copy(update={"targets": (first, *targets.targets[1:])})
            row = ProgressRow(task_id=f"w{worker}/t{n}", as_of=date(2026, 2, 1),
                              percent_complete=10.0 * n)  # fmt: skip
            for _attempt in range(20):
                try:
                    with sessions.begin() as s:
                        repo.save_artifact(session=s, programme_key=KEY, cycle_key=CYCLE,
                                           artifact=edit, actor=f"worker-{worker}")  # fmt: skip
                        repo.save_progress_updates(session=s, programme_key=KEY,
                                                   cycle_key=CYCLE, rows=[row])  # fmt: skip
                    break
                except StorageError as exc:
                    assert "at the same time" in str(exc)
            else:
                raise AssertionError(f"worker {worker} never stored edit {n}")
    finally:
        engine.dispose()


def test_concurrent_writer_processes_lose_no_update(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with session_factory(engine).begin() as s:
        repo.save_programme(session=s, programme=build_programme())
        repo.ensure_cycle(session=s, programme_key=KEY, cycle_key=CYCLE)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write, args=(database_url, w)) for w in range(WORKERS)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=300)
        assert p.exitcode == 0
    try:
        with session_factory(engine)() as s:
            versions = s.scalars(
                select(ArtifactVersionRow.version).order_by(ArtifactVersionRow.version)
            ).all()
            stored = [
                repo.get_artifact(session=s, artifact_id=f"{KEY}/{CYCLE}/target", version=v)
                for v in versions
            ]
            tasks = s.scalars(select(ProgressUpdateRow.task_id)).all()
            check = verify(session=s)
    finally:
        engine.dispose()
    assert versions == list(range(1, WORKERS * EDITS + 1))  # numbered in turn, no gap
    values = sorted(
        a.artifact.targets[0].target for a in stored if isinstance(a.artifact, TargetList)
    )
    assert values == sorted(100.0 + w * 10 + n for w in range(WORKERS) for n in range(EDITS))
    assert sorted(tasks) == sorted(f"w{w}/t{n}" for w in range(WORKERS) for n in range(EDITS))
    assert all(a.ref.stage == Stage.TARGET for a in stored)
    assert check.ok, check.problems
