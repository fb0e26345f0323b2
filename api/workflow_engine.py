"""Calling Temporal from a request: bounded in time, its outages as 503 and its overload as 429.

Temporal's client retries an unreachable server for about ten seconds, and waits on a
black-holed one for thirty: a request must not. Each call is made in two bounded steps: the
server admits the request (an update accepted or refused by the workflow's validator, a signal
delivered) within ADMISSION_BOUND_S, or the engine counts as unavailable; then the accepted
update's result is awaited for longer.
"""

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

from api.errors import ApiError
from api.outages import TOO_MANY_REQUESTS, WORKFLOW_ENGINE_UNAVAILABLE, workflow_engine_outage

ADMISSION_BOUND_S = 4.0
ADMISSION_RPC_TIMEOUT = timedelta(seconds=ADMISSION_BOUND_S)
RESULT_BOUND_S = 60.0
RESULT_RPC_TIMEOUT = timedelta(seconds=RESULT_BOUND_S)

# Temporal admits at most 10 updates in flight per workflow and answers RESOURCE_EXHAUSTED
# beyond, which its client retries for up to ten seconds: past the admission bound, a 503. This
# process sends at most as many to one order at once and answers 429 at once beyond. (Several
# API processes together may still exceed the server's limit: a RESOURCE_EXHAUSTED that
# reaches us is a 429, one still being retried when the admission bound passes a 503.)
MAX_UPDATES_IN_FLIGHT_PER_ORDER = 10

RESULT_NOT_KNOWN_YET = (
    "the order's workflow accepted the request but has not finished it yet; read the order, "
    "or retry with the same Idempotency-Key for its answer"
)


@contextlib.asynccontextmanager
async def engine_call(
    bound_s: float = ADMISSION_BOUND_S, late_message: str | None = None
) -> AsyncIterator[None]:
    """The Temporal calls in the block, bounded by `bound_s`: Temporal unreachable or too slow
    becomes 503 `workflow_engine_unavailable` (with `late_message` if given), too many
    concurrent updates 429 `too_many_requests`; other errors pass through."""
    try:
        async with asyncio.timeout(bound_s):
            yield
    except Exception as error:
        outage = workflow_engine_outage(error)
        if outage is None:
            raise
        message = late_message if outage is WORKFLOW_ENGINE_UNAVAILABLE else None
        raise ApiError.of(outage, message) from error


_in_flight: Counter[uuid.UUID] = Counter()


@contextlib.asynccontextmanager
async def update_slot(order_id: uuid.UUID) -> AsyncIterator[None]:
    """One of the order's update slots in this process, or 429 at once when none is free."""
    if _in_flight[order_id] >= MAX_UPDATES_IN_FLIGHT_PER_ORDER:
        raise ApiError.of(TOO_MANY_REQUESTS)
    _in_flight[order_id] += 1
    try:
        yield
    finally:
        _in_flight[order_id] -= 1
        if _in_flight[order_id] <= 0:
            del _in_flight[order_id]
