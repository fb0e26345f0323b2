"""Outgoing webhooks: an admin registers the endpoints that hear about orders, and reads what
was delivered to each (every attempt). Delivery itself is the worker's (Temporal)."""

import base64
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from sqlalchemy import select

from api.deps import AdminCaller, SessionDep, only_query
from api.errors import ApiError, error_responses
from api.webhook_schemas import EndpointCreate, EndpointOut, EndpointUpdate, MessageOut
from mentoring.tables import WebhookAttempt, WebhookEndpoint, WebhookMessage

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhook endpoints"])

CREATE_EXAMPLES: dict[str, Any] = {
    "all": {"summary": "Every event", "value": {"url": "https://app.example.com/hooks/orders"}},
    "some": {
        "summary": "Payments and endings only",
        "value": {
            "url": "https://app.example.com/hooks/orders",
            "event_types": ["order.paid", "order.cancelled", "order.refunded"],
            "description": "billing",
        },
    },
}


UPDATE_EXAMPLES: dict[str, Any] = {
    "enable": {"summary": "Turn a disabled endpoint back on", "value": {"active": True}},
    "filter": {"summary": "Only the endings", "value": {"event_types": ["order.cancelled"]}},
}


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def _endpoint(session: SessionDep, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise ApiError(404, "endpoint_not_found", "no webhook endpoint with this id")
    return endpoint


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 401, 403, 422, 503)
)
async def create_webhook_endpoint(
    body: Annotated[EndpointCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    _: AdminCaller,
    session: SessionDep,
) -> EndpointOut:
    now = datetime.now(UTC)
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=str(body.url),
        description=body.description,
        secret=new_secret(),
        event_types=list(body.event_types),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.commit()
    return EndpointOut.of(endpoint)


@router.get("", responses=error_responses(401, 403, 503))
async def list_webhook_endpoints(_: AdminCaller, session: SessionDep) -> list[EndpointOut]:
    rows = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return [EndpointOut.of(endpoint) for endpoint in rows]


@router.get("/{endpoint_id}", responses=error_responses(401, 403, 404, 422, 503))
async def get_webhook_endpoint(
    endpoint_id: uuid.UUID, _: AdminCaller, session: SessionDep
) -> EndpointOut:
    return EndpointOut.of(await _endpoint(session, endpoint_id))


@router.patch("/{endpoint_id}", responses=error_responses(400, 401, 403, 404, 422, 503))
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID,
    body: Annotated[EndpointUpdate, Body(openapi_examples=UPDATE_EXAMPLES)],
    _: AdminCaller,
    session: SessionDep,
) -> EndpointOut:
    """Only the fields given change; `active: true` re-enables an endpoint disabled for
    failing (new events only: those abandoned stay abandoned)."""
    endpoint = await _endpoint(session, endpoint_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        endpoint.url = str(body.url)
    if changes.get("event_types") is not None:
        endpoint.event_types = list(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("active") is not None:
        endpoint.active = bool(changes["active"])
        endpoint.disabled_reason = None if endpoint.active else "disabled by an admin"
    endpoint.updated_at = datetime.now(UTC)
    await session.commit()
    return EndpointOut.of(endpoint)


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def delete_webhook_endpoint(
    endpoint_id: uuid.UUID, _: AdminCaller, session: SessionDep
) -> Response:
    await session.delete(await _endpoint(session, endpoint_id))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{endpoint_id}/messages",
    responses=error_responses(401, 403, 404, 422, 503),
    dependencies=[Depends(only_query("order_id", "status", "limit"))],
)
async def list_webhook_messages(
    endpoint_id: uuid.UUID,
    _: AdminCaller,
    session: SessionDep,
    order_id: uuid.UUID | None = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|delivered|abandoned)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessageOut]:
    """The events owed to the endpoint, newest first, each with every delivery attempt."""
    await _endpoint(session, endpoint_id)
    query = select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id)
    if order_id is not None:
        query = query.where(WebhookMessage.order_id == order_id)
    if status_ is not None:
        query = query.where(WebhookMessage.status == status_)
    messages = (
        await session.scalars(
            query.order_by(WebhookMessage.created_at.desc(), WebhookMessage.id.desc()).limit(limit)
        )
    ).all()
    attempts: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if messages:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.message_id.in_([m.id for m in messages]))
            .order_by(WebhookAttempt.at)
        )
        for attempt in rows:
            attempts[attempt.message_id].append(attempt)
    return [MessageOut.of(message, attempts[message.id]) for message in messages]
