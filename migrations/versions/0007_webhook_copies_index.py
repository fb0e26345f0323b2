"""Finding the earlier copies of a Xendit callback by an index: the webhook looks them up for
every callback it stores, and without one it read the whole table each time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Over coalesce(): `IS NOT DISTINCT FROM` (a refund's callback may name no invoice) cannot
    # use an index; the store's lookup compares these expressions, then the columns exactly.
    # Built concurrently: the webhook keeps storing callbacks while a large table is indexed.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_webhook_events_copies",
            "webhook_events",
            [
                sa.text("coalesce(invoice_id, '')"),
                "event_type",
                sa.text("coalesce(external_id, '')"),
            ],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_webhook_events_copies",
            "webhook_events",
            postgresql_concurrently=True,
            if_exists=True,
        )
