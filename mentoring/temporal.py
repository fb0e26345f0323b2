"""The Temporal client, one per process."""

from temporalio.client import Client

from mentoring.settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
