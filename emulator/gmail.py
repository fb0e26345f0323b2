"""Gmail v1 `users.messages.send` with `{"raw": <base64url RFC 822>}`.

Not the media-upload form (`send(..., media_body=...)`): googleapiclient keeps the https scheme
of the discovery document for upload URLs, so it cannot reach a plain-HTTP emulator anyway.
"""

from typing import Any

from fastapi import APIRouter, Request

from emulator.clock import iso_millis, utcnow
from emulator.deps import StateDep
from emulator.errors import google_error
from emulator.ids import gmail_message_id
from emulator.mime import decode_raw, parse_message
from emulator.oauth import GMAIL_SEND_SCOPES, authorize
from emulator.state import EmulatorState

router = APIRouter(tags=["gmail"])
Json = dict[str, Any]


async def _enter(request: Request, state: EmulatorState, user_id: str) -> str:
    """Whom the message is sent as: `me` or the impersonated user themself."""
    token = authorize(request, state, GMAIL_SEND_SCOPES)
    if user_id != "me" and user_id.lower() != token.principal.lower():
        raise google_error(403, "forbidden", f"Delegation denied for {token.principal}")
    await state.faults.enter("gmail.messages.send")
    return token.principal


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
    state.mail.append({**sent, "user_id": user_id, **mail, "sent_at": iso_millis(utcnow())})
    return sent


@router.post("/gmail/v1/users/{user_id}/messages/send")
async def send(user_id: str, request: Request, state: StateDep) -> Json:
    sender = await _enter(request, state, user_id)
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise google_error(400, "parseError", "Parse Error")
    return _store(state, sender, user_id, decode_raw(body.get("raw")), body.get("threadId"))
