"""Initial schema: programmes, cycles, artifact versions, approvals, plan tasks, progress,
KPI snapshots and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HASH = sa.CHAR(length=64)
TIMESTAMP = sa.DateTime(timezone=True)  # orm.UtcDateTime stores and returns UTC


def upgrade() -> None:
    op.create_table(
        "programme",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False, comment="Text: {zh, en}."),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False, comment="Programme model dump."),
        sa.Column("definition_hash", HASH, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_programme")),
    )
    op.create_table(
        "cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="open", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_key"], ["programme.key"], name=op.f("fk_cycle_programme_key_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle")),
        sa.UniqueConstraint("programme_key", "key", name=op.f("uq_cycle_programme_key_key")),
    )
    op.create_index(op.f("ix_cycle_programme_key"), "cycle", ["programme_key"])
    op.create_table(
        "artifact_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column(
            "artifact_id", sa.String(length=200), nullable=False, comment="programme/cycle/stage"
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", HASH, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False, comment="model_dump(mode='json')."),
        sa.Column("derived_from", sa.JSON(), nullable=False, comment="ArtifactRef dumps."),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_artifact_version_status"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_artifact_version_version")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_artifact_version_cycle_id_cycle")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_version")),
        sa.UniqueConstraint(
            "artifact_id", "content_hash", name=op.f("uq_artifact_version_artifact_id_content_hash")
        ),
        sa.UniqueConstraint(
            "artifact_id", "version", name=op.f("uq_artifact_version_artifact_id_version")
        ),
    )
    op.create_index(op.f("ix_artifact_version_cycle_id"), "artifact_version", ["cycle_id"])
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_version_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), server_default="author", nullable=False),
        sa.Column("approver", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'rejected')", name=op.f("ck_approval_decision")
        ),
        sa.CheckConstraint("level IN ('author', 'cross', 'final')", name=op.f("ck_approval_level")),
        sa.ForeignKeyConstraint(
            ["artifact_version_id"],
            ["artifact_version.id"],
            name=op.f("fk_approval_artifact_version_id_artifact_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval")),
        sa.UniqueConstraint(
            "artifact_version_id",
            "level",
            "approver",
            name=op.f("uq_approval_artifact_version_id_level_approver"),
        ),
    )
    op.create_index(op.f("ix_approval_artifact_version_id"), "approval", ["artifact_version_id"])
    op.create_table(
        "kpi_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=64), nullable=False),
        sa.Column("cycle_key", sa.String(length=64), nullable=True),
        sa.Column(
            "scope", sa.String(length=200), nullable=False, comment="'all' or e.g. 'region=华东'."
        ),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("period", sa.Date(), nullable=False, comment="First day of the period."),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "grain IN ('week', 'month', 'window')", name=op.f("ck_kpi_snapshot_grain")
        ),
        sa.ForeignKeyConstraint(
            ["programme_key"],
            ["programme.key"],
            name=op.f("fk_kpi_snapshot_programme_key_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshot")),
        sa.UniqueConstraint(
            "programme_key",
            "scope",
            "grain",
            "period",
            "kpi",
            name=op.f("uq_kpi_snapshot_programme_key_scope_grain_period_kpi"),
        ),
    )
    op.create_table(
        "plan_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_version_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_version_id"],
            ["artifact_version.id"],
            name=op.f("fk_plan_task_artifact_version_id_artifact_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_task")),
        sa.UniqueConstraint(
            "artifact_version_id", "task_id", name=op.f("uq_plan_task_artifact_version_id_task_id")
        ),
    )
    op.create_index(op.f("ix_plan_task_artifact_version_id"), "plan_task", ["artifact_version_id"])
    op.create_table(
        "progress_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=64), nullable=False),
        sa.Column("cycle_key", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("percent_complete", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_hash", HASH, nullable=False, comment="SHA-256 of the row as imported."),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "percent_complete BETWEEN 0 AND 100", name=op.f("ck_progress_update_percent_complete")
        ),
        sa.ForeignKeyConstraint(
            ["programme_key"],
            ["programme.key"],
            name=op.f("fk_progress_update_programme_key_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_update")),
        sa.UniqueConstraint(
            "programme_key",
            "cycle_key",
            "task_id",
            "as_of",
            name=op.f("uq_progress_update_programme_key_cycle_key_task_id_as_of"),
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object", sa.String(length=200), nullable=False),
        sa.Column("hash_before", HASH, nullable=True),
        sa.Column("hash_after", HASH, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_object"), "audit_log", ["object"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("progress_update")
    op.drop_table("plan_task")
    op.drop_table("kpi_snapshot")
    op.drop_table("approval")
    op.drop_table("artifact_version")
    op.drop_table("cycle")
    op.drop_table("programme")
