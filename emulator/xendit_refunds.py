"""Xendit's refunds: the request body, the refund as `POST /refunds` answers it, the checks it
makes before refunding, and the refund webhook, as pure functions."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from emulator.clock import iso_millis
from emulator.errors import xendit_error
from emulator.ids import refund_id
from emulator.xendit_models import Json, XenditBody

# What Xendit refunds through its API; bank transfers and retail outlets it does not.
REFUNDABLE_METHODS = frozenset({"CREDIT_CARD", "EWALLET", "QR_CODE", "DIRECT_DEBIT", "PAYLATER"})


class CreateRefundBody(XenditBody):
    invoice_id: str | None = None
    payment_request_id: str | None = None
    reference_id: str | None = None
    amount: float | None = Field(default=None, gt=0)
    currency: str | None = None
    reason: Literal["FRAUDULENT", "DUPLICATE", "REQUESTED_BY_CUSTOMER", "CANCELLATION", "OTHERS"]
    metadata: dict[str, Any] | None = None


def new_refund(
    request: CreateRefundBody,
    invoice: Json,
    *,
    amount: float,
    now: datetime,
    status: str = "SUCCEEDED",
) -> Json:
    """A refund as `POST /refunds` answers it: SUCCEEDED at once, or PENDING."""
    stamp = iso_millis(now)
    return {
        "id": refund_id(),
        "payment_request_id": request.payment_request_id or invoice.get("payment_id"),
        "invoice_id": invoice["id"],
        "amount": amount,
        "payment_method_type": invoice.get("payment_method"),
        "channel_code": invoice.get("payment_channel"),
        "country": "ID",
        "currency": request.currency or invoice["currency"],
        "reference_id": request.reference_id,
        "status": status,
        "reason": request.reason,
        "failure_code": None,
        "refund_fee_amount": 0.0,
        "created": stamp,
        "updated": stamp,
        "metadata": request.metadata,
    }


def check_refundable(invoice: Json, already_refunded: float, amount: float) -> None:
    """Refuse, as Xendit does, a refund of an unpaid invoice, of a channel Xendit cannot refund
    through the API, or of more than what is left of the payment."""
    if invoice["status"] not in ("PAID", "SETTLED"):
        raise xendit_error(
            400, "INELIGIBLE_TRANSACTION", f"the invoice is {invoice['status']}, not PAID"
        )
    if invoice.get("payment_method") not in REFUNDABLE_METHODS:
        raise xendit_error(
            400,
            "REFUND_NOT_SUPPORTED",
            f"payments by {invoice.get('payment_method')} cannot be refunded through the API",
        )
    if already_refunded + amount > float(invoice["paid_amount"]) + 1e-9:
        raise xendit_error(
            400,
            "MAXIMUM_REFUND_AMOUNT_REACHED",
            "the refund amount exceeds the amount paid less earlier refunds",
        )


def refund_callback(refund: Json, business_id: str, now: datetime) -> Json:
    """The refund webhook: `refund.succeeded` or `refund.failed`, the refund under `data`."""
    return {
        "event": f"refund.{str(refund['status']).lower()}",
        "business_id": business_id,
        "created": iso_millis(now),
        "data": refund,
    }
