"""Conformance: random traces, faults included, played through the pure machine (on the model's
world) and through the real workflow on the Temporal dev server, step by step; after each step
both must be in the same status, waiting on the same commands, having written the same records
and sent the same emails.

The real workflow runs unchanged; only its activities are scripted: each provider call waits
until the trace says how it ends (done with the world's answer, refused, slot taken, a refund
left pending), so the two sides see the same outcomes in the same order. Timers fire on the real
side by fast-forwarding the workflow's clock to the machine's next timer. Outages that run until
the retry policy gives up are left to the model tests and the stack's give-up tests: here they
would need minutes of skipped time in the middle of a call.
"""

import asyncio
import contextlib
import dataclasses
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import TimeSkipper, TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Worker

from activities.calendar import BookedSession
from activities.opening import ORDER_NOT_STORED
from activities.payments import InvoiceInfo, RefundResult
from activities.records import SLOT_UNAVAILABLE
from mentoring.contract import ORDER_WORKFLOW, Query, Signal, Update
from mentoring.domain import (
    CancelInput,
    MentorDecisionInput,
    OrderInput,
    OrderState,
    PaymentExpired,
    PaymentReceived,
    RefundSettled,
    RescheduleInput,
    workflow_id_for,
)
from tests.model import world as model
from tests.model.world import World
from tests.support import wait_until
from workflows import machine
from workflows.late_payment import LatePaymentWorkflow
from workflows.machine.model import (
    Booked,
    CheckRefund,
    ClaimSlot,
    Command,
    ExpireInvoice,
    InvoiceSeen,
    MoveEvent,
    ReadInvoice,
    Record,
    RefundPayment,
    RefundSeen,
    Reply,
    SendEmails,
)
from workflows.order import MentoringOrderWorkflow
from workflows.runner import WORKFLOW_RUNNER

TRACES = int(os.environ.get("CONFORMANCE_TRACES", "12"))
MOVES_PER_TRACE = 12
STEP_BOUND_S = 30.0
FAULTS = ("done", "refused", "slot_taken", "not_stored", "pending")

Key = tuple[str, ...]


def command_key(command: Command) -> Key:
    """What both sides must agree a provider call is."""
    if isinstance(command, ReadInvoice | ExpireInvoice):
        return (type(command).__name__, command.invoice_id)
    if isinstance(command, MoveEvent):
        return ("MoveEvent", command.start.isoformat())
    if isinstance(command, RefundPayment):
        return ("RefundPayment", command.invoice_id, str(command.amount))
    if isinstance(command, CheckRefund):
        return ("CheckRefund", command.refund_id)
    if isinstance(command, ClaimSlot):
        return ("ClaimSlot", command.start.isoformat())
    return (type(command).__name__,)


def expected_of(world: World, log: Counter[Key]) -> tuple[str, list[Key], Counter[Key]]:
    return (
        str(world.machine.status),
        sorted(command_key(c) for c in world.outstanding),
        log,
    )


@dataclasses.dataclass
class Call:
    key: Key
    answer: asyncio.Future[Callable[[], Any]]


