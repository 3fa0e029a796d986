"""Service standards in a real store (SQLite, and PostgreSQL when IMPROVE_TEST_POSTGRES_URL is
set): a draft saved twice is stored once, review decisions are numbered and audited, a
decision made on a stale read is refused, V1.0 stays readable as superseded once V1.1 is
published, and labels, programmes and versions that do not exist are clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.samples import make_optimisation, make_plan

from improve.config import load_standard_template
from improve.domain.artifacts import TargetResult
from improve.domain.programme import Programme
from improve.domain.standards import Limit, StandardVersion
from improve.errors import ApprovalError, NotFoundError, StorageError
from improve.stages.standards import (
    confirm_standard,
    draft_standard,
    review_standard,
    revise_standard,
)
from improve.storage import repository as repo
from improve.storage import standards as store
from improve.storage.db import session_factory
from improve.storage.orm import AuditRow, StandardReviewRow, StandardVersionRow

AT = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)
LEVELS = [("author", "王敏"), ("cross", "李娜"), ("final", "张伟")]  # the `care` programme's


def _draft(care: Programme) -> StandardVersion:
    result = TargetResult(
        target_id="T1", kpi="frt_median_min", baseline=142.0, target=115.6, actual=110.3,
        achievement=1.2, achievement_display=1.2, met=True,
    )  # fmt: skip
    return draft_standard(
        load_standard_template("general"), make_optimisation(), [result], make_plan(),
        programme=care, key="service-standard", author="王敏", at=AT,
    )  # fmt: skip


def _faster(version: StandardVersion) -> StandardVersion:
    standards = version.document.standards
    assert standards is not None
    times = tuple(
        t.model_copy(update={"respond": Limit(value=10, unit="min")}) if t.key == "urgent-fault"
        else t
        for t in standards.response_times
    )  # fmt: skip
    document = version.document.model_copy(
        update={"standards": standards.model_copy(update={"response_times": times})}
    )
    return revise_standard(version, document, who="李娜", when=AT + timedelta(days=1))


def _review(
    session: Session, care: Programme, label: str, steps: list[tuple[str, str]]
) -> list[store.StoredStandard]:
    saved: list[store.StoredStandard] = []
    for i, (level, who) in enumerate(steps):
        stored = store.standard_versions(session=session, programme_key="demo")
        by_label = {s.version.version: s for s in stored}
        changed = review_standard(
            [s.version for s in stored], label, level=level, reviewer=who,  # type: ignore[arg-type]
            approvers=care.approvers, at=AT + timedelta(hours=i + 1),
        )  # fmt: skip
        saved = [
            store.update_standard(session=session, stored=by_label[v.version], updated=v, actor=who)
            for v in changed
        ]
    return saved


def test_a_draft_saved_twice_is_stored_once(engine: Engine, care: Programme) -> None:
    version = _draft(care)
    with session_factory(engine).begin() as session:
        repo.save_programme(session=session, programme=care)
        first, created = store.save_standard_version(session=session, version=version, actor="王敏")
        assert created and first.revision == 1
    with session_factory(engine).begin() as session:
        again, created = store.save_standard_version(session=session, version=version, actor="王敏")
        assert not created and again == first
        # a rerun of the same draft made later (another timestamp) is the same draft
        later = version.model_copy(update={"created_at": AT + timedelta(days=3)})
        same, created = store.save_standard_version(session=session, version=later, actor="王敏")
        assert not created and same.version.version == "V1.0"
    with session_factory(engine)() as session:
        assert repo.count_rows(session=session, table=StandardVersionRow) == 1
        [back] = store.standard_versions(session=session, programme_key="demo")
        assert back.version == version  # every field, timestamps UTC-aware
        assert back.version.created_at.tzinfo is not None
        actions = session.scalars(select(AuditRow.action)).all()
        assert actions.count("standard.drafted") == 1


def test_v1_0_is_superseded_and_readable_once_v1_1_is_published(
    engine: Engine, care: Programme
) -> None:
    v1 = _draft(care)
    with session_factory(engine).begin() as session:
        repo.save_programme(session=session, programme=care)
        store.save_standard_version(session=session, version=v1, actor="王敏")
        [published] = _review(session, care, "V1.0", LEVELS)
        assert published.version.status == "published" and published.revision == 4
        v2, created = store.save_standard_version(
            session=session, version=_faster(published.version), actor="李娜"
        )
        assert created and v2.version.version == "V1.1"
        saved = _review(session, care, "V1.1", LEVELS)
        assert [(s.version.version, s.version.status) for s in saved] == [
            ("V1.1", "published"), ("V1.0", "superseded"),
        ]  # fmt: skip
    with session_factory(engine)() as session:
        old = store.get_standard(
            session=session, programme_key="demo", key="service-standard", version="V1.0"
        )
        assert old.version.status == "superseded" and old.version.document == v1.document
        assert old.version.published_at == AT + timedelta(hours=3)
        assert [(r.level, r.reviewer) for r in old.version.reviews] == LEVELS
        latest = store.get_standard(session=session, programme_key="demo", key="service-standard")
        assert latest.version.version == "V1.1" and latest.version.revises == "V1.0"
        [change] = latest.version.changes
        assert change.field == "standards.response_times[urgent-fault].respond"
        assert (change.who, change.when) == ("李娜", AT + timedelta(days=1))
        assert store.standard_keys(session=session, programme_key="demo") == ["service-standard"]
        seqs = session.scalars(select(StandardReviewRow.seq).order_by(StandardReviewRow.id)).all()
        assert seqs == [1, 2, 3, 1, 2, 3]
        actions = session.scalars(select(AuditRow.action)).all()
        assert actions.count("standard.published") == 2 and "standard.superseded" in actions
        assert actions.count("standard.approved") == 6 and "standard.imported" in actions


def test_a_decision_made_on_a_stale_read_is_refused(engine: Engine, care: Programme) -> None:
    with session_factory(engine).begin() as session:
        repo.save_programme(session=session, programme=care)
        stale, _ = store.save_standard_version(session=session, version=_draft(care), actor="王敏")
    # two reviewers read the same version; the first one's decision lands ...
    [author] = review_standard(
        [stale.version], "V1.0", level="author", reviewer="王敏", approvers=care.approvers, at=AT
    )
    with session_factory(engine).begin() as session:
        store.update_standard(session=session, stored=stale, updated=author, actor="王敏")
    # ... the second, decided on what they read before it, does not
    [rejected] = review_standard(
        [stale.version], "V1.0", level="author", reviewer="王敏", reject=True, comment="不行",
        approvers=care.approvers, at=AT,
    )  # fmt: skip
    with (
        pytest.raises(ApprovalError, match="changed by another decision at the same time"),
        session_factory(engine).begin() as session,
    ):
        store.update_standard(session=session, stored=stale, updated=rejected, actor="王敏")
    with session_factory(engine)() as session:
        [now] = store.standard_versions(session=session, programme_key="demo")
        assert now.version.status == "in_review" and len(now.version.reviews) == 1
        assert now.revision == 2


def test_the_quarterly_review_is_stored_with_the_published_version(
    engine: Engine, care: Programme
) -> None:
    with session_factory(engine).begin() as session:
        repo.save_programme(session=session, programme=care)
        store.save_standard_version(session=session, version=_draft(care), actor="王敏")
        [published] = _review(session, care, "V1.0", LEVELS)
        confirmed = confirm_standard(
            published.version, reviewer="张伟", approvers=care.approvers, comment="仍适用",
            at=AT + timedelta(days=95),
        )  # fmt: skip
        store.update_standard(session=session, stored=published, updated=confirmed, actor="张伟")
    with session_factory(engine)() as session:
        [back] = store.standard_versions(session=session, programme_key="demo")
        assert [(p.reviewer, p.comment) for p in back.version.periodic] == [("张伟", "仍适用")]
        assert back.version.last_reviewed == AT + timedelta(days=95)
        assert len(back.version.reviews) == 3  # the three levels, apart from the quarterly one


def test_what_does_not_exist_or_does_not_follow_is_a_clear_error(
    engine: Engine, care: Programme
) -> None:
    version = _draft(care)
    with session_factory(engine).begin() as session:
        with pytest.raises(NotFoundError, match="programme 'demo' is not in the store"):
            store.save_standard_version(session=session, version=version, actor="王敏")
        repo.save_programme(session=session, programme=care)
        with pytest.raises(NotFoundError, match="has no standard 'service-standard'"):
            store.get_standard(session=session, programme_key="demo", key="service-standard")
        stored, _ = store.save_standard_version(session=session, version=version, actor="王敏")
        with pytest.raises(NotFoundError, match=r"no version V1\.4; its versions: V1\.0"):
            store.get_standard(
                session=session, programme_key="demo", key="service-standard", version="V1.4"
            )
        # a revision labelled like the stored version is refused, not stored beside it
        clash = _faster(version).model_copy(update={"version": "V1.0"})
        with pytest.raises(StorageError, match=r"V1\.0 is not after V1\.0"):
            store.save_standard_version(session=session, version=clash, actor="李娜")
        # only decisions and the status may change once a version is stored
        edited = _faster(version).model_copy(update={"version": "V1.0", "revises": None})
        with pytest.raises(StorageError, match="only new decisions and the status may change"):
            store.update_standard(session=session, stored=stored, updated=edited, actor="李娜")
