"""Stakeholders' root-cause reviews (5-Why / fishbone worksheets).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

HASH = sa.CHAR(length=64)
TIMESTAMP = sa.DateTime(timezone=True)  # orm.UtcDateTime stores and returns UTC


def upgrade() -> None:
    op.create_table(
        "root_cause_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=64), nullable=False),
        sa.Column("cycle_key", sa.String(length=64), nullable=False),
        sa.Column("problem_key", sa.Text(), nullable=False, comment="category/dimension/segment."),
        sa.Column("diagnosis_id", sa.String(length=200), nullable=False),
        sa.Column("diagnosis_version", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False, comment="ProblemReview dump."),
        sa.Column("content_hash", HASH, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_key"],
            ["programme.key"],
            name=op.f("fk_root_cause_review_programme_key_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_root_cause_review")),
        sa.UniqueConstraint(
            "programme_key",
            "cycle_key",
            "problem_key",
            "content_hash",
            name=op.f("uq_root_cause_review_content"),
        ),
    )


def downgrade() -> None:
    op.drop_table("root_cause_review")