class ScriptedProviders:
    """The workflow's activities, answering as the trace says; records and emails at once."""

    def __init__(self, order: OrderInput) -> None:
        self.order = order
        self.pending: list[Call] = []
        self.done: Counter[Key] = Counter()

    async def _wait(self, key: Key) -> Any:
        call = Call(key, asyncio.get_running_loop().create_future())
        self.pending.append(call)
        outcome = await call.answer
        return outcome()

    def take(self, key: Key) -> Call:
        call = next(c for c in self.pending if c.key == key)
        self.pending.remove(call)
        return call

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="open_order")
        async def open_order(request: Any) -> InvoiceInfo:
            result: InvoiceInfo = await self._wait(("OpenOrder",))
            return result

        @activity.defn(name="record_transition")
        async def record_transition(record: Any) -> None:
            if record["event"] == "rescheduled" and record["from_status"] == record["to_status"]:
                await self._wait(("ClaimSlot", record["state"]["start_time"]))
                return
            self.done[("Record", record["event"], record["from_status"], record["to_status"])] += 1

        @activity.defn(name="send_emails")
        async def send_emails(request: Any) -> int:
            for email in request["emails"]:
                self.done[("SendEmail", email["template"], email["to_email"])] += 1
            return len(request["emails"])

        @activity.defn(name="get_invoice")
        async def get_invoice(request: Any) -> InvoiceInfo:
            result: InvoiceInfo = await self._wait(("ReadInvoice", request["invoice_id"]))
            return result

        @activity.defn(name="expire_invoice")
        async def expire_invoice(request: Any) -> InvoiceInfo:
            result: InvoiceInfo = await self._wait(("ExpireInvoice", request["invoice_id"]))
            return result

        @activity.defn(name="book_session")
        async def book_session(request: Any) -> BookedSession:
            result: BookedSession = await self._wait(("BookSession",))
            return result

        @activity.defn(name="cancel_session")
        async def cancel_session(request: Any) -> None:
            await self._wait(("DeleteEvent",))

        @activity.defn(name="move_session")
        async def move_session(request: Any) -> None:
            start = datetime.fromisoformat(request["start_time"]).isoformat()
            await self._wait(("MoveEvent", start))

        @activity.defn(name="refund_payment")
        async def refund_payment(request: Any) -> RefundResult:
            key = ("RefundPayment", request["invoice_id"], str(request["amount"]))
            result: RefundResult = await self._wait(key)
            return result

        @activity.defn(name="refund_status")
        async def refund_status(request: Any) -> RefundResult:
            result: RefundResult = await self._wait(("CheckRefund", request["refund_id"]))
            return result

        @activity.defn(name="append_event")
        async def append_event(request: Any) -> None:
            self.done[("AppendEvent", request["event"])] += 1

        return [
            open_order,
            record_transition,
            send_emails,
            get_invoice,
            expire_invoice,
            book_session,
            cancel_session,
            move_session,
            refund_payment,
            refund_status,
            append_event,
        ]


def as_activity_answer(answer: object) -> object:
    if isinstance(answer, InvoiceSeen):
        return InvoiceInfo(
            invoice_id=answer.invoice_id,
            invoice_url=answer.url,
            status=answer.status,
            expires_at=answer.expires_at,
            paid_amount=answer.paid_amount,
            paid_currency=answer.currency,
            paid_at=answer.paid_at,
            payment_method=answer.method,
            payment_channel=answer.channel,
        )
    if isinstance(answer, Booked):
        return BookedSession(answer.event_id, answer.meet_url, None)
    if isinstance(answer, RefundSeen):
        return RefundResult(str(answer.status), answer.refund_id)
    return answer


def scripted_outcome(world: World, command: Command, outcome: str) -> Callable[[], Any]:
    """What the activity does for `outcome`, answering as the world would."""
    if outcome == "refused":

        def refuse() -> Any:
            raise ApplicationError("refused by the provider", non_retryable=True)

        return refuse
    if outcome == "slot_taken":

        def taken() -> Any:
            raise ApplicationError("slot taken", type=SLOT_UNAVAILABLE, non_retryable=True)

        return taken
    if outcome == "not_stored":

        def not_stored() -> Any:
            raise ApplicationError("database down", type=ORDER_NOT_STORED, non_retryable=True)

        return not_stored
    if outcome == "pending":
        return lambda: RefundResult("pending", "rfd-1")
    _, answer = model.land(model._without(world, command), command)
    converted = as_activity_answer(answer)
    return lambda: converted


def instant_log(commands: list[Command], order: OrderInput) -> Counter[Key]:
    log: Counter[Key] = Counter()
    for command in commands:
        if isinstance(command, Record):
            key = ("Record", command.event, str(command.from_status), str(command.to_status))
            log[key] += 1
        elif isinstance(command, SendEmails):
            for letter in command.letters:
                person = order.mentee if letter.to == "mentee" else order.mentor
                log[("SendEmail", str(letter.template), person.email)] += 1
        elif isinstance(command, Reply):
            log[("Reply", str(command.refusal))] += 1
    return log


