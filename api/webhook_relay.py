"""Forwarding stored Xendit callbacks to their order workflows.

The webhook stores every authentic callback before acknowledging it, then forwards it at once;
whatever could not be forwarded (Temporal down, say) the relay loop forwards later.
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.parser import isoparse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from mentoring.contract import Signal
from mentoring.domain import PaymentExpired, PaymentReceived, RefundSettled, workflow_id_for
from mentoring.tables import WebhookEvent

log = logging.getLogger(__name__)

PAID_STATUSES = ("PAID", "SETTLED")
RELAY_INTERVAL_S = 2.0
RELAY_GRACE = timedelta(seconds=5)


def payment_of(payload: dict[str, Any]) -> PaymentReceived:
    paid_amount = payload.get("paid_amount", payload.get("amount", 0))
    paid_at = payload.get("paid_at")
    return PaymentReceived(
        invoice_id=str(payload["id"]),
        paid_amount=round(float(paid_amount)),
        currency=str(payload.get("currency") or "IDR"),
        paid_at=isoparse(paid_at) if isinstance(paid_at, str) else None,
        method=payload.get("payment_method"),
        channel=payload.get("payment_channel"),
        status=str(payload.get("status")),
    )


async def forward(client: Client, event: WebhookEvent) -> str | None:
    """Signal the order's workflow; returns why it was not delivered, if it never can be."""
    try:
        order_id = str(uuid.UUID(str(event.external_id)))
    except ValueError:
        return "external_id is not one of our orders"
    handle = client.get_workflow_handle(workflow_id_for(order_id))
    try:
        if event.event_type in PAID_STATUSES:
            await handle.signal(Signal.PAYMENT_RECEIVED, payment_of(event.payload))
        elif event.event_type.startswith("REFUND_"):
            refund = event.payload["data"]
            await handle.signal(
                Signal.REFUND_SETTLED,
                RefundSettled(refund_id=str(refund["id"]), status=str(refund["status"])),
            )
        elif event.event_type == "EXPIRED":
            await handle.signal(Signal.PAYMENT_EXPIRED, PaymentExpired(str(event.invoice_id)))
        else:
            return f"status {event.event_type} needs no action"
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            # A closed workflow: nothing can take the payment any more (the order's workflow
            # stays open until any refund is settled, so this is an unknown order).
            return "no open order for this callback"
        raise
    return None


async def mark_forwarded(session: AsyncSession, event_id: int, note: str | None) -> None:
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(forwarded_at=datetime.now(UTC), forward_error=note)
    )
    await session.commit()


async def relay_pending(client: Client, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Forward stored callbacks that were not forwarded yet; returns how many were."""
    forwarded = 0
    async with sessions() as session:
        pending = await session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.forwarded_at.is_(None),
                WebhookEvent.received_at < datetime.now(UTC) - RELAY_GRACE,
            )
            .order_by(WebhookEvent.id)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
        for event in list(pending):
            note = await forward(client, event)
            event.forwarded_at = datetime.now(UTC)
            event.forward_error = note
            forwarded += 1
        await session.commit()
    return forwarded


async def run_relay(client: Client, sessions: async_sessionmaker[AsyncSession]) -> None:
    while True:
        try:
            await relay_pending(client, sessions)
        except Exception:
            log.warning("webhook relay could not forward yet; will retry", exc_info=True)
        await asyncio.sleep(RELAY_INTERVAL_S)
