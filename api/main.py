"""The FastAPI app: routers, error handlers, one Temporal client and one engine for its lifetime."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.calendar_busy import CalendarBusy
from api.errors import install_error_handlers
from api.limits import install_limits
from api.metrics import observe
from api.pages import admin, decision, order
from api.routers import availability, health, mentors, orders, webhook_endpoints, webhooks
from api.webhook_relay import run_relay
from mentoring.db import create_engine, session_factory
from mentoring.heap import freeze_startup_objects
from mentoring.metrics import serve_metrics
from mentoring.settings import Settings, get_settings
from mentoring.temporal import connect_temporal

# With Postgres unreachable or its pool exhausted a request answers 503 within these bounds,
# instead of waiting out asyncpg's 60 s and SQLAlchemy's 30 s.
DATABASE_CONNECT_TIMEOUT_S = 3.0
DATABASE_POOL_TIMEOUT_S = 4.0

# Swagger UI's and ReDoc's scripts and styles, from the fastapi-offline package: /docs and /redoc
# load nothing from outside (no CDN, no Google Fonts, no swagger.io validator badge).
DOCS_ASSETS_URL = "/docs-assets"


def operation_id(route: APIRoute) -> str:
    """The route's name (its function's, or the `name=` it was given): `create_order`,
    `get_order`, ..., what client generators turn into method names. Unique across the API
    (tests/api/test_docs.py checks it), snake_case."""
    return route.name


def create_app(
    settings: Settings | None = None,
    temporal: Client | None = None,
    engine: AsyncEngine | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """`temporal` and `engine` may be given (tests); otherwise they come from the settings.
    `freeze_heap`: once started, what start-up built is kept out of the garbage collector's
    reach (`mentoring api` does it: it is the whole process; a test process makes many apps)."""
    app_settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serve_metrics(app_settings)  # on METRICS_PORT, never on the API's own port
        own_engine = engine is None
        app.state.engine = engine or create_engine(
            app_settings.database_url,
            connect_timeout_s=DATABASE_CONNECT_TIMEOUT_S,
            pool_timeout_s=DATABASE_POOL_TIMEOUT_S,
        )
        app.state.sessions = session_factory(app.state.engine)
        # Lazy: with Temporal down the API still stores webhooks; the relay forwards them later.
        app.state.temporal = temporal or await connect_temporal(app_settings, lazy=True)
        relay = asyncio.create_task(
            run_relay(app.state.temporal, app.state.sessions, app_settings.temporal_task_queue)
        )
        if freeze_heap:
            freeze_startup_objects()
        try:
            yield
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            if own_engine:
                await app.state.engine.dispose()

    app = FastAPIOffline(
        static_url=DOCS_ASSETS_URL,
        title="Mentoring order engine",
        version=version("mentoring-orders"),
        description="Orders of paid 1:1 mentoring sessions: Xendit invoice, mentor approval, "
        "Google Calendar event with a Meet room.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = app_settings
    app.state.calendar_busy = CalendarBusy(app_settings)
    install_error_handlers(app)
    install_limits(app, app_settings)
    for router in (
        health.router,
        mentors.router,
        availability.router,
        orders.router,
        webhooks.router,
        webhook_endpoints.router,
        decision.router,
        order.router,
        admin.router,
    ):
        app.include_router(router)
    observe(app)
    return app


def create_served_app() -> FastAPI:
    """The app `mentoring api` serves: the process is the API's alone."""
    return create_app(freeze_heap=True)
