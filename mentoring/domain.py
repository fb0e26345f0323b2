"""Domain types shared by the API, the workflow and the activities.

Everything that crosses the Temporal boundary is a dataclass of plain values (str, int, datetime),
so the default data converter carries it and the workflow stays deterministic.
"""

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_MENTOR = "awaiting_mentor"
    SCHEDULING = "scheduling"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    EXPIRED = "expired"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    FAILED = "failed"


ACTIVE_STATUSES = (
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.AWAITING_MENTOR,
    OrderStatus.SCHEDULING,
    OrderStatus.CONFIRMED,
)
TERMINAL_STATUSES = (
    OrderStatus.COMPLETED,
    OrderStatus.EXPIRED,
    OrderStatus.DECLINED,
    OrderStatus.CANCELLED,
    OrderStatus.FAILED,
)


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"


class RefundStatus(StrEnum):
    NONE = "none"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MANUAL_REQUIRED = "manual_required"


Decision = Literal["approve", "decline"]


# Detail of a refusal the workflow already wrote to the timeline (one its handler, not its
# validator, made): the API must not record it a second time.
REFUSAL_RECORDED = "recorded"


def workflow_id_for(order_id: str) -> str:
    return f"order-{order_id}"


def calendar_event_id_for(order_id: str) -> str:
    """Google's event ids are base32hex (0-9, a-v); the order's UUID bytes give a stable one."""
    raw = uuid.UUID(order_id).bytes
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def email_key(order_id: str, template: str, occurrence: str = "1") -> str:
    return f"{order_id}:{template}:{occurrence}"


REFUND_KEY_PREFIX = "refund-"


def refund_key(order_id: str) -> str:
    """The refund's reference_id: Xendit's refund callbacks name the order by it."""
    return f"{REFUND_KEY_PREFIX}{order_id}"


def refund_idempotency_key(order_id: str, invoice_id: str) -> str:
    """One refund per paid invoice: an order's own payment and an orphan invoice's each get
    theirs, and every retry of either asks for the same one."""
    return f"{REFUND_KEY_PREFIX}{order_id}-{invoice_id}"


def request_fingerprint(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class Person:
    name: str
    email: str
    locale: str = "id"
    timezone: str = "Asia/Jakarta"


@dataclass
class MentorInfo:
    id: str
    name: str
    email: str
    timezone: str
    calendar_id: str | None = None
    locale: str = "id"


@dataclass
class OrderPolicy:
    """The deadlines of the design, in seconds, fixed for the order when it is created."""

    payment_window_s: int
    payment_cutoff_before_start_s: int
    decision_window_s: int
    decision_cutoff_before_start_s: int
    mentee_cancellation_cutoff_s: int
    reminder_offsets_s: list[int]
    late_payment_grace_s: int = 7 * 24 * 3600
    refund_check_interval_s: int = 6 * 3600
    refund_checks: int = 12


@dataclass
class OrderInput:
    order_id: str
    request_hash: str
    mentor: MentorInfo
    mentee: Person
    topic: str
    start_time: datetime
    duration_minutes: int
    amount: int
    currency: str
    policy: OrderPolicy
    created_at: datetime
    notes: str | None = None
    idempotency_key: str | None = None


@dataclass
class OrderState:
    """What the workflow knows of its order; written whole to the read model at each transition."""

    status: OrderStatus
    start_time: datetime
    end_time: datetime
    payment_deadline: datetime
    decision_deadline: datetime | None = None
    status_reason: str | None = None
    invoice_id: str | None = None
    invoice_url: str | None = None
    invoice_expires_at: datetime | None = None
    payment_status: PaymentStatus = PaymentStatus.PENDING
    paid_amount: int | None = None
    paid_currency: str | None = None
    paid_at: datetime | None = None
    payment_method: str | None = None
    payment_channel: str | None = None
    mentor_decision: Decision | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    calendar_event_id: str | None = None
    meet_url: str | None = None
    refund_status: RefundStatus = RefundStatus.NONE
    refund_amount: int | None = None
    refund_id: str | None = None
    needs_admin: bool = False
    admin_note: str | None = None


@dataclass
class PaymentReceived:
    """Xendit's PAID or SETTLED invoice callback, as the workflow needs it."""

    invoice_id: str
    paid_amount: int
    currency: str
    paid_at: datetime | None = None
    method: str | None = None
    channel: str | None = None
    status: str = "PAID"


@dataclass
class PaymentExpired:
    invoice_id: str


@dataclass
class RefundSettled:
    """Xendit's refund callback (`refund.succeeded` or `refund.failed`)."""

    refund_id: str
    status: str


@dataclass
class MentorDecisionInput:
    decision: Decision
    reason: str | None = None
    actor: str = "mentor"


Actor = Literal["mentee", "mentor", "admin", "system"]


@dataclass
class CancelInput:
    by: Actor
    reason: str | None = None


@dataclass
class ResolveInput:
    """An admin resolving an order's flags (all of them when `flags` is empty)."""

    note: str
    flags: list[str] = field(default_factory=list)
    reference: str | None = None
    by: Actor = "admin"


@dataclass
class RescheduleInput:
    start_time: datetime
    by: Actor = "mentee"


@dataclass
class InvoiceReadyInput:
    request_hash: str


@dataclass
class TransitionRecord:
    order_id: str
    seq: int
    at: datetime
    event: str
    from_status: str | None
    to_status: str | None
    state: OrderState
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class LatePaymentInput:
    """A payment for an order whose workflow has closed: believed once Xendit's invoice says
    so, then refunded in full (`LatePaymentWorkflow`)."""

    order_id: str
    payment: PaymentReceived


@dataclass
class WebhookDeliveryInput:
    """Deliver an order's pending events to one endpoint, retrying from `retry_initial_s`
    (doubling, at most hourly) until `give_up_after_s` has passed."""

    endpoint_id: str
    order_id: str
    retry_initial_s: float = 10.0
    give_up_after_s: float = 24 * 3600.0
