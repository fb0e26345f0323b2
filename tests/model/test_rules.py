"""Single rules of the pure machine that issue 6 named, each shown on the model."""

import dataclasses
from datetime import timedelta

import pytest

from mentoring.domain import OrderStatus, RefundStatus
from tests.model.world import World, outcomes, settle, start_invoiced
from workflows import machine
from workflows.machine import deadlines
from workflows.machine.codes import Failure, Flag, Refusal, Template
from workflows.machine.model import (
    ClaimSlot,
    Decide,
    Done,
    GaveUp,
    PaymentClaimed,
    RefundPayment,
    RefundStrayPayment,
    Requested,
    Reschedule,
    SendEmail,
)

pytestmark = pytest.mark.model


def _done_all(world: World) -> World:
    while world.outstanding:
        command = world.outstanding[0]
        world = next(after for name, after in outcomes(world, command) if name == "done")
    return world


def _confirmed() -> tuple[World, list[SendEmail]]:
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
            (c.to, c.occurrence)
            for c in moved
            if isinstance(c, SendEmail) and c.template == Template.RESCHEDULED
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
