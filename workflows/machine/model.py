"""The machine's values: its events in, its commands out, and the order's whole state.

Everything here is frozen and hashable (the exhaustive test hashes states), and nothing here
knows of Temporal, the clock or any provider.
"""

from dataclasses import dataclass, field
from datetime import datetime

from mentoring.domain import Actor, OrderInput, OrderStatus, RefundStatus
from workflows.machine.codes import Closing, Failure, Flag, Reason, Refusal, Role, Template, Timer

# ---- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentClaimed:
    """Xendit says an invoice was paid; believed only once the invoice, read back, agrees."""

    invoice_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class InvoiceExpired:
    invoice_id: str


@dataclass(frozen=True)
class RefundReported:
    refund_id: str
    status: RefundStatus


@dataclass(frozen=True)
class Decide:
    approve: bool
    text: str | None
    actor: Actor


@dataclass(frozen=True)
class Cancel:
    by: Actor
    text: str | None


@dataclass(frozen=True)
class Reschedule:
    start: datetime
    by: Actor


@dataclass(frozen=True)
class Resolve:
    """An admin has dealt with what the flags asked for (all of them when `flags` is empty); a
    refund paid by hand names its transfer."""

    flags: tuple[Flag, ...]
    note: str
    reference: str | None


Request = Decide | Cancel | Reschedule | Resolve


@dataclass(frozen=True)
class Requested:
    number: int
    request: Request


@dataclass(frozen=True)
class TimerFired:
    timer: Timer


@dataclass(frozen=True)
class InvoiceSeen:
    invoice_id: str
    url: str
    status: str
    expires_at: datetime
    paid_amount: int | None = None
    currency: str | None = None
    paid_at: datetime | None = None
    method: str | None = None
    channel: str | None = None

    @property
    def paid(self) -> bool:
        return self.status in ("PAID", "SETTLED")


@dataclass(frozen=True)
class Booked:
    event_id: str
    meet_url: str


@dataclass(frozen=True)
class RefundSeen:
    status: RefundStatus
    refund_id: str | None


Result = InvoiceSeen | Booked | RefundSeen | None

# ---- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenOrder:
    """Store the order, holding the mentor's time (the database refuses an overlap), then
    issue its invoice, valid for `duration_s`; give up after `patience_s`."""

    id: int
    duration_s: int
    patience_s: int


@dataclass(frozen=True)
class ReadInvoice:
    """Verify a payment claim against Xendit."""

    id: int
    invoice_id: str


@dataclass(frozen=True)
class ExpireInvoice:
    id: int
    invoice_id: str
    closing: Closing


@dataclass(frozen=True)
class BookSession:
    id: int
    start: datetime
    end: datetime
    patience_s: int


@dataclass(frozen=True)
class DeleteEvent:
    id: int


@dataclass(frozen=True)
class MoveEvent:
    id: int
    start: datetime
    end: datetime
    revision: int


@dataclass(frozen=True)
class RefundPayment:
    id: int
    invoice_id: str
    amount: int
    currency: str
    method: str | None


@dataclass(frozen=True)
class CheckRefund:
    id: int
    refund_id: str


@dataclass(frozen=True)
class RefundStrayPayment:
    """Hand a payment for another invoice of this order (an orphan) to be verified and
    refunded on its own (the late-payment workflow, one per invoice)."""

    id: int
    invoice_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class Letter:
    """One email: a template to one of the two people (`occurrence` tells repeats apart)."""

    template: Template
    to: Role
    occurrence: str
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SendEmails:
    """Every email one step sends, in one effect (one local activity)."""

    id: int
    letters: tuple[Letter, ...]


@dataclass(frozen=True)
class Record:
    """Write the order's state after this step and append `event` to its timeline."""

    id: int
    seq: int
    event: str
    from_status: OrderStatus
    to_status: OrderStatus
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ClaimSlot:
    """A record that moves the order to a new time: the database refuses a taken slot."""

    id: int
    seq: int
    start: datetime
    end: datetime
    payment_deadline: datetime
    decision_deadline: datetime | None
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reply:
    """Answer update `number` once the commands `after` have finished."""

    id: int
    number: int
    refusal: Refusal | None
    after: tuple[int, ...] = ()
    recorded: bool = False


Command = (
    OpenOrder
    | ReadInvoice
    | ExpireInvoice
    | BookSession
    | DeleteEvent
    | MoveEvent
    | RefundPayment
    | CheckRefund
    | RefundStrayPayment
    | SendEmails
    | Record
    | ClaimSlot
    | Reply
)


@dataclass(frozen=True)
class Done:
    command: Command
    result: Result = None


@dataclass(frozen=True)
class GaveUp:
    command: Command
    failure: Failure
    unsent: tuple[int, ...] | None = None
    """Of a `SendEmails`, the letters (by position) known not to have gone out; None when
    unknown (then none is known to have gone out)."""


def letters_of(commands: list[Command]) -> list[Letter]:
    """Every email among `commands`."""
    return [letter for c in commands if isinstance(c, SendEmails) for letter in c.letters]


Message = PaymentClaimed | InvoiceExpired | RefundReported | Requested
Event = Message | TimerFired | Done | GaveUp

# ---- state -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    amount: int
    currency: str
    paid_at: datetime
    method: str | None
    channel: str | None


@dataclass(frozen=True)
class Refund:
    status: RefundStatus = RefundStatus.NONE
    amount: int | None = None
    refund_id: str | None = None
    rounds: int = 0
    checks: int = 0
    retry_at: datetime | None = None
    check_at: datetime | None = None


@dataclass(frozen=True)
class Waiting:
    """The blocking command whose answer the next decision needs; messages wait meanwhile."""

    command_id: int
    request: Requested | None = None
    reason: Reason | None = None


@dataclass(frozen=True)
class Machine:
    order: OrderInput = field(compare=False, repr=False)
    status: OrderStatus
    start: datetime
    end: datetime
    payment_deadline: datetime
    decision_deadline: datetime | None = None
    reason: Reason | None = None
    reason_text: str | None = None
    invoice: InvoiceSeen | None = None
    invoice_answer: Refusal | None = None
    invoice_published: bool = False
    payment: Payment | None = None
    payment_expired: bool = False
    decision: bool | None = None
    decision_text: str | None = None
    decided_at: datetime | None = None
    event_id: str | None = None
    meet_url: str | None = None
    refund: Refund = Refund()
    flags: tuple[tuple[Flag, str], ...] = ()
    mentor_reminded: bool = False
    reminders_due: tuple[int, ...] = ()
    move_revision: int = 0
    reschedules: int = 0
    duplicates: int = 0
    strays: tuple[str, ...] = ()
    mismatch: InvoiceSeen | None = None
    waiting: Waiting | None = None
    deferred: tuple[Message, ...] = ()
    sweep_at: datetime | None = None
    verify_at: datetime | None = None
    verify_rounds: int = 0
    closes_at: datetime | None = None
    finished: bool = False
    next_id: int = 1
    seq: int = 1

    @property
    def needs_admin(self) -> bool:
        return bool(self.flags)

    def flagged(self, flag: Flag) -> bool:
        return any(code == flag for code, _ in self.flags)
