"""Repository functions of the service standards: every version kept with its document and
change log, review decisions numbered per version under an optimistic check, so a decision
made on a stale read never lands. Keyword-only, pydantic in and out; the caller owns the
transaction (these flush, never commit); every state change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from improve.domain.hashing import content_hash
from improve.domain.standards import (
    FIRST_VERSION,
    PeriodicReview,
    ReviewDecision,
    StandardVersion,
    parse_version,
)
from improve.errors import ApprovalError, NotFoundError, StorageError
from improve.storage.audit import standard_object
from improve.storage.orm import ProgrammeRow, StandardReviewRow, StandardVersionRow, utcnow
from improve.storage.repository import record_audit

# Held in columns and the review table, not in the payload.
_MUTABLE = {"status", "reviews", "periodic", "published_at"}


class StoredStandard(BaseModel):
    """A stored standard version: the version, its document's hash and how many times the
    row was updated (what a later update must still find)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: StandardVersion
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    revision: int = Field(ge=1)

    @property
    def label(self) -> str:
        """`key Vx.y`, as messages name it."""
        return f"{self.version.key} {self.version.version}"


def _object(version: StandardVersion) -> str:
    return standard_object(version.programme, version.key, version.version)


def _load(session: Session, row: StandardVersionRow) -> StoredStandard:
    decisions = session.scalars(
        select(StandardReviewRow)
        .where(StandardReviewRow.standard_version_id == row.id)
        .order_by(StandardReviewRow.seq)
    )
    reviews: list[ReviewDecision] = []
    periodic: list[PeriodicReview] = []
    for d in decisions:
        if d.level == "periodic":
            periodic.append(PeriodicReview(reviewer=d.reviewer, comment=d.comment, at=d.at))
        else:
            reviews.append(
                ReviewDecision.model_validate(
                    {
                        "level": d.level,
                        "reviewer": d.reviewer,
                        "decision": d.decision,
                        "comment": d.comment,
                        "at": d.at,
                    }
                )
            )
    try:
        version = StandardVersion.model_validate(
            {
                **row.payload,
                "status": row.status,
                "published_at": row.published_at,
                "reviews": reviews,
                "periodic": periodic,
            }
        )
    except ValidationError as exc:
        raise StorageError(
            f"stored standard {row.standard_key} {row.version} of {row.programme_key} does not "
            f"validate ({exc.error_count()} error(s)); the store was edited by hand or by a "
            "newer improve: restore it, or use the improve release that wrote it"
        ) from exc
    return StoredStandard(version=version, content_hash=row.content_hash, revision=row.revision)


def _rows(session: Session, programme_key: str, key: str | None) -> list[StandardVersionRow]:
    query = select(StandardVersionRow).where(StandardVersionRow.programme_key == programme_key)
    if key is not None:
        query = query.where(StandardVersionRow.standard_key == key)
    return list(
        session.scalars(
            query.order_by(
                StandardVersionRow.standard_key, StandardVersionRow.major, StandardVersionRow.minor
            )
        )
    )


def _row(session: Session, version: StandardVersion) -> StandardVersionRow | None:
    return session.scalar(
        select(StandardVersionRow).where(
            StandardVersionRow.programme_key == version.programme,
            StandardVersionRow.standard_key == version.key,
            StandardVersionRow.version == version.version,
        )
    )


