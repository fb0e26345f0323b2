"""Initial schema: mentors, orders (with the slot exclusion), order_events, webhook_events, sent_emails.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "('awaiting_payment', 'awaiting_mentor', 'scheduling', 'confirmed')"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "mentors",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("hourly_rate", sa.BigInteger, nullable=False),
        sa.Column("calendar_id", sa.String(320)),
        sa.Column("locale", sa.String(8), nullable=False, server_default="id"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("hourly_rate > 0", name="mentors_hourly_rate_positive"),
    )
    op.create_table(
        "orders",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("mentor_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("mentors.id"), nullable=False),
        sa.Column("mentee_name", sa.String(200), nullable=False),
        sa.Column("mentee_email", sa.String(320), nullable=False),
        sa.Column("mentee_locale", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(500), nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("payment_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_deadline", sa.DateTime(timezone=True)),
        sa.Column("invoice_id", sa.String(64)),
        sa.Column("invoice_url", sa.Text),
        sa.Column("invoice_expires_at", sa.DateTime(timezone=True)),
        sa.Column("payment_status", sa.String(16), nullable=False),
        sa.Column("paid_amount", sa.BigInteger),
        sa.Column("paid_currency", sa.String(3)),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("payment_method", sa.String(64)),
        sa.Column("payment_channel", sa.String(64)),
        sa.Column("mentor_decision", sa.String(16)),
        sa.Column("decision_reason", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("calendar_event_id", sa.String(128)),
        sa.Column("meet_url", sa.Text),
        sa.Column("refund_status", sa.String(32), nullable=False),
        sa.Column("refund_amount", sa.BigInteger),
        sa.Column("refund_id", sa.String(64)),
        sa.Column("needs_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("admin_note", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_time > start_time", name="orders_time_range_valid"),
        sa.CheckConstraint("amount > 0", name="orders_amount_positive"),
    )
    op.create_index("ix_orders_mentor_id", "orders", ["mentor_id"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_mentee_email", "orders", ["mentee_email"])
    op.create_index("ix_orders_invoice_id", "orders", ["invoice_id"])
    # An active order holds its mentor's time; a second overlapping active order is refused by
    # the database itself, whatever the concurrency; the slot is released when the order ends.
    op.execute(
        "ALTER TABLE orders ADD CONSTRAINT orders_no_double_booking EXCLUDE USING gist "
        "(mentor_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&) "
        f"WHERE (status IN {ACTIVE})"
    )
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("order_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32)),
        sa.Column("data", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.UniqueConstraint("order_id", "seq"),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("invoice_id", sa.String(64)),
        sa.Column("external_id", sa.String(200)),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("forwarded_at", sa.DateTime(timezone=True)),
        sa.Column("forward_error", sa.Text),
    )
    op.create_index("ix_webhook_events_invoice_id", "webhook_events", ["invoice_id"])
    op.create_index("ix_webhook_events_external_id", "webhook_events", ["external_id"])
    op.create_index(
        "ix_webhook_events_unforwarded",
        "webhook_events",
        ["received_at"],
        postgresql_where=sa.text("forwarded_at IS NULL"),
    )
    op.create_table(
        "sent_emails",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("order_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(128)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_sent_emails_order_id", "sent_emails", ["order_id"])


def downgrade() -> None:
    op.drop_table("sent_emails")
    op.drop_table("webhook_events")
    op.drop_table("order_events")
    op.drop_table("orders")
    op.drop_table("mentors")
