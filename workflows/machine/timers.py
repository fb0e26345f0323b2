"""When the machine next needs the clock: every timer it has running, as data."""

from datetime import datetime

from mentoring.domain import TERMINAL_STATUSES, OrderStatus, RefundStatus
from workflows.machine import deadlines
from workflows.machine.codes import Timer
from workflows.machine.model import Machine


def due_timers(m: Machine) -> list[tuple[Timer, datetime]]:
    """Every timer running now, each with the moment it fires."""
    if m.finished:
        return []
    timers: list[tuple[Timer, datetime]] = []
    if m.waiting is None:
        timers.extend(_status_timer(m))
    refund = m.refund
    if refund.retry_at is not None:
        timers.append((Timer.REFUND_RETRY, refund.retry_at))
    if refund.check_at is not None:
        timers.append((Timer.REFUND_CHECK, refund.check_at))
    if m.verify_at is not None:
        timers.append((Timer.VERIFY_RETRY, m.verify_at))
    if m.sweep_at is not None:
        timers.append((Timer.CALENDAR_SWEEP, m.sweep_at))
    terminal = m.status in TERMINAL_STATUSES and m.closes_at is not None
    if terminal and not timers and m.waiting is None and not m.deferred and _refund_at_rest(m):
        assert m.closes_at is not None
        timers.append((Timer.CLOSE, m.closes_at))
    return timers


def _refund_at_rest(m: Machine) -> bool:
    """No refund asked for and unanswered: an order never closes on money in flight."""
    return not (m.refund.status == RefundStatus.PENDING and m.refund.refund_id is None)


def _status_timer(m: Machine) -> list[tuple[Timer, datetime]]:
    if m.status == OrderStatus.AWAITING_PAYMENT and m.invoice is not None:
        return [(Timer.PAYMENT_DEADLINE, m.payment_deadline)]
    if m.status == OrderStatus.AWAITING_MENTOR:
        assert m.decision_deadline is not None and m.payment is not None
        if not m.mentor_reminded:
            at = deadlines.mentor_reminder_at(m.payment.paid_at, m.decision_deadline)
            return [(Timer.MENTOR_REMINDER, at)]
        return [(Timer.DECISION_DEADLINE, m.decision_deadline)]
    if m.status == OrderStatus.CONFIRMED:
        if m.reminders_due:
            return [(Timer.SESSION_REMINDER, deadlines.reminder_at(m.start, m.reminders_due[0]))]
        return [(Timer.SESSION_END, m.end)]
    return []


def next_timer(m: Machine) -> tuple[Timer, datetime] | None:
    """The timer that fires first, if any runs."""
    timers = due_timers(m)
    return min(timers, key=lambda timer: timer[1]) if timers else None
