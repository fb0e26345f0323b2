"""Xendit's request bodies and the JSON it answers and calls back with, as pure functions.

Amounts are floats, as xendit-python's models declare them (`amount: float`), so what the
SDK parses and what a test compares to the JSON agree.
"""

import re
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emulator.clock import iso_millis
from emulator.errors import xendit_error
from emulator.ids import payment_id, virtual_account_number, xendit_object_id

Json = dict[str, Any]

CURRENCIES = ("IDR", "PHP", "THB", "VND", "MYR", "USD")
DEFAULT_INVOICE_DURATION_S = 86_400.0
MAX_INVOICE_DURATION_S = 31_536_000.0
MERCHANT_PICTURE_URL = "https://du8nwjtfkinx.cloudfront.net/xendit.png"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = r"^\+[1-9][0-9]{7,14}$"
HTTP_URL = r"^https?://[^\s/?#]+[^\s]*$"
MAX_URL = 2048
# The checkout page's languages; Xendit's own default is English.
LOCALES = ("en", "id", "th", "vi")
DEFAULT_LOCALE = "en"
MAX_ITEMS = 75
MAX_ITEM_NAME = 256
MAX_ITEM_QUANTITY = 510_000

PaymentMethod = Literal[
    "BANK_TRANSFER",
    "CREDIT_CARD",
    "EWALLET",
    "QR_CODE",
    "RETAIL_OUTLET",
    "DIRECT_DEBIT",
    "PAYLATER",
]
# Channels offered for IDR invoices, by the model list they belong to.
IDR_BANKS = ("BCA", "BNI", "BRI", "MANDIRI", "PERMATA")
IDR_RETAIL_OUTLETS = ("ALFAMART", "INDOMARET")
IDR_EWALLETS = ("OVO", "DANA", "SHOPEEPAY", "LINKAJA")
IDR_QR_CODES = ("QRIS",)
IDR_DIRECT_DEBITS = ("DD_BRI", "DD_MANDIRI")
IDR_PAYLATERS = ("KREDIVO", "AKULAKU")
CREDIT_CARD = "CREDIT_CARD"
IDR_CHANNELS = frozenset(
    {
        *IDR_BANKS,
        *IDR_RETAIL_OUTLETS,
        *IDR_EWALLETS,
        *IDR_QR_CODES,
        *IDR_DIRECT_DEBITS,
        *IDR_PAYLATERS,
        CREDIT_CARD,
    }
)


class XenditBody(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InvoiceItemBody(XenditBody):
    """One line of what is paid for; shown on the checkout page. Xendit takes the invoice's
    `amount` as the truth when the items add up to something else."""

    name: str = Field(min_length=1, max_length=MAX_ITEM_NAME)
    price: float = Field(ge=0)
    quantity: float = Field(ge=1, le=MAX_ITEM_QUANTITY)
    reference_id: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, pattern=HTTP_URL, max_length=MAX_URL)
    category: str | None = Field(default=None, max_length=255)


class AddressBody(XenditBody):
    country: str | None = None
    street_line1: str | None = None
    street_line2: str | None = None
    city: str | None = None
    province_state: str | None = None
    state: str | None = None
    postal_code: str | None = None
    category: str | None = None
    is_primary: bool | None = None


class CustomerBody(XenditBody):
    """Who pays, as the checkout page greets them (xendit-python's `CustomerObject`)."""

    id: str | None = None
    customer_id: str | None = None
    given_names: str | None = Field(default=None, min_length=1, max_length=255)
    surname: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    mobile_number: str | None = Field(default=None, pattern=E164)
    phone_number: str | None = Field(default=None, pattern=E164)
    addresses: list[AddressBody] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError("must be a valid email")
        return value


class InvoiceFeeBody(XenditBody):
    type: str
    value: float


