"""A mentor's availability (set by admin or by the mentor with their token) and the free slots
the frontend offers from it."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.dialects.postgresql import insert

from api.bookability import CalendarBusyDep, load_availability, mentor_schedule
from api.deps import (
    AdminCaller,
    FrontendCaller,
    MentorOrAdmin,
    SessionDep,
    SettingsDep,
    only_query,
)
from api.errors import ApiError, error_responses
from api.mentor_schemas import AvailabilityToken, Slot, SlotsOut
from mentoring.availability import Availability, problems
from mentoring.slots import free_slots
from mentoring.tables import Mentor, MentorAvailability
from mentoring.tokens import AVAILABILITY_LINK_TTL, availability_token

router = APIRouter(prefix="/v1/mentors", tags=["availability"])

MAX_SLOTS_WINDOW = timedelta(days=31)

AVAILABILITY_EXAMPLES: dict[str, Any] = {
    "office_hours": {
        "summary": "Weekdays, a holiday off, a shorter Sunday",
        "value": {
            "weekly": [
                {"day": "mon", "start": "09:00", "end": "12:00"},
                {"day": "mon", "start": "13:00", "end": "17:00"},
                {"day": "wed", "start": "09:00", "end": "17:00"},
                {"day": "fri", "start": "18:00", "end": "21:00"},
            ],
            "exceptions": [
                {"date": "2026-12-25", "unavailable": True},
                {"date": "2026-12-27", "start": "13:00", "end": "15:00"},
            ],
            "buffer_minutes": 15,
            "minimum_notice": "PT3H",
            "horizon_days": 60,
            "slot_step_minutes": 30,
        },
    },
}


async def _mentor(session: SessionDep, mentor_id: uuid.UUID) -> Mentor:
    mentor = await session.get(Mentor, mentor_id)
    if mentor is None:
        raise ApiError(404, "mentor_not_found", "no mentor with this id")
    return mentor


def _answer(availability: Availability, mentor: Mentor) -> Availability:
    return availability.model_copy(update={"timezone": availability.timezone or mentor.timezone})


@router.put("/{mentor_id}/availability", responses=error_responses(400, 401, 403, 404, 422, 503))
async def set_availability(
    mentor_id: uuid.UUID,
    body: Annotated[Availability, Body(openapi_examples=AVAILABILITY_EXAMPLES)],
    _: MentorOrAdmin,
    session: SessionDep,
) -> Availability:
    """Replace the mentor's availability. Orders already made keep their time."""
    found = problems(body)
    if found:
        raise ApiError(
            422,
            "invalid_availability",
            "; ".join(f"{'.'.join(map(str, p.field))}: {p.message}" for p in found),
            [{"loc": ["body", *p.field], "msg": p.message} for p in found],
        )
    mentor = await _mentor(session, mentor_id)
    rules = body.model_dump(mode="json")
    now = datetime.now(UTC)
    await session.execute(
        insert(MentorAvailability)
        .values(mentor_id=mentor_id, rules=rules, updated_at=now)
        .on_conflict_do_update(
            index_elements=["mentor_id"], set_={"rules": rules, "updated_at": now}
        )
    )
    await session.commit()
    return _answer(body, mentor)


@router.get("/{mentor_id}/availability", responses=error_responses(401, 403, 404, 422, 503))
async def get_availability(
    mentor_id: uuid.UUID, _: MentorOrAdmin, session: SessionDep
) -> Availability | None:
    """The mentor's availability; null if they have not set one (bookable at any time)."""
    mentor = await _mentor(session, mentor_id)
    availability = await load_availability(session, mentor_id)
    return _answer(availability, mentor) if availability is not None else None


@router.post("/{mentor_id}/availability-token", responses=error_responses(401, 403, 404, 422, 503))
async def issue_availability_token(
    mentor_id: uuid.UUID, _: AdminCaller, session: SessionDep, settings: SettingsDep
) -> AvailabilityToken:
    """A token the mentor uses to read and set their own availability (the admin sends it)."""
    await _mentor(session, mentor_id)
    if not settings.mentor_token_secret:
        raise ApiError(503, "tokens_unavailable", "MENTOR_TOKEN_SECRET is not set")
    return AvailabilityToken(
        token=availability_token(settings.mentor_token_secret, str(mentor_id)),
        expires_at=datetime.now(UTC) + AVAILABILITY_LINK_TTL,
    )


@router.get(
    "/{mentor_id}/slots",
    responses=error_responses(401, 404, 422, 503),
    dependencies=[Depends(only_query("from", "to", "duration_minutes"))],
)
async def list_slots(
    mentor_id: uuid.UUID,
    _: FrontendCaller,
    session: SessionDep,
    settings: SettingsDep,
    busy: CalendarBusyDep,
    from_: Annotated[datetime, Query(alias="from", description="RFC 3339, with its offset")],
    to: Annotated[datetime, Query(description="RFC 3339, at most 31 days after `from`")],
    duration_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
) -> SlotsOut:
    """Every start the mentor can take a session of `duration_minutes` at, in [from, to)."""
    if from_.tzinfo is None or to.tzinfo is None:
        raise ApiError(422, "invalid_window", "from and to need their UTC offset (RFC 3339)")
    if to <= from_:
        raise ApiError(422, "invalid_window", "to must be after from")
    if to - from_ > MAX_SLOTS_WINDOW:
        raise ApiError(422, "window_too_long", "at most 31 days between from and to")
    if duration_minutes not in settings.allowed_durations_minutes:
        raise ApiError(
            422,
            "invalid_duration",
            f"duration_minutes must be one of {settings.allowed_durations_minutes}",
        )
    mentor = await _mentor(session, mentor_id)
    now = datetime.now(UTC)
    earliest = max(from_.astimezone(UTC), now + settings.minimum_lead_time)
    duration = timedelta(minutes=duration_minutes)
    schedule = await mentor_schedule(session, busy, mentor, (from_, to + duration))
    slots = (
        free_slots(earliest, to.astimezone(UTC), duration, schedule.time, now)
        if mentor.active and earliest < to
        else []
    )
    return SlotsOut(
        mentor_id=mentor.id,
        timezone=str(schedule.time.zone),
        duration_minutes=duration_minutes,
        calendar_checked=schedule.calendar_checked,
        slots=[Slot(start=start, end=end) for start, end in slots],
    )
