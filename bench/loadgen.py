"""Load generator: P pairs of chatting readers against causerie or a reference relay.

    python bench/loadgen.py --target causerie --port 8765 --mode throughput
    python bench/loadgen.py --target websockets --port 8801 --mode latency --rate 5000

Targets:

``causerie``
    the real protocol (docs/protocol.md): every reader receives ``hello``,
    both readers of a pair ``join`` the same unique article
    (``https://bench.example/a/<run>/<pair>``), wait for ``matched``, then send
    ``{"type":"message","id":..,"text":<160 chars>}``. Confirmations (the echo
    ``from:"you"`` with our ``id``) and partner messages (``from:"partner"``)
    are both received and parsed; only partner messages count as relayed.
    Every received ``seq`` is checked (+1 each time, per reader).
``websockets``
    bench/relay_websockets.py: raw 160-byte text frames, the partner
    receives them unchanged.
``socketio``
    bench/relay_socketio.py: Socket.IO ``msg`` events carrying the same
    160-byte text, spoken as raw engine.io v4 packets over the websocket
    transport (``/socket.io/?EIO=4&transport=websocket``, then ``40``,
    ``42["msg",..]``, answering the server's ``2`` pings with ``3``) rather
    than through ``socketio.AsyncClient``, which costs more CPU per message
    than the server it is measuring.

Modes:

``throughput``
    closed loop: every reader keeps ``--window`` messages in flight; a
    message leaves the window once the partner has received it (and, for
    causerie, once its sender has its confirmation too). Relayed (partner)
    messages received per second over ``--duration`` s after ``--warmup`` s.
``latency``
    open loop at a fixed offered load: ``--rate`` messages/s in total, spread
    evenly over all readers in round robin, sent in 1 ms ticks (the event
    loop's timer resolution); each text starts with its send time
    (``perf_counter_ns``), and the partner's receive time minus that is the
    latency. ``max_pacer_lag_ms`` tells how far behind schedule the sender
    ever was: if it is large, the load generator could not keep the pace.

The client is written to be cheap per message so it is not the bottleneck:
one asyncio ``Protocol`` per connection on uvloop, hand-written RFC 6455
framing (masking via websockets' C ``apply_mask``), orjson, writes coalesced
per read. It reports its own CPU use (and the server's, with
``--server-pid``); a load generator near 100 % of its core is a warning that
it, not the server, set the figure. No ``Origin`` header is sent
(causerie accepts non-browser clients that send none); no compression is
offered unless ``--deflate`` (then it offers what browsers offer,
``permessage-deflate; client_max_window_bits``, and inflates what it gets).

Prints one JSON object on stdout. Every phase has a deadline; the whole run
is bounded by ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import gc
import hashlib
import os
import random
import resource
import struct
import sys
import time
import zlib
from typing import Any

import orjson
from websockets.speedups import apply_mask  # the C extension websockets itself uses

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STAMP = 20  # digits of the perf_counter_ns timestamp at the head of each text
#: The stamp is written as ten words "k01 k23 …" (a letter and two digits each): bare
#: digits would read as a phone number to the moderation policy, and one 20-digit word
#: would be a word it has never seen in every message, which real chat lines are not
#: (a real line has a new word now and then: bench/moderation_speed.py measures that).
STAMP_WORDS = STAMP // 2
STAMP_CHARS = 4 * STAMP_WORDS  # "kNN " each
#: What readers write: the moderation policy (CAUSERIE_CHAT_MODERATION=true) sees the
#: texts it would in real use. No quote or backslash: a text goes into JSON as is.
SENTENCES = (
    "Salut, tu as lu l'article sur la réforme des retraites ?",
    "Oui, je trouve qu'il explique bien les chiffres du rapport.",
    "Par contre le passage sur les carrières longues est un peu rapide.",
    "T'as raison, ils auraient pu détailler les exemples concrets.",
    "Moi je suis infirmière, 43 annuités c'est énorme pour nous.",
    "Je comprends, ma mère a commencé à travailler à 16 ans.",
    "Le gouvernement dit que c'est nécessaire pour l'équilibre.",
    "Le rapport du conseil est plus nuancé que ce qu'on entend.",
    "Tu penses qu'il y aura encore des grèves en janvier ?",
    "Probablement, les syndicats ont déjà annoncé une date.",
    "La ligne de bus de mon quartier est encore supprimée ce mois-ci.",
    "Le maire a promis des pistes cyclables pour la rentrée.",
    "J'ai vu le match hier soir, quelle fin incroyable !",
    "La canicule revient jeudi, on annonce 38 degrés à Lyon.",
    "Merci pour la discussion, c'était vraiment intéressant.",
    "Bonne soirée à toi, on en reparle la semaine prochaine ?",
)


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def make_text(size: int, stamp_ns: int, index: int) -> str:
    """``size`` characters: the send time (``STAMP`` digits as ``STAMP_WORDS`` words, read
    back by ``got_partner_message``), then sentence ``index`` of ``SENTENCES`` repeated,
    cut at a word and padded with dots. Consecutive messages of a reader differ, so the
    policy's repeated-message rule does not fire."""
    digits = f"{stamp_ns:0{STAMP}d}"
    head = "".join(f"k{digits[i : i + 2]} " for i in range(0, STAMP, 2))
    sentence = SENTENCES[index % len(SENTENCES)]
    body = sentence
    while len(head) + len(body) < size:
        body += " " + sentence
    text = head + body
    if len(text) > size:
        cut = text.rfind(" ", len(head), size + 1)
        text = text[: cut if cut > len(head) else size]
    return text + "." * (size - len(text))


