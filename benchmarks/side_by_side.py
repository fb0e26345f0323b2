"""Side by side: whole orders through the real stack next to a bare Temporal workflow (issue 11).

Against a running `make dev`, it prints one table:

1. a bare workflow of the same outline (start, 2 signals, 3 no-op activities), run on the same
   Temporal dev server by a worker this program runs in-process on its own task queue: orders/s
   at 1 and at 20 in flight;
2. whole orders through the stack (as order_flow.py: create, pay via the sandbox, approve, wait
   for `confirmed`) at 1 and at 20 in flight, and their ratio to the bare workflow; the runs
   alternate (bare 1, whole 1, bare 20, whole 20) so both see the same machine;
3. history events, activities scheduled and markers of one order until `confirmed`;
4. the Xendit invoice webhook (PAID callbacks for existing invoices: duplicates are acknowledged
   too) at 1 and at 50 in flight: acknowledgements/s, p50, p99;
5. POST /v1/orders at 1 and at 20 in flight (a fresh mentor per run): p50, p99, non-201;
6. CPU time (user+sys) of the stack's processes per whole order, the emulator apart.

    .venv/bin/python benchmarks/side_by_side.py --orders 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from edge_probes import Probe, create_probe, in_flight, webhook_probe
from order_flow import DEFAULT_SECRETS, Bench, Config
from process_cpu import cpu_sample
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

LOW = 1
HIGH = 20
WEBHOOK_HIGH = 50
ACTIVITY_TIMEOUT = timedelta(seconds=30)

# ---- the bare workflow ------------------------------------------------------------------------


@activity.defn(name="bench_noop")
async def noop(step: str) -> str:
    return step


@workflow.defn(name="BenchBareOrder")
class BareOrder:
    """Start, an activity, wait for `paid`, an activity, wait for `approve`, an activity."""

    def __init__(self) -> None:
        self.paid = False
        self.approved = False

    @workflow.signal(name="paid")
    def on_paid(self) -> None:
        self.paid = True

    @workflow.signal(name="approve")
    def on_approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(noop, "invoice", start_to_close_timeout=ACTIVITY_TIMEOUT)
        await workflow.wait_condition(lambda: self.paid)
        await workflow.execute_activity(noop, "paid", start_to_close_timeout=ACTIVITY_TIMEOUT)
        await workflow.wait_condition(lambda: self.approved)
        await workflow.execute_activity(noop, "book", start_to_close_timeout=ACTIVITY_TIMEOUT)
        return "confirmed"


async def bare_run(client: Client, task_queue: str, orders: int, concurrency: int) -> float:
    """Bare workflows completed per second."""
    run_id = uuid.uuid4().hex[:8]

    async def one(index: int) -> None:
        handle = await client.start_workflow(
            BareOrder.run, id=f"bench-bare-{run_id}-{index}", task_queue=task_queue
        )
        await handle.signal(BareOrder.on_paid)
        await handle.signal(BareOrder.on_approve)
        await handle.result()

    return orders / await in_flight(orders, concurrency, one)


# ---- whole orders -----------------------------------------------------------------------------


class RecordingBench(Bench):
    """order_flow's Bench, keeping every order it creates (for the history and the webhook)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.created: list[dict[str, Any]] = []

    async def _api(self, step: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await super()._api(step, method, path, **kwargs)
        if step == "create order" and response.status_code == 201:
            self.created.append(response.json())
        return response


@dataclass
class Whole:
    rate: float
    confirmed: int
    failures: Counter[str]
    created: list[dict[str, Any]]
    cpu_s: dict[str, float] = field(default_factory=dict)


def config_for(args: argparse.Namespace, secrets: dict[str, str], concurrency: int) -> Config:
    return Config(
        api=args.api.rstrip("/"),
        sandbox=args.sandbox.rstrip("/"),
        orders=args.orders,
        concurrency=concurrency,
        mentors=max(3, concurrency),
        poll_interval=0.05,
        step_timeout=60.0,
        request_timeout=60.0,
        admin_key=secrets["admin_api_key"],
        frontend_key=secrets["frontend_api_key"],
        run_id=uuid.uuid4().hex[:10],
    )


async def whole_run(
    config: Config, api: httpx.AsyncClient, sandbox: httpx.AsyncClient, api_port: int
) -> Whole:
    bench = RecordingBench(config, api, sandbox)
    mentor_ids = await bench.create_mentors()
    before = cpu_sample(api_port)
    wall_s = await bench.run_orders(mentor_ids)
    after = cpu_sample(api_port)
    cpu = {role: after.get(role, 0.0) - before.get(role, 0.0) for role in after}
    results = bench.results
    return Whole(
        results.confirmed / wall_s, results.confirmed, results.failures, bench.created, cpu
    )


# ---- history ----------------------------------------------------------------------------------


def count_history(history: WorkflowHistory) -> tuple[int, int, int]:
    """Events, activities scheduled, markers recorded."""
    kinds = Counter(event.event_type for event in history.events)
    return (
        len(history.events),
        kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
        kinds[EventType.EVENT_TYPE_MARKER_RECORDED],
    )


async def order_history(client: Client, api: httpx.AsyncClient, key: str, order_id: str) -> str:
    response = await api.get(f"/v1/orders/{order_id}", headers={"Authorization": f"Bearer {key}"})
    status = response.json().get("status")
    history = await client.get_workflow_handle(f"order-{order_id}").fetch_history()
    events, activities, markers = count_history(history)
    return f"{events} events, {activities} activities, {markers} markers (status {status})"


async def bare_history(client: Client, task_queue: str) -> str:
    handle = await client.start_workflow(
        BareOrder.run, id=f"bench-bare-history-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )
    await handle.signal(BareOrder.on_paid)
    await handle.signal(BareOrder.on_approve)
    await handle.result()
    events, activities, markers = count_history(await handle.fetch_history())
    return f"{events} events, {activities} activities, {markers} markers (completed)"


# ---- the table --------------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def cpu_cells(run: Whole) -> list[tuple[str, str]]:
    if not run.cpu_s:
        return [("CPU per order", "n/a (no `mentoring dev` found on this machine)")]
    per = max(run.confirmed, 1)
    stack = ("api", "worker", "temporal", "postgres")
    parts = ", ".join(f"{role} {run.cpu_s.get(role, 0.0) / per * 1000:.0f}" for role in stack)
    total = sum(run.cpu_s.get(role, 0.0) for role in stack) / per * 1000
    emulator = run.cpu_s.get("emulator", 0.0) / per * 1000
    return [
        ("CPU per confirmed order, stack (ms)", f"**{total:.0f}** ({parts})"),
        ("CPU per confirmed order, emulator apart (ms)", f"{emulator:.0f}"),
    ]


def whole_cell(run: Whole, orders: int) -> str:
    failed = sum(run.failures.values())
    text = f"**{run.rate:.2f}** ({run.confirmed}/{orders} confirmed)"
    if failed:
        text += "; failures: " + ", ".join(f"{n}x {kind}" for kind, n in run.failures.items())
    return text


def probe_cells(probe: Probe, with_rate: bool) -> str:
    text = f"p50 {ms(probe.p(0.5))}, p99 {ms(probe.p(0.99))}"
    if with_rate:
        rate = len(probe.latencies_ms) / probe.wall_s if probe.wall_s else 0.0
        text = f"**{rate:.0f}/s**, " + text
    return text + f", {probe.bad} not {'200' if with_rate else '201'} (n={len(probe.latencies_ms)})"


# ---- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8081")
    parser.add_argument("--temporal", default="127.0.0.1:7233")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--orders", type=int, default=20, help="orders per run (and per probe)")
    parser.add_argument(
        "--webhooks", type=int, default=1000, help="webhook callbacks per webhook probe run"
    )
    parser.add_argument(
        "--secrets", type=Path, default=DEFAULT_SECRETS, help="the dev keys (make dev writes them)"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.webhooks < 1:
        parser.error("--orders and --webhooks must be at least 1")
    return args


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    secrets: dict[str, str] = json.loads(args.secrets.read_text())
    api_port = httpx.URL(args.api).port or 80
    client = await Client.connect(args.temporal, namespace=args.namespace)
    task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    limits = httpx.Limits(max_connections=WEBHOOK_HIGH + 4)
    started = datetime.now(UTC)
    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    async with (
        httpx.AsyncClient(base_url=args.api.rstrip("/"), timeout=60, limits=limits) as api,
        httpx.AsyncClient(base_url=args.sandbox.rstrip("/"), timeout=60, limits=limits) as sandbox,
        Worker(
            client,
            task_queue=task_queue,
            workflows=[BareOrder],
            activities=[noop],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        if (await api.get("/readyz")).status_code != 200:
            print(f"{args.api}/readyz is not ready; is `make dev` running?", file=sys.stderr)
            return 2
        bare: dict[int, float] = {}
        whole: dict[int, Whole] = {}
        for concurrency in (LOW, HIGH):
            print(f"bare workflow, {concurrency} in flight...", file=sys.stderr)
            bare[concurrency] = await bare_run(client, task_queue, args.orders, concurrency)
            print(f"whole orders, {concurrency} in flight...", file=sys.stderr)
            config = config_for(args, secrets, concurrency)
            whole[concurrency] = await whole_run(config, api, sandbox, api_port)
        created = whole[LOW].created + whole[HIGH].created
        confirmed = [order for order in created if order.get("payment", {}).get("invoice_id")]
        print("histories...", file=sys.stderr)
        history = (
            await order_history(client, api, secrets["frontend_api_key"], confirmed[0]["id"])
            if confirmed
            else "n/a (no order created)"
        )
        history_bare = await bare_history(client, task_queue)
        hooks: dict[int, Probe] = {}
        creates: dict[int, Probe] = {}
        for concurrency in (LOW, WEBHOOK_HIGH):
            print(f"webhook probe, {concurrency} in flight...", file=sys.stderr)
            token = secrets["xendit_callback_token"]
            hooks[concurrency] = await webhook_probe(
                args.api, token, confirmed, args.webhooks, concurrency
            )
        for concurrency in (LOW, HIGH):
            print(f"POST /v1/orders probe, {concurrency} in flight...", file=sys.stderr)
            config = config_for(args, secrets, concurrency)
            creates[concurrency] = await create_probe(config, api, sandbox, concurrency)
    load_after = " ".join(f"{value:.2f}" for value in os.getloadavg())

    rows: list[tuple[str, str, str]] = [
        ("bare Temporal workflow (orders/s)", f"**{bare[LOW]:.2f}**", f"**{bare[HIGH]:.2f}**"),
        (
            "whole orders, create -> confirmed (orders/s)",
            whole_cell(whole[LOW], args.orders),
            whole_cell(whole[HIGH], args.orders),
        ),
        (
            "whole / bare",
            f"{whole[LOW].rate / bare[LOW]:.3f}",
            f"{whole[HIGH].rate / bare[HIGH]:.3f}",
        ),
        ("history until confirmed: one order", history, ""),
        ("history: one bare workflow", history_bare, ""),
        (
            f"Xendit webhook, acks (1 / {WEBHOOK_HIGH} in flight)",
            probe_cells(hooks[LOW], True),
            probe_cells(hooks[WEBHOOK_HIGH], True),
        ),
        (
            "POST /v1/orders (fresh mentor per run)",
            probe_cells(creates[LOW], False),
            probe_cells(creates[HIGH], False),
        ),
    ]
    low_cpu, high_cpu = cpu_cells(whole[LOW]), cpu_cells(whole[HIGH])
    rows += [(label, low, high) for (label, low), (_, high) in zip(low_cpu, high_cpu, strict=True)]
    print(
        f"side_by_side.py --orders {args.orders} --webhooks {args.webhooks}, "
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, {platform.platform()}, "
        f"load avg before {load_before}, after {load_after}"
    )
    print()
    print(f"| measure | {LOW} in flight | {HIGH} in flight ({WEBHOOK_HIGH} for the webhook) |")
    print("|---|---|---|")
    for label, low_cell, high_cell in rows:
        print(f"| {label} | {low_cell} | {high_cell} |")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
