"""What the machine does with what the world tells it: payments, expiries, requests, timers."""

import dataclasses
from datetime import datetime, timedelta

from mentoring.domain import ACTIVE_STATUSES, TERMINAL_STATUSES, OrderStatus, RefundStatus
from workflows.machine import deadlines
from workflows.machine.builder import Builder, pairs
from workflows.machine.codes import Closing, Flag, Reason, Refusal, Role, Template, Timer
from workflows.machine.model import (
    Cancel,
    CheckRefund,
    ClaimSlot,
    Decide,
    DeleteEvent,
    InvoiceExpired,
    InvoiceSeen,
    Machine,
    PaymentClaimed,
    ReadInvoice,
    RefundReported,
    RefundStrayPayment,
    Request,
    Requested,
    Reschedule,
    Resolve,
)
from workflows.machine.resolve import admit_resolve, resolve
from workflows.machine.timers import due_timers

CANCEL_REASONS = {
    "mentee": Reason.CANCELLED_BY_MENTEE,
    "mentor": Reason.CANCELLED_BY_MENTOR,
    "admin": Reason.CANCELLED_BY_ADMIN,
    "system": Reason.CANCELLED_BY_ADMIN,
}


def admit(m: Machine, request: Request, now: datetime) -> Refusal | None:
    """Whether `request` may be taken now; what the update validators ask."""
    policy = m.order.policy
    status = m.status
    if m.invoice is None and m.invoice_answer is not None:
        return Refusal.ORDER_CLOSED  # refused at its creation: there is no order
    if isinstance(request, Resolve):
        return admit_resolve(m, request)
    if isinstance(request, Decide):
        if m.decision is not None:
            return Refusal.DECISION_NOT_ALLOWED
        if status not in (OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_MENTOR):
            return Refusal.DECISION_NOT_ALLOWED
        return None
    if status in TERMINAL_STATUSES:
        return Refusal.ORDER_CLOSED
    if isinstance(request, Cancel):
        if now >= m.start:
            return Refusal.SESSION_STARTED
        if status == OrderStatus.SCHEDULING:
            # Booking waits out a Google outage; a cancel must not hang on it.
            return Refusal.BUSY
        # The cutoff protects the mentor's booked time: an unpaid order costs nobody anything.
        past_cutoff = now > deadlines.cancellation_cutoff(policy, m.start)
        if request.by == "mentee" and m.payment is not None and past_cutoff:
            return Refusal.CANCELLATION_WINDOW_CLOSED
        return None
    if status == OrderStatus.SCHEDULING:
        return Refusal.BUSY
    if now > deadlines.cancellation_cutoff(policy, m.start):
        return Refusal.RESCHEDULE_WINDOW_CLOSED
    if m.reschedules >= deadlines.MAX_RESCHEDULES:
        return Refusal.RESCHEDULE_LIMIT_REACHED
    if request.start.tzinfo is None or request.start < deadlines.earliest_reschedule_start(
        policy, now
    ):
        return Refusal.INVALID_START_TIME
    if request.start == m.start:
        return Refusal.SAME_TIME
    return None


def on_request(b: Builder, requested: Requested) -> None:
    request = requested.request
    refusal = admit(b.m, request, b.now)
    if refusal is not None:
        # Checked again here: the order may have moved since the validator let it in.
        recorded = b.record("request_refused", type=refusal)
        b.reply(requested, refusal, after=recorded)
        return
    m = b.m
    unpaid_invoice = (
        m.status == OrderStatus.AWAITING_PAYMENT and m.invoice is not None and m.payment is None
    )
    if isinstance(request, Decide):
        b.set(decision=request.approve, decision_text=request.text, decided_at=b.now)
        if not request.approve:
            if unpaid_invoice:
                b.close_invoice(Closing.DECLINE, requested)
            else:
                decline(b, Reason.DECLINED_BY_MENTOR, request.text, request.actor, requested)
            return
        if m.status == OrderStatus.AWAITING_MENTOR:
            recorded = b.record(
                "mentor_approved", becomes=OrderStatus.SCHEDULING, actor=request.actor
            )
            b.book()
        else:
            recorded = b.record("mentor_approved", actor=request.actor)
        b.reply(requested, after=recorded)
    elif isinstance(request, Cancel):
        if unpaid_invoice:
            b.close_invoice(Closing.CANCEL, requested)
        else:
            cancel(b, request, requested)
    elif isinstance(request, Resolve):
        resolve(b, request, requested)
    else:
        claim_slot(b, request, requested)


