"""The activities called directly (through temporalio's ActivityEnvironment), against the
emulator on loopback and, for the email activity, the test database; no Temporal server."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.credentials import write_service_account_file
from mentoring.db import create_engine
from mentoring.settings import Settings
from tests.emulator.servers import ThreadedServer, WebhookReceiver

CALLBACK_TOKEN = "test-callback-token"


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    receiver = WebhookReceiver()
    webhook = ThreadedServer(lambda _: receiver.app()).start()
    server = ThreadedServer(
        lambda url: create_app(
            EmulatorConfig(
                public_url=url,
                callback_url=f"{webhook.url}/webhook",
                callback_token=CALLBACK_TOKEN,
            )
        )
    ).start()
    yield server.url
    server.stop()
    webhook.stop()


@pytest.fixture(scope="session")
def sandbox(emulator_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_url, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh_emulator(sandbox: httpx.Client) -> None:
    assert sandbox.post("/sandbox/reset").status_code == 204


@pytest.fixture(scope="session")
def key_file(emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_service_account_file(
        tmp_path_factory.mktemp("google") / "service-account.json",
        token_uri=f"{emulator_url}/oauth2/token",
    )


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
