"""What the API takes from a client (api/limits.py, mentoring/header_timeout.py): rate limits per
API key and per client address (429 `rate_limited`), the body limit (413), CORS only for the
origins named, and the header read timeout. Each test runs an app of its own with small limits
(the shared stack's are out of the way); clients are told apart by X-Forwarded-For, which uvicorn
trusts from 127.0.0.1 as it would from a proxy named in FORWARDED_ALLOW_IPS."""

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from api.limits import client_address
from api.main import create_app
from mentoring.header_timeout import server_options
from mentoring.serving import BackgroundServer
from mentoring.settings import Settings
from tests.support import Stack, free_port, paid_callback, wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

INVOICE_WEBHOOK = "/v1/webhooks/xendit/invoice"


@asynccontextmanager
async def api_with(stack: Stack, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(stack.settings.model_copy(update=settings), stack.client, stack.engine)
    server = await BackgroundServer(app, port=free_port()).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            yield http
    finally:
        await server.stop()


def at(address: str, **headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **headers}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


def assert_rate_limited(response: httpx.Response, whose: str) -> None:
    body = assert_error(response, 429, "rate_limited")
    assert whose in body["error"]["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_each_address_has_its_limit_on_the_public_routes_only(stack: Stack) -> None:
    async with api_with(stack, rate_limit_per_address="3/minute") as http:
        one, other = at("203.0.113.7"), at("203.0.113.8")
        for _ in range(3):
            assert (await http.get("/v1/mentors", headers=one)).status_code == 401
        assert_rate_limited(await http.get("/v1/mentors", headers=one), "this address")
        assert_rate_limited(await http.get("/pages/order/not-a-token", headers=one), "address")
        assert (await http.get("/v1/mentors", headers=other)).status_code == 401

        # Not limited: health, the docs, and Xendit's callbacks (checked by their token).
        for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
            assert (await http.get(path, headers=one)).status_code == 200, path
        forged = await http.post(
            INVOICE_WEBHOOK, json={}, headers=at("203.0.113.7", **{"x-callback-token": "no"})
        )
        assert_error(forged, 401, "invalid_callback_token")


async def test_a_keyed_request_counts_against_its_key_not_its_address(stack: Stack) -> None:
    async with api_with(
        stack, rate_limit_per_key="4/minute", rate_limit_per_address="2/minute"
    ) as http:
        frontend = at("203.0.113.9", **stack.frontend)
        for _ in range(4):  # more than the address may: the frontend serves all its users
            assert (await http.get("/v1/mentors", headers=frontend)).status_code == 200
        assert_rate_limited(await http.get("/v1/mentors", headers=frontend), "this API key")
        elsewhere = at("198.51.100.1", **stack.frontend)
        assert_rate_limited(await http.get("/v1/mentors", headers=elsewhere), "this API key")
        admin = at("203.0.113.9", **stack.admin)
        assert (await http.get("/v1/mentors", headers=admin)).status_code == 200

        # Without a key (or with a wrong one) the address counts, whatever its keyed requests.
        for headers in (at("203.0.113.9"), at("203.0.113.9", Authorization="Bearer guess")):
            assert (await http.get("/v1/mentors", headers=headers)).status_code == 401
        assert_rate_limited(await http.get("/v1/mentors", headers=at("203.0.113.9")), "address")


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    def of(host: str) -> str:
        return client_address({"type": "http", "client": (host, 1234)})

    assert of("2001:db8:1:2::5") == of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert of("2001:db8:1:3::5") != of("2001:db8:1:2::5")
    assert of("::ffff:203.0.113.7") == of("203.0.113.7") == "203.0.113.7"


async def test_a_body_over_the_limit_is_413_declared_or_streamed(stack: Stack) -> None:
    async with api_with(stack, max_request_body_bytes=4096) as http:
        mentor = {"name": "Ayu", "timezone": "Asia/Jakarta", "hourly_rate": 300_000}
        small = await http.post(
            "/v1/mentors",
            json={**mentor, "email": f"limit-{uuid.uuid4().hex[:8]}@example.com"},
            headers=stack.admin,
        )
        assert small.status_code == 201, small.text

        body = json.dumps({**mentor, "email": "x@example.com", "name": "x" * 5000}).encode()
        declared = await http.post("/v1/mentors", content=body, headers=stack.admin)
        assert_error(declared, 413, "payload_too_large")

        async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length
            for start in range(0, len(body), 1024):
                yield body[start : start + 1024]

        streamed = await http.post("/v1/mentors", content=chunks(), headers=stack.admin)
        assert_error(streamed, 413, "payload_too_large")
        listed = await http.get("/v1/mentors", headers=stack.admin)
        assert all(item["email"] != "x@example.com" for item in listed.json())


async def test_the_webhooks_keep_their_own_64_kib_limit(stack: Stack) -> None:
    token = {"x-callback-token": stack.settings.xendit_callback_token}
    order = {"id": str(uuid.uuid4()), "payment": {"invoice_id": "inv-limit"}}
    callback = paid_callback({**order, "amount": 1, "currency": "IDR"})
    async with api_with(stack, max_request_body_bytes=256 * 1024) as http:
        over_theirs = json.dumps({**callback, "description": "x" * (70 * 1024)}).encode()
        response = await http.post(INVOICE_WEBHOOK, content=over_theirs, headers=token)
        assert_error(response, 413, "payload_too_large")
        over_ours = json.dumps({**callback, "description": "x" * (300 * 1024)}).encode()
        response = await http.post(INVOICE_WEBHOOK, content=over_ours, headers=token)
        assert_error(response, 413, "payload_too_large")
        fine = await http.post(INVOICE_WEBHOOK, json=callback, headers=token)
        assert fine.status_code == 200 and fine.json()["received"] is True, fine.text


async def test_the_openapi_document_has_429_and_413(stack: Stack) -> None:
    paths = (await stack.api.get("/openapi.json")).json()["paths"]
    create = paths["/v1/orders"]["post"]["responses"]
    for status in ("413", "429"):
        schema = create[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    assert "Retry-After" in create["429"]["headers"]
    assert "429" in paths["/v1/mentors"]["get"]["responses"]
    assert "413" not in paths["/v1/mentors"]["get"]["responses"]
    assert "429" not in paths["/healthz"]["get"]["responses"]
    webhook = paths[INVOICE_WEBHOOK]["post"]["responses"]
    assert "413" in webhook and "429" not in webhook


async def test_no_cors_headers_unless_origins_are_named(stack: Stack) -> None:
    origin = "https://app.example.com"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    answered = await stack.api.options("/v1/orders", headers=preflight)
    assert "access-control-allow-origin" not in answered.headers
    read = await stack.api.get("/v1/mentors", headers={"Origin": origin, **stack.frontend})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers

    async with api_with(
        stack, cors_allowed_origins=[origin], rate_limit_per_address="1/minute"
    ) as http:
        allowed = await http.options(
            "/v1/orders",
            headers={**preflight, "Access-Control-Request-Headers": "authorization,content-type"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == origin
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = {**preflight, "Origin": "https://evil.example.com"}
        refused = await http.options("/v1/orders", headers=other)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers

        read = await http.get("/v1/mentors", headers={"Origin": origin, **stack.frontend})
        assert read.headers["access-control-allow-origin"] == origin
        # A 429 carries them too, and exposes Retry-After, so the page can read both.
        page = {"Origin": origin, **at("203.0.113.20")}
        await http.get("/v1/mentors", headers=page)
        limited = await http.get("/v1/mentors", headers=page)
        assert_rate_limited(limited, "this address")
        assert limited.headers["access-control-allow-origin"] == origin
        assert "retry-after" in limited.headers["access-control-expose-headers"].lower()


async def _closed(reader: asyncio.StreamReader, bound_s: float) -> bytes:
    """What the server sent until it closed the connection (within the bound)."""
    async with asyncio.timeout(bound_s):
        return await reader.read()


async def _answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def server_with_header_timeout(seconds: float) -> AsyncIterator[int]:
    """A server whose protocol is the production one (`mentoring api` passes it to uvicorn)."""
    config = uvicorn.Config(
        _hello,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        **server_options(Settings(_env_file=None, header_read_timeout=timedelta(seconds=seconds))),
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:

        async def started() -> bool:
            return server.started

        await wait_until(started, "the server to start")
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task


HEAD = b"GET / HTTP/1.1\r\nHost: test\r\n"


async def test_a_connection_without_a_whole_head_in_time_is_closed() -> None:
    async with server_with_header_timeout(0.5) as port:
        # Nothing at all.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        assert await _closed(reader, bound_s=5) == b""
        assert 0.4 <= time.monotonic() - started < 3
        writer.close()

        # A head trickled a byte at a time: every byte arrives, the deadline does not move.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEAD)
        started = time.monotonic()
        closing = asyncio.create_task(_closed(reader, bound_s=5))
        trickled = 0
        with contextlib.suppress(ConnectionError):
            # A byte, then up to 0.1 s waiting for the server to close: a slow client.
            while not (await asyncio.wait({closing}, timeout=0.1))[0]:
                writer.write(b"x")
                await writer.drain()
                trickled += 1
        assert await closing == b""
        assert time.monotonic() - started < 3 and trickled >= 3
        writer.close()


async def test_a_head_in_time_is_answered_and_the_next_has_its_own_deadline() -> None:
    async with server_with_header_timeout(1.0) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEAD[:10])
        await writer.drain()
        # A slow client: for 0.2 s, well within the deadline, the server neither answers nor
        # closes; then the rest of the head comes.
        first = asyncio.create_task(reader.read(1))
        waited, _ = await asyncio.wait({first}, timeout=0.2)
        assert not waited
        writer.write(HEAD[10:] + b"\r\n")
        assert (await first + await _answer(reader)).endswith(b"\r\n\r\nok")

        # Kept alive: the next head has a second from the answer, not from the first head.
        writer.write(HEAD)
        started = time.monotonic()
        assert await _closed(reader, bound_s=5) == b""
        assert 0.8 <= time.monotonic() - started < 3
        writer.close()


async def test_mentoring_serves_with_the_header_read_timeout(tmp_path: Path) -> None:
    """The production command (`mentoring api` and `mentoring sandbox` share it) applies
    HEADER_READ_TIMEOUT: here the emulator's, which needs no stack."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HEADER_READ_TIMEOUT": "PT0.5S"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mentoring.cli",
        "sandbox",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:

        async def listening() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
            try:
                return await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return None

        reader, writer = await wait_until(listening, "the emulator to listen")
        started = time.monotonic()
        writer.write(HEAD)
        assert await _closed(reader, bound_s=5) == b""
        assert time.monotonic() - started < 3
        writer.close()
    finally:
        process.terminate()
        await process.wait()
