"""Storing a Xendit callback in one statement, one round trip, committed on return.

A copy of a callback already forwarded to its workflow (Xendit retries what it did not see
acknowledged, and answers twice) is stored as forwarded, with a note: the workflow has it, and
telling it again would cost a workflow task for nothing. Every copy is still stored.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, Text, bindparam, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from mentoring.db import autocommit
from mentoring.tables import WebhookEvent

COPY_NOTE = "a copy of a callback already forwarded"


@dataclass(frozen=True)
class Stored:
    event_id: int
    duplicate: bool
    """An earlier copy was stored."""
    forwarded: bool
    """Nothing to forward: an earlier copy was."""


# Built once: the statement is the same for every callback, only its values change. The
# earlier copies are found by ix_webhook_events_copies (migration 0007), on the coalesce()
# expressions; the exact comparisons after them tell an absent id from an empty one.
STORE_SQL = """
    WITH copy AS (
        SELECT min(id) AS first_id, coalesce(bool_or(forwarded_at IS NOT NULL), false) AS forwarded
        FROM webhook_events
        WHERE coalesce(invoice_id, '') = coalesce(:invoice_id, '')
          AND event_type = :event_type
          AND coalesce(external_id, '') = coalesce(:external_id, '')
          AND invoice_id IS NOT DISTINCT FROM :invoice_id
          AND external_id IS NOT DISTINCT FROM :external_id
    ), stored AS (
        INSERT INTO webhook_events
            (provider, event_type, invoice_id, external_id, payload, forwarded_at, forward_error)
        SELECT :provider, :event_type, :invoice_id, :external_id, :payload,
               CASE WHEN copy.forwarded THEN now() END,
               CASE WHEN copy.forwarded THEN :copy_note END
        FROM copy
        RETURNING id, forwarded_at
    )
    SELECT stored.id, stored.forwarded_at IS NOT NULL AS forwarded, copy.first_id
    FROM stored CROSS JOIN copy
"""
STORE_PARAMETERS = (
    bindparam("provider", type_=String),
    bindparam("event_type", type_=String),
    bindparam("invoice_id", type_=String),
    bindparam("external_id", type_=String),
    bindparam("payload", type_=JSONB),
    bindparam("copy_note", type_=Text),
)
_STORE = text(STORE_SQL).bindparams(*STORE_PARAMETERS)


async def store_callback(engine: AsyncEngine, event: WebhookEvent) -> Stored:
    values = {
        "provider": event.provider,
        "event_type": event.event_type,
        "invoice_id": event.invoice_id,
        "external_id": event.external_id,
        "payload": event.payload,
        "copy_note": COPY_NOTE,
    }
    async with autocommit(engine) as connection:
        row = (await connection.execute(_STORE, values)).one()
    return Stored(int(row.id), row.first_id is not None, bool(row.forwarded))


async def mark_forwarded(engine: AsyncEngine, event_id: int, note: str | None) -> None:
    async with autocommit(engine) as connection:
        await connection.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.forwarded_at.is_(None))
            .values(forwarded_at=datetime.now(UTC), forward_error=note, next_forward_at=None)
        )
