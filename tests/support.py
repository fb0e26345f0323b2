"""Helpers the tests share: waiting on a condition, request bodies, the stack's handles."""

import asyncio
import json
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import TimeSkipper
from temporalio.worker import Worker

from mentoring.domain import workflow_id_for
from mentoring.settings import Settings
from worker import create_worker

T = TypeVar("T")

# Every span the test stack ends (tracing is on for the whole run), the latest ones.
SPANS = InMemorySpanExporter(max_spans=20_000)

WAIT_BOUND_S = 60.0
POLL_INTERVAL_S = 0.05


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], what: str, bound_s: float = WAIT_BOUND_S
) -> T:
    """Poll `probe` until it returns something truthy; fail after a generous bound."""
    async with asyncio.timeout(bound_s):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(POLL_INTERVAL_S)
    raise AssertionError(f"timed out waiting for {what}")  # pragma: no cover


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_pair() -> int:
    """A free port whose next port is free too (METRICS_PORT and the SDK's, next to it)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


class RunningWorker:
    """The order worker in this process; a test may stop it and start a new one."""

    def __init__(self, client: Client, settings: Settings, engine: AsyncEngine) -> None:
        self._client, self._settings, self._engine = client, settings, engine
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._worker = create_worker(self._client, self._settings, self._engine)
        self._task = asyncio.create_task(self._worker.run())

    async def stop(self) -> None:
        if self._worker is not None and self._task is not None:
            await self._worker.shutdown()
            await self._task
        self._worker = self._task = None


@dataclass
class Stack:
    settings: Settings
    client: Client
    skipper: TimeSkipper
    engine: AsyncEngine
    api: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    worker: RunningWorker
    created_orders: list[str] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.admin_api_key}"}

    @property
    def frontend(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.frontend_api_key}"}

    async def create_mentor(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "Ayu Lestari",
            "email": f"mentor-{uuid.uuid4().hex[:10]}@example.com",
            "timezone": "Asia/Jakarta",
            "hourly_rate": 300_000,
            **overrides,
        }
        response = await self.api.post("/v1/mentors", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        mentor: dict[str, Any] = response.json()
        return mentor

    async def create_order(
        self, mentor_id: str, idempotency_key: str | None = None, **overrides: Any
    ) -> httpx.Response:
        headers = dict(self.frontend)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        response = await self.api.post(
            "/v1/orders", json=order_body(mentor_id, **overrides), headers=headers
        )
        if response.status_code == 201:
            self.created_orders.append(response.json()["id"])
        return response

    async def new_order(self, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new mentor and an order of theirs, created (201)."""
        mentor = await self.create_mentor()
        response = await self.create_order(mentor["id"], **overrides)
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return mentor, order

    async def get_order(self, order_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/v1/orders/{order_id}", headers=self.frontend)
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()
        return order

    async def wait_for_status(self, order_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            order = await self.get_order(order_id)
            return order if order["status"] == status else None

        return await wait_until(probe, f"order {order_id} to be {status}")

    async def decide(
        self, order_id: str, decision: str, reason: str | None = None
    ) -> httpx.Response:
        return await self.api.post(
            f"/v1/orders/{order_id}/decision",
            json={"decision": decision, "reason": reason},
            headers=self.frontend,
        )

    async def pay(self, invoice_id: str, **body: Any) -> dict[str, Any]:
        response = await self.sandbox.post(f"/sandbox/invoices/{invoice_id}/pay", json=body or None)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def mail_to(self, email: str) -> list[dict[str, Any]]:
        response = await self.sandbox.get("/sandbox/mail")
        return [m for m in response.json() if email in str(m["to"])]

    async def wait_for_mail(
        self, email: str, subject_has: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """The emails to `email` once one has arrived whose subject holds one of `subject_has`."""

        async def probe() -> list[dict[str, Any]] | None:
            mail = await self.mail_to(email)
            wanted = [
                m
                for m in mail
                if not subject_has or any(w in m["subject"].lower() for w in subject_has)
            ]
            return mail if wanted else None

        return await wait_until(probe, f"an email to {email} about {subject_has or 'anything'}")

    async def templates_sent(self, email: str) -> list[str]:
        """The template of each email sent to `email`, from its idempotency key, oldest first."""
        return [m["headers"]["X-Idempotency-Key"].split(":")[1] for m in await self.mail_to(email)]

    async def wait_for_template(self, email: str, template: str, count: int = 1) -> list[str]:
        """The templates sent to `email` once `template` was sent there `count` times."""

        async def probe() -> list[str] | None:
            sent = await self.templates_sent(email)
            return sent if sent.count(template) >= count else None

        return await wait_until(probe, f"{count} {template} email(s) to {email}")

    async def events_for(self, event_id: str) -> list[dict[str, Any]]:
        response = await self.sandbox.get("/sandbox/calendar/events")
        return [e for e in response.json() if e["id"] == event_id]


BANK_TRANSFER = {"payment_method": "BANK_TRANSFER", "payment_channel": "BCA"}


async def flagged_order(stack: Stack) -> dict[str, Any]:
    """An order paid by bank transfer, then declined: Xendit cannot pay it back by API."""
    mentor = await stack.create_mentor()
    order = (await stack.create_order(mentor["id"])).json()
    await stack.pay(order["payment"]["invoice_id"], **BANK_TRANSFER)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "decline", "away")).status_code == 200

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["needs_admin"] else None

    current = await wait_until(flagged, "the order to be flagged")
    assert "refund_manual_required" in current["admin_note"]
    return current


HISTORIES_DIR = Path(__file__).parent / "workflows" / "histories"


async def save_history(client: Client, order_id: str, name: str) -> Path:
    """The order's workflow history as JSON under tests/workflows/histories/."""
    history = await client.get_workflow_handle(workflow_id_for(order_id)).fetch_history()
    HISTORIES_DIR.mkdir(exist_ok=True)
    path = HISTORIES_DIR / f"{name}.json"
    path.write_text(history.to_json())
    return path


def paid_callback(order: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Xendit's PAID invoice callback for `order`, in full, the fields the webhook reads."""
    return {
        "id": order["payment"]["invoice_id"],
        "external_id": order["id"],
        "status": "PAID",
        "amount": order["amount"],
        "paid_amount": order["amount"],
        "currency": order["currency"],
        **fields,
    }


def session_start(days_ahead: int = 5, hour: int = 10) -> datetime:
    day = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days_ahead)


def order_body(mentor_id: str, **overrides: Any) -> dict[str, Any]:
    start = overrides.pop("start_time", session_start())
    body = {
        "mentor_id": mentor_id,
        "mentee": {"name": "Budi Santoso", "email": f"mentee-{uuid.uuid4().hex[:10]}@example.com"},
        "topic": "Career switch into data engineering",
        "start_time": start.isoformat() if isinstance(start, datetime) else start,
        "duration_minutes": 60,
        **overrides,
    }
    return body


# ---- reading an email as its recipient's mail program shows it ---------------------------------


@dataclass(frozen=True)
class ReadEmail:
    subject: str
    content_type: str
    text: str
    html: str
    others: list[str]
    """The content types of the parts that are neither the text nor the HTML body."""


def read_email(raw: bytes) -> ReadEmail:
    """The RFC 822 message `raw`, its text and HTML bodies decoded."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    bodies = [part for part in (text, html) if part is not None]
    return ReadEmail(
        subject=str(message["Subject"]),
        content_type=message.get_content_type(),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
        others=[
            part.get_content_type()
            for part in message.walk()
            if not part.is_multipart() and not any(part is body for body in bodies)
        ],
    )


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("head", "style", "script")
        self.links += [value for name, value in attrs if tag == "a" and name == "href" and value]

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("head", "style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.words.append(data)


def html_text(html: str) -> str:
    """What an HTML body shows, its whitespace collapsed (entities decoded)."""
    page = _Page()
    page.feed(html)
    return re.sub(r"[ \t\r\n]+", " ", " ".join(page.words)).strip()  # no-break spaces kept


def html_links(html: str) -> list[str]:
    """Where an HTML body's links lead."""
    page = _Page()
    page.feed(html)
    return page.links


def modules_loaded_by(modules: list[str], roots: tuple[str, ...]) -> list[str]:
    """The modules under `roots` that a fresh interpreter has loaded once it imported
    `modules` (in a subprocess: this one has loaded everything already)."""
    probe = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"roots = {roots!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in roots)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded
