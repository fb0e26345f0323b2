"""Session fixtures: a real Temporal dev server, a fresh Postgres database, the emulator, the
worker and the API, all on loopback.

Each run keeps its temporary files (pytest's tmp_path, TMPDIR) and its embedded Postgres in a
folder of its own, `.pytest-tmp/<pid>.<random>/` in the repository (git-ignored), not in pytest's
temp root, which every run on the machine shares and resets. Tests that use the stack are marked
`system`: `pytest -m "not system"` runs the others alone."""

import asyncio
import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx
import pytest
from temporalio.testing import TimeSkipper, TimeSkippingConfig, WorkflowEnvironment

from api.main import create_app
from devstack.databases import create_throwaway_database, drop_database
from devstack.postgres import start_postgres
from devstack.processes import Children
from devstack.temporal import TIME_SKIPPING_FLAG, temporal_cli_path
from emulator.app import create_app as create_emulator_app
from emulator.config import EmulatorConfig
from emulator.credentials import write_service_account_file
from mentoring.db import create_engine, migrate_to_head
from mentoring.serving import BackgroundServer
from mentoring.settings import Settings
from mentoring.temporal import connect_temporal
from mentoring.tracing import configure_tracing
from tests.support import (
    SPANS,
    RunningWorker,
    Stack,
    free_port,
    free_port_pair,
    save_history,
)

_exit_status = 0

TEST_TMP_ROOT = Path(__file__).resolve().parent.parent / ".pytest-tmp"
# Fixtures that start or reach the stack (Postgres, Temporal, the servers): a test that uses one,
# even through another fixture, is a `system` test.
SYSTEM_FIXTURES = frozenset({"stack", "temporal_env", "database_url"})
_run_lock: IO[str] | None = None

# An idle connection is dropped by the client well before uvicorn's 5 s keep-alive timeout
# closes it: otherwise a request sent as the server closes the connection fails (ReadError).
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=1.0)


def _remove_finished_runs() -> None:
    """The folders of earlier runs that have ended (their lock is free), so they do not pile up."""
    for folder in TEST_TMP_ROOT.iterdir():
        if folder.name.startswith("."):
            continue  # a run's folder being made: it shows up under its name once locked
        with (folder / ".lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # that run is still going
            shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """This run's own folder, `.pytest-tmp/<pid>.<random>/`: pytest's basetemp (unless --basetemp is
    given) and TMPDIR, locked for as long as the run lasts."""
    global _run_lock
    TEST_TMP_ROOT.mkdir(exist_ok=True)
    _remove_finished_runs()
    making = Path(tempfile.mkdtemp(prefix=".", dir=TEST_TMP_ROOT))
    (making / "tmp").mkdir()
    _run_lock = (making / ".lock").open("w")
    fcntl.flock(_run_lock, fcntl.LOCK_EX)
    run_dir = making.rename(TEST_TMP_ROOT / f"{os.getpid()}{making.name}")
    if config.option.basetemp is None:
        config.option.basetemp = str(run_dir / "basetemp")
    os.environ["TMPDIR"] = tempfile.tempdir = str(run_dir / "tmp")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SYSTEM_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    postgres = None
    if not server_url:  # an embedded Postgres, a child of this run, in its folder
        folder = tmp_path_factory.mktemp("postgres")
        postgres = Children(folder)
        server_url = await start_postgres(postgres, folder / "data")
    url = await create_throwaway_database(server_url)
    await asyncio.to_thread(migrate_to_head, url)
    yield url
    await drop_database(url)
    if postgres is not None:
        await postgres.stop_all()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(), dev_server_extra_args=TIME_SKIPPING_FLAG
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def stack(
    database_url: str, temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    api_port, sandbox_port = free_port(), free_port()
    api_url, sandbox_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}"
    # Traced as production traces when OTEL_EXPORTER_OTLP_ENDPOINT is set; spans kept in memory.
    configure_tracing("mentoring-tests", exporter=SPANS)
    credentials = write_service_account_file(
        tmp_path_factory.mktemp("google") / "service-account.json",
        token_uri=f"{sandbox_url}/oauth2/token",
    )
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue="mentoring-orders-test",
        xendit_api_url=sandbox_url,
        xendit_secret_key="xnd_development_test",
        xendit_callback_token="test-callback-token",
        google_api_url=sandbox_url,
        google_credentials_file=credentials,
        # Each request reads the mentor's calendar afresh: a test's busy block shows at once.
        # (tests/api/test_calendar_busy.py covers the cache.)
        google_freebusy_cache_ttl=timedelta(0),
        # A refused webhook is tried again soon (production: from 10 s).
        webhook_retry_initial=timedelta(milliseconds=200),
        # The suite makes many requests quickly from one address with one key (the fuzz test
        # too): rate limits out of its way (tests/api/test_limits.py tests them on apps of
        # their own, with small ones).
        rate_limit_per_key="1000000/minute",
        rate_limit_per_address="1000000/minute",
        admin_api_key="test-admin-key",
        frontend_api_key="test-frontend-key",
        mentor_token_secret="test-mentor-secret",
        public_base_url=api_url,
        # The process's metrics here, the Temporal SDK's on the next port.
        metrics_port=free_port_pair(),
    )
    engine = create_engine(database_url)
    # As the API and the worker connect: traced, the SDK's metrics served.
    client = await connect_temporal(settings)
    api = await BackgroundServer(create_app(settings, client, engine), port=api_port).start()
    sandbox = await BackgroundServer(
        create_emulator_app(
            EmulatorConfig(
                public_url=sandbox_url,
                callback_url=f"{api_url}/v1/webhooks/xendit/invoice",
                callback_token=settings.xendit_callback_token,
            )
        ),
        port=sandbox_port,
    ).start()
    worker = RunningWorker(client, settings, engine)
    worker.start()
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60, limits=CLIENT_LIMITS) as api_http,
        httpx.AsyncClient(base_url=sandbox_url, timeout=60, limits=CLIENT_LIMITS) as sandbox_http,
    ):
        yield Stack(
            settings=settings,
            client=client,
            skipper=TimeSkipper(client, config=TimeSkippingConfig(enabled=False)),
            engine=engine,
            api=api_http,
            sandbox=sandbox_http,
            worker=worker,
        )
    await worker.stop()
    await api.stop()
    await sandbox.stop()
    await engine.dispose()


@pytest.fixture(autouse=True)
async def record_histories(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """With RECORD_HISTORIES=1, save the history of each order a test made, for the replay test
    (`make histories`)."""
    recording = os.environ.get("RECORD_HISTORIES") == "1" and "stack" in request.fixturenames
    stack: Stack | None = request.getfixturevalue("stack") if recording else None
    first = len(stack.created_orders) if stack else 0
    yield
    if stack is not None:
        for number, order_id in enumerate(stack.created_orders[first:], start=1):
            await save_history(stack.client, order_id, f"{request.node.name}-{number}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Python can crash at exit after temporalio's runtime ran (sdk-python issue 300), turning
    a green run red: leave with pytest's own status once its report is printed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
