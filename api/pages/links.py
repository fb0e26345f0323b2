"""What the pages share: reading a link's token into its order, a posted form, and turning the
API's errors into pages."""

import hashlib
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.ordering import load_order
from api.pages.render import notice
from mentoring.settings import Settings
from mentoring.tables import Mentor, Order
from mentoring.tokens import MENTEE_LINK_TTL, check_link
from mentoring.tracing import tag_order

MAX_FORM_BYTES = 8 * 1024
REFUSAL_STATUS = 409


@dataclass
class Opened:
    """A link that named an order we have: the order and its mentor."""

    order: Order
    mentor: Mentor


async def open_link(
    request: Request, session: AsyncSession, settings: Settings, token: str, mentor: bool
) -> Opened | HTMLResponse:
    """The order a link is for, or the page saying why it cannot be used."""
    max_age = settings.mentor_token_ttl if mentor else MENTEE_LINK_TTL
    check = check_link(settings.mentor_token_secret, token, max_age, mentor)
    if check.verdict == "expired":
        return notice(request, "id", 410, "expired_link")
    try:
        order_id = uuid.UUID(check.order_id)
    except ValueError:
        return notice(request, "id", 400, "invalid_link")
    tag_order(order_id)
    order = await load_order(session, order_id)
    if order is None:
        return notice(request, "id", 404, "not_found")
    owner = await session.get(Mentor, order.mentor_id)
    assert owner is not None
    if mentor and check.mentor_id != str(owner.id):
        return notice(request, owner.locale, 403, "foreign_link")
    return Opened(order, owner)


async def read_form(request: Request) -> dict[str, str] | None:
    """The posted form's fields (first value of each), or None if it is not one we take."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return None
    return {name: values[0] for name, values in fields.items()}


def request_key(token: str, action: str) -> str:
    """One request per link and action: a form sent twice (a double tap, a retry) is answered
    with the first one's outcome."""
    return f"page-{hashlib.sha256(token.encode()).hexdigest()[:24]}-{action}"


def error_page(request: Request, locale: str, error: ApiError, back_url: str = "") -> HTMLResponse:
    if error.status_code == REFUSAL_STATUS:
        what = "ended" if error.code == "order_closed" else "refused"
        return notice(request, locale, 409, what, refusal_code=error.code, back_url=back_url)
    if error.status_code in (429, 503):
        return notice(request, locale, 503, "unavailable", back_url=back_url)
    return notice(request, locale, 400, "bad_form", back_url=back_url)
