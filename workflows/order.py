"""MentoringOrderWorkflow: one order, from invoice to Meet room, as a durable state machine.

The workflow is the only writer of an order's state. Signals (payments), updates (mentor decision,
waiting for the invoice) and timers (deadlines, reminders) feed one inbox that the main loop
handles in order; every transition is written to Postgres by an activity.
"""

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import (
        BookedSession,
        BookSessionInput,
        CalendarActivities,
        CancelSessionInput,
        MoveSessionInput,
    )
    from activities.email import CalendarInvite, EmailActivities, SendEmailInput
    from activities.payments import (
        CreateInvoiceInput,
        ExpireInvoiceInput,
        InvoiceInfo,
        RefundInput,
        RefundStatusInput,
        XenditActivities,
        refund_status_of,
    )
    from activities.records import SLOT_UNAVAILABLE, CreateOrderRecordInput, RecordActivities
    from mentoring.domain import (
        ACTIVE_STATUSES,
        REFUSAL_RECORDED,
        TERMINAL_STATUSES,
        CancelInput,
        InvoiceReadyInput,
        MentorDecisionInput,
        OrderInput,
        OrderState,
        OrderStatus,
        PaymentExpired,
        PaymentReceived,
        PaymentStatus,
        RefundSettled,
        RefundStatus,
        RescheduleInput,
        TransitionRecord,
        calendar_event_id_for,
        email_key,
    )

RECORD_TIMEOUT = timedelta(seconds=30)
PROVIDER_TIMEOUT = timedelta(seconds=60)
PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
# Google outages are retried until the session is near (BOOKING_MARGIN before its start, at most
# BOOKING_PATIENCE): only then is a paid session given up, and refunded.
BOOKING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2)
)
BOOKING_PATIENCE = timedelta(hours=12)
BOOKING_MARGIN = timedelta(minutes=30)
REFUND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=25,
)
PAID_INVOICE_STATUSES = ("PAID", "SETTLED")
REFUND_NOTES = {
    RefundStatus.SUCCEEDED: {
        "id": "Dana Anda dikembalikan penuh.",
        "en": "You are fully refunded.",
    },
    RefundStatus.PENDING: {
        "id": "Pengembalian dana penuh sedang diproses.",
        "en": "A full refund is on its way.",
    },
    RefundStatus.MANUAL_REQUIRED: {
        "id": "Tim kami akan mengembalikan dana Anda secara penuh.",
        "en": "Our team will refund you in full.",
    },
}


@dataclass
class _Request:
    """An update waiting in the inbox; its handler waits for `number` to get a result."""

    number: int
    body: MentorDecisionInput | CancelInput | RescheduleInput


InboxMessage = PaymentReceived | PaymentExpired | _Request


