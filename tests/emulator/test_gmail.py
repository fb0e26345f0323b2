"""Sending mail through googleapiclient's Gmail client; the sandbox shows what was sent."""

import base64
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.emulator.conftest import ORGANIZER

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _message() -> EmailMessage:
    message = EmailMessage()
    message["To"] = "Budi Santoso <budi@example.com>"
    message["Cc"] = "ayu@example.com"
    message["From"] = f"Nusademy <{ORGANIZER}>"
    message["Subject"] = "Your session is confirmed"
    message["X-Idempotency-Key"] = "order-1/confirmed/mentee"
    message.set_content("See you on Thursday.\nhttps://meet.google.com/abc-defg-hij")
    message.add_alternative("<p>See you on <b>Thursday</b>.</p>", subtype="html")
    message.add_attachment(
        ICS.encode(),
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
        params={"method": "REQUEST"},
    )
    return message


def _raw(message: EmailMessage) -> str:
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


def test_send_stores_the_parsed_message(gmail: Any, sandbox: httpx.Client) -> None:
    sent = gmail.users().messages().send(userId="me", body={"raw": _raw(_message())}).execute()

    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == sent["id"]
    assert len(sent["id"]) == 16
    [mail] = sandbox.get("/sandbox/mail").json()
    assert mail["id"] == sent["id"]
    assert mail["to"] == ["budi@example.com"] and mail["cc"] == ["ayu@example.com"]
    assert mail["from"] == ORGANIZER and mail["user_id"] == "me"
    assert mail["subject"] == "Your session is confirmed"
    assert "https://meet.google.com/abc-defg-hij" in mail["body"]
    assert mail["html"] == "<p>See you on <b>Thursday</b>.</p>\n"
    assert mail["headers"]["X-Idempotency-Key"] == "order-1/confirmed/mentee"
    assert mail["sent_at"].endswith("Z")
    [attachment] = mail["attachments"]
    assert attachment["filename"] == "invite.ics"
    assert attachment["content_type"] == "text/calendar"
    assert attachment["params"]["method"] == "REQUEST"
    assert attachment["text"] == ICS
    assert base64.b64decode(attachment["content_base64"]) == ICS.encode()


def test_html_with_its_text_alternative_is_decoded(gmail: Any, sandbox: httpx.Client) -> None:
    """As the email activity sends them: multipart/alternative, no attachment, non-ASCII (no-break
    spaces in money and times, Indonesian words) in both parts."""
    text = "Halo Budi,\n\nPembayaran Anda sebesar Rp\u00a0300.000 telah kami terima.\n"
    html = "<p>Halo Budi,</p><p>Pembayaran Anda sebesar <b>Rp&nbsp;300.000</b> \u2014 terima.</p>\n"
    message = EmailMessage()
    message["To"] = "Budi Santoso <budi@example.com>"
    message["Subject"] = "Pembayaran diterima: Karier \u2014 data"
    message.set_content(text)
    message.add_alternative(html, subtype="html")

    gmail.users().messages().send(userId="me", body={"raw": _raw(message)}).execute()

    [mail] = sandbox.get("/sandbox/mail").json()
    assert mail["headers"]["Content-Type"].startswith("multipart/alternative")
    assert mail["body"] == text and mail["html"] == html
    assert mail["subject"] == "Pembayaran diterima: Karier \u2014 data"
    assert mail["attachments"] == []


def test_plain_message_without_padding(gmail: Any, sandbox: httpx.Client) -> None:
    message = EmailMessage()
    message["To"] = "budi@example.com"
    message["Subject"] = "Pembayaran diterima"
    message.set_content("Terima kasih, Budi.")
    raw = _raw(message).rstrip("=")

    gmail.users().messages().send(userId=ORGANIZER, body={"raw": raw}).execute()

    [mail] = sandbox.get("/sandbox/mail").json()
    assert mail["body"] == "Terima kasih, Budi.\n" and mail["html"] is None
    assert mail["attachments"] == []
    assert mail["from"] == ORGANIZER  # no From header: Gmail uses the sender's address


def test_message_without_recipient_is_400(gmail: Any, sandbox: httpx.Client) -> None:
    message = EmailMessage()
    message["Subject"] = "nobody"
    message.set_content("x")

    with pytest.raises(HttpError) as caught:
        gmail.users().messages().send(userId="me", body={"raw": _raw(message)}).execute()

    assert caught.value.resp.status == 400
    assert sandbox.get("/sandbox/mail").json() == []


