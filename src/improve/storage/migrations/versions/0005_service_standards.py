"""Service standards: every version with its document and change log, and the decisions of
its three-level and quarterly reviews.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HASH = sa.CHAR(length=64)
TIMESTAMP = sa.DateTime(timezone=True)  # orm.UtcDateTime stores and returns UTC


def upgrade() -> None:
    op.create_table(
        "standard_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=64), nullable=False),
        sa.Column("standard_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False, comment="V1.0, V1.1, ..."),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False, comment="draft or import."),
        sa.Column("template", sa.String(length=16), nullable=False),
        sa.Column("cycle_key", sa.String(length=64), nullable=True),
        sa.Column("content_hash", HASH, nullable=False, comment="SHA-256 of the document."),
        sa.Column("payload", sa.JSON(), nullable=False, comment="StandardVersion dump."),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'rejected', 'superseded')",
            name=op.f("ck_standard_version_status"),
        ),
        sa.CheckConstraint("major >= 1 AND minor >= 0", name=op.f("ck_standard_version_number")),
        sa.ForeignKeyConstraint(
            ["programme_key"],
            ["programme.key"],
            name=op.f("fk_standard_version_programme_key_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_version")),
        sa.UniqueConstraint(
            "programme_key",
            "standard_key",
            "version",
            name=op.f("uq_standard_version_programme_key_standard_key_version"),
        ),
    )
    op.create_index(
        op.f("ix_standard_version_programme_key"),
        "standard_version",
        ["programme_key"],
        unique=False,
    )
    op.create_table(
        "standard_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, comment="1, 2, ... per version."),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "level IN ('author', 'cross', 'final', 'periodic')",
            name=op.f("ck_standard_review_level"),
        ),
        sa.CheckConstraint(
            "decision IN ('approved', 'rejected')", name=op.f("ck_standard_review_decision")
        ),
        sa.ForeignKeyConstraint(
            ["standard_version_id"],
            ["standard_version.id"],
            name=op.f("fk_standard_review_standard_version_id_standard_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_review")),
        sa.UniqueConstraint(
            "standard_version_id", "seq", name=op.f("uq_standard_review_standard_version_id_seq")
        ),
    )
    op.create_index(
        op.f("ix_standard_review_standard_version_id"),
        "standard_review",
        ["standard_version_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_standard_review_standard_version_id"), table_name="standard_review")
    op.drop_table("standard_review")
    op.drop_index(op.f("ix_standard_version_programme_key"), table_name="standard_version")
    op.drop_table("standard_version")
