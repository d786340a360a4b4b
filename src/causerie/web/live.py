"""Live comment updates: an in-process fan-out from writers to Server-Sent Event streams.

One process only: in a cluster the events must travel through the broker
(Redis pub/sub); that is the cluster milestone's job. A subscriber that
does not keep up (``QUEUE_SIZE`` events behind) is dropped: its stream ends
and the browser's EventSource reconnects and refetches.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson

QUEUE_SIZE: Final = 100
KEEPALIVE: Final = 15.0
_DROPPED: Final = b""


class ArticleFeed:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = {}

    def publish(self, article_url: str, event: str, data: dict[str, Any]) -> None:
        subscribers = self._subscribers.get(article_url)
        if not subscribers:
            return
        frame = b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
        for queue in list(subscribers):
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                subscribers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(_DROPPED)

    def subscribers(self, article_url: str) -> int:
        return len(self._subscribers.get(article_url, ()))

    def subscribe(self, article_url: str) -> AsyncIterator[bytes]:
        """Subscribe now (no event published after this call is missed), stream later."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(article_url, set()).add(queue)
        return self._stream(article_url, queue)

    async def _stream(self, article_url: str, queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
        """The SSE byte stream for one page; ends if the subscriber falls behind."""
        try:
            yield b"retry: 3000\n: connected\n\n"
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if frame is _DROPPED:
                    return
                yield frame
        finally:
            subscribers = self._subscribers.get(article_url)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[article_url]
