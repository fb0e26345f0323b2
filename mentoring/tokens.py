"""Signed, expiring tokens in the links people get by email.

A mentor's token lets them decide one order (the decision page, and the JSON decision route);
a mentee's token lets them follow and change one order (the order page). Each kind has its own
salt, so one never passes for the other.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_SALT = "mentor-order"
_MENTEE_SALT = "mentee-order"
_AVAILABILITY_SALT = "mentor-availability"

# A mentor keeps the link to their own hours for a while: it changes nothing but those hours.
AVAILABILITY_LINK_TTL = timedelta(days=30)

# A mentee follows an order from its emails for as long as it may matter (refunds included).
MENTEE_LINK_TTL = timedelta(days=400)

DECISION_PAGE_PATH = "/pages/decide/"
ORDER_PAGE_PATH = "/pages/order/"


def mentor_token(secret: str, order_id: str, mentor_id: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps({"o": order_id, "m": mentor_id})


def verify_mentor_token(secret: str, token: str, max_age: timedelta) -> tuple[str, str] | None:
    """(order_id, mentor_id) of a valid token, or None if forged or expired."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_SALT).loads(
            token, max_age=int(max_age.total_seconds())
        )
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    return str(data.get("o")), str(data.get("m"))


def mentee_token(secret: str, order_id: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_MENTEE_SALT).dumps({"o": order_id})


def verify_mentee_token(secret: str, token: str, max_age: timedelta) -> str | None:
    """The order id of a valid mentee token, or None if forged or expired."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_MENTEE_SALT).loads(
            token, max_age=int(max_age.total_seconds())
        )
    except BadSignature:
        return None
    return str(data["o"]) if isinstance(data, dict) and "o" in data else None


def availability_token(secret: str, mentor_id: str) -> str:
    """Lets the mentor read and set their own availability, and nothing else."""
    return URLSafeTimedSerializer(secret, salt=_AVAILABILITY_SALT).dumps({"m": mentor_id})


def verify_availability_token(secret: str, token: str) -> str | None:
    """The mentor id of a valid availability token, or None if forged or expired."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_AVAILABILITY_SALT).loads(
            token, max_age=int(AVAILABILITY_LINK_TTL.total_seconds())
        )
    except BadSignature:
        return None
    return str(data["m"]) if isinstance(data, dict) and "m" in data else None


def decision_page_url(base_url: str, secret: str, order_id: str, mentor_id: str) -> str:
    """The page a mentor opens from their email to approve or decline (GET shows, POST acts)."""
    return f"{base_url}{DECISION_PAGE_PATH}{mentor_token(secret, order_id, mentor_id)}"


def order_page_url(base_url: str, secret: str, order_id: str) -> str:
    """The page a mentee opens from any of their emails to follow the order."""
    return f"{base_url}{ORDER_PAGE_PATH}{mentee_token(secret, order_id)}"


@dataclass(frozen=True)
class LinkCheck:
    """What a link's token says: valid (with what it names), expired, or not ours at all."""

    verdict: Literal["valid", "expired", "invalid"]
    order_id: str = ""
    mentor_id: str = ""


def check_link(secret: str, token: str, max_age: timedelta, mentor: bool) -> LinkCheck:
    """A mentor's (`mentor=True`) or a mentee's link token, with why it is refused."""
    salt = _SALT if mentor else _MENTEE_SALT
    try:
        data = URLSafeTimedSerializer(secret, salt=salt).loads(
            token, max_age=int(max_age.total_seconds())
        )
    except SignatureExpired:
        return LinkCheck("expired")
    except BadSignature:
        return LinkCheck("invalid")
    if not isinstance(data, dict) or "o" not in data or (mentor and "m" not in data):
        return LinkCheck("invalid")
    return LinkCheck("valid", str(data["o"]), str(data.get("m", "")))


_ADMIN_SALT = "admin-session"
ADMIN_SESSION_TTL = timedelta(hours=12)


def _key_digest(admin_api_key: str) -> str:
    return hashlib.sha256(admin_api_key.encode()).hexdigest()[:16]


def admin_session(secret: str, admin_api_key: str) -> str:
    """The admin page's session after the admin key was given; a new admin key ends it."""
    return URLSafeTimedSerializer(secret, salt=_ADMIN_SALT).dumps({"k": _key_digest(admin_api_key)})


def verify_admin_session(secret: str, admin_api_key: str, token: str) -> bool:
    try:
        data = URLSafeTimedSerializer(secret, salt=_ADMIN_SALT).loads(
            token, max_age=int(ADMIN_SESSION_TTL.total_seconds())
        )
    except BadSignature:
        return False
    return isinstance(data, dict) and data.get("k") == _key_digest(admin_api_key)
