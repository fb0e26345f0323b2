"""The checkout page a person opens from the invoice URL: in the invoice's language, with its
customer, items and channels, and back to the merchant's redirect URLs after Pay or Expire."""

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.invoice.model.customer_object import CustomerObject
from xendit.invoice.model.invoice_item import InvoiceItem

from emulator.checkout import format_amount
from tests.emulator.servers import WebhookReceiver


def _create(invoices: InvoiceApi, description: str = "Mentoring with Ayu") -> Any:
    return invoices.create_invoice(
        create_invoice_request=CreateInvoiceRequest(
            external_id="order-page", amount=300_000.0, description=description
        )
    )


def test_page_shows_amount_description_status_and_buttons(invoices: InvoiceApi) -> None:
    invoice = _create(invoices, description="Career <script>alert(1)</script> & more")

    page = httpx.get(invoice.invoice_url)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Rp 300.000" in page.text and "PENDING" in page.text
    assert "Career &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page.text
    assert "<script>" not in page.text
    assert f'action="/checkout/{invoice.id}/pay"' in page.text
    assert f'action="/checkout/{invoice.id}/expire"' in page.text


def test_pay_button_pays_calls_back_and_comes_back(
    invoices: InvoiceApi, receiver: WebhookReceiver
) -> None:
    invoice = _create(invoices)

    response = httpx.post(
        f"{invoice.invoice_url}/pay", data={"channel": "EWALLET:DANA"}, follow_redirects=True
    )

    assert response.status_code == 200 and str(response.url) == invoice.invoice_url
    assert "PAID" in response.text and "HTTP 200" in response.text
    assert 'action="/checkout/' not in response.text
    assert [r.payload["payment_channel"] for r in receiver.received] == ["DANA"]
    assert str(invoices.get_invoice_by_id(invoice_id=invoice.id).status) == "PAID"


def test_expire_button_expires(invoices: InvoiceApi, receiver: WebhookReceiver) -> None:
    invoice = _create(invoices)

    response = httpx.post(f"{invoice.invoice_url}/expire")

    assert response.status_code == 303 and response.headers["location"].endswith(invoice.id)
    assert [r.payload["status"] for r in receiver.received] == ["EXPIRED"]
    assert "EXPIRED" in httpx.get(invoice.invoice_url).text


def test_unknown_invoice_page_is_404(emulator_url: str) -> None:
    assert httpx.get(f"{emulator_url}/checkout/unknown").status_code == 404


def test_amount_formats() -> None:
    assert format_amount(1_500_000.0, "IDR") == "Rp 1.500.000"
    assert format_amount(12.5, "USD") == "USD 12.50"


SUCCESS_URL = "https://app.example.com/orders/order-7?payment=success"
FAILURE_URL = "https://app.example.com/orders/order-7?payment=failed"


def _create_full(invoices: InvoiceApi, locale: str, **overrides: Any) -> Any:
    """An invoice as the order engine sends it: redirects, locale, customer, one item."""
    fields: dict[str, Any] = {
        "external_id": "order-7",
        "amount": 300_000.0,
        "description": "Mentoring: Career switch with Ayu",
        "invoice_duration": 3600.0,
        "currency": "IDR",
        "success_redirect_url": SUCCESS_URL,
        "failure_redirect_url": FAILURE_URL,
        "locale": locale,
        "customer": CustomerObject(given_names="Budi Santoso", email="budi@example.com"),
        "items": [
            InvoiceItem(
                name="Sesi mentoring 60 menit: Career switch",
                price=300_000.0,
                quantity=1.0,
                category="Mentoring",
            )
        ],
        **overrides,
    }
    return invoices.create_invoice(create_invoice_request=CreateInvoiceRequest(**fields))


def _wib(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("Asia/Jakarta"))


def test_indonesian_page_shows_customer_items_and_expiry_in_wib(invoices: InvoiceApi) -> None:
    invoice = _create_full(invoices, "id")

    page = httpx.get(invoice.invoice_url).text

    assert '<html lang="id">' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "Menunggu pembayaran" in page and "Bayar sebelum" in page
    expiry = _wib(invoice.expiry_date)
    assert f"{expiry:%H}.{expiry:%M} WIB" in page  # Indonesian times: 14.30 WIB
    assert "Budi Santoso" in page and "budi@example.com" in page
    assert "Sesi mentoring 60 menit: Career switch" in page and "Mentoring" in page
    assert '<button id="pay" type="submit">Bayar Rp 300.000</button>' in page
    assert "Awaiting payment" not in page


