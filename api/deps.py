"""Typed dependencies: settings, database session, Temporal client, and who is calling."""

import hmac
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.errors import ApiError
from mentoring.settings import Settings
from mentoring.tokens import verify_availability_token, verify_mentor_token


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Caller:
    role: Literal["admin", "frontend", "mentor"]
    order_id: uuid.UUID | None = None
    mentor_id: uuid.UUID | None = None


def _same(secret: str, given: str) -> bool:
    return bool(secret) and hmac.compare_digest(secret.encode(), given.encode())


def _key_caller(
    settings: Settings, credentials: HTTPAuthorizationCredentials | None
) -> Caller | None:
    if credentials is None:
        return None
    if _same(settings.admin_api_key, credentials.credentials):
        return Caller("admin")
    if _same(settings.frontend_api_key, credentials.credentials):
        return Caller("frontend")
    return None


_UNAUTHENTICATED = ApiError(401, "unauthenticated", "a valid Bearer credential is required")


async def require_admin(settings: SettingsDep, credentials: BearerDep) -> Caller:
    caller = _key_caller(settings, credentials)
    if caller is None:
        raise _UNAUTHENTICATED
    if caller.role != "admin":
        raise ApiError(403, "forbidden", "only an admin may do this")
    return caller


async def require_frontend_or_admin(settings: SettingsDep, credentials: BearerDep) -> Caller:
    caller = _key_caller(settings, credentials)
    if caller is None:
        raise _UNAUTHENTICATED
    return caller


async def require_order_actor(
    order_id: uuid.UUID,
    settings: SettingsDep,
    credentials: BearerDep,
    token: Annotated[str | None, Query(description="the mentor's signed link token")] = None,
) -> Caller:
    """Admin or frontend key, or a mentor token signed for this very order."""
    caller = _key_caller(settings, credentials)
    if caller is not None:
        return caller
    candidate = token or (credentials.credentials if credentials else None)
    if candidate is None or not settings.mentor_token_secret:
        raise _UNAUTHENTICATED
    verified = verify_mentor_token(
        settings.mentor_token_secret, candidate, settings.mentor_token_ttl
    )
    if verified is None:
        raise ApiError(401, "invalid_token", "the link is invalid or has expired")
    token_order, token_mentor = verified
    if token_order != str(order_id):
        raise ApiError(403, "forbidden", "this link is for another order")
    return Caller("mentor", order_id=order_id, mentor_id=uuid.UUID(token_mentor))


async def require_mentor_or_admin(
    mentor_id: uuid.UUID,
    settings: SettingsDep,
    credentials: BearerDep,
    token: Annotated[
        str | None, Query(description="the mentor's availability token", max_length=1000)
    ] = None,
) -> Caller:
    """The admin key, or the mentor's own availability token (as Bearer or `?token=`)."""
    caller = _key_caller(settings, credentials)
    if caller is not None:
        if caller.role != "admin":
            raise ApiError(403, "forbidden", "only an admin or the mentor may do this")
        return caller
    candidate = token or (credentials.credentials if credentials else None)
    if candidate is None or not settings.mentor_token_secret:
        raise _UNAUTHENTICATED
    verified = verify_availability_token(settings.mentor_token_secret, candidate)
    if verified is None:
        raise ApiError(401, "invalid_token", "the link is invalid or has expired")
    if verified != str(mentor_id):
        raise ApiError(403, "forbidden", "this link is for another mentor")
    return Caller("mentor", mentor_id=mentor_id)


def only_query(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing (422) any query parameter other than `names`: a misspelt filter
    must not silently answer everything."""
    allowed = frozenset(names)

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ApiError(
                422,
                "unknown_query_parameter",
                f"unknown query parameter(s): {', '.join(unknown)}",
                [
                    {"loc": ["query", name], "msg": "not a parameter of this route"}
                    for name in unknown
                ],
            )

    return check


AdminCaller = Annotated[Caller, Depends(require_admin)]
FrontendCaller = Annotated[Caller, Depends(require_frontend_or_admin)]
OrderActor = Annotated[Caller, Depends(require_order_actor)]
MentorOrAdmin = Annotated[Caller, Depends(require_mentor_or_admin)]
