"""The activities called directly (through temporalio's ActivityEnvironment), against the
emulator on loopback and, for the email activity, the test database; no Temporal server."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from mentoring.db import create_engine
from mentoring.settings import Settings
from tests.emulator.conftest import (
    _fresh,
    emulator_url,
    key_file,
    receiver,
    receiver_url,
    sandbox,
)

# The emulator, its webhook receiver and the service account key, as the emulator's own tests
# have them (each test starts with an empty emulator).
__all__ = ["_fresh", "emulator_url", "key_file", "receiver", "receiver_url", "sandbox"]


@pytest.fixture(scope="session")
def settings(emulator_url: str, key_file: Path) -> Settings:
    return Settings(
        _env_file=None,
        xendit_api_url=emulator_url,
        xendit_secret_key="xnd_development_activity_test",
        google_api_url=emulator_url,
        google_credentials_file=key_file,
        mentor_token_secret="test-mentor-secret",
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The root conftest's throwaway, migrated database."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def env() -> ActivityEnvironment:
    return ActivityEnvironment()


def add_fault(sandbox: httpx.Client, **spec: object) -> None:
    response = sandbox.post("/sandbox/faults", json=spec)
    assert response.status_code == 201, response.text
