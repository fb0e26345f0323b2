"""The calendar activities against the emulator: a stale move cannot win over a newer one,
a move that lost a race with another change is retried, and refusals end the activity."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.calendar import (
    BookSessionInput,
    CalendarActivities,
    CancelSessionInput,
    MoveSessionInput,
)
from mentoring.google_services import GoogleServices
from mentoring.settings import Settings
from tests.activities.conftest import add_fault
from tests.support import wait_until

EVENT_ID = "order0a1b2c3d4e5f60718293a4b5c6d7e8f9"
START = datetime(2030, 5, 1, 3, 0, tzinfo=UTC)
TIMEZONE = "Asia/Jakarta"


@pytest.fixture
def google(settings: Settings) -> GoogleServices:
    return GoogleServices(settings)


@pytest.fixture
def calendar(google: GoogleServices) -> CalendarActivities:
    return CalendarActivities(google)


def _booking(event_id: str = EVENT_ID) -> BookSessionInput:
    return BookSessionInput(
        order_id="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        calendar_id="primary",
        event_id=event_id,
        summary="Mentoring: Career switch",
        description="Budi with Ayu",
        start_time=START,
        end_time=START + timedelta(hours=1),
        timezone=TIMEZONE,
        attendee_emails=["ayu@example.com", "budi@example.com"],
        reminder_minutes=[60],
    )


def _move(hours_later: int, revision: int, event_id: str = EVENT_ID) -> MoveSessionInput:
    start = START + timedelta(hours=hours_later)
    return MoveSessionInput(
        calendar_id="primary",
        event_id=event_id,
        start_time=start,
        end_time=start + timedelta(hours=1),
        timezone=TIMEZONE,
        revision=revision,
    )


def _event(sandbox: httpx.Client, event_id: str = EVENT_ID) -> dict[str, Any]:
    [event] = [e for e in sandbox.get("/sandbox/calendar/events").json() if e["id"] == event_id]
    return dict(event)


def _starts_at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["start"]["dateTime"])


def _revision(event: dict[str, Any]) -> str:
    return str(event["extendedProperties"]["private"]["orderRevision"])


def _calls(sandbox: httpx.Client) -> dict[str, int]:
    calls: dict[str, int] = sandbox.get("/sandbox/calls").json()
    return calls


async def test_booking_writes_revision_zero(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client
) -> None:
    booked = await env.run(calendar.book_session, _booking())

    event = _event(sandbox)
    assert booked.event_id == EVENT_ID and booked.meet_url.startswith("https://meet.google.com/")
    assert _revision(event) == "0" and _starts_at(event) == START


async def test_a_stale_move_after_a_newer_one_changes_nothing(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client
) -> None:
    await env.run(calendar.book_session, _booking())

    await env.run(calendar.move_session, _move(hours_later=48, revision=2))
    newer = _event(sandbox)
    await env.run(calendar.move_session, _move(hours_later=24, revision=1))
    await env.run(calendar.move_session, _move(hours_later=48, revision=2))  # a retry

    event = _event(sandbox)
    assert _starts_at(event) == START + timedelta(hours=48) and _revision(event) == "2"
    assert event["etag"] == newer["etag"] and event["sequence"] == 1
    assert _calls(sandbox)["calendar.events.patch"] == 1


async def test_moves_in_order_each_land(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client
) -> None:
    await env.run(calendar.book_session, _booking())

    await env.run(calendar.move_session, _move(hours_later=24, revision=1))
    await env.run(calendar.move_session, _move(hours_later=48, revision=2))

    event = _event(sandbox)
    assert _starts_at(event) == START + timedelta(hours=48) and _revision(event) == "2"
    assert event["hangoutLink"].startswith("https://meet.google.com/")


async def test_a_move_without_a_revision_still_moves(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client
) -> None:
    await env.run(calendar.book_session, _booking())

    await env.run(calendar.move_session, _move(hours_later=24, revision=0))

    event = _event(sandbox)
    assert _starts_at(event) == START + timedelta(hours=24) and _revision(event) == "0"


async def test_a_change_between_read_and_patch_is_412_then_the_retry_applies(
    env: ActivityEnvironment,
    calendar: CalendarActivities,
    google: GoogleServices,
    sandbox: httpx.Client,
) -> None:
    await env.run(calendar.book_session, _booking())
    # The activity's patch is slow to reach Calendar; meanwhile someone else changes the event.
    add_fault(sandbox, operation="calendar.events.patch", delay_seconds=0.5)
    moving = asyncio.create_task(env.run(calendar.move_session, _move(24, revision=1)))
    await _patch_arrived(sandbox)
    await asyncio.to_thread(_rename, google)

    with pytest.raises(ApplicationError) as caught:
        await moving
    stale = _event(sandbox)
    await env.run(calendar.move_session, _move(24, revision=1))

    assert caught.value.type == "CalendarEventChanged" and not caught.value.non_retryable
    assert isinstance(caught.value.__cause__, HttpError)
    assert caught.value.__cause__.resp.status == 412
    assert _starts_at(stale) == START and stale["summary"] == "renamed by the mentor"
    event = _event(sandbox)
    assert _starts_at(event) == START + timedelta(hours=24) and _revision(event) == "1"
    assert event["summary"] == "renamed by the mentor"


async def _patch_arrived(sandbox: httpx.Client) -> None:
    async def arrived() -> bool:
        return _calls(sandbox)["calendar.events.patch"] > 0

    await wait_until(arrived, "the patch to reach Google")


def _rename(google: GoogleServices) -> None:
    google.calendar().events().patch(
        calendarId="primary", eventId=EVENT_ID, body={"summary": "renamed by the mentor"}
    ).execute()


async def test_moving_or_cancelling_an_event_that_is_gone_is_done(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client
) -> None:
    unknown = "unknown0event0id"
    await env.run(calendar.move_session, _move(24, revision=1, event_id=unknown))
    await env.run(calendar.cancel_session, CancelSessionInput("primary", unknown))
    await env.run(calendar.book_session, _booking())
    await env.run(calendar.cancel_session, CancelSessionInput("primary", EVENT_ID))
    await env.run(calendar.cancel_session, CancelSessionInput("primary", EVENT_ID))  # 410

    assert _event(sandbox)["status"] == "cancelled"


@pytest.mark.parametrize("status", [400, 403])
async def test_a_refused_move_or_cancel_is_not_retried(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client, status: int
) -> None:
    await env.run(calendar.book_session, _booking())
    add_fault(sandbox, operation="calendar.events.patch", status=status)
    add_fault(sandbox, operation="calendar.events.delete", status=status)

    with pytest.raises(ApplicationError) as move:
        await env.run(calendar.move_session, _move(24, revision=1))
    with pytest.raises(ApplicationError) as cancel:
        await env.run(calendar.cancel_session, CancelSessionInput("primary", EVENT_ID))

    for caught in (move, cancel):
        assert caught.value.type == "CalendarRejected" and caught.value.non_retryable
    assert _event(sandbox)["status"] == "confirmed"


@pytest.mark.parametrize("status", [409, 429, 500, 503])
async def test_outages_and_rate_limits_are_retried(
    env: ActivityEnvironment, calendar: CalendarActivities, sandbox: httpx.Client, status: int
) -> None:
    await env.run(calendar.book_session, _booking())
    add_fault(sandbox, operation="calendar.events.get", status=status)
    add_fault(sandbox, operation="calendar.events.delete", status=status)

    with pytest.raises(HttpError) as move:
        await env.run(calendar.move_session, _move(24, revision=1))
    with pytest.raises(HttpError) as cancel:
        await env.run(calendar.cancel_session, CancelSessionInput("primary", EVENT_ID))
    await env.run(calendar.move_session, _move(24, revision=1))
    await env.run(calendar.cancel_session, CancelSessionInput("primary", EVENT_ID))

    assert move.value.resp.status == cancel.value.resp.status == status
    event = _event(sandbox)
    assert _starts_at(event) == START + timedelta(hours=24) and event["status"] == "cancelled"
