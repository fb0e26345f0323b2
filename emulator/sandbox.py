"""Endpoints for programs (tests, scripts): act as the payer, inject faults, look inside."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response

from emulator.deps import ConfigDep, StateDep
from emulator.faults import FaultSpec
from emulator.payments import Payment, call_back_again, expire_and_call_back, find_invoice, pay

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


@router.get("/calendar/events")
async def list_events(state: StateDep) -> list[Json]:
    """Every event, cancelled ones included, each with its `calendarId`."""
    return [{**record.event, "calendarId": record.calendar_id} for record in state.events.values()]


@router.get("/mail")
async def list_mail(state: StateDep) -> list[Json]:
    """Every message sent, oldest first."""
    return list(state.mail)


@router.post("/reset", status_code=204)
async def reset(state: StateDep) -> Response:
    """Forget everything but issued access tokens."""
    state.reset()
    return Response(status_code=204)
