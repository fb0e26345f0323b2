"""The order's transitions as data: status x event -> the statuses it may lead to.

`step` is the executable form; the exhaustive model test checks that every status change it
makes is a row here, and that every row here is reached. `docs/state-machine.md` is generated
from this table (`python -m workflows.machine.table > docs/state-machine.md`).
"""

from dataclasses import dataclass

from mentoring.domain import OrderStatus
from workflows.machine import deadlines
from workflows.machine.codes import Flag, Reason, Refusal, Timer
from workflows.machine.model import (
    Cancel,
    Decide,
    Done,
    Event,
    GaveUp,
    InvoiceExpired,
    PaymentClaimed,
    RefundReported,
    Requested,
    Resolve,
    TimerFired,
)

S = OrderStatus


@dataclass(frozen=True)
class Transition:
    status: OrderStatus
    event: str
    to: tuple[OrderStatus, ...]
    what: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        S.AWAITING_PAYMENT,
        "gave_up:open_order",
        (S.EXPIRED,),
        "no invoice before the payment deadline: expired",
    ),
    Transition(
        S.AWAITING_PAYMENT,
        "done:read_invoice",
        (S.AWAITING_MENTOR, S.SCHEDULING),
        "the invoice read back is paid in full: to the mentor, or booking if approved already",
    ),
    Transition(
        S.AWAITING_PAYMENT,
        "done:expire_invoice",
        (S.AWAITING_MENTOR, S.SCHEDULING, S.EXPIRED, S.DECLINED, S.CANCELLED),
        "closing the invoice (deadline, EXPIRED callback, decline, cancel) found it paid in full "
        "(the payment wins over expiry), or closed: expired, declined or cancelled; a short "
        "payment found there is refunded",
    ),
    Transition(
        S.AWAITING_PAYMENT,
        "gave_up:expire_invoice",
        (S.EXPIRED, S.DECLINED, S.CANCELLED),
        "Xendit would not close the invoice: the order ends anyway, flagged invoice_not_closed "
        "(a payment that still comes is a late payment, refunded)",
    ),
    Transition(
        S.AWAITING_MENTOR,
        "approve",
        (S.SCHEDULING,),
        "the mentor approves a paid order: booking starts",
    ),
    Transition(
        S.AWAITING_MENTOR,
        "decline",
        (S.DECLINED,),
        "the mentor declines: full refund, both emailed",
    ),
    Transition(
        S.AWAITING_MENTOR,
        "cancel",
        (S.CANCELLED,),
        "cancelled by the mentee, the mentor or an admin: full refund",
    ),
    Transition(
        S.AWAITING_MENTOR,
        f"timer:{Timer.DECISION_DEADLINE}",
        (S.DECLINED,),
        "the mentor did not answer in time: declined, full refund",
    ),
    Transition(
        S.SCHEDULING,
        "done:book_session",
        (S.CONFIRMED,),
        "the event and its Meet room exist: confirmed, reminders armed, both emailed",
    ),
    Transition(
        S.SCHEDULING,
        "gave_up:book_session",
        (S.FAILED,),
        "Google refused, or its outage outlasted the booking's patience: the half-made event is "
        "removed (and looked for once more later), full refund, flagged",
    ),
    Transition(
        S.CONFIRMED,
        "cancel",
        (S.CANCELLED,),
        "cancelled before the start: the event is removed, full refund, both emailed",
    ),
    Transition(
        S.CONFIRMED,
        f"timer:{Timer.SESSION_END}",
        (S.COMPLETED,),
        "the session's end: completed, the mentee thanked",
    ),
)


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return out.lstrip("_")


def event_name(event: Event) -> str:
    """The name an event has in the table."""
    if isinstance(event, Done | GaveUp):
        kind = "done" if isinstance(event, Done) else "gave_up"
        return f"{kind}:{_snake(type(event.command).__name__)}"
    if isinstance(event, TimerFired):
        return f"timer:{event.timer}"
    if isinstance(event, PaymentClaimed):
        return "payment_claimed"
    if isinstance(event, InvoiceExpired):
        return "invoice_expired"
    if isinstance(event, RefundReported):
        return "refund_reported"
    assert isinstance(event, Requested)
    request = event.request
    if isinstance(request, Decide):
        return "approve" if request.approve else "decline"
    if isinstance(request, Resolve):
        return "resolve"
    return "cancel" if isinstance(request, Cancel) else "reschedule"


def allowed(status: OrderStatus, event: str, to: OrderStatus) -> bool:
    if status == to:
        return True
    return any(t.status == status and t.event == event and to in t.to for t in TRANSITIONS)


def _codes(title: str, codes: type[Reason] | type[Refusal] | type[Flag] | type[Timer]) -> str:
    return f"**{title}:** " + ", ".join(f"`{code}`" for code in codes) + "\n"


def markdown() -> str:
    """docs/state-machine.md, generated from the table and the machine's codes."""
    lines = [
        "# The order state machine",
        "",
        "Generated from `workflows/machine/table.py` by "
        "`python -m workflows.machine.table > docs/state-machine.md`; a test fails when the two "
        "differ. The machine is the pure function `step(machine, event, now) -> (machine, "
        "commands)` in `workflows/machine/`; the workflow (`workflows/order.py`) feeds it "
        "messages, timers and the outcomes of its commands, and carries out the commands.",
        "",
        "Every status change the machine can make (an event not listed leaves the status as it "
        "is; it may still record, email, refund or flag):",
        "",
        "| status | event | next status | what happens |",
        "|---|---|---|---|",
    ]
    for t in TRANSITIONS:
        targets = ", ".join(f"`{to}`" for to in t.to)
        lines.append(f"| `{t.status}` | `{t.event}` | {targets} | {t.what} |")
    lines += [
        "",
        "Events: the messages `payment_claimed` (a PAID callback: believed once the invoice read "
        "back from Xendit agrees), `invoice_expired`, `refund_reported`, the requests `approve`, "
        "`decline`, `cancel`, `reschedule`, `resolve` (an admin clearing flags; it never changes "
        "the status); `timer:<name>` when a timer falls due; and for every "
        "command `done:<command>` or `gave_up:<command>` (each command's retries are bounded).",
        "",
        _codes("Timers", Timer),
        _codes("Terminal reasons", Reason),
        _codes("Refusals", Refusal),
        _codes(
            "Flags (needs_admin; each cleared when its cause resolves itself, or by an admin's "
            "`resolve`)",
            Flag,
        ),
        "Bounds: at most "
        f"{deadlines.MAX_RESCHEDULES} reschedules per order; duplicate callbacks are recorded "
        f"{deadlines.MAX_RECORDED_DUPLICATES} times, then only counted; a refund that gave up is "
        "asked again after "
        + ", ".join(str(delay) for delay in deadlines.REFUND_RETRY_DELAYS)
        + ", then becomes `manual_required`; a half-made calendar event is looked for once more "
        f"{deadlines.CALENDAR_SWEEP_DELAY} after a booking gave up.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
