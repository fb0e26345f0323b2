"""What happens to an invoice outside the API: the payer pays, it expires, Xendit calls back.

Shared by the sandbox endpoints (programs) and the checkout page (people). Invoices do not
expire by the clock here: expire them through the API or the sandbox.
"""

from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from emulator.callbacks import Delivery, deliver
from emulator.clock import iso_millis, utcnow
from emulator.config import EmulatorConfig
from emulator.state import EmulatorState, InvoiceRecord
from emulator.xendit_models import PaymentMethod, expired_callback, paid_callback, payment_fields

DEFAULT_CHANNEL = {
    "BANK_TRANSFER": "BCA",
    "CREDIT_CARD": "CREDIT_CARD",
    "EWALLET": "OVO",
    "QR_CODE": "QRIS",
    "RETAIL_OUTLET": "ALFAMART",
    "DIRECT_DEBIT": "DD_BRI",
    "PAYLATER": "KREDIVO",
}


class Payment(BaseModel):
    """How the payer pays: by default the whole amount, by BCA virtual account."""

    model_config = ConfigDict(extra="forbid")

    payment_method: PaymentMethod = "BANK_TRANSFER"
    payment_channel: str | None = Field(default=None, min_length=1)
    paid_amount: float | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    after_expiry: bool = Field(
        default=False,
        description="a transfer that cleared after the invoice expired: EXPIRED may become PAID",
    )


@dataclass(frozen=True)
class Outcome:
    invoice: dict[str, Any]
    delivery: Delivery

    def as_json(self) -> dict[str, Any]:
        return {"invoice": self.invoice, "callback": self.delivery.as_json()}


def find_invoice(state: EmulatorState, invoice_id: str) -> InvoiceRecord:
    record = state.invoices.get(invoice_id)
    if record is None:
        raise HTTPException(404, f"no invoice {invoice_id}")
    return record


def _require_pending(record: InvoiceRecord) -> None:
    if record.status != "PENDING":
        raise HTTPException(409, f"invoice {record.id} is {record.status}, not PENDING")


async def _deliver(
    config: EmulatorConfig, record: InvoiceRecord, payload: dict[str, Any]
) -> Outcome:
    record.last_callback = payload
    delivery = await deliver(config, payload)
    record.last_delivery = delivery.as_json()
    return Outcome(record.invoice, delivery)


async def pay(config: EmulatorConfig, record: InvoiceRecord, payment: Payment) -> Outcome:
    """PENDING (or, for a late transfer, EXPIRED) -> PAID, then the PAID callback."""
    if not (payment.after_expiry and record.status == "EXPIRED"):
        _require_pending(record)
    now = utcnow()
    invoice = record.invoice
    invoice.update(
        payment_fields(
            invoice,
            method=payment.payment_method,
            channel=payment.payment_channel or DEFAULT_CHANNEL[payment.payment_method],
            paid_amount=payment.paid_amount or float(invoice["amount"]),
            paid_at=now,
        )
    )
    invoice["status"] = "PAID"
    invoice["updated"] = iso_millis(now)
    payload = paid_callback(invoice, payment.currency or str(invoice["currency"]))
    return await _deliver(config, record, payload)


def expire(record: InvoiceRecord) -> None:
    """PENDING -> EXPIRED, without a callback."""
    _require_pending(record)
    record.invoice["status"] = "EXPIRED"
    record.invoice["updated"] = iso_millis(utcnow())


async def expire_and_call_back(config: EmulatorConfig, record: InvoiceRecord) -> Outcome:
    """PENDING -> EXPIRED, then the EXPIRED callback."""
    expire(record)
    return await _deliver(config, record, expired_callback(record.invoice))


async def call_back_again(config: EmulatorConfig, record: InvoiceRecord) -> Outcome:
    """The last callback once more, as Xendit does when it retries a delivery."""
    if record.last_callback is None:
        raise HTTPException(409, f"invoice {record.id} has had no callback yet")
    return await _deliver(config, record, record.last_callback)
