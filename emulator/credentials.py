"""A service-account key file for the emulator, so the production auth path runs unchanged:
`service_account.Credentials.from_service_account_file(path, scopes=..., subject=...)` signs a
JWT with this key and trades it at `token_uri` (the emulator's `/oauth2/token`)."""

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_CLIENT_EMAIL = "mentoring-orders@nusademy-sandbox.iam.gserviceaccount.com"
DEFAULT_PROJECT_ID = "nusademy-sandbox"


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


def service_account_info(
    token_uri: str, client_email: str = DEFAULT_CLIENT_EMAIL, project_id: str = DEFAULT_PROJECT_ID
) -> dict[str, str]:
    """The JSON Google's console gives for a service-account key, with a fresh RSA key."""
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": _private_key_pem(),
        "client_email": client_email,
        "client_id": str(10**20 + secrets.randbelow(9 * 10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": (
            f"https://www.googleapis.com/robot/v1/metadata/x509/{quote(client_email)}"
        ),
        "universe_domain": "googleapis.com",
    }


def write_service_account_file(
    path: Path,
    token_uri: str,
    client_email: str = DEFAULT_CLIENT_EMAIL,
    project_id: str = DEFAULT_PROJECT_ID,
) -> Path:
    """Write a new key file (mode 0600, replacing any) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(service_account_info(token_uri, client_email, project_id), indent=2)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    os.chmod(path, 0o600)
    return path
