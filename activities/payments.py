"""Xendit activities: invoices and refunds through xendit-python, idempotent by order id."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import xendit
from dateutil.parser import isoparse
from temporalio import activity
from temporalio.exceptions import ApplicationError
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.refund import RefundApi
from xendit.refund.model.create_refund import CreateRefund

from activities.blocking import in_thread
from mentoring.domain import refund_key
from mentoring.settings import Settings

# Channels Xendit can refund through the API; the others (bank transfers to a virtual account,
# retail outlets) must be paid back by a person, so their refunds are `manual_required`.
API_REFUNDABLE_METHODS = frozenset(
    {"EWALLET", "CREDIT_CARD", "QR_CODE", "DIRECT_DEBIT", "PAYLATER"}
)


@dataclass
class CreateInvoiceInput:
    order_id: str
    amount: int
    currency: str
    payer_email: str
    description: str
    duration_s: int
    customer_name: str


@dataclass
class InvoiceInfo:
    invoice_id: str
    invoice_url: str
    status: str
    expires_at: datetime
    paid_amount: int | None = None
    paid_currency: str | None = None
    paid_at: datetime | None = None
    payment_method: str | None = None
    payment_channel: str | None = None


@dataclass
class ExpireInvoiceInput:
    invoice_id: str


@dataclass
class RefundInput:
    order_id: str
    invoice_id: str
    amount: int
    currency: str
    payment_method: str | None
    reason: str


@dataclass
class RefundStatusInput:
    refund_id: str


@dataclass
class RefundResult:
    status: str
    refund_id: str | None = None


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    parsed: datetime = isoparse(str(value))
    return parsed


def _get(model: Any, name: str) -> Any:
    return model.get(name) if hasattr(model, "get") else getattr(model, name, None)


def _plain(value: Any) -> str | None:
    """The SDK gives enums as model objects (which do not survive a deepcopy): their value."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _invoice_info(invoice: Any) -> InvoiceInfo:
    paid_amount = _get(invoice, "paid_amount")
    expires_at = _as_datetime(_get(invoice, "expiry_date"))
    assert expires_at is not None
    return InvoiceInfo(
        invoice_id=str(_get(invoice, "id")),
        invoice_url=str(_get(invoice, "invoice_url")),
        status=str(_plain(_get(invoice, "status"))),
        expires_at=expires_at,
        paid_amount=int(paid_amount) if paid_amount is not None else None,
        paid_currency=_plain(_get(invoice, "currency")),
        paid_at=_as_datetime(_get(invoice, "paid_at")),
        payment_method=_plain(_get(invoice, "payment_method")),
        payment_channel=_plain(_get(invoice, "payment_channel")),
    )


def refund_status_of(xendit_status: str | None) -> str:
    """Xendit's refund status as the order's refund sub-state."""
    status = str(xendit_status or "PENDING").upper()
    return {"SUCCEEDED": "succeeded", "FAILED": "failed"}.get(status, "pending")


def _refund_result(refund: Any) -> RefundResult:
    return RefundResult(
        status=refund_status_of(_plain(_get(refund, "status"))), refund_id=_get(refund, "id")
    )


def _raise_for_client_error(error: xendit.XenditSdkException) -> None:
    """4xx other than 429 will not get better by retrying."""
    status = int(getattr(error, "status", 0) or 0)
    if 400 <= status < 500 and status != 429:
        raise ApplicationError(
            f"Xendit refused the request: {error}", type="XenditClientError", non_retryable=True
        ) from error


class XenditActivities:
    def __init__(self, settings: Settings) -> None:
        configuration = xendit.Configuration(
            host=settings.xendit_api_url, api_key=settings.xendit_secret_key
        )
        self._client = xendit.ApiClient(configuration)
        self._invoices = InvoiceApi(self._client)
        self._refunds = RefundApi(self._client)

    def _find_or_create_invoice(self, request: CreateInvoiceInput) -> InvoiceInfo:
        existing = self._invoices.get_invoices(external_id=request.order_id)
        if existing:
            return _invoice_info(existing[0])
        invoice = self._invoices.create_invoice(
            create_invoice_request=CreateInvoiceRequest(
                external_id=request.order_id,
                amount=float(request.amount),
                payer_email=request.payer_email,
                description=request.description,
                invoice_duration=float(request.duration_s),
                currency=request.currency,
                should_send_email=False,
            )
        )
        return _invoice_info(invoice)

    @activity.defn
    async def create_invoice(self, request: CreateInvoiceInput) -> InvoiceInfo:
        """One invoice per order: its external_id is the order id, looked up before creating."""
        try:
            return await in_thread(self._find_or_create_invoice, request)
        except xendit.XenditSdkException as error:
            _raise_for_client_error(error)
            raise

    def _expire(self, invoice_id: str) -> InvoiceInfo:
        try:
            self._invoices.expire_invoice(invoice_id=invoice_id)
        except xendit.XenditSdkException as error:
            status = int(getattr(error, "status", 0) or 0)
            if not 400 <= status < 500:
                raise
        # Whatever expire said (already expired, or paid in the meantime), the invoice tells.
        return _invoice_info(self._invoices.get_invoice_by_id(invoice_id=invoice_id))

    @activity.defn
    async def expire_invoice(self, request: ExpireInvoiceInput) -> InvoiceInfo:
        """Expire an open invoice; returns its final state, which may be PAID if the payment won."""
        return await in_thread(self._expire, request.invoice_id)

    def _refund(self, request: RefundInput) -> RefundResult:
        if (request.payment_method or "").upper() not in API_REFUNDABLE_METHODS:
            return RefundResult(status="manual_required")
        refund = self._refunds.create_refund(
            idempotency_key=refund_key(request.order_id),
            create_refund=CreateRefund(
                invoice_id=request.invoice_id,
                reference_id=refund_key(request.order_id),
                amount=float(request.amount),
                currency=request.currency,
                reason="CANCELLATION",
                metadata={"order_id": request.order_id, "why": request.reason},
            ),
        )
        return _refund_result(refund)

    @activity.defn
    async def refund_status(self, request: RefundStatusInput) -> RefundResult:
        """Where a refund stands, asked of Xendit (when its callback is late)."""
        try:
            refund = await in_thread(self._refunds.get_refund, refund_id=request.refund_id)
        except xendit.XenditSdkException as error:
            _raise_for_client_error(error)
            raise
        return _refund_result(refund)

    @activity.defn
    async def refund_payment(self, request: RefundInput) -> RefundResult:
        """At most one refund per order: the idempotency key is `refund-<order_id>`."""
        try:
            return await in_thread(self._refund, request)
        except xendit.XenditSdkException as error:
            _raise_for_client_error(error)
            raise
