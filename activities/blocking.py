"""The blocking provider SDKs (xendit-python, google-api-python-client) run in threads of their
own pool, sized for the worker's concurrent activities: in the event loop's small default pool
(CPUs + 4 threads) twenty bookings at once queued long enough to miss their heartbeats."""

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

PROVIDER_THREADS = 64

P = ParamSpec("P")
T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=PROVIDER_THREADS, thread_name_prefix="provider-call")


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`asyncio.to_thread`, in the provider calls' own pool: the call sees the caller's context
    variables too (the activity's info, the current span)."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool, call)
