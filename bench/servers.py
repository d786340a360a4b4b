"""Start and stop the servers under test, pinned to one core, always stopped.

    with Server("causerie", core=0) as server:
        server.port, server.pid ...

Kinds:

- ``causerie``: ``python -m causerie serve --host 127.0.0.1 --port P`` (the real
  command), run from a scratch directory (no ``.env`` from the work tree) with
  ``CAUSERIE_DATA_DIR`` there too, and with the per-reader message rate limit
  raised out of the way (``CAUSERIE_MESSAGES_PER_SECOND``/``_MESSAGE_BURST``:
  the token bucket still runs on every message, it just never refuses) and the
  heartbeat timeout lengthened (idle readers of the memory benchmark send no
  ``ping``; this changes no per-connection state). Logging at ``warning``.
- ``websockets``: bench/relay_websockets.py (uvloop).
- ``websockets-asyncio``: the same on the stdlib asyncio loop.
- ``socketio``: bench/relay_socketio.py, ASGI on uvicorn.
- ``socketio-aiohttp``: bench/relay_socketio.py on aiohttp.
- ``isso``: Isso 0.14.0 (comments benchmark) from its own venv
  (bench/isso_env.py, created if missing), as Isso documents its production
  deployment: ``gunicorn -w 1 --preload isso.run`` with ``ISSO_SETTINGS``
  pointing to an ``isso.cfg`` written in the scratch directory (SQLite
  database there too, ``host = site``). Ready when ``GET /info`` answers.

``Server(kind, env={...})`` adds environment variables for the server (the
comments benchmark sets ``CAUSERIE_SITE_ORIGINS`` this way); ``site`` is the
articles' origin written into Isso's configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from causerie.testing import free_port

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")

KINDS = (
    "causerie",
    "causerie-lists",
    "causerie-unmoderated",
    "websockets",
    "websockets-asyncio",
    "socketio",
    "socketio-aiohttp",
    "isso",
)

CAUSERIE_ENV = {
    "CAUSERIE_MESSAGES_PER_SECOND": "1000000",
    "CAUSERIE_MESSAGE_BURST": "1000000",
    "CAUSERIE_HEARTBEAT_TIMEOUT": "3600",
    # every bench client comes from 127.0.0.1: per-client limits out of the way too
    # (the buckets still run for every connection, join, comment and like)
    "CAUSERIE_CLIENT_CONNECTIONS_PER_MINUTE": "10000000",
    "CAUSERIE_CLIENT_JOINS_PER_MINUTE": "10000000",
    "CAUSERIE_COMMENTS_PER_MINUTE": "10000000",
    "CAUSERIE_LIKES_PER_MINUTE": "10000000",
    "CAUSERIE_LOG_LEVEL": "warning",
}


# Variants of causerie: the same command with one setting changed.
VARIANT_ENV = {
    "causerie-lists": {"CAUSERIE_CLASSIFIER": "none"},  # word lists only, no model
    "causerie-unmoderated": {"CAUSERIE_CHAT_MODERATION": "false"},
}


def protocol_of(kind: str) -> str:
    """The load generator's --target for a server kind."""
    return kind.split("-")[0]


def command(kind: str, port: int) -> list[str]:
    if kind.startswith("causerie"):
        return [PYTHON, "-m", "causerie", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if kind == "websockets":
        return [PYTHON, str(BENCH / "relay_websockets.py"), "--port", str(port)]
    if kind == "websockets-asyncio":
        return [
            PYTHON,
            str(BENCH / "relay_websockets.py"),
            "--port",
            str(port),
            "--loop",
            "asyncio",
        ]
    if kind == "socketio":
        return [PYTHON, str(BENCH / "relay_socketio.py"), "--port", str(port)]
    if kind == "socketio-aiohttp":
        return [
            PYTHON,
            str(BENCH / "relay_socketio.py"),
            "--port",
            str(port),
            "--server",
            "aiohttp",
        ]
    raise ValueError(kind)


def pinned(cmd: list[str], core: int | None) -> list[str]:
    return cmd if core is None else ["taskset", "-c", str(core), *cmd]


class Server:
    """A server process of ``kind`` on a free loopback port, ready when entered."""

    def __init__(
        self,
        kind: str,
        core: int | None = 0,
        ready_timeout: float = 30.0,
        env: dict[str, str] | None = None,
        site: str = "http://127.0.0.1:9",
    ) -> None:
        self.kind = kind
        self.extra_env = dict(env or {})
        self.site = site
        self.core = core
        self.port = free_port()
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Server:
        self._scratch = tempfile.TemporaryDirectory(prefix=f"bench-{self.kind}-")
        scratch = Path(self._scratch.name)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if self.kind.startswith("causerie"):
            env.update(CAUSERIE_ENV)
            env.update(VARIANT_ENV.get(self.kind, {}))
            env["CAUSERIE_DATA_DIR"] = str(scratch / "data")
        cmd = None
        if self.kind == "isso":
            if str(BENCH) not in sys.path:
                sys.path.insert(0, str(BENCH))
            import isso_env  # bench/isso_env.py, beside this file

            isso_env.ensure_venv()
            config = isso_env.write_config(scratch / "isso", self.site, self.port)
            env["ISSO_SETTINGS"] = str(config)
            cmd = isso_env.command(config, self.port)
        env.update(self.extra_env)
        self.log_path = scratch / "server.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                pinned(cmd or command(self.kind, self.port), self.core),
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C goes to us; we stop it in order
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        path = "/info" if self.kind == "isso" else "/healthz"
        url = f"http://127.0.0.1:{self.port}{path}"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} server not ready after {self.ready_timeout}s")

    def log_tail(self, n: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc is not None:
            # the server's own session (start_new_session): whatever it forked
            # (gunicorn's worker) goes with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Terminate a child we started (if still running), then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


if __name__ == "__main__":  # manual check: python bench/servers.py causerie
    with Server(sys.argv[1]) as s:
        print(s.kind, s.port, s.pid, flush=True)
        time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)


def run_json(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run a bench command; its last JSON line, or {"failed": why}."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        return {"failed": f"timed out after {timeout}s"}
    finally:
        stop_process(proc)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"failed": f"exit {proc.returncode}: {err[-1500:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def fmt(value: Any, spec: str = "", dash: str = "—") -> str:
    return dash if value is None else format(value, spec)
