"""Items count their events apart from their revision, so ce_sequence is gap-free.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("event_sequence", sa.Integer(), nullable=False, server_default="0"))
    # Items written before this revision numbered their events by revision: continue from there.
    op.execute("UPDATE items SET event_sequence = revision")


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("event_sequence")
