"""Everything the emulator remembers, in memory. Handlers run on one event loop, so no locks."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.faults import FaultBoard
from emulator.ids import xendit_object_id

Json = dict[str, Any]


@dataclass
class InvoiceRecord:
    invoice: Json
    """The invoice exactly as Xendit's API answers it."""
    last_callback: Json | None = None
    """The payload of the last callback, which `/sandbox/invoices/{id}/callback` sends again."""
    last_delivery: Json | None = None
    """What the webhook answered to the last delivery."""
    refunded_amount: float = 0.0

    @property
    def id(self) -> str:
        return str(self.invoice["id"])

    @property
    def status(self) -> str:
        return str(self.invoice["status"])


@dataclass
class RefundRecord:
    refund: Json
    idempotency_key: str | None


@dataclass
class EventRecord:
    calendar_id: str
    event: Json
    """The event exactly as Calendar's API answers a get."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    client_email: str
    subject: str | None
    scopes: frozenset[str]
    expires_at: datetime

    @property
    def principal(self) -> str:
        """Whom the calls act as: the impersonated user, else the service account."""
        return self.subject or self.client_email


@dataclass
class EmulatorState:
    user_id: str = field(default_factory=xendit_object_id)
    invoices: dict[str, InvoiceRecord] = field(default_factory=dict)
    refunds: dict[str, RefundRecord] = field(default_factory=dict)
    refunds_settle_at_once: bool = True
    """False: new refunds stay PENDING until `POST /sandbox/refunds/{id}/settle`."""
    events: dict[tuple[str, str], EventRecord] = field(default_factory=dict)
    mail: list[Json] = field(default_factory=list)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    faults: FaultBoard = field(default_factory=FaultBoard)

    def reset(self) -> None:
        """Forget invoices, refunds, events, mail, faults and counters. Issued access tokens
        stay valid, so running clients keep working."""
        self.invoices.clear()
        self.refunds.clear()
        self.refunds_settle_at_once = True
        self.events.clear()
        self.mail.clear()
        self.faults.reset()

    def refund_for_key(self, idempotency_key: str) -> RefundRecord | None:
        for record in self.refunds.values():
            if record.idempotency_key == idempotency_key:
                return record
        return None
