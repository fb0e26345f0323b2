"""Single rules of the pure machine that issues 6 and 8 named, each shown on the model."""

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest

from mentoring.domain import TERMINAL_STATUSES, OrderStatus, RefundStatus
from tests.model import world as model
from tests.model.world import World, moves, outcomes, settle, start_invoiced
from workflows import machine
from workflows.machine import deadlines
from workflows.machine.codes import Failure, Flag, Refusal, Role, Template
from workflows.machine.model import (
    Cancel,
    ClaimSlot,
    Command,
    Decide,
    Done,
    GaveUp,
    Letter,
    PaymentClaimed,
    Record,
    RefundPayment,
    RefundStrayPayment,
    Requested,
    Reschedule,
    SendEmails,
    letters_of,
)

pytestmark = pytest.mark.model


def _done_all(world: World) -> World:
    while world.outstanding:
        command = world.outstanding[0]
        world = next(after for name, after in outcomes(world, command) if name == "done")
    return world


def _confirmed() -> tuple[World, list[Letter]]:
    from tests.model.world import PRICE, _paid, feed

    world = start_invoiced()
    world = feed(_paid(world, PRICE), PaymentClaimed("inv-1", PRICE, "IDR"))
    world = _done_all(world)
    world = feed(world, Requested(1, Decide(True, None, "mentor")))
    world = _done_all(world)
    assert world.machine.status == OrderStatus.CONFIRMED
    return world, []


def test_each_reschedule_is_told_even_back_to_an_earlier_time() -> None:
    """Before: the email key was the new start, so after A->B->A->B the last move was silent."""
    world, _ = _confirmed()
    m, now = world.machine, world.now
    first = m.start
    occurrences = []
    for number, start in enumerate([first + timedelta(days=1), first] * 2, start=10):
        m, asked = machine.step(m, Requested(number, Reschedule(start, "mentee")), now)
        [claim] = [c for c in asked if isinstance(c, ClaimSlot)]
        m, moved = machine.step(m, Done(claim), now)
        occurrences += [
            (c.to, c.occurrence) for c in letters_of(moved) if c.template == Template.RESCHEDULED
        ]
        assert m.start == start
    assert len(set(occurrences)) == 8, occurrences  # 4 moves, both told of each


def test_reschedules_are_bounded() -> None:
    world, _ = _confirmed()
    m = dataclasses.replace(world.machine, reschedules=deadlines.MAX_RESCHEDULES)
    later = Reschedule(m.start + timedelta(days=1), "mentee")
    assert machine.admit(m, later, world.now) == Refusal.RESCHEDULE_LIMIT_REACHED


def test_duplicates_stop_growing_the_history() -> None:
    world, _ = _confirmed()
    records = 0
    m = world.machine
    for _ in range(50):
        m, commands = machine.step(m, PaymentClaimed("inv-1", 300_000, "IDR"), world.now)
        records += len(commands)
    assert records == deadlines.MAX_RECORDED_DUPLICATES


def test_a_refund_that_gave_up_is_asked_again_then_left_to_a_person() -> None:
    """Before: a refund Xendit refused or outlived 25 attempts ended `failed` for good."""
    from tests.model.world import PRICE, _paid, feed

    world = start_invoiced()
    world = feed(_paid(world, PRICE), PaymentClaimed("inv-1", PRICE, "IDR"))
    world = _done_all(world)
    world = feed(world, Requested(1, Decide(False, None, "mentor")))
    for _ in range(len(deadlines.REFUND_RETRY_DELAYS) + 1):
        [refund] = [c for c in world.outstanding if isinstance(c, RefundPayment)]
        world = feed(dataclasses.replace(world, outstanding=()), GaveUp(refund, Failure.REFUSED))
        timer = machine.next_timer(world.machine)
        if world.machine.refund.status == RefundStatus.MANUAL_REQUIRED:
            break
        assert timer is not None
        from tests.model.world import tick

        ticked = tick(world)
        assert ticked is not None
        world = ticked
    assert world.machine.refund.status == RefundStatus.MANUAL_REQUIRED
    assert world.machine.flagged(Flag.REFUND_MANUAL_REQUIRED)
    assert not world.machine.flagged(Flag.REFUND_FAILED)
    assert settle(world).machine.finished


