"""What needs a person: flagged orders are found by filter, and an admin resolves them (a
refund paid back by hand names its transfer); the resolution joins the timeline."""

from typing import Any

import httpx

from mentoring.domain import workflow_id_for
from tests.support import Stack, flagged_order


async def _resolve(
    stack: Stack, order_id: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await stack.api.post(
        f"/v1/orders/{order_id}/resolve", json=body, headers=headers or stack.admin
    )


async def _listed(stack: Stack, **params: Any) -> httpx.Response:
    return await stack.api.get("/v1/orders", params=params, headers=stack.admin)


async def test_flagged_orders_are_listed_and_an_admin_resolves_a_manual_refund(
    stack: Stack,
) -> None:
    order = await flagged_order(stack)
    mentor_id = order["mentor_id"]

    flagged = (await _listed(stack, needs_admin="true", mentor_id=mentor_id)).json()
    unflagged = (await _listed(stack, needs_admin="false", mentor_id=mentor_id)).json()
    assert [o["id"] for o in flagged["items"]] == [order["id"]] and unflagged["total"] == 0
    everywhere = (await _listed(stack, needs_admin="true", limit=200)).json()["items"]
    assert all(o["needs_admin"] for o in everywhere)

    frontend = await _resolve(stack, order["id"], {"note": "x"}, **stack.frontend)
    no_reference = await _resolve(stack, order["id"], {"note": "paid back"})
    assert frontend.status_code == 403
    assert no_reference.status_code == 409
    assert no_reference.json()["error"]["code"] == "transfer_reference_required"

    body = {"note": "Paid back by BCA transfer", "reference": "BCA-0042"}
    resolved = await _resolve(stack, order["id"], body)
    assert resolved.status_code == 200, resolved.text
    after = resolved.json()
    assert after["needs_admin"] is False and after["admin_note"] is None
    assert after["refund"]["status"] == "succeeded"
    assert after["refund"]["refund_id"] == "manual:BCA-0042"
    entry = next(e for e in after["timeline"] if e["event"] == "flag_resolved")
    assert entry["data"]["note"] == "Paid back by BCA transfer"
    assert entry["data"]["flags"] == "refund_manual_required"

    again = await _resolve(stack, order["id"], {"note": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_resolve"
    remaining = (await _listed(stack, needs_admin="true", mentor_id=mentor_id)).json()
    assert remaining["total"] == 0


async def test_a_closed_order_is_resolved_in_the_record_alone(stack: Stack) -> None:
    order = await flagged_order(stack)
    handle = stack.client.get_workflow_handle(workflow_id_for(order["id"]))
    await handle.terminate("closed for the test: the order's workflow has ended")

    wrong_flag = await _resolve(stack, order["id"], {"note": "x", "flags": ["email_failed"]})
    resolved = await _resolve(stack, order["id"], {"note": "Paid by hand", "reference": "T-9"})

    assert wrong_flag.status_code == 409
    assert wrong_flag.json()["error"]["code"] == "nothing_to_resolve"
    assert resolved.status_code == 200, resolved.text
    after = resolved.json()
    assert after["needs_admin"] is False and after["refund"]["refund_id"] == "manual:T-9"
    assert [e["event"] for e in after["timeline"]][-1] == "flag_resolved"


async def test_the_order_list_refuses_unknown_filters(stack: Stack) -> None:
    misspelt = await _listed(stack, needs_admn="true")
    bad_value = await _listed(stack, needs_admin="perhaps")

    assert misspelt.status_code == 422
    assert misspelt.json()["error"]["code"] == "unknown_query_parameter"
    assert "needs_admn" in misspelt.json()["error"]["message"]
    assert bad_value.status_code == 422
