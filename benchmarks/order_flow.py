"""End-to-end benchmark of the order flow, over HTTP, against a running system (`make dev`).

Each order goes through the whole flow, as the frontend, the mentee and the mentor would drive it:

1. POST /v1/orders (with an Idempotency-Key): returns once the Xendit invoice exists;
2. POST /sandbox/invoices/{id}/pay: the emulator marks the invoice PAID and delivers Xendit's
   PAID callback to the webhook; then GET /v1/orders/{id} is polled until `awaiting_mentor`;
3. POST /v1/orders/{id}/decision {"decision": "approve"}; then polled until `confirmed`
   (Calendar event + Meet room booked, emails scheduled).

It prints the latency of each step, the orders confirmed per second and the failures by kind.
Polled latencies are measured from the start of the request that triggers the transition to the
first poll that sees it: their resolution is the poll interval (--poll-interval).

    .venv/bin/python benchmarks/order_flow.py --orders 50 --concurrency 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRETS = REPO_ROOT / ".mentoring" / "dev-secrets.json"
SESSION_MINUTES = 60
SLOT_SPACING = timedelta(hours=2)
"""Slots of one mentor are this far apart: 60-minute sessions never overlap."""
FIRST_SLOT_AHEAD = timedelta(days=2)
"""Well past the 3 h minimum lead time, and past the 24 h reminder during the run."""


class OrderFailed(Exception):
    """One order did not reach `confirmed`; `kind` is what the failure counts are keyed on."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass
class Config:
    api: str
    sandbox: str
    orders: int
    concurrency: int
    mentors: int
    poll_interval: float
    step_timeout: float
    request_timeout: float
    admin_key: str
    frontend_key: str
    run_id: str


@dataclass
class Results:
    create_ms: list[float] = field(default_factory=list)
    pay_ms: list[float] = field(default_factory=list)
    paid_to_awaiting_mentor_ms: list[float] = field(default_factory=list)
    approve_ms: list[float] = field(default_factory=list)
    approve_to_confirmed_ms: list[float] = field(default_factory=list)
    order_total_ms: list[float] = field(default_factory=list)
    confirmed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    failure_examples: dict[str, str] = field(default_factory=dict)
    api_requests: int = 0
    sandbox_requests: int = 0


