"""Shared fixtures: a real server process on loopback, with short windows for tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from causerie.testing import ServerProcess

TEST_SERVER_ENV = {
    "CAUSERIE_RESUME_WINDOW": "3",
    "CAUSERIE_HEARTBEAT": "2",
    "CAUSERIE_HEARTBEAT_TIMEOUT": "6",
    "CAUSERIE_SWEEP_INTERVAL": "0.2",
    "CAUSERIE_JOINS_PER_MINUTE": "600",
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
