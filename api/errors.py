"""Errors as `{"error": {"code", "message", "details"?}}`; never a 500 for bad input, and a
503 (not a 500) when Postgres or Temporal is unavailable."""

import logging
from typing import Any

import asyncpg.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.exceptions import TemporalError

from api.outages import Outage, outage_of

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    @classmethod
    def of(cls, outage: Outage, message: str | None = None) -> "ApiError":
        return cls(
            outage.status,
            outage.code,
            message or outage.message,
            headers={"Retry-After": str(outage.retry_after_s)},
        )


class ErrorDetail(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
    message: str
    details: Any = Field(default=None, description="validation errors only")


class ErrorOut(BaseModel):
    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "The body could not be read",
    401: "No valid credential",
    403: "The credential may not do this",
    404: "No such resource",
    409: "Not allowed in the resource's current state",
    413: "The body is too large",
    422: "The request is not valid",
    429: "Too many requests: from this key or address (`rate_limited`), or at once for this "
    "resource (`too_many_requests`); retry after `Retry-After` seconds",
    503: "A provider, the database or the workflow engine is unavailable; retry after "
    "`Retry-After` seconds",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each error status it may answer, with the error body."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[status]}
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[status] = response
    return responses


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg")), "type": err.get("type")}
        for err in exc.errors()
    ]


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = error_body("validation_error", "the request is not valid", _validation_details(exc))
    return JSONResponse(body, status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


def _internal_error() -> JSONResponse:
    return JSONResponse(error_body("internal_error", "an unexpected error occurred"), 500)


async def _infrastructure_error(request: Request, exc: Exception) -> JSONResponse:
    """Postgres or Temporal unavailable: 503 (429 when Temporal refuses more concurrent
    updates); anything else unexpected is logged and answered 500, still as JSON."""
    outage = outage_of(exc)
    if outage is None:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return _internal_error()
    log.warning("%s %s: %s (%r)", request.method, request.url.path, outage.code, exc)
    return await _api_error(request, ApiError.of(outage))


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    """The last resort (Starlette logs the exception after this answer): JSON, not text."""
    return _internal_error()


# Where a database or workflow-engine outage surfaces (asyncpg and the socket layer raise
# their own errors while connecting: SQLAlchemy does not wrap those).
_INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.SQLAlchemyError,
    asyncpg.exceptions.PostgresError,
    asyncpg.exceptions.InterfaceError,
    OSError,
    TemporalError,
    RuntimeError,
)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error_type in _INFRASTRUCTURE_ERRORS:
        app.add_exception_handler(error_type, _infrastructure_error)
    app.add_exception_handler(Exception, _unexpected_error)
