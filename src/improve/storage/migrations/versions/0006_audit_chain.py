"""The audit trail becomes a hash chain: each entry stores the previous entry's hash and its
own; existing entries are chained in the order they were written.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from improve.storage.audit import GENESIS, entry_hash
from improve.storage.orm import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

HASH = sa.CHAR(length=64)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(
            sa.Column(
                "prev_hash", HASH, nullable=True,
                comment="The previous entry's entry_hash (zeros for the first).",
            )
        )  # fmt: skip
        batch.add_column(
            sa.Column(
                "entry_hash", HASH, nullable=True,
                comment="SHA-256 over this entry's fields and prev_hash (storage/audit.py).",
            )
        )  # fmt: skip
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("object", sa.String()),
        sa.column("hash_before", HASH),
        sa.column("hash_after", HASH),
        sa.column("detail", sa.JSON(none_as_null=True)),
        sa.column("prev_hash", HASH),
        sa.column("entry_hash", HASH),
    )
    connection = op.get_bind()
    prev = GENESIS
    for row in connection.execute(sa.select(log).order_by(log.c.id)).mappings().all():
        digest = entry_hash(
            prev_hash=prev, at=row["at"], actor=row["actor"], action=row["action"],
            object=row["object"], hash_before=row["hash_before"],
            hash_after=row["hash_after"], detail=row["detail"],
        )  # fmt: skip
        connection.execute(
            log.update().where(log.c.id == row["id"]).values(prev_hash=prev, entry_hash=digest)
        )
        prev = digest
    with op.batch_alter_table("audit_log") as batch:
        batch.create_unique_constraint(op.f("uq_audit_log_prev_hash"), ["prev_hash"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("uq_audit_log_prev_hash"), type_="unique")
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
