"""How fast the API answers a mentor's free slots: what `GET /v1/mentors/{id}/slots` does on the
server (read the availability and the orders around the window from Postgres, take the mentor's
calendar's busy blocks, decide every candidate start), for a 14-day window.

The mentor has 1,000 orders (some 40 of them active in the window, the rest past or ended) and
a busy Google Calendar (300 blocks of their own, in the emulator). Google's round trip is left
out: the calendar's answer is read once, then kept, as the API keeps it. Printed side by side
with a baseline mentor who has the same hours and neither orders nor busy blocks; the ratio is
the cost of the orders and the calendar.

    .venv/bin/python benchmarks/slots.py [--database-url URL] [--rounds 300]

It makes a database of its own on the Postgres server of `--database-url` (default: the
`TEST_DATABASE_URL` or the machine's 127.0.0.1:5432) and drops it at the end.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.bookability import mentor_schedule
from api.calendar_busy import CalendarBusy
from devstack.databases import create_throwaway_database, drop_database
from emulator.app import create_app as create_emulator_app
from emulator.config import EmulatorConfig
from emulator.credentials import write_service_account_file
from mentoring.db import create_engine, migrate_to_head, session_factory
from mentoring.serving import BackgroundServer
from mentoring.settings import Settings
from mentoring.slots import free_slots
from mentoring.tables import Mentor, MentorAvailability, Order

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
WINDOW = timedelta(days=14)
DURATION = timedelta(minutes=60)
ORDERS = 1000
BUSY_BLOCKS = 300
HOURS = {
    "weekly": [
        {"day": day, "start": start, "end": end}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat")
        for start, end in (("08:00", "12:00"), ("13:00", "21:00"))
    ],
    "buffer_minutes": 15,
    "minimum_notice": "PT3H",
    "horizon_days": 60,
    "slot_step_minutes": 15,
}


def _order_row(mentor_id: uuid.UUID, start: datetime, status: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "mentor_id": mentor_id,
        "mentee_name": "Budi",
        "mentee_email": f"mentee-{uuid.uuid4().hex[:8]}@example.com",
        "mentee_locale": "id",
        "topic": "Benchmark",
        "start_time": start,
        "end_time": start + DURATION,
        "duration_minutes": 60,
        "amount": 300_000,
        "currency": "IDR",
        "status": status,
        "request_hash": "0" * 64,
        "payment_deadline": start - timedelta(hours=2),
        "payment_status": "paid",
        "refund_status": "none",
        "calendar_event_id": f"ev{uuid.uuid4().hex}" if status == "confirmed" else None,
        "created_at": start - timedelta(days=3),
        "updated_at": start - timedelta(days=3),
    }


async def _mentor(sessions: Any, name: str, orders: int, now: datetime) -> Mentor:
    mentor = Mentor(
        id=uuid.uuid4(),
        name=name,
        email=f"{name}-{uuid.uuid4().hex[:6]}@example.com",
        timezone="Asia/Jakarta",
        hourly_rate=300_000,
        locale="id",
        active=True,
    )
    async with sessions() as session:
        session.add(mentor)
        session.add(MentorAvailability(mentor_id=mentor.id, rules=HOURS, updated_at=now))
        await session.flush()
        # One every 7 hours from 250 days ago: the future ones (some 40 in the window) are
        # active, the past ones completed.
        first = (now - timedelta(days=250)).replace(minute=0, second=0, microsecond=0)
        rows = []
        for n in range(orders):
            start = first + timedelta(hours=7 * n)
            rows.append(_order_row(mentor.id, start, "confirmed" if start > now else "completed"))
        if rows:
            await session.execute(insert(Order), rows)
        await session.commit()
    return mentor


async def _busy_calendar(sandbox: str, calendar: str, blocks: int, now: datetime) -> None:
    async with httpx.AsyncClient(base_url=sandbox) as client:
        for n in range(blocks):
            start = now + timedelta(hours=5 * n + 2)
            block = {
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=45)).isoformat(),
                "summary": "Own meeting",
            }
            response = await client.post(f"/sandbox/calendar/{calendar}/busy", json=block)
            response.raise_for_status()


async def _timings(
    sessions: Any, busy: CalendarBusy, mentor: Mentor, now: datetime, rounds: int
) -> tuple[list[float], int, bool]:
    start = now + timedelta(days=1)
    timings: list[float] = []
    found, checked = 0, False
    for _ in range(rounds):
        began = time.perf_counter()
        async with sessions() as session:
            schedule = await mentor_schedule(
                session, busy, mentor, (start, start + WINDOW + DURATION)
            )
        slots = free_slots(start, start + WINDOW, DURATION, schedule.time, now)
        timings.append((time.perf_counter() - began) * 1000)
        found, checked = len(slots), schedule.calendar_checked
    return timings, found, checked


def _line(name: str, timings: list[float], slots: int, checked: bool) -> str:
    ordered = sorted(timings)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    figures = f"p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   slots {slots:4}"
    return f"{name:<34} {figures}   calendar checked {checked}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER)
    )
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    database_url = await create_throwaway_database(args.database_url)
    engine = create_engine(database_url)
    config = EmulatorConfig(public_url="http://127.0.0.1", callback_url="", callback_token="")
    sandbox = await BackgroundServer(create_emulator_app(config)).start()
    try:
        await asyncio.to_thread(migrate_to_head, database_url)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        with tempfile.TemporaryDirectory() as folder:
            credentials = write_service_account_file(
                Path(folder) / "service-account.json", token_uri=f"{sandbox.url}/oauth2/token"
            )
            settings = Settings(
                _env_file=None,
                google_api_url=sandbox.url,
                google_credentials_file=credentials,
                google_freebusy_cache_ttl=timedelta(hours=1),
            )
            busy = CalendarBusy(settings)
            baseline = await _mentor(sessions, "baseline", 0, now)
            loaded = await _mentor(sessions, "loaded", ORDERS, now)
            await _busy_calendar(sandbox.url, loaded.email, BUSY_BLOCKS, now)
            for mentor in (baseline, loaded):  # Google's round trip, once; then kept
                await _timings(sessions, busy, mentor, now, 1)
            base = await _timings(sessions, busy, baseline, now, args.rounds)
            heavy = await _timings(sessions, busy, loaded, now, args.rounds)
        rounds = f"{args.rounds} rounds each, {os.cpu_count()} CPUs"
        print(f"slots for a {WINDOW.days}-day window, {rounds}")
        print(_line("baseline (no orders, free calendar)", base[0], base[1], base[2]))
        print(_line(f"{ORDERS} orders + {BUSY_BLOCKS} busy blocks", heavy[0], heavy[1], heavy[2]))
        ratio = statistics.median(heavy[0]) / statistics.median(base[0])
        print(f"ratio of medians (loaded / baseline): {ratio:.2f}")
    finally:
        await sandbox.stop()
        await engine.dispose()
        await drop_database(database_url)


if __name__ == "__main__":
    asyncio.run(main())
