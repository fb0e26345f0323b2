"""The events an order's transitions are to the frontend (outgoing webhooks), and their JSON.

A transition (a timeline row) is zero, one or two events: a status change is the event of
that status, and some rows are events of their own (a reschedule, a refund paid, a flag raised
or resolved). The payload carries ids, status, times and money, never a person's name or
address: the frontend reads the order for those.
"""

from typing import Any, Literal

from mentoring.domain import OrderState, TransitionRecord

BY_STATUS = {
    "awaiting_mentor": "order.paid",
    "confirmed": "order.confirmed",
    "declined": "order.declined",
    "cancelled": "order.cancelled",
    "expired": "order.expired",
    "completed": "order.completed",
    "failed": "order.failed",
}
BY_EVENT = {
    "created": "order.created",
    "rescheduled": "order.rescheduled",
    "refund_succeeded": "order.refunded",
    "flag_resolved": "order.resolved",
}
FLAGGING_EVENTS = frozenset(
    {
        "payment_mismatch",
        "payment_unverified",
        "payment_for_unknown_invoice",
        "invoice_not_closed",
        "booking_failed",
        "calendar_cleanup_failed",
        "calendar_move_failed",
        "refund_failed",
        "refund_manual_required",
        "refund_still_pending",
        "email_failed",
    }
)
EventType = Literal[
    "order.created",
    "order.paid",
    "order.confirmed",
    "order.rescheduled",
    "order.declined",
    "order.cancelled",
    "order.expired",
    "order.completed",
    "order.failed",
    "order.refunded",
    "order.flagged",
    "order.resolved",
]


def event_types_of(record: TransitionRecord) -> list[str]:
    """The webhook events a transition is, in the order they happened."""
    types: list[str] = []
    if record.event in BY_EVENT:
        types.append(BY_EVENT[record.event])
    if record.event == "payment_received":  # to awaiting_mentor, or to booking if approved
        types.append("order.paid")
    elif record.from_status != record.to_status and record.to_status in BY_STATUS:
        types.append(BY_STATUS[record.to_status])
    if record.event in FLAGGING_EVENTS and record.state.needs_admin:
        types.append("order.flagged")
    return list(dict.fromkeys(types))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def payload(event_type: str, record: TransitionRecord) -> dict[str, Any]:
    """The body POSTed to an endpoint: Standard Webhooks' `{type, timestamp, data}`."""
    state: OrderState = record.state
    return {
        "type": event_type,
        "timestamp": record.at.isoformat(),
        "data": {
            "order_id": record.order_id,
            "seq": record.seq,
            "event": record.event,
            "status": str(state.status),
            "previous_status": record.from_status,
            "status_reason": state.status_reason,
            "start_time": _iso(state.start_time),
            "end_time": _iso(state.end_time),
            "payment_status": str(state.payment_status),
            "paid_amount": state.paid_amount,
            "paid_currency": state.paid_currency,
            "meet_url": state.meet_url,
            "refund_status": str(state.refund_status),
            "refund_amount": state.refund_amount,
            "needs_admin": state.needs_admin,
        },
    }
