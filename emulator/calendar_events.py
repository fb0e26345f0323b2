"""Calendar events as Google Calendar v3 writes them: validation, building, patching, Meet.

The Meet room of an insert with `conferenceDataVersion=1` and a `createRequest` is decided at
insert time but shown as "pending" in the insert's answer, as Google does; every later read
sees the outcome ("success" with the room, or "failure").
"""

import copy
import re
from datetime import datetime
from typing import Any, Literal

from emulator.clock import iso_millis, parse_instant
from emulator.errors import google_error
from emulator.ids import etag, html_link_eid, meet_code

Json = dict[str, Any]
MeetOutcome = Literal["success", "failure"]

EVENT_ID = re.compile(r"^[0-9a-v]{5,1024}$")
HTML_LINK = "https://www.google.com/calendar/event?eid="
MEET_SOLUTION = "hangoutsMeet"
MEET_ICON = (
    "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
    "logo_meet_2020q4_color_2x_web_512dp.png"
)
# What a client may not set: Google computes these.
READ_ONLY = (
    "kind",
    "etag",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "organizer",
    "hangoutLink",
)


def check_event_id(event_id: str) -> None:
    """Google's rule: base32hex characters (0-9, a-v), 5 to 1024 of them."""
    if not EVENT_ID.match(event_id):
        raise google_error(400, "invalid", "Invalid resource id value.")


def _instant(event: Json, which: str) -> tuple[datetime | None, str | None]:
    """(the dateTime, the date) of `start` or `end`."""
    value = event.get(which)
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        raise google_error(400, "required", f"Missing {which} time.")
    if value.get("dateTime"):
        try:
            moment = datetime.fromisoformat(str(value["dateTime"]))
        except ValueError as error:
            raise google_error(400, "invalid", f"Invalid {which} time.") from error
        if moment.tzinfo is None and not value.get("timeZone"):
            raise google_error(
                400, "timeZoneRequired", f"Missing time zone definition for {which} time."
            )
        return parse_instant(str(value["dateTime"])), None
    return None, str(value["date"])


def check_times(event: Json) -> None:
    start, start_date = _instant(event, "start")
    end, end_date = _instant(event, "end")
    if (start is None) != (end is None):
        raise google_error(
            400, "invalid", "Start and end times must either both be date or both be dateTime."
        )
    empty = end < start if start and end else str(end_date) < str(start_date)
    if empty:
        raise google_error(400, "timeRangeEmpty", "The specified time range is empty.")


def _attendees(attendees: Any, organizer_email: str) -> list[Json]:
    if not isinstance(attendees, list):
        raise google_error(400, "invalid", "Invalid attendees value.")
    result = []
    for attendee in attendees:
        if not isinstance(attendee, dict) or not attendee.get("email"):
            raise google_error(400, "required", "Missing attendee email.")
        entry = {**attendee}
        if str(entry["email"]).lower() == organizer_email.lower():
            entry.update(organizer=True, self=True)
            entry.setdefault("responseStatus", "accepted")
        entry.setdefault("responseStatus", "needsAction")
        result.append(entry)
    return result


def conference_request(conference_data: Any) -> Json | None:
    """The `createRequest` to act on, checked as Google checks it, or None."""
    if not isinstance(conference_data, dict) or "createRequest" not in conference_data:
        return None
    request = conference_data["createRequest"]
    if not isinstance(request, dict) or not request.get("requestId"):
        raise google_error(400, "invalid", "Invalid conference create request.")
    key = request.get("conferenceSolutionKey") or {}
    if key.get("type") != MEET_SOLUTION:
        raise google_error(400, "invalid", "Invalid conference type value.")
    return request


def _create_request(request: Json, status: str) -> Json:
    return {
        "requestId": request["requestId"],
        "conferenceSolutionKey": {"type": MEET_SOLUTION},
        "status": {"statusCode": status},
    }


def resolved_conference(request: Json, outcome: MeetOutcome) -> tuple[Json, str | None]:
    """(conferenceData, hangoutLink) once Google has created the room, or failed to."""
    if outcome == "failure":
        return {"createRequest": _create_request(request, "failure")}, None
    code = meet_code()
    link = f"https://meet.google.com/{code}"
    data = {
        "createRequest": _create_request(request, "success"),
        "entryPoints": [
            {"entryPointType": "video", "uri": link, "label": link.removeprefix("https://")}
        ],
        "conferenceSolution": {
            "key": {"type": MEET_SOLUTION},
            "name": "Google Meet",
            "iconUri": MEET_ICON,
        },
        "conferenceId": code,
    }
    return data, link


