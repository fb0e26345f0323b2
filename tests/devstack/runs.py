"""Running `mentoring dev` as a developer does: a subprocess on free ports with a data folder of
its own, its output in files beside it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from devstack.processes import NO_PARENT_DEATH_SIGNAL, command_line, is_alive
from tests.support import free_port, wait_until

UP_BOUND_S = 120.0  # initdb, Postgres, Temporal, migrations, three servers, on a busy machine
EXIT_BOUND_S = 60.0
CHILDREN = {"postgres", "temporal", "api", "worker", "sandbox"}


class Run:
    """One `mentoring dev` process; its output in files beside the data folder."""

    def __init__(self, folder: Path, env: dict[str, str], name: str) -> None:
        self.data_dir = folder / "data"
        self.stdout = folder / f"{name}.out"
        self.stderr = folder / f"{name}.err"
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mentoring.cli", "dev", "--data-dir", str(self.data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=folder,
                env=env,
            )

    def output(self) -> str:
        return self.stdout.read_text()

    def error_lines(self) -> list[str]:
        return self.stderr.read_text().splitlines()

    async def until_up(self) -> None:
        async def up() -> bool:
            assert self.process.poll() is None, f"exited: {self.stderr.read_text()}"
            return "is up" in self.output()

        await wait_until(up, "mentoring dev to be up", UP_BOUND_S)

    async def until_exit(self) -> int:
        async def exited() -> int | None:
            return None if self.process.poll() is None else self.process.returncode + 1000

        return await wait_until(exited, "mentoring dev to exit", EXIT_BOUND_S) - 1000

    def children(self) -> dict[str, tuple[int, str | None]]:
        """Its children's (pid, start time), from its pid files."""
        found = {}
        for path in (self.data_dir / "run").glob("*.pid"):
            record = json.loads(path.read_text())
            found[path.stem] = (int(record["pid"]), record["start_time"])
        return found


def alive(children: dict[str, tuple[int, str | None]]) -> list[str]:
    return sorted(name for name, (pid, start) in children.items() if is_alive(pid, start))


def naming(folder: Path) -> list[int]:
    """Processes whose command line names `folder` (Postgres's -D, Temporal's database file)."""
    mine = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and is_alive(int(proc.name)):
            command = b" ".join(command_line(int(proc.name)) or [])
            if str(folder).encode() in command and int(proc.name) != os.getpid():
                mine.append(int(proc.name))
    return mine


def dev_env(**extra: str) -> dict[str, str]:
    """The developer's environment less anything that points the runner elsewhere, on free
    ports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {"DATABASE_URL", "TEMPORAL_ADDRESS", "XENDIT_API_URL", "GOOGLE_API_URL"}
        and k != NO_PARENT_DEATH_SIGNAL
    }
    ports = ("API_PORT", "SANDBOX_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT")
    return env | {name: str(free_port()) for name in ports} | extra
