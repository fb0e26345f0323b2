"""Xendit and Google failing: clear answers, nothing held up, nothing lost, nothing done twice."""

import uuid
from typing import Any

from tests.support import Stack, order_body, session_start, wait_until


async def _fault(stack: Stack, operation: str, status: int, times: int = 1) -> None:
    spec = {"operation": operation, "status": status, "times": times}
    response = await stack.sandbox.post("/sandbox/faults", json=spec)
    assert response.status_code == 201, response.text


async def test_xendit_outage_is_retried_and_the_order_gets_its_invoice(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    await _fault(stack, "xendit.invoices.create", 503, times=2)

    response = await stack.create_order(mentor["id"])

    assert response.status_code == 201, response.text
    assert response.json()["payment"]["invoice_url"]


async def test_invoice_refused_by_xendit_is_503_and_releases_the_slot(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    start = session_start(days_ahead=6)
    await _fault(stack, "xendit.invoices.create", 400)

    response = await stack.create_order(mentor["id"], idempotency_key="refused-1", start_time=start)

    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "payment_provider_unavailable"

    # The slot is released when the order's expiry is recorded, just after the 503.
    async def booked_again() -> bool:
        key = f"refused-retry-{uuid.uuid4().hex[:8]}"
        retry = await stack.create_order(mentor["id"], idempotency_key=key, start_time=start)
        assert retry.status_code in (201, 409), retry.text
        return retry.status_code == 201

    await wait_until(booked_again, "the refused order to release the mentor's time")


async def test_slow_xendit_is_503_then_the_retry_gets_the_same_order(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    wait_s = stack.settings.invoice_wait_timeout.total_seconds()
    spec = {"operation": "xendit.invoices.create", "delay_seconds": wait_s + 1}
    assert (await stack.sandbox.post("/sandbox/faults", json=spec)).status_code == 201

    body = order_body(mentor["id"])
    headers = {**stack.frontend, "Idempotency-Key": "slow-xendit"}

    slow = await stack.api.post("/v1/orders", json=body, headers=headers)
    assert slow.status_code == 503, slow.text
    assert slow.json()["error"]["code"] == "payment_provider_unavailable"

    retry = await stack.api.post("/v1/orders", json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == slow.json()["error"]["details"]["order_id"]
    assert retry.json()["payment"]["invoice_url"]


async def test_gmail_outage_delays_the_emails_and_sends_each_once(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    await _fault(stack, "gmail.messages.send", 503, times=3)

    response = await stack.create_order(mentor["id"])
    assert response.status_code == 201, response.text
    order = response.json()

    await stack.wait_for_template(order["mentee"]["email"], "invoice")
    await stack.pay(order["payment"]["invoice_id"])
    await stack.wait_for_template(order["mentee"]["email"], "payment_received")
    await stack.wait_for_template(mentor["email"], "mentor_request")
    assert await stack.templates_sent(order["mentee"]["email"]) == ["invoice", "payment_received"]
    assert await stack.templates_sent(mentor["email"]) == ["mentor_request"]


async def test_gmail_outage_never_holds_up_the_order(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    response = await stack.create_order(mentor["id"])
    assert response.status_code == 201, response.text
    order = response.json()
    await stack.wait_for_template(order["mentee"]["email"], "invoice")
    await _fault(stack, "gmail.messages.send", 503, times=1000)
    try:
        decided = await stack.decide(order["id"], "decline", "away that week")
        assert decided.status_code == 200, decided.text
        declined = await stack.wait_for_status(order["id"], "declined")
        assert declined["status_reason"] == "away that week"
        assert "declined" not in await stack.templates_sent(mentor["email"])
    finally:
        assert (await stack.sandbox.delete("/sandbox/faults")).status_code == 204
    await stack.wait_for_template(mentor["email"], "declined")


async def test_xendit_refund_outage_never_holds_up_the_decline(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    order = (await stack.create_order(mentor["id"])).json()
    await stack.pay(order["payment"]["invoice_id"], payment_method="EWALLET")
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    await _fault(stack, "xendit.refunds.create", 503, times=2)

    decided = await stack.decide(order["id"], "decline", "ill")

    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "declined"
    assert decided.json()["refund"]["status"] == "pending"

    async def refunded() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["refund"]["status"] == "succeeded" else None

    await wait_until(refunded, "the refund to go through once Xendit is back")
    refunds = (await stack.sandbox.get("/sandbox/refunds")).json()
    assert [r["amount"] for r in refunds if r["invoice_id"] == order["payment"]["invoice_id"]] == [
        300_000
    ]


async def test_cancel_while_a_calendar_outage_holds_up_booking_is_busy_not_hung(
    stack: Stack,
) -> None:
    _, order = await stack.new_order()
    await stack.pay(order["payment"]["invoice_id"], payment_method="EWALLET")
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    await _fault(stack, "calendar.events.insert", 503, times=3)
    decided = await stack.decide(order["id"], "approve")
    assert decided.json()["status"] == "scheduling"

    busy = await stack.api.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "x"}, headers=stack.frontend
    )

    assert busy.status_code == 409, busy.text
    assert busy.json()["error"]["code"] == "busy"
    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    assert confirmed["refund"]["status"] == "none"
