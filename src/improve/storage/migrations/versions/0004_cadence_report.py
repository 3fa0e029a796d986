"""Weekly reviews and monthly retrospectives, versioned per period.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HASH = sa.CHAR(length=64)
TIMESTAMP = sa.DateTime(timezone=True)  # orm.UtcDateTime stores and returns UTC


def upgrade() -> None:
    op.create_table(
        "cadence_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=64), nullable=False),
        sa.Column("cycle_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="weekly or monthly."),
        sa.Column("period", sa.String(length=16), nullable=False, comment="2026-W04 or 2026-02."),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("content_hash", HASH, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_key"],
            ["programme.key"],
            name=op.f("fk_cadence_report_programme_key_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadence_report")),
        sa.UniqueConstraint(
            "programme_key",
            "cycle_key",
            "kind",
            "period",
            "version",
            name=op.f("uq_cadence_report_programme_key_cycle_key_kind_period_version"),
        ),
        sa.UniqueConstraint(
            "programme_key",
            "cycle_key",
            "kind",
            "period",
            "content_hash",
            name="uq_cadence_report_content",
        ),
    )


def downgrade() -> None:
    op.drop_table("cadence_report")
