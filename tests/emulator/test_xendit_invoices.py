"""Invoices through xendit-python's InvoiceApi, and the callbacks the sandbox sends."""

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import xendit
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.invoice.model.customer_object import CustomerObject
from xendit.invoice.model.invoice_callback import InvoiceCallback
from xendit.invoice.model.invoice_item import InvoiceItem

from tests.emulator.conftest import CALLBACK_TOKEN
from tests.emulator.servers import WebhookReceiver


def _create(invoices: InvoiceApi, external_id: str = "order-1", **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "external_id": external_id,
        "amount": 150_000.0,
        "payer_email": "budi@example.com",
        "description": "Mentoring session: career switch",
        "invoice_duration": 3600.0,
        "currency": "IDR",
        "should_send_email": False,
        **overrides,
    }
    return invoices.create_invoice(create_invoice_request=CreateInvoiceRequest(**fields))


def test_create_answers_xendit_invoice_shape(invoices: InvoiceApi, emulator_url: str) -> None:
    invoice = _create(
        invoices,
        items=[InvoiceItem(name="1:1 session, 60 min", price=150_000.0, quantity=1.0)],
    )

    assert re.fullmatch(r"[0-9a-f]{24}", invoice.id)
    assert re.fullmatch(r"[0-9a-f]{24}", invoice.user_id)
    assert str(invoice.status) == "PENDING"
    assert invoice.amount == 150_000.0 and isinstance(invoice.amount, float)
    assert str(invoice.currency) == "IDR"
    assert invoice.invoice_url == f"{emulator_url}/checkout/{invoice.id}"
    assert invoice.expiry_date - invoice.created == timedelta(hours=1)
    assert invoice.payer_email == "budi@example.com"
    assert invoice.merchant_name == "Nusademy"
    assert {str(b.bank_code) for b in invoice.available_banks} >= {"BCA", "MANDIRI"}
    assert str(invoice.available_ewallets[0].ewallet_type) == "OVO"
    assert invoice.items[0].name == "1:1 session, 60 min"
    assert invoice.should_send_email is False


def test_get_and_list_by_external_id(invoices: InvoiceApi) -> None:
    created = _create(invoices, "order-list")
    _create(invoices, "order-other")

    fetched = invoices.get_invoice_by_id(invoice_id=created.id)
    listed = invoices.get_invoices(external_id="order-list")

    assert fetched.id == created.id and fetched.external_id == "order-list"
    assert [invoice.id for invoice in listed] == [created.id]
    assert invoices.get_invoices(external_id="no-such-order") == []


def test_unknown_invoice_is_xendit_404(invoices: InvoiceApi) -> None:
    with pytest.raises(xendit.XenditSdkException) as caught:
        invoices.get_invoice_by_id(invoice_id="0" * 24)

    assert caught.value.status == "404"
    assert caught.value.errorCode == "INVOICE_NOT_FOUND_ERROR"


def test_expire_pending_then_expire_again_is_refused(invoices: InvoiceApi) -> None:
    created = _create(invoices)

    expired = invoices.expire_invoice(invoice_id=created.id)
    with pytest.raises(xendit.XenditSdkException) as caught:
        invoices.expire_invoice(invoice_id=created.id)

    assert str(expired.status) == "EXPIRED"
    assert str(invoices.get_invoice_by_id(invoice_id=created.id).status) == "EXPIRED"
    assert caught.value.status == "404"
    assert caught.value.errorCode == "INVOICE_NOT_FOUND_ERROR"


def test_calls_without_secret_key_are_401(emulator_url: str) -> None:
    for auth in (None, ("", "")):
        response = httpx.post(
            f"{emulator_url}/v2/invoices/", json={"external_id": "x", "amount": 1000}, auth=auth
        )
        assert response.status_code == 401
        assert response.json()["error_code"] == "INVALID_API_KEY"
        assert response.json()["message"]


