"""Settings: production refuses to start without its secrets (or with weak ones)."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mentoring.settings import PRODUCTION_SECRETS, Settings

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SETTING_NAMES = {name.upper() for name in Settings.model_fields}

STRONG = {
    "xendit_secret_key": "xnd_production_Jq8v2Lw0aZt5Ry7Mp3Kd",
    "xendit_callback_token": "Vh3kP9sW2xQ7nB4mT6yL1cZ8",
    "admin_api_key": "a1f0c6e2b9d84e7f9c3a5b6d7e8f9012",
    "frontend_api_key": "f7e6d5c4b3a29180ffeeddccbbaa9988",
    "mentor_token_secret": "0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a",
}


def production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **STRONG,
        "google_credentials_file": Path("/run/secrets/google_service_account"),
        **overrides,
    }
    return Settings(_env_file=None, environment="production", **values)


def refusal(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as raised:
        production(**overrides)
    message = str(raised.value)
    assert "ENVIRONMENT=production refuses to start" in message
    return message


def test_development_starts_with_the_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.environment == "development"
    assert all(getattr(settings, name) == "" for name in PRODUCTION_SECRETS)


def test_production_starts_with_every_secret_set() -> None:
    settings = production()
    assert settings.environment == "production"
    assert settings.admin_api_key == STRONG["admin_api_key"]


def test_production_refuses_the_defaults_naming_every_missing_setting() -> None:
    message = refusal(**dict.fromkeys(PRODUCTION_SECRETS, ""), google_credentials_file=None)
    for name in PRODUCTION_SECRETS:
        assert f"{name.upper()} is empty" in message
    assert "GOOGLE_CREDENTIALS_FILE is not set" in message


@pytest.mark.parametrize("name", PRODUCTION_SECRETS)
def test_production_refuses_each_secret_missing_alone(name: str) -> None:
    message = refusal(**{name: "   "})
    assert f"{name.upper()} is empty" in message
    others = [other.upper() for other in PRODUCTION_SECRETS if other != name]
    assert not any(other in message for other in others)


def test_production_refuses_short_known_trivial_and_shared_secrets() -> None:
    short = "x7Kp2Lq9Zr4Mw1N"  # 15 characters
    assert "ADMIN_API_KEY is shorter than 16 characters" in refusal(admin_api_key=short)
    assert short not in refusal(admin_api_key=short)  # never the value itself
    known = refusal(xendit_callback_token="test-callback-token")
    assert "XENDIT_CALLBACK_TOKEN is a well-known or trivial value" in known
    trivial = refusal(mentor_token_secret="a" * 40)
    assert "MENTOR_TOKEN_SECRET is a well-known or trivial value" in trivial
    shared = refusal(frontend_api_key=STRONG["admin_api_key"])
    assert "FRONTEND_API_KEY is the same as ADMIN_API_KEY" in shared
    assert STRONG["admin_api_key"] not in shared
    assert "GOOGLE_CREDENTIALS_FILE is not set" in refusal(google_credentials_file=None)


def test_the_worker_and_the_api_refuse_to_start_in_production_without_secrets(
    tmp_path: Path,
) -> None:
    """Read from the environment, as a real start does (no .env in the working directory)."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in SETTING_NAMES}
    env.update(ENVIRONMENT="production", PYTHONPATH=str(REPO_ROOT))
    for command in (["worker"], ["api", "--port", "1"]):
        started = subprocess.run(
            [sys.executable, "-m", "mentoring.cli", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode != 0
        assert "ENVIRONMENT=production refuses to start" in started.stderr
        assert "ADMIN_API_KEY is empty" in started.stderr


ENV_EXAMPLE = REPO_ROOT / ".env.example"
_ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=")


def _example_assignments() -> list[tuple[str, bool, str]]:
    """(name, set, the line before) for each `NAME=value` and commented `# NAME=value` line."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    found = []
    for number, line in enumerate(lines):
        match = _ASSIGNMENT.match(line)
        if match:
            found.append((match[2], match[1] is None, lines[number - 1] if number else ""))
    return found


def test_env_example_lists_every_setting_in_order_each_after_its_meaning() -> None:
    assignments = _example_assignments()
    names = [name for name, _, _ in assignments]
    fields = [name.upper() for name in Settings.model_fields]
    missing = [name for name in fields if name not in names]
    assert missing == [], f".env.example lacks {missing}"
    assert sorted(set(names) - set(fields)) == [], "not settings"
    assert names == fields, "in the order (and so the groups) of mentoring/settings.py"
    for name, _, before in assignments:
        assert before.startswith("# ") and not _ASSIGNMENT.match(before), f"{name}: no meaning"


def test_env_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copied to `.env` as it is, it changes nothing; what it leaves commented has no default."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    example, defaults = Settings(_env_file=ENV_EXAMPLE), Settings(_env_file=None)
    assert example.model_dump() == defaults.model_dump()
    commented = [name for name, active, _ in _example_assignments() if not active]
    assert commented == ["GOOGLE_CREDENTIALS_FILE"]
    assert defaults.google_credentials_file is None
