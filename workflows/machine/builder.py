"""One step in the making: the next machine and the commands it issues, built up in order.

A `Builder` lives for one call of `step` and is never shared, so `step` stays a pure function.
"""

from datetime import datetime
from typing import Any

from mentoring.domain import TERMINAL_STATUSES, OrderStatus, RefundStatus
from workflows.machine import deadlines
from workflows.machine.codes import Closing, Flag, Reason, Refusal, Role, Template
from workflows.machine.model import (
    BookSession,
    Command,
    ExpireInvoice,
    InvoiceSeen,
    Letter,
    Machine,
    Payment,
    Record,
    Refund,
    RefundPayment,
    Reply,
    Requested,
    SendEmails,
    Waiting,
)


def pairs(**data: object) -> tuple[tuple[str, str], ...]:
    return tuple((key, str(value)) for key, value in data.items() if value is not None)


class Builder:
    def __init__(self, machine: Machine, now: datetime) -> None:
        # A private copy, changed in place until the step returns it: the caller's machine is
        # never touched (and a copy is far cheaper than a `replace` per change).
        self.m = object.__new__(Machine)
        self.m.__dict__.update(machine.__dict__)
        self.now = now
        self.commands: list[Command] = []

    # ---- plumbing --------------------------------------------------------------------------

    def set(self, **changes: Any) -> None:
        for name, value in changes.items():
            object.__setattr__(self.m, name, value)

    def new_id(self) -> int:
        number = self.m.next_id
        self.set(next_id=number + 1)
        return number

    def new_seq(self) -> int:
        seq = self.m.seq + 1
        self.set(seq=seq)
        return seq

    def issue(self, command: Command) -> int:
        self.commands.append(command)
        return command.id

    def wait_for(
        self, command: Command, request: Requested | None = None, reason: Reason | None = None
    ) -> None:
        self.issue(command)
        self.set(waiting=Waiting(command.id, request, reason))

    # ---- what a step does ------------------------------------------------------------------

    def record(self, event: str, becomes: OrderStatus | None = None, **data: object) -> int:
        return self.record_data(event, data, becomes)

    def record_data(
        self, event: str, data: dict[str, object], becomes: OrderStatus | None = None
    ) -> int:
        from_status = self.m.status
        if becomes is not None:
            self.set(status=becomes)
        seq = self.new_seq()
        return self.issue(
            Record(self.new_id(), seq, event, from_status, self.m.status, pairs(**data))
        )

    def email(self, template: Template, to: Role, occurrence: str = "1", **data: object) -> None:
        """Joins the step's one `SendEmails` (issued with its first letter)."""
        letter = Letter(template, to, occurrence, pairs(**data))
        for index, command in enumerate(self.commands):
            if isinstance(command, SendEmails):
                self.commands[index] = SendEmails(command.id, (*command.letters, letter))
                return
        self.issue(SendEmails(self.new_id(), (letter,)))

    def email_both(self, template: Template, occurrence: str = "1", **data: object) -> None:
        self.email(template, Role.MENTEE, occurrence, **data)
        self.email(template, Role.MENTOR, occurrence, **data)

    def reply(
        self, request: Requested | None, refusal: Refusal | None = None, after: int | None = None
    ) -> None:
        if request is not None:
            waits = () if after is None else (after,)
            recorded = refusal is not None and after is not None
            self.issue(Reply(self.new_id(), request.number, refusal, waits, recorded))

    def flag(self, flag: Flag, detail: object = "") -> None:
        if not self.m.flagged(flag):
            self.set(flags=(*self.m.flags, (flag, str(detail))))

    def unflag(self, *flags: Flag) -> None:
        kept = tuple(entry for entry in self.m.flags if entry[0] not in flags)
        if kept != self.m.flags:
            cleared = ",".join(code for code, _ in self.m.flags if code in flags)
            self.set(flags=kept)
            self.record("flag_cleared", flags=cleared)

    def finish(self, status: OrderStatus, reason: Reason, text: str | None = None) -> None:
        assert status in TERMINAL_STATUSES
        if self.m.payment is None and self.m.mismatch is not None:
            self.take_payment(self.m.mismatch)  # a short payment seen earlier goes back too
        self.set(
            reason=reason,
            reason_text=text,
            closes_at=deadlines.close_at(self.m.order.policy, self.now),
        )

    def take_payment(self, invoice: InvoiceSeen) -> None:
        self.set(
            payment=Payment(
                amount=invoice.paid_amount or 0,
                currency=invoice.currency or "",
                paid_at=invoice.paid_at or self.now,
                method=invoice.method,
                channel=invoice.channel,
            )
        )

    def close_invoice(
        self, closing: Closing, request: Requested | None = None, reason: Reason | None = None
    ) -> None:
        assert self.m.invoice is not None
        command = ExpireInvoice(self.new_id(), self.m.invoice.invoice_id, closing)
        self.wait_for(command, request, reason)

    def book(self) -> None:
        patience = deadlines.booking_patience(self.m.start, self.now)
        command = BookSession(
            self.new_id(), self.m.start, self.m.end, int(patience.total_seconds())
        )
        self.wait_for(command)

    def refund(self) -> RefundStatus:
        """Ask for the whole payment back, once per order; returns where the refund stands."""
        m = self.m
        if m.refund.status != RefundStatus.NONE or m.invoice is None or m.payment is None:
            return m.refund.status
        self.set(refund=Refund(RefundStatus.PENDING, m.payment.amount))
        self.record("refund_requested", amount=m.payment.amount)
        self.issue_refund()
        return RefundStatus.PENDING

    def issue_refund(self) -> None:
        m = self.m
        assert m.invoice is not None and m.payment is not None
        self.issue(
            RefundPayment(
                self.new_id(),
                m.invoice.invoice_id,
                m.payment.amount,
                m.payment.currency or m.order.currency,
                m.payment.method,
            )
        )
