from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.client import OPEN


@pytest.fixture(autouse=True)
async def _close_readers() -> AsyncIterator[None]:
    """Close every test socket, even those a test dropped or a failure skipped."""
    yield
    while OPEN:
        reader = OPEN.pop()
        if reader.ws.transport.is_closing():
            reader.ws.transport.abort()
        else:
            await reader.close()
