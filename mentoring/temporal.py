"""The Temporal client, one per process."""

from temporalio.client import Client

from mentoring.metrics import temporal_runtime
from mentoring.settings import Settings
from mentoring.tracing import temporal_interceptors


async def connect_temporal(settings: Settings, lazy: bool = False) -> Client:
    """`lazy`: connect on first use, so that a process can start while Temporal is down.

    With tracing on, the client (and the worker made from it) traces every call; with
    METRICS_PORT set, its runtime serves the SDK's metrics (mentoring/metrics.py)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        lazy=lazy,
        interceptors=temporal_interceptors(),
        runtime=temporal_runtime(settings),
    )
