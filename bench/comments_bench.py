"""Comments benchmark: seeding, checks and the HTTP load generator, for causerie and Isso.

    python bench/comments_bench.py seed --target isso --port 8080
    python bench/comments_bench.py check --target causerie --port 8000
    python bench/comments_bench.py load --target causerie --port 8000 --scenario read-page

bench/run_comments.py drives all of it (both servers side by side, one run).

Data (the same for both servers, from a fixed random seed):

- the **hot story** ``/articles/hot-story``: 2,000 comments, 1,800 top-level
  and 200 replies (10 %) to top-level comments drawn at random;
- 99 other articles ``/articles/story-NNN`` with 1–5 comments each (the 100
  URLs of the counts request are these and the hot story);
- the **live blog** ``/articles/live-blog``, created with one comment at
  seeding, where the write benchmark posts.

Comment texts are 80–400 characters of French-looking prose, some with
``*emphasis*``, ``**strong**``, a second paragraph or a bare link, so that
both servers' renderers have work. Every comment has an author name.
Articles live on the origin ``SITE`` (loopback, nothing listens there).

Scenarios (one *unit* is what the latency and the rate are measured on):

``read-page``
    what the embed fetches on page load. Isso (its client's defaults,
    ``embed.js``: ``max-comments-top = "inf"``, ``max-comments-nested = 5``,
    ``sorting = "oldest"``): ``GET /?uri=/articles/hot-story&sort=oldest&
    offset=0&nested_limit=5``, i.e. all 1,800 top-level comments with up to
    5 replies each, Markdown rendered on every request. causerie:
    ``GET /api/v1/comments?url=...`` (default: newest first, 20 top-level
    comments with all their replies).
``read-full``
    the whole 2,000-comment thread. Isso: the same request without
    ``nested_limit`` (one response). causerie: ``limit=100`` pages following
    ``next`` until it is null (18 requests, one after the other); the unit is
    the whole thread.
``write``
    a new top-level comment on the live blog, unique text per request. Isso:
    ``POST /new?uri=/articles/live-blog`` with the fields its client sends;
    causerie: ``POST /api/v1/comments``.
``counts``
    comment counts of the 100 URLs in one request. Isso: ``POST /count`` with
    the JSON list (what ``count.js`` sends); causerie:
    ``GET /api/v1/counts?url=U1&...&url=U100``.

The load generator is closed-loop: ``--connections`` (16) keep-alive
connections each run one unit after the other for ``--warmup`` then
``--duration`` seconds; units completed in the measured window / its length
is the rate, and the p50/p99 of the units' latencies are reported. When the
server closes a connection after a response (gunicorn's sync worker, which
Isso is deployed with, does so after every response), the next request opens
a new one, and that connection time is part of the latency. The client is a
raw asyncio ``Protocol`` on uvloop with httptools' response parser (no
HTTP library in the hot loop), bodies are not decoded except causerie's
``read-full`` pages (for ``next``). It reports its own CPU and the server
process tree's; no ``Accept-Encoding`` is sent (neither server compresses).
Every response status is checked; any other than the expected one is
counted in ``errors`` and excluded from the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httptools
import orjson

SITE = "http://127.0.0.1:9"  # the articles' origin; nothing listens on port 9
HOT = "/articles/hot-story"
LIVE = "/articles/live-blog"
OTHERS = [f"/articles/story-{i:03d}" for i in range(1, 100)]
COUNT_PATHS = [HOT, *OTHERS]
THREAD_SIZE = 2000
REPLIES = 200
SCENARIOS = ("read-page", "read-full", "write", "counts")
TARGETS = ("causerie", "isso")

_WORDS = (  # noqa: SIM905
    "merci pour cet article très clair mais je ne suis pas d'accord sur le fond "
    "la question des transports reste entière et les chiffres cités datent un peu "
    "on oublie souvent que la ville a déjà essayé en vain il y a dix ans "
    "bravo à la rédaction pour ce travail de fond qui change des dépêches "
    "pourquoi personne ne parle du budget réel de ce projet"
).split()
_NAMES = ("Loutre pensive", "Héron matinal", "Renard poli", "Chouette", "Blaireau",
          "Marmotte", "Lynx", "Castor zélé", "Mésange", "Hérisson")  # fmt: skip


def make_text(rng: random.Random, n: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(14, 60))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = "*vraiment*"
    if rng.random() < 0.15:
        words[rng.randrange(len(words))] = "**jamais**"
    if rng.random() < 0.1:
        words.append(f"https://example.org/source/{n}")
    text = " ".join(words).capitalize() + "."
    if rng.random() < 0.2:
        text += "\n\n" + " ".join(rng.choice(_WORDS) for _ in range(12)).capitalize() + " ?"
    return text[:400]


# --- targets -------------------------------------------------------------------------------------


class Target:
    name = ""

    def __init__(self, port: int) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nOrigin: {SITE}\r\nAccept: application/json\r\n"

    def get(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode()

    def post(self, path: str, body: Any) -> bytes:
        data = orjson.dumps(body)
        return (
            f"POST {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data

    # seeding: (request, expected status); id from the response body
    def new_comment(self, path: str, text: str, name: str, parent: int | None, title: str) -> bytes:
        raise NotImplementedError

    def comment_id(self, body: bytes) -> int:
        raise NotImplementedError

    def read_page(self) -> bytes:
        raise NotImplementedError

    def read_full_first(self) -> bytes:
        raise NotImplementedError

    def counts(self) -> bytes:
        raise NotImplementedError


class Isso(Target):
    name = "isso"

    def new_comment(self, path: str, text: str, name: str, parent: int | None, title: str) -> bytes:
        # the fields Isso's client sends (isso.js: author, email, website, text,
        # parent, title, notification)
        body = {"author": name, "email": None, "website": None, "text": text,
                "parent": parent, "title": title, "notification": 0}  # fmt: skip
        return self.post("/new?" + urllib.parse.urlencode({"uri": path}), body)

    def comment_id(self, body: bytes) -> int:
        return int(orjson.loads(body)["id"])

    def read_page(self) -> bytes:
        q = urllib.parse.urlencode({"uri": HOT, "sort": "oldest", "offset": 0, "nested_limit": 5})
        return self.get("/?" + q)

    def read_full_first(self) -> bytes:
        return self.get("/?" + urllib.parse.urlencode({"uri": HOT, "sort": "oldest", "offset": 0}))

    def counts(self) -> bytes:
        return self.post("/count", COUNT_PATHS)


class Causerie(Target):
    name = "causerie"

    def new_comment(self, path: str, text: str, name: str, parent: int | None, title: str) -> bytes:
        body: dict[str, Any] = {"url": SITE + path, "text": text, "name": name, "title": title}
        if parent is not None:
            body["parent"] = parent
        return self.post("/api/v1/comments", body)

    def comment_id(self, body: bytes) -> int:
        return int(orjson.loads(body)["id"])

    def read_page(self) -> bytes:
        return self.get("/api/v1/comments?" + urllib.parse.urlencode({"url": SITE + HOT}))

    def read_full_first(self) -> bytes:
        return self.page(None)

    def page(self, cursor: str | None) -> bytes:
        q: dict[str, Any] = {"url": SITE + HOT, "limit": 100}
        if cursor is not None:
            q["cursor"] = cursor
        return self.get("/api/v1/comments?" + urllib.parse.urlencode(q))

    def counts(self) -> bytes:
        q = urllib.parse.urlencode([("url", SITE + p) for p in COUNT_PATHS])
        return self.get("/api/v1/counts?" + q)


def target(name: str, port: int) -> Target:
    return {"isso": Isso, "causerie": Causerie}[name](port)


# --- a minimal HTTP/1.1 client -------------------------------------------------------------------


class Conn(asyncio.Protocol):
    """One connection; ``await request(raw)`` → (status, body, keep_alive)."""

    def __init__(self, keep_body: bool) -> None:
        self.keep_body = keep_body
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.keep_body:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        keep = self.parser.should_keep_alive()
        body = b"".join(self.chunks)
        self.chunks = []
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body, keep))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("connection closed before the response"))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    async def request(self, raw: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.size = 0
        self.transport.write(raw)
        return await self.waiter


class Client:
    """A connection that reopens itself when the server closed the previous one."""

    def __init__(self, port: int, keep_body: bool = False) -> None:
        self.port = port
        self.keep_body = keep_body
        self.conn: Conn | None = None
        self.connects = 0
        self.bytes = 0

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.conn is None or self.conn.closed:
            _, conn = await asyncio.get_running_loop().create_connection(
                lambda: Conn(self.keep_body), "127.0.0.1", self.port
            )
            self.conn = conn
            self.connects += 1
        try:
            status, body, keep = await self.conn.request(raw)
        except BaseException:
            self.close()
            raise
        self.bytes += self.conn.size
        if not keep:
            self.close()
        return status, body

    def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()
        self.conn = None


# --- seeding and checks --------------------------------------------------------------------------


async def _post_all(
    t: Target, jobs: list[tuple[str, str, str, int | None, str]], concurrency: int, deadline: float
) -> list[int]:
    ids: list[int] = [0] * len(jobs)
    queue = list(enumerate(jobs))
    queue.reverse()

    async def worker() -> None:
        client = Client(t.port, keep_body=True)
        try:
            while queue:
                if time.monotonic() > deadline:
                    raise TimeoutError("seeding took too long")
                i, job = queue.pop()
                status, body = await client.request(t.new_comment(*job))
                if status not in (200, 201):
                    raise RuntimeError(f"{t.name}: new comment -> {status} {body[:300]!r}")
                ids[i] = t.comment_id(body)
        finally:
            client.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def seed(name: str, port: int, concurrency: int = 4, budget: float = 300) -> dict[str, Any]:
    """Create the hot story, the 99 other articles and the live blog."""
    t = target(name, port)
    rng = random.Random(20261127)
    deadline = time.monotonic() + budget
    started = time.perf_counter()
    n = 0

    def job(path: str, parent: int | None, title: str) -> tuple[str, str, str, int | None, str]:
        nonlocal n
        n += 1
        return (path, make_text(rng, n), rng.choice(_NAMES), parent, title)

    # the first comment alone (it creates the article), then the rest in parallel
    first = await _post_all(t, [job(HOT, None, "Hot story")], 1, deadline)
    top = first + await _post_all(
        t, [job(HOT, None, "Hot story") for _ in range(THREAD_SIZE - REPLIES - 1)], concurrency,
        deadline,
    )  # fmt: skip
    replies = [job(HOT, rng.choice(top), "Hot story") for _ in range(REPLIES)]
    await _post_all(t, replies, concurrency, deadline)
    others = [
        job(path, None, f"Story {i}")
        for i, path in enumerate(OTHERS, 1)
        for _ in range(1 + (i % 5))
    ]
    await _post_all(t, others, concurrency, deadline)
    await _post_all(t, [job(LIVE, None, "Live blog")], 1, deadline)
    return {
        "posted": n,
        "hot_story": THREAD_SIZE,
        "replies": REPLIES,
        "others": len(others),
        "seconds": round(time.perf_counter() - started, 1),
        "expected_counts": {HOT: THREAD_SIZE}
        | {path: 1 + (i % 5) for i, path in enumerate(OTHERS, 1)},
    }


async def _fetch(client: Client, raw: bytes, what: str) -> Any:
    status, body = await client.request(raw)
    if status != 200:
        raise RuntimeError(f"{what} -> {status} {body[:300]!r}")
    return orjson.loads(body), len(body)


async def check(name: str, port: int) -> dict[str, Any]:
    """Fetch every scenario once, check the figures; sizes of the responses."""
    t = target(name, port)
    client = Client(port, keep_body=True)
    out: dict[str, Any] = {}
    try:
        if isinstance(t, Isso):
            page, size = await _fetch(client, t.read_page(), "read-page")
            shown = sum(1 + len(c["replies"]) for c in page["replies"])
            full, fsize = await _fetch(client, t.read_full_first(), "read-full")
            full_n = sum(1 + len(c["replies"]) for c in full["replies"])
            assert page["total_replies"] == THREAD_SIZE, page["total_replies"]
            assert full_n == THREAD_SIZE, full_n
            out["read-page"] = {"bytes": size, "comments": shown, "top_level": len(page["replies"])}
            out["read-full"] = {"bytes": fsize, "comments": full_n, "requests": 1}
            counts, csize = await _fetch(client, t.counts(), "counts")
            got = dict(zip(COUNT_PATHS, counts, strict=True))
        else:
            assert isinstance(t, Causerie)
            page, size = await _fetch(client, t.read_page(), "read-page")
            shown = sum(1 + len(c["replies"]) for c in page["comments"])
            assert page["total"] == THREAD_SIZE, page["total"]
            out["read-page"] = {
                "bytes": size,
                "comments": shown,
                "top_level": len(page["comments"]),
            }
            cursor, n, fsize, requests = None, 0, 0, 0
            while True:
                body, s = await _fetch(client, t.page(cursor), "read-full")
                n += sum(1 + len(c["replies"]) for c in body["comments"])
                fsize += s
                requests += 1
                cursor = body["next"]
                if cursor is None or requests > 100:
                    break
            assert n == THREAD_SIZE, n
            out["read-full"] = {"bytes": fsize, "comments": n, "requests": requests}
            counts, csize = await _fetch(client, t.counts(), "counts")
            got = {k[len(SITE) :]: v for k, v in counts["counts"].items()}
        expected = {HOT: THREAD_SIZE} | {p: 1 + (i % 5) for i, p in enumerate(OTHERS, 1)}
        if got != expected:
            bad = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
            raise RuntimeError(f"counts differ (got, expected): {dict(list(bad.items())[:5])}")
        out["counts"] = {"bytes": csize, "urls": len(got)}
    finally:
        client.close()
    return out


# --- load ----------------------------------------------------------------------------------------


def _cpu_tree(pid: int | None) -> float | None:
    """CPU seconds of a process and its children (gunicorn master + worker)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        import psutil  # type: ignore[import-untyped]

        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            ct = p.cpu_times()
            total += ct.user + ct.system
        return total
    except Exception:
        return None