class LoggingWorld:
    """The model's world, keeping the records and emails the machine issued, as the real side's
    scripted activities log them."""

    def __init__(self, order: OrderInput) -> None:
        self.order = order
        self.log: Counter[Key] = Counter()
        self.replies: Counter[Key] = Counter()
        self.world = self._logged(lambda: model.start(order))

    def _logged(self, act: Callable[[], World]) -> World:
        issued: list[Command] = []
        model.OBSERVERS.append(issued.extend)
        try:
            world = act()
        finally:
            model.OBSERVERS.remove(issued.extend)
        for key, count in instant_log(issued, self.order).items():
            (self.replies if key[0] == "Reply" else self.log)[key] += count
        return world

    def apply(self, act: Callable[[], World]) -> None:
        self.world = self._logged(act)


async def answer_of(update: WorkflowUpdateHandle[str]) -> Key:
    try:
        await update.result()
    except WorkflowUpdateFailedError as error:
        assert isinstance(error.cause, ApplicationError), error.cause
        return ("Reply", str(error.cause.type))
    return ("Reply", "None")


def ticked(world: World) -> World:
    after = model.tick(world)
    assert after is not None
    return after


WEIGHTS = {"outcome:done": 16, "outcome": 2, "tick": 3}
# People mostly pay and approve; the rest happens, less often.
MESSAGE_WEIGHTS = {"pay": 12, "approve": 8, "reschedule": 3, "decline": 2}
CANCEL_WEIGHT, OTHER_MESSAGE_WEIGHT = 1, 2


def choose_move(rng: random.Random, world: World, settling: bool) -> tuple[str, Any]:
    """A move both sides can play: a command's outcome (mostly success), a message, or (with
    nothing under way) the next timer."""
    candidates: list[tuple[str, Any]] = []
    weights: list[int] = []
    for command in world.outstanding:
        for outcome in model.outcome_names(world, command):
            if outcome in FAULTS and (not settling or outcome == "done"):
                candidates.append(("outcome", (command, outcome)))
                weights.append(WEIGHTS["outcome:done" if outcome == "done" else "outcome"])
    if not settling and not world.machine.finished:  # a finished workflow may have closed
        names = model.message_names(world)
        candidates += [("message", name) for name in names]
        weights += [
            MESSAGE_WEIGHTS.get(
                name, CANCEL_WEIGHT if name.startswith("cancel") else OTHER_MESSAGE_WEIGHT
            )
            for name in names
        ]
    if not world.outstanding and machine.next_timer(world.machine) is not None:
        candidates.append(("tick", None))
        weights.append(WEIGHTS["tick"])
    if not candidates:
        return ("finished", None)
    return rng.choices(candidates, weights)[0]


async def send_message(handle: WorkflowHandle[Any, Any], world: World, name: str) -> Any:
    """Deliver message `name` to the real workflow as the API and the relay would."""
    m = world.machine
    invoice = model.INVOICE
    if name in ("pay", "forged_paid", "duplicate_paid", "pay_after_end"):
        amount = model.PRICE if name != "duplicate_paid" else (world.paid_amount or 0)
        await handle.signal(Signal.PAYMENT_RECEIVED, PaymentReceived(invoice, amount, "IDR"))
    elif name == "pay_short":
        await handle.signal(Signal.PAYMENT_RECEIVED, PaymentReceived(invoice, 100_000, "IDR"))
    elif name == "expired_callback":
        await handle.signal(Signal.PAYMENT_EXPIRED, PaymentExpired(invoice))
    elif name == "refund_callback":
        await handle.signal(Signal.REFUND_SETTLED, RefundSettled("rfd-1", "SUCCEEDED"))
    else:
        update, body = _request(name, m.start)
        return await handle.start_update(
            update, body, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=str
        )
    return None


def _request(name: str, start: datetime) -> tuple[str, object]:
    if name == "approve":
        return Update.MENTOR_DECISION, MentorDecisionInput("approve", None, "mentor")
    if name == "decline":
        return Update.MENTOR_DECISION, MentorDecisionInput("decline", "busy", "mentor")
    if name.startswith("cancel_"):
        return Update.CANCEL, CancelInput(name.removeprefix("cancel_"), None)  # type: ignore[arg-type]
    assert name == "reschedule"
    return Update.RESCHEDULE, RescheduleInput(start + timedelta(days=1), "mentee")


