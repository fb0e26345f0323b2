"""A small world for the pure machine: Xendit's invoice and refund, Google's event, a clock.

Each command the machine issues waits here until the explorer picks its outcome: done (the
world changes as the provider would), refused, an outage until the give-up, or an attempt that
the machine saw give up but that lands later anyway (a ghost). Records, emails and replies do
not change what the invariants look at; they complete at once.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mentoring.domain import (
    TERMINAL_STATUSES,
    MentorInfo,
    OrderInput,
    OrderPolicy,
    OrderStatus,
    Person,
    RefundStatus,
)
from workflows import machine
from workflows.machine import deadlines
from workflows.machine.codes import Failure, Role, Template
from workflows.machine.messages import mentor_involved
from workflows.machine.model import (
    Booked,
    BookSession,
    Cancel,
    CheckRefund,
    ClaimSlot,
    Command,
    Decide,
    DeleteEvent,
    Done,
    Event,
    ExpireInvoice,
    GaveUp,
    InvoiceExpired,
    InvoiceSeen,
    Machine,
    MoveEvent,
    OpenOrder,
    PaymentClaimed,
    ReadInvoice,
    Record,
    RefundPayment,
    RefundReported,
    RefundSeen,
    Reply,
    Request,
    Requested,
    Reschedule,
    SendEmails,
    TimerFired,
    letters_of,
)
from workflows.machine.table import event_name

CREATED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PRICE = 300_000
INVOICE = "inv-1"
INSTANT = (Record, SendEmails, Reply)
END_TEMPLATES = (Template.DECLINED, Template.CANCELLED, Template.EXPIRED)


def order_input(start_in: timedelta = timedelta(days=3)) -> OrderInput:
    policy = OrderPolicy(
        payment_window_s=3600,
        payment_cutoff_before_start_s=2 * 3600,
        decision_window_s=24 * 3600,
        decision_cutoff_before_start_s=3600,
        mentee_cancellation_cutoff_s=24 * 3600,
        # Not at the cancellation cutoff: the real clock is past a timer when it fires, and a
        # cancel sent then would fall on the other side of the cutoff than the model's.
        reminder_offsets_s=[25 * 3600, 3600],
        late_payment_grace_s=7 * 24 * 3600,
        refund_check_interval_s=6 * 3600,
        refund_checks=2,
    )
    return OrderInput(
        order_id="00000000-0000-4000-8000-000000000001",
        request_hash="h",
        mentor=MentorInfo("m", "Ayu", "ayu@example.com", "Asia/Jakarta"),
        mentee=Person("Budi", "budi@example.com", "en"),
        topic="Career",
        start_time=CREATED + start_in,
        duration_minutes=60,
        amount=PRICE,
        currency="IDR",
        policy=policy,
        created_at=CREATED,
    )


@dataclass(frozen=True)
class Ghost:
    """An attempt the machine saw give up, still landing before `by`."""

    command: Command
    by: datetime


@dataclass(frozen=True)
class World:
    machine: Machine
    now: datetime
    invoice_status: str | None = None
    paid_amount: int | None = None
    invoices_created: int = 0
    event: str | None = None  # None, "live", "deleted"
    event_revision: int = 0
    refunded: int = 0
    refund_status: RefundStatus | None = None
    refunds_made: int = 0
    outstanding: tuple[Command, ...] = ()
    ghosts: tuple[Ghost, ...] = ()

    def invoice(self) -> InvoiceSeen:
        return InvoiceSeen(
            invoice_id=INVOICE,
            url="https://pay/inv-1",
            status=self.invoice_status or "PENDING",
            expires_at=CREATED + timedelta(hours=1),
            paid_amount=self.paid_amount,
            currency="IDR" if self.paid_amount else None,
            paid_at=self.now if self.paid_amount else None,
            method="EWALLET" if self.paid_amount else None,
        )


def _with(world: World, **changes: object) -> World:
    """`dataclasses.replace` for the world, without its per-call checks (the explorer makes
    millions of these)."""
    changed = object.__new__(World)
    changed.__dict__.update(world.__dict__)
    changed.__dict__.update(changes)
    return changed


# Every status change a step made, as (status, the table's event name, next status).
STATUS_CHANGES: set[tuple[OrderStatus, str, OrderStatus]] = set()


# Every breach of the rules on who is emailed when, as steps are taken (the model tests check
# it stays empty).
EMAIL_BREACHES: list[str] = []


def _step(m: Machine, event: Event, now: datetime) -> tuple[Machine, list[Command]]:
    after, commands = machine.step(m, event, now)
    if after.status != m.status:
        STATUS_CHANGES.add((m.status, event_name(event), after.status))
    EMAIL_BREACHES.extend(email_breaches(m, after, event, commands))
    return after, commands


def email_breaches(m: Machine, after: Machine, event: Event, commands: list[Command]) -> list[str]:
    """The mentor is asked once, and only for a paid order nobody decided on; once they know of
    the order (asked, or decided), they hear how it ends (every end but completion); an order
    they never heard of ends without an email to them."""
    to_mentor = [c.template for c in letters_of(commands) if c.to == Role.MENTOR]
    breaches = []
    asked = m.decision_deadline is not None
    asked_wrongly = after.payment is None or m.decision is not None or asked
    if Template.MENTOR_REQUEST in to_mentor and asked_wrongly:
        breaches.append(f"a mentor request for an unpaid, decided or asked order ({event})")
    ended = m.status not in TERMINAL_STATUSES and after.status in TERMINAL_STATUSES
    if ended and after.invoice is not None and after.status != OrderStatus.COMPLETED:
        told = any(template in END_TEMPLATES for template in to_mentor)
        if told != mentor_involved(after):
            what = "told of" if told else "not told of"
            breaches.append(f"the mentor {what} a {after.status} order ({event})")
    return breaches


def feed(world: World, event: Event) -> World:
    """Apply `event` to the machine, then anything it deferred; commands join the outstanding."""
    m, commands = _step(world.machine, event, world.now)
    world = _with(world, machine=m)
    world = _issue(world, commands)
    while (deferred := machine.take_deferred(world.machine)) is not None:
        m, message = deferred
        m, commands = _step(m, message, world.now)
        world = _issue(_with(world, machine=m), commands)
    return world


# Called with every batch of commands the machine issues (the conformance test logs them).
OBSERVERS: list[Callable[[list[Command]], None]] = []


def _issue(world: World, commands: list[Command]) -> World:
    for observe in OBSERVERS:
        observe(commands)
    pending = [c for c in commands if not isinstance(c, INSTANT)]
    world = _with(world, outstanding=(*world.outstanding, *pending))
    for command in commands:
        if isinstance(command, (Record, SendEmails)):
            world = feed(world, Done(command))
    return world


def start(order: OrderInput | None = None) -> World:
    """A new order (`order_input()` unless given), at the moment it was created."""
    order = order or order_input()
    m, commands = machine.begin(order)
    return _issue(World(machine=m, now=order.created_at), commands)


def start_invoiced() -> World:
    """A new order whose slot is held and whose invoice exists."""
    world = start()
    return next(after for name, after in outcomes(world, world.outstanding[0]) if name == "done")


def _without(world: World, command: Command) -> World:
    rest = tuple(c for c in world.outstanding if c is not command)
    return _with(world, outstanding=rest)


def land(world: World, command: Command) -> tuple[World, object]:
    """The provider does what `command` asks; returns the world and the answer."""
    w = world
    if isinstance(command, OpenOrder):
        w = _with(w, invoice_status="PENDING", invoices_created=w.invoices_created + 1)
        return w, w.invoice()
    if isinstance(command, ReadInvoice):
        return w, w.invoice()
    if isinstance(command, ExpireInvoice):
        if w.invoice_status == "PENDING":
            w = _with(w, invoice_status="EXPIRED")
        return w, w.invoice()
    if isinstance(command, BookSession):
        if w.event is None:
            w = _with(w, event="live")
        return w, Booked("evt", "https://meet/x")
    if isinstance(command, DeleteEvent):
        return _with(w, event="deleted" if w.event else None), None
    if isinstance(command, MoveEvent):
        if command.revision > w.event_revision:
            w = _with(w, event_revision=command.revision)
        return w, None
    if isinstance(command, RefundPayment):
        if w.refund_status is None:
            w = _with(
                w,
                refund_status=RefundStatus.SUCCEEDED,
                refunded=command.amount,
                refunds_made=w.refunds_made + 1,
            )
        return w, RefundSeen(w.refund_status or RefundStatus.SUCCEEDED, "rfd-1")
    if isinstance(command, CheckRefund):
        return w, RefundSeen(w.refund_status or RefundStatus.PENDING, "rfd-1")
    return w, None


STALE_PRONE = (BookSession, MoveEvent, DeleteEvent, RefundPayment, ExpireInvoice)


def outcome_names(world: World, command: Command) -> list[str]:
    """The ways `command` can end."""
    if isinstance(command, ClaimSlot):
        return ["done", "slot_taken"]
    if isinstance(command, OpenOrder):
        return ["done", "slot_taken", "not_stored", "refused", "outage"]
    names = ["done"]
    if isinstance(command, RefundPayment) and _without(world, command).refund_status is None:
        names.append("pending")
    names += ["refused", "outage"]
    if isinstance(command, STALE_PRONE):
        names.append("stale")
    return names


def outcome(world: World, command: Command, name: str) -> World:
    """The world after `command` ended the way `name` says."""
    base = _without(world, command)
    if name == "slot_taken":
        return feed(base, GaveUp(command, Failure.SLOT_UNAVAILABLE))
    if name == "not_stored":
        return feed(base, GaveUp(command, Failure.NOT_STORED))
    if name == "done" and isinstance(command, ClaimSlot):
        return feed(base, Done(command))
    if name == "done":
        landed, answer = land(base, command)
        return feed(landed, Done(command, answer))  # type: ignore[arg-type]
    if name == "pending":
        assert isinstance(command, RefundPayment)
        pending = _with(
            base,
            refund_status=RefundStatus.PENDING,
            refunded=command.amount,
            refunds_made=base.refunds_made + 1,
        )
        return feed(pending, Done(command, RefundSeen(RefundStatus.PENDING, "rfd-1")))
    if name == "refused":
        return feed(base, GaveUp(command, Failure.REFUSED))
    if name == "outage":
        return feed(base, GaveUp(command, Failure.EXHAUSTED))
    assert name == "stale"
    ghost = Ghost(command, world.now + deadlines.CALENDAR_SWEEP_DELAY)
    gave_up = _with(base, ghosts=(*base.ghosts, ghost))
    return feed(gave_up, GaveUp(command, Failure.EXHAUSTED))


def outcomes(world: World, command: Command) -> Iterator[tuple[str, World]]:
    """Every way `command` can end, each with the world after it."""
    for name in outcome_names(world, command):
        yield name, outcome(world, command, name)


REQUESTS: dict[str, Callable[[Machine], Request]] = {
    "approve": lambda m: Decide(True, None, "mentor"),
    "decline": lambda m: Decide(False, "busy", "mentor"),
    "cancel_mentee": lambda m: Cancel("mentee", None),
    "cancel_mentor": lambda m: Cancel("mentor", None),
    "cancel_admin": lambda m: Cancel("admin", None),
    "reschedule": lambda m: Reschedule(m.start + timedelta(days=1), "mentee"),
}


def message_names(world: World) -> list[str]:
    """What people and Xendit may do now."""
    w, m = world, world.machine
    names = []
    if w.invoice_status == "PENDING":
        names += ["pay", "pay_short", "forged_paid", "expired_callback"]
    if w.invoice_status == "PAID":
        names.append("duplicate_paid")
    if w.invoice_status == "EXPIRED":
        names.append("pay_after_end")
    if w.refund_status == RefundStatus.PENDING:
        names.append("refund_callback")
    names += [
        name for name, request in REQUESTS.items() if machine.admit(m, request(m), w.now) is None
    ]
    return names


def message(world: World, name: str) -> World:
    """The world after message `name`."""
    w, m = world, world.machine
    if name == "pay":
        return feed(_paid(w, PRICE), PaymentClaimed(INVOICE, PRICE, "IDR"))
    if name == "pay_short":
        return feed(_paid(w, 100_000), PaymentClaimed(INVOICE, 100_000, "IDR"))
    if name == "forged_paid":
        return feed(w, PaymentClaimed(INVOICE, PRICE, "IDR"))
    if name == "expired_callback":
        return feed(_with(w, invoice_status="EXPIRED"), InvoiceExpired(INVOICE))
    if name == "duplicate_paid":
        return feed(w, PaymentClaimed(INVOICE, w.paid_amount or 0, "IDR"))
    if name == "pay_after_end":
        return feed(_paid(w, PRICE), PaymentClaimed(INVOICE, PRICE, "IDR"))
    if name == "refund_callback":
        settled = _with(w, refund_status=RefundStatus.SUCCEEDED)
        return feed(settled, RefundReported("rfd-1", RefundStatus.SUCCEEDED))
    return feed(w, Requested(m.next_id * 1000, REQUESTS[name](m)))


def messages(world: World) -> Iterator[tuple[str, World]]:
    """What people and Xendit may do now, each with the world after it."""
    for name in message_names(world):
        yield name, message(world, name)


def _paid(world: World, amount: int) -> World:
    return _with(world, invoice_status="PAID", paid_amount=amount)


def tick(world: World) -> World | None:
    """The clock moves to the next timer and fires it (ghosts due before then land first)."""
    timer = machine.next_timer(world.machine)
    if timer is None:
        return None
    name, at = timer
    if any(ghost.by <= at for ghost in world.ghosts):
        return None
    now = max(world.now, at)
    return feed(_with(world, now=now), TimerFired(name))


def land_ghost(world: World, ghost: Ghost) -> World:
    rest = tuple(g for g in world.ghosts if g is not ghost)
    landed, _ = land(_with(world, ghosts=rest), ghost.command)
    return landed


def moves(world: World) -> Iterator[tuple[str, World]]:
    """Every next event, named."""
    for command in world.outstanding:
        for outcome, after in outcomes(world, command):
            yield f"{type(command).__name__}:{outcome}", after
    for ghost in world.ghosts:
        yield f"ghost:{type(ghost.command).__name__}", land_ghost(world, ghost)
    yield from messages(world)
    ticked = tick(world)
    if ticked is not None:
        yield "tick", ticked


def settle(world: World, limit: int = 400) -> World:
    """Let everything succeed and time run until the machine is finished."""
    return settle_trail(world, limit)[-1]


def settle_trail(world: World, limit: int = 400) -> list[World]:
    """The worlds on the way to `settle`'s, the settled one last."""
    trail = [world]
    for _ in range(limit):
        trail.append(world := _settle_step(world))
        if world is trail[-2]:
            return trail[:-1]
    raise AssertionError(f"not finished after {limit} steps: {world.machine}")


