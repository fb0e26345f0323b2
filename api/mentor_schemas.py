"""Bodies of the mentor routes beyond creating one: changing a mentor, their availability
token, and the free slots."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator

from api.schemas import NO_NUL, ONE_LINE, TIMEZONES, known_timezone


class MentorUpdate(BaseModel):
    """Only the fields given change (null keeps a field as it is, but for `calendar_id`, which
    it clears). A new rate prices new orders only."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=ONE_LINE)
    email: EmailStr | None = None
    hourly_rate: int | None = Field(default=None, gt=0, le=100_000_000, description="IDR/hour")
    timezone: str | None = Field(
        default=None,
        description="an IANA time zone",
        json_schema_extra={"enum": [*TIMEZONES, None]},
    )
    calendar_id: str | None = Field(default=None, max_length=320, pattern=NO_NUL)
    locale: Literal["id", "en"] | None = None
    active: bool | None = Field(
        default=None, description="false: no new orders (409 mentor_inactive); orders run on"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return known_timezone(value) if value is not None else None


class AvailabilityToken(BaseModel):
    token: str = Field(description="Bearer token (or `?token=`) for the mentor's availability")
    expires_at: datetime


class Slot(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class SlotsOut(BaseModel):
    mentor_id: uuid.UUID
    timezone: str = Field(description="the zone the mentor's hours are read in")
    duration_minutes: int
    calendar_checked: bool = Field(
        description="false: the mentor's Google Calendar did not answer in time; the slots "
        "come from their availability and our orders alone"
    )
    slots: list[Slot]
