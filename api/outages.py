"""Which failures mean that Postgres or Temporal is unavailable (or overloaded) right now.

The API answers those with 503 (429 for an overloaded workflow) and the error body, so that a
client knows to retry, instead of a plain-text 500.
"""

import traceback
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg.exceptions
import sqlalchemy.exc
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode


@dataclass(frozen=True)
class Outage:
    status: int
    code: str
    message: str
    retry_after_s: int


DATABASE_UNAVAILABLE = Outage(
    503, "database_unavailable", "the database is unavailable; retry in a few seconds", 5
)
WORKFLOW_ENGINE_UNAVAILABLE = Outage(
    503,
    "workflow_engine_unavailable",
    "the workflow engine is unavailable; retry in a few seconds",
    5,
)
TOO_MANY_REQUESTS = Outage(
    429, "too_many_requests", "too many requests for this order at once; retry shortly", 1
)

_DATABASE_ERRORS = (
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.exceptions.InterfaceError,  # the connection is closed
)
_DATABASE_MODULES = ("asyncpg", "sqlalchemy")
_ENGINE_UNAVAILABLE_STATUSES = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}
)
# What the Temporal client raises when it cannot connect (lazily, on first use).
_TEMPORAL_CONNECT_FAILURE = "Failed client connect"


def _raised_by_database_driver(error: BaseException) -> bool:
    """An OSError (refused, timed out, unresolvable) raised inside asyncpg or SQLAlchemy: the
    driver connecting, not anything else in the request."""
    for frame, _ in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in _DATABASE_MODULES:
            return True
    return False


def database_outage(error: BaseException) -> bool:
    if isinstance(error, _DATABASE_ERRORS):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError) and _raised_by_database_driver(error)


def workflow_engine_outage(error: BaseException) -> Outage | None:
    """Temporal unreachable or answering too slowly (503), or refusing more concurrent
    updates of one workflow (429); None for anything else."""
    if isinstance(error, RPCError):
        if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
            return TOO_MANY_REQUESTS
        if error.status in _ENGINE_UNAVAILABLE_STATUSES:
            return WORKFLOW_ENGINE_UNAVAILABLE
        return None
    if isinstance(error, RPCTimeoutOrCancelledError | TimeoutError):
        return WORKFLOW_ENGINE_UNAVAILABLE
    if isinstance(error, RuntimeError) and str(error).startswith(_TEMPORAL_CONNECT_FAILURE):
        return WORKFLOW_ENGINE_UNAVAILABLE
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def outage_of(error: BaseException) -> Outage | None:
    """The outage `error` (or what caused it) shows, if any."""
    for link in _chain(error):
        if database_outage(link):
            return DATABASE_UNAVAILABLE
        if not isinstance(link, TimeoutError | OSError):
            outage = workflow_engine_outage(link)
            if outage is not None:
                return outage
    return None