def _settle_step(world: World) -> World:
    """One step towards the end; the same world once there."""
    if world.refund_status == RefundStatus.PENDING:
        return _with(world, refund_status=RefundStatus.SUCCEEDED)
    if world.ghosts:
        return land_ghost(world, world.ghosts[0])
    if world.outstanding:
        command = world.outstanding[0]
        return next(after for name, after in outcomes(world, command) if name == "done")
    if world.machine.finished:
        return world
    ticked = tick(world)
    assert ticked is not None, f"stuck: no timer, nothing under way: {world.machine}"
    return ticked


def invariant_breaches(world: World) -> list[str]:
    """Invariants 1, 2, 4 and 5 of docs/invariants.md, on a settled world."""
    m = world.machine
    breaches = []
    money_in = world.paid_amount if world.invoice_status == "PAID" else 0
    if money_in and m.status != OrderStatus.COMPLETED:
        refunded = world.refund_status == RefundStatus.SUCCEEDED and world.refunded == money_in
        by_hand = m.refund.status == RefundStatus.MANUAL_REQUIRED and m.needs_admin
        if not (refunded or by_hand):
            breaches.append(f"1: {money_in} kept by a {m.status} order ({m.refund})")
    if world.event == "live":
        consented = m.payment is not None and m.decision is True
        if not (consented and m.status in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED)):
            breaches.append(f"2: a live event for a {m.status} order")
        if money_in != PRICE:
            breaches.append("2: a live event without the full payment")
    if m.status not in TERMINAL_STATUSES and m.invoice is not None:
        breaches.append(f"4: finished in {m.status}")
    if world.invoices_created > 1 or world.refunds_made > 1:
        breaches.append("5: an effect happened twice")
    if m.status == OrderStatus.CONFIRMED and not m.payment:
        breaches.append("2: confirmed without payment")
    return breaches
