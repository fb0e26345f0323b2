"""The invoice page a person opens from `invoice_url`: Xendit's checkout, as the payer sees it.

In the invoice's `locale` (Indonesian or English; Thai and Vietnamese, which Xendit also takes,
fall back to English here), the expiry in the local time of the invoice's currency (WIB for
rupiah, as Xendit's checkout shows it), the customer and the items the merchant sent, and only
the channels the invoice offers (its `available_*` lists, narrowed by `payment_methods`).

Every button is a plain HTML form POST answered with a 303, so a browser (or httpx) follows:
- Pay (`id="pay"`) pays the whole amount by the chosen channel, sends Xendit's PAID callback and
  sends the browser to `success_redirect_url`;
- "Payment fails" (`id="fail"`) is a failed attempt: the invoice stays PENDING (it can be paid
  again) and the browser goes to `failure_redirect_url`;
- Expire (`id="expire"`) expires the invoice, sends the EXPIRED callback and goes to
  `failure_redirect_url` too.
Without the URL the browser comes back to this page, which shows what happened.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from emulator.deps import ConfigDep, StateDep
from emulator.payments import Payment, expire_and_call_back, find_invoice, pay
from emulator.state import InvoiceRecord
from emulator.xendit_models import DEFAULT_LOCALE

router = APIRouter(prefix="/checkout", tags=["checkout"], include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)

# Where the payer is, by the invoice's currency: the expiry is shown in that zone.
CURRENCY_ZONES = {
    "IDR": "Asia/Jakarta",
    "PHP": "Asia/Manila",
    "THB": "Asia/Bangkok",
    "VND": "Asia/Ho_Chi_Minh",
    "MYR": "Asia/Kuala_Lumpur",
}
PAID_STATUSES = ("PAID", "SETTLED")

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "sandbox": "Checkout sandbox · tidak ada uang sungguhan",
        "invoice_title": "Tagihan",
        "total": "Total pembayaran",
        "pay_before": "Bayar sebelum",
        "items": "Rincian pesanan",
        "quantity": "Jumlah",
        "customer": "Pelanggan",
        "invoice_id": "Nomor tagihan",
        "reference": "Referensi",
        "channel": "Metode pembayaran",
        "pay": "Bayar",
        "fail": "Simulasikan pembayaran gagal",
        "expire": "Jadikan kedaluwarsa",
        "paid_at": "Dibayar",
        "via": "melalui",
        "back": "Kembali ke {merchant}",
        "PENDING": "Menunggu pembayaran",
        "PAID": "Lunas",
        "SETTLED": "Lunas",
        "EXPIRED": "Kedaluwarsa",
        "paid_note": "Pembayaran diterima. Terima kasih!",
        "expired_note": "Tagihan ini sudah kedaluwarsa dan tidak dapat dibayar lagi.",
        "failed_note": "Pembayaran gagal. Silakan coba lagi atau pilih metode lain.",
        "callback": "Callback",
        "callback_answered": "webhook menjawab HTTP {status}",
        "callback_failed": "tidak terkirim: {error}",
        "card": "Kartu kredit/debit",
        "virtual_account": "Virtual Account",
        "direct_debit": "Debit langsung",
    },
    "en": {
        "sandbox": "Sandbox checkout · no real money moves",
        "invoice_title": "Invoice",
        "total": "Total",
        "pay_before": "Pay before",
        "items": "Order details",
        "quantity": "Qty",
        "customer": "Customer",
        "invoice_id": "Invoice number",
        "reference": "Reference",
        "channel": "Payment method",
        "pay": "Pay",
        "fail": "Simulate a failed payment",
        "expire": "Expire",
        "paid_at": "Paid",
        "via": "by",
        "back": "Back to {merchant}",
        "PENDING": "Awaiting payment",
        "PAID": "Paid",
        "SETTLED": "Paid",
        "EXPIRED": "Expired",
        "paid_note": "Payment received. Thank you!",
        "expired_note": "This invoice has expired and can no longer be paid.",
        "failed_note": "The payment failed. Please try again or choose another method.",
        "callback": "Callback",
        "callback_answered": "the webhook answered HTTP {status}",
        "callback_failed": "not delivered: {error}",
        "card": "Credit or debit card",
        "virtual_account": "Virtual Account",
        "direct_debit": "Direct debit",
    },
}


def format_amount(amount: float, currency: str) -> str:
    """`Rp 300.000` for rupiah (no decimals, dots between thousands), `USD 12.50` otherwise."""
    if currency == "IDR":
        return "Rp " + f"{amount:,.0f}".replace(",", ".")
    return f"{currency} {amount:,.2f}"


def page_locale(invoice: dict[str, Any]) -> str:
    """The checkout's language: the invoice's `locale`, English where we have no words."""
    locale = str(invoice.get("locale") or DEFAULT_LOCALE)
    return locale if locale in WORDS else "en"


def local_time(iso: str, currency: str, locale: str) -> str:
    """`4 Maret 2030, 10.00 WIB` / `March 4, 2030, 10:00 AM WIB`: in the currency's zone."""
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(CURRENCY_ZONES.get(currency, "UTC")))
    zone = moment.tzname() or ""
    if zone[:1] in "+-":
        zone = f"GMT{zone}"
    day = format_date(moment, "long", locale=locale)
    return f"{day}, {format_time(moment, 'short', locale=locale)} {zone}"


@dataclass(frozen=True)
class Channel:
    value: str
    """`METHOD:CHANNEL`, what the Pay form posts."""
    label: str


