"""The invoice page a person opens from `invoice_url`, with Pay and Expire buttons."""

from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from emulator.deps import ConfigDep, StateDep
from emulator.payments import Payment, expire_and_call_back, find_invoice, pay

router = APIRouter(prefix="/checkout", tags=["checkout"], include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)

CHANNELS = (
    ("EWALLET:OVO", "OVO"),
    ("EWALLET:DANA", "DANA"),
    ("BANK_TRANSFER:BCA", "BCA virtual account"),
    ("BANK_TRANSFER:MANDIRI", "Mandiri virtual account"),
    ("QR_CODE:QRIS", "QRIS"),
    ("CREDIT_CARD:CREDIT_CARD", "Credit card"),
)


def format_amount(amount: float, currency: str) -> str:
    """`Rp 300.000` for rupiah (no decimals, dots between thousands), `USD 12.50` otherwise."""
    if currency == "IDR":
        return "Rp " + f"{amount:,.0f}".replace(",", ".")
    return f"{currency} {amount:,.2f}"


@router.get("/{invoice_id}", response_class=HTMLResponse)
async def checkout_page(invoice_id: str, state: StateDep) -> str:
    record = find_invoice(state, invoice_id)
    invoice = record.invoice
    return templates.get_template("checkout.html").render(
        invoice=invoice,
        merchant=invoice["merchant_name"],
        amount=format_amount(float(invoice["amount"]), str(invoice["currency"])),
        delivery=record.last_delivery,
        channels=CHANNELS,
        pay_url=f"/checkout/{invoice_id}/pay",
        expire_url=f"/checkout/{invoice_id}/expire",
    )


def _back(invoice_id: str) -> RedirectResponse:
    """Post/redirect/get: back to the page, which shows what happened."""
    return RedirectResponse(f"/checkout/{invoice_id}", status_code=303)


@router.post("/{invoice_id}/pay")
async def checkout_pay(
    invoice_id: str, request: Request, state: StateDep, config: ConfigDep
) -> RedirectResponse:
    form = parse_qs((await request.body()).decode())
    method, _, channel = form.get("channel", ["EWALLET:OVO"])[0].partition(":")
    try:
        payment = Payment.model_validate({"payment_method": method, "payment_channel": channel})
    except ValueError as error:
        raise HTTPException(400, "unknown payment channel") from error
    record = find_invoice(state, invoice_id)
    if record.status == "PENDING":
        await pay(config, record, payment)
    return _back(invoice_id)


@router.post("/{invoice_id}/expire")
async def checkout_expire(invoice_id: str, state: StateDep, config: ConfigDep) -> RedirectResponse:
    record = find_invoice(state, invoice_id)
    if record.status == "PENDING":
        await expire_and_call_back(config, record)
    return _back(invoice_id)
