"""Memory per idle connected reader: server RSS growth at 5,000 idle connections.

    python bench/memory.py --kind causerie [--variant idle|join] [--connections 5000]

1. Start a fresh server (bench/servers.py), pinned to core 0.
2. Warm up: open and close ``--warmup-connections`` connections exactly like
   the measured ones (imports, caches, the first allocator arenas), wait,
   then read the server's RSS (psutil) = baseline.
3. Open ``--connections`` WebSocket connections from ``--procs`` client
   processes on core 1, with the ``websockets`` client's default
   ``compression="deflate"``: it offers ``permessage-deflate;
   client_max_window_bits``, the very offer Chrome and Firefox make, so the
   server keeps whatever per-connection compression state it would keep for
   a browser.
   - causerie, ``idle``: nothing is sent; each connection receives ``hello``
     (a reader who opened the widget and did nothing).
   - causerie, ``join``: each connection sends ``join`` on its own article and
     receives ``waiting`` (a reader sitting in a waiting queue).
   - websockets relay: nothing is sent (the relay pairs them in arrival order,
     as it would readers).
   - socketio relay: the engine.io/Socket.IO handshake (``0`` open packet,
     ``40`` connect) and then nothing but answers to the server's pings.
4. Wait until the RSS is stable (< 0.5 % change over 2 s, bounded), read it
   again; report (RSS growth) / connections in KiB, and check that every
   connection is still open.

All client processes and the server are stopped at the end, on error and on
Ctrl-C too. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from servers import PYTHON, Server, pinned, protocol_of, stop_process  # noqa: E402


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- client process -----------------------------------------------------------------


async def _one(target: str, port: int, variant: str, index: int, tag: str) -> Any:
    from websockets.asyncio.client import connect

    if target == "causerie":
        ws = await connect(
            f"ws://127.0.0.1:{port}/ws/v1/chat", compression="deflate", open_timeout=30
        )
        hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert hello["type"] == "hello", hello
        if variant == "join":
            article = f"https://bench.example/mem/{tag}/{index}"
            await ws.send(json.dumps({"type": "join", "article": article}))
            waiting = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert waiting["type"] == "waiting", waiting
        return ws
    if target == "socketio":
        ws = await connect(
            f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
            compression="deflate",
            open_timeout=30,
        )
        opened = await asyncio.wait_for(ws.recv(), 30)
        assert opened.startswith("0"), opened
        await ws.send("40")
        connected = await asyncio.wait_for(ws.recv(), 30)
        assert connected.startswith("40"), connected
        return ws
    return await connect(f"ws://127.0.0.1:{port}/", compression="deflate", open_timeout=30)


async def _keep(target: str, ws: Any) -> None:
    """Stay connected; answer engine.io pings (websockets answers WebSocket pings itself)."""
    with contextlib.suppress(Exception):
        async for frame in ws:
            if target == "socketio" and frame == "2":
                await ws.send("3")


async def client_main(args: argparse.Namespace) -> None:
    _raise_nofile()
    sem = asyncio.Semaphore(args.concurrency)

    async def opened(i: int) -> Any:
        async with sem:
            return await _one(args.target, args.port, args.variant, args.first + i, args.tag)

    conns = await asyncio.wait_for(
        asyncio.gather(*(opened(i) for i in range(args.count))), args.timeout
    )
    keepers = [asyncio.ensure_future(_keep(args.target, ws)) for ws in conns]
    print(f"ready {len(conns)}", flush=True)
    # Stay until the parent closes our stdin (or the time limit).
    loop = asyncio.get_running_loop()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), args.timeout)
    open_now = sum(1 for k in keepers if not k.done())
    print(f"open {open_now}", flush=True)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    for k in keepers:
        k.cancel()


# --- parent ------------------------------------------------------------------------------


def _rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def _spawn_clients(
    args: argparse.Namespace, server: Server, total: int, tag: str
) -> list[subprocess.Popen[str]]:
    procs: list[subprocess.Popen[str]] = []
    per = -(-total // args.procs)
    first = 0
    while first < total:
        count = min(per, total - first)
        cmd = [
            PYTHON, str(Path(__file__).resolve()), "--client",
            "--target", protocol_of(server.kind), "--port", str(server.port),
            "--variant", args.variant, "--first", str(first), "--count", str(count),
            "--tag", tag, "--timeout", str(args.timeout),
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(
                pinned(cmd, args.client_core),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        )
        first += count
    return procs


def _wait_ready(procs: list[subprocess.Popen[str]], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    total = 0
    for proc in procs:
        assert proc.stdout is not None
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line or proc.poll() is not None:
                break
        if not line.startswith("ready "):
            raise RuntimeError(f"client failed to open its connections (exit {proc.poll()})")
        total += int(line.split()[1])
    return total


def _release(procs: list[subprocess.Popen[str]]) -> int:
    """Let the clients go; the number of connections still open just before."""
    still_open = 0
    for proc in procs:
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            stop_process(proc)
            continue
        assert proc.stdout is not None
        for line in proc.stdout.read().splitlines():
            if line.startswith("open "):
                still_open += int(line.split()[1])
    return still_open


def _stable_rss(pid: int, max_wait: float) -> tuple[int, float]:
    start = time.monotonic()
    samples = [_rss(pid)]
    while time.monotonic() - start < max_wait:
        time.sleep(0.5)
        samples.append(_rss(pid))
        window = samples[-5:]
        if len(window) == 5 and (max(window) - min(window)) / max(window) < 0.005:
            break
    return samples[-1], time.monotonic() - start


def measure(args: argparse.Namespace) -> dict[str, Any]:
    tag = f"{os.getpid()}-{int(time.time())}"
    result: dict[str, Any] = {
        "kind": args.kind,
        "variant": args.variant,
        "connections": args.connections,
        "client_offer": "permessage-deflate; client_max_window_bits",
    }
    with Server(args.kind, core=args.server_core) as server:
        procs: list[subprocess.Popen[str]] = []
        try:
            if args.warmup_connections:
                warm = _spawn_clients(args, server, args.warmup_connections, tag + "-w")
                try:
                    _wait_ready(warm, args.timeout)
                finally:
                    _release(warm)
                    for proc in warm:
                        stop_process(proc)
                time.sleep(1.0)
            base, _ = _stable_rss(server.pid, 10)
            t0 = time.monotonic()
            procs = _spawn_clients(args, server, args.connections, tag)
            opened = _wait_ready(procs, args.timeout)
            open_s = time.monotonic() - t0
            after, settle_s = _stable_rss(server.pid, args.settle)
            still_open = _release(procs)
            growth = after - base
            result.update(
                {
                    "opened": opened,
                    "still_open_at_measure": still_open,
                    "rss_base_mib": round(base / 2**20, 1),
                    "rss_after_mib": round(after / 2**20, 1),
                    "kib_per_connection": round(growth / opened / 1024, 2),
                    "open_seconds": round(open_s, 2),
                    "settle_seconds": round(settle_s, 2),
                }
            )
            if still_open != opened:
                result["warning"] = f"only {still_open} of {opened} connections were still open"
        finally:
            for proc in procs:
                stop_process(proc)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="causerie")
    p.add_argument("--variant", choices=["idle", "join"], default="idle")
    p.add_argument("--connections", type=int, default=5000)
    p.add_argument("--procs", type=int, default=4, help="client processes")
    p.add_argument("--warmup-connections", type=int, default=200)
    p.add_argument(
        "--settle", type=float, default=15.0, help="max seconds to wait for a stable RSS"
    )
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--timeout", type=float, default=120.0)
    # client-process mode (internal)
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--concurrency", type=int, default=100, help=argparse.SUPPRESS)
    p.add_argument("--tag", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.client:
        import uvloop

        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(client_main(args))
        return 0
    _raise_nofile()
    try:
        result = measure(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        result = {"kind": args.kind, "variant": args.variant, "failed": repr(exc)}
        print(json.dumps(result))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
