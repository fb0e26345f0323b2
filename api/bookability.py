"""What the API knows of a mentor's time, gathered for the pure decision in `mentoring.slots`:
their availability, our active orders, and their own calendar's busy blocks."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.calendar_busy import CalendarBusy
from api.errors import ApiError
from mentoring.availability import Availability
from mentoring.domain import ACTIVE_STATUSES
from mentoring.slots import Intervals, MentorTime, verdict
from mentoring.tables import Mentor, MentorAvailability, Order

MAX_BUFFER = timedelta(minutes=240)


async def calendar_busy(request: Request) -> CalendarBusy:
    busy: CalendarBusy = request.app.state.calendar_busy
    return busy


CalendarBusyDep = Annotated[CalendarBusy, Depends(calendar_busy)]


@dataclass(frozen=True)
class MentorSchedule:
    time: MentorTime
    calendar_checked: bool


def calendar_of(mentor: Mentor) -> str:
    """The calendar whose busy blocks count: the mentor's calendar id, else their email."""
    return mentor.calendar_id or mentor.email


async def load_availability(session: AsyncSession, mentor_id: uuid.UUID) -> Availability | None:
    row = await session.get(MentorAvailability, mentor_id)
    return Availability.model_validate(row.rules) if row is not None else None


async def mentor_schedule(
    session: AsyncSession,
    busy: CalendarBusy,
    mentor: Mentor,
    window: tuple[datetime, datetime],
    leaving_out: uuid.UUID | None = None,
) -> MentorSchedule:
    """The mentor's time around `window` (buffers included); `leaving_out` an order of theirs
    whose own session does not count (the order being rescheduled)."""
    start, end = window[0] - MAX_BUFFER, window[1] + MAX_BUFFER
    availability = await load_availability(session, mentor.id)
    rows = (
        await session.execute(
            select(
                Order.id, Order.start_time, Order.end_time, Order.status, Order.calendar_event_id
            ).where(Order.mentor_id == mentor.id, Order.start_time < end, Order.end_time > start)
        )
    ).all()
    active = {str(status) for status in ACTIVE_STATUSES}
    orders = Intervals(
        (row.start_time, row.end_time)
        for row in rows
        if row.status in active and row.id != leaving_out
    )
    # The events this service booked are orders already: out of the calendar's busy blocks.
    ours = Intervals(
        (row.start_time, row.end_time)
        for row in rows
        if row.calendar_event_id is not None or row.status in active
    )
    await session.commit()
    calendar = await busy.busy(calendar_of(mentor), start, end)
    mentor_time = MentorTime(
        zone=ZoneInfo((availability.timezone if availability else None) or mentor.timezone),
        availability=availability,
        orders=orders,
        busy=calendar.minus(ours) if calendar is not None else Intervals(),
    )
    return MentorSchedule(mentor_time, calendar_checked=calendar is not None)


async def check_bookable(
    session: AsyncSession,
    busy: CalendarBusy,
    mentor: Mentor,
    start: datetime,
    duration: timedelta,
    now: datetime,
    leaving_out: uuid.UUID | None = None,
) -> None:
    """Raise the 409 that says why the session cannot be booked at `start`, if it cannot."""
    schedule = await mentor_schedule(session, busy, mentor, (start, start + duration), leaving_out)
    refused = verdict(start, duration, schedule.time, now)
    if refused is not None:
        raise ApiError(409, str(refused.refusal), refused.message)


async def check_reschedulable(
    session: AsyncSession, busy: CalendarBusy, order: Order, start: datetime, now: datetime
) -> None:
    """The same rules for an order's new time, its own session left out. An order that has
    ended is left to its workflow to refuse, with the reason that it ended."""
    if order.status not in {str(status) for status in ACTIVE_STATUSES}:
        return
    mentor = await session.get(Mentor, order.mentor_id)
    if mentor is None:
        return
    duration = timedelta(minutes=order.duration_minutes)
    await check_bookable(session, busy, mentor, start, duration, now, leaving_out=order.id)
