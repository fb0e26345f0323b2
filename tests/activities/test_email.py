"""The email activity: what each email says, read as its recipient reads it (HTML with a text
alternative, their language, their time zone, their links), and what happens when an attempt's
Gmail call ends without an answer (the retry asks Gmail for the message's Message-ID and sends
only if Gmail does not have it)."""

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from googleapiclient.errors import HttpError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.email
from activities.email import (
    EMAILS_NOT_SENT,
    EmailActivities,
    SendEmailInput,
    SendEmailsInput,
    message_id_for,
)
from activities.email_templates import Rendered
from mentoring.db import session_factory
from mentoring.domain import MentorInfo, OrderInput, OrderStatus, Person, RefundStatus
from mentoring.google_services import GoogleServices
from mentoring.settings import Settings
from mentoring.tables import SentEmail
from mentoring.tokens import verify_mentee_token, verify_mentor_token
from tests.activities.conftest import add_fault
from tests.model import world as model
from tests.model.world import order_input
from tests.support import ReadEmail, html_links, html_text, read_email, wait_until
from workflows.effects import Effects
from workflows.machine.codes import Reason, Role, Template
from workflows.machine.model import (
    InvoiceSeen,
    Letter,
    Machine,
    Payment,
    PaymentClaimed,
    Refund,
    letters_of,
)

# Short, so that a delayed Gmail answer times the attempt out; the faults delay longer.
HTTP_TIMEOUT_S = 0.5
GMAIL_DELAY_S = 1.5


@pytest.fixture
def emails(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmailActivities]:
    # What the email says is the templates' business (and changes with them), not these tests'.
    rendered = Rendered("Payment received", "<p>Thanks.</p>\n", "Thanks.\n")
    monkeypatch.setattr(activities.email, "render", lambda *_, **__: rendered)
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


async def test_a_batch_names_the_email_gmail_refused_and_its_retry_sends_only_that(
    env: ActivityEnvironment, emails: EmailActivities, engine: AsyncEngine, sandbox: httpx.Client
) -> None:
    mentee = _request()
    mentor = dataclasses.replace(
        mentee, key=mentee.key.replace("budi@", "ayu@"), to_email="ayu@example.com"
    )
    batch = SendEmailsInput([mentee, mentor])
    add_fault(sandbox, operation="gmail.messages.send", status=500)  # the first call, either

    with pytest.raises(ApplicationError) as refused:
        await env.run(emails.send_emails, batch)
    assert refused.value.type == EMAILS_NOT_SENT
    [unsent] = refused.value.details
    rows = [await _row(engine, email.key) for email in batch.emails]
    assert [row.status for row in rows] == ["sent" if i != unsent else "failed" for i in (0, 1)]
    retried = await env.run(emails.send_emails, batch)

    assert retried == 1
    assert sorted(str(mail["to"]) for mail in _mail(sandbox)) == [
        "['ayu@example.com']",
        "['budi@example.com']",
    ]
    assert _calls(sandbox)["gmail.messages.send"] == 3


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


# ---- what the emails say ------------------------------------------------------------------------

ORDER_ID = "00000000-0000-4000-8000-0000000000e1"
START = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # 15:00 in Jakarta, 09:00 in Berlin
MEET = "https://meet.google.com/abc-defg-hij"
NBSP = "\N{NO-BREAK SPACE}"
# How each reader sees the session's start: their language, their zone and its name.
START_AS_READ = {
    ("mentee", "id"): "Jumat, 04 Desember 2026 15.00 (Waktu Indonesia Barat)",
    (
        "mentee",
        "en",
    ): "Friday, December 4, 2026, 3:00\N{NARROW NO-BREAK SPACE}PM (Western Indonesia Time)",
    ("mentor", "id"): "Jumat, 04 Desember 2026 09.00 (Waktu Standar Eropa Tengah)",
    (
        "mentor",
        "en",
    ): "Friday, December 4, 2026, 9:00\N{NARROW NO-BREAK SPACE}AM (Central European Standard Time)",
}
PRICE_AS_READ = {"id": f"Rp{NBSP}300.000", "en": f"IDR{NBSP}300,000"}
# Words an Indonesian email must not fall back to.
ENGLISH = ("cancelled", "declined", "refund", "reason", "the mentee", "the mentor", "payment")


