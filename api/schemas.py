"""Request and response bodies of the HTTP API (contract: docs/api.md)."""

import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    JsonValue,
    field_validator,
)

from mentoring.tables import Mentor, Order, OrderEvent

TIMEZONES: list[JsonValue] = [*sorted(available_timezones())]
# Postgres cannot store NUL in text: refuse it (422) rather than fail on the insert (500).
NO_NUL = r"^[^\x00]*$"
# Names and the topic go into email headers (To, Subject): one line, no control characters.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"


def known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r}") from error
    return value


class MentorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=ONE_LINE)
    email: EmailStr
    timezone: str = Field(
        default="Asia/Jakarta",
        description="an IANA time zone",
        json_schema_extra={"enum": TIMEZONES},
    )
    hourly_rate: int = Field(gt=0, le=100_000_000, description="IDR per hour")
    calendar_id: str | None = Field(default=None, max_length=320, pattern=NO_NUL)
    locale: Literal["id", "en"] = "id"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)


class MentorOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    timezone: str
    hourly_rate: int
    calendar_id: str | None
    locale: str
    active: bool

    @classmethod
    def of(cls, mentor: Mentor) -> "MentorOut":
        return cls(
            id=mentor.id,
            name=mentor.name,
            email=mentor.email,
            timezone=mentor.timezone,
            hourly_rate=mentor.hourly_rate,
            calendar_id=mentor.calendar_id,
            locale=mentor.locale,
            active=mentor.active,
        )


class MenteeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=ONE_LINE)
    email: EmailStr
    locale: Literal["id", "en"] = "id"
    timezone: str = Field(
        default="Asia/Jakarta",
        description="an IANA time zone: the mentee's emails and pages show times in it",
        json_schema_extra={"enum": TIMEZONES},
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentor_id: uuid.UUID
    mentee: MenteeIn
    topic: str = Field(min_length=1, max_length=500, pattern=ONE_LINE)
    start_time: AwareDatetime
    duration_minutes: int
    notes: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "decline"]
    reason: str | None = Field(default=None, max_length=1000, pattern=NO_NUL)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000, pattern=NO_NUL)
    by: Literal["mentee", "mentor", "admin"] | None = Field(
        default=None,
        description="who cancels; the frontend key may say mentee or mentor, "
        "an admin key is always admin, a mentor link always mentor",
    )


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: AwareDatetime
    by: Literal["mentee", "mentor", "admin"] | None = None


class MenteeOut(BaseModel):
    name: str
    email: str
    locale: str
    timezone: str


class PaymentOut(BaseModel):
    invoice_id: str | None
    invoice_url: str | None
    status: str
    deadline: datetime
    paid_amount: int | None
    paid_at: datetime | None
    method: str | None
    channel: str | None


class MentorDecisionOut(BaseModel):
    decision: str | None
    reason: str | None
    decided_at: datetime | None
    deadline: datetime | None


class SessionOut(BaseModel):
    calendar_event_id: str | None
    meet_url: str | None


class RefundOut(BaseModel):
    status: str
    amount: int | None
    refund_id: str | None


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]


class OrderOut(BaseModel):
    id: uuid.UUID
    status: str
    status_reason: str | None
    mentor_id: uuid.UUID
    mentee: MenteeOut
    topic: str
    notes: str | None
    start_time: datetime
    end_time: datetime
    duration_minutes: int
    amount: int
    currency: str
    payment: PaymentOut
    mentor_decision: MentorDecisionOut
    session: SessionOut
    refund: RefundOut
    needs_admin: bool
    admin_note: str | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] | None = None

    @classmethod
    def of(cls, order: Order, events: list[OrderEvent] | None = None) -> "OrderOut":
        return cls(
            id=order.id,
            status=order.status,
            status_reason=order.status_reason,
            mentor_id=order.mentor_id,
            mentee=MenteeOut(
                name=order.mentee_name,
                email=order.mentee_email,
                locale=order.mentee_locale,
                timezone=order.mentee_timezone,
            ),
            topic=order.topic,
            notes=order.notes,
            start_time=order.start_time,
            end_time=order.end_time,
            duration_minutes=order.duration_minutes,
            amount=order.amount,
            currency=order.currency,
            payment=PaymentOut(
                invoice_id=order.invoice_id,
                invoice_url=order.invoice_url,
                status=order.payment_status,
                deadline=order.payment_deadline,
                paid_amount=order.paid_amount,
                paid_at=order.paid_at,
                method=order.payment_method,
                channel=order.payment_channel,
            ),
            mentor_decision=MentorDecisionOut(
                decision=order.mentor_decision,
                reason=order.decision_reason,
                decided_at=order.decided_at,
                deadline=order.decision_deadline,
            ),
            session=SessionOut(calendar_event_id=order.calendar_event_id, meet_url=order.meet_url),
            refund=RefundOut(
                status=order.refund_status, amount=order.refund_amount, refund_id=order.refund_id
            ),
            needs_admin=order.needs_admin,
            admin_note=order.admin_note,
            created_at=order.created_at,
            updated_at=order.updated_at,
            timeline=None
            if events is None
            else [
                TimelineEntry(
                    at=e.at,
                    event=e.event,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    data=e.data,
                )
                for e in events
            ],
        )


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    limit: int
    offset: int
