"""What the machine does with the outcome of its own commands: done, or given up."""

import dataclasses

from mentoring.domain import TERMINAL_STATUSES, OrderStatus, RefundStatus
from workflows.machine import deadlines
from workflows.machine.builder import Builder
from workflows.machine.codes import Closing, Failure, Flag, Reason, Refusal, Role, Template
from workflows.machine.messages import (
    accept_payment,
    cancel,
    decline,
    matches_order,
    mentor_involved,
)
from workflows.machine.model import (
    Booked,
    BookSession,
    Cancel,
    CheckRefund,
    ClaimSlot,
    Decide,
    DeleteEvent,
    Done,
    ExpireInvoice,
    GaveUp,
    InvoiceSeen,
    MoveEvent,
    OpenOrder,
    ReadInvoice,
    Record,
    RefundPayment,
    RefundSeen,
    RefundStrayPayment,
    Reply,
    Requested,
    SendEmails,
)


def on_result(b: Builder, outcome: Done | GaveUp) -> None:
    command = outcome.command
    waited = b.m.waiting is not None and b.m.waiting.command_id == command.id
    if waited:
        waiting = b.m.waiting
        b.set(waiting=None)
    elif isinstance(command, (OpenOrder, ReadInvoice, ExpireInvoice, BookSession, ClaimSlot)):
        return  # a blocking command's answer that came twice, or after its step moved on
    else:
        waiting = None
    done = isinstance(outcome, Done)
    result = outcome.result if isinstance(outcome, Done) else None
    failure = outcome.failure if isinstance(outcome, GaveUp) else None
    if isinstance(command, OpenOrder):
        _on_order_opened(b, result if isinstance(result, InvoiceSeen) else None, failure)
    elif isinstance(command, ReadInvoice):
        _on_invoice_read(b, result if isinstance(result, InvoiceSeen) else None, failure)
    elif isinstance(command, ExpireInvoice):
        assert waiting is not None
        invoice = result if isinstance(result, InvoiceSeen) else None
        _on_invoice_closed(b, command, invoice, failure, waiting.reason)
        request = waiting.request
        if command.closing == Closing.DECLINE:
            text = request.request.text if request and isinstance(request.request, Decide) else None
            actor = request.request.actor if request and isinstance(request.request, Decide) else ""
            decline(b, Reason.DECLINED_BY_MENTOR, text, actor, request)
        elif command.closing == Closing.CANCEL:
            assert request is not None and isinstance(request.request, Cancel)
            cancel(b, request.request, request)
    elif isinstance(command, BookSession):
        _on_booked(b, result if isinstance(result, Booked) else None, failure)
    elif isinstance(command, ClaimSlot):
        assert waiting is not None
        _on_slot_claimed(b, command, waiting.request, failure)
    elif isinstance(command, DeleteEvent):
        if done:
            b.unflag(Flag.CALENDAR_CLEANUP_FAILED)
        else:
            b.flag(Flag.CALENDAR_CLEANUP_FAILED, failure)
            b.record("calendar_cleanup_failed", failure=failure)
    elif isinstance(command, MoveEvent):
        if done and command.revision == b.m.move_revision:
            b.unflag(Flag.CALENDAR_MOVE_FAILED)
        elif not done:
            b.flag(Flag.CALENDAR_MOVE_FAILED, failure)
            b.record("calendar_move_failed", failure=failure)
    elif isinstance(command, RefundPayment):
        _on_refund_answer(b, result if isinstance(result, RefundSeen) else None)
    elif isinstance(command, CheckRefund):
        _on_refund_checked(b, result if isinstance(result, RefundSeen) else None)
    elif isinstance(command, RefundStrayPayment):
        if not done:
            b.flag(Flag.PAYMENT_FOR_UNKNOWN_INVOICE, command.invoice_id)
            b.record("stray_payment_not_handed_over", invoice_id=command.invoice_id)
    elif isinstance(command, SendEmails):
        if isinstance(outcome, GaveUp):
            _on_emails_failed(b, command, outcome.unsent)
    elif isinstance(command, Record):
        if command.event == "invoice_issued":
            b.set(invoice_published=True)
    else:
        assert isinstance(command, Reply)


def _on_emails_failed(b: Builder, command: SendEmails, unsent: tuple[int, ...] | None) -> None:
    """Each letter not known to have gone out is flagged (the first names the flag) and joins
    the timeline."""
    positions = range(len(command.letters)) if unsent is None else unsent
    for letter in (command.letters[i] for i in positions if 0 <= i < len(command.letters)):
        b.flag(Flag.EMAIL_FAILED, f"{letter.template}:{letter.to}")
        b.record("email_failed", template=letter.template, to=letter.to)


