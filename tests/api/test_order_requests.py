"""Decisions, cancellations and reschedules: an Idempotency-Key makes a retry answer like the
first request, and more concurrent requests than the workflow takes are 429s, never 500s."""

import asyncio
import uuid
from typing import Any

import httpx

from tests.support import Stack


async def _send(
    stack: Stack, order_id: str, request: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = dict(stack.frontend)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await stack.api.post(f"/v1/orders/{order_id}/{request}", json=body, headers=headers)


async def test_a_retried_cancel_with_its_key_gets_the_first_answer(stack: Stack) -> None:
    _, order = await stack.new_order()
    key = f"cancel-{uuid.uuid4()}"
    body = {"reason": "cannot make it"}

    first = await _send(stack, order["id"], "cancel", body, key)
    retried = await _send(stack, order["id"], "cancel", body, key)
    other = await _send(stack, order["id"], "cancel", body, f"cancel-{uuid.uuid4()}")

    assert first.status_code == 200, first.text
    assert retried.status_code == 200, retried.text
    assert first.json()["status"] == retried.json()["status"] == "cancelled"
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "order_closed"
    assert other.json()["error"]["message"] == "the order has ended"
    timeline = (await stack.get_order(order["id"]))["timeline"]
    assert [e["event"] for e in timeline].count("cancelled") == 1


async def test_an_idempotency_key_names_one_kind_of_request(stack: Stack) -> None:
    """The same key on a decision and then a cancel: two different requests."""
    _, order = await stack.new_order()
    key = f"key-{uuid.uuid4()}"

    declined = await _send(stack, order["id"], "decision", {"decision": "decline"}, key)
    cancel = await _send(stack, order["id"], "cancel", {}, key)

    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert cancel.status_code == 409, cancel.text
    assert cancel.json()["error"]["code"] == "order_closed"


async def test_bad_idempotency_keys_are_refused(stack: Stack) -> None:
    _, order = await stack.new_order()
    for key in ("", "k" * 201):
        response = await _send(stack, order["id"], "cancel", {}, key)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
    assert (await stack.get_order(order["id"]))["status"] == "awaiting_payment"


async def test_thirty_concurrent_requests_on_one_order_get_200_409_or_429(stack: Stack) -> None:
    _, order = await stack.new_order()
    requests = [
        ("decision", {"decision": "approve"}),
        ("decision", {"decision": "decline", "reason": "travelling"}),
        ("cancel", {"reason": "changed my mind"}),
    ]

    responses = await asyncio.gather(
        *(_send(stack, order["id"], *requests[n % len(requests)]) for n in range(30))
    )

    for response in responses:
        assert response.status_code in (200, 409, 429), response.text
        if response.status_code == 200:
            continue
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
        if response.status_code == 429:
            assert body["error"]["code"] == "too_many_requests"
            assert int(response.headers["retry-after"]) > 0
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) >= 1, statuses
    # The order ended in exactly one of the outcomes requested.
    final = await stack.get_order(order["id"])
    assert final["status"] in ("awaiting_payment", "declined", "cancelled"), final["status"]