def test_invalid_body_is_xendit_400(emulator_url: str) -> None:
    response = httpx.post(
        f"{emulator_url}/v2/invoices/", json={"amount": 1000}, auth=("xnd_development_x", "")
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "API_VALIDATION_ERROR"
    assert "external_id" in response.json()["message"]


def _callback(receiver: WebhookReceiver, index: int = -1) -> dict[str, Any]:
    received = receiver.received[index]
    assert received.headers["x-callback-token"] == CALLBACK_TOKEN
    payload: dict[str, Any] = received.payload
    return payload


def test_pay_sends_paid_callback_with_token(
    invoices: InvoiceApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _create(invoices)

    response = sandbox.post(
        f"/sandbox/invoices/{created.id}/pay",
        json={"payment_method": "EWALLET", "payment_channel": "OVO"},
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["callback"]["status_code"] == 200
    assert answer["callback"]["body"]["received"] is True
    assert answer["invoice"]["status"] == "PAID"
    assert len(receiver.received) == 1
    payload = _callback(receiver)
    assert payload["id"] == created.id and payload["external_id"] == "order-1"
    assert payload["status"] == "PAID"
    assert payload["payment_method"] == "EWALLET" and payload["payment_channel"] == "OVO"
    assert payload["ewallet_type"] == "OVO"
    assert payload["amount"] == payload["paid_amount"] == 150_000.0
    assert payload["currency"] == "IDR" and payload["is_high"] is False
    assert payload["user_id"] == created.user_id
    # The payload passes xendit-python's own callback model.
    callback = InvoiceCallback._from_openapi_data(**payload)
    assert callback.paid_amount == 150_000.0
    # And the invoice, read through the SDK, shows the payment.
    paid = invoices.get_invoice_by_id(invoice_id=created.id)
    assert str(paid.status) == "PAID"
    assert str(paid.payment_method) == "EWALLET"
    assert paid["paid_amount"] == 150_000.0 and paid["payment_channel"] == "OVO"
    assert paid["paid_at"] == datetime.fromisoformat(payload["paid_at"])


def test_pay_by_default_is_bca_virtual_account(
    invoices: InvoiceApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _create(invoices)
    bca = next(b for b in created.available_banks if str(b.bank_code) == "BCA")

    assert sandbox.post(f"/sandbox/invoices/{created.id}/pay").status_code == 200

    payload = _callback(receiver)
    assert payload["payment_method"] == "BANK_TRANSFER"
    assert payload["bank_code"] == payload["payment_channel"] == "BCA"
    assert payload["payment_destination"] == bca.bank_account_number


def test_partial_payment_in_another_currency(
    invoices: InvoiceApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _create(invoices)

    sandbox.post(
        f"/sandbox/invoices/{created.id}/pay",
        json={"payment_method": "QR_CODE", "paid_amount": 100_000, "currency": "USD"},
    )

    payload = _callback(receiver)
    assert payload["paid_amount"] == 100_000.0 and payload["amount"] == 150_000.0
    assert payload["currency"] == "USD" and payload["payment_channel"] == "QRIS"


def test_paid_invoice_cannot_be_paid_or_expired_but_callback_resends(
    invoices: InvoiceApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _create(invoices)
    sandbox.post(f"/sandbox/invoices/{created.id}/pay")

    again = sandbox.post(f"/sandbox/invoices/{created.id}/pay")
    expire_in_sandbox = sandbox.post(f"/sandbox/invoices/{created.id}/expire")
    with pytest.raises(xendit.XenditSdkException) as caught:
        invoices.expire_invoice(invoice_id=created.id)
    resent = sandbox.post(f"/sandbox/invoices/{created.id}/callback")

    assert again.status_code == 409 and expire_in_sandbox.status_code == 409
    assert caught.value.status == "404"
    assert resent.status_code == 200 and resent.json()["callback"]["status_code"] == 200
    assert len(receiver.received) == 2
    assert receiver.received[0].payload == receiver.received[1].payload
    assert str(invoices.get_invoice_by_id(invoice_id=created.id).status) == "PAID"


def test_sandbox_expire_sends_expired_callback(
    invoices: InvoiceApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _create(invoices)

    response = sandbox.post(f"/sandbox/invoices/{created.id}/expire")

    assert response.status_code == 200 and response.json()["invoice"]["status"] == "EXPIRED"
    payload = _callback(receiver)
    assert payload["status"] == "EXPIRED" and payload["id"] == created.id
    assert payload["external_id"] == "order-1" and payload["amount"] == 150_000.0
    assert "paid_amount" not in payload
    assert str(invoices.get_invoice_by_id(invoice_id=created.id).status) == "EXPIRED"


def test_callback_reports_what_the_webhook_answered(
    invoices: InvoiceApi, sandbox: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _create(invoices)
    receiver.answer_status = 500

    answer = sandbox.post(f"/sandbox/invoices/{created.id}/pay").json()

    assert answer["callback"]["status_code"] == 500
    assert answer["callback"]["body"]["received"] is True


def test_no_callback_yet_and_unknown_invoice(invoices: InvoiceApi, sandbox: httpx.Client) -> None:
    created = _create(invoices)

    assert sandbox.post(f"/sandbox/invoices/{created.id}/callback").status_code == 409
    assert sandbox.post("/sandbox/invoices/nope/pay").status_code == 404


def test_sandbox_lists_invoices(invoices: InvoiceApi, sandbox: httpx.Client) -> None:
    first, second = _create(invoices, "order-a"), _create(invoices, "order-b")

    listed = sandbox.get("/sandbox/invoices").json()

    assert [(i["id"], i["external_id"]) for i in listed] == [
        (first.id, "order-a"),
        (second.id, "order-b"),
    ]


def test_create_keeps_redirects_locale_customer_items_and_narrows_channels(
    invoices: InvoiceApi, sandbox: httpx.Client
) -> None:
    created = _create(
        invoices,
        "order-checkout",
        success_redirect_url="https://app.example.com/orders/o-1?payment=success",
        failure_redirect_url="https://app.example.com/orders/o-1?payment=failed",
        locale="en",
        customer=CustomerObject(given_names="Anna Weber", email="anna@example.com"),
        items=[
            InvoiceItem(name="Mentoring session, 60 min", price=150_000.0, quantity=1.0),
        ],
        payment_methods=["BCA", "OVO", "QRIS"],
    )

    invoice = invoices.get_invoice_by_id(invoice_id=created.id)

    assert invoice.success_redirect_url == "https://app.example.com/orders/o-1?payment=success"
    assert invoice.failure_redirect_url == "https://app.example.com/orders/o-1?payment=failed"
    assert invoice.locale == "en"
    assert invoice.customer.given_names == "Anna Weber"
    assert invoice.customer.email == "anna@example.com"
    assert [(i.name, i.price, i.quantity) for i in invoice.items] == [
        ("Mentoring session, 60 min", 150_000.0, 1.0)
    ]
    assert [str(b.bank_code) for b in invoice.available_banks] == ["BCA"]
    assert [str(e.ewallet_type) for e in invoice.available_ewallets] == ["OVO"]
    assert [str(q.qr_code_type) for q in invoice.available_qr_codes] == ["QRIS"]
    assert invoice.available_retail_outlets == [] and invoice.available_paylaters == []
    assert invoice.should_exclude_credit_card is True  # CREDIT_CARD was not among them
    [raw] = [i for i in sandbox.get("/sandbox/invoices").json() if i["id"] == created.id]
    assert raw["customer"] == {"given_names": "Anna Weber", "email": "anna@example.com"}


def test_without_payment_methods_every_channel_and_cards(invoices: InvoiceApi) -> None:
    invoice = _create(invoices)

    assert len(invoice.available_banks) == 5 and len(invoice.available_ewallets) == 4
    assert invoice.should_exclude_credit_card is False


def _raw_create(emulator_url: str, **fields: Any) -> httpx.Response:
    return httpx.post(
        f"{emulator_url}/v2/invoices/",
        json={"external_id": "order-bad", "amount": 150_000, **fields},
        auth=("xnd_development_x", ""),
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"locale": "fr"}, "locale"),
        ({"success_redirect_url": "not a url"}, "success_redirect_url"),
        ({"failure_redirect_url": "javascript:alert(1)"}, "failure_redirect_url"),
        ({"customer": {"given_names": "Budi", "email": "nope"}}, "customer.email"),
        ({"customer": {"mobile_number": "0812"}}, "customer.mobile_number"),
        ({"items": [{"name": "session", "price": 1000}]}, "items.0.quantity"),
        ({"items": [{"name": "", "price": 1000, "quantity": 1}]}, "items.0.name"),
        ({"items": [{"name": "s", "price": 1000, "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"name": "s", "price": 1, "quantity": 1}] * 76}, "items"),
    ],
)
def test_invalid_checkout_fields_are_xendit_400(
    emulator_url: str, fields: dict[str, Any], field: str
) -> None:
    response = _raw_create(emulator_url, **fields)

    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "API_VALIDATION_ERROR"
    assert f'"{field}"' in response.json()["message"]


def test_unknown_payment_method_is_refused(emulator_url: str) -> None:
    response = _raw_create(emulator_url, payment_methods=["BCA", "BITCOIN"])

    assert response.status_code == 400
    assert response.json()["error_code"] == "UNAVAILABLE_PAYMENT_METHOD_ERROR"
    assert "BITCOIN" in response.json()["message"]
