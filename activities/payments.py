"""Xendit activities: invoices and refunds through xendit-python, idempotent by order id.

One invoice per order: Xendit documents no idempotency key for Create Invoice (xendit-python's
`create_invoice` takes none, unlike `create_refund`) and does not make `external_id` unique, so
two overlapping attempts could each find no invoice and each create one. They are serialized
within a worker, and across workers they converge: after creating, an attempt lists the order's
invoices, takes the first created as the order's, and expires its own if it is not that one.
What remains: an attempt that lists before another's invoice is visible returns its own, and the
other attempt, seeing both, keeps the first created; only the attempt whose result the workflow
records matters, and a duplicate left PENDING was never shown to anyone and expires by itself.
Two invoices created in the same millisecond are ordered by id, which an attempt that listed
before the other existed cannot know: then both may stay PENDING, each attempt returning its own
(only the one the workflow records is shown to the payer).
"""

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import xendit
from dateutil.parser import isoparse
from temporalio import activity
from temporalio.exceptions import ApplicationError
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.invoice.model.customer_object import CustomerObject
from xendit.invoice.model.invoice_item import InvoiceItem
from xendit.refund import RefundApi
from xendit.refund.model.create_refund import CreateRefund

from activities.blocking import in_thread
from mentoring.domain import refund_idempotency_key, refund_key
from mentoring.settings import Settings
from mentoring.tokens import order_page_url

# Channels Xendit can refund through the API; the others (bank transfers to a virtual account,
# retail outlets) must be paid back by a person, so their refunds are `manual_required`.
API_REFUNDABLE_METHODS = frozenset(
    {"EWALLET", "CREDIT_CARD", "QR_CODE", "DIRECT_DEBIT", "PAYLATER"}
)

# The checkout's languages that are ours too; anything else is shown in Indonesian.
INVOICE_LOCALES = ("id", "en")
ITEM_CATEGORY = "Mentoring"
MAX_ITEM_NAME = 256  # Xendit's limit on an item's name


@dataclass
class CreateInvoiceInput:
    order_id: str
    amount: int
    currency: str
    payer_email: str
    description: str
    duration_s: int
    customer_name: str
    locale: str = "id"
    topic: str = ""
    duration_minutes: int = 60


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
    external_id: str | None = None


@dataclass
class ExpireInvoiceInput:
    invoice_id: str


@dataclass
class GetInvoiceInput:
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


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def return_urls(settings: Settings, order_id: str) -> tuple[str, str] | None:
    """Where Xendit's checkout sends the payer: (after paying, after the invoice expired or a
    payment failed). The frontend's order page (`FRONTEND_ORDER_URL`), else this service's own
    mentee order page; None if neither can be made (no token secret to sign the link with)."""
    if settings.frontend_order_url:
        page = settings.frontend_order_url.format(order_id=order_id)
    elif settings.mentor_token_secret:
        page = order_page_url(settings.public_base_url, settings.mentor_token_secret, order_id)
    else:
        return None
    return with_query(page, payment="success"), with_query(page, payment="failed")


def item_name(request: CreateInvoiceInput) -> str:
    """The invoice's one line, in the mentee's language: the session and its topic."""
    if request.locale == "en":
        session = f"Mentoring session, {request.duration_minutes} min"
    else:
        session = f"Sesi mentoring {request.duration_minutes} menit"
    name = f"{session}: {request.topic}" if request.topic else session
    return name if len(name) <= MAX_ITEM_NAME else name[: MAX_ITEM_NAME - 1] + "…"


def invoice_request(request: CreateInvoiceInput, settings: Settings) -> CreateInvoiceRequest:
    """Xendit's Create Invoice body, as its checkout is meant to be used: the payer comes back
    to the order page, reads the page in their language, sees their name and what they pay
    for, and is offered only the channels `XENDIT_PAYMENT_METHODS` allows (all when empty)."""
    fields: dict[str, Any] = {}
    urls = return_urls(settings, request.order_id)
    if urls is not None:
        fields["success_redirect_url"], fields["failure_redirect_url"] = urls
    if settings.xendit_payment_methods:
        fields["payment_methods"] = list(settings.xendit_payment_methods)
    customer: dict[str, Any] = {"email": request.payer_email}
    if request.customer_name:
        customer["given_names"] = request.customer_name
    return CreateInvoiceRequest(
        external_id=request.order_id,
        amount=float(request.amount),
        payer_email=request.payer_email,
        description=request.description,
        invoice_duration=float(request.duration_s),
        currency=request.currency,
        should_send_email=False,
        locale=request.locale if request.locale in INVOICE_LOCALES else "id",
        customer=CustomerObject(**customer),
        items=[
            InvoiceItem(
                name=item_name(request),
                price=float(request.amount),
                quantity=1.0,
                category=ITEM_CATEGORY,
                reference_id=request.order_id,
            )
        ],
        **fields,
    )


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
        external_id=_plain(_get(invoice, "external_id")),
    )


def refund_status_of(xendit_status: str | None) -> str:
    """Xendit's refund status as the order's refund sub-state."""
    status = str(xendit_status or "PENDING").upper()
    return {"SUCCEEDED": "succeeded", "FAILED": "failed"}.get(status, "pending")


def _refund_result(refund: Any) -> RefundResult:
    return RefundResult(
        status=refund_status_of(_plain(_get(refund, "status"))), refund_id=_get(refund, "id")
    )


