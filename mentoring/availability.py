"""A mentor's availability, as they state it in their own time zone: weekly hours, dated
exceptions, and the rules around a session (buffer, notice, horizon, slot step).

Times are wall-clock times: "mon 09:00-17:00" is 09:00-17:00 in the mentor's zone on every
Monday, in winter and in summer alike. An exception replaces that date's weekly hours; a date
may have several exception ranges, or be marked unavailable.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_RANGES = 200
MAX_EXCEPTIONS = 1000


CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
CLOCK_OR_END_OF_DAY = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
MAX_NOTICE = timedelta(days=60)
_ZONES: list[JsonValue] = [*sorted(available_timezones())]


def clock_minutes(value: str) -> int:
    """`HH:MM` (or 24:00) as minutes after local midnight."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class ClockRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(pattern=CLOCK, examples=["09:00"], description="HH:MM, local time")
    end: str = Field(
        pattern=CLOCK_OR_END_OF_DAY, examples=["17:00"], description="HH:MM; 24:00 for midnight"
    )

    def minutes(self) -> tuple[int, int]:
        """(start, end) in minutes after local midnight."""
        return clock_minutes(self.start), clock_minutes(self.end)


class WeeklyRange(ClockRange):
    day: Day


class DateHours(ClockRange):
    """Hours that replace the date's weekly hours (several entries for several ranges)."""

    date: date
    unavailable: Literal[False] = False


class DayOff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    unavailable: Literal[True]


DateException = DateHours | DayOff


class Availability(BaseModel):
    """What `PUT /v1/mentors/{id}/availability` takes and `GET` answers. The schema checks each
    field; `problems` the rules between fields (end after start, no overlaps, notice range)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str | None = Field(
        default=None,
        description="the IANA zone the hours are read in; the mentor's time zone when absent",
        examples=["Europe/Berlin"],
        json_schema_extra={"enum": [*_ZONES, None]},
    )
    weekly: list[WeeklyRange] = Field(default_factory=list, max_length=MAX_RANGES)
    exceptions: list[DateException] = Field(default_factory=list, max_length=MAX_EXCEPTIONS)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    minimum_notice: timedelta = Field(
        default=timedelta(hours=3), description="ISO 8601 duration, PT0S to P60D, e.g. PT3H"
    )
    horizon_days: int = Field(default=60, ge=1, le=365)
    slot_step_minutes: int = Field(default=30, ge=5, le=240)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    def ranges_on(self, day: date) -> list[tuple[int, int]]:
        """The date's open ranges, in minutes after local midnight, sorted."""
        exceptions = [e for e in self.exceptions if e.date == day]
        if exceptions:
            spans = [e.minutes() for e in exceptions if isinstance(e, DateHours)]
        else:
            weekday = DAYS[day.weekday()]
            spans = [r.minutes() for r in self.weekly if r.day == weekday]
        return sorted(spans)


@dataclass(frozen=True)
class Problem:
    field: tuple[str | int, ...]
    message: str


def _overlaps(ranges: list[tuple[int, ClockRange]], where: str, label: str) -> Iterator[Problem]:
    spans = sorted((r.minutes(), i) for i, r in ranges)
    for (earlier, _), (later, i) in itertools.pairwise(spans):
        if later[0] < earlier[1]:
            yield Problem((where, i), f"ranges on {label} overlap")


def problems(availability: Availability) -> list[Problem]:
    """What is wrong between the fields of an availability the schema accepted."""
    found: list[Problem] = []
    for where, ranges in (
        ("weekly", list(enumerate(availability.weekly))),
        (
            "exceptions",
            [(i, e) for i, e in enumerate(availability.exceptions) if isinstance(e, DateHours)],
        ),
    ):
        for i, clock in ranges:
            start, end = clock.minutes()
            if end <= start:
                found.append(Problem((where, i), "end must be after start"))
    for day in DAYS:
        same = [(i, r) for i, r in enumerate(availability.weekly) if r.day == day]
        found += _overlaps(list(same), "weekly", day)
    for dated in sorted({e.date for e in availability.exceptions}):
        same_date = [(i, e) for i, e in enumerate(availability.exceptions) if e.date == dated]
        if any(isinstance(e, DayOff) for _, e in same_date) and len(same_date) > 1:
            found.append(
                Problem(("exceptions", same_date[0][0]), f"{dated} is unavailable and has hours")
            )
        hours = [(i, e) for i, e in same_date if isinstance(e, DateHours)]
        found += _overlaps(list(hours), "exceptions", str(dated))
    if not timedelta(0) <= availability.minimum_notice <= MAX_NOTICE:
        found.append(Problem(("minimum_notice",), "between PT0S and P60D"))
    return found


def local_instant(day: date, minutes: int, zone: tzinfo) -> datetime:
    """The instant (in UTC) of `minutes` after midnight on `day` on the wall clock of `zone`. A
    wall time the zone skips (the spring-forward hour) is read with the offset before the gap.
    UTC, because Python adds and compares datetimes of one zone by their wall clocks."""
    wall = (datetime.combine(day, time(0)) + timedelta(minutes=minutes)).replace(tzinfo=zone)
    return wall.astimezone(UTC)
