"""Refunds Xendit does not settle at once: its refund callback settles them, or, when it never
comes, the order asks Xendit; one still pending after the last look is flagged for admin."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from mentoring.domain import workflow_id_for
from tests.support import Stack, wait_until

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


@pytest.fixture
async def refunds_settle_later(stack: Stack) -> AsyncIterator[None]:
    response = await stack.sandbox.put("/sandbox/refunds/mode", json={"settle": "later"})
    assert response.status_code == 200
    yield
    await stack.sandbox.put("/sandbox/refunds/mode", json={"settle": "at_once"})


async def _declined_with_pending_refund(stack: Stack) -> dict[str, Any]:
    mentor = await stack.create_mentor()
    order = (await stack.create_order(mentor["id"])).json()
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "decline", "ill")).status_code == 200

    async def pending() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        events = [e["event"] for e in current["timeline"]]
        return current if "refund_pending" in events else None

    current = await wait_until(pending, "the refund to be pending at Xendit")
    assert current["refund"]["status"] == "pending" and current["refund"]["refund_id"]
    return current


async def _refund_status(stack: Stack, order_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        current = await stack.get_order(order_id)
        return current if current["refund"]["status"] == status else None

    return await wait_until(probe, f"the refund of {order_id} to be {status}")


@pytest.mark.usefixtures("refunds_settle_later")
async def test_refund_callback_settles_a_pending_refund(stack: Stack) -> None:
    order = await _declined_with_pending_refund(stack)
    assert "refund_issued" not in await stack.templates_sent(order["mentee"]["email"])

    settled = await stack.sandbox.post(
        f"/sandbox/refunds/{order['refund']['refund_id']}/settle", json={"status": "SUCCEEDED"}
    )
    assert settled.json()["callback"]["status_code"] == 200

    done = await _refund_status(stack, order["id"], "succeeded")
    assert not done["needs_admin"]
    await stack.wait_for_template(order["mentee"]["email"], "refund_issued")
    assert (await stack.templates_sent(order["mentee"]["email"])).count("refund_issued") == 1


@pytest.mark.usefixtures("refunds_settle_later")
async def test_failed_refund_is_flagged_for_admin(stack: Stack) -> None:
    order = await _declined_with_pending_refund(stack)

    await stack.sandbox.post(
        f"/sandbox/refunds/{order['refund']['refund_id']}/settle", json={"status": "FAILED"}
    )

    failed = await _refund_status(stack, order["id"], "failed")
    assert failed["needs_admin"] and "refund_failed" in failed["admin_note"]


@pytest.mark.usefixtures("refunds_settle_later")
async def test_without_a_callback_the_order_asks_xendit(stack: Stack) -> None:
    order = await _declined_with_pending_refund(stack)
    refund_id = order["refund"]["refund_id"]
    quiet = {"status": "SUCCEEDED", "callback": False}
    assert (await stack.sandbox.post(f"/sandbox/refunds/{refund_id}/settle", json=quiet)).is_success
    handle = stack.client.get_workflow_handle(workflow_id_for(order["id"]))

    await stack.skipper.fast_forward(
        handle, stack.settings.refund_check_interval + timedelta(minutes=1)
    )

    done = await _refund_status(stack, order["id"], "succeeded")
    assert not done["needs_admin"]


@pytest.mark.usefixtures("refunds_settle_later")
async def test_refund_pending_past_the_last_look_is_flagged(stack: Stack) -> None:
    order = await _declined_with_pending_refund(stack)
    handle = stack.client.get_workflow_handle(workflow_id_for(order["id"]))
    checks = stack.settings.refund_checks

    await stack.skipper.fast_forward(handle, stack.settings.refund_check_interval * (checks + 1))

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["needs_admin"] else None

    current = await wait_until(flagged, "the pending refund to be flagged")
    assert current["refund"]["status"] == "pending"
    assert "refund_still_pending" in current["admin_note"]
    calls = (await stack.sandbox.get("/sandbox/calls")).json()
    assert calls["xendit.refunds.get"] >= checks
