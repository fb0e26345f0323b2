"""The mentor's decision page: opened from the request email on a phone, it shows the order;
Approve and Decline are forms that POST. Opening the link (a mail scanner's prefetch) decides
nothing."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.ordering import send_request
from api.pages.links import Opened, error_page, open_link, read_form, request_key
from api.pages.render import notice, page
from mentoring.contract import Update
from mentoring.domain import MentorDecisionInput
from mentoring.tokens import DECISION_PAGE_PATH

router = APIRouter(prefix=DECISION_PAGE_PATH.rstrip("/"), include_in_schema=False)

Token = Annotated[str, Path(max_length=1000)]
DECIDING = ("awaiting_payment", "awaiting_mentor")
MAX_REASON = 1000


def _settled(request: Request, opened: Opened) -> HTMLResponse | None:
    """The page for a request that can no longer be answered, if so."""
    order, locale = opened.order, opened.mentor.locale
    if order.mentor_decision is not None:
        return notice(request, locale, 409, "used", decision=order.mentor_decision)
    if order.status not in DECIDING:
        return notice(request, locale, 409, "ended")
    return None


@router.get("/{token}", response_class=HTMLResponse)
async def show_request(
    token: Token, request: Request, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    opened = await open_link(request, session, settings, token, mentor=True)
    if not isinstance(opened, Opened):
        return opened
    settled = _settled(request, opened)
    if settled is not None:
        return settled
    mentor = opened.mentor
    return page(request, "decide.html", mentor.locale, order=opened.order, zone=mentor.timezone)


@router.post("/{token}", response_class=HTMLResponse)
async def decide(
    token: Token,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> HTMLResponse:
    opened = await open_link(request, session, settings, token, mentor=True)
    if not isinstance(opened, Opened):
        return opened
    locale = opened.mentor.locale
    form = await read_form(request)
    decision = (form or {}).get("decision")
    reason = ((form or {}).get("reason") or "").strip() or None
    if decision not in ("approve", "decline") or len(reason or "") > MAX_REASON:
        return notice(request, locale, 400, "bad_form")
    settled = _settled(request, opened)
    if settled is not None:
        return settled
    approve = decision == "approve"
    body = MentorDecisionInput(
        decision="approve" if approve else "decline", reason=reason, actor="mentor"
    )
    try:
        await send_request(
            temporal,
            session,
            opened.order,
            Update.MENTOR_DECISION,
            body,
            request_key(token, "decision"),
        )
    except ApiError as error:
        return error_page(request, locale, error)
    return notice(request, locale, 200, "approved" if approve else "declined")
