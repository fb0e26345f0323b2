"""Requests refused by a workflow's validator join the timeline: they have no workflow seq.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("order_events", "seq", existing_type=sa.Integer, nullable=True)
    op.create_index("ix_order_events_order_id_at", "order_events", ["order_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_order_events_order_id_at", table_name="order_events")
    op.execute("DELETE FROM order_events WHERE seq IS NULL")
    op.alter_column("order_events", "seq", existing_type=sa.Integer, nullable=False)
