"""Is the worker of this host polling Temporal? The worker's health check (docker-compose.yml):

    python -m mentoring.worker_health      exit 0 if so; 1, and why on stderr, if not

A worker polls its task queue (TEMPORAL_TASK_QUEUE) for workflow tasks and for activity tasks
without pause, each poll lasting up to a minute, and Temporal keeps each poller's identity
(`<pid>@<hostname>`, the SDK's default) and when it last polled. The worker is healthy when, on
both kinds of task, a poller of this host (a container's hostname is its own) polled within
MAX_POLL_AGE: it is running, connected, and taking work. A worker that hangs, lost Temporal or
exited turns unhealthy within that time. It connects without the SDK's metrics (the worker
serves them on its port, which this check must not take).
"""

import asyncio
import os
import socket
import sys
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from mentoring.settings import Settings, get_settings

MAX_POLL_AGE = timedelta(minutes=2)
CHECK_BOUND_S = 10.0
TASK_KINDS = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


async def last_polls(client: Client, task_queue: str, host: str) -> dict[str, datetime | None]:
    """For each kind of task, when a poller of `host` last polled `task_queue` (None: never,
    as far as Temporal remembers)."""
    polls: dict[str, datetime | None] = {}
    for kind, queue_type in TASK_KINDS.items():
        description = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=queue_type,
            )
        )
        times = [
            poller.last_access_time.ToDatetime(tzinfo=UTC)
            for poller in description.pollers
            if poller.identity.rpartition("@")[2] == host
        ]
        polls[kind] = max(times, default=None)
    return polls


async def check_worker(
    settings: Settings, host: str | None = None, max_poll_age: timedelta = MAX_POLL_AGE
) -> list[str]:
    """What is wrong with this host's worker; empty when it is healthy."""
    host = host or socket.gethostname()
    queue = settings.temporal_task_queue
    try:
        async with asyncio.timeout(CHECK_BOUND_S):
            client = await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
            polls = await last_polls(client, queue, host)
    except Exception as error:
        return [f"Temporal at {settings.temporal_address} did not answer: {error!r}"]
    now = datetime.now(UTC)
    return [
        f"no worker on {host} polled {queue} for {kind} tasks within {max_poll_age}"
        + (f" (last: {last:%Y-%m-%d %H:%M:%S} UTC)" if last else "")
        for kind, last in polls.items()
        if last is None or now - last > max_poll_age
    ]


def main() -> None:
    problems = asyncio.run(check_worker(get_settings()))
    for problem in problems:
        print(f"worker unhealthy: {problem}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Python can crash at exit once temporalio's runtime has run (sdk-python issue 300), which
    # would turn a healthy answer into a failed check: leave with the check's own status.
    os._exit(1 if problems else 0)


if __name__ == "__main__":
    main()
