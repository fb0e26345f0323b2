"""Xendit's invoice and refund callbacks: authenticate, store, acknowledge, forward."""

import asyncio
import hmac
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.callback_store import mark_forwarded, store_callback
from api.callbacks import InvoiceCallback, RefundCallback, inline_schema, read_callback
from api.deps import SettingsDep, TemporalDep
from api.errors import ApiError, error_responses
from api.metrics import WEBHOOKS_DUPLICATE, WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from api.webhook_relay import forward
from mentoring.domain import REFUND_KEY_PREFIX
from mentoring.settings import Settings
from mentoring.tables import WebhookEvent
from mentoring.tracing import tag_order

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def require_xendit(
    settings: SettingsDep, x_callback_token: Annotated[str | None, Header()] = None
) -> None:
    """Xendit's `x-callback-token`, compared in constant time with the configured one."""
    expected = settings.xendit_callback_token.encode()
    token = x_callback_token
    if not (expected and token and hmac.compare_digest(expected, token.encode())):
        WEBHOOKS_REJECTED.inc()
        raise ApiError(401, "invalid_callback_token", "the x-callback-token header is not valid")


_ORDER_ID = "0b7e7c1e-5d4f-4a39-8f7c-0e4d8b8f2a61"
INVOICE_CALLBACK_EXAMPLES: dict[str, Any] = {
    "paid": {
        "summary": "An invoice paid by OVO",
        "value": {
            "id": "65f1c0a2b3d4e5f6a7b8c9d0",
            "external_id": _ORDER_ID,
            "user_id": "5f0c1e2d3c4b5a6978877665",
            "is_high": False,
            "payment_method": "EWALLET",
            "status": "PAID",
            "merchant_name": "Nusademy",
            "amount": 300000,
            "paid_amount": 300000,
            "paid_at": "2030-03-01T03:15:42.000Z",
            "payer_email": "budi@example.com",
            "description": "Mentoring: Career switch with Ayu Lestari",
            "created": "2030-03-01T03:05:00.000Z",
            "updated": "2030-03-01T03:15:43.000Z",
            "currency": "IDR",
            "payment_channel": "OVO",
            "ewallet_type": "OVO",
            "payment_id": "ewc_5a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b",
        },
    },
    "expired": {
        "summary": "An invoice that expired unpaid",
        "value": {
            "id": "65f1c0a2b3d4e5f6a7b8c9d0",
            "external_id": _ORDER_ID,
            "user_id": "5f0c1e2d3c4b5a6978877665",
            "status": "EXPIRED",
            "merchant_name": "Nusademy",
            "amount": 300000,
            "created": "2030-03-01T03:05:00.000Z",
            "updated": "2030-03-01T04:05:00.000Z",
            "currency": "IDR",
        },
    },
}
REFUND_CALLBACK_EXAMPLES: dict[str, Any] = {
    "succeeded": {
        "summary": "A refund that went through",
        "value": {
            "event": "refund.succeeded",
            "business_id": "5f0c1e2d3c4b5a6978877665",
            "created": "2030-03-02T08:00:01.000Z",
            "data": {
                "id": "rfd-6b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
                "invoice_id": "65f1c0a2b3d4e5f6a7b8c9d0",
                "reference_id": f"refund-{_ORDER_ID}",
                "amount": 300000,
                "currency": "IDR",
                "status": "SUCCEEDED",
                "reason": "CANCELLATION",
            },
        },
    },
}


def _callback_route(body: type[BaseModel], examples: dict[str, Any], name: str) -> dict[str, Any]:
    """The body is read by hand (stored as it came), so the route declares it for OpenAPI."""
    return {
        "name": name,
        "dependencies": [Depends(require_xendit)],
        "responses": error_responses(401, 413, 422, 503),
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": inline_schema(body), "examples": examples}
                },
            }
        },
    }


class WebhookAck(BaseModel):
    received: bool
    event_id: int


@router.post(
    "/xendit/invoice",
    **_callback_route(
        InvoiceCallback, INVOICE_CALLBACK_EXAMPLES, "receive_xendit_invoice_callback"
    ),
)
async def xendit_invoice_callback(
    request: Request, temporal: TemporalDep, settings: SettingsDep
) -> WebhookAck:
    payload, callback = await read_callback(request, InvoiceCallback, "not an invoice callback")
    event = WebhookEvent(
        provider="xendit",
        event_type=callback.status,
        invoice_id=callback.id,
        external_id=callback.external_id,
        payload=payload,
    )
    return await _store_and_forward(request, temporal, settings, event)


@router.post(
    "/xendit/refund",
    **_callback_route(RefundCallback, REFUND_CALLBACK_EXAMPLES, "receive_xendit_refund_callback"),
)
async def xendit_refund_callback(
    request: Request, temporal: TemporalDep, settings: SettingsDep
) -> WebhookAck:
    """Xendit's `refund.succeeded` / `refund.failed`; the order is the refund's reference_id
    (`refund-<order_id>`)."""
    payload, callback = await read_callback(request, RefundCallback, "not a refund callback")
    refund = callback.data
    event = WebhookEvent(
        provider="xendit",
        event_type=f"REFUND_{refund.status.upper()}"[:32],
        invoice_id=refund.invoice_id,
        external_id=(refund.reference_id or "").removeprefix(REFUND_KEY_PREFIX) or None,
        payload=payload,
    )
    return await _store_and_forward(request, temporal, settings, event)


async def _store_and_forward(
    request: Request, temporal: Client, settings: Settings, event: WebhookEvent
) -> WebhookAck:
    """Stored before it is acknowledged; forwarded now, or by the relay later."""
    if event.external_id is not None and is_uuid(event.external_id):
        tag_order(event.external_id)
    engine: AsyncEngine = request.app.state.engine
    stored = await store_callback(engine, event)
    WEBHOOKS_RECEIVED.labels(event.event_type).inc()
    if stored.duplicate:
        WEBHOOKS_DUPLICATE.labels(event.event_type).inc()
    if not stored.forwarded:
        # Acknowledged once stored: Xendit is answered at once, and the workflow is told just
        # after (or, if this process stops first, by the relay, which forwards what is unmarked).
        event.id = stored.event_id
        task = asyncio.create_task(_forward(engine, temporal, settings.temporal_task_queue, event))
        _forwarding.add(task)
        task.add_done_callback(_forwarding.discard)
    return WebhookAck(received=True, event_id=stored.event_id)


_forwarding: set[asyncio.Task[None]] = set()


async def _forward(
    engine: AsyncEngine, temporal: Client, task_queue: str, event: WebhookEvent
) -> None:
    try:
        note = await forward(temporal, event, task_queue)
        await mark_forwarded(engine, event.id, note)
    except Exception:
        log.warning("callback %s stored; the relay will forward it", event.id, exc_info=True)
