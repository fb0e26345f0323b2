"""What the API takes from a client: rate limits on the public routes, a request body limit,
and CORS only for the origins named.

- **Rate limits** (429 `rate_limited`, `Retry-After`) on `/v1/...` and `/pages/...`: a request
  with the admin or the frontend key counts against that key (RATE_LIMIT_PER_KEY), any other
  request (a mentor's or mentee's link, the pages, no credential or a wrong one) against its
  client address (RATE_LIMIT_PER_ADDRESS; IPv6 addresses by their /64). A keyed request does not
  count against its address: the frontend calls from one server for all its users. Never
  limited: `/healthz`, `/readyz`, the docs, and Xendit's callbacks (`/v1/webhooks/xendit/...`):
  they are checked by their token before their body is read, bounded to 64 KiB, and a 429 would
  only delay them (Xendit sends them again), and a payment with them. Counted per process, in
  memory (the `limits` package, moving window): N processes allow up to N times the limit.
  Behind a proxy, uvicorn's FORWARDED_ALLOW_IPS must name it, or every client is the proxy.
- **Body limit** (413 `payload_too_large`): above MAX_REQUEST_BODY_BYTES, by `Content-Length`
  before the route runs, or while the body is read when it comes in chunks; every route.
- **CORS**: none unless CORS_ALLOWED_ORIGINS names origins; then Starlette's CORSMiddleware
  with exactly those (no credentials: the API takes Bearer keys, not cookies).

The header read timeout is the server's, not the app's: mentoring/header_timeout.py.
"""

import hmac
import ipaddress
import math
import time
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic.json_schema import models_json_schema
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorOut, error_body, error_responses
from mentoring.settings import Settings

RATE_LIMITED_PREFIXES = ("/v1/", "/pages/")
NOT_RATE_LIMITED_PREFIXES = ("/v1/webhooks/xendit/",)
IPV6_CLIENT_PREFIX = 64
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_MAX_AGE_S = 600


def is_rate_limited(path: str) -> bool:
    return path.startswith(RATE_LIMITED_PREFIXES) and not path.startswith(NOT_RATE_LIMITED_PREFIXES)


def client_address(scope: Scope) -> str:
    """The client's address (as uvicorn's proxy headers make it); an IPv6 client by its /64,
    which one host usually has whole."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def api_key_of(scope: Scope, settings: Settings) -> str | None:
    """`admin` or `frontend` when the request's Bearer credential is that key, else None."""
    scheme, _, credential = (_header(scope, b"authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        return None
    given = credential.encode()
    for role, key in (("admin", settings.admin_api_key), ("frontend", settings.frontend_api_key)):
        if key and hmac.compare_digest(key.encode(), given):
            return role
    return None


class RateLimits:
    """Per API key and per client address, in this process's memory."""

    def __init__(self, per_key: str, per_address: str) -> None:
        # Parsed now: a notation `limits` cannot read stops the app at start.
        self._limits: dict[str, list[RateLimitItem]] = {
            "key": parse_many(per_key),
            "address": parse_many(per_address),
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, kind: str, identity: str) -> tuple[RateLimitItem, int] | None:
        """Count one request; None if allowed, else the limit it broke and the seconds until
        one more is allowed."""
        for item in self._limits[kind]:
            if not self._limiter.hit(item, kind, identity):
                reset_at, _ = self._limiter.get_window_stats(item, kind, identity)
                return item, max(1, math.ceil(reset_at - time.time()))
        return None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ASGIApp:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limits = RateLimits(settings.rate_limit_per_key, settings.rate_limit_per_address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_rate_limited(scope["path"]):
            key = api_key_of(scope, self.settings)
            kind, identity = ("key", key) if key else ("address", client_address(scope))
            refused = self.limits.hit(kind, identity)
            if refused is not None:
                item, retry_after_s = refused
                whose = "this API key" if key else "this address"
                message = f"too many requests from {whose} (at most {item}); retry later"
                headers = {"Retry-After": str(retry_after_s)}
                await _error(429, "rate_limited", message, headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> ASGIApp:
        message = f"the request body is larger than {self.max_bytes} bytes"
        return _error(413, "payload_too_large", message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = (_header(scope, b"content-length") or "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        read = 0
        too_large = started = False

        async def bounded_receive() -> Message:
            nonlocal read, too_large
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's answer to a body cut short: ours is sent instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._too_large()(scope, receive, send)


def _document(schema: dict[str, Any]) -> dict[str, Any]:
    """429 on every rate-limited operation, 413 on every one with a body (idempotent)."""
    _, definitions = models_json_schema(
        [(ErrorOut, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions.get("$defs", {}).items():
        schemas.setdefault(name, definition)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = [413] if method in ("post", "put", "patch") else []
            statuses += [429] if is_rate_limited(path) else []
            responses = operation.setdefault("responses", {})
            for status, declared in error_responses(*statuses).items():
                if str(status) not in responses:
                    ref = {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}
                    entry = {key: value for key, value in declared.items() if key != "model"}
                    entry["content"] = {"application/json": {"schema": ref}}
                    responses[str(status)] = entry
    return schema


def install_limits(app: FastAPI, settings: Settings) -> None:
    """The body limit, then the rate limits, then CORS around them (so that a 429 or a 413 also
    carries the CORS headers a browser needs to read it); 413 and 429 in the OpenAPI document."""
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allowed_origins),
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=["Retry-After"],
            max_age=CORS_MAX_AGE_S,
        )
    openapi = app.openapi

    def openapi_with_limits() -> dict[str, Any]:
        return _document(openapi())

    app.openapi = openapi_with_limits  # type: ignore[method-assign]
