"""An admin resolving an order's flags: through its workflow while it runs (the machine clears
the flags and records the resolution), or, once the workflow has closed, in the read model
alone (nothing can flag the order again then)."""

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import ApiError
from api.ordering import load_order, send_request
from api.schemas import NO_NUL
from mentoring.contract import Update
from mentoring.domain import RefundStatus, ResolveInput
from mentoring.tables import Order, OrderEvent

FlagCode = Literal[
    "payment_mismatch",
    "payment_for_unknown_invoice",
    "payment_unverified",
    "invoice_not_closed",
    "booking_failed",
    "calendar_cleanup_failed",
    "calendar_move_failed",
    "refund_manual_required",
    "refund_failed",
    "refund_still_pending",
    "email_failed",
]
REFUND_PAID_BY_HAND = ("refund_manual_required", "refund_failed")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="what was done")
    flags: list[FlagCode] = Field(
        default_factory=list, max_length=11, description="the flags dealt with; empty: all"
    )
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="the transfer's reference, required when a refund was paid by hand",
    )


def raised_flags(order: Order) -> list[str]:
    """The codes of the order's open flags, from its admin note (`code: detail; ...`)."""
    if not order.needs_admin or not order.admin_note:
        return []
    return [part.split(":", 1)[0].strip() for part in order.admin_note.split(";")]


async def _resolve_closed(session: AsyncSession, order: Order, body: ResolveIn) -> None:
    raised = raised_flags(order)
    resolved = [code for code in raised if not body.flags or code in body.flags]
    if not resolved or any(code not in raised for code in body.flags):
        raise ApiError(409, "nothing_to_resolve", "the order has no such flag open")
    paid_by_hand = any(code in REFUND_PAID_BY_HAND for code in resolved)
    if paid_by_hand and not body.reference:
        raise ApiError(
            409, "transfer_reference_required", "name the transfer that paid the refund back"
        )
    kept = [
        part for part in (order.admin_note or "").split("; ") if part.split(":")[0] not in resolved
    ]
    order.admin_note = "; ".join(kept) or None
    order.needs_admin = bool(kept)
    if paid_by_hand:
        order.refund_status = str(RefundStatus.SUCCEEDED)
        order.refund_id = f"manual:{body.reference}"
    now = datetime.now(UTC)
    order.updated_at = now
    session.add(
        OrderEvent(
            order_id=order.id,
            seq=None,
            at=now,
            event="flag_resolved",
            from_status=order.status,
            to_status=order.status,
            data={
                "flags": ",".join(resolved),
                "note": body.note,
                "reference": body.reference or "",
                "actor": "admin",
            },
        )
    )
    await session.commit()


async def resolve_order(
    temporal: Client, session: AsyncSession, order_id: uuid.UUID, body: ResolveIn
) -> None:
    """Clear the flags `body` names (all when none), with its note; 409 when none is open."""
    order = await load_order(session, order_id)
    if order is None:
        raise ApiError(404, "order_not_found", "no order with this id")
    if not order.needs_admin:
        raise ApiError(409, "nothing_to_resolve", "the order has no open flag")
    request = ResolveInput(note=body.note, flags=list(body.flags), reference=body.reference)
    try:
        await send_request(temporal, session, order, Update.RESOLVE, request)
    except ApiError as error:
        if error.code != "order_closed":
            raise
        order = await load_order(session, order_id)
        assert order is not None
        await _resolve_closed(session, order, body)