def claim_slot(b: Builder, request: Reschedule, requested: Requested) -> None:
    m, policy = b.m, b.m.order.policy
    start = request.start
    end = start + (m.end - m.start)
    decision_deadline = m.decision_deadline
    if decision_deadline is not None:
        cutoff = timedelta(seconds=policy.decision_cutoff_before_start_s)
        decision_deadline = min(decision_deadline, start - cutoff)
    payment_cutoff = timedelta(seconds=policy.payment_cutoff_before_start_s)
    claim = ClaimSlot(
        id=b.new_id(),
        seq=b.new_seq(),
        start=start,
        end=end,
        payment_deadline=min(m.payment_deadline, start - payment_cutoff),
        decision_deadline=decision_deadline,
        data=pairs(
            by=request.by, old_start_time=m.start.isoformat(), new_start_time=start.isoformat()
        ),
    )
    b.wait_for(claim, requested)


def decline(
    b: Builder,
    reason: Reason,
    text: str | None,
    actor: str,
    requested: Requested | None = None,
) -> None:
    if b.m.decision is None:
        b.set(decision=False, decided_at=b.now)
    b.finish(OrderStatus.DECLINED, reason, text)
    recorded = b.record(
        "declined", becomes=OrderStatus.DECLINED, actor=actor, reason=text or reason
    )
    refund = b.refund()
    b.email(Template.DECLINED, Role.MENTEE, reason=reason, reason_text=text, refund=refund)
    b.email(Template.DECLINED, Role.MENTOR, reason=reason, reason_text=text)
    b.reply(requested, after=recorded)


def mentor_involved(m: Machine) -> bool:
    """Whether the mentor knows of the order: asked to decide (the request goes out with the
    payment, and sets the decision deadline), or decided already. Only then are they told how
    it ends; an unpaid order nobody decided on ends without troubling them."""
    return m.decision_deadline is not None or m.decision is not None


def cancel(b: Builder, request: Cancel, requested: Requested | None) -> None:
    reason = CANCEL_REASONS[request.by]
    involved = mentor_involved(b.m)
    if b.m.event_id is not None:
        b.issue(DeleteEvent(b.new_id()))
    b.finish(OrderStatus.CANCELLED, reason, request.text)
    recorded = b.record(
        "cancelled", becomes=OrderStatus.CANCELLED, by=request.by, reason=request.text or reason
    )
    refund = b.refund()
    b.email(Template.CANCELLED, Role.MENTEE, reason=reason, reason_text=request.text, refund=refund)
    if involved:
        b.email(Template.CANCELLED, Role.MENTOR, reason=reason, reason_text=request.text)
    b.reply(requested, after=recorded)


def count_duplicate(b: Builder, event: str, data: dict[str, object]) -> None:
    """Duplicates are recorded a few times, then only counted: they cannot grow the history."""
    if b.m.duplicates < deadlines.MAX_RECORDED_DUPLICATES:
        b.record_data(event, data)
    b.set(duplicates=b.m.duplicates + 1)


def on_payment_claimed(b: Builder, claim: PaymentClaimed) -> None:
    m = b.m
    data: dict[str, object] = {"invoice_id": claim.invoice_id, "paid_amount": claim.amount}
    if m.invoice is None or claim.invoice_id != m.invoice.invoice_id:
        if claim.invoice_id in m.strays or len(m.strays) >= deadlines.MAX_STRAY_INVOICES:
            count_duplicate(b, "payment_for_unknown_invoice", data)
            return
        b.set(strays=(*m.strays, claim.invoice_id))
        b.record_data("payment_for_unknown_invoice", data)
        b.issue(RefundStrayPayment(b.new_id(), claim.invoice_id, claim.amount, claim.currency))
    elif m.payment is not None:
        count_duplicate(b, "payment_duplicate", data)
    elif m.duplicates >= deadlines.MAX_RECORDED_DUPLICATES:
        b.set(duplicates=m.duplicates + 1)
    else:
        b.wait_for(ReadInvoice(b.new_id(), claim.invoice_id))


