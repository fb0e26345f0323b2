"""Gmail v1 `users.messages.send` with `{"raw": <base64url RFC 822>}`, and `users.messages.list`
over the messages sent, searchable by `rfc822msgid:` (the Message-ID header).

Not the media-upload form (`send(..., media_body=...)`): googleapiclient keeps the https scheme
of the discovery document for upload URLs, so it cannot reach a plain-HTTP emulator anyway.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from emulator.clock import iso_millis, utcnow
from emulator.deps import StateDep
from emulator.errors import google_error, google_json_object
from emulator.faults import Fault
from emulator.ids import gmail_message_id
from emulator.mime import decode_raw, parse_message
from emulator.oauth import GMAIL_LIST_SCOPES, GMAIL_METADATA_SCOPE, GMAIL_SEND_SCOPES, authorize
from emulator.state import EmulatorState, IssuedToken

router = APIRouter(tags=["gmail"])
Json = dict[str, Any]

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 500
MESSAGE_ID_OPERATOR = "rfc822msgid:"


def _mailbox(
    request: Request, state: EmulatorState, user_id: str, scopes: frozenset[str]
) -> IssuedToken:
    """The caller's token, if it may act on `user_id`'s mailbox: `me` or the impersonated
    user themself."""
    token = authorize(request, state, scopes)
    if user_id != "me" and user_id.lower() != token.principal.lower():
        raise google_error(403, "forbidden", f"Delegation denied for {token.principal}")
    return token


def _store(state: EmulatorState, sender: str, user_id: str, data: bytes, thread_id: Any) -> Json:
    mail = parse_message(data)
    if not (mail["to"] or mail["cc"] or mail["bcc"]):
        raise google_error(400, "invalidArgument", "Recipient address required")
    message_id = gmail_message_id()
    sent = {
        "id": message_id,
        "threadId": str(thread_id) if thread_id else message_id,
        "labelIds": ["SENT"],
    }
    mail["from"] = mail["from"] or sender
    state.mail.append(
        {**sent, "user_id": user_id, "mailbox": sender, **mail, "sent_at": iso_millis(utcnow())}
    )
    return sent


@router.post("/gmail/v1/users/{user_id}/messages/send")
async def send(user_id: str, request: Request, state: StateDep) -> Json:
    sender = _mailbox(request, state, user_id, GMAIL_SEND_SCOPES).principal
    fault: Fault | None = await state.faults.enter("gmail.messages.send")
    body = await google_json_object(request)
    sent = _store(state, sender, user_id, decode_raw(body.get("raw")), body.get("threadId"))
    await state.faults.answer("gmail.messages.send", fault)
    return sent


def _bare_message_id(value: str) -> str:
    return value.strip().removeprefix("<").removesuffix(">").strip()


def _message_ids(q: str | None) -> list[str]:
    """The Message-IDs an `rfc822msgid:` query asks for. Gmail's other search operators are not
    emulated: a query using one is refused rather than answered wrongly."""
    wanted = []
    for term in (q or "").split():
        if not term.lower().startswith(MESSAGE_ID_OPERATOR):
            raise google_error(
                400,
                "invalidArgument",
                f"the emulator searches only by {MESSAGE_ID_OPERATOR}<Message-ID>, not {term!r}",
            )
        wanted.append(_bare_message_id(term[len(MESSAGE_ID_OPERATOR) :]))
    return wanted


def _header(mail: Json, name: str) -> str | None:
    for key, value in mail.get("headers", {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _matches(mail: Json, message_ids: list[str], label_ids: list[str]) -> bool:
    own_id = _bare_message_id(_header(mail, "Message-ID") or "")
    return all(own_id == wanted for wanted in message_ids) and all(
        label in mail["labelIds"] for label in label_ids
    )


@router.get("/gmail/v1/users/{user_id}/messages")
async def list_messages(
    user_id: str,
    request: Request,
    state: StateDep,
    q: str | None = None,
    max_results: Annotated[int, Query(alias="maxResults")] = DEFAULT_MAX_RESULTS,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    label_ids: Annotated[list[str] | None, Query(alias="labelIds")] = None,
) -> Json:
    """Newest first, each as `{"id", "threadId"}`; `{"resultSizeEstimate": 0}` when none."""
    token = _mailbox(request, state, user_id, GMAIL_LIST_SCOPES)
    if (
        q
        and GMAIL_METADATA_SCOPE in token.scopes
        and not token.scopes & (GMAIL_LIST_SCOPES - {GMAIL_METADATA_SCOPE})
    ):
        raise google_error(403, "forbidden", "Metadata scope does not support 'q' parameter")
    await state.faults.enter("gmail.messages.list")
    message_ids = _message_ids(q)
    found = [
        {"id": mail["id"], "threadId": mail["threadId"]}
        for mail in reversed(state.mail)
        if mail.get("mailbox", "").lower() == token.principal.lower()
        and _matches(mail, message_ids, label_ids or [])
    ]
    start = int(page_token) if page_token and page_token.isdigit() else 0
    size = min(max(max_results, 1), MAX_RESULTS)
    page = found[start : start + size]
    answer: Json = {"messages": page} if page else {}
    if start + size < len(found):
        answer["nextPageToken"] = str(start + size)
    answer["resultSizeEstimate"] = len(found)
    return answer
