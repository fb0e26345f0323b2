"""Changing and retiring mentors, and who may set a mentor's availability."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from api.calendar_busy import CalendarBusy
from tests.support import Stack

WEEKDAYS = {"weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}]}


async def _patch(stack: Stack, mentor_id: str, body: dict[str, Any], **headers: str) -> Any:
    return await stack.api.patch(
        f"/v1/mentors/{mentor_id}", json=body, headers=headers or stack.admin
    )


async def test_admin_changes_a_mentor_and_the_rate_prices_new_orders_only(stack: Stack) -> None:
    mentor = await stack.create_mentor(hourly_rate=300_000)
    old = await stack.create_order(mentor["id"])
    assert old.status_code == 201, old.text

    changed = await _patch(
        stack,
        mentor["id"],
        {"name": "Ayu L.", "hourly_rate": 450_000, "timezone": "Europe/Berlin", "locale": "en"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **mentor,
        "name": "Ayu L.",
        "hourly_rate": 450_000,
        "timezone": "Europe/Berlin",
        "locale": "en",
    }
    new = await stack.create_order(mentor["id"], start_time=datetime.now(UTC) + timedelta(days=9))
    assert new.status_code == 201, new.text
    assert new.json()["amount"] == 450_000
    assert (await stack.get_order(old.json()["id"]))["amount"] == 300_000


async def test_an_inactive_mentor_takes_no_new_order_and_the_old_ones_run_on(
    stack: Stack,
) -> None:
    mentor = await stack.create_mentor()
    running = (await stack.create_order(mentor["id"])).json()

    retired = await _patch(stack, mentor["id"], {"active": False})
    refused = await stack.create_order(
        mentor["id"], start_time=datetime.now(UTC) + timedelta(days=8)
    )
    slots = await stack.api.get(
        f"/v1/mentors/{mentor['id']}/slots",
        params={
            "from": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "to": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
        headers=stack.frontend,
    )

    assert retired.status_code == 200 and retired.json()["active"] is False
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "mentor_inactive"
    assert slots.status_code == 200 and slots.json()["slots"] == []
    await stack.pay(running["payment"]["invoice_id"])
    assert (await stack.decide(running["id"], "approve")).status_code == 200
    await stack.wait_for_status(running["id"], "confirmed")
    assert (await _patch(stack, mentor["id"], {"active": True})).json()["active"] is True


async def test_bad_changes_are_refused(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    other = await stack.create_mentor()

    cases = {
        "zone": await _patch(stack, mentor["id"], {"timezone": "Mars/Olympus"}),
        "rate": await _patch(stack, mentor["id"], {"hourly_rate": 0}),
        "unknown": await _patch(stack, mentor["id"], {"colour": "blue"}),
        "taken": await _patch(stack, mentor["id"], {"email": other["email"]}),
        "missing": await _patch(stack, str(uuid.uuid4()), {"name": "X"}),
        "frontend": await _patch(stack, mentor["id"], {"name": "X"}, **stack.frontend),
    }

    statuses = {name: response.status_code for name, response in cases.items()}
    assert statuses == {
        "zone": 422, "rate": 422, "unknown": 422,
        "taken": 409, "missing": 404, "frontend": 403,
    }  # fmt: skip
    fields = {name: str(cases[name].json()["error"]["details"]) for name in ("zone", "rate")}
    assert "timezone" in fields["zone"] and "hourly_rate" in fields["rate"]
    assert (
        await stack.api.get(f"/v1/mentors/{mentor['id']}", headers=stack.frontend)
    ).json() == mentor


async def test_the_mentor_sets_their_own_hours_with_their_token_and_only_theirs(
    stack: Stack,
) -> None:
    mentor, other = await stack.create_mentor(), await stack.create_mentor()
    issued = await stack.api.post(
        f"/v1/mentors/{mentor['id']}/availability-token", headers=stack.admin
    )
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
    path = f"/v1/mentors/{mentor['id']}/availability"

    own = await stack.api.put(path, json=WEEKDAYS, headers=bearer)
    read = await stack.api.get(path, params={"token": issued.json()["token"]})
    theirs = await stack.api.put(
        f"/v1/mentors/{other['id']}/availability", json=WEEKDAYS, headers=bearer
    )
    frontend = await stack.api.put(path, json=WEEKDAYS, headers=stack.frontend)
    forged = await stack.api.put(path, json=WEEKDAYS, headers={"Authorization": "Bearer nope"})
    nobody = await stack.api.put(path, json=WEEKDAYS)

    assert own.status_code == 200, own.text
    assert read.status_code == 200 and read.json()["weekly"] == WEEKDAYS["weekly"]
    assert read.json()["timezone"] == mentor["timezone"]
    assert read.json()["minimum_notice"] == "PT3H"
    assert [r.status_code for r in (theirs, frontend, forged, nobody)] == [403, 403, 401, 401]


async def test_bad_availability_is_a_422_naming_the_field(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    path = f"/v1/mentors/{mentor['id']}/availability"
    bodies = {
        "end before start": (
            {"weekly": [{"day": "mon", "start": "17:00", "end": "09:00"}]}, "weekly",
        ),
        "unknown day": ({"weekly": [{"day": "mo", "start": "09:00", "end": "10:00"}]}, "day"),
        "unknown zone": ({"timezone": "Europe/Atlantis"}, "timezone"),
        "negative buffer": ({"buffer_minutes": -1}, "buffer_minutes"),
        "overlap": (
            {"weekly": [
                {"day": "fri", "start": "09:00", "end": "12:00"},
                {"day": "fri", "start": "10:00", "end": "11:00"},
            ]},
            "overlap",
        ),
    }  # fmt: skip
    for name, (body, field) in bodies.items():
        response = await stack.api.put(path, json=body, headers=stack.admin)
        assert response.status_code == 422, name
        error = response.json()["error"]
        assert error["code"] in ("validation_error", "invalid_availability"), name
        assert field in str(error["details"]), (name, error)
    assert (await stack.api.get(path, headers=stack.admin)).json() is None


async def test_slot_windows_are_bounded(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    start = datetime.now(UTC) + timedelta(days=1)

    async def ask(**params: Any) -> Any:
        window = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
        return await stack.api.get(
            f"/v1/mentors/{mentor['id']}/slots", params={**window, **params}, headers=stack.frontend
        )

    too_long = await ask(to=(start + timedelta(days=32)).isoformat())
    backwards = await ask(to=(start - timedelta(hours=1)).isoformat())
    naive = await ask(**{"from": "2030-01-01T00:00:00"})
    duration = await ask(duration_minutes=17)
    fine = await ask(to=(start + timedelta(days=31)).isoformat())

    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "window_too_long"
    assert backwards.status_code == 422 and naive.status_code == 422
    assert duration.status_code == 422 and duration.json()["error"]["code"] == "invalid_duration"
    assert fine.status_code == 200 and len(fine.json()["slots"]) > 1000


async def _calendar_with_one_block(stack: Stack, name: str) -> tuple[CalendarBusy, str, datetime]:
    """CalendarBusy keeping answers for an hour, and a calendar of its own (`<name>-...`) busy
    from one to two hours after the start it returns."""
    settings = stack.settings.model_copy(update={"google_freebusy_cache_ttl": timedelta(hours=1)})
    calendar = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    block = {
        "start": (start + timedelta(hours=1)).isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
    }
    assert (
        await stack.sandbox.post(f"/sandbox/calendar/{calendar}/busy", json=block)
    ).status_code == 201
    return CalendarBusy(settings), calendar, start


async def _freebusy_queries(stack: Stack) -> int:
    calls: dict[str, int] = (await stack.sandbox.get("/sandbox/calls")).json()
    return calls.get("calendar.freebusy.query", 0)


async def test_the_calendar_is_asked_once_per_mentor_while_its_answer_is_kept(
    stack: Stack,
) -> None:
    busy, calendar, start = await _calendar_with_one_block(stack, "cache")
    before = await _freebusy_queries(stack)
    first = await busy.busy(calendar, start, start + timedelta(days=14))
    again = await busy.busy(calendar, start + timedelta(days=1), start + timedelta(days=3))
    assert await _freebusy_queries(stack) == before + 1
    assert first is not None and again is not None
    assert [(s - start, e - start) for s, e in first] == [(timedelta(hours=1), timedelta(hours=2))]

    beyond = await busy.busy(calendar, start + timedelta(days=40), start + timedelta(days=41))
    busy.forget()
    await busy.busy(calendar, start, start + timedelta(days=1))
    assert beyond is not None and await _freebusy_queries(stack) == before + 3


async def test_requests_that_arrive_together_share_one_question_to_the_calendar(
    stack: Stack,
) -> None:
    """The first orders for a mentor come together: one freeBusy query answers all of them."""
    busy, calendar, start = await _calendar_with_one_block(stack, "together")
    before = await _freebusy_queries(stack)
    answers = await asyncio.gather(
        *(
            busy.busy(calendar, start + timedelta(hours=n), start + timedelta(days=3))
            for n in range(20)
        )
    )
    assert await _freebusy_queries(stack) == before + 1
    for answer in answers:
        assert answer is not None
        assert [(s - start, e - start) for s, e in answer] == [
            (timedelta(hours=1), timedelta(hours=2))
        ]

    # One that wants more than the question in flight covers asks again, after it.
    far = start + timedelta(days=80)
    near_and_far = await asyncio.gather(
        busy.busy(calendar, start + timedelta(days=40), start + timedelta(days=41)),
        busy.busy(calendar, far, far + timedelta(days=1)),
    )
    assert all(answer is not None for answer in near_and_far)
    assert await _freebusy_queries(stack) == before + 3
