"""Endpoints for programs (tests, scripts): act as the payer, inject faults, look inside."""

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from emulator.calendar_events import new_event
from emulator.callbacks import deliver
from emulator.clock import iso_millis, utcnow
from emulator.deps import ConfigDep, StateDep
from emulator.faults import FaultSpec
from emulator.ids import calendar_event_id
from emulator.payments import Payment, call_back_again, expire_and_call_back, find_invoice, pay
from emulator.state import EventRecord
from emulator.xendit_refunds import refund_callback

router = APIRouter(prefix="/sandbox", tags=["sandbox"])
Json = dict[str, Any]


@router.post("/faults", status_code=201)
async def add_fault(spec: FaultSpec, state: StateDep) -> Json:
    """The next `times` calls of `operation` wait `delay_seconds`, then answer `status`."""
    return asdict(state.faults.add(spec))


@router.get("/faults")
async def list_faults(state: StateDep) -> list[Json]:
    return state.faults.pending()


@router.delete("/faults", status_code=204)
async def clear_faults(state: StateDep) -> Response:
    state.faults.clear()
    return Response(status_code=204)


@router.get("/faults/played")
async def faults_played(state: StateDep) -> dict[str, int]:
    """How many faulted calls of each operation have finished: a test waits on this instead of
    sleeping out a fault's delay."""
    return state.faults.played()


@router.get("/calls")
async def calls(state: StateDep) -> dict[str, int]:
    """How many times each emulated operation was called: every authenticated call counts,
    faulted ones included; `calendar.conference` counts Meet rooms asked for."""
    return state.faults.calls()


@router.post("/invoices/{invoice_id}/pay")
async def pay_invoice(
    invoice_id: str, state: StateDep, config: ConfigDep, payment: Payment | None = None
) -> Json:
    """PENDING -> PAID and Xendit's PAID callback to the webhook; 409 if not PENDING."""
    outcome = await pay(config, find_invoice(state, invoice_id), payment or Payment())
    return outcome.as_json()


@router.post("/invoices/{invoice_id}/expire")
async def expire_invoice(invoice_id: str, state: StateDep, config: ConfigDep) -> Json:
    """PENDING -> EXPIRED and Xendit's EXPIRED callback; 409 if not PENDING."""
    outcome = await expire_and_call_back(config, find_invoice(state, invoice_id))
    return outcome.as_json()


@router.post("/invoices/{invoice_id}/callback")
async def resend_callback(invoice_id: str, state: StateDep, config: ConfigDep) -> Json:
    """The invoice's last callback again, as a duplicate delivery; 409 if it had none."""
    outcome = await call_back_again(config, find_invoice(state, invoice_id))
    return outcome.as_json()


@router.get("/invoices")
async def list_invoices(state: StateDep) -> list[Json]:
    return [record.invoice for record in state.invoices.values()]


@router.get("/refunds")
async def list_refunds(state: StateDep) -> list[Json]:
    return [record.refund for record in state.refunds.values()]


class RefundMode(BaseModel):
    settle: Literal["at_once", "later"]


class RefundSettlement(BaseModel):
    status: Literal["SUCCEEDED", "FAILED"] = "SUCCEEDED"
    callback: bool = True


@router.put("/refunds/mode")
async def set_refund_mode(mode: RefundMode, state: StateDep) -> RefundMode:
    """`later`: new refunds stay PENDING until settled through the endpoint below."""
    state.refunds_settle_at_once = mode.settle == "at_once"
    return mode


@router.post("/refunds/{refund_id}/settle")
async def settle_refund(
    refund_id: str, settlement: RefundSettlement, state: StateDep, config: ConfigDep
) -> Json:
    """PENDING -> SUCCEEDED or FAILED, then (unless `callback` is false) Xendit's refund
    callback to the service's refund webhook; 409 if the refund is not PENDING."""
    record = state.refunds.get(refund_id)
    if record is None:
        raise HTTPException(404, f"no refund {refund_id}")
    if record.refund["status"] != "PENDING":
        raise HTTPException(409, f"refund {refund_id} is {record.refund['status']}, not PENDING")
    now = utcnow()
    record.refund.update(status=settlement.status, updated=iso_millis(now))
    if settlement.status == "FAILED":
        record.refund["failure_code"] = "REFUND_FAILED"
    delivery = None
    if settlement.callback:
        payload = refund_callback(record.refund, state.user_id, now)
        delivery = await deliver(config, payload, config.refund_callback_url)
    return {"refund": record.refund, "callback": delivery.as_json() if delivery else None}


@router.get("/calendar/events")
async def list_events(state: StateDep) -> list[Json]:
    """Every event, cancelled ones included, each with its `calendarId`."""
    return [{**record.event, "calendarId": record.calendar_id} for record in state.events.values()]


class BusyBlock(BaseModel):
    """The body of `POST /sandbox/calendar/{calendar_id}/busy`: RFC 3339 times with offsets."""

    start: str
    end: str
    summary: str = Field(default="Busy", max_length=1024)

    @field_validator("start", "end")
    @classmethod
    def _aware_rfc3339(cls, value: str) -> str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise ValueError("not an RFC 3339 date-time") from error
        if moment.tzinfo is None:
            raise ValueError("needs a time zone offset (e.g. +07:00 or Z)")
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and datetime.fromisoformat(value) <= datetime.fromisoformat(start):
            raise ValueError("must be after start")
        return value


@router.post("/calendar/{calendar_id}/busy", status_code=201)
async def add_busy_block(calendar_id: str, block: BusyBlock, state: StateDep) -> Json:
    """An event the calendar's owner put on their own calendar (organizer and creator are
    `calendar_id`, confirmed, opaque), so Calendar's freeBusy reports the time busy. Answers
    the event as Calendar's API would."""
    event = new_event(
        {
            "summary": block.summary,
            "start": {"dateTime": block.start},
            "end": {"dateTime": block.end},
        },
        event_id=calendar_event_id(),
        calendar_email=calendar_id,
        principal=calendar_id,
        now=utcnow(),
        conference=None,
    )
    state.events[(calendar_id, event["id"])] = EventRecord(calendar_id, event)
    return event


@router.get("/mail")
async def list_mail(state: StateDep) -> list[Json]:
    """Every message sent, oldest first."""
    return list(state.mail)


@router.post("/reset", status_code=204)
async def reset(state: StateDep) -> Response:
    """Forget everything but issued access tokens."""
    state.reset()
    return Response(status_code=204)
