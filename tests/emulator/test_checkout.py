"""The checkout page a person opens from the invoice URL."""

from typing import Any

import httpx
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest

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
