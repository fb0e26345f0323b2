"""Turning API calls into workflow messages, and Temporal's answers into API errors."""

import asyncio
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.refusals import refusal_message
from api.schemas import OrderCreate
from api.workflow_engine import (
    ADMISSION_RPC_TIMEOUT,
    RESULT_BOUND_S,
    RESULT_NOT_KNOWN_YET,
    RESULT_RPC_TIMEOUT,
    engine_call,
    update_slot,
)
from mentoring.contract import ORDER_WORKFLOW, Update
from mentoring.domain import (
    REFUSAL_RECORDED,
    CancelInput,
    InvoiceReadyInput,
    MentorDecisionInput,
    MentorInfo,
    OrderInput,
    OrderPolicy,
    OrderState,
    Person,
    RescheduleInput,
    ResolveInput,
    request_fingerprint,
    workflow_id_for,
)
from mentoring.settings import Settings
from mentoring.tables import Mentor, Order, OrderEvent

IDEMPOTENCY_NAMESPACE = uuid.UUID("8f5d7e2a-3c1b-4d8e-9a6f-2b7c4e1d0a93")


def order_id_for(idempotency_key: str | None) -> uuid.UUID:
    """Same key, same order id: the workflow id `order-<id>` then dedups in Temporal too."""
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key)


def price_of(mentor: Mentor, duration_minutes: int) -> int:
    return math.ceil(mentor.hourly_rate * duration_minutes / 60)


def policy_of(settings: Settings) -> OrderPolicy:
    return OrderPolicy(
        payment_window_s=int(settings.payment_window.total_seconds()),
        payment_cutoff_before_start_s=int(settings.payment_cutoff_before_start.total_seconds()),
        decision_window_s=int(settings.decision_window.total_seconds()),
        decision_cutoff_before_start_s=int(settings.decision_cutoff_before_start.total_seconds()),
        mentee_cancellation_cutoff_s=int(settings.mentee_cancellation_cutoff.total_seconds()),
        reminder_offsets_s=[int(offset.total_seconds()) for offset in settings.reminder_offsets],
        late_payment_grace_s=int(settings.late_payment_grace.total_seconds()),
        refund_check_interval_s=int(settings.refund_check_interval.total_seconds()),
        refund_checks=settings.refund_checks,
    )


async def load_order(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    return await session.get(Order, order_id, populate_existing=True)


async def load_timeline(session: AsyncSession, order_id: uuid.UUID) -> list[OrderEvent]:
    rows = await session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.at, OrderEvent.id)
    )
    return list(rows)


async def release_connection(session: AsyncSession) -> None:
    """End the session's read transaction before waiting on a workflow: its connection goes
    back to the pool instead of idling in transaction for as long as the workflow takes (the
    activities the wait depends on need connections too; the session reconnects when used)."""
    await session.commit()


def _cause(error: WorkflowUpdateFailedError) -> ApplicationError | None:
    cause = error.cause
    return cause if isinstance(cause, ApplicationError) else None


def validate_order_request(body: OrderCreate, settings: Settings, now: datetime) -> None:
    if body.duration_minutes not in settings.allowed_durations_minutes:
        raise ApiError(
            422,
            "invalid_duration",
            f"duration_minutes must be one of {settings.allowed_durations_minutes}",
        )
    if body.start_time <= now:
        raise ApiError(422, "start_in_past", "start_time is in the past")
    if body.start_time < now + settings.minimum_lead_time:
        hours = settings.minimum_lead_time.total_seconds() / 3600
        raise ApiError(
            422, "start_too_soon", f"a session must be booked at least {hours:g} hours ahead"
        )


def build_order_input(
    order_id: uuid.UUID,
    body: OrderCreate,
    mentor: Mentor,
    settings: Settings,
    idempotency_key: str | None,
    now: datetime,
) -> OrderInput:
    return OrderInput(
        order_id=str(order_id),
        request_hash=request_fingerprint(json.dumps(body.model_dump(mode="json"), sort_keys=True)),
        mentor=MentorInfo(
            id=str(mentor.id),
            name=mentor.name,
            email=mentor.email,
            timezone=mentor.timezone,
            calendar_id=mentor.calendar_id or settings.google_calendar_id,
            locale=mentor.locale,
        ),
        mentee=Person(
            name=body.mentee.name,
            email=str(body.mentee.email),
            locale=body.mentee.locale,
            timezone=body.mentee.timezone,
        ),
        topic=body.topic,
        notes=body.notes,
        start_time=body.start_time.astimezone(UTC),
        duration_minutes=body.duration_minutes,
        amount=price_of(mentor, body.duration_minutes),
        currency=settings.currency,
        policy=policy_of(settings),
        created_at=now,
        idempotency_key=idempotency_key,
    )


