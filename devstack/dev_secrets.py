"""The dev secrets: from the environment where set, otherwise made once and kept."""

import json
import secrets
from pathlib import Path

DEV_SECRET_NAMES = (
    "admin_api_key",
    "frontend_api_key",
    "xendit_secret_key",
    "xendit_callback_token",
    "mentor_token_secret",
)


def load_dev_secrets(data_dir: Path, given: dict[str, str]) -> dict[str, str]:
    """Secrets from `given` where set, otherwise generated once and kept in data_dir."""
    path = data_dir / "dev-secrets.json"
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for name in DEV_SECRET_NAMES:
        if not saved.get(name):
            prefix = "xnd_development_" if name == "xendit_secret_key" else ""
            saved[name] = prefix + secrets.token_urlsafe(24)
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return {name: given.get(name) or saved[name] for name in DEV_SECRET_NAMES}