def on_invoice_expired(b: Builder, expiry: InvoiceExpired) -> None:
    m = b.m
    ours = m.invoice is not None and expiry.invoice_id == m.invoice.invoice_id
    if m.status == OrderStatus.AWAITING_PAYMENT and ours and m.payment is None:
        b.close_invoice(Closing.EXPIRE, reason=Reason.INVOICE_EXPIRED)
    else:
        count_duplicate(b, "invoice_expiry_ignored", {"invoice_id": expiry.invoice_id})


def on_refund_reported(b: Builder, report: RefundReported) -> None:
    from workflows.machine.results import settle_refund

    refund = b.m.refund
    if refund.refund_id == report.refund_id and refund.status == RefundStatus.PENDING:
        settle_refund(b, report.status, report.refund_id)


def matches_order(m: Machine, invoice: InvoiceSeen) -> bool:
    return invoice.paid_amount == m.order.amount and invoice.currency == m.order.currency


def accept_payment(b: Builder, invoice: InvoiceSeen) -> None:
    """A verified payment of the whole price, while the order awaits it: booking if the mentor
    approved already, else the mentor is asked now (never before the mentee has paid)."""
    b.take_payment(invoice)
    b.unflag(Flag.PAYMENT_MISMATCH, Flag.PAYMENT_UNVERIFIED)
    data: dict[str, object] = {
        "invoice_id": invoice.invoice_id,
        "paid_amount": invoice.paid_amount,
    }
    if b.m.decision:
        b.record_data("payment_received", data, OrderStatus.SCHEDULING)
        b.email(Template.PAYMENT_RECEIVED, Role.MENTEE, next_step=OrderStatus.SCHEDULING)
        b.book()
        return
    assert b.m.payment is not None
    deadline = deadlines.decision_deadline(b.m.order.policy, b.now, b.m.start)
    b.set(decision_deadline=deadline)
    b.record_data("payment_received", data, OrderStatus.AWAITING_MENTOR)
    b.email(Template.PAYMENT_RECEIVED, Role.MENTEE, next_step=OrderStatus.AWAITING_MENTOR)
    if b.m.decision is None:
        # The mentor is asked once there is something to decide: a paid order, not decided yet.
        b.email(Template.MENTOR_REQUEST, Role.MENTOR, decision_deadline=deadline.isoformat())


def on_timer(b: Builder, timer: Timer) -> None:
    m = b.m
    if not any(name == timer and at <= b.now for name, at in due_timers(m)):
        return
    if timer == Timer.PAYMENT_DEADLINE:
        b.close_invoice(Closing.EXPIRE, reason=Reason.PAYMENT_DEADLINE_PASSED)
    elif timer == Timer.MENTOR_REMINDER:
        b.set(mentor_reminded=True)
        b.record("mentor_reminded")
        b.email(Template.MENTOR_REMINDER, Role.MENTOR, decision_deadline=m.decision_deadline)
    elif timer == Timer.DECISION_DEADLINE:
        decline(b, Reason.MENTOR_DID_NOT_ANSWER, None, "system")
    elif timer == Timer.SESSION_REMINDER:
        offset, *rest = m.reminders_due
        b.set(reminders_due=tuple(rest))
        b.record("reminder_sent", before_start_s=offset)
        b.email_both(Template.REMINDER, f"{offset}s-before-{m.start.isoformat()}")
    elif timer == Timer.SESSION_END:
        b.finish(OrderStatus.COMPLETED, Reason.SESSION_ENDED)
        b.record("session_ended", becomes=OrderStatus.COMPLETED)
        b.email(Template.COMPLETED, Role.MENTEE)
    elif timer == Timer.REFUND_RETRY:
        b.set(refund=dataclasses.replace(m.refund, status=RefundStatus.PENDING, retry_at=None))
        b.issue_refund()
    elif timer == Timer.REFUND_CHECK:
        assert m.refund.refund_id is not None
        b.set(refund=dataclasses.replace(m.refund, check_at=None))
        b.issue(CheckRefund(b.new_id(), m.refund.refund_id))
    elif timer == Timer.VERIFY_RETRY:
        assert m.invoice is not None
        b.set(verify_at=None)
        b.wait_for(ReadInvoice(b.new_id(), m.invoice.invoice_id))
    elif timer == Timer.CALENDAR_SWEEP:
        b.set(sweep_at=None)
        b.issue(DeleteEvent(b.new_id()))
    else:
        b.set(finished=True)


def is_active(m: Machine) -> bool:
    return m.status in ACTIVE_STATUSES
