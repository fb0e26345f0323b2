"""Carrying out the machine's commands as activities, each bounded, each with a give-up outcome.

Every command runs under a retry policy that ends (attempts or schedule-to-close); whatever way
it ends comes back to the machine as `Done` or `GaveUp`, and the machine decides what follows.
"""

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import (
        BookedSession,
        BookSessionInput,
        CalendarActivities,
        CancelSessionInput,
        MoveSessionInput,
    )
    from activities.email import EMAILS_NOT_SENT, EmailActivities, SendEmailInput, SendEmailsInput
    from activities.opening import ORDER_NOT_STORED, OpeningActivities, OpenOrderInput
    from activities.payments import (
        CreateInvoiceInput,
        ExpireInvoiceInput,
        GetInvoiceInput,
        InvoiceInfo,
        RefundInput,
        RefundResult,
        RefundStatusInput,
        XenditActivities,
    )
    from activities.records import SLOT_UNAVAILABLE, CreateOrderRecordInput, RecordActivities
    from mentoring.contract import LATE_PAYMENT_WORKFLOW, late_payment_workflow_id
    from mentoring.domain import (
        LatePaymentInput,
        OrderInput,
        OrderState,
        OrderStatus,
        PaymentReceived,
        RefundStatus,
        TransitionRecord,
        calendar_event_id_for,
        email_key,
    )
    from workflows.bounds import BOOKING_RETRY, EMAIL, PROVIDER, RECORD, REFUND, Bounds
    from workflows.machine.codes import Failure, Role
    from workflows.machine.model import (
        Booked,
        BookSession,
        CheckRefund,
        ClaimSlot,
        Command,
        DeleteEvent,
        Done,
        ExpireInvoice,
        GaveUp,
        InvoiceSeen,
        Letter,
        Machine,
        MoveEvent,
        OpenOrder,
        ReadInvoice,
        Record,
        RefundPayment,
        RefundSeen,
        RefundStrayPayment,
        Result,
        SendEmails,
    )
    from workflows.projection import order_state


DATETIME_KEYS = ("old_start", "decision_deadline")


FAILURES_BY_TYPE = {
    SLOT_UNAVAILABLE: Failure.SLOT_UNAVAILABLE,
    "InvoiceNotFound": Failure.NOT_FOUND,
    ORDER_NOT_STORED: Failure.NOT_STORED,
}


def failure_of(error: ActivityError) -> Failure:
    cause = error.cause
    # Retries that ran out end in a timeout whose cause is the last attempt's error.
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if cause is None:
        return Failure.EXHAUSTED
    known = FAILURES_BY_TYPE.get(cause.type or "")
    if known is not None:
        return known
    return Failure.REFUSED if cause.non_retryable else Failure.EXHAUSTED


def unsent_of(error: ActivityError) -> tuple[int, ...] | None:
    """The letters of a batch its last attempt named as not sent; None if it could not say
    (it timed out, or the worker stopped): then any of them may have gone out, or none."""
    cause: BaseException | None = error.cause
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == EMAILS_NOT_SENT:
            return tuple(int(position) for position in cause.details)
        cause = cause.__cause__
    return None


def invoice_seen(invoice: InvoiceInfo) -> InvoiceSeen:
    return InvoiceSeen(
        invoice_id=invoice.invoice_id,
        url=invoice.invoice_url,
        status=invoice.status,
        expires_at=invoice.expires_at,
        paid_amount=invoice.paid_amount,
        currency=invoice.paid_currency,
        paid_at=invoice.paid_at,
        method=invoice.payment_method,
        channel=invoice.payment_channel,
    )


def refund_seen(result: RefundResult) -> RefundSeen:
    return RefundSeen(RefundStatus(result.status), result.refund_id)


