"""Issue 6's faults on the whole stack: refusals that never heal end the step instead of parking
the order, and money that arrives after the order's workflow closed still goes back."""

from datetime import timedelta
from typing import Any

from mentoring.contract import late_payment_workflow_id
from mentoring.domain import calendar_event_id_for, workflow_id_for
from tests.support import Stack, wait_until

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


async def _fault(stack: Stack, operation: str, status: int, times: int = 1) -> None:
    spec = {"operation": operation, "status": status, "times": times}
    response = await stack.sandbox.post("/sandbox/faults", json=spec)
    assert response.status_code == 201, response.text


async def _confirmed(stack: Stack) -> dict[str, Any]:
    _, order = await stack.new_order(mentee={"name": "Budi", "email": "budi@example.com"})
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "approve")).status_code == 200
    return await stack.wait_for_status(order["id"], "confirmed")


async def test_a_cancel_google_refuses_to_carry_out_still_cancels_and_refunds(stack: Stack) -> None:
    """Before: the refused delete retried for ever, the order stayed confirmed and unrefunded."""
    order = await _confirmed(stack)
    await _fault(stack, "calendar.events.delete", 403)

    response = await stack.api.post(
        f"/v1/orders/{order['id']}/cancel", json={"by": "mentor"}, headers=stack.frontend
    )
    assert response.status_code == 200, response.text

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        done = current["refund"]["status"] == "succeeded" and current["needs_admin"]
        return current if done else None

    current = await wait_until(flagged, "the cancel refunded and the calendar flagged")
    assert current["status"] == "cancelled"
    assert "calendar_cleanup_failed" in current["admin_note"]


async def test_a_payment_after_the_order_closed_is_refunded(stack: Stack) -> None:
    """Before: once the workflow had closed, a late transfer was acknowledged and kept."""
    _, order = await stack.new_order()
    invoice_id = order["payment"]["invoice_id"]
    await stack.sandbox.post(f"/sandbox/invoices/{invoice_id}/expire")
    await stack.wait_for_status(order["id"], "expired")
    handle = stack.client.get_workflow_handle(workflow_id_for(order["id"]))
    await stack.skipper.fast_forward(handle, stack.settings.late_payment_grace + timedelta(hours=1))
    await handle.result()

    await stack.pay(invoice_id, after_expiry=True, **EWALLET)

    late = stack.client.get_workflow_handle(late_payment_workflow_id(invoice_id))

    async def started() -> bool:
        try:
            await late.describe()
        except Exception:
            return False
        return True

    await wait_until(started, "the late payment's workflow to start")
    assert await late.result() == "late_payment_refunded"
    refunds = [r for r in (await stack.sandbox.get("/sandbox/refunds")).json()]
    mine = [r for r in refunds if r["invoice_id"] == invoice_id]
    assert len(mine) == 1 and mine[0]["amount"] == order["amount"]
    current = await stack.get_order(order["id"])
    assert "late_payment_refunded" in [e["event"] for e in current["timeline"]]
    assert not await stack.events_for(calendar_event_id_for(order["id"]))


async def _create_orphan_invoice(stack: Stack, order: dict[str, Any]) -> str:
    """A second invoice for the order, as an overlapping create attempt would leave behind."""
    response = await stack.sandbox.post(
        "/v2/invoices",
        json={"external_id": order["id"], "amount": order["amount"], "currency": "IDR"},
        auth=(stack.settings.xendit_secret_key, ""),
    )
    assert response.status_code == 200, response.text
    invoice_id: str = response.json()["id"]
    return invoice_id


async def test_a_paid_orphan_invoice_is_refunded_and_the_order_goes_on(stack: Stack) -> None:
    """Before: a payment to an orphan invoice only flagged the order; the money was kept."""
    _, order = await stack.new_order()
    orphan = await _create_orphan_invoice(stack, order)

    await stack.pay(orphan, **EWALLET)
    await stack.sandbox.post(f"/sandbox/invoices/{orphan}/callback")  # Xendit's retry, once more

    late = stack.client.get_workflow_handle(late_payment_workflow_id(orphan))

    async def refunded() -> str | None:
        try:
            return str(await late.result())
        except Exception:
            return None

    assert await wait_until(refunded, "the orphan's refund") == "late_payment_refunded"
    refunds = (await stack.sandbox.get("/sandbox/refunds")).json()
    assert [r["amount"] for r in refunds if r["invoice_id"] == orphan] == [order["amount"]]

    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    current = await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert not current["needs_admin"], current["admin_note"]
    events = [e["event"] for e in current["timeline"]]
    assert "payment_for_unknown_invoice" in events
    assert events.count("late_payment_refunded") == 1


async def test_a_booking_that_landed_after_google_refused_it_is_removed(stack: Stack) -> None:
    """Before: the insert landed although its answer was a refusal; the order was refunded and
    a live event with a Meet room stayed in both calendars."""
    _, order = await stack.new_order()
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    fault = {"operation": "calendar.events.insert", "status": 403, "after_effect": True}
    assert (await stack.sandbox.post("/sandbox/faults", json=fault)).status_code == 201

    assert (await stack.decide(order["id"], "approve")).status_code == 200

    async def refunded_and_removed() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        events = await stack.events_for(calendar_event_id_for(order["id"]))
        gone = all(e["status"] == "cancelled" for e in events)
        return current if current["refund"]["status"] == "succeeded" and gone else None

    current = await wait_until(refunded_and_removed, "the refund and the event removed")
    assert current["status"] == "failed"
    assert len(await stack.events_for(calendar_event_id_for(order["id"]))) == 1


async def test_a_refund_xendit_refused_is_asked_again_and_the_flag_cleared(stack: Stack) -> None:
    """Before: a refund Xendit refused ended `failed` for good; nothing asked again."""
    _, order = await stack.new_order()
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    await _fault(stack, "xendit.refunds.create", 400)

    assert (await stack.decide(order["id"], "decline", "ill")).status_code == 200

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["needs_admin"] else None

    current = await wait_until(flagged, "the refused refund to be flagged")
    assert current["refund"]["status"] == "failed", current["refund"]
    handle = stack.client.get_workflow_handle(workflow_id_for(order["id"]))
    await stack.skipper.fast_forward(handle, timedelta(hours=1, minutes=1))

    async def settled() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["refund"]["status"] == "succeeded" else None

    current = await wait_until(settled, "the refund asked again after an hour")
    assert not current["needs_admin"], current["admin_note"]
    refunds = (await stack.sandbox.get("/sandbox/refunds")).json()
    invoice_id = order["payment"]["invoice_id"]
    assert [r["amount"] for r in refunds if r["invoice_id"] == invoice_id] == [order["amount"]]
