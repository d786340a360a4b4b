"""The same minimal 1:1 relay on python-socketio: what a developer would otherwise pick.

Clients are paired in arrival order on ``connect`` (one waiting slot); every
``msg`` event is emitted, unchanged, to the partner. No JSON schema, no
sequence numbers, no confirmations beyond what Socket.IO itself does.

    python bench/relay_socketio.py --port 8802 [--server asgi|aiohttp]

Default ``--server asgi``: ``socketio.AsyncServer(async_mode="asgi")`` wrapped
in ``socketio.ASGIApp`` and served by uvicorn with its defaults (uvloop,
httptools, ``ws="auto"``, i.e. the ``websockets`` implementation with
permessage-deflate accepted). That is the FastAPI-style deployment most
Python developers reach for today, and it is the same server stack causerie
runs on. ``--server aiohttp`` is python-socketio's other first-class
deployment (``sio.attach(web.Application())``); aiohttp also accepts
permessage-deflate by default.

Everything is left at python-socketio's defaults (ping interval 25 s, no
message queue); the Socket.IO endpoint is ``/socket.io/``, ``GET /healthz``
answers 200.
"""

from __future__ import annotations

import argparse
import contextlib
import resource

import socketio

sio = socketio.AsyncServer(async_mode="asgi")  # re-created for aiohttp in __main__
_waiting: str | None = None
_partner: dict[str, str] = {}


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _register(server: socketio.AsyncServer) -> None:
    @server.event
    async def connect(sid, environ):  # type: ignore[no-untyped-def]
        global _waiting
        if _waiting is None:
            _waiting = sid
        else:
            _partner[sid] = _waiting
            _partner[_waiting] = sid
            _waiting = None

    @server.on("msg")
    async def msg(sid, data):  # type: ignore[no-untyped-def]
        partner = _partner.get(sid)
        if partner is not None:
            await server.emit("msg", data, to=partner)

    @server.event
    async def disconnect(sid, *args):  # type: ignore[no-untyped-def]
        global _waiting
        if _waiting == sid:
            _waiting = None
        partner = _partner.pop(sid, None)
        if partner is not None:
            _partner.pop(partner, None)
            await server.disconnect(partner)


async def _healthz_asgi(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    status = 200 if scope.get("path") == "/healthz" else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok\n" if status == 200 else b""})


def run_asgi(host: str, port: int) -> None:
    import uvicorn

    _register(sio)
    app = socketio.ASGIApp(sio, other_asgi_app=_healthz_asgi)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, backlog=4096)


def run_aiohttp(host: str, port: int) -> None:
    from aiohttp import web

    global sio
    sio = socketio.AsyncServer(async_mode="aiohttp")
    _register(sio)
    app = web.Application()
    sio.attach(app)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app.router.add_get("/healthz", healthz)
    import uvloop

    uvloop.install()
    web.run_app(app, host=host, port=port, print=None, backlog=4096, access_log=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8802)
    parser.add_argument("--server", choices=["asgi", "aiohttp"], default="asgi")
    args = parser.parse_args()
    _raise_nofile()
    with contextlib.suppress(KeyboardInterrupt):
        if args.server == "asgi":
            run_asgi(args.host, args.port)
        else:
            run_aiohttp(args.host, args.port)
