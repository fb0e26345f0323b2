"""The worker's health check asks Temporal whether this host's worker polls its task queue (the
test stack's worker runs in this process, on this host)."""

import asyncio
import os
import socket
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from mentoring.settings import Settings
from mentoring.worker_health import check_worker
from tests.support import Stack, free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


async def _healthy(settings: Settings) -> bool:
    return await check_worker(settings) == []


async def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


async def test_the_running_worker_is_healthy(stack: Stack) -> None:
    assert await wait_until(lambda: _healthy(stack.settings), "the stack's worker to poll")


async def test_no_worker_on_this_host_or_queue_is_unhealthy(stack: Stack) -> None:
    elsewhere = await check_worker(stack.settings, host="another-host")
    assert len(elsewhere) == 2
    assert all("no worker on another-host polled" in problem for problem in elsewhere)
    assert "for workflow tasks" in elsewhere[0] and "for activity tasks" in elsewhere[1]

    idle_queue = stack.settings.model_copy(update={"temporal_task_queue": f"idle-{uuid.uuid4()}"})
    idle = await check_worker(idle_queue)
    assert len(idle) == 2 and all("idle-" in problem for problem in idle)


async def test_a_worker_that_stopped_polling_turns_unhealthy(stack: Stack) -> None:
    """Its last poll is remembered: stale once older than the allowed age."""
    await wait_until(lambda: _healthy(stack.settings), "the stack's worker to poll")
    stale = await check_worker(stack.settings, max_poll_age=timedelta(0))
    assert len(stale) == 2 and all("(last: " in problem for problem in stale)


async def test_temporal_unreachable_is_unhealthy_within_the_bound() -> None:
    settings = Settings(_env_file=None, temporal_address=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    problems = await check_worker(settings)
    assert time.monotonic() - started < 15
    assert len(problems) == 1 and "did not answer" in problems[0]


async def test_the_compose_command_exits_0_for_a_polling_worker_and_1_otherwise(
    stack: Stack, tmp_path: Path
) -> None:
    """`python -m mentoring.worker_health`, as docker-compose.yml runs it, settings from the
    environment."""
    await wait_until(lambda: _healthy(stack.settings), "the stack's worker to poll")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "TEMPORAL_NAMESPACE": stack.settings.temporal_namespace,
        "TEMPORAL_TASK_QUEUE": stack.settings.temporal_task_queue,
    }
    command = [sys.executable, "-m", "mentoring.worker_health"]
    status, stderr = await _run(command, tmp_path, env)
    assert status == 0, stderr
    env["TEMPORAL_TASK_QUEUE"] = f"idle-{uuid.uuid4()}"
    status, stderr = await _run(command, tmp_path, env)
    assert status == 1
    assert f"worker unhealthy: no worker on {socket.gethostname()} polled" in stderr
