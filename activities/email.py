"""Gmail activity: each email once, its key recorded before it is sent.

Each message carries a Message-ID derived from its key. An attempt that finds the key claimed by
an earlier one that did not finish (its Gmail call timed out or failed: the message may or may
not have gone out) asks Gmail for that Message-ID and sends only if Gmail has no such message.
"""

import base64
import enum
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from googleapiclient.errors import HttpError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.blocking import in_thread
from activities.email_templates import render
from activities.google_services import GoogleServices
from mentoring.db import session_factory
from mentoring.settings import Settings
from mentoring.tables import SentEmail
from mentoring.tokens import mentor_token

DATETIME_KEYS = ("start", "old_start", "payment_deadline", "decision_deadline")
MESSAGE_ID_DOMAIN = "mentoring.invalid"


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
class CalendarInvite:
    uid: str
    summary: str
    description: str
    start_time: datetime
    end_time: datetime
    location: str
    organizer_email: str
    attendee_emails: list[str]
    sequence: int = 0


@dataclass
class SendEmailInput:
    key: str
    order_id: str
    template: str
    to_email: str
    to_name: str
    locale: str
    timezone: str = "Asia/Jakarta"
    context: dict[str, str] = field(default_factory=dict)
    invite: CalendarInvite | None = None


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def build_ics(invite: CalendarInvite) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Nusademy//Mentoring Orders//EN",
        "VERSION:2.0",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{invite.uid}",
        f"SEQUENCE:{invite.sequence}",
        f"DTSTAMP:{_ics_time(invite.start_time)}",
        f"DTSTART:{_ics_time(invite.start_time)}",
        f"DTEND:{_ics_time(invite.end_time)}",
        f"SUMMARY:{_ics_text(invite.summary)}",
        f"DESCRIPTION:{_ics_text(invite.description)}",
        f"LOCATION:{_ics_text(invite.location)}",
        f"ORGANIZER:mailto:{invite.organizer_email}",
        *(f"ATTENDEE;RSVP=TRUE:mailto:{email}" for email in invite.attendee_emails),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def _local_time(value: str, timezone: str) -> str:
    moment = datetime.fromisoformat(value).astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")


class EmailActivities:
    def __init__(self, engine: AsyncEngine, google: GoogleServices, settings: Settings) -> None:
        self._sessions = session_factory(engine)
        self._google = google
        self._settings = settings

    def _render_context(self, request: SendEmailInput) -> dict[str, str]:
        context = dict(request.context)
        for key in DATETIME_KEYS:
            if context.get(key):
                context[key] = _local_time(context[key], request.timezone)
        if "mentor_id" in context:
            token = mentor_token(
                self._settings.mentor_token_secret, request.order_id, context["mentor_id"]
            )
            base = f"{self._settings.public_base_url}/v1/orders/{request.order_id}/decision"
            context["approve_url"] = f"{base}?decision=approve&token={token}"
            context["decline_url"] = f"{base}?decision=decline&token={token}"
        return context

    def _mime(self, request: SendEmailInput) -> EmailMessage:
        subject, body = render(request.template, request.locale, self._render_context(request))
        message = EmailMessage()
        message["To"] = f"{request.to_name} <{request.to_email}>"
        message["From"] = f"Nusademy <{self._settings.google_organizer_email}>"
        message["Subject"] = subject
        message["Message-ID"] = message_id_for(request.key)
        message["X-Idempotency-Key"] = request.key
        message.set_content(body)
        if request.invite is not None:
            message.add_attachment(
                build_ics(request.invite).encode(),
                maintype="text",
                subtype="calendar",
                filename="invite.ics",
                params={"method": "REQUEST"},
            )
        return message

    def _send(self, message: EmailMessage) -> str:
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
        sent = self._google.gmail().users().messages().send(userId="me", body={"raw": raw})
        return str(sent.execute()["id"])

    def _find_sent(self, message_id: str) -> str | None:
        """The Gmail id of the message with this Message-ID in the sender's mailbox, if any."""
        found = (
            self._google.gmail()
            .users()
            .messages()
            .list(userId="me", q=f"rfc822msgid:{message_id}", maxResults=1)
            .execute()
        )
        messages = found.get("messages") or []
        return str(messages[0]["id"]) if messages else None

    async def _claim(self, request: SendEmailInput) -> Claim:
        """Record the key (or take it over from an attempt that did not finish)."""
        async with self._sessions() as session:
            inserted = await session.execute(
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
                await session.commit()
                return Claim.NEW
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
        async with self._sessions() as session:
            sent_at = datetime.now(UTC) if status == "sent" else None
            await session.execute(
                update(SentEmail)
                .where(SentEmail.key == key)
                .values(status=status, message_id=message_id, sent_at=sent_at)
            )
            await session.commit()

    @activity.defn
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