def _error_code(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return "non_json"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return "no_error_code"


async def _send(
    client: httpx.AsyncClient, step: str, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One request; a transport error (timeout, refused) fails the order at this step."""
    try:
        return await client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise OrderFailed(f"{step}: {type(error).__name__}", f"{method} {path}") from error


def _require(response: httpx.Response, expected: int, step: str) -> dict[str, Any]:
    if response.status_code != expected:
        kind = f"{step}: HTTP {response.status_code} {_error_code(response)}"
        raise OrderFailed(kind, response.text[:300])
    body: Any = response.json()
    if not isinstance(body, dict):
        raise OrderFailed(f"{step}: unexpected body", response.text[:300])
    return body


class Bench:
    def __init__(self, config: Config, api: httpx.AsyncClient, sandbox: httpx.AsyncClient) -> None:
        self.config = config
        self.api = api
        self.sandbox = sandbox
        self.results = Results()
        self.frontend = {"Authorization": f"Bearer {config.frontend_key}"}

    async def _api(self, step: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.results.api_requests += 1
        return await _send(self.api, step, method, path, **kwargs)

    async def create_mentors(self) -> list[str]:
        ids = []
        for number in range(self.config.mentors):
            response = await self._api(
                "create mentor",
                "POST",
                "/v1/mentors",
                headers={"Authorization": f"Bearer {self.config.admin_key}"},
                json={
                    "name": f"Bench Mentor {number}",
                    "email": f"bench-{self.config.run_id}-{number}@example.com",
                    "timezone": "Asia/Jakarta",
                    "hourly_rate": 300_000,
                    "locale": "en",
                },
            )
            ids.append(str(_require(response, 201, "create mentor")["id"]))
        return ids

    async def _wait_for(self, order_id: str, wanted: str, started: float, step: str) -> float:
        """Poll the order until `wanted`; the ms from `started` to the poll that saw it."""
        deadline = started + self.config.step_timeout
        status = "?"
        while True:
            response = await self._api(
                f"{step} poll", "GET", f"/v1/orders/{order_id}", headers=self.frontend
            )
            status = str(_require(response, 200, f"{step} poll")["status"])
            if status == wanted:
                return (time.perf_counter() - started) * 1000
            if status in {"expired", "declined", "cancelled", "failed", "completed"}:
                raise OrderFailed(f"{step}: ended {status}", f"order {order_id}")
            if time.perf_counter() >= deadline:
                raise OrderFailed(
                    f"{step}: still {status} after {self.config.step_timeout:g} s",
                    f"order {order_id}",
                )
            await asyncio.sleep(self.config.poll_interval)

    async def run_order(self, index: int, mentor_id: str, start_time: datetime) -> None:
        results = self.results
        began = time.perf_counter()
        response = await self._api(
            "create order",
            "POST",
            "/v1/orders",
            headers={**self.frontend, "Idempotency-Key": f"bench-{self.config.run_id}-{index}"},
            json={
                "mentor_id": mentor_id,
                "mentee": {
                    "name": f"Bench Mentee {index}",
                    "email": f"mentee-{self.config.run_id}-{index}@example.com",
                    "locale": "en",
                },
                "topic": "Benchmark session",
                "start_time": start_time.isoformat(),
                "duration_minutes": SESSION_MINUTES,
            },
        )
        order = _require(response, 201, "create order")
        results.create_ms.append((time.perf_counter() - began) * 1000)
        order_id = str(order["id"])
        invoice_id = order["payment"]["invoice_id"]
        if not invoice_id or order["status"] != "awaiting_payment":
            raise OrderFailed("create order: no invoice", json.dumps(order)[:300])

        paying = time.perf_counter()
        results.sandbox_requests += 1
        response = await _send(
            self.sandbox,
            "pay",
            "POST",
            f"/sandbox/invoices/{invoice_id}/pay",
            json={"payment_method": "EWALLET", "payment_channel": "OVO"},
        )
        callback = _require(response, 200, "pay")["callback"]
        results.pay_ms.append((time.perf_counter() - paying) * 1000)
        if callback.get("status_code") != 200:
            kind = f"webhook: {callback.get('status_code') or callback.get('error')}"
            raise OrderFailed(kind, json.dumps(callback)[:300])
        results.paid_to_awaiting_mentor_ms.append(
            await self._wait_for(order_id, "awaiting_mentor", paying, "payment")
        )

        approving = time.perf_counter()
        response = await self._api(
            "approve",
            "POST",
            f"/v1/orders/{order_id}/decision",
            headers=self.frontend,
            json={"decision": "approve"},
        )
        _require(response, 200, "approve")
        results.approve_ms.append((time.perf_counter() - approving) * 1000)
        results.approve_to_confirmed_ms.append(
            await self._wait_for(order_id, "confirmed", approving, "approval")
        )
        results.order_total_ms.append((time.perf_counter() - began) * 1000)
        results.confirmed += 1

    async def run_orders(self, mentor_ids: list[str]) -> float:
        """Run every order, `concurrency` at a time; the wall-clock seconds it took."""
        first_slot = (datetime.now(UTC) + FIRST_SLOT_AHEAD).replace(
            minute=0, second=0, microsecond=0
        )
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(self.config.orders):
            queue.put_nowait(index)

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                mentor = index % len(mentor_ids)
                start = first_slot + SLOT_SPACING * (index // len(mentor_ids))
                try:
                    await self.run_order(index, mentor_ids[mentor], start)
                except OrderFailed as failure:
                    self._fail(failure.kind, failure.detail)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.config.concurrency)))
        return time.perf_counter() - began

    def _fail(self, kind: str, detail: str) -> None:
        self.results.failures[kind] += 1
        self.results.failure_examples.setdefault(kind, detail)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"p50 {percentile(values, 0.50):8.1f}  p95 {percentile(values, 0.95):8.1f}  "
        f"max {max(values):8.1f}  (n={len(values)})"
    )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(config: Config, results: Results, wall_s: float, load_before: str) -> None:
    cpu = os.cpu_count()
    print("== mentoring-orders: end-to-end order flow benchmark ==")
    print(f"machine      {cpu} CPUs, {platform.platform()}, Python {platform.python_version()}")
    print(f"load avg     before {load_before}, after {_load()} (1/5/15 min)")
    print(f"api          {config.api}    sandbox {config.sandbox}")
    print(
        f"parameters   orders={config.orders} concurrency={config.concurrency} "
        f"mentors={config.mentors} poll-interval={config.poll_interval * 1000:g}ms "
        f"step-timeout={config.step_timeout:g}s run-id={config.run_id}"
    )
    print("latency (ms)")
    rows = [
        ("create order (incl. Xendit invoice)", results.create_ms),
        ("pay (sandbox -> webhook acknowledged)", results.pay_ms),
        ("pay -> awaiting_mentor (polled)", results.paid_to_awaiting_mentor_ms),
        ("approve request", results.approve_ms),
        ("approve -> confirmed (polled)", results.approve_to_confirmed_ms),
        ("whole order, create -> confirmed", results.order_total_ms),
    ]
    for label, values in rows:
        print(f"  {label:<40}{summary(values)}")
    rate = results.confirmed / wall_s if wall_s > 0 else 0.0
    print(
        f"confirmed    {results.confirmed}/{config.orders} in {wall_s:.2f} s = {rate:.2f} orders/s"
    )
    print(
        f"requests     {results.api_requests} to the API (polls included) = "
        f"{results.api_requests / wall_s:.1f}/s, {results.sandbox_requests} to the sandbox"
    )
    failed = sum(results.failures.values())
    print(f"failures     {failed}")
    for kind, count in results.failures.most_common():
        print(f"  {count:5d}  {kind}")
        print(f"         e.g. {results.failure_examples[kind][:200]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8081")
    parser.add_argument("--orders", type=int, default=50, help="orders to run (N)")
    parser.add_argument("--concurrency", type=int, default=1, help="orders in flight (C)")
    parser.add_argument(
        "--mentors", type=int, default=None, help="mentors to create (default: C, at least 3)"
    )
    parser.add_argument("--poll-interval", type=float, default=0.05, help="seconds")
    parser.add_argument(
        "--step-timeout", type=float, default=60.0, help="seconds a polled step may take"
    )
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds")
    parser.add_argument(
        "--secrets", type=Path, default=DEFAULT_SECRETS, help="the dev keys (make dev writes them)"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.concurrency < 1:
        parser.error("--orders and --concurrency must be at least 1")
    return args


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    secrets = json.loads(args.secrets.read_text())
    config = Config(
        api=args.api.rstrip("/"),
        sandbox=args.sandbox.rstrip("/"),
        orders=args.orders,
        concurrency=args.concurrency,
        mentors=args.mentors or max(3, args.concurrency),
        poll_interval=args.poll_interval,
        step_timeout=args.step_timeout,
        request_timeout=args.request_timeout,
        admin_key=secrets["admin_api_key"],
        frontend_key=secrets["frontend_api_key"],
        run_id=uuid.uuid4().hex[:10],
    )
    limits = httpx.Limits(max_connections=config.concurrency + 4)
    async with (
        httpx.AsyncClient(
            base_url=config.api, timeout=config.request_timeout, limits=limits
        ) as api,
        httpx.AsyncClient(
            base_url=config.sandbox, timeout=config.request_timeout, limits=limits
        ) as sandbox,
    ):
        try:
            ready: int | str = (await api.get("/readyz")).status_code
        except httpx.HTTPError as error:
            ready = type(error).__name__
        if ready != 200:
            print(f"{config.api}/readyz: {ready}; is `make dev` running?", file=sys.stderr)
            return 2
        load_before = _load()
        bench = Bench(config, api, sandbox)
        mentor_ids = await bench.create_mentors()
        wall_s = await bench.run_orders(mentor_ids)
    report(config, bench.results, wall_s, load_before)
    return 0 if not bench.results.failures else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
