"""Calendar's freebusy.query through googleapiclient, and the sandbox's busy blocks.

The shared `calendar` client's credentials carry calendar.events only, which freeBusy refuses;
the clients here are built the same way with the scopes each test needs.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

from tests.emulator.conftest import ORGANIZER, calendar_client

EVENTS = "https://www.googleapis.com/auth/calendar.events"
FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"
MENTOR = "ayu.mentor@example.com"
OTHER_MENTOR = "budi.mentor@example.com"
DAY_START, DAY_END = "2030-05-01T00:00:00Z", "2030-05-02T00:00:00Z"
Client = Callable[..., Any]


@pytest.fixture(scope="session")
def client_with(emulator_url: str, key_file: Path) -> Client:
    """A Calendar client whose service-account credentials ask for `scopes` (as the service
    builds it: AuthorizedHttp, api_endpoint `<emulator>/calendar/v3/`), acting as ORGANIZER."""

    def make(*scopes: str) -> Any:
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(key_file), scopes=list(scopes), subject=ORGANIZER
        )
        return calendar_client(emulator_url, credentials)

    return make


@pytest.fixture(scope="session")
def service(client_with: Client) -> Any:
    """The scopes the service asks for: calendar.events and calendar.freebusy."""
    return client_with(EVENTS, FREEBUSY)


def _query(client: Any, *ids: str, **body: Any) -> dict[str, Any]:
    request = {"timeMin": DAY_START, "timeMax": DAY_END, "items": [{"id": i} for i in ids]}
    request.update(body)
    answer: dict[str, Any] = client.freebusy().query(body=request).execute()
    return answer


def _busy(client: Any, calendar_id: str, **body: Any) -> list[dict[str, str]]:
    busy: list[dict[str, str]] = _query(client, calendar_id, **body)["calendars"][calendar_id][
        "busy"
    ]
    return busy


def _block(sandbox: httpx.Client, calendar_id: str, start: str, end: str) -> dict[str, Any]:
    response = sandbox.post(
        f"/sandbox/calendar/{calendar_id}/busy", json={"start": start, "end": end}
    )
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event


def _insert(client: Any, start: str, end: str, **fields: Any) -> dict[str, Any]:
    body = {"summary": "Mentoring", "start": {"dateTime": start}, "end": {"dateTime": end}}
    event: dict[str, Any] = (
        client.events().insert(calendarId="primary", body={**body, **fields}).execute()
    )
    return event


def _error(caught: pytest.ExceptionInfo[HttpError]) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(caught.value.content)["error"]
    return error


def test_two_calendars_in_one_query(service: Any, sandbox: httpx.Client) -> None:
    _block(sandbox, MENTOR, "2030-05-01T09:00:00+07:00", "2030-05-01T10:30:00+07:00")
    _insert(service, "2030-05-01T05:00:00Z", "2030-05-01T06:00:00Z")

    answer = _query(service, MENTOR, "primary")

    assert answer == {
        "kind": "calendar#freeBusy",
        "timeMin": "2030-05-01T00:00:00.000Z",
        "timeMax": "2030-05-02T00:00:00.000Z",
        "calendars": {
            MENTOR: {"busy": [{"start": "2030-05-01T02:00:00Z", "end": "2030-05-01T03:30:00Z"}]},
            "primary": {"busy": [{"start": "2030-05-01T05:00:00Z", "end": "2030-05-01T06:00:00Z"}]},
        },
    }


def test_overlapping_and_touching_events_merge_sorted(service: Any, sandbox: httpx.Client) -> None:
    _block(sandbox, MENTOR, "2030-05-01T15:00:00Z", "2030-05-01T16:00:00Z")
    _block(sandbox, MENTOR, "2030-05-01T09:30:00Z", "2030-05-01T11:00:00Z")
    _block(sandbox, MENTOR, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z")
    _block(sandbox, MENTOR, "2030-05-01T11:00:00Z", "2030-05-01T11:30:00Z")
    _block(sandbox, MENTOR, "2030-05-01T09:45:00Z", "2030-05-01T10:15:00Z")

    assert _busy(service, MENTOR) == [
        {"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T11:30:00Z"},
        {"start": "2030-05-01T15:00:00Z", "end": "2030-05-01T16:00:00Z"},
    ]


def test_events_are_clipped_to_the_window(service: Any, sandbox: httpx.Client) -> None:
    _block(sandbox, MENTOR, "2030-04-30T22:00:00Z", "2030-05-01T01:00:00Z")
    _block(sandbox, MENTOR, "2030-05-01T23:00:00Z", "2030-05-02T02:00:00Z")
    _block(sandbox, MENTOR, "2030-04-30T10:00:00Z", "2030-05-01T00:00:00Z")  # ends at timeMin
    _block(sandbox, MENTOR, "2030-05-02T00:00:00Z", "2030-05-02T01:00:00Z")  # starts at timeMax

    assert _busy(service, MENTOR) == [
        {"start": "2030-05-01T00:00:00Z", "end": "2030-05-01T01:00:00Z"},
        {"start": "2030-05-01T23:00:00Z", "end": "2030-05-02T00:00:00Z"},
    ]


def test_cancelled_and_transparent_events_are_free(service: Any) -> None:
    cancelled = _insert(service, "2030-05-01T08:00:00Z", "2030-05-01T09:00:00Z")
    service.events().delete(calendarId="primary", eventId=cancelled["id"]).execute()
    _insert(service, "2030-05-01T10:00:00Z", "2030-05-01T11:00:00Z", transparency="transparent")
    _insert(service, "2030-05-01T12:00:00Z", "2030-05-01T13:00:00Z", transparency="opaque")

    assert _busy(service, "primary") == [
        {"start": "2030-05-01T12:00:00Z", "end": "2030-05-01T13:00:00Z"}
    ]
    assert _busy(service, ORGANIZER) == _busy(service, "primary")


def test_a_calendar_only_shows_its_own_events(service: Any, sandbox: httpx.Client) -> None:
    _block(sandbox, MENTOR, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z")
    _block(sandbox, OTHER_MENTOR, "2030-05-03T09:00:00Z", "2030-05-03T10:00:00Z")

    answer = _query(service, MENTOR, OTHER_MENTOR, "primary")

    assert answer["calendars"] == {
        MENTOR: {"busy": [{"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T10:00:00Z"}]},
        OTHER_MENTOR: {"busy": []},
        "primary": {"busy": []},
    }


def test_unknown_calendar_is_a_not_found_entry(service: Any, sandbox: httpx.Client) -> None:
    _block(sandbox, MENTOR, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z")

    answer = _query(service, "nobody@calendar.invalid", MENTOR)

    assert answer["calendars"]["nobody@calendar.invalid"] == {
        "errors": [{"domain": "global", "reason": "notFound"}],
        "busy": [],
    }
    assert answer["calendars"][MENTOR]["busy"] == [
        {"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T10:00:00Z"}
    ]
    assert "errors" not in answer["calendars"][MENTOR]


def test_calendars_beyond_calendar_expansion_max_are_refused(
    service: Any, sandbox: httpx.Client
) -> None:
    _block(sandbox, MENTOR, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z")

    answer = _query(service, MENTOR, "primary", calendarExpansionMax=1)

    assert "busy" in answer["calendars"][MENTOR] and "errors" not in answer["calendars"][MENTOR]
    assert answer["calendars"]["primary"]["errors"] == [
        {"domain": "global", "reason": "tooManyCalendarsRequested"}
    ]


def test_time_zone_writes_busy_times_in_it(service: Any, sandbox: httpx.Client) -> None:
    _block(sandbox, MENTOR, "2030-05-01T02:00:00Z", "2030-05-01T03:00:00Z")

    answer = _query(service, MENTOR, timeZone="Asia/Jakarta")

    assert answer["timeMin"] == "2030-05-01T00:00:00.000Z"
    assert answer["calendars"][MENTOR]["busy"] == [
        {"start": "2030-05-01T09:00:00+07:00", "end": "2030-05-01T10:00:00+07:00"}
    ]


def test_no_items_is_an_empty_answer(service: Any) -> None:
    answer = _query(service, timeMin="2030-05-01T07:00:00+07:00")

    assert answer["calendars"] == {} and answer["timeMin"] == "2030-05-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("change", "reason", "domain"),
    [
        ({"timeMin": None}, "required", "global"),
        ({"timeMax": None}, "required", "global"),
        ({"timeMin": "tomorrow morning"}, "badRequest", "global"),
        ({"timeMax": "2030-05-02T00:00:00"}, "badRequest", "global"),  # no offset
        ({"timeMax": 1_904_000_000}, "badRequest", "global"),
        ({"timeZone": "Mars/Olympus_Mons"}, "badRequest", "global"),
        ({"timeMax": DAY_START}, "timeRangeEmpty", "calendar"),
        ({"timeMax": "2030-04-30T00:00:00Z"}, "timeRangeEmpty", "calendar"),
    ],
)
def test_bad_requests_are_400(
    service: Any, change: dict[str, Any], reason: str, domain: str
) -> None:
    body = {"timeMin": DAY_START, "timeMax": DAY_END, "items": [{"id": "primary"}], **change}
    body = {key: value for key, value in body.items() if value is not None}

    with pytest.raises(HttpError) as caught:
        service.freebusy().query(body=body).execute()

    assert caught.value.resp.status == 400
    error = _error(caught)
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert (error["errors"][0]["reason"], error["errors"][0]["domain"]) == (reason, domain)
    if reason == "timeRangeEmpty":
        assert error["message"] == "The specified time range is empty."
        assert error["errors"][0]["location"] == "timeMax"


def test_calendar_events_scope_alone_is_403(client_with: Client, sandbox: httpx.Client) -> None:
    with pytest.raises(HttpError) as caught:
        _query(client_with(EVENTS), "primary")

    assert caught.value.resp.status == 403
    assert _error(caught)["errors"][0]["reason"] == "insufficientPermissions"
    assert sandbox.get("/sandbox/calls").json()["calendar.freebusy.query"] == 0


@pytest.mark.parametrize(
    "scope",
    [
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.events.freebusy",
        FREEBUSY,
    ],
)
def test_each_free_busy_scope_is_enough(client_with: Client, scope: str) -> None:
    assert _query(client_with(scope), "primary")["calendars"] == {"primary": {"busy": []}}


def test_sandbox_busy_block_is_the_owners_own_event(service: Any, sandbox: httpx.Client) -> None:
    response = sandbox.post(
        f"/sandbox/calendar/{MENTOR}/busy",
        json={
            "start": "2030-05-01T13:00:00+07:00",
            "end": "2030-05-01T14:00:00+07:00",
            "summary": "Dentist",
        },
    )

    assert response.status_code == 201
    event = response.json()
    assert event["kind"] == "calendar#event" and event["status"] == "confirmed"
    assert re.fullmatch(r"[0-9a-v]{26}", event["id"])
    assert event["summary"] == "Dentist"
    assert event["organizer"] == {"email": MENTOR, "self": True}
    assert event["creator"] == {"email": MENTOR}
    assert event["start"] == {"dateTime": "2030-05-01T13:00:00+07:00"}
    assert event["end"] == {"dateTime": "2030-05-01T14:00:00+07:00"}
    assert "transparency" not in event  # opaque, Google's default, which it leaves out
    listed = sandbox.get("/sandbox/calendar/events").json()
    assert listed == [{**event, "calendarId": MENTOR}]
    assert _busy(service, MENTOR) == [
        {"start": "2030-05-01T06:00:00Z", "end": "2030-05-01T07:00:00Z"}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"end": "2030-05-01T10:00:00Z"}, "start"),
        ({"start": "2030-05-01T09:00:00Z"}, "end"),
        ({"start": "9 o'clock", "end": "2030-05-01T10:00:00Z"}, "start"),
        ({"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T10:00:00"}, "end"),
        ({"start": "2030-05-01T09:00:00", "end": "2030-05-01T10:00:00Z"}, "start"),
        ({"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T09:00:00Z"}, "end"),
        ({"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T15:00:00+07:00"}, "end"),
        ({"start": 1_904_000_000, "end": "2030-05-01T10:00:00Z"}, "start"),
    ],
)
def test_bad_busy_blocks_are_422(sandbox: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = sandbox.post(f"/sandbox/calendar/{MENTOR}/busy", json=body)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    assert sandbox.get("/sandbox/calendar/events").json() == []


def test_fault_is_an_http_error_then_the_query_answers(service: Any, sandbox: httpx.Client) -> None:
    fault = sandbox.post(
        "/sandbox/faults", json={"operation": "calendar.freebusy.query", "status": 503}
    )
    assert fault.status_code == 201, fault.text
    _block(sandbox, MENTOR, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z")

    with pytest.raises(HttpError) as caught:
        _query(service, MENTOR)
    busy = _busy(service, MENTOR)

    assert caught.value.resp.status == 503
    assert caught.value.error_details[0]["reason"] == "backendError"
    assert busy == [{"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T10:00:00Z"}]
    assert sandbox.get("/sandbox/calls").json()["calendar.freebusy.query"] == 2
    assert sandbox.get("/sandbox/faults/played").json()["calendar.freebusy.query"] == 1