class Effects:
    """The activities behind the commands of one order."""

    def __init__(self, order: OrderInput) -> None:
        self._order = order
        self._event_id = calendar_event_id_for(order.order_id)
        self._calendar_id = order.mentor.calendar_id or "primary"
        # The order's records are written one at a time, in the order the machine issued them:
        # the timeline, and the outgoing webhooks written with it, then follow that order. (A
        # reschedule's claim is not held by it: it may wait on the database's verdict, and its
        # `order.rescheduled` carries its seq like every event.)
        self._writes = asyncio.Lock()

    async def run(self, command: Command, machine: Machine) -> Done | GaveUp:
        """`machine` is the one the command was issued from: the state its records write."""
        try:
            return Done(command, await self._run(command, machine))
        except ActivityError as error:
            unsent = unsent_of(error) if isinstance(command, SendEmails) else None
            return GaveUp(command, failure_of(error), unsent)

    async def _activity(self, method: Any, argument: Any, bounds: Bounds) -> Any:
        return await workflow.execute_activity_method(
            method,
            argument,
            start_to_close_timeout=bounds.start_to_close,
            schedule_to_close_timeout=bounds.schedule_to_close,
            heartbeat_timeout=bounds.heartbeat,
            retry_policy=bounds.retry,
        )

    async def _local(self, method: Any, argument: Any, bounds: Bounds) -> Any:
        """A short, idempotent effect (a write to our own database, an email): run as a local
        activity, in the worker that runs the workflow, with one marker in the history instead
        of three events and a trip through the task queue. A long outage still retries within
        its bounds (the SDK waits on a timer between attempts past a minute)."""
        return await workflow.execute_local_activity_method(
            method,
            argument,
            start_to_close_timeout=bounds.start_to_close,
            schedule_to_close_timeout=bounds.schedule_to_close,
            retry_policy=bounds.retry,
        )

    async def _run(self, command: Command, m: Machine) -> Result:
        order = self._order
        if isinstance(command, Record):
            await self._record(command, m)
        elif isinstance(command, ClaimSlot):
            await self._claim(command, m)
        elif isinstance(command, SendEmails):
            emails = SendEmailsInput([self._email(letter, m) for letter in command.letters])
            await self._local(EmailActivities.send_emails, emails, EMAIL)
        elif isinstance(command, OpenOrder):
            bounds = replace(PROVIDER, schedule_to_close=timedelta(seconds=command.patience_s))
            # Not local: the update that admits the order is accepted when the first workflow
            # task completes, which a local activity (Xendit's answer) would hold open.
            opening = OpenOrderInput(
                CreateOrderRecordInput(order, order_state(m)),
                CreateInvoiceInput(
                    order_id=order.order_id,
                    amount=order.amount,
                    currency=order.currency,
                    payer_email=order.mentee.email,
                    description=f"Mentoring: {order.topic} with {order.mentor.name}",
                    duration_s=command.duration_s,
                    customer_name=order.mentee.name,
                    locale=order.mentee.locale,
                    topic=order.topic,
                    duration_minutes=order.duration_minutes,
                ),
            )
            invoice = await self._activity(OpeningActivities.open_order, opening, bounds)
            return invoice_seen(invoice)
        elif isinstance(command, ReadInvoice):
            invoice = await self._activity(
                XenditActivities.get_invoice, GetInvoiceInput(command.invoice_id), PROVIDER
            )
            return invoice_seen(invoice)
        elif isinstance(command, ExpireInvoice):
            invoice = await self._activity(
                XenditActivities.expire_invoice, ExpireInvoiceInput(command.invoice_id), PROVIDER
            )
            return invoice_seen(invoice)
        elif isinstance(command, BookSession):
            return await self._book(command)
        elif isinstance(command, DeleteEvent):
            await self._activity(
                CalendarActivities.cancel_session,
                CancelSessionInput(self._calendar_id, self._event_id),
                PROVIDER,
            )
        elif isinstance(command, MoveEvent):
            await self._activity(
                CalendarActivities.move_session,
                MoveSessionInput(
                    calendar_id=self._calendar_id,
                    event_id=self._event_id,
                    start_time=command.start,
                    end_time=command.end,
                    timezone=order.mentor.timezone,
                    revision=command.revision,
                ),
                PROVIDER,
            )
        elif isinstance(command, RefundPayment):
            result = await self._activity(
                XenditActivities.refund_payment,
                RefundInput(
                    order_id=order.order_id,
                    invoice_id=command.invoice_id,
                    amount=command.amount,
                    currency=command.currency,
                    payment_method=command.method,
                    reason="CANCELLATION",
                ),
                REFUND,
            )
            return refund_seen(result)
        elif isinstance(command, RefundStrayPayment):
            await self._hand_over_stray(command)
        elif isinstance(command, CheckRefund):
            result = await self._activity(
                XenditActivities.refund_status, RefundStatusInput(command.refund_id), PROVIDER
            )
            return refund_seen(result)
        return None

    async def _hand_over_stray(self, command: RefundStrayPayment) -> None:
        """The late-payment workflow verifies and refunds it; it outlives this order's. Its id
        is the one the relay uses for a payment after the order closed: one refund either way."""
        payment = PaymentReceived(command.invoice_id, command.amount, command.currency)
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                LATE_PAYMENT_WORKFLOW,
                LatePaymentInput(order_id=self._order.order_id, payment=payment),
                id=late_payment_workflow_id(command.invoice_id),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )

    async def _record(self, command: Record, m: Machine) -> None:
        state = order_state(m)
        transition = (command.from_status, command.to_status)
        async with self._writes:
            await self._write(command.seq, command.event, transition, state, command.data, RECORD)

    async def _claim(self, command: ClaimSlot, m: Machine) -> None:
        """The order's state at its new time: the database refuses it if the slot is taken."""
        state = replace(
            order_state(m),
            start_time=command.start,
            end_time=command.end,
            payment_deadline=command.payment_deadline,
            decision_deadline=command.decision_deadline,
        )
        bounds = replace(RECORD, schedule_to_close=timedelta(minutes=1))
        transition = (m.status, m.status)
        # A regular activity: the database's verdict on the new time may take a while, and a
        # local activity would hold the workflow task open meanwhile.
        await self._write(
            command.seq, "rescheduled", transition, state, command.data, bounds, local=False
        )

    async def _write(
        self,
        seq: int,
        event: str,
        transition: tuple[OrderStatus, OrderStatus],
        state: OrderState,
        data: tuple[tuple[str, str], ...],
        bounds: Bounds,
        local: bool = True,
    ) -> None:
        record = TransitionRecord(
            order_id=self._order.order_id,
            seq=seq,
            at=workflow.now(),
            event=event,
            from_status=str(transition[0]),
            to_status=str(transition[1]),
            state=state,
            data=dict(data),
        )
        if local:
            await self._local(RecordActivities.record_transition, record, bounds)
        else:
            await self._activity(RecordActivities.record_transition, record, bounds)

    async def _book(self, command: BookSession) -> Booked:
        order = self._order
        bounds = Bounds(
            timedelta(seconds=60),
            BOOKING_RETRY,
            schedule_to_close=timedelta(seconds=command.patience_s),
            heartbeat=timedelta(seconds=60),
        )
        booked: BookedSession = await self._activity(
            CalendarActivities.book_session,
            BookSessionInput(
                order_id=order.order_id,
                calendar_id=self._calendar_id,
                event_id=self._event_id,
                summary=f"Mentoring: {order.topic}",
                description=f"{order.mentee.name} x {order.mentor.name}\n{order.notes or ''}",
                start_time=command.start,
                end_time=command.end,
                timezone=order.mentor.timezone,
                attendee_emails=[order.mentee.email, order.mentor.email],
                reminder_minutes=[s // 60 for s in order.policy.reminder_offsets_s],
            ),
            bounds,
        )
        return Booked(booked.event_id, booked.meet_url)

    def _email(self, letter: Letter, m: Machine) -> SendEmailInput:
        """What the email says, from the order as the step that sent it left it: the amounts
        actually paid and refunded, reasons as codes (the templates word them), times as ISO
        (shown in the recipient's own zone). No calendar file: Google's event invites both
        (docs/decisions/0021-google-sends-the-invitations.md)."""
        order = self._order
        person = order.mentee if letter.to == Role.MENTEE else order.mentor
        context = {
            "order_id": order.order_id,
            "role": str(letter.to),
            "topic": order.topic,
            "mentee_name": order.mentee.name,
            "mentor_name": order.mentor.name,
            "name": person.name,
            "start": m.start.isoformat(),
            "duration": str(order.duration_minutes),
            "notes": order.notes or "",
            "amount": str(order.amount),
            "currency": order.currency,
            "paid": str(m.payment.amount) if m.payment else "",
            "refunded": str(m.refund.amount) if m.refund.amount is not None else "",
            "refund": str(m.refund.status),
            "payment_deadline": m.payment_deadline.isoformat(),
            "decision_deadline": m.decision_deadline.isoformat() if m.decision_deadline else "",
            "meet_url": m.meet_url or "",
            "invoice_url": m.invoice.url if m.invoice else "",
            "reason": str(m.reason or ""),
            "reason_text": m.reason_text or "",
            **dict(letter.data),
        }
        if letter.to == Role.MENTOR:
            context["mentor_id"] = order.mentor.id
        return SendEmailInput(
            key=email_key(order.order_id, f"{letter.template}:{person.email}", letter.occurrence),
            order_id=order.order_id,
            template=str(letter.template),
            to_email=person.email,
            to_name=person.name,
            locale=person.locale,
            timezone=person.timezone,
            context=context,
        )
