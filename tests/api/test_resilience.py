"""Nothing is lost (invariant 7): a callback acknowledged while Temporal is unreachable still
reaches its order, and a worker restart mid-order neither loses the order nor repeats an effect."""

import httpx

from api.main import create_app
from mentoring.domain import calendar_event_id_for
from mentoring.serving import BackgroundServer
from mentoring.temporal import connect_temporal
from tests.support import Stack, free_port, paid_callback

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


async def test_callback_stored_while_temporal_is_down_reaches_the_order(stack: Stack) -> None:
    _, order = await stack.new_order()
    # The mentee pays, and Xendit's callback reaches only an API process whose Temporal is
    # unreachable (nothing listens on its port): that one must store and acknowledge it.
    cut_off_settings = stack.settings.model_copy(
        update={"temporal_address": f"127.0.0.1:{free_port()}"}
    )
    token = stack.settings.xendit_callback_token
    stack.settings.xendit_callback_token = "rotated-elsewhere"  # the stack's API refuses it
    try:
        paid = await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    finally:
        stack.settings.xendit_callback_token = token
    assert paid["callback"]["status_code"] == 401
    unreachable = await connect_temporal(cut_off_settings, lazy=True)
    port = free_port()
    cut_off_api = await BackgroundServer(
        create_app(cut_off_settings, unreachable, stack.engine), port=port
    ).start()
    callback = paid_callback(order, **EWALLET)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as cut_off:
            ready = await cut_off.get("/readyz")
            assert ready.status_code == 503 and ready.json()["temporal"] != "ok"
            response = await cut_off.post(
                "/v1/webhooks/xendit/invoice",
                json=callback,
                headers={"x-callback-token": token},
            )
            assert response.status_code == 200, response.text
    finally:
        await cut_off_api.stop()
    assert (await stack.get_order(order["id"]))["status"] == "awaiting_payment"

    # The relay of an API that reaches Temporal forwards what was stored.
    paid_order = await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert paid_order["payment"]["paid_amount"] == 300_000


async def test_worker_restart_mid_order_loses_nothing_and_repeats_nothing(stack: Stack) -> None:
    _, order = await stack.new_order()
    await stack.wait_for_template(order["mentee"]["email"], "invoice")
    assert (await stack.decide(order["id"], "approve")).status_code == 200

    await stack.worker.stop()
    try:
        paid = await stack.pay(order["payment"]["invoice_id"], **EWALLET)
        assert paid["callback"]["status_code"] == 200
        assert (await stack.get_order(order["id"]))["status"] == "awaiting_payment"
    finally:
        stack.worker.start()

    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    assert len(await stack.events_for(calendar_event_id_for(order["id"]))) == 1
    await stack.wait_for_template(order["mentee"]["email"], "confirmed")
    sent = await stack.templates_sent(order["mentee"]["email"])
    assert len(sent) == len(set(sent)), sent
    assert confirmed["payment"]["status"] == "paid"
