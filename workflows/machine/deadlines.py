"""The order's deadlines: pure functions of its policy and its times."""

from datetime import datetime, timedelta

from mentoring.domain import OrderPolicy

BOOKING_PATIENCE = timedelta(hours=12)
BOOKING_MARGIN = timedelta(minutes=30)
MINIMUM_PATIENCE = timedelta(seconds=60)
# A booking attempt that outlived its worker may still land this long after the booking gave up:
# the half-made event is looked for and removed once more then.
CALENDAR_SWEEP_DELAY = timedelta(minutes=5)
# Refunds that gave up (Xendit down or refusing) are asked again this long after each round;
# after the last, a person pays the money back.
REFUND_RETRY_DELAYS = (timedelta(hours=1), timedelta(hours=6), timedelta(hours=24))
MAX_RESCHEDULES = 5
MAX_RECORDED_DUPLICATES = 3
# Payments for other invoices of the order handed over to be refunded; more are only counted.
MAX_STRAY_INVOICES = 3


def payment_deadline(policy: OrderPolicy, created_at: datetime, start: datetime) -> datetime:
    return min(
        created_at + timedelta(seconds=policy.payment_window_s),
        start - timedelta(seconds=policy.payment_cutoff_before_start_s),
    )


def decision_deadline(policy: OrderPolicy, paid_at: datetime, start: datetime) -> datetime:
    return min(
        paid_at + timedelta(seconds=policy.decision_window_s),
        start - timedelta(seconds=policy.decision_cutoff_before_start_s),
    )


def mentor_reminder_at(paid_at: datetime, deadline: datetime) -> datetime:
    """Halfway between the payment and the decision deadline."""
    paid_at = min(paid_at, deadline)
    return paid_at + (deadline - paid_at) / 2


def cancellation_cutoff(policy: OrderPolicy, start: datetime) -> datetime:
    return start - timedelta(seconds=policy.mentee_cancellation_cutoff_s)


def earliest_reschedule_start(policy: OrderPolicy, now: datetime) -> datetime:
    return now + timedelta(seconds=policy.mentee_cancellation_cutoff_s)


def reminder_at(start: datetime, offset_s: int) -> datetime:
    return start - timedelta(seconds=offset_s)


def reminders_due(policy: OrderPolicy, start: datetime, now: datetime) -> tuple[int, ...]:
    """The reminder offsets still in the future, soonest reminder first."""
    offsets = (s for s in policy.reminder_offsets_s if reminder_at(start, s) > now)
    return tuple(sorted(offsets, reverse=True))


def booking_patience(start: datetime, now: datetime) -> timedelta:
    """How long a Google outage is waited out: until shortly before the session, 12 h at most."""
    return max(MINIMUM_PATIENCE, min(start - BOOKING_MARGIN - now, BOOKING_PATIENCE))


def invoice_patience(deadline: datetime, now: datetime) -> timedelta:
    return max(deadline - now, MINIMUM_PATIENCE)


def close_at(policy: OrderPolicy, ended_at: datetime) -> datetime:
    """A terminal order stays open this long to take (and refund) a late payment."""
    return ended_at + timedelta(seconds=policy.late_payment_grace_s)


def retry_at(rounds_done: int, now: datetime) -> datetime | None:
    """When a command that gave up is tried again (refunds, payment checks); None: no more."""
    if rounds_done > len(REFUND_RETRY_DELAYS):
        return None
    return now + REFUND_RETRY_DELAYS[rounds_done - 1]


def refund_check_at(policy: OrderPolicy, now: datetime) -> datetime:
    return now + timedelta(seconds=policy.refund_check_interval_s)