def test_a_flag_whose_cause_resolved_itself_is_cleared() -> None:
    """A short payment flags the order; the invoice then found paid in full clears the flag."""
    from tests.model.world import feed

    world = start_invoiced()
    short = dataclasses.replace(world, invoice_status="PAID", paid_amount=100_000)
    world = _done_all(feed(short, PaymentClaimed("inv-1", 100_000, "IDR")))
    assert world.machine.flagged(Flag.PAYMENT_MISMATCH)
    full = dataclasses.replace(world, paid_amount=300_000)
    world = _done_all(feed(full, PaymentClaimed("inv-1", 300_000, "IDR")))
    assert world.machine.status == OrderStatus.AWAITING_MENTOR
    assert not world.machine.needs_admin


def test_payments_to_orphan_invoices_are_handed_over_once_each_and_bounded() -> None:
    """Before: a paid orphan invoice only flagged the order and the money was kept."""
    world, _ = _confirmed()
    m, handed = world.machine, []
    for invoice in ["inv-2", "inv-2", "inv-3", "inv-4", "inv-5", "inv-6"]:
        m, commands = machine.step(m, PaymentClaimed(invoice, 300_000, "IDR"), world.now)
        handed += [c.invoice_id for c in commands if isinstance(c, RefundStrayPayment)]
    assert handed == ["inv-2", "inv-3", "inv-4"][: deadlines.MAX_STRAY_INVOICES]
    assert m.status == OrderStatus.CONFIRMED and not m.needs_admin
    [stray] = [
        c
        for c in machine.step(world.machine, PaymentClaimed("inv-9", 1, "IDR"), world.now)[1]
        if isinstance(c, RefundStrayPayment)
    ]
    m, _ = machine.step(world.machine, GaveUp(stray, Failure.EXHAUSTED), world.now)
    assert m.flagged(Flag.PAYMENT_FOR_UNKNOWN_INVOICE)


# ---- who is emailed when (issue 8) -------------------------------------------------------------


def _mentor_emails(steps: Callable[[], World]) -> tuple[World, list[Letter]]:
    """The world after `steps`, and every email to the mentor its steps issued."""
    from tests.model import world as model

    sent: list[Letter] = []

    def observe(commands: list[Command]) -> None:
        sent.extend(c for c in letters_of(commands) if c.to == Role.MENTOR)

    model.OBSERVERS.append(observe)
    try:
        return steps(), sent
    finally:
        model.OBSERVERS.remove(observe)


def _paid_world() -> World:
    from tests.model.world import PRICE, _paid, feed

    return _done_all(feed(_paid(start_invoiced(), PRICE), PaymentClaimed("inv-1", PRICE, "IDR")))


def _run_out_the_clock(world: World) -> World:
    from tests.model.world import tick

    while world.machine.status not in TERMINAL_STATUSES:
        ticked = tick(_done_all(world))
        assert ticked is not None
        world = ticked
    return _done_all(world)


def test_the_mentor_is_asked_once_the_order_is_paid_not_before() -> None:
    invoiced, before = _mentor_emails(start_invoiced)
    paid, after = _mentor_emails(_paid_world)

    assert invoiced.machine.invoice is not None and before == []
    [request] = [c for c in after if c.template == Template.MENTOR_REQUEST]
    deadline = paid.machine.decision_deadline
    assert paid.machine.status == OrderStatus.AWAITING_MENTOR and deadline is not None
    assert dict(request.data)["decision_deadline"] == deadline.isoformat()


def test_an_approval_before_the_payment_books_without_asking_the_mentor() -> None:
    from tests.model.world import PRICE, _paid, feed

    def approved_then_paid() -> World:
        world = _done_all(feed(start_invoiced(), Requested(1, Decide(True, None, "mentor"))))
        return _done_all(feed(_paid(world, PRICE), PaymentClaimed("inv-1", PRICE, "IDR")))

    world, sent = _mentor_emails(approved_then_paid)

    assert world.machine.status == OrderStatus.CONFIRMED
    assert [c.template for c in sent] == [Template.CONFIRMED]


