"""A PAID callback whose order's workflow is no longer open is handed to the late-payment
workflow (one per invoice), started by name; a repeated callback starts nothing more.

The workflow is started on a task queue no worker polls: this tests the relay's hand-over,
not the late-payment workflow itself."""

import uuid

from temporalio.client import WorkflowExecutionStatus

from api.webhook_relay import forward
from mentoring.contract import LATE_PAYMENT_WORKFLOW, late_payment_workflow_id
from mentoring.tables import WebhookEvent
from tests.support import Stack, paid_callback


async def test_a_payment_for_a_closed_order_starts_the_late_payment_workflow(
    stack: Stack,
) -> None:
    order = {
        "id": str(uuid.uuid4()),  # no workflow with this id is open: signalling it is NOT_FOUND
        "payment": {"invoice_id": f"inv-late-{uuid.uuid4().hex[:12]}"},
        "amount": 300_000,
        "currency": "IDR",
    }
    payload = paid_callback(order, paid_at="2026-05-01T03:04:05Z", payment_method="EWALLET")
    event = WebhookEvent(
        provider="xendit",
        event_type="PAID",
        invoice_id=payload["id"],
        external_id=order["id"],
        payload=payload,
    )
    task_queue = f"late-payments-unpolled-{uuid.uuid4().hex[:8]}"
    workflow_id = late_payment_workflow_id(payload["id"])
    handle = stack.client.get_workflow_handle(workflow_id)
    try:
        note = await forward(stack.client, event, task_queue)
        assert note == f"the order had closed: late payment handed to {workflow_id}"
        described = await handle.describe()
        assert described.workflow_type == LATE_PAYMENT_WORKFLOW
        assert described.task_queue == task_queue
        assert described.status == WorkflowExecutionStatus.RUNNING
        started_run = described.run_id

        # The same callback again (Xendit retries): already handed over, nothing new started.
        assert await forward(stack.client, event, task_queue) == note
        assert (await handle.describe()).run_id == started_run
    finally:
        await handle.terminate(reason="test over")


async def test_an_expiry_for_a_closed_order_is_noted_not_handed_over(stack: Stack) -> None:
    order_id = str(uuid.uuid4())
    event = WebhookEvent(
        provider="xendit",
        event_type="EXPIRED",
        invoice_id=f"inv-{uuid.uuid4().hex[:12]}",
        external_id=order_id,
        payload={"id": "x", "external_id": order_id, "status": "EXPIRED"},
    )
    note = await forward(stack.client, event, f"unpolled-{uuid.uuid4().hex[:8]}")
    assert note == "no open order for this callback"
