"""The mentee's time zone: their emails and pages show times in it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column(
            "mentee_timezone", sa.String(64), nullable=False, server_default="Asia/Jakarta"
        ),
    )


def downgrade() -> None:
    op.drop_column("orders", "mentee_timezone")
