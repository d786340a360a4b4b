"""uvicorn's sans-I/O WebSocket protocol, adjusted for a chat relay.

``causerie serve`` runs uvicorn with ``ws=ChatWebSocketProtocol``. The ASGI
contract is unchanged (the app works on any ASGI server); two things differ
from ``websockets-sansio``:

1. **Frames without a task.** The scope's extensions carry
   ``"causerie.send_text_nowait"``: a synchronous function that queues a text
   frame if the transport accepts writes and returns whether it did. The
   chat uses it to relay a message with no task and no await; on any other
   ASGI server it falls back to ``send``.
2. **One write per event-loop turn.** Frames sent to a socket during one
   turn of the loop (a message's copy to the partner and its confirmation to
   the sender, a replay after a resume) are handed to the kernel with one
   ``transport.write`` instead of one each. A chat relay sends two frames per
   message: this saves a system call per frame under load (bench/README.md).
3. **Closing a reader that does not read.** uvicorn makes every send, the
   close included, wait until the transport accepts writes again, so the
   app could never close a stalled reader. Here a close requested while the
   transport is paused is queued behind what is buffered, the app is told at
   once that the socket is gone (``websocket.disconnect``), and the TCP
   connection is aborted after :data:`ABORT_AFTER` seconds unless the peer
   completes the closing handshake. Memory held for such a reader is thus
   bounded in size and in time.

Relies on attributes of uvicorn's ``WebSocketsSansIOProtocol`` (``conn``,
``transport``, ``writable``, ``queue``, ``close_sent``…); uvicorn is pinned
in ``requirements/lock.txt`` and tests/integration exercise both paths.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

ABORT_AFTER: Final = 5.0
SEND_TEXT_NOWAIT: Final = "causerie.send_text_nowait"


class ChatWebSocketProtocol(WebSocketsSansIOProtocol):
    _flush_handle: asyncio.Handle | None = None

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        extensions: Any = self.scope.get("extensions")
        if extensions is not None:  # the app task has not started yet
            extensions[SEND_TEXT_NOWAIT] = self.send_text_nowait

    def send_text_nowait(self, text: str) -> bool:
        """Queue one text frame now if the socket takes writes; False otherwise."""
        if (
            not self.writable.is_set()
            or self.close_sent
            or self.disconnected
            or not self.handshake_complete
        ):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        if self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self._flush)
        return True

    async def send(self, message: Any) -> None:
        kind = message["type"]
        open_for_frames = (
            self.handshake_complete and self.initial_response is None and not self.close_sent
        )
        if kind == "websocket.send" and open_for_frames:
            if not self.writable.is_set():
                await self.writable.wait()  # backpressure: the app's writer waits here
            if self.disconnected or self.close_sent:
                raise ClientDisconnected()
            try:
                text = message.get("text")
                if text is not None:
                    self.conn.send_text(text.encode())
                else:
                    self.conn.send_binary(message["bytes"])
            except InvalidState as exc:
                raise ClientDisconnected() from exc
            if self._flush_handle is None:
                self._flush_handle = self.loop.call_soon(self._flush)
            return
        if kind == "websocket.close" and open_for_frames and not self.writable.is_set():
            self._close_stalled(message.get("code", 1000), message.get("reason") or "")
            return
        await super().send(message)

    def _flush(self) -> None:
        self._flush_handle = None
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))

    def _close_stalled(self, code: int, reason: str) -> None:
        if self.disconnected or self.transport.is_closing():
            raise ClientDisconnected()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        try:
            self.conn.send_close(code, reason)
        except InvalidState as exc:
            raise ClientDisconnected() from exc
        self._flush()
        self.close_sent = True
        self.close_timer = self.loop.call_later(ABORT_AFTER, self.transport.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        super().connection_lost(exc)