def _order(locale: str, order_id: str = ORDER_ID) -> OrderInput:
    """A Jakarta mentee of a Berlin mentor, both reading `locale`."""
    return dataclasses.replace(
        order_input(),
        order_id=order_id,
        mentor=MentorInfo(
            "mentor-1", "Anna Schmidt", "anna@example.com", "Europe/Berlin", None, locale
        ),
        mentee=Person("Budi Santoso", "budi@example.com", locale, "Asia/Jakarta"),
        start_time=START,
    )


def _confirmed_machine(order: OrderInput) -> Machine:
    return Machine(
        order=order,
        status=OrderStatus.CONFIRMED,
        start=START,
        end=START + timedelta(hours=1),
        payment_deadline=START - timedelta(days=2),
        decision_deadline=START - timedelta(days=1),
        invoice=InvoiceSeen("inv-1", "https://pay.example/inv-1", "PAID", START),
        payment=Payment(300_000, "IDR", START - timedelta(days=3), "EWALLET", "OVO"),
        decision=True,
        meet_url=MEET,
    )


def _input(template: Template, to: Role, m: Machine, **data: str) -> SendEmailInput:
    """The activity's input exactly as the workflow builds it for this machine."""
    return Effects(m.order)._email(Letter(template, to, "1", tuple(data.items())), m)


@pytest.fixture
def real_emails(engine: AsyncEngine, settings: Settings) -> EmailActivities:
    return EmailActivities(engine, GoogleServices(settings), settings)


def _read(emails: EmailActivities, request: SendEmailInput) -> ReadEmail:
    return read_email(emails._mime(request).as_bytes())


def _order_link(settings: Settings, url: str) -> str | None:
    """The order a mentee's order page link is for, if it is one."""
    prefix = f"{settings.public_base_url}/pages/order/"
    if not url.startswith(prefix):
        return None
    return verify_mentee_token(settings.mentor_token_secret, url[len(prefix) :], timedelta(days=1))


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("role", [Role.MENTEE, Role.MENTOR])
async def test_the_confirmed_email_reads_in_each_recipients_language_and_zone(
    env: ActivityEnvironment,
    real_emails: EmailActivities,
    settings: Settings,
    sandbox: httpx.Client,
    locale: str,
    role: Role,
) -> None:
    order_id = str(uuid.uuid4())  # each its own key: the activity sends a key once
    request = _input(Template.CONFIRMED, role, _confirmed_machine(_order(locale, order_id)))

    assert await env.run(real_emails.send_email, request) is True

    [mail] = _mail(sandbox)  # as Gmail stored it, decoded
    html: str = mail["html"]  # type: ignore[assignment]
    text: str = mail["body"]  # type: ignore[assignment]
    shown = html_text(html)
    assert mail["headers"]["Content-Type"].startswith("multipart/alternative")  # type: ignore[index]
    assert mail["attachments"] == [], "no .ics: Google's event invites both"
    assert "BEGIN:VCALENDAR" not in text + html
    start = START_AS_READ[(str(role), locale)]
    assert start in text and start in shown
    assert PRICE_AS_READ[locale] in text and PRICE_AS_READ[locale] in shown
    assert MEET in text and MEET in html_links(html)
    assert ("Sesi terkonfirmasi" if locale == "id" else "Session confirmed") in str(mail["subject"])
    assert html.lstrip().startswith("<!doctype html>") and f'<html lang="{locale}">' in html
    order_links = [url for url in html_links(html) if _order_link(settings, url)]
    if role == Role.MENTEE:
        [link] = order_links
        assert _order_link(settings, link) == order_id and link in text
    else:
        assert order_links == [] and "/pages/order/" not in text


def test_an_indonesian_cancelled_email_has_no_english_reason(
    real_emails: EmailActivities,
) -> None:
    order = _order("id")
    m = dataclasses.replace(
        _confirmed_machine(order),
        status=OrderStatus.CANCELLED,
        reason=Reason.CANCELLED_BY_MENTEE,
        refund=Refund(RefundStatus.SUCCEEDED, 300_000, "rfd-1"),
    )
    for role in (Role.MENTEE, Role.MENTOR):
        email = _read(
            real_emails, _input(Template.CANCELLED, role, m, reason="cancelled_by_mentee")
        )

        for shown in (email.text, html_text(email.html), email.subject):
            assert "Dibatalkan oleh mentee" in shown or "dibatalkan" in shown.lower()
            assert not [word for word in ENGLISH if word in shown.lower()], shown