async def real_view(
    handle: WorkflowHandle[Any, Any], providers: ScriptedProviders
) -> tuple[str, list[Key], Counter[Key]]:
    state: OrderState = await handle.query(Query.STATUS, result_type=OrderState)
    return (
        str(state.status),
        sorted(call.key for call in providers.pending),
        +providers.done,
    )


async def in_step(
    handle: WorkflowHandle[Any, Any], providers: ScriptedProviders, expected: Any, trace: list[str]
) -> None:
    """Wait (bounded) until the real side shows what the machine expects; then they agree."""
    last: list[Any] = []

    async def agrees() -> bool:
        last[:] = [await real_view(handle, providers)]
        return bool(last[0] == expected)

    with contextlib.suppress(TimeoutError):
        await wait_until(agrees, "the workflow to reach the machine's step", STEP_BOUND_S)
    assert last[0] == expected, f"after {trace}"


async def play_trace(client: Client, seed: int) -> tuple[list[str], str]:
    rng = random.Random(seed)
    created = datetime.now(UTC).replace(microsecond=0)
    order = dataclasses.replace(
        model.order_input(),
        order_id=str(uuid.uuid4()),
        created_at=created,
        start_time=created + timedelta(days=3),
    )
    providers = ScriptedProviders(order)
    task_queue = f"conformance-{order.order_id}"
    skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
    side = LoggingWorld(order)
    trace: list[str] = []
    updates: list[Any] = []
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[MentoringOrderWorkflow, LatePaymentWorkflow],
        workflow_runner=WORKFLOW_RUNNER,
        activities=providers.activities(),
    ):
        handle = await client.start_workflow(
            ORDER_WORKFLOW,
            order,
            id=workflow_id_for(order.order_id),
            task_queue=task_queue,
            result_type=OrderState,
        )
        await in_step(handle, providers, expected_of(side.world, side.log), trace)
        for number in range(MOVES_PER_TRACE + 400):
            kind, what = choose_move(rng, side.world, settling=number >= MOVES_PER_TRACE)
            if kind == "finished":
                break
            world = side.world
            if kind == "outcome":
                command, outcome = what
                trace.append(f"{type(command).__name__}:{outcome}")
                call = providers.take(command_key(command))
                call.answer.set_result(scripted_outcome(world, command, outcome))
                side.apply(partial(model.outcome, world, command, outcome))
            elif kind == "message":
                trace.append(what)
                updates.append(await send_message(handle, world, what))
                side.apply(partial(model.message, world, what))
            else:
                timer = machine.next_timer(world.machine)
                assert timer is not None
                trace.append(f"tick:{timer[0]}")
                await skipper.fast_forward(handle, max(timer[1] - world.now, timedelta(0)))
                side.apply(partial(ticked, world))
            await in_step(handle, providers, expected_of(side.world, side.log), trace)
        assert side.world.machine.finished, f"the trace did not settle: {trace}"
        result = await handle.result()
        assert str(result.status) == str(side.world.machine.status), trace
        answers: Counter[Key] = Counter()
        for update in updates:
            if update is not None:
                answers[await answer_of(update)] += 1
        assert answers == side.replies, trace
    return trace, str(result.status)


async def test_random_traces_agree_with_the_pure_machine(temporal_env: WorkflowEnvironment) -> None:
    ends: Counter[str] = Counter()
    steps = faults = 0
    for seed in range(TRACES):
        trace, status = await play_trace(temporal_env.client, seed)
        ends[status] += 1
        steps += len(trace)
        faults += sum(step.endswith((":refused", ":slot_taken", ":pending")) for step in trace)
        print(f"trace {seed} ends {status}: {trace}")
    print(f"{TRACES} traces, {steps} steps, {faults} faults, ending {dict(ends)}")
    assert faults > 0 and len(ends) >= 3, ends
