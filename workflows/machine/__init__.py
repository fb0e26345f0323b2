"""The order's state machine as a pure function: `step(machine, event, now) -> (machine, commands)`.

No Temporal, no I/O, no clock: the workflow feeds it events (messages, timers, the outcomes of
its commands) and carries out the commands it returns.
"""

import dataclasses
from datetime import datetime, timedelta

from mentoring.domain import TERMINAL_STATUSES, OrderInput, OrderStatus
from workflows.machine import deadlines
from workflows.machine.builder import Builder
from workflows.machine.messages import (
    admit,
    on_invoice_expired,
    on_payment_claimed,
    on_refund_reported,
    on_request,
    on_timer,
)
from workflows.machine.model import (
    Command,
    Done,
    Event,
    GaveUp,
    InvoiceExpired,
    Machine,
    Message,
    OpenOrder,
    PaymentClaimed,
    RefundReported,
    Requested,
    TimerFired,
)
from workflows.machine.results import on_result
from workflows.machine.timers import due_timers, next_timer

__all__ = ["admit", "begin", "due_timers", "next_timer", "step", "take_deferred"]


def begin(order: OrderInput) -> tuple[Machine, list[Command]]:
    """A new order: hold the mentor's time (the database refuses an overlap), then invoice."""
    start = order.start_time
    machine = Machine(
        order=order,
        status=OrderStatus.AWAITING_PAYMENT,
        start=start,
        end=start + timedelta(minutes=order.duration_minutes),
        payment_deadline=deadlines.payment_deadline(order.policy, order.created_at, start),
    )
    now = order.created_at
    b = Builder(machine, now)
    patience = deadlines.invoice_patience(machine.payment_deadline, now)
    duration = max(int((machine.payment_deadline - now).total_seconds()), 60)
    b.wait_for(OpenOrder(b.new_id(), duration, int(patience.total_seconds())))
    return b.m, b.commands


def step(machine: Machine, event: Event, now: datetime) -> tuple[Machine, list[Command]]:
    b = Builder(machine, now)
    if machine.finished and machine.status in TERMINAL_STATUSES and _is_message(event):
        b.set(finished=False)  # a late payment reopens a closed order until it is refunded
    if isinstance(event, (Done, GaveUp)):
        on_result(b, event)
    elif isinstance(event, TimerFired):
        on_timer(b, event.timer)
    elif isinstance(event, RefundReported):
        on_refund_reported(b, event)
    elif machine.waiting is not None:
        b.set(deferred=(*machine.deferred, event))
    elif isinstance(event, PaymentClaimed):
        on_payment_claimed(b, event)
    elif isinstance(event, InvoiceExpired):
        on_invoice_expired(b, event)
    else:
        assert isinstance(event, Requested)
        on_request(b, event)
    return b.m, b.commands


def _is_message(event: Event) -> bool:
    return isinstance(event, (PaymentClaimed, InvoiceExpired, RefundReported, Requested))


def take_deferred(machine: Machine) -> tuple[Machine, Message] | None:
    """The oldest message that waited for a blocking command, once nothing blocks."""
    if machine.waiting is not None or not machine.deferred:
        return None
    first, *rest = machine.deferred
    return dataclasses.replace(machine, deferred=tuple(rest)), first