def _cancel(world: World) -> World:
    from tests.model.world import feed

    return _done_all(feed(world, Requested(1, Cancel("mentee", None))))


@pytest.mark.parametrize(
    ("steps", "status", "told"),
    [
        (lambda: _cancel(_paid_world()), OrderStatus.CANCELLED, Template.CANCELLED),
        (lambda: _run_out_the_clock(_paid_world()), OrderStatus.DECLINED, Template.DECLINED),
        (lambda: _cancel(start_invoiced()), OrderStatus.CANCELLED, None),
        (lambda: _run_out_the_clock(start_invoiced()), OrderStatus.EXPIRED, None),
    ],
    ids=["cancelled-asked", "lapsed-asked", "cancelled-unpaid", "expired-unpaid"],
)
def test_the_mentor_hears_how_an_order_they_were_asked_about_ends(
    steps: Callable[[], World], status: OrderStatus, told: Template | None
) -> None:
    world, sent = _mentor_emails(steps)

    assert world.machine.status == status
    asking = (Template.MENTOR_REQUEST, Template.MENTOR_REMINDER)
    assert [c.template for c in sent if c.template not in asking] == ([told] if told else [])


def test_a_mentor_who_approved_an_order_never_paid_hears_it_expired() -> None:
    from tests.model.world import feed

    def approved_then_expired() -> World:
        world = _done_all(feed(start_invoiced(), Requested(1, Decide(True, None, "mentor"))))
        return _run_out_the_clock(world)

    world, sent = _mentor_emails(approved_then_expired)

    assert world.machine.status == OrderStatus.EXPIRED
    assert [c.template for c in sent] == [Template.EXPIRED]


# ---- one step's emails in one effect (issue 11) -------------------------------------------------


def _confirmation_emails() -> SendEmails:
    return SendEmails(
        99,
        (
            Letter(Template.CONFIRMED, Role.MENTEE, "1"),
            Letter(Template.CONFIRMED, Role.MENTOR, "1"),
        ),
    )


@pytest.mark.parametrize(
    ("unsent", "failed"),
    [((1,), ["mentor"]), ((0, 1), ["mentee", "mentor"]), (None, ["mentee", "mentor"])],
)
def test_emails_given_up_flag_and_record_only_those_not_sent(
    unsent: tuple[int, ...] | None, failed: list[str]
) -> None:
    """A batch that gave up names the letters that never went out; when it cannot say (it
    timed out), every letter is taken as not sent."""
    world = start_invoiced()
    batch = _confirmation_emails()
    m, commands = machine.step(world.machine, GaveUp(batch, Failure.EXHAUSTED, unsent), world.now)

    records = [c for c in commands if isinstance(c, Record) and c.event == "email_failed"]
    assert [dict(c.data)["to"] for c in records] == failed
    assert m.flags == ((Flag.EMAIL_FAILED, f"confirmed:{failed[0]}"),)


def test_the_emails_a_step_sends_are_one_command() -> None:
    world, _ = _confirmed()
    _, commands = machine.step(world.machine, Requested(7, Cancel("admin", None)), world.now)
    batches = [c for c in commands if isinstance(c, SendEmails)]
    assert len(batches) == 1
    assert {letter.to for letter in batches[0].letters} == {Role.MENTEE, Role.MENTOR}


def test_a_late_payment_xendit_never_confirms_is_handed_to_a_person_to_pay_back() -> None:
    """Declined, then paid after the end; reading the invoice back is refused every round:
    nothing will ask again, so the order asks a person to check the payment and refund it."""
    world = model.start()
    path = ["decline", "OpenOrder:done", "ExpireInvoice:done", "pay_after_end"]
    path += ["ReadInvoice:refused", "duplicate_paid"] * 3 + ["ReadInvoice:refused"]
    for name in path:
        world = dict(moves(world))[name]
    m = world.machine
    assert m.status == OrderStatus.DECLINED and m.verify_at is None
    assert m.refund.status == RefundStatus.MANUAL_REQUIRED
    assert m.flagged(Flag.REFUND_MANUAL_REQUIRED) and m.flagged(Flag.PAYMENT_UNVERIFIED)
