"""The mentee's order page, behind the signed link in every mentee email: where the order
stands, in the mentee's language and time zone; the payment link while unpaid, the Meet link
once confirmed; cancel and reschedule, which the order's own policy may refuse."""

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.bookability import (
    CalendarBusyDep,
    check_reschedulable,
    load_availability,
    mentor_schedule,
)
from api.calendar_busy import CalendarBusy
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.ordering import send_request
from api.pages.links import Opened, error_page, open_link, read_form, request_key
from api.pages.render import notice, page
from mentoring.contract import Update
from mentoring.domain import CancelInput, RescheduleInput
from mentoring.settings import Settings
from mentoring.slots import free_slots
from mentoring.tables import Mentor, Order
from mentoring.tokens import ORDER_PAGE_PATH

router = APIRouter(prefix=ORDER_PAGE_PATH.rstrip("/"), include_in_schema=False)

Token = Annotated[str, Path(max_length=1000)]
CHANGEABLE = ("awaiting_payment", "awaiting_mentor", "confirmed")
DONE_NOTICES = {Update.CANCEL: "cancelled", Update.RESCHEDULE: "rescheduled"}
MAX_REASON = 1000


RESCHEDULE_CHOICES = timedelta(days=14)


async def reschedule_choices(
    session: SessionDep, busy: CalendarBusy, settings: Settings, order: Order
) -> list[tuple[str, datetime]] | None:
    """The free starts the mentee may move the session to in the next two weeks, as (the form's
    value in the mentee's zone, the instant); None if the mentor has set no availability (the
    page then asks for a time)."""
    mentor = await session.get(Mentor, order.mentor_id)
    if mentor is None or await load_availability(session, mentor.id) is None:
        return None
    now = datetime.now(UTC)
    start = now + settings.minimum_lead_time
    duration = timedelta(minutes=order.duration_minutes)
    window = (start, start + RESCHEDULE_CHOICES)
    schedule = await mentor_schedule(session, busy, mentor, window, leaving_out=order.id)
    zone = ZoneInfo(order.mentee_timezone)
    return [
        (slot.astimezone(zone).strftime("%Y-%m-%dT%H:%M"), slot)
        for slot, _ in free_slots(*window, duration, schedule.time, now)
        if slot != order.start_time
    ]


@router.get("/{token}", response_class=HTMLResponse)
async def show_order(
    token: Token,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    busy: CalendarBusyDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    payment: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    opened = await open_link(request, session, settings, token, mentor=False)
    if not isinstance(opened, Opened):
        return opened
    order = opened.order
    can_change = order.status in CHANGEABLE
    choices = await reschedule_choices(session, busy, settings, order) if can_change else None
    return page(
        request,
        "order.html",
        order.mentee_locale,
        order=order,
        mentor_name=opened.mentor.name,
        zone=order.mentee_timezone,
        can_change=can_change,
        choices=choices,
        base_path=f"{ORDER_PAGE_PATH}{token}",
        done=done if done in DONE_NOTICES.values() else None,
        payment_notice=payment_notice(order.status, order.paid_at is not None, payment),
    )


def payment_notice(status: str, paid: bool, payment: str | None) -> str | None:
    """What to say to a payer Xendit's checkout sent back (`?payment=success|failed`) while the
    order still waits for the payment: its webhook may land a moment after the redirect."""
    if status != "awaiting_payment" or paid:
        return None
    return {"success": "payment_confirming", "failed": "payment_failed"}.get(payment or "")


async def _change(
    request: Request,
    opened: Opened,
    temporal: TemporalDep,
    session: SessionDep,
    token: str,
    change: tuple[Update, CancelInput | RescheduleInput, str],
) -> Response:
    """Ask the order's workflow for `change` (update, body, action); back to the page, or the
    page saying why it was refused."""
    update, body, action = change
    back = f"{ORDER_PAGE_PATH}{token}"
    try:
        await send_request(
            temporal, session, opened.order, update, body, request_key(token, action)
        )
    except ApiError as error:
        return error_page(request, opened.order.mentee_locale, error, back)
    return RedirectResponse(f"{back}?done={DONE_NOTICES[update]}", status_code=303)


@router.post("/{token}/cancel", response_model=None)
async def cancel(
    token: Token,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Response:
    opened = await open_link(request, session, settings, token, mentor=False)
    if not isinstance(opened, Opened):
        return opened
    form = await read_form(request)
    reason = ((form or {}).get("reason") or "").strip() or None
    if form is None or len(reason or "") > MAX_REASON:
        return notice(request, opened.order.mentee_locale, 400, "bad_form")
    body = CancelInput(by="mentee", reason=reason)
    return await _change(request, opened, temporal, session, token, (Update.CANCEL, body, "cancel"))


@router.post("/{token}/reschedule", response_model=None)
async def reschedule(
    token: Token,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    busy: CalendarBusyDep,
) -> Response:
    opened = await open_link(request, session, settings, token, mentor=False)
    if not isinstance(opened, Opened):
        return opened
    zone = ZoneInfo(opened.order.mentee_timezone)
    form = await read_form(request)
    try:
        local = datetime.fromisoformat((form or {}).get("start", ""))
    except ValueError:
        return notice(request, opened.order.mentee_locale, 400, "bad_form")
    start = local.replace(tzinfo=zone) if local.tzinfo is None else local
    try:
        await check_reschedulable(session, busy, opened.order, start, datetime.now(UTC))
    except ApiError as error:
        back = f"{ORDER_PAGE_PATH}{token}"
        return error_page(request, opened.order.mentee_locale, error, back)
    body = RescheduleInput(start_time=start, by="mentee")
    change = (Update.RESCHEDULE, body, f"reschedule-{start.isoformat()}")
    return await _change(request, opened, temporal, session, token, change)
