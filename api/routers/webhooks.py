"""Xendit's invoice and refund callbacks: authenticate, store, acknowledge, forward."""

import hmac
import logging
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError, error_responses
from api.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from api.webhook_relay import forward, mark_forwarded
from mentoring.domain import REFUND_KEY_PREFIX
from mentoring.tables import WebhookEvent

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)


class InvoiceCallback(BaseModel):
    """The fields we rely on; the whole payload is stored as it came."""

    model_config = ConfigDict(extra="allow")

    # The columns they are stored in hold no more (a longer value was a 500).
    id: str = Field(max_length=64)
    external_id: str = Field(max_length=200)
    status: str = Field(max_length=32)


def _without_nul(value: Any) -> Any:
    """Postgres (text, JSONB) cannot hold a NUL character: each becomes U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


class RefundCallbackData(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=200)
    status: str = Field(max_length=25)
    reference_id: str | None = Field(default=None, max_length=200)
    invoice_id: str | None = Field(default=None, max_length=64)


class RefundCallback(BaseModel):
    """Xendit's refund callback; the whole payload is stored as it came."""

    model_config = ConfigDict(extra="allow")

    event: str = Field(max_length=64)
    data: RefundCallbackData


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place: an OpenAPI document
    cannot resolve pydantic's local `$defs`."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


Callback = TypeVar("Callback", InvoiceCallback, RefundCallback)


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
        "responses": error_responses(401, 422),
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _inline_schema(body)}},
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
) -> WebhookAck:
    payload, callback = await _parse(request, InvoiceCallback, "not an invoice callback")
    event = WebhookEvent(
        provider="xendit",
        event_type=callback.status.upper(),
        invoice_id=callback.id,
        external_id=callback.external_id,
        payload=payload,
    )
    return await _store_and_forward(session, temporal, event)


@router.post("/xendit/refund", **_callback_route(RefundCallback))
async def xendit_refund_callback(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
) -> WebhookAck:
    """Xendit's `refund.succeeded` / `refund.failed`; the order is the refund's reference_id
    (`refund-<order_id>`)."""
    payload, callback = await _parse(request, RefundCallback, "not a refund callback")
    refund = callback.data
    event = WebhookEvent(
        provider="xendit",
        event_type=f"REFUND_{refund.status.upper()}"[:32],
        invoice_id=refund.invoice_id,
        external_id=(refund.reference_id or "").removeprefix(REFUND_KEY_PREFIX) or None,
        payload=payload,
    )
    return await _store_and_forward(session, temporal, event)


async def _parse(request: Request, model: type[Callback], what: str) -> tuple[Any, Callback]:
    try:
        payload: Any = _without_nul(await request.json())
        return payload, model.model_validate(payload)
    except ValueError as error:
        details = error.errors() if isinstance(error, ValidationError) else None
        raise ApiError(422, "invalid_callback", what, details) from error


async def _store_and_forward(
    session: SessionDep, temporal: TemporalDep, event: WebhookEvent
) -> WebhookAck:
    """Stored before it is acknowledged; forwarded now, or by the relay later."""
    session.add(event)
    await session.commit()
    WEBHOOKS_RECEIVED.labels(event.event_type).inc()
    try:
        note = await forward(temporal, event)
        await mark_forwarded(session, event.id, note)
    except Exception:
        log.warning("callback %s stored; the relay will forward it", event.id, exc_info=True)
    return WebhookAck(received=True, event_id=event.id)
