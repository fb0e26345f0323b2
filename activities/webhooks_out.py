"""Outgoing webhooks: what a transition owes each registered endpoint, and its delivery.

A transition's events are written to the outbox (`webhook_messages`) in the same transaction
as its timeline row, so none is lost and none is made twice; then the endpoint's delivery
workflow for that order is woken (signal-with-start). Records of one order are written one at
a time, in order, so the outbox holds each order's events in the order they happened, and the
delivery sends them in that order, each signed the Standard Webhooks way.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks.webhooks import Webhook
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from mentoring.contract import WEBHOOK_DELIVERY_WORKFLOW, Signal, webhook_delivery_workflow_id
from mentoring.db import session_factory
from mentoring.domain import TransitionRecord, WebhookDeliveryInput
from mentoring.settings import Settings
from mentoring.tables import WebhookAttempt, WebhookEndpoint, WebhookMessage
from mentoring.webhook_events import event_types_of, payload

MESSAGE_NAMESPACE = uuid.UUID("5b0e6a7c-9d1f-4e2a-8c3b-7a6f1d2e4b90")
MAX_ERROR = 500


def message_id(endpoint_id: uuid.UUID, order_id: str, seq: int, event_type: str) -> str:
    """The Standard Webhooks `webhook-id`: the same for every retry of one message."""
    return (
        f"msg_{uuid.uuid5(MESSAGE_NAMESPACE, f'{endpoint_id}:{order_id}:{seq}:{event_type}').hex}"
    )


async def enqueue(session: AsyncSession, record: TransitionRecord) -> list[uuid.UUID]:
    """Write the transition's events for every active endpoint that takes them (in the
    caller's transaction); the endpoints that were given something."""
    types = event_types_of(record)
    if not types:
        return []
    endpoints = (await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active))).all()
    given: list[uuid.UUID] = []
    for endpoint in endpoints:
        wanted = [t for t in types if not endpoint.event_types or t in endpoint.event_types]
        for event_type in wanted:
            await session.execute(
                insert(WebhookMessage)
                .values(
                    endpoint_id=endpoint.id,
                    order_id=uuid.UUID(record.order_id),
                    seq=record.seq,
                    event_type=event_type,
                    message_id=message_id(endpoint.id, record.order_id, record.seq, event_type),
                    payload=payload(event_type, record),
                    status="pending",
                    attempts=0,
                    created_at=record.at,
                )
                .on_conflict_do_nothing()
            )
        if wanted:
            given.append(endpoint.id)
    return given


async def wake(
    client: Client, settings: Settings, endpoint_ids: list[uuid.UUID], order_id: str
) -> None:
    """Start each endpoint's delivery for the order, or tell the running one there is more."""
    for endpoint_id in endpoint_ids:
        request = WebhookDeliveryInput(
            endpoint_id=str(endpoint_id),
            order_id=order_id,
            retry_initial_s=settings.webhook_retry_initial.total_seconds(),
            give_up_after_s=settings.webhook_give_up_after.total_seconds(),
        )
        await client.start_workflow(
            WEBHOOK_DELIVERY_WORKFLOW,
            request,
            id=webhook_delivery_workflow_id(str(endpoint_id), order_id),
            task_queue=settings.temporal_task_queue,
            start_signal=Signal.WEBHOOK_MESSAGES,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


@dataclass(frozen=True)
class _Sent:
    status_code: int | None
    error: str | None
    duration_ms: int


def signed_headers(
    secret: str, message: WebhookMessage, body: str, now: datetime
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message.message_id, now, body),
        "user-agent": "mentoring-order-engine-webhooks/1",
    }


class WebhookActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._sessions = session_factory(engine)
        self._timeout_s = settings.webhook_timeout.total_seconds()

    async def _post(self, endpoint: WebhookEndpoint, message: WebhookMessage) -> _Sent:
        body = json.dumps(message.payload, separators=(",", ":"))
        headers = signed_headers(endpoint.secret, message, body, datetime.now(UTC))
        began = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as http:
                response = await http.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as failure:
            took = int((time.monotonic() - began) * 1000)
            return _Sent(None, f"{type(failure).__name__}: {failure}"[:MAX_ERROR], took)
        took = int((time.monotonic() - began) * 1000)
        refused = None if response.is_success else f"HTTP {response.status_code}"
        return _Sent(response.status_code, refused, took)

    @activity.defn
    async def deliver_pending(self, request: WebhookDeliveryInput) -> int:
        """Send the endpoint every pending event of the order, oldest first; stop at the first
        refusal (raised, so Temporal tries again later). Each attempt is logged."""
        endpoint_id, order_id = uuid.UUID(request.endpoint_id), uuid.UUID(request.order_id)
        delivered = 0
        async with self._sessions() as session:
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            if endpoint is None or not endpoint.active:
                await _abandon(session, endpoint_id, order_id)
                return 0
            pending = (
                await session.scalars(
                    select(WebhookMessage)
                    .where(
                        WebhookMessage.endpoint_id == endpoint_id,
                        WebhookMessage.order_id == order_id,
                        WebhookMessage.status == "pending",
                    )
                    .order_by(WebhookMessage.seq, WebhookMessage.id)
                )
            ).all()
            await session.commit()
            for message in pending:
                sent = await self._post(endpoint, message)
                now = datetime.now(UTC)
                session.add(
                    WebhookAttempt(
                        message_id=message.id,
                        endpoint_id=endpoint_id,
                        at=now,
                        status_code=sent.status_code,
                        error=sent.error,
                        duration_ms=sent.duration_ms,
                    )
                )
                message.attempts += 1
                if sent.error is None:
                    message.status, message.delivered_at = "delivered", now
                await session.commit()
                if sent.error is not None:
                    raise ApplicationError(
                        f"{endpoint.url} did not take {message.message_id}: {sent.error}",
                        type="WebhookRefused",
                    )
                delivered += 1
        return delivered

    @activity.defn
    async def give_up_endpoint(self, request: WebhookDeliveryInput) -> None:
        """The endpoint refused for the whole retry window: disable it, say why, and leave its
        undelivered events as abandoned (listed, never sent)."""
        endpoint_id = uuid.UUID(request.endpoint_id)
        hours = request.give_up_after_s / 3600
        async with self._sessions() as session:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id)
                .values(
                    active=False,
                    disabled_reason=f"failing for {hours:g} h (order {request.order_id})",
                    updated_at=datetime.now(UTC),
                )
            )
            await _abandon(session, endpoint_id, uuid.UUID(request.order_id))
        activity.logger.error("webhook endpoint %s disabled after failing", endpoint_id)


async def _abandon(session: AsyncSession, endpoint_id: uuid.UUID, order_id: uuid.UUID) -> None:
    await session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.endpoint_id == endpoint_id,
            WebhookMessage.order_id == order_id,
            WebhookMessage.status == "pending",
        )
        .values(status="abandoned")
    )
    await session.commit()
