"""The orders' own metrics and log line, taken where each transition is written (records.py):
once per transition, by the attempt whose timeline row went in (a retry adds nothing)."""

import re

import structlog
from prometheus_client import Counter, Histogram

from mentoring.domain import TERMINAL_STATUSES, OrderStatus, TransitionRecord

ORDER_TRANSITIONS = Counter(
    "mentoring_order_transitions_total",
    "Status changes of orders: the status left, the status reached, and why for an end",
    ["from_status", "to_status", "reason"],
)
PAID_TO_CONFIRMED = Histogram(
    "mentoring_order_paid_to_confirmed_seconds",
    "From the payment to the booked session (the mentor's decision included)",
    buckets=(5, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 48 * 3600),
)
REFUNDS = Counter(
    "mentoring_refunds_total",
    "Refund steps of orders: requested, pending, succeeded, failed, manual_required, still_pending",
    ["status"],
)
ORDERS_FLAGGED = Counter(
    "mentoring_orders_flagged_total",
    "Flags raised on orders (needs_admin), by flag: each a case for a person",
    ["flag"],
)

REFUND_EVENT_PREFIX = "refund_"
# `admin_note` lists the open flags: "code: detail; code".
_FLAG = re.compile(r"(?:^|; )([a-z_]+)(?=: |; |$)")

log = structlog.get_logger("activities.records")


def flags_of(admin_note: str | None) -> set[str]:
    return set(_FLAG.findall(admin_note or ""))


def observe_transition(record: TransitionRecord, previous_admin_note: str | None) -> None:
    state = record.state
    log.info(
        "order transition",
        order_id=record.order_id,
        seq=record.seq,
        transition=record.event,
        from_status=record.from_status,
        to_status=record.to_status,
    )
    if record.to_status is not None and record.from_status != record.to_status:
        ended = record.to_status in TERMINAL_STATUSES
        reason = (state.status_reason or "") if ended else ""
        ORDER_TRANSITIONS.labels(record.from_status or "", record.to_status, reason).inc()
        if record.to_status == OrderStatus.CONFIRMED and state.paid_at is not None:
            PAID_TO_CONFIRMED.observe(max((record.at - state.paid_at).total_seconds(), 0.0))
    if record.event.startswith(REFUND_EVENT_PREFIX):
        REFUNDS.labels(record.event.removeprefix(REFUND_EVENT_PREFIX)).inc()
    for flag in sorted(flags_of(state.admin_note) - flags_of(previous_admin_note)):
        ORDERS_FLAGGED.labels(flag).inc()
