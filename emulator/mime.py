"""Reading the RFC 822 message a Gmail send carries into what tests want to look at."""

import base64
import binascii
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from emulator.errors import google_error

Json = dict[str, Any]


def decode_raw(raw: Any) -> bytes:
    """Gmail's `raw`: the message, base64url-encoded (padding optional)."""
    if not isinstance(raw, str) or not raw:
        raise google_error(
            400, "invalidArgument", "'raw' RFC822 payload message string is required"
        )
    text = raw.strip().replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise google_error(
            400, "invalidArgument", "Invalid value at 'message.raw' (TYPE_BYTES)"
        ) from error


def _addresses(message: Message, header: str) -> list[str]:
    values = [str(value) for value in message.get_all(header, [])]
    return [address for _, address in getaddresses(values) if address]


def _headers(message: Message) -> dict[str, str]:
    """Unfolded and trimmed (Python folds a long header right after its colon); a repeated
    header's values joined by commas."""
    headers: dict[str, str] = {}
    for name, raw in message.items():
        value = str(raw).strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _text(part: Message | None) -> str | None:
    if part is None:
        return None
    content = part.get_content() if isinstance(part, EmailMessage) else part.get_payload()
    return content if isinstance(content, str) else None


def _attachment(part: Message) -> Json:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    return {
        "filename": part.get_filename(),
        "content_type": part.get_content_type(),
        "params": {key: str(value) for key, value in (part.get_params() or [])[1:]},
        "size": len(data),
        "text": data.decode(charset, errors="replace")
        if part.get_content_maintype() == "text"
        else None,
        "content_base64": base64.b64encode(data).decode(),
    }


def parse_message(data: bytes) -> Json:
    """Addresses, subject, text and HTML bodies, attachments and headers of a message."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    bodies = [part for part in (plain, html) if part is not None]
    headers = _headers(message)
    attachments = [
        _attachment(part)
        for part in message.walk()
        if not part.is_multipart() and not any(part is body for body in bodies)
    ]
    return {
        "from": next(iter(_addresses(message, "From")), None),
        "to": _addresses(message, "To"),
        "cc": _addresses(message, "Cc"),
        "bcc": _addresses(message, "Bcc"),
        "subject": headers.get("Subject", ""),
        "body": _text(plain),
        "html": _text(html),
        "attachments": attachments,
        "headers": headers,
    }
