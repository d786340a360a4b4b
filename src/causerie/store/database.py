"""Engines for SQLite (WAL) and PostgreSQL, and the translation of their errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from causerie.core.errors import CauserieError


class StoreError(CauserieError):
    """The database failed; raised ``from`` the driver's exception."""


def database_url(configured: str | None, data_dir: Path) -> str:
    """The async SQLAlchemy URL: SQLite in ``data_dir`` unless one is configured."""
    if not configured:
        return f"sqlite+aiosqlite:///{(data_dir / 'causerie.db').resolve()}"
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if configured.startswith(plain):
            return driver + configured[len(plain) :]
    return configured


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """One engine for the process; ``close()`` at shutdown."""

    def __init__(self, url: str) -> None:
        self.url = url
        if is_sqlite(url):
            self.engine: AsyncEngine = create_async_engine(url, pool_size=5, max_overflow=5)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=10)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction (committed on exit, rolled back on error); driver and
        SQLAlchemy errors leave it as :class:`StoreError`. Every store goes through it."""
        try:
            async with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(str(exc.__class__.__name__)) from exc

    async def close(self) -> None:
        await self.engine.dispose()
