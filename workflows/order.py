"""MentoringOrderWorkflow: one order, interpreted from its pure state machine.

The workflow decides nothing. It takes the next event (a message, a timer that fell due, the
outcome of a command), applies `machine.step`, and starts the commands that step returns; it
stops once the machine says it is finished, nothing is under way and its inbox is empty.
"""

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.payments import refund_status_of
    from mentoring.contract import ORDER_WORKFLOW, Query, Signal, Update
    from mentoring.domain import (
        REFUSAL_RECORDED,
        Actor,
        CancelInput,
        InvoiceReadyInput,
        MentorDecisionInput,
        OrderInput,
        OrderState,
        PaymentExpired,
        PaymentReceived,
        RefundSettled,
        RefundStatus,
        RescheduleInput,
        ResolveInput,
    )
    from workflows import machine
    from workflows.effects import Effects
    from workflows.machine.codes import Flag, Refusal
    from workflows.machine.model import (
        Cancel,
        Command,
        Decide,
        Event,
        InvoiceExpired,
        Machine,
        PaymentClaimed,
        RefundReported,
        Reply,
        Request,
        Requested,
        Reschedule,
        Resolve,
        TimerFired,
    )
    from workflows.projection import order_state


def as_request(
    body: MentorDecisionInput | CancelInput | RescheduleInput | ResolveInput,
) -> Request:
    if isinstance(body, ResolveInput):
        known = {str(flag) for flag in Flag}
        if any(name not in known for name in body.flags):
            raise refusal_error(Refusal.NOTHING_TO_RESOLVE)
        return Resolve(tuple(Flag(name) for name in body.flags), body.note, body.reference)
    if isinstance(body, MentorDecisionInput):
        if body.decision not in ("approve", "decline"):
            raise ApplicationError(Refusal.INVALID_DECISION, type=Refusal.INVALID_DECISION)
        actor: Actor = body.actor if body.actor in ("mentor", "admin") else "mentor"  # type: ignore[assignment]
        return Decide(body.decision == "approve", body.reason, actor)
    if isinstance(body, CancelInput):
        return Cancel(body.by, body.reason)
    return Reschedule(body.start_time, body.by)


def refusal_error(refusal: Refusal, recorded: bool = False) -> ApplicationError:
    details = (REFUSAL_RECORDED,) if recorded else ()
    return ApplicationError(str(refusal), *details, type=str(refusal))


