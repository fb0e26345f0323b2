"""Read-model activities: the workflow's transitions written to Postgres, idempotently."""

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncpg.exceptions import ExclusionViolationError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.order_metrics import observe_transition
from activities.webhooks_out import enqueue, wake
from mentoring.db import session_factory
from mentoring.domain import OrderInput, OrderState, TransitionRecord
from mentoring.settings import Settings
from mentoring.tables import Order, OrderEvent

SLOT_UNAVAILABLE = "SlotUnavailable"


@dataclass
class CreateOrderRecordInput:
    order: OrderInput
    state: OrderState


def _state_columns(state: OrderState) -> dict[str, Any]:
    columns = dataclasses.asdict(state)
    columns["status"] = str(state.status)
    columns["payment_status"] = str(state.payment_status)
    columns["refund_status"] = str(state.refund_status)
    return columns


def _is_exclusion_violation(error: IntegrityError) -> bool:
    cause = getattr(error.orig, "__cause__", None)
    return isinstance(cause, ExclusionViolationError) or "orders_no_double_booking" in str(error)


def _slot_unavailable(error: IntegrityError) -> ApplicationError:
    return ApplicationError(
        "the mentor already has an active order overlapping this time",
        type=SLOT_UNAVAILABLE,
        non_retryable=True,
    )


class RecordActivities:
    def __init__(
        self, engine: AsyncEngine, client: Client | None = None, settings: Settings | None = None
    ) -> None:
        """With `client` and `settings`, each transition also wakes the deliveries of the
        outgoing webhooks it wrote."""
        self._sessions = session_factory(engine)
        self._client = client
        self._settings = settings

    async def _wake(self, endpoints: list[uuid.UUID], order_id: str) -> None:
        if endpoints and self._client is not None and self._settings is not None:
            await wake(self._client, self._settings, endpoints, order_id)

    @activity.defn
    async def create_order_record(self, request: CreateOrderRecordInput) -> None:
        """Insert the order, holding the mentor's time; the database refuses an overlap."""
        order = request.order
        values = {
            "id": uuid.UUID(order.order_id),
            "mentor_id": uuid.UUID(order.mentor.id),
            "mentee_name": order.mentee.name,
            "mentee_email": order.mentee.email,
            "mentee_locale": order.mentee.locale,
            "mentee_timezone": order.mentee.timezone,
            "topic": order.topic,
            "notes": order.notes,
            "duration_minutes": order.duration_minutes,
            "amount": order.amount,
            "currency": order.currency,
            "idempotency_key": order.idempotency_key,
            "request_hash": order.request_hash,
            "version": 1,
            "created_at": order.created_at,
            "updated_at": order.created_at,
            **_state_columns(request.state),
        }
        event = {
            "order_id": uuid.UUID(order.order_id),
            "seq": 1,
            "at": order.created_at,
            "event": "created",
            "from_status": None,
            "to_status": str(request.state.status),
            "data": {"amount": order.amount, "start_time": order.start_time.isoformat()},
        }
        async with self._sessions() as session:
            try:
                # Only a retry's own row may be skipped: an overlap must raise, and a bare
                # ON CONFLICT DO NOTHING would swallow the exclusion violation too.
                await session.execute(
                    insert(Order).values(**values).on_conflict_do_nothing(index_elements=["id"])
                )
                await session.execute(insert(OrderEvent).values(**event).on_conflict_do_nothing())
                created = TransitionRecord(
                    order_id=order.order_id,
                    seq=1,
                    at=order.created_at,
                    event="created",
                    from_status=None,
                    to_status=str(request.state.status),
                    state=request.state,
                )
                endpoints = await enqueue(session, created)
                await session.commit()
            except IntegrityError as error:
                if _is_exclusion_violation(error):
                    raise _slot_unavailable(error) from error
                raise
        await self._wake(endpoints, order.order_id)

    @activity.defn
    async def record_transition(self, record: TransitionRecord) -> None:
        """Write the workflow's state and append the timeline row; a retry changes nothing."""
        order_id = uuid.UUID(record.order_id)
        async with self._sessions() as session:
            try:
                # For the metrics (which flags are new), locked as the update would lock it.
                previous_note = await session.scalar(
                    select(Order.admin_note).where(Order.id == order_id).with_for_update()
                )
                await session.execute(
                    update(Order)
                    .where(Order.id == order_id, Order.version < record.seq)
                    .values(
                        version=record.seq, updated_at=record.at, **_state_columns(record.state)
                    )
                )
                appended = await session.execute(
                    insert(OrderEvent)
                    .values(
                        order_id=order_id,
                        seq=record.seq,
                        at=record.at,
                        event=record.event,
                        from_status=record.from_status,
                        to_status=record.to_status,
                        data=record.data,
                    )
                    .on_conflict_do_nothing()
                )
                endpoints = await enqueue(session, record)
                await session.commit()
            except IntegrityError as error:
                if _is_exclusion_violation(error):
                    raise _slot_unavailable(error) from error
                raise
        if appended.rowcount == 1:  # the first attempt that wrote it
            observe_transition(record, previous_note)
        await self._wake(endpoints, record.order_id)


@dataclass
class AppendEventInput:
    order_id: str
    event: str
    data: dict[str, str]


class TimelineActivities:
    """Entries in an order's timeline from outside its workflow (a late payment's refund)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    @activity.defn
    async def append_event(self, request: AppendEventInput) -> None:
        """Append an entry (seq None: not a transition of the order's own workflow), once."""
        async with self._sessions() as session:
            status = await session.scalar(
                select(Order.status).where(Order.id == uuid.UUID(request.order_id))
            )
            already = await session.scalar(
                select(OrderEvent.id).where(
                    OrderEvent.order_id == uuid.UUID(request.order_id),
                    OrderEvent.event == request.event,
                    OrderEvent.data == request.data,
                )
            )
            if status is None or already is not None:
                return  # not one of our orders, or a retry of an entry already written
            session.add(
                OrderEvent(
                    order_id=uuid.UUID(request.order_id),
                    seq=None,
                    at=datetime.now(UTC),
                    event=request.event,
                    from_status=status,
                    to_status=status,
                    data=request.data,
                )
            )
            await session.commit()