def _on_order_opened(b: Builder, invoice: InvoiceSeen | None, failure: Failure | None) -> None:
    if failure in (Failure.SLOT_UNAVAILABLE, Failure.NOT_STORED):
        # Nothing was stored, nor invoiced: the order ends before anyone but its caller saw it.
        slot_taken = failure == Failure.SLOT_UNAVAILABLE
        answer = Refusal.SLOT_UNAVAILABLE if slot_taken else Refusal.STORE_UNAVAILABLE
        b.set(invoice_answer=answer, finished=True)
        return
    if invoice is None:
        b.finish(OrderStatus.EXPIRED, Reason.INVOICE_FAILED)
        b.set(invoice_answer=Refusal.PAYMENT_PROVIDER_UNAVAILABLE)
        b.record("invoice_failed", becomes=OrderStatus.EXPIRED)
        return
    b.set(invoice=invoice)
    b.record("invoice_issued", invoice_id=invoice.invoice_id)
    b.email(Template.INVOICE, Role.MENTEE)
    # The mentor hears of the order once it is paid (`accept_payment`), not before.


def _on_invoice_read(b: Builder, invoice: InvoiceSeen | None, failure: Failure | None) -> None:
    m = b.m
    if invoice is None:
        # Xendit could not say: asked again later, so a real payment is never left unseen.
        rounds = m.verify_rounds + 1
        verify_at = deadlines.retry_at(rounds, b.now)
        b.set(verify_rounds=rounds, verify_at=verify_at)
        b.flag(Flag.PAYMENT_UNVERIFIED, failure)
        b.record("payment_unverified", failure=failure)
        ended = m.status in TERMINAL_STATUSES and m.payment is None
        if verify_at is None and ended and m.refund.status == RefundStatus.NONE:
            # Nothing will ask Xendit again, and no session will come of a payment made now:
            # a person checks it and pays it back.
            b.set(refund=dataclasses.replace(m.refund, status=RefundStatus.MANUAL_REQUIRED))
            b.flag(Flag.REFUND_MANUAL_REQUIRED, "payment_unverified")
            b.record("refund_manual_required")
        return
    b.set(verify_at=None)
    data: dict[str, object] = {
        "invoice_id": invoice.invoice_id,
        "paid_amount": invoice.paid_amount,
    }
    if not invoice.paid:
        b.flag(Flag.PAYMENT_UNVERIFIED, invoice.status)
        b.record_data("payment_not_confirmed", {**data, "status": invoice.status})
    elif m.payment is not None:
        b.record_data("payment_duplicate", data)
    elif m.status in TERMINAL_STATUSES:
        b.unflag(Flag.PAYMENT_UNVERIFIED)
        b.take_payment(invoice)
        b.record_data("late_payment", data)
        b.refund()
    elif matches_order(m, invoice):
        accept_payment(b, invoice)
    else:
        b.flag(Flag.PAYMENT_MISMATCH, f"{invoice.paid_amount} {invoice.currency}")
        b.record_data("payment_mismatch", {**data, "currency": invoice.currency})
        if m.mismatch is None:
            b.email(Template.PAYMENT_PROBLEM, Role.MENTEE, paid=invoice.paid_amount)
        b.set(mismatch=invoice)


def _on_invoice_closed(
    b: Builder,
    command: ExpireInvoice,
    invoice: InvoiceSeen | None,
    failure: Failure | None,
    reason: Reason | None,
) -> None:
    if failure is not None:
        b.flag(Flag.INVOICE_NOT_CLOSED, failure)
    paid = invoice if invoice is not None and invoice.paid else None
    if command.closing != Closing.EXPIRE:
        if paid is not None:
            b.take_payment(paid)
        return
    if paid is not None and matches_order(b.m, paid):
        accept_payment(b, paid)  # the mentee paid just before the invoice closed
        return
    expiry = reason or Reason.PAYMENT_DEADLINE_PASSED
    involved = mentor_involved(b.m)  # only a mentor who approved before the payment
    if paid is None:
        b.set(payment_expired=True)
    else:
        b.take_payment(paid)  # a short or foreign-currency payment closed it: given back
    b.finish(OrderStatus.EXPIRED, expiry)
    b.record(expiry, becomes=OrderStatus.EXPIRED)
    b.refund()
    b.email(Template.EXPIRED, Role.MENTEE)
    if involved:
        b.email(Template.EXPIRED, Role.MENTOR)


