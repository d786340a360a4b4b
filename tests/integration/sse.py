"""Listening to a thread's Server-Sent Events in a background thread, for tests."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx


class EventListener:
    """Collects the first ``count`` events of ``GET {base}/api/v1/comments/stream?url=…``.

    ``start()`` returns once the stream is connected; ``wait()`` once ``count`` events
    arrived (or after ``timeout``); ``events`` holds ``(event, data)`` pairs.
    """

    def __init__(self, base_url: str, article_url: str, count: int) -> None:
        self.url = f"{base_url}/api/v1/comments/stream"
        self.article_url = article_url
        self.count = count
        self.events: list[tuple[str | None, Any]] = []
        self.content_type = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def start(self) -> EventListener:
        self._thread.start()
        assert self._ready.wait(5), "the event stream did not connect"
        return self

    def wait(self, timeout: float = 10) -> list[tuple[str | None, Any]]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"only {len(self.events)} events: {self.events}"
        return self.events

    def _listen(self) -> None:
        with (
            httpx.Client(timeout=10) as client,
            client.stream("GET", self.url, params={"url": self.article_url}) as stream,
        ):
            self.content_type = stream.headers["content-type"]
            event = None
            for line in stream.iter_lines():
                if line.startswith(": connected"):
                    self._ready.set()
                elif line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line[len("data: ") :])))
                    if len(self.events) == self.count:
                        return
