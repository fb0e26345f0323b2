"""The runner's child processes: each leads a process group of its own, which the runner stops
as a whole; each has a pid file under the data folder, so that a start after the runner was
killed (kill -9) stops what that run left; each writes to a log file there unless verbose.

On Linux a child also dies with the runner: it asks the kernel for a signal when its parent dies
(PR_SET_PDEATHSIG), before it becomes the program it runs."""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STOP_BOUND_S = 15.0
KILL_BOUND_S = 5.0
POLL_S = 0.05

# Set by the tests of the start after a kill -9: without it, the children of a killed runner die
# with it on Linux, and nothing would be left for the pid files to find.
NO_PARENT_DEATH_SIGNAL = "DEVSTACK_NO_PARENT_DEATH_SIGNAL"

# Runs first in each child (a bare interpreter, -I -S), then replaces itself with the child's
# program (exec keeps the pid, the process group and the parent-death signal): drop to `uid` and
# `gid` when given (Postgres refuses root), ask for `sig` when the runner dies, and give up if
# the runner is already gone.
_GUARD = """
import ctypes, os, sys
runner, sig, uid, gid = (int(a) for a in sys.argv[1:5])
libc = ctypes.CDLL(None, use_errno=True)  # before dropping root, which may not read Python's
if gid >= 0:
    os.setgroups([])
    os.setgid(gid)
if uid >= 0:
    os.setuid(uid)
if sig and sys.platform == "linux":
    libc.prctl(1, sig)  # PR_SET_PDEATHSIG, after setuid, which clears it
if os.getppid() != runner:
    sys.exit("the runner is gone")
os.execvp(sys.argv[5], sys.argv[5:])
"""


class ChildFailed(Exception):
    """A child exited when it should not have (while starting, or a step that failed)."""

    def __init__(self, child: "Child", status: int) -> None:
        self.child, self.status = child, status
        if status < 0:
            how = f"was stopped by signal {-status} ({signal.Signals(-status).name})"
        else:
            how = f"exited with status {status}"
        where = f"; its log: {child.log_path}" if child.log_path else ""
        super().__init__(f"{child.title} {how}{where}")


@dataclass
class Child:
    name: str
    title: str
    process: asyncio.subprocess.Process
    stop_signal: int
    tier: int
    log_path: Path | None

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.returncode is None


def process_start_time(pid: int) -> str | None:
    """The process's start time (Linux: field 22 of /proc/<pid>/stat), which tells it from a
    later process given the same pid; None when not running, a zombie, or not on Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def command_line(pid: int) -> list[bytes] | None:
    """The process's arguments (Linux), None when unknown."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None


