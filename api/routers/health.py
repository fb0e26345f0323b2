"""Liveness and readiness."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import SessionDep, TemporalDep

router = APIRouter(tags=["health"])

CHECK_BOUND_S = 2.0


@router.get("/healthz", name="check_liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


class Readiness(BaseModel):
    status: str
    postgres: str
    temporal: str


@router.get(
    "/readyz",
    name="check_readiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Postgres or Temporal unavailable"}},
)
async def readyz(session: SessionDep, temporal: TemporalDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_BOUND_S):
            await session.execute(text("SELECT 1"))
        checks["postgres"] = "ok"
    except Exception as error:
        checks["postgres"] = f"unavailable: {type(error).__name__}"
    try:
        async with asyncio.timeout(CHECK_BOUND_S):
            await temporal.service_client.check_health()
        checks["temporal"] = "ok"
    except Exception as error:
        checks["temporal"] = f"unavailable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if ready else "not_ready", **checks}
    return JSONResponse(body, status_code=200 if ready else 503)
