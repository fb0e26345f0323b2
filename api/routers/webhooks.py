"""Xendit's invoice and refund callbacks: authenticate, store, acknowledge, forward."""

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from api.callbacks import InvoiceCallback, RefundCallback, inline_schema, read_callback
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError, error_responses
from api.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from api.webhook_relay import forward, mark_forwarded
from mentoring.domain import REFUND_KEY_PREFIX
from mentoring.tables import WebhookEvent

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)


def require_xendit(
    settings: SettingsDep, x_callback_token: Annotated[str | None, Header()] = None
) -> None:
    """Xendit's `x-callback-token`, compared in constant time with the configured one."""
    expected = settings.xendit_callback_token.encode()
    token = x_callback_token
    if not (expected and token and hmac.compare_digest(expected, token.encode())):
        WEBHOOKS_REJECTED.inc()
        raise ApiError(401, "invalid_callback_token", "the x-callback-token header is not valid")


def _callback_route(body: type[BaseModel]) -> dict[str, Any]:
    """The body is read by hand (stored as it came), so the route declares it for OpenAPI."""
    return {
        "dependencies": [Depends(require_xendit)],
        "responses": error_responses(401, 413, 422, 503),
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": inline_schema(body)}},
            }
        },
    }


class WebhookAck(BaseModel):
    received: bool
    event_id: int


@router.post("/xendit/invoice", **_callback_route(InvoiceCallback))
async def xendit_invoice_callback(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> WebhookAck:
    payload, callback = await read_callback(request, InvoiceCallback, "not an invoice callback")
    event = WebhookEvent(
        provider="xendit",
        event_type=callback.status,
        invoice_id=callback.id,
        external_id=callback.external_id,
        payload=payload,
    )
    return await _store_and_forward(session, temporal, settings, event)


@router.post("/xendit/refund", **_callback_route(RefundCallback))
async def xendit_refund_callback(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
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
    return await _store_and_forward(session, temporal, settings, event)


async def _store_and_forward(
    session: SessionDep, temporal: TemporalDep, settings: SettingsDep, event: WebhookEvent
) -> WebhookAck:
    """Stored before it is acknowledged; forwarded now, or by the relay later."""
    session.add(event)
    await session.commit()
    WEBHOOKS_RECEIVED.labels(event.event_type).inc()
    try:
        note = await forward(temporal, event, settings.temporal_task_queue)
        await mark_forwarded(session, event.id, note)
    except Exception:
        log.warning("callback %s stored; the relay will forward it", event.id, exc_info=True)
    return WebhookAck(received=True, event_id=event.id)
