"""The tamper-evident audit trail: each entry is chained to the one before by a SHA-256 over
its own fields and the previous entry's hash, and `verify` re-reads the chain and every
stored content (artifacts, reviews, standards, programme definitions) against it.

Changing an entry breaks its own hash; deleting or reordering one breaks the next entry's
link; changing stored content breaks the match with its hash and with the audit entry that
recorded it. `entry_hash` defines what is stored: it must never change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from improve.storage.orm import (
    ArtifactVersionRow,
    AuditRow,
    CadenceReportRow,
    ProgrammeRow,
    StandardVersionRow,
    utcnow,
)

GENESIS = "0" * 64  # the previous hash of the first entry


def artifact_object(artifact_id: str, version: int) -> str:
    """How the audit trail names a stage artifact version."""
    return f"{artifact_id}@v{version}"


def cadence_object(programme: str, cycle: str, kind: str, period: str, version: int) -> str:
    """How the audit trail names a weekly review or monthly retrospective version."""
    return f"{programme}/{cycle}/{kind}/{period}@v{version}"


def standard_object(programme: str, key: str, version: str) -> str:
    """How the audit trail names a service standard version."""
    return f"{programme}/standards/{key}@{version}"


def json_hash(value: Any) -> str:
    """SHA-256 of a JSON value's canonical form (sorted keys, no insignificant space): the
    same as `content_hash` of the model it was dumped from."""
    data = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def entry_hash(
    *,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object: str,
    hash_before: str | None,
    hash_after: str | None,
    detail: dict[str, Any] | None,
) -> str:
    """The entry's hash: its fields and the previous entry's hash, canonically."""
    return json_hash(
        {
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object": object,
            "before": hash_before,
            "after": hash_after,
            "detail": detail,
        }
    )


def _hash_of(row: AuditRow) -> str:
    return entry_hash(
        prev_hash=row.prev_hash or GENESIS,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object=row.object,
        hash_before=row.hash_before,
        hash_after=row.hash_after,
        detail=row.detail,
    )


def append(
    *,
    session: Session,
    actor: str,
    action: str,
    object: str,
    hash_before: str | None,
    hash_after: str | None,
    detail: dict[str, Any] | None,
) -> AuditRow:
    """Append an entry after the newest one. On PostgreSQL the table is locked until the
    transaction ends, so concurrent writers queue; on SQLite the write lock does that, and a
    unique previous hash refuses a fork either way."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    last = session.scalar(select(AuditRow).order_by(AuditRow.id.desc()).limit(1))
    prev = last.entry_hash if last is not None and last.entry_hash else GENESIS
    at = utcnow()
    row = AuditRow(
        at=at,
        actor=actor,
        action=action,
        object=object,
        hash_before=hash_before,
        hash_after=hash_after,
        detail=detail,
        prev_hash=prev,
    )
    row.entry_hash = _hash_of(row)
    session.add(row)
    session.flush()
    return row


def recorded(*, session: Session, action: str, object: str) -> bool:
    """Whether the trail holds an entry of `action` on `object`."""
    found = session.scalar(
        select(AuditRow.id).where(AuditRow.object == object, AuditRow.action == action).limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class AuditProblem:
    """One thing `verify` found wrong, naming the audit entry (when there is one)."""

    entry: int | None
    object: str
    problem: str


@dataclass(frozen=True)
class AuditCheck:
    """What `verify` read and what it found."""

    entries: int
    contents: int
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """Nothing was found wrong."""
        return not self.problems


def _contents(session: Session) -> Iterator[tuple[str, str, str | None]]:
    """(audit object, recorded hash, recomputed hash or None when unreadable) of every
    stored content."""
    for a in session.scalars(select(ArtifactVersionRow).order_by(ArtifactVersionRow.id)):
        yield artifact_object(a.artifact_id, a.version), a.content_hash, json_hash(a.payload)
    for c in session.scalars(select(CadenceReportRow).order_by(CadenceReportRow.id)):
        obj = cadence_object(c.programme_key, c.cycle_key, c.kind, c.period, c.version)
        yield obj, c.content_hash, json_hash(c.payload)
    for s in session.scalars(select(StandardVersionRow).order_by(StandardVersionRow.id)):
        document = s.payload.get("document") if isinstance(s.payload, dict) else None
        obj = standard_object(s.programme_key, s.standard_key, s.version)
        yield obj, s.content_hash, None if document is None else json_hash(document)
    for p in session.scalars(select(ProgrammeRow).order_by(ProgrammeRow.key)):
        yield p.key, p.definition_hash, json_hash(p.definition)


def verify(*, session: Session) -> AuditCheck:
    """Check the chain entry by entry, then each stored content against its own hash and
    against the audit entry that recorded it."""
    problems: list[AuditProblem] = []
    prev = GENESIS
    recorded: dict[tuple[str, str], int] = {}
    latest: dict[str, int] = {}
    entries = 0
    for row in session.scalars(select(AuditRow).order_by(AuditRow.id)):
        entries += 1
        if (row.prev_hash or GENESIS) != prev:
            problems.append(
                AuditProblem(
                    row.id,
                    row.object,
                    "its link to the entry before is broken: an "
                    "entry before it was changed, removed or inserted",
                )
            )
        if row.entry_hash != _hash_of(row):
            problems.append(
                AuditProblem(
                    row.id,
                    row.object,
                    f"entry #{row.id} ({row.action}) was changed after it was written",
                )
            )
        prev = row.entry_hash or ""
        latest[row.object] = row.id
        if row.hash_after:
            recorded[row.object, row.hash_after] = row.id
    contents = 0
    for obj, stored, actual in _contents(session):
        contents += 1
        entry = recorded.get((obj, stored))
        if actual != stored:
            named = latest.get(obj)
            where = f"entry #{entry if entry is not None else named}" if named else "no entry"
            problems.append(
                AuditProblem(
                    entry if entry is not None else named,
                    obj,
                    f"{obj} does not match the hash {stored[:12]}… recorded in "
                    f"{where}: its stored content was changed",
                )
            )
        elif entry is None:
            problems.append(
                AuditProblem(
                    latest.get(obj),
                    obj,
                    f"{obj} has a hash no audit entry "
                    "recorded: it was stored or rewritten outside improve",
                )
            )
    return AuditCheck(entries=entries, contents=contents, problems=tuple(problems))