class CreateInvoiceBody(XenditBody):
    external_id: str = Field(min_length=1, max_length=1000)
    amount: float = Field(ge=1)
    payer_email: str | None = None
    description: str | None = Field(default=None, max_length=1000)
    invoice_duration: float = Field(
        default=DEFAULT_INVOICE_DURATION_S, ge=1, le=MAX_INVOICE_DURATION_S
    )
    currency: str = "IDR"
    should_send_email: bool = False
    should_exclude_credit_card: bool = False
    customer: CustomerBody | None = None
    customer_notification_preference: dict[str, Any] | None = None
    items: list[InvoiceItemBody] | None = Field(default=None, max_length=MAX_ITEMS)
    fees: list[InvoiceFeeBody] | None = None
    payment_methods: list[str] | None = Field(
        default=None,
        description="channel codes (BCA, OVO, QRIS, CREDIT_CARD, ...); absent or empty: every "
        "channel the business has",
    )
    success_redirect_url: str | None = Field(default=None, pattern=HTTP_URL, max_length=MAX_URL)
    failure_redirect_url: str | None = Field(default=None, pattern=HTTP_URL, max_length=MAX_URL)
    locale: Literal["en", "id", "th", "vi"] | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("amount", "invoice_duration", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return value


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f'"{where}" {first["msg"].lower()}'


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: Any) -> M:
    """Validate a request body, answering as Xendit does when it is wrong."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise xendit_error(400, "API_VALIDATION_ERROR", _validation_message(error)) from error


def _channels(request: CreateInvoiceBody, merchant_name: str) -> Json:
    """The available_* lists: every IDR channel, narrowed to `payment_methods` if given."""
    if request.currency != "IDR":
        return {
            key: []
            for key in (
                "available_banks",
                "available_retail_outlets",
                "available_ewallets",
                "available_qr_codes",
                "available_direct_debits",
                "available_paylaters",
            )
        }
    wanted = set(request.payment_methods or ())

    def offered(codes: tuple[str, ...]) -> list[str]:
        return [code for code in codes if not wanted or code in wanted]

    return {
        "available_banks": [
            {
                "bank_code": code,
                "collection_type": "POOL",
                "bank_account_number": virtual_account_number(),
                "transfer_amount": request.amount,
                "bank_branch": "Virtual Account",
                "account_holder_name": merchant_name.upper(),
                "identity_amount": 0,
            }
            for code in offered(IDR_BANKS)
        ],
        "available_retail_outlets": [
            {
                "retail_outlet_name": code,
                "payment_code": f"TEST{virtual_account_number()[:8]}",
                "transfer_amount": request.amount,
                "merchant_name": merchant_name,
            }
            for code in offered(IDR_RETAIL_OUTLETS)
        ],
        "available_ewallets": [{"ewallet_type": code} for code in offered(IDR_EWALLETS)],
        "available_qr_codes": [{"qr_code_type": code} for code in offered(IDR_QR_CODES)],
        "available_direct_debits": [
            {"direct_debit_type": code} for code in offered(IDR_DIRECT_DEBITS)
        ],
        "available_paylaters": [{"paylater_type": code} for code in offered(IDR_PAYLATERS)],
    }


def new_invoice(
    request: CreateInvoiceBody,
    *,
    user_id: str,
    merchant_name: str,
    public_url: str,
    now: datetime,
) -> Json:
    """An invoice as `POST /v2/invoices` answers it."""
    if request.currency not in CURRENCIES:
        raise xendit_error(400, "UNSUPPORTED_CURRENCY", f"{request.currency} is not supported")
    if request.payer_email is not None and not EMAIL.match(request.payer_email):
        raise xendit_error(400, "EMAIL_FORMAT_ERROR", '"payer_email" must be a valid email')
    unknown = sorted(set(request.payment_methods or ()) - IDR_CHANNELS)
    if unknown:
        raise xendit_error(
            400,
            "UNAVAILABLE_PAYMENT_METHOD_ERROR",
            f"The payment method choices did not match with the available one on this "
            f"business: {', '.join(unknown)}",
        )
    invoice_id = xendit_object_id()
    created = iso_millis(now)
    invoice: Json = {
        "id": invoice_id,
        "external_id": request.external_id,
        "user_id": user_id,
        "status": "PENDING",
        "merchant_name": merchant_name,
        "merchant_profile_picture_url": MERCHANT_PICTURE_URL,
        "amount": request.amount,
        "payer_email": request.payer_email,
        "description": request.description,
        "expiry_date": iso_millis(now + timedelta(seconds=request.invoice_duration)),
        "invoice_url": f"{public_url}/checkout/{invoice_id}",
        **_channels(request, merchant_name),
        # Cards are offered unless excluded, or left out of `payment_methods`.
        "should_exclude_credit_card": request.should_exclude_credit_card
        or bool(request.payment_methods and CREDIT_CARD not in request.payment_methods),
        "should_send_email": request.should_send_email,
        "created": created,
        "updated": created,
        "currency": request.currency,
    }
    optional: Json = {
        "items": [item.model_dump(exclude_none=True) for item in request.items or []] or None,
        "fees": [fee.model_dump() for fee in request.fees or []] or None,
        "customer": request.customer.model_dump(exclude_none=True) if request.customer else None,
        "customer_notification_preference": request.customer_notification_preference,
        "success_redirect_url": request.success_redirect_url,
        "failure_redirect_url": request.failure_redirect_url,
        "locale": request.locale,
        "metadata": request.metadata,
    }
    invoice.update({key: value for key, value in optional.items() if value is not None})
    return {key: value for key, value in invoice.items() if value is not None}


def payment_fields(
    invoice: Json,
    *,
    method: str,
    channel: str,
    paid_amount: float,
    paid_at: datetime,
) -> Json:
    """What a payment adds to the invoice, as a get after payment shows it."""
    fields: Json = {
        "payment_method": method,
        "paid_amount": paid_amount,
        "paid_at": iso_millis(paid_at),
        "payment_channel": channel,
        "payment_id": payment_id(),
        "payment_method_id": f"pm-{xendit_object_id()}",
    }
    if method == "BANK_TRANSFER":
        accounts = {b["bank_code"]: b["bank_account_number"] for b in invoice["available_banks"]}
        fields["bank_code"] = channel
        fields["payment_destination"] = accounts.get(channel) or virtual_account_number()
    elif method == "RETAIL_OUTLET":
        codes = {
            o["retail_outlet_name"]: o["payment_code"] for o in invoice["available_retail_outlets"]
        }
        fields["retail_outlet_name"] = channel
        fields["payment_destination"] = codes.get(channel) or virtual_account_number()
    elif method == "EWALLET":
        fields["ewallet_type"] = channel
    return fields


_CALLBACK_BASE = ("id", "external_id", "user_id")
_PAID_CALLBACK_FIELDS = (
    "payment_method",
    "status",
    "merchant_name",
    "amount",
    "paid_amount",
    "bank_code",
    "paid_at",
    "payer_email",
    "description",
)
_PAID_CALLBACK_TAIL = (
    "updated",
    "created",
    "currency",
    "payment_channel",
    "payment_destination",
    "ewallet_type",
    "retail_outlet_name",
    "payment_id",
    "payment_method_id",
    "items",
    "fees",
    "success_redirect_url",
    "failure_redirect_url",
    "metadata",
)


def paid_callback(invoice: Json, paid_currency: str) -> Json:
    """The PAID invoice callback, in the order Xendit writes its fields."""
    payload: Json = {key: invoice[key] for key in _CALLBACK_BASE}
    payload["is_high"] = False
    payload.update({key: invoice[key] for key in _PAID_CALLBACK_FIELDS if key in invoice})
    payload["adjusted_received_amount"] = invoice["paid_amount"]
    payload["fees_paid_amount"] = 0.0
    payload.update({key: invoice[key] for key in _PAID_CALLBACK_TAIL if key in invoice})
    payload["currency"] = paid_currency
    return payload


def expired_callback(invoice: Json) -> Json:
    """The EXPIRED invoice callback."""
    keys = (
        *_CALLBACK_BASE,
        "status",
        "merchant_name",
        "amount",
        "payer_email",
        "description",
        "updated",
        "created",
        "currency",
    )
    return {key: invoice[key] for key in keys if key in invoice}
