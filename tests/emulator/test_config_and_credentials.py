"""The emulator's config from the environment, and the service-account key file."""

import json
import stat
from pathlib import Path

import pytest
from google.oauth2 import service_account

from emulator.app import create_app_from_env
from emulator.config import EmulatorConfig
from emulator.credentials import write_service_account_file


def test_from_env_reads_the_three_variables() -> None:
    config = EmulatorConfig.from_env(
        {
            "SANDBOX_PUBLIC_URL": "http://sandbox.local:8081/",
            "SANDBOX_CALLBACK_URL": "http://api.local/v1/webhooks/xendit/invoice",
            "XENDIT_CALLBACK_TOKEN": "secret-token",
        }
    )

    assert config == EmulatorConfig(
        public_url="http://sandbox.local:8081",
        callback_url="http://api.local/v1/webhooks/xendit/invoice",
        callback_token="secret-token",
    )


def test_from_env_defaults_to_the_dev_ports() -> None:
    config = EmulatorConfig.from_env({})

    assert config.public_url == "http://127.0.0.1:8081"
    assert config.callback_url == "http://127.0.0.1:8000/v1/webhooks/xendit/invoice"
    assert config.callback_token == ""


def test_app_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_PUBLIC_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("XENDIT_CALLBACK_TOKEN", "from-env")

    app = create_app_from_env()

    assert app.state.emulator_config.public_url == "http://127.0.0.1:9999"
    assert app.state.emulator_config.callback_token == "from-env"


def test_config_is_frozen() -> None:
    config = EmulatorConfig.from_env({})

    with pytest.raises(AttributeError):
        config.callback_token = "changed"  # type: ignore[misc]


def test_key_file_is_a_service_account_google_auth_accepts(tmp_path: Path) -> None:
    path = write_service_account_file(
        tmp_path / "nested" / "sa.json",
        token_uri="http://127.0.0.1:9/oauth2/token",
        client_email="robot@project.iam.gserviceaccount.com",
    )

    info = json.loads(path.read_text())
    credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(path), scopes=["https://www.googleapis.com/auth/calendar.events"], subject="a@b.example"
    )

    assert info["type"] == "service_account"
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert info["token_uri"] == "http://127.0.0.1:9/oauth2/token"
    assert len(info["private_key_id"]) == 40 and info["client_id"].isdigit()
    assert credentials.service_account_email == "robot@project.iam.gserviceaccount.com"
    assert credentials._token_uri == "http://127.0.0.1:9/oauth2/token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_key_file_has_its_own_key(tmp_path: Path) -> None:
    first = write_service_account_file(tmp_path / "a.json", token_uri="http://x/oauth2/token")
    second = write_service_account_file(tmp_path / "b.json", token_uri="http://x/oauth2/token")

    assert (
        json.loads(first.read_text())["private_key"]
        != json.loads(second.read_text())["private_key"]
    )
