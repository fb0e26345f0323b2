"""Outgoing webhooks: a registered endpoint hears every event of an order, in order, signed the
Standard Webhooks way (checked with the `standardwebhooks` library, as a receiver would),
even when it was down for a while; one that keeps failing is disabled."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy.dialects.postgresql import insert
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from mentoring.contract import WEBHOOK_DELIVERY_WORKFLOW, webhook_delivery_workflow_id
from mentoring.db import session_factory
from mentoring.domain import WebhookDeliveryInput
from mentoring.serving import BackgroundServer
from mentoring.tables import WebhookMessage
from tests.support import Stack, free_port, wait_until

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


@dataclass
class Receiver:
    """The frontend's webhook route: verifies each POST, then keeps it (or answers 503 while
    `down` is above zero, counting down)."""

    secret: str = ""
    down: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    forged: int = 0
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            try:
                event = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.forged += 1
                return Response(status_code=401)
            if self.down > 0:
                self.down -= 1
                return Response(status_code=503)
            if request.headers["webhook-id"] not in self.ids:  # at least once: dedup by id
                self.ids.append(request.headers["webhook-id"])
                self.received.append(event)
            return Response(status_code=204)

        return app

    def types_for(self, order_id: str) -> list[str]:
        return [e["type"] for e in self.received if e["data"]["order_id"] == order_id]


@pytest.fixture
async def receiver(stack: Stack) -> AsyncIterator[tuple[Receiver, dict[str, Any]]]:
    """A receiver, registered as an endpoint for every event; removed afterwards."""
    found = Receiver()
    port = free_port()
    server = await BackgroundServer(found.app(), port=port).start()
    found.url = f"http://127.0.0.1:{port}/hooks"
    created = await stack.api.post(
        "/v1/webhook-endpoints", json={"url": found.url}, headers=stack.admin
    )
    assert created.status_code == 201, created.text
    endpoint: dict[str, Any] = created.json()
    found.secret = endpoint["secret"]
    try:
        yield found, endpoint
    finally:
        await stack.api.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=stack.admin)
        await server.stop()


async def test_every_event_of_an_order_arrives_in_order_signed_even_after_an_outage(
    stack: Stack, receiver: tuple[Receiver, dict[str, Any]]
) -> None:
    hooks, endpoint = receiver
    hooks.down = 3  # the first three POSTs find the frontend down
    _, order = await stack.new_order()
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "approve")).status_code == 200
    await stack.wait_for_status(order["id"], "confirmed")
    cancel = await stack.api.post(
        f"/v1/orders/{order['id']}/cancel", json={"by": "mentor"}, headers=stack.frontend
    )
    assert cancel.status_code == 200, cancel.text

    expected = [
        "order.created",
        "order.paid",
        "order.confirmed",
        "order.cancelled",
        "order.refunded",
    ]

    async def all_arrived() -> list[str] | None:
        types = hooks.types_for(order["id"])
        return types if len(types) >= len(expected) else None

    assert await wait_until(all_arrived, "every event of the order at the receiver") == expected
    assert hooks.forged == 0
    last = [e for e in hooks.received if e["data"]["order_id"] == order["id"]][-1]
    assert last["data"]["refund_status"] == "succeeded" and "email" not in str(last)
    seqs = [e["data"]["seq"] for e in hooks.received if e["data"]["order_id"] == order["id"]]
    assert seqs == sorted(seqs)

    listed = await stack.api.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/messages",
        params={"order_id": order["id"]},
        headers=stack.admin,
    )
    assert listed.status_code == 200, listed.text
    messages = sorted(listed.json(), key=lambda m: m["seq"])
    assert [m["status"] for m in messages] == ["delivered"] * len(expected)
    first = messages[0]["attempts"]
    assert [a["status_code"] for a in first] == [503, 503, 503, 204]


async def test_a_forged_or_replayed_post_fails_verification(
    stack: Stack, receiver: tuple[Receiver, dict[str, Any]]
) -> None:
    hooks, _ = receiver
    body = '{"type":"order.paid","timestamp":"2026-11-25T00:00:00Z","data":{}}'
    now = datetime.now(UTC)
    good = Webhook(hooks.secret).sign("msg_1", now, body)
    other = Webhook("whsec_" + "QUJD" * 8).sign("msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp()))}

    forged = await stack.api.post(
        hooks.url, content=body, headers={**headers, "webhook-signature": other}
    )
    altered = await stack.api.post(
        hooks.url,
        content=body.replace("paid", "refunded"),
        headers={**headers, "webhook-signature": good},
    )
    stale = {
        **headers,
        "webhook-timestamp": str(int(now.timestamp()) - 3600),
        "webhook-signature": good,
    }
    replayed = await stack.api.post(hooks.url, content=body, headers=stale)

    assert [r.status_code for r in (forged, altered, replayed)] == [401, 401, 401]
    assert hooks.forged == 3


async def test_an_endpoint_failing_past_the_window_is_disabled(stack: Stack) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hooks"
    created = await stack.api.post(
        "/v1/webhook-endpoints",
        json={"url": dead, "event_types": ["order.flagged"]},
        headers=stack.admin,
    )
    endpoint = created.json()
    order_id = str(uuid.uuid4())
    async with session_factory(stack.engine)() as session:
        await session.execute(
            insert(WebhookMessage).values(
                endpoint_id=uuid.UUID(endpoint["id"]),
                order_id=uuid.UUID(order_id),
                seq=7,
                event_type="order.flagged",
                message_id=f"msg_test_{uuid.uuid4().hex}",
                payload={"type": "order.flagged", "data": {"order_id": order_id}},
                status="pending",
                attempts=0,
                created_at=datetime.now(UTC),
            )
        )
        await session.commit()
    request = WebhookDeliveryInput(
        endpoint_id=endpoint["id"], order_id=order_id, retry_initial_s=0.2, give_up_after_s=2.0
    )
    handle = await stack.client.start_workflow(
        WEBHOOK_DELIVERY_WORKFLOW,
        request,
        id=webhook_delivery_workflow_id(endpoint["id"], order_id),
        task_queue=stack.settings.temporal_task_queue,
    )
    assert await handle.result() == 0

    after = await stack.api.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=stack.admin)
    assert after.json()["active"] is False and "failing" in after.json()["disabled_reason"]
    listed = await stack.api.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/messages", headers=stack.admin
    )
    message = listed.json()[0]
    assert message["status"] == "abandoned" and len(message["attempts"]) >= 2
    assert all(
        a["status_code"] is None and "ConnectError" in a["error"] for a in message["attempts"]
    )

    # The admin's page shows it among the endpoints turned off, and turns it back on.
    admin_page = await stack.api.get("/pages/admin", headers=stack.admin)
    assert f'data-endpoint="{endpoint["id"]}"' in admin_page.text
    enabled = await stack.api.post(
        f"/pages/admin/endpoints/{endpoint['id']}/enable", headers=stack.admin
    )
    assert enabled.status_code == 303
    again = await stack.api.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=stack.admin)
    assert again.json()["active"] is True and again.json()["disabled_reason"] is None
    await stack.api.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=stack.admin)


async def test_endpoints_are_an_admins_and_bad_ones_are_refused(stack: Stack) -> None:
    frontend = await stack.api.post(
        "/v1/webhook-endpoints", json={"url": "https://x.example/h"}, headers=stack.frontend
    )
    not_http = await stack.api.post(
        "/v1/webhook-endpoints", json={"url": "ftp://x.example/h"}, headers=stack.admin
    )
    unknown_event = await stack.api.post(
        "/v1/webhook-endpoints",
        json={"url": "https://x.example/h", "event_types": ["order.lost"]},
        headers=stack.admin,
    )
    missing = await stack.api.get(f"/v1/webhook-endpoints/{uuid.uuid4()}", headers=stack.admin)

    assert frontend.status_code == 403
    assert not_http.status_code == 422 and unknown_event.status_code == 422
    assert missing.status_code == 404