class Run:
    """State shared by every connection of one run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.target: str = args.target
        self.window: int = args.window
        self.sending = False  # closed loop running (throughput mode)
        self.measuring = False
        self.relayed = 0  # partner messages received while measuring
        self.relayed_total = 0
        self.latencies: list[int] = []  # ns, partner messages scheduled in the window
        self.lat_from = 0
        self.lat_to = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.seq_errors = 0
        self.unexpected_closes = 0
        self.closing = False
        self.limits: dict[str, Any] | None = None


class Conn(asyncio.Protocol):
    """One reader: a raw RFC 6455 client connection with per-target message logic."""

    def __init__(self, run: Run, path: str, deflate: bool) -> None:
        self.run = run
        self.path = path
        self.deflate_offer = deflate
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handshaken = False
        self.key = base64.b64encode(os.urandom(16))
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inflater: Any = None
        self.reset_inflater = False
        self.frag: list[bytes] | None = None
        self.frag_rsv1 = False
        self.out: list[bytes] = []
        # chat state
        self.partner: Conn | None = None
        self.sent = 0
        self.confirmed = 0
        self.recv_partner = 0
        self.last_seq = 0
        self.waiters: dict[bytes | str, asyncio.Future[Any]] = {}
        self.next_id = 0
        # the server's first frame (causerie `hello`, engine.io open packet) can come
        # in the same read as the 101 response: its future exists from the start.
        self.first: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    # --- transport ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        ext = b""
        if self.deflate_offer:
            ext = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        transport.write(
            b"GET " + self.path.encode() + b" HTTP/1.1\r\n"
            b"Host: "
            + self.run.args.host.encode()
            + b":"
            + str(self.run.args.port).encode()
            + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + self.key + b"\r\nSec-WebSocket-Version: 13\r\n" + ext + b"\r\n"
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.run.closing:
            self.run.unexpected_closes += 1
        if not self.lost.done():
            self.lost.set_result(None)
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection lost during handshake: {exc}"))
        for fut in self.waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionError("connection lost"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self._handshake(bytes(buf[:end]))
            del buf[: end + 4]
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            hdr = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                hdr = 4
            elif length == 127:
                if n - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buf, pos + 2)
                hdr = 10
            if b1 & 0x80:
                raise ValueError("server frames must not be masked")
            if n - pos < hdr + length:
                break
            payload = bytes(buf[pos + hdr : pos + hdr + length])
            pos += hdr + length
            self._frame(b0, payload)
        if pos:
            del buf[:pos]
        self._flush_after_read()

    def _handshake(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        if b" 101 " not in lines[0] + b" ":
            self.ready.set_exception(ConnectionError(f"handshake refused: {lines[0]!r}"))
            return
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower()] = v.strip()
        accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest())  # noqa: S324
        if headers.get(b"sec-websocket-accept") != accept:
            self.ready.set_exception(ConnectionError("bad Sec-WebSocket-Accept"))
            return
        ext = headers.get(b"sec-websocket-extensions", b"")
        if ext:
            if not self.deflate_offer or not ext.startswith(b"permessage-deflate"):
                self.ready.set_exception(ConnectionError(f"unexpected extension {ext!r}"))
                return
            self.inflater = zlib.decompressobj(wbits=-15)
            self.reset_inflater = b"server_no_context_takeover" in ext
        self.handshaken = True
        self.ready.set_result(None)

    def _frame(self, b0: int, payload: bytes) -> None:
        opcode = b0 & 0x0F
        fin = b0 & 0x80
        if opcode == 0x1 or opcode == 0x2:
            if not fin:
                self.frag = [payload]
                self.frag_rsv1 = bool(b0 & 0x40)
                return
            if b0 & 0x40:
                payload = self._inflate(payload)
            self.on_text(payload)
        elif opcode == 0x0:
            assert self.frag is not None
            self.frag.append(payload)
            if fin:
                payload = b"".join(self.frag)
                self.frag = None
                if self.frag_rsv1:
                    payload = self._inflate(payload)
                self.on_text(payload)
        elif opcode == 0x9:  # ping
            self.out.append(self._encode(0x8A, payload))
        elif opcode == 0x8:  # close: answer and go
            if not self.run.closing:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.run.errors[f"closed_by_server_{code}"] += 1
            if self.transport is not None:
                self.transport.write(self._encode(0x88, payload[:2]))
                self.transport.close()

    def _inflate(self, payload: bytes) -> bytes:
        if self.reset_inflater:
            self.inflater = zlib.decompressobj(wbits=-15)
        return self.inflater.decompress(payload + b"\x00\x00\xff\xff")

    @staticmethod
    def _encode(b0: int, payload: bytes) -> bytes:
        n = len(payload)
        mask = random.randbytes(4)
        if n < 126:
            head = bytes((b0, 0x80 | n))
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0xFE, n)
        else:
            head = struct.pack("!BBQ", b0, 0xFF, n)
        return head + mask + apply_mask(payload, mask)

    def send_text(self, payload: bytes) -> None:
        self.out.append(self._encode(0x81, payload))

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.out))
        self.out.clear()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self._encode(0x88, struct.pack("!H", 1000)))
            self.transport.close()

    def _flush_after_read(self) -> None:
        if self.run.sending:
            self.pump()
            if self.partner is not None:
                self.partner.pump()
                self.partner.flush()
        self.flush()

    # --- waiting for a given event during setup -----------------------------
    def expect(self, key: bytes | str) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiters[key] = fut
        return fut

    def _wake(self, key: bytes | str, value: Any) -> None:
        fut = self.waiters.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(value)

    # --- messages -------------------------------------------------------------
    def acked(self) -> int:
        assert self.partner is not None
        if self.run.target == "causerie":
            return min(self.partner.recv_partner, self.confirmed)
        return self.partner.recv_partner

    def pump(self) -> None:
        """Top the window up (throughput mode)."""
        if self.partner is None:
            return
        room = self.run.window - (self.sent - self.acked())
        for _ in range(room):
            self.send_message(time.perf_counter_ns())

    def send_message(self, stamp_ns: int) -> None:
        run = self.run
        text = make_text(run.args.size, stamp_ns, self.sent)
        self.sent += 1
        if run.target == "causerie":
            self.next_id += 1
            self.send_text(
                b'{"type":"message","id":"m%d","text":"%s"}' % (self.next_id, text.encode())
            )
        elif run.target == "socketio":
            self.send_text(b'42["msg","' + text.encode() + b'"]')
        else:
            self.send_text(text.encode())

    def got_partner_message(self, text: str | bytes) -> None:
        run = self.run
        self.recv_partner += 1
        run.relayed_total += 1
        if run.measuring:
            run.relayed += 1
        head = text[:STAMP_CHARS]  # bytes from the raw relays, str from causerie
        digits = head.decode("ascii") if isinstance(head, bytes) else head
        stamp = int(digits.replace("k", "").replace(" ", ""))
        if run.lat_from <= stamp < run.lat_to:
            run.latencies.append(time.perf_counter_ns() - stamp)

    def on_text(self, payload: bytes) -> None:
        target = self.run.target
        if target == "websockets":
            self.got_partner_message(payload)
        elif target == "socketio":
            self.on_engineio(payload)
        else:
            self.on_causerie(payload)

    def on_engineio(self, payload: bytes) -> None:
        kind = payload[:1]
        if payload.startswith(b"42"):
            event = orjson.loads(payload[2:])
            if event[0] == "msg":
                self.got_partner_message(event[1])
        elif kind == b"2":  # engine.io ping -> pong
            self.send_text(b"3" + payload[1:])
        elif payload.startswith(b"40"):
            self._wake(b"40", payload)
        elif kind == b"0":
            if not self.first.done():
                self.first.set_result(payload)
        elif payload.startswith(b"44"):
            self.run.errors["socketio_connect_error"] += 1
        elif kind == b"1":
            self.run.errors["engineio_close"] += 1

    def on_causerie(self, payload: bytes) -> None:
        event = orjson.loads(payload)
        kind = event["type"]
        if kind == "message":
            seq = event["seq"]
            if seq != self.last_seq + 1:
                self.run.seq_errors += 1
            self.last_seq = seq
            if event["from"] == "partner":
                self.got_partner_message(event["text"])
            else:
                self.confirmed += 1
        elif kind == "error":
            self.run.errors[event.get("code", "?")] += 1
        elif kind == "hello":
            self.run.limits = event.get("limits")
            if not self.first.done():
                self.first.set_result(event)
        else:
            self._wake(kind, event)


# --- setup per target -----------------------------------------------------------


async def _open(run: Run, path: str) -> Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(
        lambda: Conn(run, path, run.args.deflate), run.args.host, run.args.port
    )
    await conn.ready
    return conn


async def setup_pair(run: Run, index: int, tag: str) -> tuple[Conn, Conn]:
    target = run.target
    if target == "causerie":
        a = await _open(run, "/ws/v1/chat")
        b = await _open(run, "/ws/v1/chat")
        await asyncio.gather(a.first, b.first)
        article = f"https://bench.example/a/{tag}/{index}"
        ma, mb = a.expect("matched"), b.expect("matched")
        a.send_text(orjson.dumps({"type": "join", "article": article}))
        a.flush()
        await a.expect("waiting")
        b.send_text(orjson.dumps({"type": "join", "article": article}))
        b.flush()
        await asyncio.gather(ma, mb)
    elif target == "socketio":
        path = "/socket.io/?EIO=4&transport=websocket"
        a = await _sio_connect(run, path)
        b = await _sio_connect(run, path)
    else:
        a = await _open(run, "/")
        b = await _open(run, "/")
    a.partner, b.partner = b, a
    return a, b


async def _sio_connect(run: Run, path: str) -> Conn:
    conn = await _open(run, path)
    await conn.first
    connected = conn.expect(b"40")
    conn.send_text(b"40")
    conn.flush()
    await connected
    return conn


async def check_pairing(pairs: list[tuple[Conn, Conn]]) -> None:
    """One probe message each way per pair; fails if the relay paired differently."""
    run = pairs[0][0].run
    for a, b in pairs:
        a.send_message(0)
        b.send_message(0)
        a.flush()
        b.flush()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(a.recv_partner >= 1 and b.recv_partner >= 1 for a, b in pairs):
            break
        await asyncio.sleep(0.01)
    else:
        bad = sum(1 for a, b in pairs if a.recv_partner < 1 or b.recv_partner < 1)
        raise RuntimeError(
            f"{bad} pairs did not exchange their probe messages (errors: {dict(run.errors)})"
        )
    # the probes are not part of the figures
    for a, b in pairs:
        for c in (a, b):
            c.recv_partner -= 1
            c.sent -= 1
            if run.target == "causerie":
                c.confirmed -= 1
    run.relayed_total = 0


# --- measurement -----------------------------------------------------------------------


def _cpu(pid: int | None) -> float | None:
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        import psutil

        ct = psutil.Process(pid).cpu_times()
        return ct.user + ct.system
    except Exception:
        return None


def _busy() -> float:
    """Seconds of CPU the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[int], p: float) -> float | None:
    if not values:
        return None
    values.sort()
    k = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return values[k] / 1e6  # ms