@workflow.defn(name=ORDER_WORKFLOW)
class MentoringOrderWorkflow:
    @workflow.init
    def __init__(self, order: OrderInput) -> None:
        self._machine, self._first = machine.begin(order)
        self._effects = Effects(order)
        self._inbox: list[Event] = []
        self._running: dict[int, asyncio.Task[None]] = {}
        self._replies_waiting: list[Reply] = []
        self._answers: dict[int, Reply] = {}
        self._requests = 0
        self._alarm: asyncio.Task[None] | None = None
        self._alarm_at: datetime | None = None
        self._alarm_rang = False

    # ---- messages in -------------------------------------------------------------------------

    @workflow.query(name=Query.STATUS)
    def status(self) -> OrderState:
        return order_state(self._machine)

    @workflow.signal(name=Signal.PAYMENT_RECEIVED)
    def payment_received(self, payment: PaymentReceived) -> None:
        claim = PaymentClaimed(payment.invoice_id, payment.paid_amount, payment.currency)
        self._inbox.append(claim)

    @workflow.signal(name=Signal.PAYMENT_EXPIRED)
    def payment_expired(self, expiry: PaymentExpired) -> None:
        self._inbox.append(InvoiceExpired(expiry.invoice_id))

    @workflow.signal(name=Signal.REFUND_SETTLED)
    def refund_settled(self, outcome: RefundSettled) -> None:
        status = RefundStatus(refund_status_of(outcome.status))
        self._inbox.append(RefundReported(outcome.refund_id, status))

    @workflow.update(name=Update.INVOICE_READY)
    async def invoice_ready(self, request: InvoiceReadyInput) -> str:
        """Returns the invoice URL once the invoice exists and is recorded."""
        await workflow.wait_condition(
            lambda: self._machine.invoice_published or self._machine.invoice_answer is not None
        )
        answer = self._machine.invoice_answer
        if answer is not None:
            raise refusal_error(answer)
        assert self._machine.invoice is not None
        return self._machine.invoice.url

    @invoice_ready.validator
    def _validate_invoice_ready(self, request: InvoiceReadyInput) -> None:
        if request.request_hash != self._machine.order.request_hash:
            raise refusal_error(Refusal.IDEMPOTENCY_KEY_REUSED)

    @workflow.update(name=Update.MENTOR_DECISION)
    async def mentor_decision(self, decision: MentorDecisionInput) -> str:
        """Returns the order's status once the decision is recorded."""
        return await self._submit(as_request(decision))

    @mentor_decision.validator
    def _validate_mentor_decision(self, decision: MentorDecisionInput) -> None:
        self._admit(as_request(decision))

    @workflow.update(name=Update.CANCEL)
    async def cancel(self, request: CancelInput) -> str:
        """Returns the order's status once the cancellation is recorded."""
        return await self._submit(as_request(request))

    @cancel.validator
    def _validate_cancel(self, request: CancelInput) -> None:
        self._admit(as_request(request))

    @workflow.update(name=Update.RESCHEDULE)
    async def reschedule(self, request: RescheduleInput) -> str:
        """Returns the order's status once the new time is recorded (or refused)."""
        return await self._submit(as_request(request))

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleInput) -> None:
        self._admit(as_request(request))

    @workflow.update(name=Update.RESOLVE)
    async def resolve(self, request: ResolveInput) -> str:
        """Returns the order's status once the resolution is recorded."""
        return await self._submit(as_request(request))

    @resolve.validator
    def _validate_resolve(self, request: ResolveInput) -> None:
        self._admit(as_request(request))

    def _admit(self, request: Request) -> None:
        refusal = machine.admit(self._machine, request, workflow.now())
        if refusal is not None:
            raise refusal_error(refusal)

    async def _submit(self, request: Request) -> str:
        self._requests += 1
        number = self._requests
        self._inbox.append(Requested(number, request))
        await workflow.wait_condition(lambda: number in self._answers)
        answer = self._answers.pop(number)
        if answer.refusal is not None:
            raise refusal_error(answer.refusal, answer.recorded)
        return str(self._machine.status)

    # ---- the interpreter ---------------------------------------------------------------------

    @workflow.run
    async def run(self, order: OrderInput) -> OrderState:
        self._start(self._first)
        while (event := await self._next_event()) is not None:
            self._machine, commands = machine.step(self._machine, event, workflow.now())
            self._start(commands)
        self._set_alarm(None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return order_state(self._machine)

    def _idle(self) -> bool:
        return self._machine.finished and not self._running and not self._inbox

    async def _next_event(self) -> Event | None:
        while True:
            deferred = machine.take_deferred(self._machine)
            if deferred is not None:
                self._machine, message = deferred
                return message
            if self._inbox:
                return self._inbox.pop(0)
            if self._idle():
                return None
            timer = machine.next_timer(self._machine)
            if timer is not None and timer[1] <= workflow.now():
                return TimerFired(timer[0])
            self._set_alarm(timer[1] if timer is not None else None)
            await workflow.wait_condition(
                lambda: bool(self._inbox) or self._idle() or self._alarm_rang
            )

    def _set_alarm(self, at: datetime | None) -> None:
        """One Temporal timer for the machine's next deadline, kept while that deadline stays:
        a timer started and cancelled around every event would cost two history events each."""
        if at == self._alarm_at:
            return
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm, self._alarm_at, self._alarm_rang = None, at, False
        if at is not None:
            self._alarm = asyncio.create_task(self._ring_at(at))

    async def _ring_at(self, at: datetime) -> None:
        await workflow.sleep(at - workflow.now())
        self._alarm_rang = True

    def _start(self, commands: list[Command]) -> None:
        issued_by = self._machine
        for command in commands:
            if isinstance(command, Reply):
                self._replies_waiting.append(command)
            else:
                task = asyncio.create_task(self._carry_out(command, issued_by))
                self._running[command.id] = task
        self._answer_ready_replies()

    async def _carry_out(self, command: Command, issued_by: Machine) -> None:
        outcome = await self._effects.run(command, issued_by)
        del self._running[command.id]
        self._inbox.append(outcome)
        self._answer_ready_replies()

    def _answer_ready_replies(self) -> None:
        for reply in list(self._replies_waiting):
            if not any(number in self._running for number in reply.after):
                self._replies_waiting.remove(reply)
                self._answers[reply.number] = reply
