"""`mentoring dev` comes up; stops every child on Ctrl-C, SIGTERM, SIGHUP and a stopped child;
cleans up what a run killed with kill -9 left; stops what had started when a start fails."""

import os
import signal
from pathlib import Path

import pytest

from devstack.processes import NO_PARENT_DEATH_SIGNAL
from tests.devstack.runs import CHILDREN, EXIT_BOUND_S, Run, alive, dev_env, naming
from tests.support import free_port, wait_until

pytestmark = pytest.mark.system  # the whole stack, as `make dev` starts it


async def test_a_start_after_kill_9_stops_what_the_killed_run_left(folder: Path) -> None:
    # Children that outlive their runner, as they do where the kernel does not kill them with
    # it (not Linux): what the pid files are for.
    env = dev_env(**{NO_PARENT_DEATH_SIGNAL: "1"})
    first = Run(folder, env, "first")
    await first.until_up()
    left = first.children()
    assert set(left) == CHILDREN
    first.process.kill()
    first.process.wait()
    assert alive(left) == sorted(CHILDREN), "the children outlived the killed runner"

    second = Run(folder, env, "second")
    await second.until_up()
    assert alive(left) == []
    assert "Stopped what an earlier run left running" in second.output()
    running = second.children()
    assert set(running) == CHILDREN and alive(running) == sorted(CHILDREN)

    second.process.send_signal(signal.SIGINT)  # Ctrl-C
    assert await second.until_exit() == 0
    assert alive(running) == []
    assert naming(folder) == []
    assert list((second.data_dir / "run").glob("*.pid")) == []
    assert second.error_lines() == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
async def test_a_stop_signal_stops_every_child(folder: Path, signum: signal.Signals) -> None:
    run = Run(folder, dev_env(), "run")
    await run.until_up()
    children = run.children()
    assert set(children) == CHILDREN
    run.process.send_signal(signum)  # kill, or the terminal closing
    assert await run.until_exit() == 0
    assert alive(children) == []
    assert naming(folder) == []
    assert run.output().rstrip().endswith("Stopped.")


async def test_the_children_of_a_killed_runner_die_with_it(folder: Path) -> None:
    """The dev runner, like CI, runs on Linux: its children ask for the parent-death signal."""
    run = Run(folder, dev_env(), "run")
    await run.until_up()
    children = run.children()
    run.process.kill()
    run.process.wait()

    async def all_gone() -> bool:
        return alive(children) == []

    await wait_until(all_gone, "the children of the killed runner to stop", EXIT_BOUND_S)
    assert naming(folder) == []


async def test_a_child_that_stops_stops_the_run(folder: Path) -> None:
    run = Run(folder, dev_env(), "run")
    await run.until_up()
    children = run.children()
    worker_pid, _ = children["worker"]
    os.kill(worker_pid, signal.SIGKILL)
    assert await run.until_exit() == 1
    [line] = run.error_lines()
    assert "the worker was stopped by signal 9 (SIGKILL)" in line and "worker.log" in line
    assert alive(children) == []


async def test_an_external_postgres_that_refuses_stops_what_had_started(folder: Path) -> None:
    # Temporal starts first; then the Postgres the environment names refuses.
    refused = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/mentoring"
    run = Run(folder, dev_env(DATABASE_URL=refused), "run")
    assert await run.until_exit() == 1
    [line] = run.error_lines()
    assert line.startswith("mentoring dev: the Postgres of DATABASE_URL does not answer")
    assert naming(folder) == []  # the Temporal server, stopped
    assert list((run.data_dir / "run").glob("*.pid")) == []


async def test_the_runner_failing_stops_what_had_started(folder: Path) -> None:
    # Postgres and Temporal are up when the runner writes the emulator's key file: a folder in
    # its way makes the runner itself fail there.
    (folder / "data" / "google-service-account.json").mkdir(parents=True)
    run = Run(folder, dev_env(), "run")
    assert await run.until_exit() == 1
    [line] = run.error_lines()
    assert line.startswith("mentoring dev: failed: IsADirectoryError")
    assert "runner.log" in line
    assert naming(folder) == []  # Postgres and the Temporal server, stopped
    assert list((run.data_dir / "run").glob("*.pid")) == []
