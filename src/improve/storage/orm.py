"""ORM models of the programme store (SQLite by default, PostgreSQL in production).

Types are chosen to behave the same on both: JSON, CHAR(64) hashes, and timestamps that
are always UTC-aware (SQLite drops the offset, so `UtcDateTime` stores UTC and restores it).
Keep migrations/versions in step with this module: tests compare the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ARTIFACT_STATUSES = ("pending", "approved", "rejected")
DECISIONS = ("approved", "rejected")
APPROVAL_LEVELS = ("author", "cross", "final")
GRAINS = ("week", "month", "window")


def utcnow() -> datetime:
    """Timezone-aware now, for created_at columns."""
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UtcDateTime(TypeDecorator[datetime]):
    """DateTime(timezone=True) that only accepts aware values and always returns UTC ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; pass a UTC one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite hands back the stored UTC wall time without an offset.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Hash = CHAR(64)
NullableJson = JSON(none_as_null=True)  # Python None is SQL NULL, not the JSON text 'null'


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migration names)."""

    metadata = MetaData(naming_convention=NAMING)


class ProgrammeRow(Base):
    """A programme and its definition as last run."""

    __tablename__ = "programme"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON, comment="Text: {zh, en}.")
    owner: Mapped[str] = mapped_column(String(100))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, comment="Programme model dump.")
    definition_hash: Mapped[str] = mapped_column(Hash)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CycleRow(Base):
    """One PDCA cycle of a programme."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("programme_key", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ArtifactVersionRow(Base):
    """One version of a stage artifact: its JSON, content hash and approval status."""

    __tablename__ = "artifact_version"
    __table_args__ = (
        UniqueConstraint("artifact_id", "version"),
        UniqueConstraint("artifact_id", "content_hash"),
        CheckConstraint(_one_of("status", ARTIFACT_STATUSES), name="status"),
        CheckConstraint("version >= 1", name="version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    artifact_id: Mapped[str] = mapped_column(String(200), comment="programme/cycle/stage")
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(Hash)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, comment="model_dump(mode='json').")
    derived_from: Mapped[list[Any]] = mapped_column(JSON, comment="ArtifactRef dumps.")
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lock_version: Mapped[int] = mapped_column(
        Integer,
        default=1,
        server_default="1",
        comment="Bumped by every decision (optimistic lock).",
    )


class ApprovalRow(Base):
    """One approver's decision on one artifact version."""

    __tablename__ = "approval"
    __table_args__ = (
        UniqueConstraint("artifact_version_id", "level", "approver"),
        CheckConstraint(_one_of("level", APPROVAL_LEVELS), name="level"),
        CheckConstraint(_one_of("decision", DECISIONS), name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_version_id: Mapped[int] = mapped_column(ForeignKey("artifact_version.id"), index=True)
    level: Mapped[str] = mapped_column(String(16), default="author", server_default="author")
    approver: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class KpiSnapshotRow(Base):
    """A KPI value of a period, as a stage computed it."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (
        UniqueConstraint("programme_key", "scope", "grain", "period", "kpi"),
        CheckConstraint(_one_of("grain", GRAINS), name="grain"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"))
    cycle_key: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(200), comment="'all' or e.g. 'region=华东'.")
    grain: Mapped[str] = mapped_column(String(8))
    period: Mapped[date] = mapped_column(Date, comment="First day of the period.")
    kpi: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PlanTaskRow(Base):
    """A task of one plan version (the Gantt rows)."""

    __tablename__ = "plan_task"
    __table_args__ = (UniqueConstraint("artifact_version_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_version_id: Mapped[int] = mapped_column(ForeignKey("artifact_version.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(100))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    critical: Mapped[bool] = mapped_column(Boolean)


class ProgressUpdateRow(Base):
    """An owner's progress report on a task at a date (执行进度跟踪表 row)."""

    __tablename__ = "progress_update"
    __table_args__ = (
        UniqueConstraint("programme_key", "cycle_key", "task_id", "as_of"),
        CheckConstraint("percent_complete BETWEEN 0 AND 100", name="percent_complete"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"))
    cycle_key: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[date] = mapped_column(Date)
    percent_complete: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    blocker: Mapped[str | None] = mapped_column(Text, comment="What blocks the task.")
    source_hash: Mapped[str] = mapped_column(Hash, comment="SHA-256 of the row as imported.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditRow(Base):
    """Who changed what, when, with the content hashes before and after; chained to the
    entry before by its hash."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(String(200), index=True)
    hash_before: Mapped[str | None] = mapped_column(Hash)
    hash_after: Mapped[str | None] = mapped_column(Hash)
    detail: Mapped[dict[str, Any] | None] = mapped_column(NullableJson)
    prev_hash: Mapped[str | None] = mapped_column(
        Hash, unique=True, comment="The previous entry's entry_hash (zeros for the first)."
    )
    entry_hash: Mapped[str | None] = mapped_column(
        Hash, comment="SHA-256 over this entry's fields and prev_hash (storage/audit.py)."
    )


class RootCauseReviewRow(Base):
    """Stakeholders' 5-Why / fishbone answers on one problem, as imported from a worksheet;
    every import with new content is kept (the latest per problem is in force)."""

    __tablename__ = "root_cause_review"
    __table_args__ = (
        UniqueConstraint(
            "programme_key",
            "cycle_key",
            "problem_key",
            "content_hash",
            name="uq_root_cause_review_content",  # the convention's name passes 63 characters
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"))
    cycle_key: Mapped[str] = mapped_column(String(64))
    problem_key: Mapped[str] = mapped_column(Text, comment="category/dimension/segment.")
    diagnosis_id: Mapped[str] = mapped_column(String(200))
    diagnosis_version: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, comment="ProblemReview dump.")
    content_hash: Mapped[str] = mapped_column(Hash)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CadenceReportRow(Base):
    """A weekly review (周例会) or monthly retrospective of one period; every version with
    new content is kept, numbered, and the same content is never stored twice."""

    __tablename__ = "cadence_report"
    __table_args__ = (
        UniqueConstraint("programme_key", "cycle_key", "kind", "period", "version"),
        UniqueConstraint(
            "programme_key",
            "cycle_key",
            "kind",
            "period",
            "content_hash",
            name="uq_cadence_report_content",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"))
    cycle_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), comment="weekly or monthly.")
    period: Mapped[str] = mapped_column(String(16), comment="2026-W04 or 2026-02.")
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(Hash)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


STANDARD_STATUSES = ("draft", "in_review", "published", "rejected", "superseded")
STANDARD_REVIEW_LEVELS = ("author", "cross", "final", "periodic")


class StandardVersionRow(Base):
    """One version (V1.0, V1.1 ...) of a service standard: its document and change log as
    JSON, its review status; `revision` counts its updates, so a decision made on a stale
    read is refused (optimistic concurrency). Every version is kept."""

    __tablename__ = "standard_version"
    __table_args__ = (
        UniqueConstraint("programme_key", "standard_key", "version"),
        CheckConstraint(_one_of("status", STANDARD_STATUSES), name="status"),
        CheckConstraint("major >= 1 AND minor >= 0", name="number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"), index=True)
    standard_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16), comment="V1.0, V1.1, ...")
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    origin: Mapped[str] = mapped_column(String(8), comment="draft or import.")
    template: Mapped[str] = mapped_column(String(16))
    cycle_key: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(Hash, comment="SHA-256 of the document.")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, comment="StandardVersion dump.")
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StandardReviewRow(Base):
    """One decision on a standard version: a level of the three-level review, or its
    quarterly review (`periodic`); numbered per version, so two decisions made at once
    cannot both land."""

    __tablename__ = "standard_review"
    __table_args__ = (
        UniqueConstraint("standard_version_id", "seq"),
        CheckConstraint(_one_of("level", STANDARD_REVIEW_LEVELS), name="level"),
        CheckConstraint(_one_of("decision", DECISIONS), name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard_version_id: Mapped[int] = mapped_column(ForeignKey("standard_version.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, comment="1, 2, ... per version.")
    level: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
