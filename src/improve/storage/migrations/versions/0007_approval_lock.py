"""An optimistic lock on artifact versions: every review decision bumps it, so two people
deciding on the same version at once cannot both write from the same state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_version") as batch:
        batch.add_column(
            sa.Column(
                "lock_version", sa.Integer(), nullable=False, server_default="1",
                comment="Bumped by every decision (optimistic lock).",
            )
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("artifact_version") as batch:
        batch.drop_column("lock_version")
