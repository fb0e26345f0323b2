"""The emulator and a webhook receiver on loopback, and the real clients pointed at them,
configured exactly as production code must configure them."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
import httpx
import pytest
import xendit
from google.oauth2 import service_account
from googleapiclient.discovery import build
from xendit.invoice import InvoiceApi
from xendit.refund import RefundApi

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.credentials import write_service_account_file
from tests.emulator.servers import ThreadedServer, WebhookReceiver

CALLBACK_TOKEN = "test-callback-token"
SECRET_KEY = "xnd_development_emulator_test"
ORGANIZER = "sessions@nusademy.example"
SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.readonly",
]


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    yield WebhookReceiver()


@pytest.fixture(scope="session")
def receiver_url(receiver: WebhookReceiver) -> Iterator[str]:
    server = ThreadedServer(lambda _: receiver.app()).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def emulator_url(receiver_url: str) -> Iterator[str]:
    server = ThreadedServer(
        lambda url: create_app(
            EmulatorConfig(
                public_url=url,
                callback_url=f"{receiver_url}/webhook",
                callback_token=CALLBACK_TOKEN,
            )
        )
    ).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def sandbox(emulator_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_url, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh(sandbox: httpx.Client, receiver: WebhookReceiver) -> None:
    """Each test starts with an empty emulator (but valid access tokens) and receiver."""
    assert sandbox.post("/sandbox/reset").status_code == 204
    receiver.clear()


@pytest.fixture(scope="session")
def xendit_client(emulator_url: str) -> xendit.ApiClient:
    """Production: `xendit.Configuration(host=<emulator URL, no trailing slash>, api_key=<key>)`."""
    configuration = xendit.Configuration(host=emulator_url, api_key=SECRET_KEY)
    return xendit.ApiClient(configuration)


@pytest.fixture(scope="session")
def invoices(xendit_client: xendit.ApiClient) -> InvoiceApi:
    return InvoiceApi(xendit_client)


@pytest.fixture(scope="session")
def refunds(xendit_client: xendit.ApiClient) -> RefundApi:
    return RefundApi(xendit_client)


@pytest.fixture(scope="session")
def key_file(emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_service_account_file(
        tmp_path_factory.mktemp("google") / "service-account.json",
        token_uri=f"{emulator_url}/oauth2/token",
    )


@pytest.fixture(scope="session")
def credentials(key_file: Path) -> service_account.Credentials:
    credentials: service_account.Credentials = (
        service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(key_file), scopes=SCOPES, subject=ORGANIZER
        )
    )
    return credentials


@pytest.fixture(scope="session")
def calendar(emulator_url: str, credentials: service_account.Credentials) -> Any:
    return calendar_client(emulator_url, credentials)


def calendar_client(emulator_url: str, credentials: service_account.Credentials) -> Any:
    """As mentoring/google_services.py builds it: an AuthorizedHttp, api_endpoint
    `<emulator>/calendar/v3/` (Calendar's servicePath)."""
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=30))
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": f"{emulator_url}/calendar/v3/"},
    )


@pytest.fixture(scope="session")
def gmail(emulator_url: str, credentials: service_account.Credentials) -> Any:
    """With `credentials=` this time; api_endpoint `<emulator>/` (Gmail's servicePath is empty
    and its method paths begin with `gmail/v1/`)."""
    return build(
        "gmail",
        "v1",
        credentials=credentials,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": f"{emulator_url}/"},
    )
