"""Delivering Xendit's invoice and refund callbacks to the service's webhooks, as Xendit does."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from emulator.config import EmulatorConfig


@dataclass(frozen=True)
class Delivery:
    """What the webhook answered; `error` instead when it could not be reached."""

    status_code: int | None
    body: Any
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "body": self.body, "error": self.error}


def _body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


async def deliver(
    config: EmulatorConfig, payload: dict[str, Any], url: str | None = None
) -> Delivery:
    """POST the payload to `url` (the invoice webhook by default) with the `x-callback-token`
    header, once (no retries)."""
    headers = {"x-callback-token": config.callback_token, "webhook-id": str(uuid.uuid4())}
    try:
        async with httpx.AsyncClient(timeout=config.callback_timeout_s) as client:
            response = await client.post(url or config.callback_url, json=payload, headers=headers)
    except httpx.HTTPError as error:
        return Delivery(None, None, f"{type(error).__name__}: {error}")
    return Delivery(response.status_code, _body_of(response))
