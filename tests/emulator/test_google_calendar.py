"""Calendar events through googleapiclient, with service-account credentials from the
emulator's key file and tokens from its OAuth endpoint."""

import json
import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import ORGANIZER

EVENT_ID = "order0123456789abcdefghijklmnopqrstuv"
MEET_LINK = re.compile(r"https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}")


def _body(event_id: str = EVENT_ID, meet: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "summary": "Mentoring: career switch",
        "description": "Budi with Ayu",
        "start": {"dateTime": "2030-05-01T10:00:00+07:00", "timeZone": "Asia/Jakarta"},
        "end": {"dateTime": "2030-05-01T11:00:00+07:00", "timeZone": "Asia/Jakarta"},
        "attendees": [{"email": "ayu@example.com"}, {"email": "budi@example.com"}],
        "reminders": {"useDefault": False, "overrides": [{"method": "email", "minutes": 60}]},
        "guestsCanModify": False,
    }
    if meet:
        body["conferenceData"] = {
            "createRequest": {
                "requestId": f"meet-{event_id}",
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def _insert(calendar: Any, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = (
        calendar.events()
        .insert(calendarId="primary", body=body, conferenceDataVersion=1, sendUpdates="all")
        .execute()
    )
    return event


def _get(calendar: Any, event_id: str = EVENT_ID) -> dict[str, Any]:
    event: dict[str, Any] = calendar.events().get(calendarId="primary", eventId=event_id).execute()
    return event


def test_insert_is_pending_then_get_has_the_meet_room(calendar: Any) -> None:
    inserted = _insert(calendar, _body())

    assert inserted["id"] == EVENT_ID and inserted["status"] == "confirmed"
    assert inserted["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    assert "hangoutLink" not in inserted
    assert inserted["organizer"] == {"email": ORGANIZER, "self": True}
    assert inserted["iCalUID"] == f"{EVENT_ID}@google.com"
    assert inserted["sequence"] == 0 and inserted["etag"].startswith('"')
    assert inserted["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert [(a["email"], a["responseStatus"]) for a in inserted["attendees"]] == [
        ("ayu@example.com", "needsAction"),
        ("budi@example.com", "needsAction"),
    ]
    assert inserted["start"] == {
        "dateTime": "2030-05-01T10:00:00+07:00",
        "timeZone": "Asia/Jakarta",
    }
    assert inserted["reminders"]["overrides"] == [{"method": "email", "minutes": 60}]

    fetched = _get(calendar)

    conference = fetched["conferenceData"]
    assert conference["createRequest"]["status"]["statusCode"] == "success"
    assert conference["createRequest"]["requestId"] == f"meet-{EVENT_ID}"
    assert MEET_LINK.fullmatch(fetched["hangoutLink"])
    video = [e for e in conference["entryPoints"] if e["entryPointType"] == "video"]
    assert video[0]["uri"] == fetched["hangoutLink"]
    assert video[0]["label"] == fetched["hangoutLink"].removeprefix("https://")
    assert fetched["hangoutLink"].endswith(conference["conferenceId"])
    assert conference["conferenceSolution"]["key"]["type"] == "hangoutsMeet"


def test_without_conference_version_no_meet_is_made(calendar: Any) -> None:
    inserted = calendar.events().insert(calendarId="primary", body=_body()).execute()

    assert "conferenceData" not in inserted and "conferenceData" not in _get(calendar)


def test_duplicate_id_is_409(calendar: Any, sandbox: httpx.Client) -> None:
    _insert(calendar, _body())

    with pytest.raises(HttpError) as caught:
        _insert(calendar, _body())

    assert caught.value.resp.status == 409
    assert caught.value.error_details[0]["reason"] == "duplicate"
    assert len(sandbox.get("/sandbox/calendar/events").json()) == 1


@pytest.mark.parametrize("bad_id", ["abc", "Upper0123", "order-with-dash", "w" * 10])
def test_ids_outside_base32hex_are_400(calendar: Any, bad_id: str) -> None:
    with pytest.raises(HttpError) as caught:
        _insert(calendar, _body(bad_id))

    assert caught.value.resp.status == 400


def test_id_is_generated_when_not_given(calendar: Any) -> None:
    body = _body(meet=False)
    del body["id"]

    inserted = _insert(calendar, body)

    assert re.fullmatch(r"[0-9a-v]{26}", inserted["id"])


def test_empty_time_range_is_400(calendar: Any) -> None:
    body = _body()
    body["end"] = {"dateTime": "2030-05-01T09:00:00+07:00", "timeZone": "Asia/Jakarta"}

    with pytest.raises(HttpError) as caught:
        _insert(calendar, body)

    assert caught.value.resp.status == 400
    assert caught.value.error_details[0]["reason"] == "timeRangeEmpty"


def test_patch_moves_the_event_and_bumps_sequence(calendar: Any) -> None:
    inserted = _insert(calendar, _body())
    before = _get(calendar)

    patched = (
        calendar.events()
        .patch(
            calendarId="primary",
            eventId=EVENT_ID,
            body={
                "start": {"dateTime": "2030-05-02T14:00:00+07:00", "timeZone": "Asia/Jakarta"},
                "end": {"dateTime": "2030-05-02T15:00:00+07:00", "timeZone": "Asia/Jakarta"},
            },
            sendUpdates="all",
        )
        .execute()
    )

    assert patched["sequence"] == 1 and patched["etag"] != inserted["etag"]
    assert patched["start"]["dateTime"] == "2030-05-02T14:00:00+07:00"
    assert patched["summary"] == "Mentoring: career switch"
    assert patched["hangoutLink"] == before["hangoutLink"]
    assert datetime.fromisoformat(patched["updated"]) >= datetime.fromisoformat(before["updated"])
    assert _get(calendar)["start"]["dateTime"] == "2030-05-02T14:00:00+07:00"


def test_delete_cancels_and_second_delete_is_410(calendar: Any, sandbox: httpx.Client) -> None:
    _insert(calendar, _body())

    calendar.events().delete(calendarId="primary", eventId=EVENT_ID, sendUpdates="all").execute()
    after = _get(calendar)
    with pytest.raises(HttpError) as caught:
        calendar.events().delete(calendarId="primary", eventId=EVENT_ID).execute()

    assert after["status"] == "cancelled" and after["id"] == EVENT_ID
    assert caught.value.resp.status == 410
    listed = sandbox.get("/sandbox/calendar/events").json()
    assert [(e["id"], e["status"], e["calendarId"]) for e in listed] == [
        (EVENT_ID, "cancelled", ORGANIZER)
    ]


def test_unknown_event_is_404(calendar: Any) -> None:
    with pytest.raises(HttpError) as caught:
        _get(calendar, "unknown0event")

    assert caught.value.resp.status == 404


def test_conference_fault_makes_the_meet_room_fail(calendar: Any, sandbox: httpx.Client) -> None:
    fault = sandbox.post("/sandbox/faults", json={"operation": "calendar.conference"})
    assert fault.status_code == 201

    inserted = _insert(calendar, _body())
    fetched = _get(calendar)
    _insert(calendar, _body("second0event"))

    assert inserted["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    assert fetched["conferenceData"]["createRequest"]["status"]["statusCode"] == "failure"
    assert "hangoutLink" not in fetched and "entryPoints" not in fetched["conferenceData"]
    assert "hangoutLink" in _get(calendar, "second0event")


def test_calls_need_a_token_the_emulator_issued(emulator_url: str) -> None:
    url = f"{emulator_url}/calendar/v3/calendars/primary/events/{EVENT_ID}"
    for headers in ({}, {"Authorization": "Bearer ya29.forged"}):
        response = httpx.get(url, headers=headers)

        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
        assert error["errors"][0]["reason"] == "authError"


def test_token_endpoint_refuses_other_grants(emulator_url: str) -> None:
    response = httpx.post(
        f"{emulator_url}/oauth2/token", data={"grant_type": "password", "username": "x"}
    )
    bad_jwt = httpx.post(
        f"{emulator_url}/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x.y"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert bad_jwt.status_code == 400 and bad_jwt.json()["error"] == "invalid_grant"


def _patch(calendar: Any, body: dict[str, Any], if_match: str | None = None) -> dict[str, Any]:
    request = calendar.events().patch(calendarId="primary", eventId=EVENT_ID, body=body)
    if if_match is not None:
        request.headers["If-Match"] = if_match
    event: dict[str, Any] = request.execute()
    return event


def test_every_change_gives_a_new_quoted_etag(calendar: Any) -> None:
    inserted = _insert(calendar, _body())
    fetched = _get(calendar)
    patched = _patch(calendar, {"summary": "renamed"})
    calendar.events().delete(calendarId="primary", eventId=EVENT_ID).execute()
    cancelled = _get(calendar)

    etags = [inserted["etag"], patched["etag"], cancelled["etag"]]
    assert fetched["etag"] == inserted["etag"]
    assert len(set(etags)) == 3
    assert all(re.fullmatch(r'"\d+"', tag) for tag in etags)


def test_patch_with_the_current_etag_applies(calendar: Any) -> None:
    inserted = _insert(calendar, _body())

    patched = _patch(calendar, {"summary": "renamed"}, if_match=inserted["etag"])

    assert patched["summary"] == "renamed" and patched["etag"] != inserted["etag"]


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(calendar: Any) -> None:
    inserted = _insert(calendar, _body())
    _patch(calendar, {"summary": "changed by someone else"})
    before = _get(calendar)

    with pytest.raises(HttpError) as caught:
        _patch(calendar, {"summary": "mine"}, if_match=inserted["etag"])

    assert caught.value.resp.status == 412
    error = json.loads(caught.value.content)["error"]
    assert error["code"] == 412 and error["message"] == "Precondition Failed"
    assert error["errors"] == [
        {
            "domain": "global",
            "reason": "conditionNotMet",
            "message": "Precondition Failed",
            "locationType": "header",
            "location": "If-Match",
        }
    ]
    assert _get(calendar) == before


def test_update_replaces_the_event_and_honours_if_match(calendar: Any) -> None:
    inserted = _insert(calendar, _body())
    fetched = _get(calendar)
    body = {
        "summary": "Rescheduled",
        "start": {"dateTime": "2030-05-03T09:00:00+07:00"},
        "end": {"dateTime": "2030-05-03T10:00:00+07:00"},
        "extendedProperties": {"private": {"orderRevision": "1"}},
    }

    with pytest.raises(HttpError) as caught:
        request = calendar.events().update(calendarId="primary", eventId=EVENT_ID, body=body)
        request.headers["If-Match"] = '"1"'
        request.execute()
    request = calendar.events().update(calendarId="primary", eventId=EVENT_ID, body=body)
    request.headers["If-Match"] = inserted["etag"]
    updated = request.execute()

    assert caught.value.resp.status == 412
    assert updated["summary"] == "Rescheduled" and "description" not in updated
    assert updated["start"] == {"dateTime": "2030-05-03T09:00:00+07:00"}
    assert updated["extendedProperties"] == {"private": {"orderRevision": "1"}}
    assert updated["id"] == EVENT_ID and updated["created"] == inserted["created"]
    assert updated["hangoutLink"] == fetched["hangoutLink"]  # version 0 keeps the Meet room
    assert updated["sequence"] == 1 and updated["etag"] != inserted["etag"]


def test_extended_properties_are_stored_and_patched(calendar: Any) -> None:
    body = _body()
    body["extendedProperties"] = {"private": {"orderRevision": "0"}}
    _insert(calendar, body)

    _patch(calendar, {"extendedProperties": {"private": {"orderRevision": "2"}}})

    assert _get(calendar)["extendedProperties"] == {"private": {"orderRevision": "2"}}


def test_delete_with_a_stale_etag_is_412(calendar: Any) -> None:
    inserted = _insert(calendar, _body())
    _patch(calendar, {"summary": "changed"})

    request = calendar.events().delete(calendarId="primary", eventId=EVENT_ID)
    request.headers["If-Match"] = inserted["etag"]
    with pytest.raises(HttpError) as caught:
        request.execute()

    assert caught.value.resp.status == 412 and _get(calendar)["status"] == "confirmed"
