"""The one decision behind slots, orders and reschedules, and the slots it yields: hours in the
mentor's wall-clock time across daylight-saving changes, notice, horizon, buffers, our orders and
the mentor's own calendar."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mentoring.availability import Availability
from mentoring.slots import Intervals, MentorTime, Refusal, free_slots, verdict

BERLIN = ZoneInfo("Europe/Berlin")
JAKARTA = ZoneInfo("Asia/Jakarta")
HOUR = timedelta(hours=1)
NOW = datetime(2027, 3, 1, tzinfo=UTC)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _mentor(zone: ZoneInfo = BERLIN, **rules: Any) -> MentorTime:
    body = {"minimum_notice": "PT0S", "horizon_days": 365, **rules}
    return MentorTime(zone=zone, availability=Availability.model_validate(body))


def _starts(mentor: MentorTime, start: str, end: str, duration: timedelta = HOUR) -> list[str]:
    slots = free_slots(_utc(start), _utc(end), duration, mentor, NOW)
    return [slot.strftime("%m-%d %H:%M") for slot, _ in slots]


WEEKDAYS_9_TO_11 = [{"day": "mon", "start": "09:00", "end": "11:00"}]


def test_weekly_hours_stay_on_the_wall_clock_across_the_last_sunday_of_march() -> None:
    mentor = _mentor(weekly=WEEKDAYS_9_TO_11)
    # Monday 22 March: CET (UTC+1); Monday 29 March, after the change: CEST (UTC+2).
    assert _starts(mentor, "2027-03-22T00:00", "2027-03-30T00:00") == [
        "03-22 08:00", "03-22 08:30", "03-22 09:00",
        "03-29 07:00", "03-29 07:30", "03-29 08:00",
    ]  # fmt: skip


def test_weekly_hours_stay_on_the_wall_clock_across_the_last_sunday_of_october() -> None:
    mentor = _mentor(weekly=WEEKDAYS_9_TO_11)
    # Monday 25 October: CEST (UTC+2); Monday 1 November, after the change: CET (UTC+1).
    assert _starts(mentor, "2027-10-25T00:00", "2027-11-02T00:00") == [
        "10-25 07:00", "10-25 07:30", "10-25 08:00",
        "11-01 08:00", "11-01 08:30", "11-01 09:00",
    ]  # fmt: skip


def test_the_night_of_the_change_has_an_hour_less_in_march_and_more_in_october() -> None:
    mentor = _mentor(weekly=[{"day": "sun", "start": "01:00", "end": "04:00"}])
    # 28 March: 01:00 CET is 00:00 UTC, 04:00 CEST is 02:00 UTC: two hours, not three.
    assert _starts(mentor, "2027-03-27T12:00", "2027-03-28T12:00") == [
        "03-28 00:00", "03-28 00:30", "03-28 01:00",
    ]  # fmt: skip
    # 31 October: 01:00 CEST is 23:00 UTC the day before, 04:00 CET is 03:00 UTC: four hours.
    october = _starts(mentor, "2027-10-30T12:00", "2027-10-31T12:00")
    assert october[0] == "10-30 23:00" and october[-1] == "10-31 02:00" and len(october) == 7


def test_an_exception_replaces_the_day_and_a_day_off_has_no_slots() -> None:
    mentor = _mentor(
        zone=JAKARTA,
        weekly=[{"day": "mon", "start": "09:00", "end": "11:00"}],
        exceptions=[
            {"date": "2027-03-08", "unavailable": True},
            {"date": "2027-03-15", "start": "19:00", "end": "20:00"},
            {"date": "2027-03-13", "start": "10:00", "end": "11:00"},
        ],
    )
    starts = _starts(mentor, "2027-03-07T00:00", "2027-03-16T00:00")
    # Jakarta is UTC+7: Saturday 13th 10:00 is 03:00 UTC; Monday 15th 19:00 is 12:00 UTC.
    assert starts == ["03-13 03:00", "03-15 12:00"]


def test_a_session_must_fit_inside_the_hours() -> None:
    mentor = _mentor(zone=JAKARTA, weekly=[{"day": "mon", "start": "09:00", "end": "11:00"}])
    assert _starts(mentor, "2027-03-01T00:00", "2027-03-02T00:00", timedelta(minutes=90)) == [
        "03-01 02:00", "03-01 02:30",
    ]  # fmt: skip
    refused = verdict(_utc("2027-03-01T03:30"), HOUR, mentor, NOW)  # 10:30-11:30 local
    assert refused is not None and refused.refusal == Refusal.OUTSIDE_AVAILABILITY


def test_notice_and_horizon() -> None:
    mentor = _mentor(
        zone=JAKARTA,
        weekly=[{"day": day, "start": "00:00", "end": "24:00"} for day in ("mon", "tue")],
        minimum_notice="PT3H",
        horizon_days=7,
    )
    too_soon = verdict(NOW + timedelta(hours=2), HOUR, mentor, NOW)
    assert too_soon is not None and too_soon.refusal == Refusal.OUTSIDE_AVAILABILITY
    assert "3 hours' notice" in too_soon.message
    assert verdict(NOW + timedelta(hours=3), HOUR, mentor, NOW) is None
    too_far = verdict(NOW + timedelta(days=8), HOUR, mentor, NOW)
    assert too_far is not None and "7 days ahead" in too_far.message


def test_our_orders_and_the_mentors_calendar_with_the_buffer_around_them() -> None:
    base = _mentor(
        zone=JAKARTA,
        weekly=[{"day": "mon", "start": "09:00", "end": "17:00"}],
        buffer_minutes=15,
        slot_step_minutes=15,
    )
    order = (_utc("2027-03-01T03:00"), _utc("2027-03-01T04:00"))  # 10:00-11:00 local
    meeting = (_utc("2027-03-01T06:00"), _utc("2027-03-01T06:30"))  # 13:00-13:30 local
    mentor = MentorTime(
        zone=JAKARTA,
        availability=base.availability,
        orders=Intervals([order]),
        busy=Intervals([meeting]),
    )
    ours = verdict(_utc("2027-03-01T04:00"), HOUR, mentor, NOW)  # right after: inside buffer
    assert ours is not None and ours.refusal == Refusal.SLOT_UNAVAILABLE
    assert verdict(_utc("2027-03-01T04:15"), HOUR, mentor, NOW) is None
    theirs = verdict(_utc("2027-03-01T05:00"), HOUR, mentor, NOW)  # ends 13:00 + buffer
    assert theirs is not None and theirs.refusal == Refusal.MENTOR_BUSY
    starts = _starts(mentor, "2027-03-01T00:00", "2027-03-02T00:00")
    assert "03-01 04:15" in starts and "03-01 04:00" not in starts
    assert "03-01 04:45" in starts and "03-01 05:00" not in starts
    assert "03-01 06:45" in starts and "03-01 06:30" not in starts
    assert starts[0] == "03-01 04:15"  # 09:00 local would end right at the order: no buffer


def test_a_mentor_without_availability_is_bookable_at_any_time_on_the_half_hours() -> None:
    mentor = MentorTime(zone=JAKARTA, availability=None, orders=Intervals([
        (_utc("2027-03-02T20:00"), _utc("2027-03-02T21:00"))
    ]))  # fmt: skip
    assert verdict(_utc("2027-03-02T19:17"), HOUR, mentor, NOW) is not None
    assert verdict(_utc("2027-03-02T03:17"), HOUR, mentor, NOW) is None
    starts = _starts(mentor, "2027-03-02T18:00", "2027-03-02T22:00")
    assert starts == ["03-02 18:00", "03-02 18:30", "03-02 19:00", "03-02 21:00", "03-02 21:30"]


def test_intervals_merge_and_cut() -> None:
    blocks = Intervals(
        [(_utc("2027-03-01T10:00"), _utc("2027-03-01T12:00")),
         (_utc("2027-03-01T11:00"), _utc("2027-03-01T13:00")),
         (_utc("2027-03-01T15:00"), _utc("2027-03-01T16:00"))]
    )  # fmt: skip
    assert len(list(blocks)) == 2
    cut = blocks.minus(Intervals([(_utc("2027-03-01T11:00"), _utc("2027-03-01T12:00"))]))
    assert [(s.hour, e.hour) for s, e in cut] == [(10, 11), (12, 13), (15, 16)]
    assert blocks.overlaps(_utc("2027-03-01T12:59"), _utc("2027-03-01T14:00"))
    assert not blocks.overlaps(_utc("2027-03-01T13:00"), _utc("2027-03-01T15:00"))
    assert blocks.covers(_utc("2027-03-01T10:30"), _utc("2027-03-01T13:00"))
    assert not blocks.covers(_utc("2027-03-01T12:30"), _utc("2027-03-01T15:30"))