def test_sending_as_another_user_is_403(gmail: Any) -> None:
    with pytest.raises(HttpError) as caught:
        gmail.users().messages().send(
            userId="x@example.com", body={"raw": _raw(_message())}
        ).execute()

    assert caught.value.resp.status == 403


def test_long_subject_is_unfolded(gmail: Any, sandbox: httpx.Client) -> None:
    subject = "Selesaikan pembayaran sesi mentoring: Career switch into data engineering"
    message = EmailMessage()
    message["To"] = "budi@example.com"
    message["Subject"] = subject
    message.set_content("x")
    assert b"Subject:\n " in message.as_bytes()  # Python folds it right after the colon

    gmail.users().messages().send(userId="me", body={"raw": _raw(message)}).execute()

    [mail] = sandbox.get("/sandbox/mail").json()
    assert mail["subject"] == mail["headers"]["Subject"] == subject


def _with_message_id(message_id: str, to: str = "budi@example.com") -> str:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = "hello"
    message["Message-ID"] = message_id
    message.set_content("x")
    return _raw(message)


def _search(gmail: Any, q: str, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = gmail.users().messages().list(userId="me", q=q, **params).execute()
    return found


def test_list_finds_a_sent_message_by_its_message_id(gmail: Any) -> None:
    sent = (
        gmail.users()
        .messages()
        .send(userId="me", body={"raw": _with_message_id("<abc123@mentoring.invalid>")})
        .execute()
    )
    gmail.users().messages().send(
        userId="me", body={"raw": _with_message_id("<other@mentoring.invalid>")}
    ).execute()

    found = _search(gmail, "rfc822msgid:<abc123@mentoring.invalid>")
    bare = _search(gmail, "rfc822msgid:abc123@mentoring.invalid")
    missing = _search(gmail, "rfc822msgid:<nothing@mentoring.invalid>")

    assert found == {
        "messages": [{"id": sent["id"], "threadId": sent["threadId"]}],
        "resultSizeEstimate": 1,
    }
    assert bare == found
    assert missing == {"resultSizeEstimate": 0}


def test_list_is_newest_first_and_pages(gmail: Any) -> None:
    ids = [
        gmail.users()
        .messages()
        .send(userId="me", body={"raw": _with_message_id(f"<m{n}@x.invalid>")})
        .execute()["id"]
        for n in range(3)
    ]

    first = gmail.users().messages().list(userId="me", maxResults=2).execute()
    rest = (
        gmail.users()
        .messages()
        .list(userId="me", maxResults=2, pageToken=first["nextPageToken"])
        .execute()
    )

    assert [m["id"] for m in first["messages"]] == ids[:0:-1]
    assert [m["id"] for m in rest["messages"]] == ids[:1]
    assert "nextPageToken" not in rest and first["resultSizeEstimate"] == 3


def test_list_refuses_search_operators_it_does_not_emulate(gmail: Any) -> None:
    with pytest.raises(HttpError) as caught:
        _search(gmail, "from:budi@example.com")

    assert caught.value.resp.status == 400


def test_list_needs_a_read_scope(emulator_url: str, key_file: Path) -> None:
    send_only = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(key_file), scopes=["https://www.googleapis.com/auth/gmail.send"], subject=ORGANIZER
    )
    metadata = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(key_file),
        scopes=["https://www.googleapis.com/auth/gmail.metadata"],
        subject=ORGANIZER,
    )
    clients = [
        build(
            "gmail",
            "v1",
            credentials=credentials,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": f"{emulator_url}/"},
        )
        for credentials in (send_only, metadata)
    ]

    with pytest.raises(HttpError) as no_read:
        _search(clients[0], "rfc822msgid:<a@b>")
    with pytest.raises(HttpError) as no_query:
        _search(clients[1], "rfc822msgid:<a@b>")
    unfiltered = clients[1].users().messages().list(userId="me").execute()

    assert no_read.value.resp.status == 403
    assert no_read.value.error_details[0]["reason"] == "insufficientPermissions"
    assert no_query.value.resp.status == 403
    assert unfiltered == {"resultSizeEstimate": 0}
