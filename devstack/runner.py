"""`mentoring dev`: the whole system on this machine, each part a child process of the runner.

Postgres (embedded unless DATABASE_URL), Temporal's dev server (unless TEMPORAL_ADDRESS), the
migrations, the emulator (unless Xendit's or Google's URL is set), the worker and the API. The
runner stops them all on Ctrl-C, SIGTERM, its own error, or when one of them stops; a start
after the runner was killed stops first what that run left (the pid files in the data folder).
"""

import asyncio
import fcntl
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import asyncpg
import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from devstack.databases import ensure_database
from devstack.dev_secrets import load_dev_secrets
from devstack.ports import busy_port_message, holder_of, port_is_free
from devstack.postgres import start_postgres
from devstack.processes import Child, ChildFailed, Children, command_line, stop_group
from devstack.temporal import dev_server_argv, wait_for_temporal
from emulator.credentials import write_service_account_file
from mentoring.settings import Settings

READY_BOUND_S = 90.0
# Ctrl-C, kill, and the terminal closing.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# `make bench` polls each order every 50 ms with the frontend key, far above production's rate
# limits: the API of `mentoring dev` has these, unless the environment sets its own.
DEV_RATE_LIMIT = "100000/minute"
POLL_S = 0.1


class DevError(Exception):
    """Ends the run with its message, one line, and exit status 1."""