def offered_channels(invoice: dict[str, Any], words: dict[str, str]) -> list[Channel]:
    """The channels the invoice offers, from its `available_*` lists (which `payment_methods`
    narrowed), cards last unless excluded."""
    channels = [
        Channel(f"EWALLET:{e['ewallet_type']}", e["ewallet_type"])
        for e in invoice.get("available_ewallets", [])
    ]
    channels += [
        Channel(f"QR_CODE:{q['qr_code_type']}", q["qr_code_type"])
        for q in invoice.get("available_qr_codes", [])
    ]
    channels += [
        Channel(f"BANK_TRANSFER:{b['bank_code']}", f"{b['bank_code']} {words['virtual_account']}")
        for b in invoice.get("available_banks", [])
    ]
    channels += [
        Channel(f"RETAIL_OUTLET:{r['retail_outlet_name']}", r["retail_outlet_name"].title())
        for r in invoice.get("available_retail_outlets", [])
    ]
    channels += [
        Channel(
            f"DIRECT_DEBIT:{d['direct_debit_type']}",
            f"{d['direct_debit_type'].removeprefix('DD_')} {words['direct_debit']}",
        )
        for d in invoice.get("available_direct_debits", [])
    ]
    channels += [
        Channel(f"PAYLATER:{p['paylater_type']}", p["paylater_type"].title())
        for p in invoice.get("available_paylaters", [])
    ]
    if not invoice.get("should_exclude_credit_card"):
        channels.append(Channel("CREDIT_CARD:CREDIT_CARD", words["card"]))
    return channels


def _customer_name(invoice: dict[str, Any]) -> str:
    customer = invoice.get("customer") or {}
    return " ".join(part for part in (customer.get("given_names"), customer.get("surname")) if part)


@router.get("/{invoice_id}", response_class=HTMLResponse)
async def checkout_page(invoice_id: str, state: StateDep, payment: str | None = None) -> str:
    record = find_invoice(state, invoice_id)
    invoice = record.invoice
    locale = page_locale(invoice)
    words = WORDS[locale]
    currency = str(invoice["currency"])
    status = record.status
    delivery = record.last_delivery
    if delivery is None:
        callback = None
    elif delivery.get("status_code"):
        callback = words["callback_answered"].format(status=delivery["status_code"])
    else:
        callback = words["callback_failed"].format(error=delivery.get("error"))
    back_url = invoice.get(
        "success_redirect_url" if status in PAID_STATUSES else "failure_redirect_url"
    )
    return templates.get_template("checkout.html").render(
        lang=locale,
        t=words,
        invoice=invoice,
        status=status,
        status_word=words.get(status, status),
        merchant=invoice["merchant_name"],
        amount=format_amount(float(invoice["amount"]), currency),
        items=[
            {
                "name": item["name"],
                "quantity": f"{float(item['quantity']):g}",
                "price": format_amount(float(item["price"]) * float(item["quantity"]), currency),
                "category": item.get("category"),
            }
            for item in invoice.get("items", [])
        ],
        customer_name=_customer_name(invoice),
        customer_email=(invoice.get("customer") or {}).get("email") or invoice.get("payer_email"),
        expires=local_time(str(invoice["expiry_date"]), currency, locale),
        paid_at=local_time(str(invoice["paid_at"]), currency, locale)
        if invoice.get("paid_at")
        else None,
        failed=payment == "failed" and status == "PENDING",
        callback=callback,
        back_url=back_url if status != "PENDING" else None,
        channels=offered_channels(invoice, words),
        pay_url=f"/checkout/{invoice_id}/pay",
        fail_url=f"/checkout/{invoice_id}/fail",
        expire_url=f"/checkout/{invoice_id}/expire",
    )


def _to(record: InvoiceRecord, url_field: str, fallback: str = "") -> RedirectResponse:
    """Post/redirect/get: to the merchant's URL if the invoice has one, else back to the page."""
    url = record.invoice.get(url_field) or f"/checkout/{record.id}{fallback}"
    return RedirectResponse(str(url), status_code=303)


async def _form(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode(errors="replace"))
    return {name: values[0] for name, values in fields.items()}


@router.post("/{invoice_id}/pay")
async def checkout_pay(
    invoice_id: str, request: Request, state: StateDep, config: ConfigDep
) -> RedirectResponse:
    record = find_invoice(state, invoice_id)
    if record.status == "PENDING":
        offered = [c.value for c in offered_channels(record.invoice, WORDS["en"])]
        chosen = (await _form(request)).get("channel") or (offered[0] if offered else "")
        if chosen not in offered:
            raise HTTPException(400, "this invoice does not offer that payment channel")
        method, _, channel = chosen.partition(":")
        payment = Payment.model_validate({"payment_method": method, "payment_channel": channel})
        await pay(config, record, payment)
    if record.status in PAID_STATUSES:
        return _to(record, "success_redirect_url")
    return _to(record, "failure_redirect_url")


@router.post("/{invoice_id}/fail")
async def checkout_fail(invoice_id: str, state: StateDep) -> RedirectResponse:
    """A payment attempt that failed (a declined card, a cancelled e-wallet push): the invoice
    stays as it is, and can still be paid."""
    record = find_invoice(state, invoice_id)
    if record.status in PAID_STATUSES:
        return _to(record, "success_redirect_url")
    return _to(record, "failure_redirect_url", "?payment=failed")


@router.post("/{invoice_id}/expire")
async def checkout_expire(invoice_id: str, state: StateDep, config: ConfigDep) -> RedirectResponse:
    record = find_invoice(state, invoice_id)
    if record.status == "PENDING":
        await expire_and_call_back(config, record)
    if record.status in PAID_STATUSES:
        return _to(record, "success_redirect_url")
    return _to(record, "failure_redirect_url")
