"""Orders: created by the frontend, decided by the mentor, read by all three."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, status
from sqlalchemy import func, select

from api.bookability import CalendarBusyDep, check_bookable, check_reschedulable
from api.deps import (
    AdminCaller,
    Caller,
    FrontendCaller,
    OrderActor,
    SessionDep,
    SettingsDep,
    TemporalDep,
    only_query,
)
from api.errors import ApiError, error_responses
from api.metrics import ORDERS_CREATED
from api.ordering import (
    build_order_input,
    load_order,
    load_timeline,
    order_id_for,
    release_connection,
    send_request,
    start_order,
    validate_order_request,
)
from api.resolution import ResolveIn, resolve_order
from api.schemas import (
    NO_NUL,
    CancelIn,
    DecisionIn,
    OrderCreate,
    OrderOut,
    OrderPage,
    RescheduleIn,
)
from mentoring.contract import Update
from mentoring.domain import Actor, CancelInput, MentorDecisionInput, OrderStatus, RescheduleInput
from mentoring.tables import Mentor, Order
from mentoring.tracing import tag_order

router = APIRouter(prefix="/v1/orders", tags=["orders"])

_ORDER_REQUEST_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429, 503)

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]
RequestKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="the same key for a retry of this request: it is answered with the first "
        "one's outcome (a different key is a new request)",
    ),
]


# Request examples for the OpenAPI document (Swagger UI's "Try it out", client generators).
_MENTOR_ID = "8a0c6a52-3c1e-4d7e-9a3b-2f6f0c1d9e47"
CREATE_EXAMPLES: dict[str, Any] = {
    "id": {
        "summary": "An Indonesian mentee in Jakarta",
        "value": {
            "mentor_id": _MENTOR_ID,
            "mentee": {
                "name": "Budi Santoso",
                "email": "budi@example.com",
                "locale": "id",
                "timezone": "Asia/Jakarta",
            },
            "topic": "Career switch into data engineering",
            "start_time": "2030-03-04T10:00:00+07:00",
            "duration_minutes": 60,
            "notes": "I work in accounting today.",
        },
    },
    "en": {
        "summary": "An English-speaking mentee in Berlin",
        "value": {
            "mentor_id": _MENTOR_ID,
            "mentee": {
                "name": "Anna Weber",
                "email": "anna@example.com",
                "locale": "en",
                "timezone": "Europe/Berlin",
            },
            "topic": "Preparing a system design interview",
            "start_time": "2030-03-04T09:00:00+01:00",
            "duration_minutes": 90,
        },
    },
}
DECISION_EXAMPLES: dict[str, Any] = {
    "approve": {"summary": "Approve", "value": {"decision": "approve"}},
    "decline": {
        "summary": "Decline with a reason",
        "value": {"decision": "decline", "reason": "I am travelling that week."},
    },
}
CANCEL_EXAMPLES: dict[str, Any] = {
    "mentee": {
        "summary": "The mentee cancels",
        "value": {"by": "mentee", "reason": "Something came up at work."},
    },
    "mentor": {"summary": "The mentor cancels (frontend key)", "value": {"by": "mentor"}},
}
RESCHEDULE_EXAMPLES: dict[str, Any] = {
    "later": {
        "summary": "Move the session a day later",
        "value": {"start_time": "2030-03-05T10:00:00+07:00", "by": "mentee"},
    },
}


async def _order_out(session: SessionDep, order_id: uuid.UUID) -> OrderOut:
    # Row and timeline from one snapshot: each transition commits both together, and two reads
    # in READ COMMITTED could each see a different side of one that committed in between.
    await session.commit()
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    order = await load_order(session, order_id)
    timeline = await load_timeline(session, order_id)
    if order is None:
        raise ApiError(404, "order_not_found", "no order with this id")
    return OrderOut.of(order, timeline)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 409, 422, 429, 503),
)
async def create_order(
    body: Annotated[OrderCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    caller: FrontendCaller,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    busy: CalendarBusyDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    now = datetime.now(UTC)
    order_id = order_id_for(idempotency_key)
    tag_order(order_id)
    mentor = await session.get(Mentor, body.mentor_id)
    if mentor is None:
        raise ApiError(422, "unknown_mentor", "no mentor with this mentor_id")
    order_input = build_order_input(order_id, body, mentor, settings, idempotency_key, now)
    existing = await load_order(session, order_id)
    if existing is not None:
        if existing.request_hash != order_input.request_hash:
            raise ApiError(
                409,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different order",
            )
        if existing.invoice_url is None and existing.status == "awaiting_payment":
            # A retry after a 503: wait again for the invoice of the order already started.
            await release_connection(session)
            await start_order(temporal, settings, order_input)
        return await _order_out(session, order_id)
    validate_order_request(body, settings, now)
    if not mentor.active:
        raise ApiError(409, "mentor_inactive", "this mentor takes no new sessions")
    duration = timedelta(minutes=body.duration_minutes)
    await check_bookable(session, busy, mentor, body.start_time.astimezone(UTC), duration, now)
    await release_connection(session)
    await start_order(temporal, settings, order_input)
    ORDERS_CREATED.inc()
    return await _order_out(session, order_id)


@router.get(
    "",
    responses=error_responses(401, 422, 503),
    dependencies=[
        Depends(only_query("status", "mentor_id", "mentee_email", "needs_admin", "limit", "offset"))
    ],
)
async def list_orders(
    _: FrontendCaller,
    session: SessionDep,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    needs_admin: Annotated[
        bool | None, Query(description="true: only the orders flagged for a person")
    ] = None,
    mentor_id: uuid.UUID | None = None,
    mentee_email: Annotated[str | None, Query(max_length=320, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> OrderPage:
    query = select(Order)
    if status_ is not None:
        query = query.where(Order.status == status_)
    if mentor_id is not None:
        query = query.where(Order.mentor_id == mentor_id)
    if mentee_email is not None:
        query = query.where(Order.mentee_email == mentee_email)
    if needs_admin is not None:
        query = query.where(Order.needs_admin == needs_admin)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Order.created_at.desc()).limit(limit).offset(offset)
    )
    return OrderPage(
        items=[OrderOut.of(order) for order in rows], total=total or 0, limit=limit, offset=offset
    )


@router.get("/{order_id}", responses=error_responses(401, 403, 404, 422, 503))
async def get_order(order_id: uuid.UUID, _: OrderActor, session: SessionDep) -> OrderOut:
    return await _order_out(session, order_id)


async def _require_order(session: SessionDep, order_id: uuid.UUID) -> Order:
    order = await load_order(session, order_id)
    if order is None:
        raise ApiError(404, "order_not_found", "no order with this id")
    return order


def _actor(caller: Caller, claimed: Actor | None) -> Actor:
    """Admin keys act as admin and mentor links as the mentor; the frontend says for whom,
    mentee or mentor, but never admin."""
    if caller.role == "admin":
        return "admin"
    if caller.role == "mentor":
        return "mentor"
    if claimed == "admin":
        raise ApiError(403, "forbidden", "only an admin key may act as admin")
    return claimed or "mentee"


@router.post("/{order_id}/decision", name="decide_order", responses=_ORDER_REQUEST_ERRORS)
async def decide(
    order_id: uuid.UUID,
    body: Annotated[DecisionIn, Body(openapi_examples=DECISION_EXAMPLES)],
    caller: OrderActor,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: RequestKey = None,
) -> OrderOut:
    order = await _require_order(session, order_id)
    actor: Actor = "admin" if caller.role == "admin" else "mentor"
    decision = MentorDecisionInput(decision=body.decision, reason=body.reason, actor=actor)
    await send_request(temporal, session, order, Update.MENTOR_DECISION, decision, idempotency_key)
    return await _order_out(session, order_id)


@router.post("/{order_id}/cancel", name="cancel_order", responses=_ORDER_REQUEST_ERRORS)
async def cancel(
    order_id: uuid.UUID,
    body: Annotated[CancelIn, Body(openapi_examples=CANCEL_EXAMPLES)],
    caller: OrderActor,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: RequestKey = None,
) -> OrderOut:
    order = await _require_order(session, order_id)
    request = CancelInput(by=_actor(caller, body.by), reason=body.reason)
    await send_request(temporal, session, order, Update.CANCEL, request, idempotency_key)
    return await _order_out(session, order_id)


@router.post("/{order_id}/reschedule", name="reschedule_order", responses=_ORDER_REQUEST_ERRORS)
async def reschedule(
    order_id: uuid.UUID,
    body: Annotated[RescheduleIn, Body(openapi_examples=RESCHEDULE_EXAMPLES)],
    caller: OrderActor,
    session: SessionDep,
    temporal: TemporalDep,
    busy: CalendarBusyDep,
    idempotency_key: RequestKey = None,
) -> OrderOut:
    order = await _require_order(session, order_id)
    request = RescheduleInput(
        start_time=body.start_time.astimezone(UTC), by=_actor(caller, body.by)
    )
    await check_reschedulable(session, busy, order, request.start_time, datetime.now(UTC))
    await send_request(temporal, session, order, Update.RESCHEDULE, request, idempotency_key)
    return await _order_out(session, order_id)


RESOLVE_EXAMPLES: dict[str, Any] = {
    "refund": {
        "summary": "A refund paid back by bank transfer",
        "value": {
            "note": "Paid back by BCA transfer",
            "flags": ["refund_manual_required"],
            "reference": "BCA-20261125-0042",
        },
    },
    "checked": {"summary": "Looked into, nothing to do", "value": {"note": "Checked with Xendit"}},
}


@router.post(
    "/{order_id}/resolve",
    name="resolve_order",
    responses=error_responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def resolve(
    order_id: uuid.UUID,
    body: Annotated[ResolveIn, Body(openapi_examples=RESOLVE_EXAMPLES)],
    _: AdminCaller,
    session: SessionDep,
    temporal: TemporalDep,
) -> OrderOut:
    """Clear the order's flags (those named, or all) once a person has dealt with them; the
    note (and a manual refund's transfer reference) joins the timeline."""
    await resolve_order(temporal, session, order_id, body)
    return await _order_out(session, order_id)
