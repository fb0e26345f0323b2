"""Memory with many open orders: creates N orders that stay `awaiting_payment` (never paid) on a
running `make dev`, and prints the resident memory of each process every SAMPLE orders.

    .venv/bin/python benchmarks/open_orders.py --orders 10000

A program that prints figures, not a test. The orders expire at their payment deadline (an hour
in dev): run it on a stack you can throw away (`rm -rf .mentoring` once it is stopped).
"""

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from edge_probes import in_flight, post_order
from order_flow import DEFAULT_SECRETS, Bench, Config
from process_cpu import memory_sample

ROLES = ("api", "worker", "temporal", "emulator", "postgres")
SLOT = timedelta(hours=2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--mentors", type=int, default=100)
    parser.add_argument("--sample", type=int, default=1_000, help="orders between two samples")
    parser.add_argument("--secrets", type=Path, default=DEFAULT_SECRETS)
    return parser.parse_args(argv)


def row(open_orders: int, memory: dict[str, float], rate: str) -> str:
    cells = " | ".join(f"{memory.get(role, 0):.0f}" for role in ROLES)
    return f"| {open_orders} | {cells} | {rate} |"


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    secrets = json.loads(args.secrets.read_text())
    run_id = uuid.uuid4().hex[:10]
    config = Config(
        api=args.api.rstrip("/"),
        sandbox="",
        orders=args.orders,
        concurrency=args.concurrency,
        mentors=args.mentors,
        poll_interval=0.05,
        step_timeout=60,
        request_timeout=60,
        admin_key=secrets["admin_api_key"],
        frontend_key=secrets["frontend_api_key"],
        run_id=run_id,
    )
    port = urlsplit(config.api).port or 80
    first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    failures: dict[str, int] = {}
    limits = httpx.Limits(max_connections=args.concurrency + 4)
    async with httpx.AsyncClient(base_url=config.api, timeout=60, limits=limits) as api:
        mentors = await Bench(config, api, api).create_mentors()

        async def one(index: int) -> None:
            mentor = mentors[index % len(mentors)]
            start = first + SLOT * (index // len(mentors))
            response = await post_order(api, config, mentor, start, f"open-{index}")
            if response.status_code != 201:
                failures[str(response.status_code)] = failures.get(str(response.status_code), 0) + 1

        def after(base: int, index: int) -> Awaitable[None]:
            return one(base + index)

        print(f"open_orders.py --orders {args.orders}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print("\nResident memory (MiB) by process, as open orders grow\n")
        print(f"| open orders | {' | '.join(ROLES)} | orders/s created |")
        print("|---|" + "---|" * (len(ROLES) + 1))
        print(row(0, memory_sample(port), ""), flush=True)
        done = 0
        while done < args.orders:
            batch = min(args.sample, args.orders - done)
            began = time.perf_counter()
            await in_flight(batch, args.concurrency, partial(after, done))
            done += batch
            rate = f"{batch / (time.perf_counter() - began):.1f}"
            print(row(done, memory_sample(port), rate), flush=True)
    print(f"\nnot created: {failures or 'none'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