def save_standard_version(
    *, session: Session, version: StandardVersion, actor: str
) -> tuple[StoredStandard, bool]:
    """Store a new version (audited) and whether it is new: a version whose document is the
    latest one's, or a draft made from a cycle that was drafted before, is not stored again
    and the stored version is returned (reruns duplicate nothing). A label that is not past
    the latest one's is refused; one stored by a concurrent run is a StorageError."""
    if session.get(ProgrammeRow, version.programme) is None:
        raise NotFoundError(
            f"programme {version.programme!r} is not in the store, so its standards cannot be "
            "saved; run the programme first (improve run CONFIG)"
        )
    digest = content_hash(version.document)
    rows = _rows(session, version.programme, version.key)
    latest = rows[-1] if rows else None
    if latest is not None and latest.content_hash == digest:
        return _load(session, latest), False
    if version.origin == "draft":
        same = next((r for r in rows if r.origin == "draft" and r.content_hash == digest), None)
        if same is not None:
            return _load(session, same), False
    major, minor = parse_version(version.version)
    if major < 1:  # the table's check would fail, as if a concurrent run had stored it
        raise StorageError(
            f"{version.key} {version.version}: versions start at {FIRST_VERSION}; relabel it"
        )
    if latest is not None and (major, minor) <= (latest.major, latest.minor):
        raise StorageError(
            f"{version.key} {version.version} is not after {latest.version}, the latest stored "
            "version; revise the latest version instead"
        )
    now = utcnow()
    row = StandardVersionRow(
        programme_key=version.programme,
        standard_key=version.key,
        version=version.version,
        major=major,
        minor=minor,
        status=version.status,
        origin=version.origin,
        template=version.document.template,
        cycle_key=version.cycle,
        content_hash=digest,
        payload=version.model_dump(mode="json", exclude=_MUTABLE),
        revision=1,
        created_by=version.created_by,
        created_at=version.created_at,
        published_at=version.published_at,
        updated_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise StorageError(
            f"{version.key} {version.version} was stored by another run at the same time; run "
            "the command again (it will find that version)"
        ) from exc
    record_audit(
        session=session,
        actor=actor,
        action="standard.drafted" if version.origin == "draft" else "standard.imported",
        object=_object(version),
        hash_before=latest.content_hash if latest else None,
        hash_after=digest,
        detail={"revises": version.revises, "changes": len(version.changes)},
    )
    return _load(session, row), True


def update_standard(
    *, session: Session, stored: StoredStandard, updated: StandardVersion, actor: str
) -> StoredStandard:
    """Store what a review changed on a version: its new decisions (appended, numbered) and
    its status, only if nobody changed the version since `stored` was read (else an
    ApprovalError asks to run the review again). Audited per decision and status change."""
    before, after = stored.version, updated
    if (after.programme, after.key, after.version) != (
        before.programme,
        before.key,
        before.version,
    ):
        raise StorageError(f"{_object(after)} is not the version {_object(before)} read")
    if (
        after.reviews[: len(before.reviews)] != before.reviews
        or after.periodic[: len(before.periodic)] != before.periodic
        or content_hash(after.document) != stored.content_hash
    ):
        raise StorageError(
            f"{stored.label}: only new decisions and the status may change once stored; "
            "make a new revision for anything else"
        )
    row = _row(session, before)
    if row is None:
        raise NotFoundError(
            f"{stored.label} is not in the store; list it with improve standards list"
        )
    stale = ApprovalError(
        f"{stored.label} was changed by another decision at the same time; run the review "
        "again to decide on it as it is now"
    )
    result = session.execute(
        update(StandardVersionRow)
        .where(StandardVersionRow.id == row.id, StandardVersionRow.revision == stored.revision)
        .values(
            status=after.status,
            published_at=after.published_at,
            revision=stored.revision + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise stale
    new: list[tuple[str, str, str, str | None, datetime]] = [
        (d.level, d.reviewer, d.decision, d.comment, d.at)
        for d in after.reviews[len(before.reviews) :]
    ] + [
        ("periodic", p.reviewer, "approved", p.comment, p.at)
        for p in after.periodic[len(before.periodic) :]
    ]
    seq = len(before.reviews) + len(before.periodic)
    for i, (level, reviewer, decision, comment, at) in enumerate(new, start=1):
        session.add(
            StandardReviewRow(
                standard_version_id=row.id,
                seq=seq + i,
                level=level,
                reviewer=reviewer,
                decision=decision,
                comment=comment,
                at=at,
            )
        )
    try:
        session.flush()
    except IntegrityError as exc:
        raise stale from exc
    session.expire(row)
    for level, reviewer, decision, comment, _ in new:
        detail: dict[str, Any] = {"level": level, "comment": comment, "status": after.status}
        record_audit(
            session=session,
            actor=reviewer,
            action=f"standard.{'confirmed' if level == 'periodic' else decision}",
            object=_object(after),
            hash_before=stored.content_hash,
            hash_after=stored.content_hash,
            detail=detail,
        )
    if after.status != before.status:
        record_audit(
            session=session,
            actor=actor,
            action=f"standard.{after.status}",
            object=_object(after),
            hash_before=stored.content_hash,
            hash_after=stored.content_hash,
            detail={"from": before.status},
        )
    refreshed = session.get(StandardVersionRow, row.id)
    assert refreshed is not None
    return _load(session, refreshed)


def standard_versions(
    *, session: Session, programme_key: str, key: str | None = None
) -> list[StoredStandard]:
    """Every stored version of the programme's standards (or of standard `key`), by key
    then version number."""
    return [_load(session, r) for r in _rows(session, programme_key, key)]


def standard_keys(*, session: Session, programme_key: str) -> list[str]:
    """The keys of the programme's standards."""
    return list(
        session.scalars(
            select(StandardVersionRow.standard_key)
            .where(StandardVersionRow.programme_key == programme_key)
            .distinct()
            .order_by(StandardVersionRow.standard_key)
        )
    )


def get_standard(
    *, session: Session, programme_key: str, key: str, version: str | None = None
) -> StoredStandard:
    """Version `version` of standard `key` (the latest when None); NotFoundError names the
    versions there are."""
    rows = _rows(session, programme_key, key)
    if not rows:
        raise NotFoundError(
            f"programme {programme_key!r} has no standard {key!r}; draft it with `improve "
            "standards draft CONFIG`"
        )
    if version is None:
        return _load(session, rows[-1])
    for r in rows:
        if r.version == version:
            return _load(session, r)
    raise NotFoundError(
        f"standard {key!r} has no version {version}; its versions: "
        + ", ".join(r.version for r in rows)
    )