def _on_booked(b: Builder, booked: Booked | None, failure: Failure | None) -> None:
    if booked is not None:
        reminders = deadlines.reminders_due(b.m.order.policy, b.m.start, b.now)
        b.set(event_id=booked.event_id, meet_url=booked.meet_url, reminders_due=reminders)
        b.record("session_booked", becomes=OrderStatus.CONFIRMED, meet_url=booked.meet_url)
        b.email_both(Template.CONFIRMED)
        return
    # No session may exist without a confirmed order: remove a half-made event now, and once
    # more when an attempt still under way somewhere can no longer land.
    b.issue(DeleteEvent(b.new_id()))
    b.set(sweep_at=b.now + deadlines.CALENDAR_SWEEP_DELAY)
    b.flag(Flag.BOOKING_FAILED, failure)
    b.finish(OrderStatus.FAILED, Reason.BOOKING_FAILED)
    b.record("booking_failed", becomes=OrderStatus.FAILED, error=failure)
    refund = b.refund()
    b.email(Template.DECLINED, Role.MENTEE, "failed", reason=Reason.BOOKING_FAILED, refund=refund)
    b.email(Template.DECLINED, Role.MENTOR, "failed", reason=Reason.BOOKING_FAILED)


def _on_slot_claimed(
    b: Builder, claim: ClaimSlot, request: Requested | None, failure: Failure | None
) -> None:
    if failure is not None:
        refusal = (
            Refusal.SLOT_UNAVAILABLE
            if failure == Failure.SLOT_UNAVAILABLE
            else Refusal.STORE_UNAVAILABLE
        )
        b.reply(request, refusal)
        return
    m = b.m
    old_start = m.start
    b.set(
        start=claim.start,
        end=claim.end,
        payment_deadline=claim.payment_deadline,
        decision_deadline=claim.decision_deadline,
        reschedules=m.reschedules + 1,
    )
    if m.status == OrderStatus.CONFIRMED:
        b.set(reminders_due=deadlines.reminders_due(m.order.policy, claim.start, b.now))
    if m.event_id is not None:
        revision = m.move_revision + 1
        b.set(move_revision=revision)
        b.issue(MoveEvent(b.new_id(), claim.start, claim.end, revision))
    b.email_both(Template.RESCHEDULED, f"move-{b.m.reschedules}", old_start=old_start.isoformat())
    b.reply(request)


def _on_refund_answer(b: Builder, seen: RefundSeen | None) -> None:
    refund = b.m.refund
    if refund.status != RefundStatus.PENDING or refund.refund_id is not None:
        return  # settled already (its callback came first), or an answer that came twice
    if seen is not None:
        settle_refund(b, seen.status, seen.refund_id)
        return
    rounds = refund.rounds + 1
    retry_at = deadlines.retry_at(rounds, b.now)
    if retry_at is None:
        b.set(refund=dataclasses.replace(refund, status=RefundStatus.MANUAL_REQUIRED))
        b.unflag(Flag.REFUND_FAILED)
        b.flag(Flag.REFUND_MANUAL_REQUIRED, "xendit_gave_up")
        b.record("refund_manual_required", amount=refund.amount)
        b.email(Template.REFUND_ISSUED, Role.MENTEE, refund=RefundStatus.MANUAL_REQUIRED)
        return
    b.set(
        refund=dataclasses.replace(
            refund, status=RefundStatus.FAILED, rounds=rounds, retry_at=retry_at
        )
    )
    b.flag(Flag.REFUND_FAILED, f"round {rounds}")
    b.record("refund_failed", amount=refund.amount, retry_at=retry_at.isoformat())


def _on_refund_checked(b: Builder, seen: RefundSeen | None) -> None:
    refund = b.m.refund
    if refund.status != RefundStatus.PENDING or refund.refund_id is None:
        return
    if seen is not None and seen.status != RefundStatus.PENDING:
        settle_refund(b, seen.status, refund.refund_id)
        return
    checks = refund.checks + 1
    if checks >= b.m.order.policy.refund_checks:
        b.set(refund=dataclasses.replace(refund, checks=checks))
        b.flag(Flag.REFUND_STILL_PENDING, refund.refund_id)
        b.record("refund_still_pending", refund_id=refund.refund_id)
        return
    check_at = deadlines.refund_check_at(b.m.order.policy, b.now)
    b.set(refund=dataclasses.replace(refund, checks=checks, check_at=check_at))


def settle_refund(b: Builder, status: RefundStatus, refund_id: str | None) -> None:
    refund = dataclasses.replace(b.m.refund, status=status, refund_id=refund_id, check_at=None)
    b.set(refund=refund)
    if status == RefundStatus.PENDING:
        check_at = deadlines.refund_check_at(b.m.order.policy, b.now)
        b.set(refund=dataclasses.replace(refund, check_at=check_at))
        b.record("refund_pending", refund_id=refund_id)
        return
    b.unflag(Flag.REFUND_FAILED, Flag.REFUND_STILL_PENDING)
    if status == RefundStatus.MANUAL_REQUIRED:
        b.flag(Flag.REFUND_MANUAL_REQUIRED, b.m.payment.method if b.m.payment else "")
    elif status == RefundStatus.FAILED:
        b.flag(Flag.REFUND_FAILED, "xendit_failed")
    b.record(f"refund_{status}", amount=refund.amount)
    b.email(Template.REFUND_ISSUED, Role.MENTEE, refund=status)
