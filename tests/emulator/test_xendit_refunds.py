"""Refunds through xendit-python's RefundApi."""

from typing import Any

import httpx
import pytest
import xendit
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.refund import RefundApi
from xendit.refund.model.create_refund import CreateRefund

from tests.emulator.conftest import CALLBACK_TOKEN
from tests.emulator.servers import WebhookReceiver


def _paid_invoice(
    invoices: InvoiceApi, sandbox: httpx.Client, method: str = "EWALLET", pay: bool = True
) -> Any:
    invoice = invoices.create_invoice(
        create_invoice_request=CreateInvoiceRequest(
            external_id="order-refund", amount=300_000.0, currency="IDR"
        )
    )
    if pay:
        response = sandbox.post(
            f"/sandbox/invoices/{invoice.id}/pay", json={"payment_method": method}
        )
        assert response.status_code == 200, response.text
    return invoice


def _refund(refunds: RefundApi, invoice_id: str, key: str, amount: float = 300_000.0) -> Any:
    return refunds.create_refund(
        idempotency_key=key,
        create_refund=CreateRefund(
            invoice_id=invoice_id,
            reference_id=key,
            amount=amount,
            currency="IDR",
            reason="CANCELLATION",
            metadata={"order_id": "order-refund"},
        ),
    )


def test_same_idempotency_key_gives_the_same_refund(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client
) -> None:
    invoice = _paid_invoice(invoices, sandbox)

    first = _refund(refunds, invoice.id, "refund-order-1")
    second = _refund(refunds, invoice.id, "refund-order-1")

    assert first.id.startswith("rfd-") and first.id == second.id
    assert first["status"] == "SUCCEEDED"
    assert first.amount == 300_000.0 and first.currency == "IDR"
    assert first["invoice_id"] == invoice.id and first.reference_id == "refund-order-1"
    assert first.channel_code == "OVO"
    assert [r["id"] for r in sandbox.get("/sandbox/refunds").json()] == [first.id]
    assert sandbox.get("/sandbox/calls").json()["xendit.refunds.create"] == 2


def test_get_refund(invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client) -> None:
    invoice = _paid_invoice(invoices, sandbox)
    created = _refund(refunds, invoice.id, "refund-get")

    fetched = refunds.get_refund(refund_id=created.id)

    assert fetched.id == created.id and fetched.amount == 300_000.0
    with pytest.raises(xendit.XenditSdkException) as caught:
        refunds.get_refund(refund_id="rfd-unknown")
    assert caught.value.status == "404" and caught.value.errorCode == "DATA_NOT_FOUND"


def test_unpaid_invoice_cannot_be_refunded(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client
) -> None:
    invoice = _paid_invoice(invoices, sandbox, pay=False)

    with pytest.raises(xendit.XenditSdkException) as caught:
        _refund(refunds, invoice.id, "refund-unpaid")

    assert caught.value.status == "400" and caught.value.errorCode == "INELIGIBLE_TRANSACTION"
    assert sandbox.get("/sandbox/refunds").json() == []


def test_refunds_may_not_exceed_the_payment(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client
) -> None:
    invoice = _paid_invoice(invoices, sandbox)
    _refund(refunds, invoice.id, "refund-part-1", amount=200_000.0)

    with pytest.raises(xendit.XenditSdkException) as caught:
        _refund(refunds, invoice.id, "refund-part-2", amount=200_000.0)
    rest = _refund(refunds, invoice.id, "refund-part-3", amount=100_000.0)

    assert caught.value.errorCode == "MAXIMUM_REFUND_AMOUNT_REACHED"
    assert rest.amount == 100_000.0


def test_key_reused_for_another_request_is_409(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client
) -> None:
    invoice = _paid_invoice(invoices, sandbox)
    _refund(refunds, invoice.id, "refund-reused", amount=100_000.0)

    with pytest.raises(xendit.XenditSdkException) as caught:
        _refund(refunds, invoice.id, "refund-reused", amount=50_000.0)

    assert caught.value.status == "409" and caught.value.errorCode == "IDEMPOTENCY_ERROR"


def test_bank_transfers_are_not_refundable_through_the_api(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client
) -> None:
    invoice = _paid_invoice(invoices, sandbox, method="BANK_TRANSFER")

    with pytest.raises(xendit.XenditSdkException) as caught:
        _refund(refunds, invoice.id, "refund-va")

    assert caught.value.errorCode == "REFUND_NOT_SUPPORTED"


def test_refund_settled_later_sends_the_refund_callback(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    invoice = _paid_invoice(invoices, sandbox)
    assert sandbox.put("/sandbox/refunds/mode", json={"settle": "later"}).status_code == 200
    receiver.clear()

    refund = _refund(refunds, invoice.id, "refund-order-later")
    assert refund["status"] == "PENDING"
    settled = sandbox.post(f"/sandbox/refunds/{refund.id}/settle", json={})

    assert settled.status_code == 200, settled.text
    assert refunds.get_refund(refund_id=refund.id)["status"] == "SUCCEEDED"
    [callback] = receiver.received
    assert callback.headers["x-callback-token"] == CALLBACK_TOKEN
    assert callback.payload["event"] == "refund.succeeded"
    assert callback.payload["data"]["id"] == refund.id
    assert callback.payload["data"]["reference_id"] == "refund-order-later"
    again = sandbox.post(f"/sandbox/refunds/{refund.id}/settle", json={"status": "FAILED"})
    assert again.status_code == 409


def test_refund_may_fail_without_a_callback(
    invoices: InvoiceApi, refunds: RefundApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    invoice = _paid_invoice(invoices, sandbox)
    sandbox.put("/sandbox/refunds/mode", json={"settle": "later"})
    receiver.clear()
    refund = _refund(refunds, invoice.id, "refund-order-fails")

    failed = sandbox.post(
        f"/sandbox/refunds/{refund.id}/settle", json={"status": "FAILED", "callback": False}
    )

    assert failed.status_code == 200 and failed.json()["callback"] is None
    assert refunds.get_refund(refund_id=refund.id)["status"] == "FAILED"
    assert receiver.received == []
