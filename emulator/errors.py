"""Errors in the providers' own JSON shapes, raised anywhere and rendered by one handler."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
GOOGLE_REASON = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "conflict",
    410: "deleted",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
}
XENDIT_CODE = {
    400: "API_VALIDATION_ERROR",
    401: "INVALID_API_KEY",
    403: "REQUEST_FORBIDDEN_ERROR",
    404: "DATA_NOT_FOUND",
    409: "DUPLICATE_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
}


class ProviderError(Exception):
    """An answer other than success, with the body the provider would send."""

    def __init__(
        self, status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ):
        super().__init__(f"{status_code}: {body}")
        self.status_code = status_code
        self.body = body
        self.headers = headers or {}

    def with_headers(self, headers: dict[str, str]) -> "ProviderError":
        self.headers.update(headers)
        return self


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def xendit_error(
    status_code: int, error_code: str | None = None, message: str | None = None
) -> ProviderError:
    """Xendit's `{"error_code": ..., "message": ...}`."""
    code = error_code or XENDIT_CODE.get(status_code, "SERVER_ERROR")
    return ProviderError(
        status_code, {"error_code": code, "message": message or _phrase(status_code)}
    )


def google_error(
    status_code: int,
    reason: str | None = None,
    message: str | None = None,
    **detail: str,
) -> ProviderError:
    """Google's `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}],
    "status"}}`."""
    text = message or _phrase(status_code)
    item = {
        "domain": "global",
        "reason": reason or GOOGLE_REASON.get(status_code, "backendError"),
        "message": text,
        **detail,
    }
    error: dict[str, Any] = {"code": status_code, "message": text, "errors": [item]}
    if status_code in GOOGLE_STATUS:
        error["status"] = GOOGLE_STATUS[status_code]
    return ProviderError(status_code, {"error": error})


def oauth_error(error: str, description: str, status_code: int = 400) -> ProviderError:
    """The OAuth 2.0 token endpoint's `{"error", "error_description"}`."""
    return ProviderError(status_code, {"error": error, "error_description": description})


async def _render(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProviderError)
    return JSONResponse(error.body, status_code=error.status_code, headers=error.headers)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(ProviderError, _render)


async def google_json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object, or Google's 400 parseError for anything else."""
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise google_error(400, "parseError", "Parse Error")
    return body
