"""Google's OAuth 2.0 token endpoint for service accounts, and the bearer check of its tokens.

google-auth signs a JWT with the service account's key and trades it here
(`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) for an access token. The emulator
checks the JWT's shape and claims, not its signature: it does not know the public keys.
"""

import base64
import binascii
import json
import time
from collections.abc import Collection
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request

from emulator.clock import utcnow
from emulator.deps import StateDep
from emulator.errors import google_error, oauth_error
from emulator.ids import access_token
from emulator.state import EmulatorState, IssuedToken

router = APIRouter(tags=["google-oauth"])

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME_S = 3600
CLOCK_SKEW_S = 300

CALENDAR_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.events.owned",
    }
)
# freebusy.query (the discovery document's list); calendar.events alone is not enough.
FREEBUSY_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.events.freebusy",
        "https://www.googleapis.com/auth/calendar.freebusy",
    }
)
GMAIL_SEND_SCOPES = frozenset(
    {
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://www.googleapis.com/auth/gmail.compose",
        "https://www.googleapis.com/auth/gmail.send",
    }
)
# users.messages.list; with gmail.metadata alone the `q` parameter is refused.
GMAIL_METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
GMAIL_LIST_SCOPES = frozenset(
    {
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://www.googleapis.com/auth/gmail.readonly",
        GMAIL_METADATA_SCOPE,
    }
)


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _claims(assertion: str) -> dict[str, Any]:
    """The JWT's payload, once its header and claims look like google-auth's."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token")
    try:
        header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    except (binascii.Error, ValueError) as error:
        raise oauth_error("invalid_grant", "Invalid JWT: not base64url JSON") from error
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise oauth_error("invalid_grant", "Invalid JWT: the algorithm must be RS256")
    if not isinstance(claims, dict):
        raise oauth_error("invalid_grant", "Invalid JWT: the payload is not an object")
    missing = [name for name in ("iss", "aud", "iat", "exp") if name not in claims]
    if missing:
        raise oauth_error("invalid_grant", f"Invalid JWT: missing claims {missing}")
    now = time.time()
    if not float(claims["iat"]) - CLOCK_SKEW_S <= now <= float(claims["exp"]) + CLOCK_SKEW_S:
        raise oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )
    if not str(claims.get("scope", "")).strip():
        raise oauth_error("invalid_scope", "Empty or missing scope not allowed.")
    return claims


@router.post("/oauth2/token")
async def token(request: Request, state: StateDep) -> dict[str, Any]:
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    if form.get("grant_type") != JWT_BEARER:
        raise oauth_error("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}")
    claims = _claims(form.get("assertion", ""))
    issued = IssuedToken(
        token=access_token(),
        client_email=str(claims["iss"]),
        subject=str(claims["sub"]) if claims.get("sub") else None,
        scopes=frozenset(str(claims["scope"]).split()),
        expires_at=utcnow() + timedelta(seconds=TOKEN_LIFETIME_S),
    )
    state.tokens[issued.token] = issued
    return {"access_token": issued.token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"}


def authorize(request: Request, state: EmulatorState, accepted: Collection[str]) -> IssuedToken:
    """The caller's token, if this endpoint issued it, it is still valid, and it carries one of
    the `accepted` scopes; otherwise Google's 401 or 403."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    issued = state.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if issued is None or issued.expires_at <= utcnow():
        raise google_error(
            401,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            location="Authorization",
            locationType="header",
        ).with_headers({"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
    if not issued.scopes & set(accepted):
        raise google_error(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
    return issued
