"""A mentor's availability as they state it: what is accepted, and what is refused naming the
field at fault."""

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from mentoring.availability import Availability, problems


def _errors(body: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        Availability.model_validate(body)
    return [(tuple(error["loc"]), error["msg"]) for error in caught.value.errors()]


def test_the_example_of_the_issue_is_read_as_written() -> None:
    availability = Availability.model_validate(
        {
            "weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}],
            "exceptions": [
                {"date": "2026-12-25", "unavailable": True},
                {"date": "2026-12-27", "start": "13:00", "end": "15:00"},
            ],
            "buffer_minutes": 15,
            "minimum_notice": "PT3H",
            "horizon_days": 60,
            "slot_step_minutes": 30,
        }
    )
    assert availability.minimum_notice == timedelta(hours=3)
    assert availability.ranges_on(date(2026, 12, 28)) == [(9 * 60, 17 * 60)]  # a Monday
    assert availability.ranges_on(date(2026, 12, 25)) == []
    assert availability.ranges_on(date(2026, 12, 27)) == [(13 * 60, 15 * 60)]
    assert availability.ranges_on(date(2026, 12, 29)) == []  # Tuesday: no hours


def test_several_ranges_a_day_and_an_exception_replacing_them() -> None:
    availability = Availability.model_validate(
        {
            "weekly": [
                {"day": "mon", "start": "13:00", "end": "17:00"},
                {"day": "mon", "start": "09:00", "end": "12:00"},
                {"day": "fri", "start": "20:00", "end": "24:00"},
            ],
            "exceptions": [
                {"date": "2026-12-07", "start": "10:00", "end": "11:00"},
                {"date": "2026-12-07", "start": "15:00", "end": "16:00"},
            ],
        }
    )
    assert availability.ranges_on(date(2026, 11, 30)) == [(540, 720), (780, 1020)]
    assert availability.ranges_on(date(2026, 12, 7)) == [(600, 660), (900, 960)]
    assert availability.ranges_on(date(2026, 12, 4)) == [(1200, 1440)]


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        (
            {"weekly": [{"day": "someday", "start": "09:00", "end": "10:00"}]},
            ("weekly", 0, "day"),
            "'mon'",
        ),
        (
            {"weekly": [{"day": "mon", "start": "9am", "end": "10:00"}]},
            ("weekly", 0, "start"),
            "pattern",
        ),
        (
            {"weekly": [{"day": "mon", "start": "24:00", "end": "24:00"}]},
            ("weekly", 0, "start"),
            "pattern",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, ("timezone",), "unknown time zone"),
        ({"buffer_minutes": -5}, ("buffer_minutes",), "greater than or equal to 0"),
        ({"slot_step_minutes": 0}, ("slot_step_minutes",), "greater than or equal to 5"),
        ({"horizon_days": 0}, ("horizon_days",), "greater than or equal to 1"),
        (
            {"exceptions": [{"date": "2026-12-25"}]},
            ("exceptions", 0, "DayOff", "unavailable"),
            "required",
        ),
        (
            {"exceptions": [{"date": "2026-12-25", "unavailable": True, "start": "09:00"}]},
            ("exceptions", 0, "DayOff", "start"),
            "Extra inputs",
        ),
        (
            {"exceptions": [{"date": "2026-02-30", "unavailable": True}]},
            ("exceptions", 0, "DayOff", "date"),
            "date",
        ),
        ({"weekly": [], "holidays": []}, ("holidays",), "Extra inputs"),
    ],
)
def test_bad_fields_are_refused_by_the_schema_naming_the_field(
    body: dict[str, Any], where: tuple[int | str, ...], says: str
) -> None:
    errors = _errors(body)
    assert any(loc == where and says in message for loc, message in errors), errors


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        ({"weekly": [{"day": "mon", "start": "17:00", "end": "09:00"}]}, ("weekly", 0), "after"),
        (
            {
                "weekly": [
                    {"day": "tue", "start": "09:00", "end": "12:00"},
                    {"day": "tue", "start": "11:00", "end": "13:00"},
                ]
            },
            ("weekly", 1),
            "ranges on tue overlap",
        ),
        ({"minimum_notice": "-PT1H"}, ("minimum_notice",), "between"),
        ({"minimum_notice": "P61D"}, ("minimum_notice",), "between"),
        (
            {
                "exceptions": [
                    {"date": "2026-12-25", "unavailable": True},
                    {"date": "2026-12-25", "start": "09:00", "end": "10:00"},
                ]
            },
            ("exceptions", 0),
            "unavailable and has hours",
        ),
        (
            {
                "exceptions": [
                    {"date": "2026-12-26", "start": "09:00", "end": "11:00"},
                    {"date": "2026-12-26", "start": "10:00", "end": "12:00"},
                ]
            },
            ("exceptions", 1),
            "ranges on 2026-12-26 overlap",
        ),
    ],
)
def test_rules_between_fields_name_the_field(
    body: dict[str, Any], where: tuple[int | str, ...], says: str
) -> None:
    found = problems(Availability.model_validate(body))
    assert any(p.field == where and says in p.message for p in found), found


def test_a_good_availability_has_no_problems() -> None:
    body = {
        "weekly": [
            {"day": "mon", "start": "09:00", "end": "12:00"},
            {"day": "mon", "start": "12:00", "end": "24:00"},
        ],
        "exceptions": [{"date": "2026-12-25", "unavailable": True}],
    }
    assert problems(Availability.model_validate(body)) == []
