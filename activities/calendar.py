"""Google Calendar activities: the session's event with its Meet room, idempotent by event id."""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from googleapiclient.errors import HttpError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.blocking import in_thread
from activities.google_services import GoogleServices

HEARTBEAT_EVERY_S = 5.0
# Google makes the Meet room within a second or two: look soon, then less often.
MEET_POLL_INTERVALS_S = (0.1, 0.2, 0.4, 0.8, *(1.0,) * 9)


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


def _status_of(error: HttpError) -> int:
    return int(error.resp.status)


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
            if _status_of(error) not in (404, 410):
                raise

    @activity.defn
    async def cancel_session(self, request: CancelSessionInput) -> None:
        """Delete the event; an event already gone counts as done."""
        await in_thread(self._cancel, request)

    def _move(self, request: MoveSessionInput) -> None:
        self._google.calendar().events().patch(
            calendarId=request.calendar_id,
            eventId=request.event_id,
            body={
                "start": {"dateTime": request.start_time.isoformat(), "timeZone": request.timezone},
                "end": {"dateTime": request.end_time.isoformat(), "timeZone": request.timezone},
            },
            sendUpdates="all",
        ).execute()

    @activity.defn
    async def move_session(self, request: MoveSessionInput) -> None:
        """Patch the same event to its new time (a patch to the same time is a no-op)."""
        await in_thread(self._move, request)
