"""Async engine and sessions, and running the Alembic migrations."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def create_engine(
    database_url: str,
    *,
    connect_timeout_s: float | None = None,
    pool_timeout_s: float | None = None,
) -> AsyncEngine:
    """`connect_timeout_s` bounds opening a connection (asyncpg's default: 60 s) and
    `pool_timeout_s` waiting for a pooled one (SQLAlchemy's default: 30 s)."""
    options: dict[str, Any] = {}
    if connect_timeout_s is not None:
        options["connect_args"] = {"timeout": connect_timeout_s}
    if pool_timeout_s is not None:
        options["pool_timeout"] = pool_timeout_s
    # Twenty kept open and no overflow (overflow connections are opened and closed again per
    # checkout under load). No ping before every checkout (a round trip per transaction): a
    # connection the server dropped fails its first statement instead, SQLAlchemy then discards
    # every connection opened before it, and the request answers 503 or the activity retries.
    return create_async_engine(database_url, pool_size=20, max_overflow=0, **options)


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection on which each statement commits on its own: no BEGIN and COMMIT
    round trips around a single statement."""
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate_to_head(database_url: str) -> None:
    """Blocking: call it from a thread when an event loop runs (env.py runs its own loop)."""
    command.upgrade(alembic_config(database_url), "head")