def _say(message: str) -> None:
    print(message, flush=True)


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """One runner per data folder: a second would stop the first one's children."""
    lock = (data_dir / "runner.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise DevError(f"another mentoring dev (pid {holder}) runs on {data_dir}") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def _configured(settings: Settings, field: str) -> bool:
    return field in settings.model_fields_set


class DevRun:
    def __init__(self, settings: Settings, verbose: bool) -> None:
        self.settings = settings
        self.verbose = verbose
        self.data_dir = settings.data_dir.resolve()
        self.embedded_postgres = not settings.database_url
        self.embedded_temporal = not settings.temporal_address
        self.emulated = not (
            _configured(settings, "xendit_api_url") or _configured(settings, "google_api_url")
        )
        self.api_url = f"http://{settings.api_host}:{settings.api_port}"
        self.sandbox_url = f"http://127.0.0.1:{settings.sandbox_port}"
        self.children: Children | None = None
        self.database_url = settings.database_url
        self.temporal_address = settings.temporal_address
        self.secrets: dict[str, str] = {}
        self._stopping = False
        self._signalled = False

    # --- the run ----------------------------------------------------------------------------

    async def run(self) -> int:
        """0 once stopped by a signal; DevError when something failed (everything stopped)."""
        main = asyncio.current_task()
        assert main is not None
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if self._stopping:  # a second Ctrl-C: no more waiting
                if self.children is not None:
                    self.children.kill_all()
                return
            self._stopping = self._signalled = True
            main.cancel()

        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, on_signal)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            lock = _lock_data_dir(self.data_dir)
            try:
                return await self._run()
            finally:
                lock.close()
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    async def _run(self) -> int:
        children = self.children = Children(self.data_dir, self.verbose)
        try:
            left = await children.stop_leftovers()
            if left:
                _say(f"Stopped what an earlier run left running: {', '.join(left)}.")
            await self._stop_unrecorded_temporal()
            self._check_ports()
            began = time.monotonic()
            where = "" if self.verbose else f" (logs in {children.log_dir})"
            _say(f"Starting the mentoring order engine{where}...")
            await self._start(children)
            self._print_banner(time.monotonic() - began)
            stopped = await children.first_exit()
            failed = ChildFailed(stopped, stopped.process.returncode or 0)
            raise DevError(f"{failed}; the others were stopped")
        except asyncio.CancelledError:
            if not self._signalled:
                raise
            _say("Stopping...")
            return 0
        except (ChildFailed, TimeoutError) as failed:
            raise DevError(str(failed)) from failed
        finally:
            self._stopping = True
            await children.stop_all()
            if self._signalled:
                _say("Stopped.")

    # --- before starting ----------------------------------------------------------------------

    async def _stop_unrecorded_temporal(self) -> None:
        """A Temporal dev server on our port and our database file that no pid file names (an
        older runner's): stopped too."""
        if not self.embedded_temporal:
            return
        pid = holder_of(self.settings.temporal_port)
        if pid is None:
            return
        if str(self.data_dir / "temporal.db").encode() in (command_line(pid) or []):
            _say(f"Stopping the Temporal server an earlier run left (pid {pid}).")
            await stop_group(pid, None, signal.SIGTERM)

    def _check_ports(self) -> None:
        s = self.settings
        wanted = [(s.api_host, s.api_port, "the API, API_PORT")]
        if self.emulated:
            wanted.append(("127.0.0.1", s.sandbox_port, "the emulator, SANDBOX_PORT"))
        if self.embedded_temporal:
            wanted.append(("127.0.0.1", s.temporal_port, "Temporal, TEMPORAL_PORT"))
            wanted.append(("127.0.0.1", s.temporal_ui_port, "Temporal's UI, TEMPORAL_UI_PORT"))
        if s.metrics_port:
            wanted += [
                (s.metrics_host, port, "the metrics, METRICS_PORT to METRICS_PORT + 3")
                for port in metrics_ports(s.metrics_port)
            ]
        busy = [
            busy_port_message(port, what)
            for host, port, what in wanted
            if not port_is_free(host, port)
        ]
        if busy:
            raise DevError("; ".join(busy))

    # --- starting -----------------------------------------------------------------------------

    async def _start(self, children: Children) -> None:
        s = self.settings
        given = {name: str(getattr(s, name)) for name in s.model_fields_set}
        self.secrets = load_dev_secrets(self.data_dir, given)
        env = {name.upper(): value for name, value in self.secrets.items()}
        temporal: Child | None = None
        address = s.temporal_address
        if self.embedded_temporal:
            argv = dev_server_argv(
                self.data_dir, s.temporal_port, s.temporal_ui_port, s.temporal_namespace
            )
            temporal = await children.start("temporal", argv, title="the Temporal dev server")
            address = f"127.0.0.1:{s.temporal_port}"
        if self.embedded_postgres:
            database_url = await start_postgres(children, self.data_dir / "postgres")
        else:
            database_url = s.database_url
            try:
                await ensure_database(database_url)
            except (OSError, asyncpg.PostgresError) as error:
                raise DevError(f"the Postgres of DATABASE_URL does not answer: {error}") from error
        env |= {
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": s.temporal_namespace,
            "PUBLIC_BASE_URL": self.api_url,
        }
        for limit in ("rate_limit_per_key", "rate_limit_per_address"):
            if not _configured(s, limit):
                env[limit.upper()] = DEV_RATE_LIMIT
        if self.emulated:
            env |= {
                "XENDIT_API_URL": self.sandbox_url,
                "GOOGLE_API_URL": self.sandbox_url,
                "SANDBOX_PUBLIC_URL": self.sandbox_url,
                "SANDBOX_CALLBACK_URL": f"{self.api_url}/v1/webhooks/xendit/invoice",
            }
            if s.google_credentials_file is None:
                credentials = write_service_account_file(
                    self.data_dir / "google-service-account.json",
                    token_uri=f"{self.sandbox_url}/oauth2/token",
                )
                env["GOOGLE_CREDENTIALS_FILE"] = str(credentials)
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.database_url, self.temporal_address = database_url, address

        mentoring = [sys.executable, "-m", "mentoring.cli"]
        await children.run(
            "migrate", [*mentoring, "migrate"], title="the migrations", env=child_env
        )
        client = await wait_for_temporal(address, s.temporal_namespace, READY_BOUND_S, temporal)

        worker_env = child_env
        if s.metrics_port:  # the API's on METRICS_PORT (and + 1), the worker's on the next two
            worker_env = {**child_env, "METRICS_PORT": str(metrics_ports(s.metrics_port)[2])}
        servers = [
            await children.start(
                "worker",
                [*mentoring, "worker"],
                title="the worker",
                env=worker_env,
                stop_signal=signal.SIGINT,
                tier=1,
            ),
            await children.start(
                "api",
                [*mentoring, "api", "--host", s.api_host, "--port", str(s.api_port)],
                title="the API",
                env=child_env,
                stop_signal=signal.SIGINT,
                tier=1,
            ),
        ]
        if self.emulated:
            sandbox = [*mentoring, "sandbox", "--port", str(s.sandbox_port)]
            servers.append(
                await children.start(
                    "sandbox",
                    sandbox,
                    title="the emulator",
                    env=child_env,
                    stop_signal=signal.SIGINT,
                    tier=1,
                )
            )
        api_probe = (
            f"http://127.0.0.1:{s.api_port}" if s.api_host in ("0.0.0.0", "::") else self.api_url
        )
        async with httpx.AsyncClient(timeout=2.0) as http:
            ready: dict[str, Callable[[], Awaitable[bool]]] = {
                "worker": lambda: _worker_polls(client, s.temporal_task_queue, servers[0].pid),
                "api": lambda: _answers(http, f"{api_probe}/healthz"),
                "sandbox": lambda: _answers(http, f"{self.sandbox_url}/healthz"),
            }
            await asyncio.gather(*(self._until_ready(c, ready[c.name]) for c in servers))

    async def _until_ready(self, child: Child, probe: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + READY_BOUND_S
        while True:
            if not child.running():
                raise ChildFailed(child, child.process.returncode or 0)
            if await probe():
                return
            if time.monotonic() > deadline:
                where = f"; its log: {child.log_path}" if child.log_path else ""
                raise DevError(f"{child.title} was not ready within {READY_BOUND_S:.0f} s{where}")
            await asyncio.sleep(POLL_S)

    def _metrics(self) -> str:
        s = self.settings
        if not s.metrics_port:
            return "(off: METRICS_PORT)"
        api, api_sdk, worker, worker_sdk = (
            f"http://{s.metrics_host}:{port}/metrics" for port in metrics_ports(s.metrics_port)
        )
        return f"API {api} (SDK {api_sdk}), worker {worker} (SDK {worker_sdk})"

    def _print_banner(self, took_s: float) -> None:
        s = self.settings
        temporal_ui = (
            f"http://127.0.0.1:{s.temporal_ui_port}" if self.embedded_temporal else "(external)"
        )
        emulator = self.sandbox_url if self.emulated else "(off: real Xendit and Google)"
        assert self.children is not None
        logs = "(on this terminal: --verbose)" if self.verbose else str(self.children.log_dir)
        _say(
            f"""
Mentoring order engine is up in {took_s:.1f} s.
  API               {self.api_url}   (docs {self.api_url}/docs)
  Emulator          {emulator}
                    sent mail {self.sandbox_url}/sandbox/mail
                    calendar  {self.sandbox_url}/sandbox/calendar/events
  Temporal          {self.temporal_address}   UI {temporal_ui}
  Postgres          {self.database_url}
  Admin API key     {self.secrets["admin_api_key"]}
  Frontend API key  {self.secrets["frontend_api_key"]}
  Data folder       {self.data_dir}
  Logs              {logs}
  Metrics           {self._metrics()}
Press Ctrl-C to stop."""
        )


def metrics_ports(port: int) -> list[int]:
    """The API's own and SDK metrics ports, then the worker's."""
    return [port, port + 1, port + 2, port + 3]


async def _answers(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def _worker_polls(client: Client, task_queue: str, pid: int) -> bool:
    """Whether the worker process `pid` polls the task queue (its identity is pid@host)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return any(poller.identity.startswith(f"{pid}@") for poller in response.pollers)
