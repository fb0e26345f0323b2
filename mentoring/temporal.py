"""The Temporal client, one per process."""

from temporalio.client import Client

from mentoring.settings import Settings


async def connect_temporal(settings: Settings, lazy: bool = False) -> Client:
    """`lazy`: connect on first use, so that a process can start while Temporal is down."""
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, lazy=lazy
    )
