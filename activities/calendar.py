"""Google Calendar activities: the session's event with its Meet room, idempotent by event id.

The event carries the order's schedule revision in `extendedProperties.private.orderRevision`
("0" when booked). A move writes its revision with `If-Match` on the etag it read, and does
nothing if the event already has that revision or a newer one: a stale move, retried late or
overtaken by a newer one, cannot put the session back at an old time.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from googleapiclient.errors import HttpError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.blocking import in_thread
from mentoring.google_services import GoogleServices

HEARTBEAT_EVERY_S = 5.0
# Google makes the Meet room within a second or two: look soon, then less often.
MEET_POLL_INTERVALS_S = (0.1, 0.2, 0.4, 0.8, *(1.0,) * 9)
ORDER_REVISION = "orderRevision"
# Google's answers that a retry may change: gone (done), conflict, precondition (re-read), rate.
GONE = (404, 410)
RETRIED_CLIENT_ERRORS = (*GONE, 409, 412, 429)


@dataclass
class BookSessionInput:
    order_id: str
    calendar_id: str
    event_id: str
    summary: str
    description: str
    start_time: datetime
    end_time: datetime
    timezone: str
    attendee_emails: list[str]
    reminder_minutes: list[int]


@dataclass
class BookedSession:
    event_id: str
    meet_url: str
    html_link: str | None


@dataclass
class CancelSessionInput:
    calendar_id: str
    event_id: str


@dataclass
class MoveSessionInput:
    calendar_id: str
    event_id: str
    start_time: datetime
    end_time: datetime
    timezone: str
    revision: int = 0
    """The order's schedule revision this move brings (1 for the first move, and so on); 0, as
    from a caller that does not know it, moves without comparing revisions."""


def _status_of(error: HttpError) -> int:
    return int(error.resp.status)


def _revision_of(event: dict[str, Any]) -> int:
    """The event's orderRevision; an event booked before revisions were written counts as 0."""
    private = (event.get("extendedProperties") or {}).get("private") or {}
    try:
        return int(private.get(ORDER_REVISION, 0))
    except (TypeError, ValueError):
        return 0


def _refused(error: HttpError, what: str) -> ApplicationError | None:
    """A refusal that retrying will not change (a 4xx other than gone, conflict, precondition
    failed or rate limited), as a non-retryable error; None for the others."""
    status = _status_of(error)
    if 400 <= status < 500 and status not in RETRIED_CLIENT_ERRORS:
        return ApplicationError(
            f"Google Calendar refused {what}: {error}", type="CalendarRejected", non_retryable=True
        )
    return None


def _conference_state(event: dict[str, Any]) -> tuple[str, str | None]:
    conference = event.get("conferenceData") or {}
    status = conference.get("createRequest", {}).get("status", {}).get("statusCode", "success")
    link = event.get("hangoutLink")
    for entry in conference.get("entryPoints", []):
        if entry.get("entryPointType") == "video":
            link = link or entry.get("uri")
    return str(status), link