def _status_of(error: xendit.XenditSdkException) -> int:
    try:
        return int(getattr(error, "status", 0) or 0)
    except ValueError:
        return 0


def _raise_for_client_error(error: xendit.XenditSdkException) -> None:
    """4xx other than 429 will not get better by retrying."""
    status = _status_of(error)
    if 400 <= status < 500 and status != 429:
        raise ApplicationError(
            f"Xendit refused the request: {error}", type="XenditClientError", non_retryable=True
        ) from error


def _raise_for_invoice_read(error: xendit.XenditSdkException, invoice_id: str) -> None:
    """A 404 on reading an invoice: Xendit has no such invoice, and never will."""
    if _status_of(error) == 404:
        raise ApplicationError(
            f"Xendit has no invoice {invoice_id}", type="InvoiceNotFound", non_retryable=True
        ) from error
    _raise_for_client_error(error)


def _first_created(invoices: list[Any]) -> Any:
    """The order's invoice among several with its external_id: the first created (ties: the
    smallest id), the same for every attempt that sees them."""

    def order(invoice: Any) -> tuple[datetime, str]:
        created = _as_datetime(_get(invoice, "created")) or datetime.max.replace(tzinfo=UTC)
        return created, str(_get(invoice, "id"))

    return min(invoices, key=order)


class XenditActivities:
    def __init__(self, settings: Settings) -> None:
        configuration = xendit.Configuration(
            host=settings.xendit_api_url, api_key=settings.xendit_secret_key
        )
        self._settings = settings
        self._client = xendit.ApiClient(configuration)
        self._invoices = InvoiceApi(self._client)
        self._refunds = RefundApi(self._client)
        self._order_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._order_locks_guard = threading.Lock()

    def _order_lock(self, order_id: str) -> threading.Lock:
        with self._order_locks_guard:
            return self._order_locks[order_id]

    def _invoices_of(self, order_id: str) -> list[Any]:
        return list(self._invoices.get_invoices(external_id=order_id))

    def _find_or_create_invoice(self, request: CreateInvoiceInput) -> InvoiceInfo:
        # Attempts of one order on this worker (a retry while a timed-out attempt still runs)
        # take turns; the lock is kept for the life of the worker, one per order it invoiced.
        with self._order_lock(request.order_id):
            existing = self._invoices_of(request.order_id)
            if existing:
                return _invoice_info(_first_created(existing))
            return self._create_invoice(request)

    def _create_invoice(self, request: CreateInvoiceInput) -> InvoiceInfo:
        created = self._invoices.create_invoice(
            create_invoice_request=invoice_request(request, self._settings)
        )
        # Another worker's attempt may have created one meanwhile: the first created wins, and
        # ours is expired if it is not that one (its URL has not been shown to anyone).
        listed = {
            str(_get(invoice, "id")): invoice for invoice in self._invoices_of(request.order_id)
        }
        listed.setdefault(str(_get(created, "id")), created)
        winner = _first_created(list(listed.values()))
        if _get(winner, "id") != _get(created, "id"):
            self._expire_quietly(str(_get(created, "id")))
        return _invoice_info(winner)

    def _expire_quietly(self, invoice_id: str) -> None:
        try:
            self._invoices.expire_invoice(invoice_id=invoice_id)
        except xendit.XenditSdkException as error:
            if not 400 <= _status_of(error) < 500:
                raise

    @activity.defn
    async def create_invoice(self, request: CreateInvoiceInput) -> InvoiceInfo:
        """One invoice per order: its external_id is the order id, looked up before creating
        (and after, to converge with an overlapping attempt: see the module's docstring)."""
        try:
            return await in_thread(self._find_or_create_invoice, request)
        except xendit.XenditSdkException as error:
            _raise_for_client_error(error)
            raise

    def _expire(self, invoice_id: str) -> InvoiceInfo:
        # Xendit answers 404 to expiring an invoice that is not PENDING (or does not exist).
        self._expire_quietly(invoice_id)
        # Whatever expire said (already expired, or paid in the meantime), the invoice tells.
        return self._read(invoice_id)

    def _read(self, invoice_id: str) -> InvoiceInfo:
        try:
            invoice = self._invoices.get_invoice_by_id(invoice_id=invoice_id)
        except xendit.XenditSdkException as error:
            _raise_for_invoice_read(error, invoice_id)
            raise
        return _invoice_info(invoice)

    @activity.defn
    async def expire_invoice(self, request: ExpireInvoiceInput) -> InvoiceInfo:
        """Expire an open invoice; returns its final state, which may be PAID if the payment won.
        An invoice Xendit does not know ends the activity (`InvoiceNotFound`, not retried)."""
        return await in_thread(self._expire, request.invoice_id)

    @activity.defn
    async def get_invoice(self, request: GetInvoiceInput) -> InvoiceInfo:
        """The invoice as Xendit has it now (to check a callback against: status, amount,
        currency). `InvoiceNotFound` (not retried) if Xendit has no such invoice; other
        refusals are `XenditClientError` (not retried); outages are retried."""
        return await in_thread(self._read, request.invoice_id)

    def _refund(self, request: RefundInput) -> RefundResult:
        if (request.payment_method or "").upper() not in API_REFUNDABLE_METHODS:
            return RefundResult(status="manual_required")
        refund = self._refunds.create_refund(
            idempotency_key=refund_idempotency_key(request.order_id, request.invoice_id),
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
