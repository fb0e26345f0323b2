"""Google Calendar v3 `freebusy.query`: `POST /calendar/v3/freeBusy`.

Request (FreeBusyRequest): `{"timeMin", "timeMax", "timeZone"?, "groupExpansionMax"?,
"calendarExpansionMax"?, "items": [{"id"}]}`. Answer (FreeBusyResponse):
`{"kind": "calendar#freeBusy", "timeMin", "timeMax", "calendars": {"<id>": {"busy": [{"start",
"end"}]}}}`, keyed by the ids as asked ("primary" stays "primary").

A calendar's busy time is every event the emulator holds on it that is not cancelled and not
`transparency: "transparent"`, clipped to [timeMin, timeMax); overlapping or touching periods
are merged into one, earliest first. Times are written in the request's `timeZone` (UTC, with
`Z`, by default); the answer's timeMin and timeMax are UTC with milliseconds, as Google's.

Every calendar is known, and answered (empty when it holds no event), as in a Workspace whose
calendars are all visible to the service, except an id in the reserved `.invalid` domain
(`ghost@calendar.invalid`), which stands for a calendar the caller cannot see: it gets Google's
per-calendar `"errors": [{"domain": "global", "reason": "notFound"}]` (with `"busy": []`); the
query as a whole still succeeds.

Not emulated: groups (no id is a group), recurring events' later instances (only the event's
own start and end count), and attendees' calendars (an event is on its organizer's calendar
only, as the emulator stores it).
"""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request

from emulator.calendar_events import Json
from emulator.clock import iso_millis
from emulator.deps import StateDep
from emulator.errors import ProviderError, google_error, google_json_object
from emulator.oauth import FREEBUSY_SCOPES, authorize
from emulator.state import EmulatorState

router = APIRouter(prefix="/calendar/v3", tags=["google-calendar"])

OPERATION = "calendar.freebusy.query"
MAX_CALENDARS = 50
"""Google's limit on calendars answered per query (calendarExpansionMax's maximum)."""
Period = tuple[datetime, datetime]


def _bad_request() -> ProviderError:
    """What Google answers a freeBusy body it cannot read (e.g. a time without an offset)."""
    return google_error(400, "badRequest", "Bad Request")


def _bound(body: Json, name: str) -> datetime:
    """timeMin or timeMax: required, RFC 3339 with an offset."""
    value = body.get(name)
    if value is None or value == "":
        raise google_error(400, "required", f"Missing {name} parameter.")
    if not isinstance(value, str):
        raise _bad_request()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise _bad_request() from error
    if moment.tzinfo is None:
        raise _bad_request()
    return moment.astimezone(UTC)


def _zone(name: Any) -> ZoneInfo | None:
    """The IANA zone called `name`, or None if there is none."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _response_zone(body: Json) -> ZoneInfo:
    name = body.get("timeZone")
    if name is None:
        return ZoneInfo("UTC")
    zone = _zone(name)
    if zone is None:
        raise _bad_request()
    return zone


def _calendar_limit(body: Json) -> int:
    for name in ("calendarExpansionMax", "groupExpansionMax"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise _bad_request()
    asked = body.get("calendarExpansionMax")
    return min(asked, MAX_CALENDARS) if isinstance(asked, int) and asked > 0 else MAX_CALENDARS


def _item_ids(body: Json) -> list[str]:
    items = body.get("items", [])
    if not isinstance(items, list):
        raise _bad_request()
    ids: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise google_error(400, "required", "Missing id parameter.")
        if item["id"] not in ids:
            ids.append(item["id"])
    return ids


def _instant(value: Any) -> datetime | None:
    """An event's `start` or `end` as an instant: a naive dateTime, or an all-day date (its
    midnight), is read in the field's own `timeZone`, else UTC."""
    if not isinstance(value, dict):
        return None
    text = value.get("dateTime") or value.get("date")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(value.get("timeZone")) or UTC)
    return moment.astimezone(UTC)


def _blocks_time(event: Json) -> bool:
    return event.get("status") != "cancelled" and event.get("transparency") != "transparent"


def busy_periods(state: EmulatorState, calendar: str, window: Period) -> list[Period]:
    """The calendar's busy time within `window`, clipped, merged and sorted."""
    low, high = window
    periods: list[Period] = []
    for record in state.events.values():
        if record.calendar_id != calendar or not _blocks_time(record.event):
            continue
        start, end = _instant(record.event.get("start")), _instant(record.event.get("end"))
        if start is None or end is None:
            continue
        start, end = max(start, low), min(end, high)
        if start < end:
            periods.append((start, end))
    merged: list[Period] = []
    for start, end in sorted(periods):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _written(moment: datetime, zone: ZoneInfo) -> str:
    """`2030-05-01T03:00:00Z` in UTC, else `2030-05-01T10:00:00+07:00`."""
    if zone.key == "UTC":
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(zone).isoformat(timespec="seconds")


HIDDEN_DOMAIN_SUFFIX = ".invalid"


def _known(calendar: str, principal: str) -> bool:
    if calendar == principal:
        return True
    return not calendar.lower().endswith(HIDDEN_DOMAIN_SUFFIX)


def _error_entry(reason: str) -> Json:
    return {"errors": [{"domain": "global", "reason": reason}], "busy": []}


@router.post("/freeBusy")
async def query_free_busy(request: Request, state: StateDep) -> Json:
    token = authorize(request, state, FREEBUSY_SCOPES)
    await state.faults.enter(OPERATION)
    body = await google_json_object(request)
    low, high = _bound(body, "timeMin"), _bound(body, "timeMax")
    if high <= low:
        raise google_error(
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
            domain="calendar",
            locationType="parameter",
            location="timeMax",
        )
    zone = _response_zone(body)
    limit = _calendar_limit(body)
    calendars: dict[str, Json] = {}
    for index, item_id in enumerate(_item_ids(body)):
        calendar = token.principal if item_id == "primary" else item_id
        if index >= limit:
            calendars[item_id] = _error_entry("tooManyCalendarsRequested")
        elif not _known(calendar, token.principal):
            calendars[item_id] = _error_entry("notFound")
        else:
            periods = busy_periods(state, calendar, (low, high))
            calendars[item_id] = {
                "busy": [{"start": _written(s, zone), "end": _written(e, zone)} for s, e in periods]
            }
    return {
        "kind": "calendar#freeBusy",
        "timeMin": iso_millis(low),
        "timeMax": iso_millis(high),
        "calendars": calendars,
    }