async def _heartbeat_every(seconds: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(seconds)


class CalendarActivities:
    def __init__(self, google: GoogleServices) -> None:
        self._google = google

    def _event_body(self, request: BookSessionInput) -> dict[str, Any]:
        return {
            "id": request.event_id,
            "summary": request.summary,
            "description": request.description,
            "start": {"dateTime": request.start_time.isoformat(), "timeZone": request.timezone},
            "end": {"dateTime": request.end_time.isoformat(), "timeZone": request.timezone},
            "attendees": [{"email": email} for email in request.attendee_emails],
            "reminders": {
                "useDefault": False,
                "overrides": [
                    {"method": method, "minutes": minutes}
                    for minutes in request.reminder_minutes
                    for method in ("email", "popup")
                ],
            },
            "conferenceData": {
                "createRequest": {
                    "requestId": f"meet-{request.order_id}",
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            },
            "guestsCanModify": False,
            "extendedProperties": {"private": {ORDER_REVISION: "0"}},
        }

    def _insert_or_get(self, request: BookSessionInput) -> dict[str, Any]:
        events = self._google.calendar().events()
        try:
            event: dict[str, Any] = events.insert(
                calendarId=request.calendar_id,
                body=self._event_body(request),
                conferenceDataVersion=1,
                sendUpdates="all",
            ).execute()
            return event
        except HttpError as error:
            if _status_of(error) != 409:
                raise
            existing: dict[str, Any] = events.get(
                calendarId=request.calendar_id, eventId=request.event_id
            ).execute()
            return existing

    def _get(self, request: BookSessionInput) -> dict[str, Any]:
        event: dict[str, Any] = (
            self._google.calendar()
            .events()
            .get(calendarId=request.calendar_id, eventId=request.event_id)
            .execute()
        )
        return event

    async def _book(self, request: BookSessionInput) -> BookedSession:
        # The Google calls block, so they run in threads; the heartbeats and the waits stay on
        # the event loop (an async activity may only heartbeat from there), and go on while a
        # slow call is under way.
        beating = asyncio.create_task(_heartbeat_every(HEARTBEAT_EVERY_S))
        try:
            return await self._insert_and_wait_for_meet(request)
        finally:
            beating.cancel()

    async def _insert_and_wait_for_meet(self, request: BookSessionInput) -> BookedSession:
        event = await in_thread(self._insert_or_get, request)
        for interval in MEET_POLL_INTERVALS_S:
            status, link = _conference_state(event)
            if status == "success" and link:
                return BookedSession(request.event_id, link, event.get("htmlLink"))
            if status == "failure":
                raise ApplicationError(
                    "Google could not create the Meet room", type="MeetFailed", non_retryable=True
                )
            await asyncio.sleep(interval)
            event = await in_thread(self._get, request)
        raise ApplicationError("the Meet room is still pending", type="MeetPending")

    @activity.defn
    async def book_session(self, request: BookSessionInput) -> BookedSession:
        """Insert the event (its id derived from the order id; a retry finds it), wait for Meet."""
        try:
            return await self._book(request)
        except HttpError as error:
            status = _status_of(error)
            if 400 <= status < 500 and status not in (404, 409, 429):
                raise ApplicationError(
                    f"Google Calendar refused the event: {error}",
                    type="CalendarRejected",
                    non_retryable=True,
                ) from error
            raise

    def _cancel(self, request: CancelSessionInput) -> None:
        try:
            self._google.calendar().events().delete(
                calendarId=request.calendar_id, eventId=request.event_id, sendUpdates="all"
            ).execute()
        except HttpError as error:
            if _status_of(error) not in GONE:
                raise

    @activity.defn
    async def cancel_session(self, request: CancelSessionInput) -> None:
        """Delete the event; an event already gone counts as done. A refusal (a 4xx other than
        409 or 429) ends the activity (`CalendarRejected`); outages are retried."""
        try:
            await in_thread(self._cancel, request)
        except HttpError as error:
            refused = _refused(error, "the cancellation")
            if refused is not None:
                raise refused from error
            raise

    def _move(self, request: MoveSessionInput) -> None:
        events = self._google.calendar().events()
        try:
            event: dict[str, Any] = events.get(
                calendarId=request.calendar_id, eventId=request.event_id
            ).execute()
        except HttpError as error:
            if _status_of(error) in GONE:
                return
            raise
        if request.revision > 0 and _revision_of(event) >= request.revision:
            return  # this move, or a newer one, has landed
        body: dict[str, Any] = {
            "start": {"dateTime": request.start_time.isoformat(), "timeZone": request.timezone},
            "end": {"dateTime": request.end_time.isoformat(), "timeZone": request.timezone},
        }
        if request.revision > 0:
            body["extendedProperties"] = {"private": {ORDER_REVISION: str(request.revision)}}
        patch = events.patch(
            calendarId=request.calendar_id,
            eventId=request.event_id,
            body=body,
            sendUpdates="all",
        )
        patch.headers["If-Match"] = event["etag"]
        try:
            patch.execute()
        except HttpError as error:
            status = _status_of(error)
            if status in GONE:
                return
            if status == 412:
                raise ApplicationError(
                    "the event changed since it was read; the retry reads it again",
                    type="CalendarEventChanged",
                ) from error
            raise

    @activity.defn
    async def move_session(self, request: MoveSessionInput) -> None:
        """Patch the event to the new time and revision, unless it has that revision or a newer
        one; the patch applies only to the version read (`If-Match`), else it is retried. An
        event gone counts as done; a refusal ends the activity (`CalendarRejected`)."""
        try:
            await in_thread(self._move, request)
        except HttpError as error:
            refused = _refused(error, "the move")
            if refused is not None:
                raise refused from error
            raise
