"""Shared fixtures: a real server process on loopback, with short windows for tests."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from causerie.testing import ServerProcess

TEST_SERVER_ENV = {
    "CAUSERIE_RESUME_WINDOW": "3",
    "CAUSERIE_HEARTBEAT": "2",
    "CAUSERIE_HEARTBEAT_TIMEOUT": "6",
    "CAUSERIE_SWEEP_INTERVAL": "0.2",
    "CAUSERIE_JOINS_PER_MINUTE": "600",
    # every test client is 127.0.0.1: per-client limits are tested on their own server
    "CAUSERIE_CLIENT_CONNECTIONS_PER_MINUTE": "100000",
    "CAUSERIE_CLIENT_JOINS_PER_MINUTE": "100000",
    "CAUSERIE_COMMENTS_PER_MINUTE": "100000",
    "CAUSERIE_LIKES_PER_MINUTE": "100000",
    "CAUSERIE_REPORTS_PER_HOUR": "100000",
    # The shared server relays text as typed: tests of the transport send repeated and
    # number-laden texts that the policy would refuse. Chat moderation, on by default,
    # is tested on servers of its own (test_chat_moderation.py, the browser flow).
    "CAUSERIE_CHAT_MODERATION": "false",
    "CAUSERIE_LOG_LEVEL": "warning",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: the slowest, and Playwright's sync API owns an event loop."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``causerie serve`` for the whole session (tests use distinct articles)."""
    data_dir: Path = tmp_path_factory.mktemp("causerie-data")
    with ServerProcess(data_dir, TEST_SERVER_ENV) as process:
        yield process


# --- databases -------------------------------------------------------------------------

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _require_services() -> bool:
    return os.environ.get("CAUSERIE_REQUIRE_SERVICES") == "1"


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def skip_or_fail(reason: str) -> None:
    """Skip with a visible reason, or fail where the service is required (CI)."""
    if _require_services():
        pytest.fail(f"{reason} (CAUSERIE_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (``prefix`` + random suffix), dropped on exit;
    skips, or fails under CAUSERIE_REQUIRE_SERVICES, when PostgreSQL is absent."""
    if not postgres_available():
        skip_or_fail("PostgreSQL not reachable on 127.0.0.1:5432")
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with scratch_postgres("causerie_test") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database URL (as users write it), on each backend in turn."""
    from causerie.store.database import database_url
    from causerie.store.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'causerie.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(database_url(url, Path(".")))
    return url


@pytest.fixture(scope="session")
def comments_server(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real server on each database backend, with a short edit window."""
    data_dir: Path = tmp_path_factory.mktemp("comments-data")
    env = {**TEST_SERVER_ENV, "CAUSERIE_DATABASE_URL": database, "CAUSERIE_EDIT_WINDOW": "3"}
    with ServerProcess(data_dir, env) as process:
        yield process
