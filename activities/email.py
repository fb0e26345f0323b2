"""Gmail activity: each email once, its key recorded before it is sent.

Each message carries a Message-ID derived from its key. An attempt that finds the key claimed by
an earlier one that did not finish (its Gmail call timed out or failed: the message may or may
not have gone out) asks Gmail for that Message-ID and sends only if Gmail has no such message.
"""

import asyncio
import base64
import enum
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

from googleapiclient.errors import HttpError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.blocking import in_thread
from activities.email_templates import render
from mentoring.db import autocommit, session_factory
from mentoring.google_services import GoogleServices
from mentoring.settings import Settings
from mentoring.tables import SentEmail
from mentoring.tokens import decision_page_url, order_page_url

MESSAGE_ID_DOMAIN = "mentoring.invalid"
# The error of a batch some of whose emails did not go out; its details are their positions.
EMAILS_NOT_SENT = "EmailsNotSent"


def message_id_for(key: str) -> str:
    """The Message-ID header of the email with this key: the same on every attempt."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


class Claim(enum.Enum):
    NEW = "new"
    """First attempt for the key: send."""
    SENT = "sent"
    """Sent by an earlier attempt: nothing to do."""
    UNSURE = "unsure"
    """An earlier attempt claimed it and did not record that it was sent: ask Gmail."""


@dataclass
class SendEmailInput:
    key: str
    order_id: str
    template: str
    to_email: str
    to_name: str
    locale: str
    timezone: str = "Asia/Jakarta"
    """The recipient's own time zone: every date and time in the email is shown in it."""
    context: dict[str, str] = field(default_factory=dict)


@dataclass
class SendEmailsInput:
    """The emails one step of an order sends (one to each person at most, usually)."""

    emails: list[SendEmailInput]


class EmailActivities:
    def __init__(self, engine: AsyncEngine, google: GoogleServices, settings: Settings) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._google = google
        self._settings = settings

    def _links(self, request: SendEmailInput) -> dict[str, str]:
        """The signed links a recipient follows: a mentee's order page from every email, a
        mentor's decision page (where Approve and Decline are buttons) from a request."""
        base, secret = self._settings.public_base_url, self._settings.mentor_token_secret
        context = request.context
        if context.get("role") == "mentee":
            return {"order_url": order_page_url(base, secret, request.order_id)}
        if context.get("role") == "mentor" and context.get("mentor_id"):
            return {
                "decision_url": decision_page_url(
                    base, secret, request.order_id, context["mentor_id"]
                )
            }
        return {}

    def _mime(self, request: SendEmailInput) -> MIMEMultipart:
        """HTML with its plain-text alternative (multipart/alternative). No calendar file:
        Google sends the invitations (docs/decisions/0021-google-sends-the-invitations.md)."""
        email = render(
            request.template,
            request.locale,
            {**request.context, **self._links(request)},
            timezone=request.timezone,
            currency=request.context.get("currency") or "IDR",
        )
        # The compat32 classes: about three times cheaper to build than with the default
        # policy's header objects (issue 11's profile); a recipient's client reads the same.
        message = MIMEMultipart("alternative")
        message["To"] = formataddr((request.to_name, request.to_email), charset="utf-8")
        message["From"] = formataddr(("Nusademy", self._settings.google_organizer_email))
        message["Subject"] = Header(email.subject, "utf-8").encode()
        message["Message-ID"] = message_id_for(request.key)
        message["X-Idempotency-Key"] = request.key
        message["Content-Language"] = request.locale
        message.attach(MIMEText(email.text, "plain", "utf-8"))
        message.attach(MIMEText(email.html, "html", "utf-8"))
        return message

    def _send(self, message: MIMEMultipart) -> str:
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
        sent = self._google.gmail_messages().send(userId="me", body={"raw": raw})
        return str(sent.execute()["id"])

    def _find_sent(self, message_id: str) -> str | None:
        """The Gmail id of the message with this Message-ID in the sender's mailbox, if any."""
        found = (
            self._google.gmail_messages()
            .list(userId="me", q=f"rfc822msgid:{message_id}", maxResults=1)
            .execute()
        )
        messages = found.get("messages") or []
        return str(messages[0]["id"]) if messages else None

    async def _claim(self, request: SendEmailInput) -> Claim:
        """Record the key (or take it over from an attempt that did not finish)."""
        async with autocommit(self._engine) as connection:
            inserted = await connection.execute(
                insert(SentEmail)
                .values(
                    key=request.key,
                    order_id=uuid.UUID(request.order_id),
                    template=request.template,
                    recipient=request.to_email,
                    status="sending",
                )
                .on_conflict_do_nothing()
                .returning(SentEmail.key)
            )
            if inserted.first() is not None:
                return Claim.NEW
        async with self._sessions() as session:
            status = await session.scalar(
                select(SentEmail.status).where(SentEmail.key == request.key).with_for_update()
            )
            if status == "sent":
                return Claim.SENT
            # "sending": an attempt died or timed out in its Gmail call; "failed": Gmail answered
            # an error (a 5xx may still have sent it). Either way Gmail knows.
            await session.execute(
                update(SentEmail).where(SentEmail.key == request.key).values(status="sending")
            )
            await session.commit()
            return Claim.UNSURE

    async def _mark(self, key: str, status: str, message_id: str | None = None) -> None:
        sent_at = datetime.now(UTC) if status == "sent" else None
        async with autocommit(self._engine) as connection:
            await connection.execute(
                update(SentEmail)
                .where(SentEmail.key == key)
                .values(status=status, message_id=message_id, sent_at=sent_at)
            )

    @activity.defn
    async def send_emails(self, request: SendEmailsInput) -> int:
        """Each email once, all at the same time; returns how many went out now. If any did not,
        raises EMAILS_NOT_SENT naming them: a retry sends only those (the others' keys say they
        were sent), and the last attempt's error tells the workflow which never went out."""
        outcomes = await asyncio.gather(
            *(self.send_email(email) for email in request.emails), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled: the activity's own end, not an email's
        errors = [
            (i, outcome) for i, outcome in enumerate(outcomes) if isinstance(outcome, Exception)
        ]
        if errors:
            first = errors[0][1]
            raise ApplicationError(
                f"{len(errors)} of {len(outcomes)} emails not sent: {first!r}",
                *(i for i, _ in errors),
                type=EMAILS_NOT_SENT,
            ) from first
        return sum(1 for outcome in outcomes if outcome is True)

    async def send_email(self, request: SendEmailInput) -> bool:
        """Send through Gmail; returns False when it was already sent (the key says so, or Gmail
        has its Message-ID)."""
        claim = await self._claim(request)
        if claim is Claim.SENT:
            return False
        if claim is Claim.UNSURE:
            already = await in_thread(self._find_sent, message_id_for(request.key))
            if already is not None:
                await self._mark(request.key, "sent", already)
                return False
        message = self._mime(request)
        try:
            message_id = await in_thread(self._send, message)
        except (HttpError, ConnectionRefusedError, BrokenPipeError):
            # Gmail answered an error, could not be reached or closed the connection before the
            # request was written: most likely nothing went out, and a retry asks Gmail first.
            # A timeout leaves the key "sending", which the retry also checks.
            await self._mark(request.key, "failed")
            raise
        await self._mark(request.key, "sent", message_id)
        return True
