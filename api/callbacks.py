"""Reading Xendit's callbacks: a bounded body, strict JSON, and the fields the relay relies on.

Everything here runs before a callback is stored: what can never be forwarded (JSON Postgres
cannot hold, a status Xendit's invoices never have, a paid_at that is not a date-time) is
refused with 422 at once, instead of failing the relay later.
"""

import json
import math
import re
import sys
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from api.errors import ApiError

MAX_CALLBACK_BYTES = 64 * 1024
MAX_CALLBACK_DEPTH = 32
# More than any invoice in any currency Xendit settles (and within the read model's BIGINT).
MAX_AMOUNT = 1e15

INVOICE_STATUSES = ("PAID", "SETTLED", "EXPIRED", "PENDING")

_RFC3339 = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<hms>[0-9]{2}:[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?P<fraction>\.[0-9]+)?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# A whole string, a bracket, or the quote of a string left open (the text is no JSON then).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*+"|[\[\]{}]|"', re.DOTALL)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 date-time (`2024-05-01T03:04:05.678Z`), as an aware datetime; a leap second
    (`:60`) is read as `:59`. ValueError for anything else."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time")
    second = min(int(match["second"]), 59)
    fraction = (match["fraction"] or "")[:7]
    offset = match["offset"].upper().replace("Z", "+00:00")
    if int(offset[1:3]) > 23 or int(offset[4:6]) > 59:
        raise ValueError("not an RFC 3339 offset")
    return datetime.fromisoformat(f"{match['date']}T{match['hms']}:{second:02d}{fraction}{offset}")


def _rfc3339_text(text: str) -> str:
    parse_rfc3339(text)
    return text


Instant = Annotated[
    str,
    AfterValidator(_rfc3339_text),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Amount = Annotated[float, Field(strict=True, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]


class InvoiceCallback(BaseModel):
    """The fields we rely on; the whole payload is stored as it came."""

    model_config = ConfigDict(extra="allow")

    # The columns they are stored in hold no more (a longer value was a 500).
    id: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)
    status: Literal["PAID", "SETTLED", "EXPIRED", "PENDING"]
    amount: Amount | None = None
    paid_amount: Amount | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    paid_at: Instant | None = None
    updated: Instant | None = None
    created: Instant | None = None
    # Where the read model keeps them (VARCHAR(64)).
    payment_method: str | None = Field(default=None, max_length=64)
    payment_channel: str | None = Field(default=None, max_length=64)


class RefundCallbackData(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    status: str = Field(min_length=1, max_length=25)
    reference_id: str | None = Field(default=None, max_length=200)
    invoice_id: str | None = Field(default=None, max_length=64)


class RefundCallback(BaseModel):
    """Xendit's refund callback; the whole payload is stored as it came."""

    model_config = ConfigDict(extra="allow")

    event: str = Field(max_length=64)
    data: RefundCallbackData


Callback = TypeVar("Callback", InvoiceCallback, RefundCallback)


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place: an OpenAPI document
    cannot resolve pydantic's local `$defs`."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_TOO_LARGE = ApiError(
    413, "payload_too_large", f"a callback body may not exceed {MAX_CALLBACK_BYTES} bytes"
)


async def read_body(request: Request, limit: int = MAX_CALLBACK_BYTES) -> bytes:
    """The request's body, refused with 413 as soon as it exceeds `limit` bytes (whatever its
    Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _TOO_LARGE
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TOO_LARGE
    return bytes(body)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(value: float | int, text: str) -> float | int:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{text[:40]} does not fit a number")
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        raise ValueError(f"{text[:40]}... does not fit a number")
    return value


def _depth(text: str) -> int:
    """How deeply the JSON text nests arrays and objects (its strings left out)."""
    depth = deepest = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
        elif token == '"':
            break  # a string left open: json.loads refuses the text
    return deepest


def _storable(value: Any) -> Any:
    """Postgres (text, JSONB) holds no NUL character (each becomes U+FFFD) and no lone
    surrogate (refused)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ValueError("a string holds a lone UTF-16 surrogate")
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, every number a finite double, at most
    MAX_CALLBACK_DEPTH levels deep, storable in Postgres. ValueError otherwise."""
    text = body.decode("utf-8")
    if _depth(text) > MAX_CALLBACK_DEPTH:
        raise ValueError(f"nested deeper than {MAX_CALLBACK_DEPTH} levels")
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=lambda number: _finite(float(number), number),
            parse_int=lambda number: _finite(int(number), number),
        )
    except RecursionError as error:
        raise ValueError("nested too deeply") from error
    return _storable(value)


async def read_callback(request: Request, model: type[Callback], what: str) -> tuple[Any, Callback]:
    """The callback's payload (to store as it came) and its fields; 413 or 422 if it can never
    be forwarded."""
    body = await read_body(request)
    try:
        payload = parse_json(body)
    except ValueError as error:
        raise ApiError(422, "invalid_callback", f"{what}: {error}") from error
    try:
        return payload, model.model_validate(payload)
    except ValidationError as error:
        details = [
            {"loc": list(e["loc"]), "msg": str(e["msg"]), "type": e["type"]} for e in error.errors()
        ]
        raise ApiError(422, "invalid_callback", what, details) from error
