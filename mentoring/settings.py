"""One settings object, read from the environment (and a `.env` file if present)."""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What production refuses as a secret (see `_secrets_set_in_production`): shorter than this, one
# character repeated, or a value known from this repository (the test stack's keys) or from
# examples everywhere.
MINIMUM_SECRET_LENGTH = 16
KNOWN_SECRET_VALUES = frozenset(
    {
        # the test stack's (tests/conftest.py, tests/activities/conftest.py)
        "test-frontend-key",
        "test-mentor-secret",
        "test-callback-token",
        "xnd_development_test",
        "xnd_development_activity_test",
        # placeholders
        "changemechangeme",
        "secretsecretsecret",
        "passwordpassword",
        "0123456789abcdef",
        "1234567890123456",
    }
)
PRODUCTION_SECRETS = (
    "xendit_secret_key",
    "xendit_callback_token",
    "admin_api_key",
    "frontend_api_key",
    "mentor_token_secret",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Infrastructure. Empty means: `mentoring dev` starts an embedded one.
    database_url: str = ""
    temporal_address: str = ""
    temporal_namespace: str = "default"
    temporal_task_queue: str = "mentoring-orders"

    # Xendit. Empty API URL means: the real Xendit.
    xendit_api_url: str = "https://api.xendit.co"
    xendit_secret_key: str = ""
    xendit_callback_token: str = ""
    # The channels the invoice offers, as Xendit names them (`["BCA", "OVO", "QRIS"]`; JSON in
    # the environment); empty: every channel activated on the Xendit account.
    xendit_payment_methods: list[str] = Field(default_factory=list)
    # Where Xendit's checkout sends the payer once they paid (`?payment=success` added) or the
    # invoice expired (`?payment=failed`): the frontend's order page, `{order_id}` replaced.
    # Empty: this service's own mentee order page (`PUBLIC_BASE_URL/pages/order/<token>`).
    frontend_order_url: str = ""

    # Google. Empty API URL means: Google itself.
    google_api_url: str = ""
    google_credentials_file: Path | None = None
    google_organizer_email: str = "sessions@nusademy.example"
    google_calendar_id: str = "primary"
    # The mentors' own calendars (free/busy) are asked for at most this long, and their answer
    # kept this long; without an answer in time, slots come from availability and orders alone.
    google_freebusy_timeout: timedelta = timedelta(seconds=2)
    google_freebusy_cache_ttl: timedelta = timedelta(seconds=60)

    # Who may call the API.
    admin_api_key: str = ""
    frontend_api_key: str = ""
    mentor_token_secret: str = ""
    mentor_token_ttl: timedelta = timedelta(days=3)
    public_base_url: str = "http://127.0.0.1:8000"

    # Deadlines of the design (ISO 8601 durations or seconds in the environment).
    payment_window: timedelta = timedelta(minutes=60)
    payment_cutoff_before_start: timedelta = timedelta(hours=2)
    decision_window: timedelta = timedelta(hours=24)
    decision_cutoff_before_start: timedelta = timedelta(hours=1)
    mentee_cancellation_cutoff: timedelta = timedelta(hours=24)
    reminder_offsets: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)]
    )
    late_payment_grace: timedelta = timedelta(days=7)
    # A pending refund without Xendit's callback is looked up this often, this many times.
    refund_check_interval: timedelta = timedelta(hours=6)
    refund_checks: int = 12
    minimum_lead_time: timedelta = timedelta(hours=3)
    invoice_wait_timeout: timedelta = timedelta(seconds=20)

    # What an order may be.
    allowed_durations_minutes: list[int] = Field(default_factory=lambda: [30, 45, 60, 90, 120])
    currency: str = "IDR"
    merchant_name: str = "Nusademy"

    # Outgoing webhooks: each POST waits this long; a refused one is tried again from this
    # delay, doubling (at most hourly), until the endpoint has refused for this long.
    webhook_timeout: timedelta = timedelta(seconds=10)
    webhook_retry_initial: timedelta = timedelta(seconds=10)
    webhook_give_up_after: timedelta = timedelta(hours=24)

    # Running for real. In production the secrets must be set (see `_secrets_set_in_production`).
    environment: Literal["development", "production"] = "development"
    # Prometheus metrics of this process on a port of their own (0: none), never the API's.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # Logs: JSON lines, or coloured lines for a person; `auto`: JSON unless on a terminal.
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Browsers of these origins may call the API (CORS); none by default.
    cors_allowed_origins: list[str] = Field(default_factory=list)
    # Requests per API key, and per client address, on the public routes (`limits` notation).
    rate_limit_per_key: str = "600/minute"
    rate_limit_per_address: str = "120/minute"
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    header_read_timeout: timedelta = timedelta(seconds=10)

    # `mentoring dev`: where it keeps its data and which ports it opens.
    data_dir: Path = Path(".mentoring")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    sandbox_port: int = 8081
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    @field_validator("xendit_payment_methods")
    @classmethod
    def _channel_codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip().upper() for code in value]
        if not all(code.replace("_", "").isalnum() for code in codes):
            raise ValueError("payment methods are Xendit channel codes, e.g. BCA, OVO, QRIS")
        return list(dict.fromkeys(codes))

    @field_validator("frontend_order_url")
    @classmethod
    def _order_url_template(cls, value: str) -> str:
        if not value:
            return value
        try:
            example = value.format(order_id="0")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError("the only placeholder is {order_id}") from error
        if "{order_id}" not in value or not example.startswith(("https://", "http://")):
            raise ValueError("an http(s) URL with {order_id}, e.g. https://app/orders/{order_id}")
        return value

    @model_validator(mode="after")
    def _secrets_set_in_production(self) -> "Settings":
        """With ENVIRONMENT=production, the process refuses to start unless every secret is set,
        at least MINIMUM_SECRET_LENGTH characters, not a known or trivial value, and used for
        one purpose only, and GOOGLE_CREDENTIALS_FILE is set. The error names the
        settings, never their values."""
        if self.environment != "production":
            return self
        problems = []
        values: dict[str, str] = {}
        for name in PRODUCTION_SECRETS:
            value: str = getattr(self, name)
            label = name.upper()
            if not value.strip():
                problems.append(f"{label} is empty")
            elif len(value) < MINIMUM_SECRET_LENGTH:
                problems.append(f"{label} is shorter than {MINIMUM_SECRET_LENGTH} characters")
            elif value.lower() in KNOWN_SECRET_VALUES or len(set(value)) == 1:
                problems.append(f"{label} is a well-known or trivial value")
            elif value in values.values():
                other = next(other for other, seen in values.items() if seen == value)
                problems.append(f"{label} is the same as {other}")
            values[label] = value
        credentials = self.google_credentials_file
        if credentials is None or str(credentials).strip() in ("", "."):
            problems.append("GOOGLE_CREDENTIALS_FILE is not set")
        if problems:
            raise ValueError("ENVIRONMENT=production refuses to start: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
