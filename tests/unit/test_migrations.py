"""The Alembic migrations build exactly ``causerie.store.schema.metadata``, on every backend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from causerie.store.database import database_url
from causerie.store.migrate import alembic_config, head_revision, upgrade
from causerie.store.schema import metadata
from tests.conftest import scratch_postgres


def same_empty_default(
    _context: MigrationContext,
    _inspected_column: Any,
    _metadata_column: Any,
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Settle ``DEFAULT ''``, which alembic's SQLite comparator misreads; defer otherwise.

    (SQLite reflects ``('')``; alembic renders the metadata's ``""`` as an empty string, and
    its unquoting regex wants at least one character between the quotes, so the two never
    match although the table says ``DEFAULT ''``.)
    """
    if inspected_default in ("''", "('')") and rendered_metadata_default in ("", "''"):
        return False
    return None


def schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": same_empty_default}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_is_the_metadata(database: str) -> None:
    engine = create_async_engine(database_url(database, Path(".")))
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(schema_diff)
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            revision = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
    assert diff == []
    assert tables == {*metadata.tables, "alembic_version"}
    assert revision == head_revision()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (the session's one must stay at head)."""
    if request.param == "sqlite":
        yield database_url(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
        return
    with scratch_postgres("causerie_migrations") as url:
        yield database_url(url, tmp_path)


def inspect_database(url: str) -> tuple[list[Any], set[str], list[str], str | None]:
    """The diff with the metadata, the tables, the columns of comments, the revision."""

    def read_sync(sync: Connection) -> tuple[list[Any], set[str], list[str], str | None]:
        tables = set(inspect(sync).get_table_names())
        columns = (
            [column["name"] for column in inspect(sync).get_columns("comments")]
            if "comments" in tables
            else []
        )
        revision = MigrationContext.configure(sync).get_current_revision()
        return schema_diff(sync), tables, columns, revision

    async def read() -> tuple[list[Any], set[str], list[str], str | None]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read_sync)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_every_revision_downgrades_and_upgrades_again(fresh_database: str) -> None:
    upgrade(fresh_database)
    diff, tables, columns, revision = inspect_database(fresh_database)
    assert (diff, revision) == ([], head_revision())
    assert "ip_hash" in columns

    command.downgrade(alembic_config(fresh_database), "0001")
    _, tables, columns, revision = inspect_database(fresh_database)
    assert revision == "0001"
    assert tables == {"articles", "comments", "comment_likes", "alembic_version"}
    assert "ip_hash" not in columns

    command.downgrade(alembic_config(fresh_database), "base")
    _, tables, _, revision = inspect_database(fresh_database)
    assert (tables, revision) == ({"alembic_version"}, None)
    upgrade(fresh_database)
    diff, tables, columns, revision = inspect_database(fresh_database)
    assert (diff, revision) == ([], head_revision())
    assert tables == {*metadata.tables, "alembic_version"}


def test_head_is_a_single_revision() -> None:
    head = head_revision()
    assert head is not None and head.strip() == head


def migrate(database: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAUSERIE_DATABASE_URL": database, "CAUSERIE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "causerie", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_cli_is_idempotent(database: str, tmp_path: Path) -> None:
    # the fixture has already migrated: both runs find the schema at head and change nothing
    for attempt in (1, 2):
        result = migrate(database, tmp_path)
        assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
        assert f"schema at revision {head_revision()}" in result.stdout


def test_migrate_cli_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'fresh.db'}"
    for attempt in (1, 2):
        result = migrate(url, tmp_path)
        assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
        assert f"schema at revision {head_revision()}" in result.stdout
    assert (tmp_path / "nested" / "fresh.db").is_file()
