"""The admin's page of what needs a person: the flagged orders, each resolved with a note (and
a manual refund's transfer reference). Behind the admin key, given once on a login form and
kept as a signed, HttpOnly, SameSite=Strict session cookie (or sent as a Bearer header)."""

import hmac
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.pages.links import read_form
from api.pages.render import page
from api.resolution import ResolveIn, raised_flags, resolve_order
from mentoring.settings import Settings
from mentoring.tables import Mentor, Order, WebhookEndpoint
from mentoring.tokens import ADMIN_SESSION_TTL, admin_session, verify_admin_session

ADMIN_PATH = "/pages/admin"
COOKIE = "admin_session"
LISTED = 200

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)


def _signed_in(request: Request, settings: Settings) -> bool:
    if not settings.admin_api_key or not settings.mentor_token_secret:
        return False
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer ") and hmac.compare_digest(
        header.removeprefix("Bearer ").encode(), settings.admin_api_key.encode()
    ):
        return True
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and verify_admin_session(
        settings.mentor_token_secret, settings.admin_api_key, cookie
    )


def _login_unless_signed_in(request: Request, settings: Settings) -> RedirectResponse | None:
    """To the login form, for a caller who is not signed in as an admin."""
    if _signed_in(request, settings):
        return None
    return RedirectResponse(f"{ADMIN_PATH}/login", status_code=303)


def _login(request: Request, status_code: int = 200, failed: bool = False) -> HTMLResponse:
    return page(request, "admin_login.html", "en", status_code, failed=failed)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _login(request)


@router.post("/login", response_model=None)
async def login(request: Request, settings: SettingsDep) -> Response:
    form = await read_form(request) or {}
    given = form.get("key", "")
    valid = bool(settings.admin_api_key) and bool(settings.mentor_token_secret)
    if not valid or not hmac.compare_digest(given.encode(), settings.admin_api_key.encode()):
        return _login(request, 401, failed=True)
    response = RedirectResponse(ADMIN_PATH, status_code=303)
    response.set_cookie(
        COOKIE,
        admin_session(settings.mentor_token_secret, settings.admin_api_key),
        max_age=int(ADMIN_SESSION_TTL.total_seconds()),
        path=ADMIN_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.public_base_url.startswith("https://"),
    )
    return response


@router.post("/logout")
async def logout() -> RedirectResponse:
    response = RedirectResponse(f"{ADMIN_PATH}/login", status_code=303)
    response.delete_cookie(COOKIE, path=ADMIN_PATH)
    return response


@router.get("", response_class=HTMLResponse, response_model=None)
async def flagged_orders(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    resolved: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    if (login := _login_unless_signed_in(request, settings)) is not None:
        return login
    rows = (
        await session.execute(
            select(Order, Mentor.name)
            .join(Mentor, Mentor.id == Order.mentor_id)
            .where(Order.needs_admin)
            .order_by(Order.updated_at.desc())
            .limit(LISTED)
        )
    ).all()
    orders = [(order, mentor_name, raised_flags(order)) for order, mentor_name in rows]
    endpoints = (
        await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.active.is_(False))
            .order_by(WebhookEndpoint.updated_at.desc())
        )
    ).all()
    return page(request, "admin.html", "en", orders=orders, resolved=resolved, endpoints=endpoints)


@router.post("/endpoints/{endpoint_id}/enable", response_model=None)
async def enable_endpoint(
    endpoint_id: Annotated[uuid.UUID, Path()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Turn a webhook endpoint that was disabled for failing back on (for new events)."""
    if (login := _login_unless_signed_in(request, settings)) is not None:
        return login
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is not None:
        endpoint.active, endpoint.disabled_reason = True, None
        endpoint.updated_at = datetime.now(UTC)
        await session.commit()
    return RedirectResponse(ADMIN_PATH, status_code=303)


@router.post("/orders/{order_id}/resolve", response_model=None)
async def resolve(
    order_id: Annotated[uuid.UUID, Path()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Response:
    if (login := _login_unless_signed_in(request, settings)) is not None:
        return login
    form = await read_form(request) or {}
    try:
        body = ResolveIn(note=form.get("note", "").strip(), reference=form.get("reference") or None)
    except ValidationError:
        return page(request, "admin_refused.html", "en", 400, code="bad_form", order_id=order_id)
    try:
        await resolve_order(temporal, session, order_id, body)
    except ApiError as error:
        return page(
            request,
            "admin_refused.html",
            "en",
            error.status_code,
            code=error.code,
            order_id=order_id,
        )
    return RedirectResponse(f"{ADMIN_PATH}?resolved={order_id}", status_code=303)
