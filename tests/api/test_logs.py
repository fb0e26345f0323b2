"""The log lines of a real order (the API's, uvicorn's access lines, the worker's, the
emulator's, the test's own HTTP client's), as `configure_logging` writes them: JSON, naming the
order, its workflow and trace, and never an email address, a key or a signed link's token."""

import json
import logging
from typing import Any

from mentoring.tokens import mentee_token, mentor_token
from tests.mentoring.test_logs import captured
from tests.support import Stack

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


async def test_the_logs_of_a_real_order_name_it_and_keep_its_secrets(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"log_format": "json", "log_level": "INFO"})
    access = logging.getLogger("uvicorn.access")
    access_level = access.level
    access.setLevel(logging.INFO)  # the in-process servers' access lines, as in production
    secret = stack.settings.mentor_token_secret
    try:
        with captured(settings) as stream:
            mentor, order = await stack.new_order()
            order_id = order["id"]
            await stack.pay(order["payment"]["invoice_id"], **EWALLET)
            await stack.wait_for_status(order_id, "awaiting_mentor")
            # The mentor's link (its token in the path), then the JSON route with ?token=.
            decide_token = mentor_token(secret, order_id, mentor["id"])
            assert (await stack.api.get(f"/pages/decide/{decide_token}")).status_code == 200
            decided = await stack.api.post(
                f"/v1/orders/{order_id}/decision",
                params={"token": decide_token},
                json={"decision": "approve"},
            )
            assert decided.status_code == 200, decided.text
            await stack.wait_for_status(order_id, "confirmed")
            order_token = mentee_token(secret, order_id)
            assert (await stack.api.get(f"/pages/order/{order_token}")).status_code == 200
    finally:
        access.setLevel(access_level)

    text = stream.getvalue()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines()]
    never = [
        mentor["email"],
        order["mentee"]["email"],
        decide_token,
        order_token,
        stack.settings.admin_api_key,
        stack.settings.frontend_api_key,
        stack.settings.xendit_secret_key,
        stack.settings.xendit_callback_token,
        secret,
    ]
    assert [word for word in never if word in text] == []
    events = [str(line["event"]) for line in lines]
    # The links were logged (uvicorn's access lines, the client's), their tokens masked.
    assert any("/pages/decide/*** HTTP/1.1" in event for event in events)
    assert any("token=***" in event for event in events)
    assert any("/pages/order/*** HTTP/1.1" in event for event in events)
    # The API's lines of the order's requests name it (a link's too), and their trace.
    for request in ("POST /v1/orders HTTP/1.1", "GET /pages/order/*** HTTP/1.1"):
        [line] = [line for line in lines if request in str(line["event"])]
        assert line["order_id"] == order_id and len(line["trace_id"]) == 32
    # The worker's: each transition, with the order and its workflow.
    transitions = [
        line
        for line in lines
        if line["event"] == "order transition" and line.get("order_id") == order_id
    ]
    assert {line["to_status"] for line in transitions} >= {"awaiting_mentor", "confirmed"}
    assert {line["workflow_id"] for line in transitions} == {f"order-{order_id}"}
