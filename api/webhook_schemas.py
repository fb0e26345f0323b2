"""Bodies of the outgoing-webhook routes: endpoints, and the messages owed to them."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, JsonValue

from api.schemas import NO_NUL
from mentoring.tables import WebhookAttempt, WebhookEndpoint, WebhookMessage
from mentoring.webhook_events import EventType


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(description="http(s) URL that takes the POSTs")
    event_types: list[EventType] = Field(
        default_factory=list, max_length=12, description="the events it takes; empty: all"
    )
    description: str | None = Field(default=None, max_length=200, pattern=NO_NUL)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    event_types: list[EventType] | None = Field(default=None, max_length=12)
    description: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    active: bool | None = Field(default=None, description="true re-enables a disabled endpoint")


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    secret: str = Field(description="whsec_...: verifies the webhook-signature header")
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> "EndpointOut":
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            active=endpoint.active,
            disabled_reason=endpoint.disabled_reason,
            secret=endpoint.secret,
            created_at=endpoint.created_at,
        )


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> "AttemptOut":
        return cls(
            at=attempt.at,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class MessageOut(BaseModel):
    message_id: str
    order_id: uuid.UUID
    seq: int
    event_type: str
    status: Literal["pending", "delivered", "abandoned"]
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, JsonValue]
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, message: WebhookMessage, attempts: list[WebhookAttempt]) -> "MessageOut":
        return cls(
            message_id=message.message_id,
            order_id=message.order_id,
            seq=message.seq,
            event_type=message.event_type,
            status=message.status,
            created_at=message.created_at,
            delivered_at=message.delivered_at,
            payload=message.payload,
            attempts=[AttemptOut.of(attempt) for attempt in attempts],
        )
