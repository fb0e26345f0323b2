"""What the stack answers at its edges, a number of requests at a time: Xendit's invoice webhook
and POST /v1/orders (their latencies, wall time and failures)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from order_flow import Bench, Config, percentile
from raw_http import RawConnection

REQUEST_TIMEOUT_S = 60.0


async def in_flight(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run `one(0..count-1)`, `concurrency` at a time; the wall-clock seconds it took."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def drain() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    began = time.perf_counter()
    await asyncio.gather(*(drain() for _ in range(concurrency)))
    return time.perf_counter() - began


@dataclass
class Probe:
    latencies_ms: list[float]
    wall_s: float
    bad: int

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction) if self.latencies_ms else float("nan")


async def webhook_probe(
    api_url: str, token: str, orders: list[dict[str, Any]], count: int, concurrency: int
) -> Probe:
    """Xendit's PAID callbacks for `orders`, `concurrency` kept-alive connections at a time,
    through raw_http: httpx would cost more CPU than the webhook it measures."""
    latencies: list[float] = []
    bad = 0
    pending = list(range(count))
    connections = [await RawConnection.open(api_url) for _ in range(concurrency)]

    async def drain(connection: RawConnection) -> None:
        nonlocal bad
        while pending:
            order = orders[pending.pop() % len(orders)]
            body = {
                "id": order["payment"]["invoice_id"],
                "external_id": order["id"],
                "status": "PAID",
                "amount": order["amount"],
                "paid_amount": order["amount"],
                "currency": order["currency"],
            }
            began = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    response = await connection.post_json(
                        "/v1/webhooks/xendit/invoice", body, {"x-callback-token": token}
                    )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                bad += 1
                return  # this connection is done; the others send what is left
            latencies.append((time.perf_counter() - began) * 1000)
            if response.status != 200:
                bad += 1

    began = time.perf_counter()
    try:
        await asyncio.gather(*(drain(connection) for connection in connections))
    finally:
        for connection in connections:
            await connection.close()
    # Left unsent when every connection failed: failures too.
    return Probe(latencies, time.perf_counter() - began, bad + len(pending))


async def post_order(
    api: httpx.AsyncClient, config: Config, mentor_id: str, start: datetime, name: str
) -> httpx.Response:
    """POST /v1/orders, one hour with `mentor_id` at `start`; `name` tells the orders apart."""
    return await api.post(
        "/v1/orders",
        headers={
            "Authorization": f"Bearer {config.frontend_key}",
            "Idempotency-Key": f"{config.run_id}-{name}",
        },
        json={
            "mentor_id": mentor_id,
            "mentee": {
                "name": f"Mentee {name}",
                "email": f"{config.run_id}-{name}@example.com",
                "locale": "en",
            },
            "topic": "Benchmark probe",
            "start_time": start.isoformat(),
            "duration_minutes": 60,
        },
    )


async def create_probe(
    config: Config, api: httpx.AsyncClient, sandbox: httpx.AsyncClient, concurrency: int
) -> Probe:
    """POST /v1/orders for a fresh mentor, each order at its own start time."""
    bench = Bench(config, api, sandbox)
    (mentor_id,) = (await bench.create_mentors())[:1]
    first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    latencies: list[float] = []
    bad = 0

    async def one(index: int) -> None:
        nonlocal bad
        began = time.perf_counter()
        try:
            response = await post_order(
                api, config, mentor_id, first + timedelta(hours=2 * index), f"probe-{index}"
            )
        except httpx.HTTPError:
            bad += 1
            return
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status_code != 201:
            bad += 1

    wall_s = await in_flight(config.orders, concurrency, one)
    return Probe(latencies, wall_s, bad)