def is_alive(pid: int, start_time: str | None = None) -> bool:
    """Whether `pid` runs (and, when `start_time` is given, is the same process as then)."""
    if Path("/proc/self/stat").exists():
        now = process_start_time(pid)
        return now is not None and (start_time is None or now == start_time)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _signal_leader(pid: int, signum: int) -> None:
    """The group `pid` leads, and `pid` itself should it lead none (a server an older runner
    left, started otherwise)."""
    _signal_group(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


async def _wait_gone(pid: int, start_time: str | None, bound_s: float) -> bool:
    deadline = time.monotonic() + bound_s
    while is_alive(pid, start_time):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def stop_group(pid: int, start_time: str | None, stop_signal: int) -> None:
    """Stop the process group `pid` leads: `stop_signal`, then SIGKILL past the bound."""
    if not is_alive(pid, start_time):
        return
    _signal_leader(pid, stop_signal)
    if not await _wait_gone(pid, start_time, STOP_BOUND_S):
        _signal_leader(pid, signal.SIGKILL)
        await _wait_gone(pid, start_time, KILL_BOUND_S)
    _signal_group(pid, signal.SIGKILL)  # whatever else is left in its group


class Children:
    """The children of one run, their pid files in `data_dir/run/`, their logs in
    `data_dir/logs/` (or the runner's own stdout and stderr when `verbose`)."""

    def __init__(self, data_dir: Path, verbose: bool = False) -> None:
        self.pid_dir = data_dir / "run"
        self.log_dir = data_dir / "logs"
        self.verbose = verbose
        self._children: list[Child] = []
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def children(self) -> list[Child]:
        return list(self._children)

    async def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        title: str | None = None,
        env: Mapping[str, str] | None = None,
        stop_signal: int = signal.SIGTERM,
        tier: int = 0,
        user: tuple[int, int] | None = None,
    ) -> Child:
        """Start `argv` in a new process group. `tier`: higher tiers stop first (the servers
        before the Postgres and Temporal they use). `user`: (uid, gid) to run as."""
        log_path = None if self.verbose else self.log_dir / f"{name}.log"
        log: IO[bytes] | None = None
        if log_path is not None:
            log = log_path.open("ab")
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
        death_signal = 0 if os.environ.get(NO_PARENT_DEATH_SIGNAL) else stop_signal
        uid, gid = user if user is not None else (-1, -1)
        guard = [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), str(death_signal)]
        try:
            process = await asyncio.create_subprocess_exec(
                *guard,
                str(uid),
                str(gid),
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=None if env is None else dict(env),
                process_group=0,
            )
        finally:
            if log is not None:
                log.close()
        child = Child(name, title or name, process, stop_signal, tier, log_path)
        self._children.append(child)
        self._pid_file(name).write_text(
            json.dumps(
                {
                    "pid": process.pid,
                    "start_time": process_start_time(process.pid),
                    "stop_signal": stop_signal,
                    "tier": tier,
                    "argv": list(argv),
                }
            )
            + "\n"
        )
        return child

    async def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        title: str | None = None,
        env: Mapping[str, str] | None = None,
        user: tuple[int, int] | None = None,
    ) -> None:
        """Run a step to its end (initdb, the migrations); ChildFailed if it fails."""
        child = await self.start(name, argv, title=title, env=env, user=user)
        status = await child.process.wait()
        self._forget(child)
        if status != 0:
            raise ChildFailed(child, status)

    async def first_exit(self) -> Child:
        """The first child to exit (each is meant to run until stopped)."""
        waits = {asyncio.ensure_future(c.process.wait()): c for c in self._children}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return waits[next(iter(done))]

    def check_running(self) -> None:
        """ChildFailed for a child that has exited."""
        for child in self._children:
            if child.process.returncode is not None:
                raise ChildFailed(child, child.process.returncode)

    async def stop_all(self) -> None:
        """Stop every child, tier by tier (highest first), the children of a tier at once."""
        for tier in sorted({c.tier for c in self._children}, reverse=True):
            stopping = [c for c in self._children if c.tier == tier]
            await asyncio.gather(*(self._stop(c) for c in stopping))

    def kill_all(self) -> None:
        """SIGKILL every child's group now (a second Ctrl-C)."""
        for child in self._children:
            _signal_group(child.pid, signal.SIGKILL)

    async def _stop(self, child: Child) -> None:
        if child.running():
            _signal_group(child.pid, child.stop_signal)
            try:
                await asyncio.wait_for(child.process.wait(), STOP_BOUND_S)
            except TimeoutError:
                _signal_group(child.pid, signal.SIGKILL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(child.process.wait(), KILL_BOUND_S)
        _signal_group(child.pid, signal.SIGKILL)  # whatever else is left in its group
        self._forget(child)

    def _forget(self, child: Child) -> None:
        with contextlib.suppress(ValueError):
            self._children.remove(child)
        self._pid_file(child.name).unlink(missing_ok=True)

    def _pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.pid"

    async def stop_leftovers(self) -> list[str]:
        """Stop what a dead run left (its pid files name them), the highest tier first; the
        names of those that were still running."""
        leftovers = []
        for path in self.pid_dir.glob("*.pid"):
            try:
                record = json.loads(path.read_text())
                leftovers.append((path, record, int(record["pid"])))
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)
        alive = [item for item in leftovers if is_alive(item[2], item[1].get("start_time"))]
        for tier in sorted({int(record.get("tier", 0)) for _, record, _ in alive}, reverse=True):
            await asyncio.gather(
                *(
                    stop_group(pid, record.get("start_time"), int(record["stop_signal"]))
                    for _, record, pid in alive
                    if int(record.get("tier", 0)) == tier
                )
            )
        for path, _, _ in leftovers:
            path.unlink(missing_ok=True)
        return sorted(path.stem for path, _, _ in alive)
