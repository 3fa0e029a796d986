"""ORM models of the programme store (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now, for created_at columns."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migration names)."""

    metadata = MetaData(naming_convention=NAMING)


class ProgrammeRow(Base):
    """A programme and its definition as last run."""

    __tablename__ = "programme"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    definition_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CycleRow(Base):
    """One PDCA cycle of a programme."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("programme_key", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ArtifactVersionRow(Base):
    """One version of a stage artifact: its JSON, content hash and approval status."""

    __tablename__ = "artifact_version"
    __table_args__ = (
        UniqueConstraint("artifact_id", "version"),
        UniqueConstraint("artifact_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    artifact_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    derived_from: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApprovalRow(Base):
    """One approver's decision on one artifact version."""

    __tablename__ = "approval"
    __table_args__ = (UniqueConstraint("artifact_version_id", "level", "approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_version_id: Mapped[int] = mapped_column(ForeignKey("artifact_version.id"), index=True)
    level: Mapped[str] = mapped_column(String(16), default="author")
    approver: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KpiSnapshotRow(Base):
    """A KPI value of a period, as a stage computed it."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (UniqueConstraint("programme_key", "scope", "grain", "period", "kpi"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"))
    cycle_key: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(200))
    grain: Mapped[str] = mapped_column(String(8))
    period: Mapped[date] = mapped_column(Date)
    kpi: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanTaskRow(Base):
    """A task of one plan version (the Gantt rows)."""

    __tablename__ = "plan_task"
    __table_args__ = (UniqueConstraint("artifact_version_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_version_id: Mapped[int] = mapped_column(ForeignKey("artifact_version.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    critical: Mapped[bool] = mapped_column(Boolean)


class ProgressUpdateRow(Base):
    """An owner's progress report on a task at a date (执行进度跟踪表 row)."""

    __tablename__ = "progress_update"
    __table_args__ = (UniqueConstraint("programme_key", "cycle_key", "task_id", "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(ForeignKey("programme.key"))
    cycle_key: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[date] = mapped_column(Date)
    percent_complete: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditRow(Base):
    """Who changed what, when, with the content hashes before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(String(200))
    hash_before: Mapped[str | None] = mapped_column(String(64))
    hash_after: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