def format_idr(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


@workflow.defn
class MentoringOrderWorkflow:
    @workflow.init
    def __init__(self, order: OrderInput) -> None:
        self._order = order
        policy = order.policy
        start = order.start_time
        payment_deadline = min(
            order.created_at + timedelta(seconds=policy.payment_window_s),
            start - timedelta(seconds=policy.payment_cutoff_before_start_s),
        )
        self._state = OrderState(
            status=OrderStatus.AWAITING_PAYMENT,
            start_time=start,
            end_time=start + timedelta(minutes=order.duration_minutes),
            payment_deadline=payment_deadline,
        )
        self._seq = 1
        self._inbox: list[InboxMessage] = []
        self._invoiced = False
        self._rejection: str | None = None
        self._requests_received = 0
        self._request_results: dict[int, ApplicationError | None] = {}
        self._pending_reminders: list[int] = []
        self._mentor_reminded = False
        self._outbox: list[asyncio.Task[bool]] = []
        self._background: list[asyncio.Task[None]] = []
        self._refund_outcomes: dict[str, str] = {}

    # ---- messages in -------------------------------------------------------------------------

    @workflow.query
    def status(self) -> OrderState:
        return self._state

    @workflow.signal
    def payment_received(self, payment: PaymentReceived) -> None:
        self._inbox.append(payment)

    @workflow.signal
    def payment_expired(self, expiry: PaymentExpired) -> None:
        self._inbox.append(expiry)

    @workflow.signal
    def refund_settled(self, outcome: RefundSettled) -> None:
        self._refund_outcomes[outcome.refund_id] = outcome.status

    @workflow.update
    async def invoice_ready(self, request: InvoiceReadyInput) -> str:
        """Returns the invoice URL once the invoice exists and is recorded."""
        await workflow.wait_condition(lambda: self._invoiced or self._rejection is not None)
        if self._rejection is not None:
            raise ApplicationError(self._rejection, type="slot_unavailable")
        if self._state.invoice_url is None:
            raise ApplicationError(
                "the payment provider could not issue an invoice; order again",
                type="payment_provider_unavailable",
            )
        return self._state.invoice_url

    @invoice_ready.validator
    def _validate_invoice_ready(self, request: InvoiceReadyInput) -> None:
        if request.request_hash != self._order.request_hash:
            raise ApplicationError(
                "this Idempotency-Key was already used for a different order",
                type="idempotency_key_reused",
            )

    async def _submit(self, body: MentorDecisionInput | CancelInput | RescheduleInput) -> str:
        self._requests_received += 1
        number = self._requests_received
        self._inbox.append(_Request(number, body))
        await workflow.wait_condition(lambda: number in self._request_results)
        refusal = self._request_results.pop(number)
        if refusal is not None:
            raise refusal
        return str(self._state.status)

    @workflow.update
    async def mentor_decision(self, decision: MentorDecisionInput) -> str:
        """Returns the order's status once the decision is recorded."""
        return await self._submit(decision)

    @mentor_decision.validator
    def _validate_mentor_decision(self, decision: MentorDecisionInput) -> None:
        refusal = self._decision_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type="decision_not_allowed")
        if decision.decision not in ("approve", "decline"):
            raise ApplicationError("decision must be approve or decline", type="invalid_decision")

    @workflow.update
    async def cancel(self, request: CancelInput) -> str:
        """Returns the order's status once the cancellation is recorded."""
        return await self._submit(request)

    @cancel.validator
    def _validate_cancel(self, request: CancelInput) -> None:
        refusal = self._cancel_refusal(request)
        if refusal is not None:
            raise refusal

    @workflow.update
    async def reschedule(self, request: RescheduleInput) -> str:
        """Returns the order's status once the new time is recorded (or refused)."""
        return await self._submit(request)

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleInput) -> None:
        refusal = self._reschedule_refusal(request)
        if refusal is not None:
            raise refusal

    def _cancel_refusal(self, request: CancelInput) -> ApplicationError | None:
        status = self._state.status
        if status in TERMINAL_STATUSES:
            return ApplicationError(f"the order is already {status}", type="order_closed")
        now = workflow.now()
        if now >= self._state.start_time:
            return ApplicationError("the session has already started", type="session_started")
        if status == OrderStatus.SCHEDULING:
            # Booking waits out a Google outage; a cancel must not hang on it.
            return ApplicationError("the session is being booked; try again", type="busy")
        # The cutoff protects the mentor's booked time: an unpaid order costs nobody anything.
        paid = self._state.payment_status == PaymentStatus.PAID
        if request.by == "mentee" and paid and now > self._cancellation_cutoff():
            return ApplicationError(
                "a mentee may cancel only until "
                f"{self._cancellation_cutoff().isoformat()}; ask the mentor or an admin",
                type="cancellation_window_closed",
            )
        return None

    def _reschedule_refusal(self, request: RescheduleInput) -> ApplicationError | None:
        status = self._state.status
        if status not in ACTIVE_STATUSES:
            return ApplicationError(f"the order is already {status}", type="order_closed")
        if status == OrderStatus.SCHEDULING:
            return ApplicationError("the session is being booked; try again", type="busy")
        now = workflow.now()
        if now > self._cancellation_cutoff():
            return ApplicationError(
                "the session can no longer be moved", type="reschedule_window_closed"
            )
        cutoff = timedelta(seconds=self._order.policy.mentee_cancellation_cutoff_s)
        if request.start_time.tzinfo is None or request.start_time < now + cutoff:
            return ApplicationError(
                f"the new start must be at least {cutoff} from now", type="invalid_start_time"
            )
        if request.start_time == self._state.start_time:
            return ApplicationError("the session is already at that time", type="same_time")
        return None

    def _cancellation_cutoff(self) -> datetime:
        cutoff = timedelta(seconds=self._order.policy.mentee_cancellation_cutoff_s)
        return self._state.start_time - cutoff

    def _decision_refusal(self) -> str | None:
        if self._state.mentor_decision is not None:
            return f"the mentor already decided: {self._state.mentor_decision}"
        if self._state.status not in (OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_MENTOR):
            return f"the order is {self._state.status}; a decision is no longer possible"
        return None

    # ---- the main loop ------------------------------------------------------------------------

    @workflow.run
    async def run(self, order: OrderInput) -> OrderState:
        if await self._hold_slot():
            await self._issue_invoice()
            while self._state.status not in TERMINAL_STATUSES:
                await self._step()
            await self._linger()
        await asyncio.gather(*self._background)
        await asyncio.gather(*self._outbox)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _linger(self) -> None:
        """A terminal order stays reachable for a while, so that a late payment is refunded."""
        grace_ends = workflow.now() + timedelta(seconds=self._order.policy.late_payment_grace_s)
        while True:
            remaining = (grace_ends - workflow.now()).total_seconds()
            if remaining <= 0 and not self._inbox:
                return
            if not self._inbox:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: bool(self._inbox), timeout=timedelta(seconds=remaining)
                    )
            if self._inbox:
                await self._handle(self._inbox.pop(0))

    async def _step(self) -> None:
        if self._state.status == OrderStatus.SCHEDULING:
            await self._book()
            return
        if not self._inbox:
            remaining = (self._next_deadline() - workflow.now()).total_seconds()
            if remaining > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await workflow.wait_condition(
                        lambda: bool(self._inbox), timeout=timedelta(seconds=remaining)
                    )
        if self._inbox:
            await self._handle(self._inbox.pop(0))
        elif workflow.now() >= self._next_deadline():
            await self._on_deadline()

    def _next_deadline(self) -> datetime:
        status = self._state.status
        if status == OrderStatus.AWAITING_PAYMENT:
            return self._state.payment_deadline
        if status == OrderStatus.AWAITING_MENTOR:
            assert self._state.decision_deadline is not None
            if not self._mentor_reminded:
                return self._mentor_reminder_time()
            return self._state.decision_deadline
        if self._pending_reminders:
            return self._reminder_time(self._pending_reminders[0])
        return self._state.end_time

    async def _on_deadline(self) -> None:
        status = self._state.status
        if status == OrderStatus.AWAITING_PAYMENT:
            await self._expire("payment_deadline_passed")
        elif status == OrderStatus.AWAITING_MENTOR and not self._mentor_reminded:
            self._mentor_reminded = True
            await self._transition("mentor_reminded")
            await self._email_mentor(
                "mentor_reminder",
                "1",
                notes=self._order.notes or "",
                duration=str(self._order.duration_minutes),
                decision_deadline=self._decision_deadline().isoformat(),
                mentor_id=self._order.mentor.id,
            )
        elif status == OrderStatus.AWAITING_MENTOR:
            await self._decline("the mentor did not answer in time", actor="system")
        elif self._pending_reminders:
            await self._send_reminder(self._pending_reminders.pop(0))
        else:
            await self._transition("session_ended", OrderStatus.COMPLETED)
            await self._email_mentee("completed", "1")

    async def _handle(self, message: InboxMessage) -> None:
        if isinstance(message, PaymentReceived):
            await self._on_payment(message)
        elif isinstance(message, PaymentExpired):
            await self._on_payment_expired(message)
        else:
            await self._on_request(message)

    async def _on_request(self, request: _Request) -> None:
        body = request.body
        if isinstance(body, MentorDecisionInput):
            refusal_text = self._decision_refusal()
            refusal = (
                ApplicationError(refusal_text, type="decision_not_allowed")
                if refusal_text
                else None
            )
        elif isinstance(body, CancelInput):
            refusal = self._cancel_refusal(body)
        else:
            refusal = self._reschedule_refusal(body)
        if refusal is not None:
            # Checked again here: the state may have moved since the validator ran.
            await self._transition("request_refused", data={"type": str(refusal.type)})
            self._request_results[request.number] = ApplicationError(
                refusal.message, REFUSAL_RECORDED, type=refusal.type
            )
            return
        if isinstance(body, MentorDecisionInput):
            await self._on_decision(body)
            self._request_results[request.number] = None
        elif isinstance(body, CancelInput):
            await self._cancel(body)
            self._request_results[request.number] = None
        else:
            self._request_results[request.number] = await self._reschedule(body)

    # ---- creation ----------------------------------------------------------------------------

    async def _hold_slot(self) -> bool:
        try:
            await workflow.execute_activity_method(
                RecordActivities.create_order_record,
                CreateOrderRecordInput(self._order, self._state),
                start_to_close_timeout=RECORD_TIMEOUT,
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == SLOT_UNAVAILABLE:
                self._rejection = cause.message
                return False
            raise
        return True

    async def _issue_invoice(self) -> None:
        order = self._order
        remaining = self._state.payment_deadline - workflow.now()
        try:
            invoice = await workflow.execute_activity_method(
                XenditActivities.create_invoice,
                CreateInvoiceInput(
                    order_id=order.order_id,
                    amount=order.amount,
                    currency=order.currency,
                    payer_email=order.mentee.email,
                    description=f"Mentoring: {order.topic} with {order.mentor.name}",
                    duration_s=max(int(remaining.total_seconds()), 60),
                    customer_name=order.mentee.name,
                ),
                start_to_close_timeout=PROVIDER_TIMEOUT,
                schedule_to_close_timeout=max(remaining, timedelta(seconds=60)),
                retry_policy=PROVIDER_RETRY,
            )
        except ActivityError:
            self._state.status_reason = "the invoice could not be issued before the deadline"
            await self._transition("invoice_failed", OrderStatus.EXPIRED)
            self._invoiced = True
            return
        self._state.invoice_id = invoice.invoice_id
        self._state.invoice_url = invoice.invoice_url
        self._state.invoice_expires_at = invoice.expires_at
        await self._transition("invoice_issued", data={"invoice_id": invoice.invoice_id})
        self._invoiced = True
        await asyncio.gather(
            self._email_mentee("invoice", "1", invoice_url=invoice.invoice_url),
            self._email_mentor(
                "mentor_request",
                "1",
                notes=order.notes or "",
                duration=str(order.duration_minutes),
                # The deadline runs from the payment, which comes later: promising the earliest
                # it can be means a mentor who answers by then is never late.
                decision_deadline=min(
                    workflow.now() + timedelta(seconds=order.policy.decision_window_s),
                    self._state.start_time
                    - timedelta(seconds=order.policy.decision_cutoff_before_start_s),
                ).isoformat(),
                mentor_id=order.mentor.id,
            ),
        )

    # ---- payment -----------------------------------------------------------------------------

    async def _on_payment(self, payment: PaymentReceived) -> None:
        state = self._state
        data = {"invoice_id": payment.invoice_id, "paid_amount": str(payment.paid_amount)}
        if payment.invoice_id != state.invoice_id:
            await self._flag("payment_for_unknown_invoice", data)
        elif state.payment_status == PaymentStatus.PAID:
            await self._transition("payment_duplicate", data=data)
        elif state.status in TERMINAL_STATUSES:
            self._take_payment(payment)
            await self._transition("late_payment", data=data)
            await self._refund("the payment arrived after the order had ended")
        elif not self._matches_order(payment):
            if state.admin_note is None:
                await self._email_mentee(
                    "payment_problem", "1", paid=format_idr(payment.paid_amount)
                )
            await self._flag("payment_mismatch", data | {"currency": payment.currency})
        else:
            self._take_payment(payment)
            await self._accept_payment(data)

    def _matches_order(self, payment: PaymentReceived) -> bool:
        return (
            payment.currency == self._order.currency and payment.paid_amount == self._order.amount
        )

    def _take_payment(self, payment: PaymentReceived) -> None:
        state = self._state
        state.payment_status = PaymentStatus.PAID
        state.paid_amount = payment.paid_amount
        state.paid_currency = payment.currency
        state.paid_at = payment.paid_at or workflow.now()
        state.payment_method = payment.method
        state.payment_channel = payment.channel

    async def _accept_payment(self, data: dict[str, str]) -> None:
        policy = self._order.policy
        if self._state.mentor_decision == "approve":
            next_step_id = "Sesi Anda sedang dijadwalkan."
            next_step_en = "Your session is being scheduled."
            await self._transition("payment_received", OrderStatus.SCHEDULING, data)
        else:
            self._state.decision_deadline = min(
                workflow.now() + timedelta(seconds=policy.decision_window_s),
                self._state.start_time - timedelta(seconds=policy.decision_cutoff_before_start_s),
            )
            next_step_id = "Kami menunggu konfirmasi mentor."
            next_step_en = "We are waiting for the mentor to confirm."
            await self._transition("payment_received", OrderStatus.AWAITING_MENTOR, data)
        next_step = next_step_en if self._order.mentee.locale == "en" else next_step_id
        await self._email_mentee("payment_received", "1", next_step=next_step)

    async def _on_payment_expired(self, expiry: PaymentExpired) -> None:
        data = {"invoice_id": expiry.invoice_id}
        if (
            self._state.status == OrderStatus.AWAITING_PAYMENT
            and expiry.invoice_id == self._state.invoice_id
        ):
            await self._expire("invoice_expired")
        else:
            await self._transition("invoice_expiry_ignored", data=data)

    async def _close_invoice(self) -> InvoiceInfo | None:
        """Expire the open invoice; returns it if it turned out to be paid after all."""
        if self._state.invoice_id is None or self._state.payment_status == PaymentStatus.PAID:
            return None
        invoice = await workflow.execute_activity_method(
            XenditActivities.expire_invoice,
            ExpireInvoiceInput(self._state.invoice_id),
            start_to_close_timeout=PROVIDER_TIMEOUT,
            retry_policy=PROVIDER_RETRY,
        )
        return invoice if invoice.status in PAID_INVOICE_STATUSES else None

    @staticmethod
    def _payment_from_invoice(invoice: InvoiceInfo) -> PaymentReceived:
        return PaymentReceived(
            invoice_id=invoice.invoice_id,
            paid_amount=invoice.paid_amount or 0,
            currency=invoice.paid_currency or "",
            paid_at=invoice.paid_at,
            method=invoice.payment_method,
            channel=invoice.payment_channel,
        )

    async def _expire(self, reason: str) -> None:
        paid_invoice = await self._close_invoice()
        payment = None if paid_invoice is None else self._payment_from_invoice(paid_invoice)
        if payment is not None and self._matches_order(payment):
            # The mentee paid just before the invoice closed: the payment wins.
            await self._on_payment(payment)
            return
        if payment is None:
            self._state.payment_status = PaymentStatus.EXPIRED
        else:
            # A short or foreign-currency payment closed the invoice: it is given back.
            self._take_payment(payment)
        self._state.status_reason = reason
        await self._transition(reason, OrderStatus.EXPIRED)
        if payment is not None:
            await self._refund("the payment did not match the order")
        await self._email_mentee("expired", "1")

    # ---- mentor ------------------------------------------------------------------------------

    def _decision_deadline(self) -> datetime:
        return self._state.decision_deadline or (
            self._state.start_time
            - timedelta(seconds=self._order.policy.decision_cutoff_before_start_s)
        )

    def _mentor_reminder_time(self) -> datetime:
        paid_at = min(self._state.paid_at or workflow.now(), self._decision_deadline())
        return paid_at + (self._decision_deadline() - paid_at) / 2

    async def _on_decision(self, decision: MentorDecisionInput) -> None:
        state = self._state
        state.mentor_decision = decision.decision
        state.decision_reason = decision.reason
        state.decided_at = workflow.now()
        if decision.decision == "decline":
            await self._decline(decision.reason or "the mentor declined", actor=decision.actor)
            return
        data = {"actor": decision.actor}
        if state.status == OrderStatus.AWAITING_MENTOR:
            await self._transition("mentor_approved", OrderStatus.SCHEDULING, data)
        else:
            await self._transition("mentor_approved", data=data)

    # ---- cancel and reschedule ---------------------------------------------------------------

    async def _cancel(self, request: CancelInput) -> None:
        state = self._state
        paid_invoice = await self._close_invoice()
        if paid_invoice is not None:
            self._take_payment(self._payment_from_invoice(paid_invoice))
        if state.calendar_event_id is not None:
            await workflow.execute_activity_method(
                CalendarActivities.cancel_session,
                CancelSessionInput(self._calendar_id(), state.calendar_event_id),
                start_to_close_timeout=PROVIDER_TIMEOUT,
                retry_policy=PROVIDER_RETRY,
            )
        reason = request.reason or f"cancelled by the {request.by}"
        state.status_reason = reason
        await self._transition(
            "cancelled", OrderStatus.CANCELLED, {"by": request.by, "reason": reason}
        )
        refund_note = ""
        if state.payment_status == PaymentStatus.PAID:
            refund_note = await self._refund(reason)
        await asyncio.gather(
            self._email_mentee(
                "cancelled",
                "1",
                name=self._order.mentee.name,
                reason=reason,
                refund_note=refund_note,
            ),
            self._email_mentor(
                "cancelled", "1", name=self._order.mentor.name, reason=reason, refund_note=""
            ),
        )

    async def _reschedule(self, request: RescheduleInput) -> ApplicationError | None:
        state = self._state
        old_start, old_end = state.start_time, state.end_time
        old_payment_deadline, old_decision_deadline = (
            state.payment_deadline,
            state.decision_deadline,
        )
        policy = self._order.policy
        state.start_time = request.start_time
        state.end_time = request.start_time + timedelta(minutes=self._order.duration_minutes)
        state.payment_deadline = min(
            state.payment_deadline,
            state.start_time - timedelta(seconds=policy.payment_cutoff_before_start_s),
        )
        if state.decision_deadline is not None:
            state.decision_deadline = min(
                state.decision_deadline,
                state.start_time - timedelta(seconds=policy.decision_cutoff_before_start_s),
            )
        data = {
            "by": request.by,
            "old_start_time": old_start.isoformat(),
            "new_start_time": state.start_time.isoformat(),
        }
        try:
            await self._transition("rescheduled", data=data)
        except ActivityError as error:
            state.start_time, state.end_time = old_start, old_end
            state.payment_deadline, state.decision_deadline = (
                old_payment_deadline,
                old_decision_deadline,
            )
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == SLOT_UNAVAILABLE:
                return ApplicationError(cause.message, type="slot_unavailable")
            raise
        if state.calendar_event_id is not None:
            await workflow.execute_activity_method(
                CalendarActivities.move_session,
                MoveSessionInput(
                    calendar_id=self._calendar_id(),
                    event_id=state.calendar_event_id,
                    start_time=state.start_time,
                    end_time=state.end_time,
                    timezone=self._order.mentor.timezone,
                ),
                start_to_close_timeout=PROVIDER_TIMEOUT,
                retry_policy=PROVIDER_RETRY,
            )
            self._arm_reminders()
        occurrence = state.start_time.isoformat()
        await asyncio.gather(
            self._email_mentee(
                "rescheduled",
                occurrence,
                name=self._order.mentee.name,
                old_start=old_start.isoformat(),
            ),
            self._email_mentor(
                "rescheduled",
                occurrence,
                name=self._order.mentor.name,
                old_start=old_start.isoformat(),
            ),
        )
        return None

    def _calendar_id(self) -> str:
        return self._order.mentor.calendar_id or "primary"

    def _arm_reminders(self) -> None:
        now = workflow.now()
        self._pending_reminders = sorted(
            (s for s in self._order.policy.reminder_offsets_s if self._reminder_time(s) > now),
            reverse=True,
        )

    async def _decline(self, reason: str, actor: str) -> None:
        state = self._state
        if state.mentor_decision is None:
            state.mentor_decision = "decline"
            state.decision_reason = reason
            state.decided_at = workflow.now()
        paid_invoice = await self._close_invoice()
        if paid_invoice is not None:
            self._take_payment(self._payment_from_invoice(paid_invoice))
        state.status_reason = reason
        await self._transition("declined", OrderStatus.DECLINED, {"actor": actor, "reason": reason})
        refund_note = ""
        if state.payment_status == PaymentStatus.PAID:
            refund_note = await self._refund(reason)
        await asyncio.gather(
            self._email_mentee(
                "declined",
                "1",
                name=self._order.mentee.name,
                reason=reason,
                refund_note=refund_note,
            ),
            self._email_mentor(
                "declined", "1", name=self._order.mentor.name, reason=reason, refund_note=""
            ),
        )

    # ---- booking -----------------------------------------------------------------------------

    async def _book(self) -> None:
        order = self._order
        event_id = calendar_event_id_for(order.order_id)
        calendar_id = self._calendar_id()
        reminder_minutes = [s // 60 for s in order.policy.reminder_offsets_s]
        try:
            booked: BookedSession = await workflow.execute_activity_method(
                CalendarActivities.book_session,
                BookSessionInput(
                    order_id=order.order_id,
                    calendar_id=calendar_id,
                    event_id=event_id,
                    summary=f"Mentoring: {order.topic}",
                    description=f"{order.mentee.name} x {order.mentor.name}\n{order.notes or ''}",
                    start_time=self._state.start_time,
                    end_time=self._state.end_time,
                    timezone=order.mentor.timezone,
                    attendee_emails=[order.mentee.email, order.mentor.email],
                    reminder_minutes=reminder_minutes,
                ),
                start_to_close_timeout=PROVIDER_TIMEOUT,
                schedule_to_close_timeout=self._booking_patience(),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=BOOKING_RETRY,
            )
        except ActivityError as error:
            await self._fail_booking(calendar_id, event_id, str(error.cause or error))
            return
        self._state.calendar_event_id = booked.event_id
        self._state.meet_url = booked.meet_url
        await self._transition(
            "session_booked", OrderStatus.CONFIRMED, {"meet_url": booked.meet_url}
        )
        self._arm_reminders()
        invite = CalendarInvite(
            uid=f"{event_id}@google.com",
            summary=f"Mentoring: {order.topic}",
            description=f"Google Meet: {booked.meet_url}",
            start_time=self._state.start_time,
            end_time=self._state.end_time,
            location=booked.meet_url,
            organizer_email=order.mentor.email,
            attendee_emails=[order.mentee.email, order.mentor.email],
        )
        await asyncio.gather(
            self._email_mentee("confirmed", "1", name=order.mentee.name, invite=invite),
            self._email_mentor("confirmed", "1", name=order.mentor.name, invite=invite),
        )

    def _booking_patience(self) -> timedelta:
        until_margin = self._state.start_time - BOOKING_MARGIN - workflow.now()
        return max(PROVIDER_TIMEOUT, min(until_margin, BOOKING_PATIENCE))

    async def _fail_booking(self, calendar_id: str, event_id: str, reason: str) -> None:
        # No session may exist without a confirmed order: remove a half-made event.
        await workflow.execute_activity_method(
            CalendarActivities.cancel_session,
            CancelSessionInput(calendar_id, event_id),
            start_to_close_timeout=PROVIDER_TIMEOUT,
            retry_policy=PROVIDER_RETRY,
        )
        self._state.status_reason = "the session could not be booked"
        self._state.needs_admin = True
        self._state.admin_note = f"booking failed: {reason}"
        await self._transition("booking_failed", OrderStatus.FAILED, {"error": reason[:500]})
        refund_note = await self._refund("the session could not be booked")
        reason_text = (
            "jadwal tidak dapat dibuat"
            if self._order.mentee.locale != "en"
            else ("the session could not be booked")
        )
        await self._email_mentee(
            "declined",
            "failed",
            name=self._order.mentee.name,
            reason=reason_text,
            refund_note=refund_note,
        )

    def _reminder_time(self, offset_s: int) -> datetime:
        return self._state.start_time - timedelta(seconds=offset_s)

    async def _send_reminder(self, offset_s: int) -> None:
        occurrence = f"{offset_s}s-before-{self._state.start_time.isoformat()}"
        await self._transition("reminder_sent", data={"before_start_s": str(offset_s)})
        await asyncio.gather(
            self._email_mentee("reminder", occurrence, name=self._order.mentee.name),
            self._email_mentor("reminder", occurrence, name=self._order.mentor.name),
        )

    # ---- money back --------------------------------------------------------------------------

    async def _refund(self, reason: str) -> str:
        """Ask for the full paid amount back, once, and go on; returns a note for the mentee's
        email. The refund settles in the background, so a Xendit outage holds up no answer."""
        state = self._state
        if state.refund_status != RefundStatus.NONE or state.invoice_id is None:
            return ""
        amount = state.paid_amount or 0
        state.refund_status = RefundStatus.PENDING
        state.refund_amount = amount
        await self._transition("refund_requested", data={"amount": str(amount), "reason": reason})
        refund = RefundInput(
            order_id=self._order.order_id,
            invoice_id=state.invoice_id,
            amount=amount,
            currency=state.paid_currency or self._order.currency,
            payment_method=state.payment_method,
            reason=reason,
        )
        self._background.append(asyncio.create_task(self._settle_refund(refund)))
        return self._refund_note(RefundStatus.PENDING)

    async def _settle_refund(self, refund: RefundInput) -> None:
        state = self._state
        try:
            result = await workflow.execute_activity_method(
                XenditActivities.refund_payment,
                refund,
                start_to_close_timeout=PROVIDER_TIMEOUT,
                retry_policy=REFUND_RETRY,
            )
            state.refund_status = RefundStatus(result.status)
            state.refund_id = result.refund_id
        except ActivityError as error:
            state.refund_status = RefundStatus.FAILED
            state.admin_note = f"refund failed: {error.cause or error}"
        if state.refund_status == RefundStatus.PENDING and state.refund_id is not None:
            await self._transition("refund_pending", data={"refund_id": state.refund_id})
            await self._await_refund_outcome(state.refund_id)
        if state.refund_status == RefundStatus.FAILED:
            state.admin_note = state.admin_note or "refund failed: Xendit reported FAILED"
        if state.refund_status in (RefundStatus.MANUAL_REQUIRED, RefundStatus.FAILED):
            state.needs_admin = True
            state.admin_note = state.admin_note or (
                f"refund by hand: {state.payment_method} payments cannot be refunded by API"
            )
        await self._transition(f"refund_{state.refund_status}", data={"amount": str(refund.amount)})
        if state.refund_status != RefundStatus.PENDING:
            note = self._refund_note(state.refund_status)
            await self._email_mentee("refund_issued", "1", refund_note=note)

    async def _await_refund_outcome(self, refund_id: str) -> None:
        """Xendit's refund callback settles it; without one, Xendit is asked at each interval,
        and after the last the refund stays pending, flagged for admin."""
        interval = timedelta(seconds=self._order.policy.refund_check_interval_s)
        for _ in range(self._order.policy.refund_checks):
            try:
                await workflow.wait_condition(
                    lambda: refund_id in self._refund_outcomes, timeout=interval
                )
                status = refund_status_of(self._refund_outcomes[refund_id])
            except TimeoutError:
                checked = await workflow.execute_activity_method(
                    XenditActivities.refund_status,
                    RefundStatusInput(refund_id),
                    start_to_close_timeout=PROVIDER_TIMEOUT,
                    retry_policy=PROVIDER_RETRY,
                )
                status = checked.status
            self._state.refund_status = RefundStatus(status)
            if self._state.refund_status != RefundStatus.PENDING:
                return
        self._state.needs_admin = True
        self._state.admin_note = f"refund {refund_id} still pending at Xendit"

    def _refund_note(self, status: RefundStatus) -> str:
        notes = REFUND_NOTES.get(status, REFUND_NOTES[RefundStatus.MANUAL_REQUIRED])
        return notes["en"] if self._order.mentee.locale == "en" else notes["id"]

    # ---- helpers -----------------------------------------------------------------------------

    async def _transition(
        self,
        event: str,
        to_status: OrderStatus | None = None,
        data: dict[str, str] | None = None,
    ) -> None:
        from_status = self._state.status
        if to_status is not None:
            self._state.status = to_status
        self._seq += 1
        await workflow.execute_activity_method(
            RecordActivities.record_transition,
            TransitionRecord(
                order_id=self._order.order_id,
                seq=self._seq,
                at=workflow.now(),
                event=event,
                from_status=str(from_status),
                to_status=str(self._state.status),
                state=dataclasses.replace(self._state),
                data=data or {},
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
        )

    async def _flag(self, event: str, data: dict[str, str]) -> None:
        self._state.needs_admin = True
        self._state.admin_note = f"{event}: {data}"
        await self._transition(event, data=data)

    def _context(self, **extra: str) -> dict[str, str]:
        order = self._order
        return {
            "order_id": order.order_id,
            "topic": order.topic,
            "mentee_name": order.mentee.name,
            "mentor_name": order.mentor.name,
            "start": self._state.start_time.isoformat(),
            "amount": format_idr(order.amount),
            "payment_deadline": self._state.payment_deadline.isoformat(),
            "meet_url": self._state.meet_url or "",
            **extra,
        }

    async def _email(
        self,
        template: str,
        occurrence: str,
        to_email: str,
        to_name: str,
        locale: str,
        invite: CalendarInvite | None,
        extra: dict[str, str],
    ) -> None:
        """Schedule the email and go on: a Gmail outage delays emails, never the order itself
        (the run waits for every email before it ends)."""
        key = email_key(self._order.order_id, f"{template}:{to_email}", occurrence)
        sending = workflow.start_activity_method(
            EmailActivities.send_email,
            SendEmailInput(
                key=key,
                order_id=self._order.order_id,
                template=template,
                to_email=to_email,
                to_name=to_name,
                locale=locale,
                timezone=self._order.mentor.timezone,
                context=self._context(**extra),
                invite=invite,
            ),
            start_to_close_timeout=PROVIDER_TIMEOUT,
            retry_policy=PROVIDER_RETRY,
        )
        self._outbox.append(sending)

    async def _email_mentee(
        self, template: str, occurrence: str, invite: CalendarInvite | None = None, **extra: str
    ) -> None:
        mentee = self._order.mentee
        await self._email(
            template, occurrence, mentee.email, mentee.name, mentee.locale, invite, extra
        )

    async def _email_mentor(
        self, template: str, occurrence: str, invite: CalendarInvite | None = None, **extra: str
    ) -> None:
        mentor = self._order.mentor
        await self._email(
            template, occurrence, mentor.email, mentor.name, mentor.locale, invite, extra
        )
