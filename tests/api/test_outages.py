"""With Postgres or Temporal down (refusing connections, or black-holed: accepting them and
never answering) the API answers 503 with the error body, quickly, never a plain-text 500."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.main import create_app
from api.workflow_engine import engine_call
from mentoring.db import create_engine
from mentoring.serving import BackgroundServer
from mentoring.settings import Settings
from mentoring.temporal import connect_temporal
from tests.support import Stack, free_port, order_body, paid_callback, session_start

BOUND_S = 6.0


@asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()


@asynccontextmanager
async def api_of(
    settings: Settings, temporal: Client, engine: AsyncEngine | None
) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    server = await BackgroundServer(create_app(settings, temporal, engine), port=port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield http
    finally:
        await server.stop()


async def _call(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    started = time.monotonic()
    response = await http.request(method, path, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND_S, f"{method} {path} took {elapsed:.1f}s"
    return response


def _assert_unavailable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert int(response.headers["retry-after"]) > 0


async def _database_down_answers_503(stack: Stack, http: httpx.AsyncClient) -> None:
    order_id = uuid.uuid4()
    token = {"x-callback-token": stack.settings.xendit_callback_token}
    callback = paid_callback(
        {"id": str(order_id), "payment": {"invoice_id": "inv-x"}, "amount": 1, "currency": "IDR"}
    )
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1/mentors", {"headers": stack.frontend}),
        ("GET", "/v1/orders", {"headers": stack.frontend}),
        ("GET", f"/v1/orders/{order_id}", {"headers": stack.frontend}),
        ("POST", f"/v1/orders/{order_id}/cancel", {"headers": stack.frontend, "json": {}}),
        ("POST", "/v1/webhooks/xendit/invoice", {"headers": token, "json": callback}),
    ]
    for method, path, kwargs in calls:
        _assert_unavailable(await _call(http, method, path, **kwargs), "database_unavailable")
    ready = await _call(http, "GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["postgres"] != "ok"


async def test_database_refusing_connections_answers_503(stack: Stack) -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        async with api_of(stack.settings, stack.client, engine) as http:
            await _database_down_answers_503(stack, http)
    finally:
        await engine.dispose()


async def test_database_black_holed_answers_503_within_the_connect_timeout(stack: Stack) -> None:
    async with black_hole() as port:
        # No engine given: the API makes its own, with its own connect and pool timeouts.
        settings = stack.settings.model_copy(
            update={"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"}
        )
        async with api_of(settings, stack.client, None) as http:
            await _database_down_answers_503(stack, http)


async def test_connection_dropped_by_the_database_is_one_503_then_a_fresh_one(
    stack: Stack,
) -> None:
    """No ping before each checkout: a pooled connection the server closed fails its request
    with 503 (never a 500), and the pool opens a new one for the next."""
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as connection:  # the pool's only connection, reused below
            pid = (await connection.execute(text("select pg_backend_pid()"))).scalar_one()
        async with api_of(stack.settings, stack.client, engine) as http:
            assert (await _call(http, "GET", "/v1/mentors", headers=stack.frontend)).is_success
            async with stack.engine.connect() as other:
                await other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
            dropped = await _call(http, "GET", "/v1/mentors", headers=stack.frontend)
            _assert_unavailable(dropped, "database_unavailable")
            again = await _call(http, "GET", "/v1/mentors", headers=stack.frontend)
            assert again.status_code == 200, again.text
    finally:
        await engine.dispose()


async def _workflow_engine_down_answers_503(stack: Stack, http: httpx.AsyncClient) -> None:
    mentor, order = await stack.new_order()
    create = await _call(
        http,
        "POST",
        "/v1/orders",
        headers={**stack.frontend, "Idempotency-Key": f"down-{uuid.uuid4()}"},
        json=order_body(mentor["id"], start_time=session_start(days_ahead=6), duration_minutes=30),
    )
    _assert_unavailable(create, "workflow_engine_unavailable")
    for path, body in (
        ("cancel", {}),
        ("decision", {"decision": "approve"}),
        ("reschedule", {"start_time": order["start_time"]}),
    ):
        response = await _call(
            http, "POST", f"/v1/orders/{order['id']}/{path}", headers=stack.frontend, json=body
        )
        _assert_unavailable(response, "workflow_engine_unavailable")
    ready = await _call(http, "GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["temporal"] != "ok"
    # Reading needs only Postgres.
    read = await _call(http, "GET", f"/v1/orders/{order['id']}", headers=stack.frontend)
    assert read.status_code == 200, read.text


async def test_workflow_engine_refusing_connections_answers_503(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    unreachable = await connect_temporal(settings, lazy=True)
    async with api_of(settings, unreachable, stack.engine) as http:
        await _workflow_engine_down_answers_503(stack, http)


async def test_workflow_engine_black_holed_answers_503_within_the_bound(stack: Stack) -> None:
    async with black_hole() as port:
        settings = stack.settings.model_copy(update={"temporal_address": f"127.0.0.1:{port}"})
        silent = await connect_temporal(settings, lazy=True)
        async with api_of(settings, silent, stack.engine) as http:
            await _workflow_engine_down_answers_503(stack, http)


async def test_database_pool_exhausted_answers_503(stack: Stack) -> None:
    engine = create_engine(stack.settings.database_url, pool_timeout_s=1.0)
    held = [await engine.connect() for _ in range(20)]  # the whole pool: 20, no overflow
    try:
        async with api_of(stack.settings, stack.client, engine) as http:
            response = await _call(http, "GET", "/v1/mentors", headers=stack.frontend)
            _assert_unavailable(response, "database_unavailable")
    finally:
        for connection in held:
            await connection.close()
        await engine.dispose()


async def test_temporal_refusing_more_updates_is_429_and_unavailable_503() -> None:
    """What Temporal answers (or how its calls fail) decides the status, within the bound."""

    async def failing(error: BaseException) -> ApiError:
        try:
            async with engine_call(bound_s=1.0):
                raise error
        except ApiError as api_error:
            return api_error
        raise AssertionError("no ApiError")  # pragma: no cover

    exhausted = await failing(RPCError("too many", RPCStatusCode.RESOURCE_EXHAUSTED, b""))
    assert (exhausted.status_code, exhausted.code) == (429, "too_many_requests")
    assert exhausted.headers == {"Retry-After": "1"}
    for error in (
        RPCError("down", RPCStatusCode.UNAVAILABLE, b""),
        RPCError("slow", RPCStatusCode.DEADLINE_EXCEEDED, b""),
        RuntimeError("Failed client connect: Server connection error"),
    ):
        unavailable = await failing(error)
        assert (unavailable.status_code, unavailable.code) == (503, "workflow_engine_unavailable")

    started = time.monotonic()
    with contextlib.suppress(ApiError):
        async with engine_call(bound_s=0.2):
            await asyncio.Event().wait()  # a call that never returns
    assert time.monotonic() - started < 1.0

    not_found = RPCError("gone", RPCStatusCode.NOT_FOUND, b"")  # not an outage: passed on
    with pytest.raises(RPCError) as raised:
        async with engine_call(bound_s=1.0):
            raise not_found
    assert raised.value is not_found
