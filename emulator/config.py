"""What the emulator needs to know about its surroundings."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8081"
DEFAULT_CALLBACK_URL = "http://127.0.0.1:8000/v1/webhooks/xendit/invoice"


@dataclass(frozen=True)
class EmulatorConfig:
    """`public_url`: where people and programs reach the emulator (invoice URLs point there).
    `callback_url`: the service's Xendit invoice webhook; `callback_token`: the
    `x-callback-token` the emulator sends with every callback, as Xendit does."""

    public_url: str
    callback_url: str
    callback_token: str
    merchant_name: str = "Nusademy"
    callback_timeout_s: float = 30.0
    refund_callback_url: str = ""
    """The service's Xendit refund webhook; by default `refund` beside the invoice webhook."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if not self.refund_callback_url:
            beside = self.callback_url.rstrip("/").rsplit("/", 1)[0] + "/refund"
            object.__setattr__(self, "refund_callback_url", beside)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "EmulatorConfig":
        """`SANDBOX_PUBLIC_URL`, `SANDBOX_CALLBACK_URL`, `XENDIT_CALLBACK_TOKEN`."""
        env = os.environ if environ is None else environ
        return cls(
            public_url=env.get("SANDBOX_PUBLIC_URL") or DEFAULT_PUBLIC_URL,
            callback_url=env.get("SANDBOX_CALLBACK_URL") or DEFAULT_CALLBACK_URL,
            callback_token=env.get("XENDIT_CALLBACK_TOKEN", ""),
        )