def as_pending(event: Json) -> Json:
    """The event as the answer to the write that asked for its Meet room shows it."""
    shown = copy.deepcopy(event)
    request = shown["conferenceData"]["createRequest"]
    shown["conferenceData"] = {"createRequest": _create_request(request, "pending")}
    shown.pop("hangoutLink", None)
    return shown


def _ordered(event: Json) -> Json:
    """Google's field order, then whatever else the client set."""
    order = (
        "kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary",
        "description", "location", "creator", "organizer", "start", "end", "iCalUID",
        "sequence", "attendees", "hangoutLink", "conferenceData", "guestsCanModify",
        "reminders", "eventType",
    )  # fmt: skip
    first = {key: event[key] for key in order if key in event}
    return first | {key: value for key, value in event.items() if key not in first}


def new_event(
    body: Json,
    *,
    event_id: str,
    calendar_email: str,
    principal: str,
    now: datetime,
    conference: tuple[Json, str | None] | None,
) -> Json:
    """The stored event for an insert of `body` (conferenceData already dealt with)."""
    event = {key: copy.deepcopy(value) for key, value in body.items() if key not in READ_ONLY}
    event.pop("conferenceData", None)
    check_times(event)
    stamp = iso_millis(now)
    organizer: Json = {"email": calendar_email}
    if calendar_email == principal:
        organizer["self"] = True
    event.update(
        kind="calendar#event",
        etag=etag(),
        id=event_id,
        status="confirmed",
        htmlLink=f"{HTML_LINK}{html_link_eid(event_id, calendar_email)}",
        created=stamp,
        updated=stamp,
        creator={"email": principal},
        organizer=organizer,
        sequence=int(body.get("sequence") or 0),
        reminders=body.get("reminders") or {"useDefault": True},
        eventType=body.get("eventType") or "default",
    )
    event.setdefault("iCalUID", f"{event_id}@google.com")
    if "attendees" in body:
        event["attendees"] = _attendees(body["attendees"], calendar_email)
    if conference is not None:
        event["conferenceData"], link = conference
        if link:
            event["hangoutLink"] = link
    return _ordered(event)


def _merge(target: Json, patch: Json) -> None:
    """Patch semantics: objects merge, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def patched_event(
    event: Json,
    patch: Json,
    *,
    calendar_email: str,
    now: datetime,
    conference: tuple[Json, str | None] | None,
) -> Json:
    """The stored event after a patch (conferenceData already dealt with)."""
    changes = {
        key: value
        for key, value in patch.items()
        if key not in (*READ_ONLY, "id", "iCalUID", "sequence", "conferenceData")
    }
    updated = copy.deepcopy(event)
    _merge(updated, changes)
    check_times(updated)
    if "attendees" in changes and changes["attendees"] is not None:
        updated["attendees"] = _attendees(changes["attendees"], calendar_email)
    if conference is not None:
        updated["conferenceData"], link = conference
        updated.pop("hangoutLink", None)
        if link:
            updated["hangoutLink"] = link
    updated.update(etag=etag(), updated=iso_millis(now), sequence=int(event["sequence"]) + 1)
    return _ordered(updated)


def replaced_event(
    event: Json,
    body: Json,
    *,
    calendar_email: str,
    now: datetime,
    version: int,
    conference: tuple[Json, str | None] | None,
) -> Json:
    """The stored event after an update (PUT) with `body`: every field the client may write is
    the body's, the others (id, creator, created, ...) stay. The Meet room stays unless
    conferenceDataVersion=1 and the body drops it (or asks for a new one)."""
    kept = (*READ_ONLY, "id", "iCalUID", "sequence", "conferenceData")
    replaced = {key: copy.deepcopy(value) for key, value in event.items() if key in kept}
    replaced.update({key: copy.deepcopy(value) for key, value in body.items() if key not in kept})
    replaced.setdefault("status", "confirmed")
    replaced["reminders"] = body.get("reminders") or {"useDefault": True}
    replaced["eventType"] = body.get("eventType") or event.get("eventType", "default")
    check_times(replaced)
    if "attendees" in body:
        replaced["attendees"] = _attendees(body["attendees"], calendar_email)
    if conference is not None:
        replaced["conferenceData"], link = conference
        replaced.pop("hangoutLink", None)
        if link:
            replaced["hangoutLink"] = link
    elif version == 1 and "conferenceData" not in body:
        replaced.pop("conferenceData", None)
        replaced.pop("hangoutLink", None)
    replaced.update(etag=etag(), updated=iso_millis(now), sequence=int(event["sequence"]) + 1)
    return _ordered(replaced)


def cancelled_event(event: Json, now: datetime) -> Json:
    cancelled = copy.deepcopy(event)
    cancelled.update(status="cancelled", etag=etag(), updated=iso_millis(now))
    return cancelled