_NOT_STARTED_YET = (
    "the workflow engine did not take the order in time; retry with the same Idempotency-Key"
)


async def start_order(client: Client, settings: Settings, order: OrderInput) -> None:
    """Start the order's workflow and return once its invoice exists (update-with-start)."""
    operation: WithStartWorkflowOperation[Any, OrderState] = WithStartWorkflowOperation(
        ORDER_WORKFLOW,
        order,
        id=workflow_id_for(order.order_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        task_queue=settings.temporal_task_queue,
        result_type=OrderState,
    )
    try:
        async with engine_call(late_message=_NOT_STARTED_YET):
            invoice_ready = await client.start_update_with_start_workflow(
                Update.INVOICE_READY,
                InvoiceReadyInput(order.request_hash),
                start_workflow_operation=operation,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=str,
                rpc_timeout=ADMISSION_RPC_TIMEOUT,
            )
        async with asyncio.timeout(settings.invoice_wait_timeout.total_seconds()):
            await invoice_ready.result()
    except WorkflowUpdateFailedError as error:
        cause = _cause(error)
        code = cause.type if cause is not None and cause.type else "order_rejected"
        status = 503 if code == "payment_provider_unavailable" else 409
        message = refusal_message(code, cause.message if cause else None)
        raise ApiError(status, code, message) from error
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
        raise ApiError(
            503,
            "payment_provider_unavailable",
            "the invoice is not ready yet; retry with the same Idempotency-Key",
            {"order_id": order.order_id},
        ) from error
    except WorkflowAlreadyStartedError as error:
        # The key names a closed order; the caller found no row for it, and only an order
        # refused for its slot closes without one.
        raise ApiError(
            409, "slot_unavailable", "the mentor already has an active order overlapping this time"
        ) from error


REQUEST_NAMES: dict[type, str] = {
    MentorDecisionInput: "decision",
    CancelInput: "cancel",
    RescheduleInput: "reschedule",
    ResolveInput: "resolve",
}


async def record_refusal(
    session: AsyncSession, order: Order, request: str, actor: str, code: str, message: str
) -> None:
    """A request the workflow's validator refused joins the timeline (it has no history)."""
    session.add(
        OrderEvent(
            order_id=order.id,
            seq=None,
            at=datetime.now(UTC),
            event="request_refused",
            from_status=order.status,
            to_status=order.status,
            data={"request": request, "by": actor, "type": code, "message": message},
        )
    )
    await session.commit()


def update_id_for(request: str, idempotency_key: str | None) -> str | None:
    """The client's Idempotency-Key names the update: Temporal answers a retry of it with the
    first one's outcome instead of running it again."""
    return f"{request}:{idempotency_key}" if idempotency_key is not None else None


async def send_request(
    client: Client,
    session: AsyncSession,
    order: Order,
    update: Update,
    body: MentorDecisionInput | CancelInput | RescheduleInput | ResolveInput,
    idempotency_key: str | None = None,
) -> None:
    """Send an update to the order's workflow; a refusal becomes a 409 with its reason."""
    handle = client.get_workflow_handle(workflow_id_for(str(order.id)))
    request = REQUEST_NAMES[type(body)]
    await release_connection(session)
    try:
        async with update_slot(order.id):
            async with engine_call():
                accepted = await handle.start_update(
                    update,
                    body,
                    id=update_id_for(request, idempotency_key),
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    result_type=str,
                    rpc_timeout=ADMISSION_RPC_TIMEOUT,
                )
            async with engine_call(RESULT_BOUND_S, RESULT_NOT_KNOWN_YET):
                await accepted.result(rpc_timeout=RESULT_RPC_TIMEOUT)
    except WorkflowUpdateFailedError as error:
        cause = _cause(error)
        code = cause.type if cause is not None and cause.type else "not_allowed"
        message = refusal_message(code, cause.message if cause else None)
        if cause is None or REFUSAL_RECORDED not in cause.details:
            actor = body.actor if isinstance(body, MentorDecisionInput) else body.by
            await record_refusal(session, order, request, actor, code, message)
        raise ApiError(409, code, message) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(409, "order_closed", "the order has ended") from error
        raise