@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_reason_code_is_worded_in_each_language(
    real_emails: EmailActivities, locale: str
) -> None:
    m = dataclasses.replace(_confirmed_machine(_order(locale)), status=OrderStatus.DECLINED)
    for reason in Reason:
        email = _read(real_emails, _input(Template.DECLINED, Role.MENTEE, m, reason=reason))
        [why] = [line for line in email.text.splitlines() if line.startswith(("Why:", "Alasan:"))]
        assert "_" not in why and str(reason) not in email.text + email.html, why
        if locale == "id":
            assert not [word for word in ENGLISH if word in email.text.lower()], email.text


@pytest.mark.parametrize("locale", ["id", "en"])
def test_the_refund_email_names_the_amount_paid_and_refunded(
    real_emails: EmailActivities, locale: str
) -> None:
    """A short payment (Rp 100.000 of 300.000) given back when the payment deadline passed."""
    order = _order(locale)
    world = model.start(order)
    while world.outstanding:  # the slot held, the invoice made
        world = model.outcome(world, world.outstanding[0], "done")
    short = dataclasses.replace(world, invoice_status="PAID", paid_amount=100_000)
    world = model.feed(short, PaymentClaimed("inv-1", 100_000, "IDR"))
    sent: list[tuple[Letter, Machine]] = []
    model.OBSERVERS.append(
        lambda commands: sent.extend((c, world.machine) for c in letters_of(commands))
    )
    try:
        while world.machine.refund.status in (RefundStatus.NONE, RefundStatus.PENDING):
            if world.outstanding:
                world = model.outcome(world, world.outstanding[0], "done")
            else:
                ticked = model.tick(world)
                assert ticked is not None
                world = ticked
    finally:
        model.OBSERVERS.pop()
    m = world.machine
    assert m.status == OrderStatus.EXPIRED and m.refund.amount == 100_000

    email = _read(real_emails, _input(Template.REFUND_ISSUED, Role.MENTEE, m, refund="succeeded"))

    refunded = {"id": f"Rp{NBSP}100.000", "en": f"IDR{NBSP}100,000"}[locale]
    for shown in (email.text, html_text(email.html)):
        assert refunded in shown and "300" not in shown


@pytest.mark.parametrize("template", [Template.MENTOR_REQUEST, Template.MENTOR_REMINDER])
def test_the_mentor_is_sent_to_the_decision_page(
    real_emails: EmailActivities, settings: Settings, template: Template
) -> None:
    m = dataclasses.replace(
        _confirmed_machine(_order("en")), status=OrderStatus.AWAITING_MENTOR, decision=None
    )
    email = _read(real_emails, _input(template, Role.MENTOR, m))

    [link] = html_links(email.html)  # one button: "Open the request"
    prefix = f"{settings.public_base_url}/pages/decide/"
    assert link.startswith(prefix) and link in email.text
    token = link[len(prefix) :]
    who = verify_mentor_token(settings.mentor_token_secret, token, timedelta(days=1))
    assert who == (ORDER_ID, "mentor-1")
    assert "Open the request" in html_text(email.html)
    assert "/decision" not in email.text + email.html, "no GET links to the JSON route"


@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_mentee_email_links_to_the_order_page(
    real_emails: EmailActivities, settings: Settings, locale: str
) -> None:
    m = _confirmed_machine(_order(locale))
    data = {"old_start": (START - timedelta(days=1)).isoformat(), "paid": "100000"}
    mentee_templates = [t for t in Template if not t.startswith("mentor_")]
    for template in mentee_templates:
        email = _read(real_emails, _input(template, Role.MENTEE, m, **data))

        assert email.content_type == "multipart/alternative" and email.others == []
        links = [url for url in html_links(email.html) if _order_link(settings, url) == ORDER_ID]
        assert len(links) == 1, template
        assert links[0] in email.text, template