async def measure_throughput(run: Run, pairs: list[tuple[Conn, Conn]]) -> dict[str, Any]:
    args = run.args
    run.sending = True
    for a, b in pairs:
        a.pump()
        b.pump()
        a.flush()
        b.flush()
    await asyncio.sleep(args.warmup)
    cpu0, scpu0, t0, busy0 = _cpu(None), _cpu(args.server_pid), time.perf_counter(), _busy()
    run.relayed = 0
    run.lat_from, run.lat_to = time.perf_counter_ns(), 2**63
    run.measuring = True
    await asyncio.sleep(args.duration)
    run.measuring = False
    cpu1, scpu1, t1 = _cpu(None), _cpu(args.server_pid), time.perf_counter()
    busy = _busy() - busy0
    run.sending = False
    elapsed = t1 - t0
    result = {
        "relayed_per_s": round(run.relayed / elapsed, 1),
        "relayed": run.relayed,
        "seconds": round(elapsed, 3),
        "window": args.window,
        "latency_under_saturation_ms": {
            "p50": _pct(run.latencies, 50),
            "p99": _pct(run.latencies, 99),
        },
    }
    result.update(_cpu_report(cpu0, cpu1, scpu0, scpu1, elapsed, busy))
    return result


def _cpu_report(  # type: ignore[no-untyped-def]
    cpu0, cpu1, scpu0, scpu1, elapsed, busy
) -> dict[str, Any]:
    ours = cpu1 - cpu0
    out: dict[str, Any] = {"loadgen_cpu_pct": round(100 * ours / elapsed, 1)}
    if scpu0 is not None and scpu1 is not None:
        ours += scpu1 - scpu0
        out["server_cpu_pct"] = round(100 * (scpu1 - scpu0) / elapsed, 1)
    # CPU that other processes of the machine took meanwhile (a noisy neighbour
    # on the server's or the load generator's core makes the figure meaningless)
    out["foreign_cpu_pct"] = round(100 * max(0.0, busy - ours) / elapsed, 1)
    return out


