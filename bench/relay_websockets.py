"""Reference relay: a minimal 1:1 chat relay written directly on `websockets`.

This is the yardstick of the benchmark: the least work a Python server can do
to relay a chat message between two readers on the same library causerie
uses. Clients are paired in arrival order (one waiting slot); every frame a
client sends is forwarded, as-is, to its partner. No JSON, no sequence
numbers, no confirmations, no compression (``compression=None``).

    python bench/relay_websockets.py --port 8801 [--loop uvloop|asyncio]

``GET /healthz`` answers 200 (for the benchmark harness); the socket accepts
any path. uvloop is the default because causerie runs on uvicorn, which uses
uvloop when it is installed: both sides of the comparison get the same loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import resource
import signal

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

_waiting: ServerConnection | None = None


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _healthz(connection: ServerConnection, request):  # type: ignore[no-untyped-def]
    if request.path == "/healthz":
        return connection.respond(http.HTTPStatus.OK, "ok\n")
    return None


async def _handler(ws: ServerConnection) -> None:
    global _waiting
    partner_ready: asyncio.Future[ServerConnection]
    if _waiting is None:
        # Take the waiting slot and wait for the next arrival.
        partner_ready = asyncio.get_running_loop().create_future()
        ws.partner_ready = partner_ready  # type: ignore[attr-defined]
        _waiting = ws
        try:
            partner = await _first(partner_ready, ws)
        finally:
            if _waiting is ws:
                _waiting = None
        if partner is None:
            return
    else:
        partner = _waiting
        _waiting = None
        partner.partner_ready.set_result(ws)  # type: ignore[attr-defined]
    try:
        async for frame in ws:
            await partner.send(frame)
    except ConnectionClosed:
        pass
    finally:
        # A 1:1 conversation ends when either side goes.
        await partner.close()


async def _first(
    partner_ready: asyncio.Future[ServerConnection], ws: ServerConnection
) -> ServerConnection | None:
    """The partner, or None if this connection closes while waiting."""
    closed = asyncio.ensure_future(ws.wait_closed())
    done, _ = await asyncio.wait({partner_ready, closed}, return_when=asyncio.FIRST_COMPLETED)
    if partner_ready in done:
        closed.cancel()
        return partner_ready.result()
    partner_ready.cancel()
    return None


async def main(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        _handler,
        host,
        port,
        compression=None,
        process_request=_healthz,
        backlog=4096,
    ):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    _raise_nofile()
    with contextlib.suppress(KeyboardInterrupt):
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(main(args.host, args.port))
        else:
            asyncio.run(main(args.host, args.port))
