"""The folder of a test's runs of `mentoring dev`; afterwards, whatever a failed test left running
is stopped."""

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack.processes import Children
from tests.devstack.runs import naming


def _data_dirs(folder: Path) -> list[Path]:
    return [run.parent for run in folder.glob("*/run")]


@pytest.fixture
async def folder(tmp_path: Path) -> AsyncIterator[Path]:
    """The runs' folder; afterwards, whatever a failed test left is stopped."""
    yield tmp_path
    for data_dir in _data_dirs(tmp_path):
        await Children(data_dir).stop_leftovers()
    for pid in naming(tmp_path):
        os.kill(pid, signal.SIGKILL)
