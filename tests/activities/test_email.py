"""The email activity when an attempt's Gmail call ends without an answer: the retry asks
Gmail for the message's Message-ID and sends only if Gmail does not have it."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from googleapiclient.errors import HttpError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

import activities.email
from activities.email import EmailActivities, SendEmailInput, message_id_for
from activities.google_services import GoogleServices
from mentoring.db import session_factory
from mentoring.settings import Settings
from mentoring.tables import SentEmail
from tests.activities.conftest import add_fault
from tests.support import wait_until

# Short, so that a delayed Gmail answer times the attempt out; the faults delay longer.
HTTP_TIMEOUT_S = 0.5
GMAIL_DELAY_S = 1.5


@pytest.fixture
def emails(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmailActivities]:
    # What the email says is the templates' business (and changes with them), not these tests'.
    monkeypatch.setattr(activities.email, "render", lambda *_: ("Payment received", "Thanks.\n"))
    yield EmailActivities(engine, GoogleServices(settings, http_timeout_s=HTTP_TIMEOUT_S), settings)


def _request() -> SendEmailInput:
    order_id = str(uuid.uuid4())
    return SendEmailInput(
        key=f"{order_id}:payment_received:budi@example.com:1",
        order_id=order_id,
        template="payment_received",
        to_email="budi@example.com",
        to_name="Budi",
        locale="en",
    )


async def _row(engine: AsyncEngine, key: str) -> SentEmail:
    async with session_factory(engine)() as session:
        row: SentEmail = (
            await session.execute(select(SentEmail).where(SentEmail.key == key))
        ).scalar_one()
    return row


def _mail(sandbox: httpx.Client) -> list[dict[str, object]]:
    mail: list[dict[str, object]] = sandbox.get("/sandbox/mail").json()
    return mail


def _played(sandbox: httpx.Client) -> int:
    played: dict[str, int] = sandbox.get("/sandbox/faults/played").json()
    return played["gmail.messages.send"]


def _calls(sandbox: httpx.Client) -> dict[str, int]:
    calls: dict[str, int] = sandbox.get("/sandbox/calls").json()
    return calls


async def test_first_attempt_sends_with_a_message_id_from_the_key(
    env: ActivityEnvironment, emails: EmailActivities, engine: AsyncEngine, sandbox: httpx.Client
) -> None:
    request = _request()

    sent = await env.run(emails.send_email, request)
    again = await env.run(emails.send_email, request)

    [mail] = _mail(sandbox)
    assert sent is True and again is False
    assert mail["headers"]["Message-ID"] == message_id_for(request.key)  # type: ignore[index]
    row = await _row(engine, request.key)
    assert row.status == "sent" and row.message_id == mail["id"]
    assert _calls(sandbox)["gmail.messages.list"] == 0  # the key alone said it was sent


async def test_timed_out_after_gmail_stored_it_the_retry_sends_nothing_more(
    env: ActivityEnvironment, emails: EmailActivities, engine: AsyncEngine, sandbox: httpx.Client
) -> None:
    request = _request()
    add_fault(
        sandbox, operation="gmail.messages.send", delay_seconds=GMAIL_DELAY_S, after_effect=True
    )

    with pytest.raises(TimeoutError):
        await env.run(emails.send_email, request)
    assert (await _row(engine, request.key)).status == "sending"
    retried = await env.run(emails.send_email, request)

    [mail] = _mail(sandbox)
    assert retried is False
    row = await _row(engine, request.key)
    assert row.status == "sent" and row.message_id == mail["id"]
    calls = _calls(sandbox)
    assert calls["gmail.messages.send"] == 1 and calls["gmail.messages.list"] == 1


async def test_timed_out_before_gmail_stored_it_the_retry_sends_it_once(
    env: ActivityEnvironment, emails: EmailActivities, engine: AsyncEngine, sandbox: httpx.Client
) -> None:
    request = _request()
    # Gmail takes the call, stalls past the client's timeout, then fails without sending.
    add_fault(sandbox, operation="gmail.messages.send", delay_seconds=GMAIL_DELAY_S, status=503)

    with pytest.raises(TimeoutError):
        await env.run(emails.send_email, request)
    retried = await env.run(emails.send_email, request)

    async def first_call_ended() -> bool:  # on Gmail's side too
        return _played(sandbox) >= 1

    await wait_until(first_call_ended, "the first call to end on Gmail's side")

    [mail] = _mail(sandbox)
    assert retried is True
    assert mail["headers"]["Message-ID"] == message_id_for(request.key)  # type: ignore[index]
    row = await _row(engine, request.key)
    assert row.status == "sent" and row.message_id == mail["id"]
    calls = _calls(sandbox)
    assert calls["gmail.messages.send"] == 2 and calls["gmail.messages.list"] == 1


async def test_gmail_error_after_it_sent_is_not_sent_again(
    env: ActivityEnvironment, emails: EmailActivities, engine: AsyncEngine, sandbox: httpx.Client
) -> None:
    request = _request()
    add_fault(sandbox, operation="gmail.messages.send", status=500, after_effect=True)

    with pytest.raises(HttpError):
        await env.run(emails.send_email, request)
    assert (await _row(engine, request.key)).status == "failed"
    retried = await env.run(emails.send_email, request)

    assert retried is False and len(_mail(sandbox)) == 1
    assert (await _row(engine, request.key)).status == "sent"


async def test_gmail_refusal_then_the_retry_sends(
    env: ActivityEnvironment, emails: EmailActivities, sandbox: httpx.Client
) -> None:
    request = _request()
    add_fault(sandbox, operation="gmail.messages.send", status=429)

    with pytest.raises(HttpError):
        await env.run(emails.send_email, request)
    retried = await env.run(emails.send_email, request)

    assert retried is True and len(_mail(sandbox)) == 1


async def test_the_look_up_failing_fails_the_attempt_without_sending(
    env: ActivityEnvironment, emails: EmailActivities, engine: AsyncEngine, sandbox: httpx.Client
) -> None:
    request = _request()
    add_fault(
        sandbox, operation="gmail.messages.send", delay_seconds=GMAIL_DELAY_S, after_effect=True
    )
    with pytest.raises(TimeoutError):
        await env.run(emails.send_email, request)
    add_fault(sandbox, operation="gmail.messages.list", status=503)

    with pytest.raises(HttpError):
        await env.run(emails.send_email, request)
    last = await env.run(emails.send_email, request)

    assert last is False and len(_mail(sandbox)) == 1
    assert (await _row(engine, request.key)).status == "sent"
