"""Xendit's Invoice and Refund APIs, the subset xendit-python's InvoiceApi and RefundApi call."""

import base64
import binascii
import copy
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from emulator.clock import utcnow
from emulator.deps import ConfigDep, StateDep
from emulator.errors import xendit_error
from emulator.faults import Fault
from emulator.payments import expire
from emulator.state import EmulatorState, InvoiceRecord, RefundRecord
from emulator.xendit_models import CreateInvoiceBody, new_invoice, parse_body
from emulator.xendit_refunds import CreateRefundBody, check_refundable, new_refund

router = APIRouter(tags=["xendit"])
Json = dict[str, Any]


def authenticate(request: Request) -> str:
    """HTTP Basic with the secret key as user name, as Xendit wants; any non-empty key passes."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    key = ""
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise xendit_error(401, "INVALID_API_KEY", "API key is not authorized for this API service")
    return key


async def _enter(request: Request, state: EmulatorState, operation: str) -> Fault | None:
    """Authenticate and play the operation's fault; an `after_effect` one is returned, for the
    operation to play once done (the few that support it)."""
    authenticate(request)
    return await state.faults.enter(operation)


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as error:
        raise xendit_error(400, "API_VALIDATION_ERROR", "the body is not valid JSON") from error


def _invoice(state: EmulatorState, invoice_id: str) -> InvoiceRecord:
    record = state.invoices.get(invoice_id)
    if record is None:
        raise xendit_error(404, "INVOICE_NOT_FOUND_ERROR", f"Invoice {invoice_id} not found")
    return record


@router.post("/v2/invoices/")
@router.post("/v2/invoices", include_in_schema=False)
async def create_invoice(request: Request, state: StateDep, config: ConfigDep) -> Json:
    """Xendit documents no idempotency key for invoices, and `external_id` need not be unique:
    each call makes a new invoice, as here."""
    fault = await _enter(request, state, "xendit.invoices.create")
    body = parse_body(CreateInvoiceBody, await _json_body(request))
    invoice = new_invoice(
        body,
        user_id=state.user_id,
        merchant_name=config.merchant_name,
        public_url=config.public_url,
        now=utcnow(),
    )
    state.invoices[invoice["id"]] = InvoiceRecord(invoice)
    await state.faults.answer("xendit.invoices.create", fault)
    return invoice


@router.get("/v2/invoices/{invoice_id}")
async def get_invoice(invoice_id: str, request: Request, state: StateDep) -> Json:
    await _enter(request, state, "xendit.invoices.get")
    return _invoice(state, invoice_id).invoice


@router.get("/v2/invoices")
async def list_invoices(
    request: Request,
    state: StateDep,
    external_id: str | None = None,
    statuses: Annotated[list[str] | None, Query()] = None,
    limit: float = 10,
) -> list[Json]:
    """Newest first, like Xendit; an unknown external_id gives an empty list. An `after_effect`
    fault delays the answer, not the reading: a slow answer that is stale by the time it comes."""
    fault = await _enter(request, state, "xendit.invoices.list")
    found = [
        copy.deepcopy(record.invoice)
        for record in reversed(state.invoices.values())
        if (external_id is None or record.invoice["external_id"] == external_id)
        and (not statuses or record.status in statuses)
    ]
    await state.faults.answer("xendit.invoices.list", fault)
    return found[: max(1, int(limit))]


@router.post("/invoices/{invoice_id}/expire!")
async def expire_invoice(invoice_id: str, request: Request, state: StateDep) -> Json:
    """Only a PENDING invoice can be expired; otherwise Xendit answers 404, as here."""
    await _enter(request, state, "xendit.invoices.expire")
    record = _invoice(state, invoice_id)
    if record.status != "PENDING":
        raise xendit_error(
            404, "INVOICE_NOT_FOUND_ERROR", "Could not find and update PENDING invoice"
        )
    expire(record)
    return record.invoice


def _same_request(refund: Json, body: CreateRefundBody) -> bool:
    return (
        (body.invoice_id is None or body.invoice_id == refund["invoice_id"])
        and (body.amount is None or body.amount == refund["amount"])
        and (body.currency is None or body.currency == refund["currency"])
    )


def _refunded_invoice(state: EmulatorState, body: CreateRefundBody) -> InvoiceRecord:
    if body.invoice_id is not None:
        record = state.invoices.get(body.invoice_id)
    else:
        record = next(
            (
                r
                for r in state.invoices.values()
                if body.payment_request_id is not None
                and r.invoice.get("payment_id") == body.payment_request_id
            ),
            None,
        )
    if record is None:
        raise xendit_error(404, "DATA_NOT_FOUND", "the payment to refund was not found")
    return record


@router.post("/refunds")
async def create_refund(
    request: Request,
    state: StateDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Json:
    """One refund per idempotency key: the same key answers the same refund again."""
    await _enter(request, state, "xendit.refunds.create")
    body = parse_body(CreateRefundBody, await _json_body(request))
    if body.invoice_id is None and body.payment_request_id is None:
        raise xendit_error(
            400, "API_VALIDATION_ERROR", "invoice_id or payment_request_id is required"
        )
    if idempotency_key:
        earlier = state.refund_for_key(idempotency_key)
        if earlier is not None:
            if not _same_request(earlier.refund, body):
                raise xendit_error(
                    409, "IDEMPOTENCY_ERROR", "the idempotency key was used for another request"
                )
            return earlier.refund
    record = _refunded_invoice(state, body)
    invoice = record.invoice
    if body.currency is not None and body.currency != invoice["currency"]:
        raise xendit_error(400, "API_VALIDATION_ERROR", "currency differs from the payment's")
    paid = float(invoice.get("paid_amount") or 0.0)
    amount = body.amount if body.amount is not None else paid - record.refunded_amount
    check_refundable(invoice, record.refunded_amount, amount)
    status = "SUCCEEDED" if state.refunds_settle_at_once else "PENDING"
    refund = new_refund(body, invoice, amount=amount, now=utcnow(), status=status)
    state.refunds[refund["id"]] = RefundRecord(refund, idempotency_key or None)
    record.refunded_amount += amount
    return refund


@router.get("/refunds/{refund_id}")
async def get_refund(refund_id: str, request: Request, state: StateDep) -> Json:
    await _enter(request, state, "xendit.refunds.get")
    record = state.refunds.get(refund_id)
    if record is None:
        raise xendit_error(404, "DATA_NOT_FOUND", f"Refund {refund_id} not found")
    return record.refund
