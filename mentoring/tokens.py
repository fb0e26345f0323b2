"""Signed, expiring tokens that let a mentor act on one order (sent in the request email)."""

from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

_SALT = "mentor-order"


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
