"""A small protocol client for integration tests, on the `websockets` library."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

_article_ids = itertools.count()
OPEN: set[Reader] = set()  # closed by the autouse fixture in conftest.py, even on failure


def new_article() -> str:
    """A fresh article URL, so that concurrent tests never share a queue."""
    return f"https://news.example/tests/{next(_article_ids)}-{id(object())}"


class Reader:
    """One reader's socket: send frames, wait for typed events."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> Reader:
        ws = await connect(url, compression=None, **kwargs)
        reader = cls(ws)
        OPEN.add(reader)
        reader.hello = await reader.expect("hello")
        return reader

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            frame = json.dumps(frame)
        await self.ws.send(frame)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(raw, str), "server frames are text"
        event = json.loads(raw)
        assert isinstance(event, dict) and isinstance(event.get("type"), str)
        return event

    async def expect(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        event = await self.recv(timeout)
        assert event["type"] == kind, f"expected {kind}, got {event}"
        return event

    async def silent(self, seconds: float = 0.3) -> None:
        """Assert that nothing arrives for ``seconds``."""
        try:
            event = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {event!r}")

    async def error(self, code: str, timeout: float = 5.0) -> dict[str, Any]:
        event = await self.expect("error", timeout)
        assert event["code"] == code, event
        assert isinstance(event["message"], str) and event["message"]
        return event

    async def close(self) -> None:
        OPEN.discard(self)
        await self.ws.close()


async def pair(
    url: str, article: str | None = None
) -> tuple[Reader, Reader, dict[str, Any], dict[str, Any]]:
    """Two readers matched on one article; returns both and their `matched` events."""
    article = article or new_article()
    first = await Reader.open(url)
    second = await Reader.open(url)
    await first.send({"type": "join", "article": article})
    await first.expect("waiting")
    await second.send({"type": "join", "article": article})
    matched_second = await second.expect("matched")
    matched_first = await first.expect("matched")
    return first, second, matched_first, matched_second