async def measure_latency(run: Run, pairs: list[tuple[Conn, Conn]]) -> dict[str, Any]:
    args = run.args
    clients = [c for pair in pairs for c in pair]
    rate = args.rate
    total_s = args.warmup + args.duration
    t0 = time.perf_counter_ns()
    period = 1e9 / rate
    warm_ns = int(args.warmup * 1e9)
    run.lat_from = t0 + warm_ns
    run.lat_to = t0 + int(total_s * 1e9)
    j = 0
    n_total = int(total_s * rate)
    max_lag = 0
    cpu0 = scpu0 = None
    measured_sent = 0
    received_at_start = 0
    while j < n_total:
        now = time.perf_counter_ns()
        if cpu0 is None and now >= run.lat_from:
            cpu0, scpu0, tc0, busy0 = (
                _cpu(None),
                _cpu(args.server_pid),
                time.perf_counter(),
                _busy(),
            )
            received_at_start = run.relayed_total
        due = min(n_total, int((now - t0) / period) + 1)
        touched = set()
        while j < due:
            sched = t0 + int(j * period)
            c = clients[j % len(clients)]
            c.send_message(time.perf_counter_ns())
            touched.add(c)
            if sched >= run.lat_from:
                measured_sent += 1
                max_lag = max(max_lag, now - sched)
            j += 1
        for c in touched:
            c.flush()
        # the event loop's timers have millisecond resolution: tick at most every 1 ms
        # (a shorter sleep busy-loops and eats the load generator's core)
        next_at = t0 + int(j * period)
        await asyncio.sleep(max(0.001, (next_at - time.perf_counter_ns()) / 1e9))
    # let the last messages arrive (bounded)
    deadline = time.monotonic() + 5
    total_sent = sum(c.sent for c in clients)
    while run.relayed_total < total_sent and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    cpu1, scpu1, tc1 = _cpu(None), _cpu(args.server_pid), time.perf_counter()
    busy = _busy() - busy0
    elapsed = tc1 - tc0
    received = len(run.latencies)
    result: dict[str, Any] = {
        "offered_per_s": rate,
        "measured_sent": measured_sent,
        "measured_received": received,
        "lost_or_late": total_sent - run.relayed_total,
        "p50_ms": _pct(run.latencies, 50),
        "p90_ms": _pct(run.latencies, 90),
        "p99_ms": _pct(run.latencies, 99),
        "max_ms": _pct(run.latencies, 100),
        "max_pacer_lag_ms": round(max_lag / 1e6, 3),
        "received_per_s_in_window": round((run.relayed_total - received_at_start) / elapsed, 1),
    }
    result.update(_cpu_report(cpu0, cpu1, scpu0, scpu1, elapsed, busy))
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    run = Run(args)
    tag = f"{os.getpid()}-{int(time.time())}"
    pairs: list[tuple[Conn, Conn]] = []
    try:
        t_setup = time.perf_counter()
        if args.target == "causerie":
            # distinct articles: pairs can be set up concurrently, in batches
            for start in range(0, args.pairs, 50):
                batch = range(start, min(args.pairs, start + 50))
                pairs += await asyncio.wait_for(
                    asyncio.gather(*(setup_pair(run, i, tag) for i in batch)), 30
                )
        else:
            # arrival-order pairing on the relays: strictly one connection after the other
            for i in range(args.pairs):
                pairs.append(await asyncio.wait_for(setup_pair(run, i, tag), 10))
        await check_pairing(pairs)
        setup_s = time.perf_counter() - t_setup
        # no cyclic-GC pauses in the load generator while it measures (its garbage is
        # acyclic and freed by reference counting; the run is bounded)
        gc.collect()
        gc.freeze()
        gc.disable()
        if args.mode == "throughput":
            result = await measure_throughput(run, pairs)
        else:
            result = await measure_latency(run, pairs)
        result.update(
            {
                "target": args.target,
                "mode": args.mode,
                "pairs": args.pairs,
                "size": args.size,
                "setup_s": round(setup_s, 2),
                "errors": dict(run.errors),
                "seq_errors": run.seq_errors,
                "unexpected_closes": run.unexpected_closes,
                "deflate_offered": args.deflate,
            }
        )
        if run.limits is not None:
            result["server_limits"] = run.limits
        return result
    finally:
        run.closing = True
        run.sending = False
        for a, b in pairs:
            a.close()
            b.close()
        await asyncio.sleep(0.2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", choices=["causerie", "websockets", "socketio"], required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["throughput", "latency"], default="throughput")
    p.add_argument("--pairs", type=int, default=200)
    p.add_argument("--size", type=int, default=160, help="characters of text per message")
    p.add_argument("--window", type=int, default=8, help="messages in flight per reader")
    p.add_argument("--rate", type=float, default=5000, help="offered messages/s in total (latency)")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate like a browser")
    p.add_argument("--server-pid", type=int, default=None, help="report this process's CPU use")
    p.add_argument("--timeout", type=float, default=120.0, help="hard limit for the whole run")
    return p.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _raise_nofile()
    import uvloop

    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(main(args), args.timeout)

    try:
        result = uvloop.run(bounded())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(
            orjson.dumps({"target": args.target, "mode": args.mode, "failed": repr(exc)}).decode()
        )
        return 1
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(cli())
