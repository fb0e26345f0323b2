"""A mentor's availability through the API: who may set it, what is refused, and the free slots
the frontend lists, books from, and sees shrink."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.support import Stack

JAKARTA = ZoneInfo("Asia/Jakarta")
EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


def _day(days_ahead: int = 6) -> date:
    return (datetime.now(JAKARTA) + timedelta(days=days_ahead)).date()


def _at(day: date, clock: str) -> datetime:
    """`clock` (HH:MM) on `day` in Jakarta."""
    hour, minute = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


def _hours_on(day: date, *ranges: tuple[str, str], **rules: Any) -> dict[str, Any]:
    """Availability open only on `day`, in the given ranges (the weekly hours left empty)."""
    exceptions = [{"date": day.isoformat(), "start": a, "end": b} for a, b in ranges]
    return {"weekly": [], "exceptions": exceptions, "slot_step_minutes": 60, **rules}


async def _set(
    stack: Stack, mentor_id: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await stack.api.put(
        f"/v1/mentors/{mentor_id}/availability", json=body, headers=headers or stack.admin
    )


async def _slots(stack: Stack, mentor_id: str, day: date, **params: Any) -> dict[str, Any]:
    window = {
        "from": _at(day, "00:00").isoformat(),
        "to": _at(day + timedelta(days=1), "00:00").isoformat(),
        "duration_minutes": 60,
        **params,
    }
    response = await stack.api.get(
        f"/v1/mentors/{mentor_id}/slots", params=window, headers=stack.frontend
    )
    assert response.status_code == 200, response.text
    slots: dict[str, Any] = response.json()
    return slots


def _local_starts(slots: dict[str, Any]) -> list[str]:
    return [
        datetime.fromisoformat(slot["start"]).astimezone(JAKARTA).strftime("%H:%M")
        for slot in slots["slots"]
    ]


async def test_the_frontend_lists_slots_books_one_and_it_disappears(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    day = _day()
    body = _hours_on(day, ("09:00", "12:00"), ("14:00", "16:00"))
    assert (await _set(stack, mentor["id"], body)).status_code == 200

    before = await _slots(stack, mentor["id"], day)
    assert before["calendar_checked"] is True and before["timezone"] == "Asia/Jakarta"
    assert _local_starts(before) == ["09:00", "10:00", "11:00", "14:00", "15:00"]

    chosen = before["slots"][1]
    response = await stack.create_order(mentor["id"], start_time=chosen["start"])
    assert response.status_code == 201, response.text

    after = await _slots(stack, mentor["id"], day)
    assert _local_starts(after) == ["09:00", "11:00", "14:00", "15:00"]


async def test_orders_outside_the_hours_or_on_a_day_off_are_refused(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    day = _day()
    body = {
        "weekly": [
            {"day": d, "start": "09:00", "end": "17:00"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
        "exceptions": [{"date": day.isoformat(), "unavailable": True}],
    }
    assert (await _set(stack, mentor["id"], body)).status_code == 200

    night = await stack.create_order(mentor["id"], start_time=_at(day + timedelta(days=1), "03:00"))
    off = await stack.create_order(mentor["id"], start_time=_at(day, "10:00"))
    fine = await stack.create_order(mentor["id"], start_time=_at(day + timedelta(days=1), "10:00"))

    for refused in (night, off):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "outside_availability"
        assert "not available" in refused.json()["error"]["message"]
    assert fine.status_code == 201, fine.text
    assert (await _slots(stack, mentor["id"], day))["slots"] == []


async def test_a_busy_block_in_the_mentors_calendar_is_no_slot_and_no_order(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    day = _day()
    assert (await _set(stack, mentor["id"], _hours_on(day, ("09:00", "13:00")))).status_code == 200
    block = {
        "start": _at(day, "10:30").isoformat(),
        "end": _at(day, "11:15").isoformat(),
        "summary": "Dentist",
    }
    added = await stack.sandbox.post(f"/sandbox/calendar/{mentor['email']}/busy", json=block)
    assert added.status_code == 201, added.text

    slots = await _slots(stack, mentor["id"], day)
    assert slots["calendar_checked"] is True
    assert _local_starts(slots) == ["09:00", "12:00"]
    busy = await stack.create_order(mentor["id"], start_time=_at(day, "11:00"))
    assert busy.status_code == 409, busy.text
    assert busy.json()["error"] == {
        "code": "mentor_busy",
        "message": "the mentor's calendar is busy at this time",
    }


async def test_buffers_keep_orders_apart_and_our_overlap_is_slot_unavailable(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    day = _day()
    body = _hours_on(day, ("09:00", "17:00"), buffer_minutes=30, slot_step_minutes=30)
    assert (await _set(stack, mentor["id"], body)).status_code == 200
    first = await stack.create_order(mentor["id"], start_time=_at(day, "10:00"))
    assert first.status_code == 201, first.text

    right_after = await stack.create_order(mentor["id"], start_time=_at(day, "11:00"))
    with_buffer = await stack.create_order(mentor["id"], start_time=_at(day, "11:30"))

    assert right_after.status_code == 409
    assert right_after.json()["error"]["code"] == "slot_unavailable"
    assert with_buffer.status_code == 201, with_buffer.text
    starts = _local_starts(await _slots(stack, mentor["id"], day))
    assert starts[:2] == ["13:00", "13:30"] and "09:00" not in starts


async def test_a_reschedule_obeys_the_same_rules_its_own_old_time_left_out(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    mentor_calendar = {"calendar_id": mentor["email"]}
    patched = await stack.api.patch(
        f"/v1/mentors/{mentor['id']}", json=mentor_calendar, headers=stack.admin
    )
    assert patched.status_code == 200, patched.text
    day = _day()
    body = _hours_on(day, ("09:00", "12:00"), slot_step_minutes=30)
    assert (await _set(stack, mentor["id"], body)).status_code == 200
    response = await stack.create_order(mentor["id"], start_time=_at(day, "09:00"))
    assert response.status_code == 201, response.text
    order = response.json()
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "approve")).status_code == 200
    await stack.wait_for_status(order["id"], "confirmed")
    # The event this service booked is now on the mentor's calendar: busy, but ours.

    async def reschedule(clock: str) -> httpx.Response:
        return await stack.api.post(
            f"/v1/orders/{order['id']}/reschedule",
            json={"start_time": _at(day, clock).isoformat(), "by": "mentee"},
            headers=stack.frontend,
        )

    outside = await reschedule("14:00")
    assert outside.status_code == 409 and outside.json()["error"]["code"] == "outside_availability"
    moved = await reschedule("09:30")
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["start_time"]) == _at(day, "09:30")


async def test_without_availability_a_mentor_is_bookable_at_any_time(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    night = _at(_day(), "03:00")
    unset = await stack.api.get(f"/v1/mentors/{mentor['id']}/availability", headers=stack.admin)
    assert unset.status_code == 200 and unset.json() is None
    starts = _local_starts(await _slots(stack, mentor["id"], _day()))
    assert len(starts) == 48 and starts[6] == "03:00"
    assert (await stack.create_order(mentor["id"], start_time=night)).status_code == 201


async def test_google_not_answering_in_time_leaves_the_slots_to_availability(
    stack: Stack,
) -> None:
    mentor = await stack.create_mentor()
    day = _day()
    assert (await _set(stack, mentor["id"], _hours_on(day, ("09:00", "11:00")))).status_code == 200
    slow = stack.settings.google_freebusy_timeout.total_seconds() + 1
    spec = {"operation": "calendar.freebusy.query", "delay_seconds": slow}
    assert (await stack.sandbox.post("/sandbox/faults", json=spec)).status_code == 201
    try:
        slots = await _slots(stack, mentor["id"], day)
    finally:
        await stack.sandbox.delete("/sandbox/faults")
    assert slots["calendar_checked"] is False
    assert _local_starts(slots) == ["09:00", "10:00"]

    refused = {"operation": "calendar.freebusy.query", "status": 503}
    assert (await stack.sandbox.post("/sandbox/faults", json=refused)).status_code == 201
    order = await stack.create_order(mentor["id"], start_time=_at(day, "09:00"))
    assert order.status_code == 201, order.text