def _busy() -> float:
    """Seconds of CPU the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[int], p: float) -> float | None:
    if not values:
        return None
    values.sort()
    k = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return round(values[k] / 1e6, 3)


class Run:
    def __init__(self) -> None:
        self.measuring = False
        self.stop = False
        self.units = 0
        self.requests = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.latencies: list[int] = []
        self.bytes = 0


def unit_fn(t: Target, scenario: str) -> tuple[Callable[[Client, Run, int], Any], bool]:
    """An async function running one unit, and whether bodies must be kept."""
    counter = iter(range(10**9))
    rng = random.Random(os.getpid())
    fixed = {"read-page": t.read_page, "counts": t.counts}

    if scenario in fixed:
        raw = fixed[scenario]()

        async def one(client: Client, run: Run, _: int) -> bool:
            status, _body = await client.request(raw)
            run.requests += 1
            return status == 200

        return one, False
    if scenario == "write":

        async def write(client: Client, run: Run, wid: int) -> bool:
            n = next(counter)
            text = f"[{wid}-{n}] " + make_text(rng, n)
            status, _ = await client.request(
                t.new_comment(LIVE, text, rng.choice(_NAMES), None, "Live blog")
            )
            run.requests += 1
            return status == 201

        return write, False
    if scenario == "read-full":
        if isinstance(t, Isso):
            raw = t.read_full_first()

            async def isso_full(client: Client, run: Run, _: int) -> bool:
                status, _body = await client.request(raw)
                run.requests += 1
                return status == 200

            return isso_full, False
        assert isinstance(t, Causerie)
        causerie = t

        async def paged(client: Client, run: Run, _: int) -> bool:
            cursor = None
            for _page in range(100):
                status, body = await client.request(causerie.page(cursor))
                run.requests += 1
                if status != 200:
                    return False
                cursor = orjson.loads(body)["next"]
                if cursor is None:
                    return True
            return False

        return paged, True
    raise ValueError(scenario)


async def load(args: argparse.Namespace) -> dict[str, Any]:
    t = target(args.target, args.port)
    unit, keep_body = unit_fn(t, args.scenario)
    run = Run()
    clients = [Client(args.port, keep_body) for _ in range(args.connections)]

    async def worker(wid: int, client: Client) -> None:
        while not run.stop:
            t0 = time.perf_counter_ns()
            try:
                ok = await unit(client, run, wid)
            except Exception as exc:  # a refused or reset connection: count it, go on
                ok = False
                if len(run.error_samples) < 5:
                    run.error_samples.append(repr(exc))
                await asyncio.sleep(0.01)
            if run.measuring:
                if ok:
                    run.units += 1
                    run.latencies.append(time.perf_counter_ns() - t0)
                else:
                    run.errors += 1

    tasks = [asyncio.create_task(worker(i, c)) for i, c in enumerate(clients)]
    try:
        await asyncio.sleep(args.warmup)
        connects0 = sum(c.connects for c in clients)
        bytes0 = sum(c.bytes for c in clients)
        cpu0, scpu0, busy0 = _cpu_tree(None), _cpu_tree(args.server_pid), _busy()
        run.requests = 0
        t0 = time.perf_counter()
        run.measuring = True
        await asyncio.sleep(args.duration)
        # slow units (Isso's 1 MB thread): go on until --min-units, at most --max-duration
        while run.units < args.min_units and time.perf_counter() - t0 < args.max_duration:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        run.measuring = False
        elapsed = time.perf_counter() - t0
        cpu1, scpu1, busy = _cpu_tree(None), _cpu_tree(args.server_pid), _busy() - busy0
        requests = run.requests
        connects = sum(c.connects for c in clients) - connects0
        nbytes = sum(c.bytes for c in clients) - bytes0
    finally:
        # let the units in flight end (no request left queued at the server for
        # the next run), then close; bounded by --drain seconds
        run.stop = True
        drain0 = time.perf_counter()
        _done, pending = await asyncio.wait(tasks, timeout=args.drain)
        for task in pending:
            task.cancel()
        drained = round(time.perf_counter() - drain0, 1)
        for c in clients:
            c.close()
    assert cpu0 is not None
    assert cpu1 is not None
    ours = cpu1 - cpu0
    result: dict[str, Any] = {
        "target": args.target,
        "scenario": args.scenario,
        "connections": args.connections,
        "seconds": round(elapsed, 3),
        "units": run.units,
        "units_per_s": round(run.units / elapsed, 1),
        "requests_per_s": round(requests / elapsed, 1),
        "p50_ms": _pct(run.latencies, 50),
        "p99_ms": _pct(run.latencies, 99),
        "errors": run.errors,
        "error_samples": run.error_samples,
        "new_connections": connects,
        "mib_per_s": round(nbytes / elapsed / 2**20, 2),
        "loadgen_cpu_pct": round(100 * ours / elapsed, 1),
        "drain_s": drained,
        "undrained": len(pending),
    }
    if scpu0 is not None and scpu1 is not None:
        ours += scpu1 - scpu0
        result["server_cpu_pct"] = round(100 * (scpu1 - scpu0) / elapsed, 1)
    result["foreign_cpu_pct"] = round(100 * max(0.0, busy - ours) / elapsed, 1)
    return result


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=("seed", "check", "load"))
    p.add_argument("--target", choices=TARGETS, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--scenario", choices=SCENARIOS, default="read-page")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--min-units", type=int, default=20, help="measure at least this many units")
    p.add_argument("--max-duration", type=float, default=40.0, help="...but no longer than this")
    p.add_argument("--drain", type=float, default=60.0, help="wait for the units in flight")
    p.add_argument("--server-pid", type=int)
    p.add_argument("--timeout", type=float, default=180, help="hard limit of a load run")
    args = p.parse_args(argv)
    if args.command == "seed":
        out = _run(seed(args.target, args.port))
    elif args.command == "check":
        out = _run(check(args.target, args.port))
    else:
        out = _run(asyncio.wait_for(load(args), args.timeout))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