def test_english_page(invoices: InvoiceApi) -> None:
    invoice = _create_full(invoices, "en")

    page = httpx.get(invoice.invoice_url).text

    assert '<html lang="en">' in page
    assert "Awaiting payment" in page and "Pay before" in page
    expiry = _wib(invoice.expiry_date)
    assert f"{expiry:%B} {expiry.day}, {expiry.year}" in page and " WIB" in page
    assert '<button id="pay" type="submit">Pay Rp 300.000</button>' in page
    assert "Menunggu pembayaran" not in page


def test_page_offers_only_the_invoices_payment_methods(invoices: InvoiceApi) -> None:
    invoice = _create_full(invoices, "en", payment_methods=["BCA", "OVO", "QRIS"])

    page = httpx.get(invoice.invoice_url).text

    offered = re.findall(r'<option value="([A-Z_]+:[A-Z_]+)"', page)
    assert offered == ["EWALLET:OVO", "QR_CODE:QRIS", "BANK_TRANSFER:BCA"]
    refused = httpx.post(f"{invoice.invoice_url}/pay", data={"channel": "EWALLET:DANA"})
    assert refused.status_code == 400
    assert str(invoices.get_invoice_by_id(invoice_id=invoice.id).status) == "PENDING"


def test_pay_redirects_to_the_success_url(invoices: InvoiceApi, receiver: WebhookReceiver) -> None:
    invoice = _create_full(invoices, "id")

    response = httpx.post(f"{invoice.invoice_url}/pay", data={"channel": "QR_CODE:QRIS"})

    assert response.status_code == 303 and response.headers["location"] == SUCCESS_URL
    assert [r.payload["status"] for r in receiver.received] == ["PAID"]
    assert receiver.received[0].payload["success_redirect_url"] == SUCCESS_URL
    assert str(invoices.get_invoice_by_id(invoice_id=invoice.id).status) == "PAID"
    # Paying again (a double tap, the back button) pays nothing more and goes the same way.
    again = httpx.post(f"{invoice.invoice_url}/pay", data={"channel": "QR_CODE:QRIS"})
    assert again.status_code == 303 and again.headers["location"] == SUCCESS_URL
    assert len(receiver.received) == 1
    paid_page = httpx.get(invoice.invoice_url).text
    assert "Lunas" in paid_page and f'id="back" href="{SUCCESS_URL}"' in paid_page.replace(
        "&amp;", "&"
    )


def test_failed_payment_redirects_to_the_failure_url_and_stays_payable(
    invoices: InvoiceApi, receiver: WebhookReceiver
) -> None:
    invoice = _create_full(invoices, "en")

    response = httpx.post(f"{invoice.invoice_url}/fail")

    assert response.status_code == 303 and response.headers["location"] == FAILURE_URL
    assert receiver.received == []
    assert str(invoices.get_invoice_by_id(invoice_id=invoice.id).status) == "PENDING"


def test_failed_payment_without_a_failure_url_says_so_on_the_page(invoices: InvoiceApi) -> None:
    invoice = _create(invoices)

    response = httpx.post(f"{invoice.invoice_url}/fail", follow_redirects=True)

    assert response.status_code == 200 and 'id="failed"' in response.text
    assert 'id="pay"' in response.text


def test_expire_redirects_to_the_failure_url(
    invoices: InvoiceApi, receiver: WebhookReceiver
) -> None:
    invoice = _create_full(invoices, "id")

    response = httpx.post(f"{invoice.invoice_url}/expire")

    assert response.status_code == 303 and response.headers["location"] == FAILURE_URL
    assert [r.payload["status"] for r in receiver.received] == ["EXPIRED"]
    page = httpx.get(invoice.invoice_url).text
    assert "Kedaluwarsa" in page and 'id="pay"' not in page


def test_page_fits_a_phone_without_outside_assets(invoices: InvoiceApi) -> None:
    invoice = _create_full(invoices, "id")

    page = httpx.get(invoice.invoice_url).text

    assert "<style>" in page and "<script" not in page
    assert not re.search(r'(src|href)="https?://', page)  # the redirect links only when done
    assert "max-width: 28rem" in page
    assert len(page.encode()) < 16_000
