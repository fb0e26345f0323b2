"""Forwarding stored Xendit callbacks to their order workflows.

The webhook stores every valid callback before acknowledging it, then forwards it at once;
whatever could not be forwarded (Temporal down, say) the relay loop forwards later, each
callback in its own transaction: one that fails is retried with backoff and, after
MAX_FORWARD_ATTEMPTS, parked (`forward_error` says why; an admin resolves it), and never holds
up the others. While Temporal is unreachable no callback is charged an attempt.
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.callbacks import parse_rfc3339
from api.outages import workflow_engine_outage
from mentoring.contract import LATE_PAYMENT_WORKFLOW, Signal, late_payment_workflow_id
from mentoring.domain import (
    LatePaymentInput,
    PaymentExpired,
    PaymentReceived,
    RefundSettled,
    workflow_id_for,
)
from mentoring.tables import WebhookEvent

log = logging.getLogger(__name__)

PAID_STATUSES = ("PAID", "SETTLED")
RELAY_INTERVAL_S = 2.0
# A callback just stored is being forwarded by the webhook itself: the relay leaves it alone.
RELAY_GRACE = timedelta(seconds=5)
RELAY_BATCH = 100
FORWARD_BOUND_S = 5.0
MAX_FORWARD_ATTEMPTS = 10
FIRST_RETRY_AFTER = timedelta(seconds=10)
LONGEST_RETRY_AFTER = timedelta(minutes=30)


def payment_of(payload: dict[str, Any]) -> PaymentReceived:
    """The PAID/SETTLED callback as the workflow takes it; ValueError, KeyError or TypeError
    for a payload that cannot be read as one."""
    paid_amount = payload.get("paid_amount")
    if paid_amount is None:
        paid_amount = payload.get("amount")
    paid_at = payload.get("paid_at")
    method, channel = payload.get("payment_method"), payload.get("payment_channel")
    return PaymentReceived(
        invoice_id=str(payload["id"]),
        paid_amount=round(float(paid_amount or 0)),
        currency=str(payload.get("currency") or "IDR"),
        paid_at=parse_rfc3339(paid_at) if paid_at is not None else None,
        method=str(method) if method is not None else None,
        channel=str(channel) if channel is not None else None,
        status=str(payload.get("status")),
    )


async def _hand_over_late_payment(
    client: Client, order_id: str, payment: PaymentReceived, task_queue: str
) -> str:
    """A payment for an order whose workflow has closed: the late-payment workflow (one per
    invoice) checks it with Xendit and refunds it."""
    workflow_id = late_payment_workflow_id(payment.invoice_id)
    # Already started: handed over by an earlier copy of the callback.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            LATE_PAYMENT_WORKFLOW,
            LatePaymentInput(order_id=order_id, payment=payment),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return f"the order had closed: late payment handed to {workflow_id}"


async def _deliver(
    client: Client, event: WebhookEvent, order_id: str, task_queue: str
) -> str | None:
    handle = client.get_workflow_handle(workflow_id_for(order_id))
    payment: PaymentReceived | None = None
    try:
        if event.event_type in PAID_STATUSES:
            payment = payment_of(event.payload)
            await handle.signal(Signal.PAYMENT_RECEIVED, payment)
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
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        if payment is not None:
            return await _hand_over_late_payment(client, order_id, payment, task_queue)
        return "no open order for this callback"
    return None


async def forward(client: Client, event: WebhookEvent, task_queue: str) -> str | None:
    """Signal the order's workflow (a payment for a closed one goes to the late-payment
    workflow, on `task_queue`); returns why it was not delivered, if it never can be. Raises
    if it could not be forwarded now, within FORWARD_BOUND_S."""
    try:
        order_id = str(uuid.UUID(str(event.external_id)))
    except ValueError:
        return "external_id is not one of our orders"
    async with asyncio.timeout(FORWARD_BOUND_S):
        return await _deliver(client, event, order_id, task_queue)


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a callback is tried again."""
    delay: timedelta = FIRST_RETRY_AFTER * 2 ** min(attempts - 1, 16)
    return min(delay, LONGEST_RETRY_AFTER)


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        WebhookEvent.forwarded_at.is_(None),
        WebhookEvent.forward_attempts < MAX_FORWARD_ATTEMPTS,
        or_(
            WebhookEvent.next_forward_at <= now,
            and_(
                WebhookEvent.next_forward_at.is_(None),
                WebhookEvent.received_at < now - RELAY_GRACE,
            ),
        ),
    )


def _record_failure(event: WebhookEvent, error: Exception, now: datetime) -> None:
    attempts = event.forward_attempts + 1
    reason = f"{type(error).__name__}: {error}"[:2000]
    event.forward_attempts = attempts
    if attempts >= MAX_FORWARD_ATTEMPTS:
        event.next_forward_at = None
        event.forward_error = f"parked after {attempts} attempts: {reason}"
        log.error("callback %s parked: %s", event.id, event.forward_error)
    else:
        event.next_forward_at = now + retry_delay(attempts)
        event.forward_error = f"attempt {attempts} failed: {reason}"
        log.warning("callback %s not forwarded (attempt %s): %s", event.id, attempts, reason)


async def relay_one(
    client: Client, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> bool:
    """Forward the oldest callback due, under its own row lock and transaction; False when none
    is due. Raises (charging no attempt) while Temporal is unreachable."""
    async with sessions() as session:
        now = datetime.now(UTC)
        event = await session.scalar(
            select(WebhookEvent)
            .where(_due(now))
            .order_by(WebhookEvent.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if event is None:
            return False
        try:
            note = await forward(client, event, task_queue)
        except Exception as error:
            if workflow_engine_outage(error) is not None:
                raise
            _record_failure(event, error, now)
        else:
            event.forwarded_at = datetime.now(UTC)
            event.forward_error = note
            event.next_forward_at = None
        await session.commit()
    return True


async def relay_pending(
    client: Client, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> int:
    """Forward (or charge an attempt to) up to RELAY_BATCH callbacks due; returns how many."""
    handled = 0
    while handled < RELAY_BATCH and await relay_one(client, sessions, task_queue):
        handled += 1
    return handled


async def run_relay(
    client: Client, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> None:
    while True:
        try:
            await relay_pending(client, sessions, task_queue)
        except Exception:
            log.warning("webhook relay could not forward yet; will retry", exc_info=True)
        await asyncio.sleep(RELAY_INTERVAL_S)
