"""Databases on a Postgres server: made when missing (`mentoring dev`), throwaway ones (tests)."""

import uuid

import asyncpg
from sqlalchemy.engine import make_url


def _asyncpg_dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _admin_dsn(database_url: str) -> str:
    url = make_url(database_url).set(database="postgres")
    return _asyncpg_dsn(url.render_as_string(hide_password=False))


async def ensure_database(database_url: str) -> None:
    """Create the URL's database if it does not exist (connecting to `postgres` to do it)."""
    name = make_url(database_url).database
    connection = await asyncpg.connect(_admin_dsn(database_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def create_throwaway_database(server_url: str) -> str:
    name = f"mentoring_test_{uuid.uuid4().hex[:12]}"
    database_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    await ensure_database(database_url)
    return database_url


async def drop_database(database_url: str) -> None:
    name = make_url(database_url).database
    connection = await asyncpg.connect(_admin_dsn(database_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
