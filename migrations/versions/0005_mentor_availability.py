"""Mentors can be retired (`active`), and state their availability (weekly hours, exceptions,
buffer, notice, horizon, slot step) as one JSON document in their own time zone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "mentors", sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true())
    )
    op.create_table(
        "mentor_availability",
        sa.Column(
            "mentor_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("mentors.id"),
            primary_key=True,
        ),
        sa.Column("rules", postgresql.JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The slots and the booking checks read a mentor's orders around a time.
    op.create_index("ix_orders_mentor_id_start_time", "orders", ["mentor_id", "start_time"])


def downgrade() -> None:
    op.drop_index("ix_orders_mentor_id_start_time", "orders")
    op.drop_table("mentor_availability")
    op.drop_column("mentors", "active")
