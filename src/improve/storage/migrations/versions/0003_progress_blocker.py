"""What blocks a task, as its owner reports it in the progress workbook.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("progress_update") as batch:
        batch.add_column(
            sa.Column("blocker", sa.Text(), nullable=True, comment="What blocks the task.")
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_update") as batch:
        batch.drop_column("blocker")
