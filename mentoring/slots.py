"""Is this start bookable, and which starts are: one pure decision for the slots the frontend
offers, the orders it creates and the reschedules people ask for.

A start is bookable when the session lies inside the mentor's availability, at least their
minimum notice ahead and within their horizon, and the session widened by the buffer on both
sides overlaps neither an active order of ours nor a busy block of the mentor's own calendar.
"""

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from mentoring.availability import Availability, local_instant

Interval = tuple[datetime, datetime]
ANY_TIME_STEP = timedelta(minutes=30)
"""The step of the starts offered for a mentor who has not set an availability."""


class Refusal(StrEnum):
    OUTSIDE_AVAILABILITY = "outside_availability"
    SLOT_UNAVAILABLE = "slot_unavailable"
    MENTOR_BUSY = "mentor_busy"


@dataclass(frozen=True)
class Verdict:
    refusal: Refusal
    message: str


class Intervals:
    """Sorted, merged half-open intervals, asked whether a span overlaps any of them."""

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        merged: list[list[datetime]] = []
        for start, end in sorted(i for i in intervals if i[1] > i[0]):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def __iter__(self) -> Iterator[Interval]:
        return iter(zip(self.starts, self.ends, strict=True))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        i = bisect.bisect_right(self.ends, start)
        return i < len(self.starts) and self.starts[i] < end

    def covers(self, start: datetime, end: datetime) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end

    def minus(self, holes: "Intervals") -> "Intervals":
        """These intervals with every part that lies in `holes` cut out."""
        kept: list[Interval] = []
        for start, end in self:
            cursor = start
            i = bisect.bisect_right(holes.ends, start)
            while i < len(holes.starts) and holes.starts[i] < end:
                if holes.starts[i] > cursor:
                    kept.append((cursor, holes.starts[i]))
                cursor = max(cursor, holes.ends[i])
                i += 1
            if cursor < end:
                kept.append((cursor, end))
        return Intervals(kept)


@dataclass(frozen=True)
class MentorTime:
    """All that decides whether a mentor can take a session."""

    zone: ZoneInfo
    availability: Availability | None
    orders: Intervals = field(default_factory=Intervals)
    """The sessions of our active orders."""
    busy: Intervals = field(default_factory=Intervals)
    """The mentor's calendar's busy blocks, the events this service booked left out."""


def open_hours(
    availability: Availability, zone: ZoneInfo, start: datetime, end: datetime
) -> Intervals:
    """The instants in [start, end), give or take a day, the availability opens."""
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    spans: list[Interval] = []
    day = first
    while day <= last:
        for begin, finish in availability.ranges_on(day):
            spans.append((local_instant(day, begin, zone), local_instant(day, finish, zone)))
        day += timedelta(days=1)
    return Intervals(spans)


def _hours_refusal(
    start: datetime, end: datetime, availability: Availability, hours: Intervals, now: datetime
) -> str | None:
    if start < now + availability.minimum_notice:
        hours_ahead = availability.minimum_notice.total_seconds() / 3600
        return f"the mentor needs at least {hours_ahead:g} hours' notice"
    if start > now + timedelta(days=availability.horizon_days):
        return f"the mentor takes sessions at most {availability.horizon_days} days ahead"
    if not hours.covers(start, end):
        return "the mentor is not available at this time"
    return None


def verdict(
    start: datetime,
    duration: timedelta,
    mentor: MentorTime,
    now: datetime,
    hours: Intervals | None = None,
) -> Verdict | None:
    """None if the session starting at `start` can be booked, else why not. `hours` are the
    open hours around `start` when the caller already has them."""
    start = start.astimezone(UTC)
    end = start + duration
    buffer = timedelta(minutes=0)
    if mentor.availability is not None:
        availability = mentor.availability
        buffer = timedelta(minutes=availability.buffer_minutes)
        if hours is None:
            hours = open_hours(availability, mentor.zone, start, end)
        why = _hours_refusal(start, end, availability, hours, now)
        if why is not None:
            return Verdict(Refusal.OUTSIDE_AVAILABILITY, why)
    if mentor.orders.overlaps(start - buffer, end + buffer):
        return Verdict(
            Refusal.SLOT_UNAVAILABLE, "the mentor already has a session booked close to this time"
        )
    if mentor.busy.overlaps(start - buffer, end + buffer):
        return Verdict(Refusal.MENTOR_BUSY, "the mentor's calendar is busy at this time")
    return None


def _candidates(
    start: datetime, end: datetime, duration: timedelta, mentor: MentorTime, hours: Intervals | None
) -> Iterable[datetime]:
    """Every start in [start, end) on the slot step: from the beginning of each open range, or,
    for a mentor without availability, on the half hours of their zone."""
    if hours is None or mentor.availability is None:
        local = start.astimezone(mentor.zone)
        candidate = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        step = ANY_TIME_STEP
        while candidate < end:
            if candidate >= start:
                yield candidate
            candidate += step
        return
    step = timedelta(minutes=mentor.availability.slot_step_minutes)
    for begin, finish in hours:
        candidate = begin
        while candidate + duration <= finish and candidate < end:
            if candidate >= start:
                yield candidate
            candidate += step


def free_slots(
    start: datetime, end: datetime, duration: timedelta, mentor: MentorTime, now: datetime
) -> list[Interval]:
    """The bookable sessions of `duration` starting in [start, end), earliest first, in UTC."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    hours = None
    if mentor.availability is not None:
        hours = open_hours(mentor.availability, mentor.zone, start, end + duration)
    slots = {
        candidate
        for candidate in _candidates(start, end, duration, mentor, hours)
        if verdict(candidate, duration, mentor, now, hours) is None
    }
    return [(slot, slot + duration) for slot in sorted(slots)]
