"""Identifiers shaped like the providers' own."""

import base64
import secrets
import string
import uuid

BASE32HEX_LOWER = "0123456789abcdefghijklmnopqrstuv"


def xendit_object_id() -> str:
    """24 hex digits, like Xendit's invoice and user ids."""
    return secrets.token_hex(12)


def refund_id() -> str:
    return f"rfd-{uuid.uuid4()}"


def payment_id() -> str:
    return f"py-{uuid.uuid4()}"


def virtual_account_number() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(13))


def calendar_event_id() -> str:
    """26 base32hex characters, like the ids Google gives events."""
    return "".join(secrets.choice(BASE32HEX_LOWER) for _ in range(26))


def gmail_message_id() -> str:
    """16 hex digits, like Gmail's message and thread ids."""
    return secrets.token_hex(8)


def meet_code() -> str:
    """`abc-defg-hij`, the shape of a Google Meet room code."""
    letters = string.ascii_lowercase
    return "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))


def etag() -> str:
    """Calendar's etags are quoted decimal numbers."""
    return f'"{secrets.randbelow(10**16 - 10**15) + 10**15}"'


def access_token() -> str:
    return f"ya29.emulator-{secrets.token_urlsafe(32)}"


def html_link_eid(event_id: str, calendar_email: str) -> str:
    raw = f"{event_id} {calendar_email}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
