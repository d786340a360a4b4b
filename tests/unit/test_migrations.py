"""The Alembic migrations build exactly ``causerie.store.schema.metadata``, on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from causerie.store.database import database_url
from causerie.store.migrate import head_revision
from causerie.store.schema import metadata


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
