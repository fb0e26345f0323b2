"""Google Calendar v3 events: insert, get, patch, update, delete (paths under `/calendar/v3/`).

Every change gives the event a new `etag`; patch, update and delete honour `If-Match` (412 when
the event's etag is another), as Google's conditional modification does.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from emulator.calendar_events import (
    Json,
    as_pending,
    cancelled_event,
    check_event_id,
    check_times,
    conference_request,
    new_event,
    patched_event,
    replaced_event,
    resolved_conference,
)
from emulator.clock import utcnow
from emulator.deps import StateDep
from emulator.errors import google_error, google_json_object
from emulator.faults import CONFERENCE, Fault
from emulator.ids import calendar_event_id
from emulator.oauth import CALENDAR_SCOPES, authorize
from emulator.state import EmulatorState, EventRecord, IssuedToken

router = APIRouter(prefix="/calendar/v3", tags=["google-calendar"])
ConferenceVersion = Annotated[int, Query(alias="conferenceDataVersion", ge=0, le=1)]


async def _enter(
    request: Request, state: EmulatorState, operation: str
) -> tuple[IssuedToken, Fault | None]:
    """The caller's token, once the operation's fault is played; an `after_effect` fault is
    returned instead, for the operation to play once done."""
    token = authorize(request, state, CALENDAR_SCOPES)
    return token, await state.faults.enter(operation)


def _check_if_match(request: Request, record: EventRecord) -> None:
    """Google's conditional modification: with `If-Match`, only if the event's etag is one of
    those named (or `*`)."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" in tags or record.event["etag"] in tags:
        return
    raise google_error(
        412,
        "conditionNotMet",
        "Precondition Failed",
        locationType="header",
        location="If-Match",
    )


def _calendar(calendar_id: str, token: IssuedToken) -> str:
    return token.principal if calendar_id == "primary" else calendar_id


def _record(state: EmulatorState, calendar: str, event_id: str) -> EventRecord:
    record = state.events.get((calendar, event_id))
    if record is None:
        raise google_error(404, "notFound", "Not Found")
    return record


def _conference(
    state: EmulatorState, body: Json, version: int, current_request_id: str | None = None
) -> tuple[Json, str | None] | None:
    """The Meet outcome a write asks for: only with conferenceDataVersion=1 and a new
    createRequest. A pending `calendar.conference` fault makes it fail."""
    if version != 1:
        return None
    request = conference_request(body.get("conferenceData"))
    if request is None or request["requestId"] == current_request_id:
        return None
    failing = state.faults.take(CONFERENCE) is not None
    return resolved_conference(request, "failure" if failing else "success")


@router.post("/calendars/{calendar_id}/events")
async def insert_event(
    calendar_id: str, request: Request, state: StateDep, version: ConferenceVersion = 0
) -> Json:
    token, fault = await _enter(request, state, "calendar.events.insert")
    body = await google_json_object(request)
    event_id = str(body.get("id") or calendar_event_id())
    check_event_id(event_id)
    calendar = _calendar(calendar_id, token)
    if (calendar, event_id) in state.events:
        raise google_error(409, "duplicate", "The requested identifier already exists.")
    check_times(body)
    conference = _conference(state, body, version)
    event = new_event(
        body,
        event_id=event_id,
        calendar_email=calendar,
        principal=token.principal,
        now=utcnow(),
        conference=conference,
    )
    state.events[(calendar, event_id)] = EventRecord(calendar, event)
    await state.faults.answer("calendar.events.insert", fault)
    return as_pending(event) if conference else event


@router.get("/calendars/{calendar_id}/events/{event_id}")
async def get_event(calendar_id: str, event_id: str, request: Request, state: StateDep) -> Json:
    """A deleted event is still there, with status "cancelled", as in Google."""
    token, _ = await _enter(request, state, "calendar.events.get")
    return _record(state, _calendar(calendar_id, token), event_id).event


@router.patch("/calendars/{calendar_id}/events/{event_id}")
async def patch_event(
    calendar_id: str,
    event_id: str,
    request: Request,
    state: StateDep,
    version: ConferenceVersion = 0,
) -> Json:
    token, fault = await _enter(request, state, "calendar.events.patch")
    body = await google_json_object(request)
    record = _record(state, _calendar(calendar_id, token), event_id)
    _check_if_match(request, record)
    conference = _conference(state, body, version, _current_request_id(record))
    record.event = patched_event(
        record.event, body, calendar_email=record.calendar_id, now=utcnow(), conference=conference
    )
    await state.faults.answer("calendar.events.patch", fault)
    return as_pending(record.event) if conference else record.event


@router.put("/calendars/{calendar_id}/events/{event_id}")
async def update_event(
    calendar_id: str,
    event_id: str,
    request: Request,
    state: StateDep,
    version: ConferenceVersion = 0,
) -> Json:
    token, fault = await _enter(request, state, "calendar.events.update")
    body = await google_json_object(request)
    record = _record(state, _calendar(calendar_id, token), event_id)
    _check_if_match(request, record)
    conference = _conference(state, body, version, _current_request_id(record))
    record.event = replaced_event(
        record.event,
        body,
        calendar_email=record.calendar_id,
        now=utcnow(),
        version=version,
        conference=conference,
    )
    await state.faults.answer("calendar.events.update", fault)
    return as_pending(record.event) if conference else record.event


def _current_request_id(record: EventRecord) -> str | None:
    request_id = record.event.get("conferenceData", {}).get("createRequest", {}).get("requestId")
    return str(request_id) if request_id else None


@router.delete("/calendars/{calendar_id}/events/{event_id}", status_code=204)
async def delete_event(
    calendar_id: str, event_id: str, request: Request, state: StateDep
) -> Response:
    """The event becomes "cancelled"; deleting it again is 410, as in Google."""
    token, _ = await _enter(request, state, "calendar.events.delete")
    record = _record(state, _calendar(calendar_id, token), event_id)
    _check_if_match(request, record)
    if record.event["status"] == "cancelled":
        raise google_error(410, "deleted", "Resource has been deleted")
    record.event = cancelled_event(record.event, utcnow())
    return Response(status_code=204)
