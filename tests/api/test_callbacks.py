"""Xendit's callbacks are validated before they are stored (what can never be forwarded is
refused with 422, too large a body with 413, always after the token check), and the relay
forwards each stored callback on its own: one that fails is retried with backoff, then parked,
and never holds up the others."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select, text

from api.callback_store import COPY_NOTE, STORE_PARAMETERS, STORE_SQL
from api.webhook_relay import MAX_FORWARD_ATTEMPTS, relay_pending, retry_delay
from mentoring.db import session_factory
from mentoring.tables import WebhookEvent
from tests.support import Stack, paid_callback, wait_until

INVOICE_WEBHOOK = "/v1/webhooks/xendit/invoice"
REFUND_WEBHOOK = "/v1/webhooks/xendit/refund"
TOKEN = {"x-callback-token": "test-callback-token", "content-type": "application/json"}


def _order_like() -> dict[str, Any]:
    """Enough of an order for `paid_callback`: these tests never need the order itself."""
    return {
        "id": str(uuid.uuid4()),
        "payment": {"invoice_id": f"inv-{uuid.uuid4().hex[:12]}"},
        "amount": 300_000,
        "currency": "IDR",
    }


async def _stored(stack: Stack, external_id: str) -> int:
    async with stack.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.external_id == external_id)
        )
    return int(count or 0)


async def _post_raw(stack: Stack, body: bytes | str, path: str = INVOICE_WEBHOOK) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await stack.api.post(path, content=content, headers=TOKEN)


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]


async def test_invoice_callbacks_that_can_never_be_forwarded_are_refused_and_not_stored(
    stack: Stack,
) -> None:
    cases: dict[str, dict[str, Any]] = {
        "paid_at not a date-time": {"paid_at": "yesterday"},
        "paid_at without an offset": {"paid_at": "2026-05-01T03:04:05"},
        "paid_at a timestamp": {"paid_at": 1_700_000_000},
        "updated not a date": {"updated": "2026-02-30T00:00:00Z"},
        "created not a string": {"created": ["2026-05-01T03:04:05Z"]},
        "negative amount": {"amount": -1},
        "amount a string": {"amount": "300000"},
        "paid_amount a boolean": {"paid_amount": True},
        "currency of 4 letters": {"currency": "IDRX"},
        "currency in lower case": {"currency": "idr"},
        "unknown status": {"status": "REFUNDED"},
        "status in lower case": {"status": "paid"},
    }
    for case, fields in cases.items():
        order = _order_like()
        response = await stack.api.post(
            INVOICE_WEBHOOK, json=paid_callback(order, **fields), headers=TOKEN
        )
        assert response.status_code == 422, (case, response.text)
        _assert_error(response, 422, "invalid_callback")
        assert await _stored(stack, order["id"]) == 0, case


async def test_json_that_postgres_or_a_float_cannot_hold_is_refused_and_not_stored(
    stack: Stack,
) -> None:
    def body_with(order: dict[str, Any], raw_value: str) -> str:
        text = json.dumps(paid_callback(order, description="__X__"))
        return text.replace('"__X__"', raw_value)

    raw_values = {
        "NaN": "NaN",
        "Infinity": "Infinity",
        "-Infinity": "-Infinity",
        "a float overflow": "1e400",
        "an integer overflow": "1" + "0" * 400,
        "a lone surrogate": '"\\ud800"',
        "nesting 33 deep": "[" * 33 + "]" * 33,
        "nesting 10000 deep": "[" * 10_000 + "]" * 10_000,
    }
    for case, raw_value in raw_values.items():
        order = _order_like()
        response = await _post_raw(stack, body_with(order, raw_value))
        _assert_error(response, 422, "invalid_callback")
        assert await _stored(stack, order["id"]) == 0, case

    order = _order_like()
    # 32 levels in all (the callback itself is the first) are accepted.
    response = await _post_raw(stack, body_with(order, "[" * 31 + "]" * 31))
    assert response.status_code == 200, response.text
    assert await _stored(stack, order["id"]) == 1

    for case, raw in {
        "not UTF-8": b'{"id": "\xff"}',
        "not JSON": b"{",
        "not an object": b"[]",
        "empty": b"",
    }.items():
        response = await _post_raw(stack, raw)
        assert response.status_code == 422, (case, response.text)
        _assert_error(response, 422, "invalid_callback")
    response = await _post_raw(stack, '{"event": "refund.succeeded", "data": NaN}', REFUND_WEBHOOK)
    _assert_error(response, 422, "invalid_callback")


async def test_a_body_over_64_kib_is_refused_with_413_whatever_its_content_length(
    stack: Stack,
) -> None:
    order = _order_like()
    body = json.dumps(paid_callback(order, description="x" * (64 * 1024))).encode()

    declared = await _post_raw(stack, body)
    _assert_error(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length at all
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    streamed = await stack.api.post(INVOICE_WEBHOOK, content=chunks(), headers=TOKEN)
    _assert_error(streamed, 413, "payload_too_large")
    assert await _stored(stack, order["id"]) == 0


async def test_the_token_is_checked_before_the_body(stack: Stack) -> None:
    for body in (b"NaN", b"x" * (70 * 1024)):
        response = await stack.api.post(
            INVOICE_WEBHOOK, content=body, headers={"x-callback-token": "forged"}
        )
        _assert_error(response, 401, "invalid_callback_token")


async def test_a_valid_callback_with_every_optional_field_is_stored(stack: Stack) -> None:
    order = _order_like()
    callback = paid_callback(
        order,
        paid_at="2026-05-01T03:04:05.678Z",
        updated="2026-05-01T10:04:05+07:00",
        created="2026-05-01T02:00:00Z",
        payment_method="EWALLET",
        payment_channel="OVO",
        description="with a NUL \u0000 inside",
    )
    response = await stack.api.post(INVOICE_WEBHOOK, json=callback, headers=TOKEN)
    assert response.status_code == 200, response.text
    async with stack.engine.connect() as connection:
        payload = await connection.scalar(
            select(WebhookEvent.payload).where(WebhookEvent.external_id == order["id"])
        )
    assert payload is not None and payload["description"] == "with a NUL \ufffd inside"


def _unforwarded(external_id: str, payload: dict[str, Any], **columns: Any) -> WebhookEvent:
    """A stored callback the relay has not forwarded yet (its webhook's own try long past)."""
    return WebhookEvent(
        provider="xendit",
        event_type=payload["status"],
        invoice_id=payload["id"],
        external_id=external_id,
        payload=payload,
        received_at=datetime.now(UTC) - timedelta(minutes=1),
        **columns,
    )


async def test_one_callback_that_cannot_be_forwarded_does_not_hold_up_the_next(
    stack: Stack,
) -> None:
    _, order = await stack.new_order()
    sessions = session_factory(stack.engine)
    bad = _unforwarded(order["id"], paid_callback(order, paid_at="garbage"))
    good = _unforwarded(order["id"], paid_callback(order, paid_at="2026-05-01T03:04:05Z"))
    started = datetime.now(UTC)
    async with sessions() as session:
        session.add(bad)
        await session.flush()  # the bad one first: the relay takes the oldest first
        session.add(good)
        await session.commit()
    try:

        async def both_handled() -> tuple[WebhookEvent, WebhookEvent] | None:
            await relay_pending(stack.client, sessions, stack.settings.temporal_task_queue)
            async with sessions() as session:
                rows = {
                    e.id: e
                    for e in await session.scalars(
                        select(WebhookEvent).where(WebhookEvent.id.in_([bad.id, good.id]))
                    )
                }
            failed, forwarded = rows[bad.id], rows[good.id]
            done = failed.forward_attempts > 0 and forwarded.forwarded_at is not None
            return (failed, forwarded) if done else None

        failed, forwarded = await wait_until(both_handled, "the relay to reach both callbacks")
        assert forwarded.forward_error is None  # signalled to the order's workflow
        assert failed.forwarded_at is None and failed.forward_attempts == 1
        assert failed.forward_error is not None and "attempt 1 failed" in failed.forward_error
        assert failed.next_forward_at is not None
        assert failed.next_forward_at >= started + retry_delay(1)
    finally:
        async with sessions() as session:
            await session.execute(delete(WebhookEvent).where(WebhookEvent.id == bad.id))
            await session.commit()


async def test_a_callback_that_keeps_failing_is_parked_and_never_retried(stack: Stack) -> None:
    _, order = await stack.new_order()
    sessions = session_factory(stack.engine)
    event = _unforwarded(
        order["id"],
        paid_callback(order, paid_at="garbage"),
        forward_attempts=MAX_FORWARD_ATTEMPTS - 1,
        next_forward_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    async with sessions() as session:
        session.add(event)
        await session.commit()

    async def parked() -> WebhookEvent | None:
        await relay_pending(stack.client, sessions, stack.settings.temporal_task_queue)
        async with sessions() as session:
            row = await session.get(WebhookEvent, event.id)
        return row if row is not None and row.forward_attempts >= MAX_FORWARD_ATTEMPTS else None

    row = await wait_until(parked, "the callback to be parked")
    assert row.forward_attempts == MAX_FORWARD_ATTEMPTS
    assert row.forwarded_at is None and row.next_forward_at is None
    assert row.forward_error is not None
    assert row.forward_error.startswith(f"parked after {MAX_FORWARD_ATTEMPTS} attempts: ")

    # Never taken again: the relay passes it by, and it stays exactly as it was.
    await relay_pending(stack.client, sessions, stack.settings.temporal_task_queue)
    async with sessions() as session:
        again = await session.get(WebhookEvent, event.id)
    assert again is not None
    assert again.forward_attempts == row.forward_attempts
    assert again.forward_error == row.forward_error


async def test_a_copy_of_a_forwarded_callback_is_stored_and_not_forwarded_again(
    stack: Stack,
) -> None:
    body = {**paid_callback(_order_like()), "status": "EXPIRED"}  # no such order: a note
    first = await stack.api.post(INVOICE_WEBHOOK, json=body, headers=TOKEN)
    assert first.status_code == 200, first.text
    sessions = session_factory(stack.engine)

    async def forwarded() -> WebhookEvent | None:
        async with sessions() as session:
            row = await session.get(WebhookEvent, first.json()["event_id"])
        return row if row is not None and row.forwarded_at is not None else None

    original = await wait_until(forwarded, "the first copy to be forwarded")
    assert original.forward_error == "no open order for this callback"

    again = await stack.api.post(INVOICE_WEBHOOK, json=body, headers=TOKEN)
    assert again.status_code == 200, again.text
    async with sessions() as session:
        copy = await session.get(WebhookEvent, again.json()["event_id"])
    assert copy is not None and copy.id != original.id
    assert copy.payload == original.payload
    assert copy.forwarded_at is not None and copy.forward_error == COPY_NOTE
    assert await _stored(stack, body["external_id"]) == 2


async def test_the_earlier_copies_of_a_callback_are_found_by_an_index(stack: Stack) -> None:
    """The store looks for them on every callback: a plan that reads the whole table grows with
    every callback ever received (it did: `IS NOT DISTINCT FROM` can use no index)."""
    explain = text(f"EXPLAIN {STORE_SQL}").bindparams(*STORE_PARAMETERS)
    for invoice_id, external_id in (("inv-1", str(uuid.uuid4())), (None, None)):
        values: dict[str, Any] = {
            "provider": "xendit",
            "event_type": "PAID",
            "invoice_id": invoice_id,
            "external_id": external_id,
            "payload": {},
            "copy_note": COPY_NOTE,
        }
        async with stack.engine.connect() as connection:
            await connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(row[0] for row in await connection.execute(explain, values))
            await connection.rollback()
        conditions = [line for line in plan.splitlines() if "Index Cond" in line]
        assert "ix_webhook_events_copies" in plan, plan
        # On all three columns: on event_type alone, it would read every callback of the type.
        assert len(conditions) == 1, plan
        for column in ("invoice_id", "event_type", "external_id"):
            assert column in conditions[0], plan
