"""Mentors: created and changed by admin, read by the frontend. A mentor made inactive takes no
new orders; their orders run to their end, at the price fixed when each was created."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import AdminCaller, FrontendCaller, SessionDep
from api.errors import ApiError, error_responses
from api.mentor_schemas import MentorUpdate
from api.schemas import MentorCreate, MentorOut
from mentoring.tables import Mentor

router = APIRouter(prefix="/v1/mentors", tags=["mentors"])

CREATE_EXAMPLES: dict[str, Any] = {
    "jakarta": {
        "summary": "A mentor in Jakarta, Indonesian emails",
        "value": {
            "name": "Ayu Lestari",
            "email": "ayu@example.com",
            "timezone": "Asia/Jakarta",
            "hourly_rate": 300000,
            "locale": "id",
        },
    },
    "berlin": {
        "summary": "A mentor in Berlin with their own calendar, English emails",
        "value": {
            "name": "Jonas Becker",
            "email": "jonas@example.com",
            "timezone": "Europe/Berlin",
            "hourly_rate": 450000,
            "calendar_id": "jonas@example.com",
            "locale": "en",
        },
    },
}

UPDATE_EXAMPLES: dict[str, Any] = {
    "rate": {"summary": "A new hourly rate (new orders only)", "value": {"hourly_rate": 350000}},
    "retire": {"summary": "No new orders", "value": {"active": False}},
}


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 401, 403, 409, 422, 503)
)
async def create_mentor(
    body: Annotated[MentorCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    _: AdminCaller,
    session: SessionDep,
) -> MentorOut:
    mentor = Mentor(id=uuid.uuid4(), active=True, **body.model_dump(mode="json"))
    session.add(mentor)
    try:
        await session.commit()
    except IntegrityError as error:
        raise ApiError(409, "mentor_exists", "a mentor with this email already exists") from error
    return MentorOut.of(mentor)


@router.get("", responses=error_responses(401, 503))
async def list_mentors(_: FrontendCaller, session: SessionDep) -> list[MentorOut]:
    mentors = await session.scalars(select(Mentor).order_by(Mentor.created_at))
    return [MentorOut.of(mentor) for mentor in mentors]


@router.get("/{mentor_id}", responses=error_responses(401, 404, 422, 503))
async def get_mentor(mentor_id: uuid.UUID, _: FrontendCaller, session: SessionDep) -> MentorOut:
    mentor = await session.get(Mentor, mentor_id)
    if mentor is None:
        raise ApiError(404, "mentor_not_found", "no mentor with this id")
    return MentorOut.of(mentor)


@router.patch("/{mentor_id}", responses=error_responses(400, 401, 403, 404, 409, 422, 503))
async def update_mentor(
    mentor_id: uuid.UUID,
    body: Annotated[MentorUpdate, Body(openapi_examples=UPDATE_EXAMPLES)],
    _: AdminCaller,
    session: SessionDep,
) -> MentorOut:
    mentor = await session.get(Mentor, mentor_id)
    if mentor is None:
        raise ApiError(404, "mentor_not_found", "no mentor with this id")
    for name, value in body.model_dump(mode="json", exclude_unset=True).items():
        if value is not None or name == "calendar_id":
            setattr(mentor, name, value)
    try:
        await session.commit()
    except IntegrityError as error:
        raise ApiError(409, "mentor_exists", "a mentor with this email already exists") from error
    return MentorOut.of(mentor)
