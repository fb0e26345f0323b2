"""Stored callbacks are forwarded with retries: attempts so far and when to try next.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_events",
        sa.Column("forward_attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column(
        "webhook_events", sa.Column("next_forward_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("webhook_events", "next_forward_at")
    op.drop_column("webhook_events", "forward_attempts")
