"""Everything side by side in one run: causerie vs the two reference relays.

    .venv/bin/python bench/run_all.py            # full figures (about 7 minutes)
    .venv/bin/python bench/run_all.py --quick    # short durations, 1,000 sockets (about 2 minutes)

For each server kind (bench/servers.py), on this machine's two cores
(server on core 0, clients on core 1):

1. throughput: bench/loadgen.py --mode throughput, ``--rounds`` times, the
   kinds interleaved round by round (so a drift of the machine hits all of
   them alike), fresh server each time; the median is reported;
2. latency at a fixed offered load: bench/loadgen.py --mode latency
   (``--rate`` messages/s in total), on a fresh server;
3. memory: bench/memory.py, idle readers (and, for causerie, readers waiting
   in a queue), on a fresh server each.

Prints a table, writes bench/results/latest.json (gitignored). Every child
process is stopped at the end, on errors and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from servers import PYTHON, Server, fmt, pinned, protocol_of, run_json  # noqa: E402

RESULTS = BENCH / "results"
PACKAGES = (
    "websockets", "python-socketio", "python-engineio", "uvicorn", "uvloop", "httptools",
    "starlette", "aiohttp", "orjson", "psutil",
)  # fmt: skip


def loadgen(server: Server, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        PYTHON, str(BENCH / "loadgen.py"),
        "--target", protocol_of(server.kind), "--port", str(server.port),
        "--mode", mode, "--pairs", str(args.pairs), "--size", str(args.size),
        "--window", str(args.window), "--rate", str(args.rate),
        "--warmup", str(args.warmup), "--duration", str(args.duration),
        "--server-pid", str(server.pid), "--timeout", str(args.warmup + args.duration + 60),
    ]  # fmt: skip
    return run_json(pinned(cmd, 1), timeout=args.warmup + args.duration + 90)


def memory(kind: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        PYTHON, str(BENCH / "memory.py"), "--kind", kind, "--variant", variant,
        "--connections", str(args.connections),
    ]  # fmt: skip
    return run_json(cmd, timeout=300)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    versions = {}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    mem_total = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = int(line.split()[1]) // 1024
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mib": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
    }


def per_cpu_second(runs: list[dict[str, Any]]) -> float | None:
    """Median of relayed messages per second of server CPU over the throughput runs.

    With the server saturated this equals the throughput; when another process
    steals part of the server's core it stays right, where msg/s drops.
    """
    values = [
        r["relayed_per_s"] / (r["server_cpu_pct"] / 100)
        for r in runs
        if "failed" not in r and r.get("server_cpu_pct")
    ]
    return statistics.median(values) if values else None


def table(report: dict[str, Any]) -> str:
    kinds = report["kinds"]
    rows = report["results"]
    for r in rows.values():
        r["per_cpu_second_median"] = per_cpu_second(r.get("throughput_runs", []))
    ref = rows.get("websockets", {}).get("per_cpu_second_median")
    sio = rows.get("socketio", {}).get("per_cpu_second_median")
    rate = report["settings"]["rate"]
    head = (
        "| server | relayed msg/s (median) | relayed msg per server CPU-s | x websockets "
        f"| x socketio | p50 / p99 ms at {rate:g} msg/s "
        "| server CPU at that load | KiB per idle reader | KiB per waiting reader |"
    )
    lines = [head, "|" + "---|" * 9]
    for kind in kinds:
        r = rows.get(kind, {})
        tput = r.get("per_cpu_second_median")
        lat = r.get("latency", {})
        lines.append(
            "| {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |".format(
                kind,
                fmt(r.get("throughput_median"), ",.0f"),
                fmt(tput, ",.0f"),
                fmt(tput / ref if tput and ref else None, ".2f"),
                fmt(tput / sio if tput and sio else None, ".1f"),
                fmt(lat.get("p50_ms"), ".2f"),
                fmt(lat.get("p99_ms"), ".2f"),
                fmt(lat.get("server_cpu_pct"), ".0f") + (" %" if lat.get("server_cpu_pct") else ""),
                fmt(r.get("memory_idle", {}).get("kib_per_connection"), ".1f"),
                fmt(r.get("memory_join", {}).get("kib_per_connection"), ".1f"),
            )
        )
    notes = report.get("warnings", [])
    if notes:
        lines.append("")
        lines += [f"warning: {note}" for note in notes]
    return "\n".join(lines)


def _check(kind: str, what: str, result: dict[str, Any], warnings: list[str]) -> None:
    if "failed" in result:
        warnings.append(f"{kind} {what}: FAILED {result['failed']}")
        return
    for key in ("errors", "seq_errors", "unexpected_closes", "warning"):
        value = result.get(key)
        if value:
            warnings.append(f"{kind} {what}: {key} = {value}")
    if result.get("loadgen_cpu_pct", 0) > 90:
        warnings.append(
            f"{kind} {what}: load generator at {result['loadgen_cpu_pct']} % CPU, "
            "it may be the bottleneck"
        )
    if result.get("foreign_cpu_pct", 0) > 15:
        warnings.append(
            f"{kind} {what}: other processes took {result['foreign_cpu_pct']} % of a core "
            "meanwhile: figure disturbed"
        )
    lost = result.get("lost_or_late")
    if lost:
        warnings.append(f"{kind} {what}: {lost} messages not received 5 s after the end")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short durations, 1,000 sockets")
    p.add_argument(
        "--kinds",
        default="websockets,socketio,causerie",
        help="comma-separated, among: websockets, websockets-asyncio, socketio, "
        "socketio-aiohttp, causerie",
    )
    p.add_argument("--extras", action="store_true", help="add websockets-asyncio, socketio-aiohttp")
    p.add_argument("--pairs", type=int, default=200)
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--rounds", type=int, default=None, help="throughput rounds (full: 3)")
    p.add_argument("--warmup", type=float, default=None)
    p.add_argument("--duration", type=float, default=None)
    p.add_argument("--connections", type=int, default=None)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    p.add_argument("--table-from", type=Path, help="only print the table of a saved run")
    args = p.parse_args(argv)
    if args.table_from:
        print(table(json.loads(args.table_from.read_text())))
        return 0
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    args.duration = args.duration if args.duration is not None else (3.0 if args.quick else 10.0)
    args.connections = args.connections or (1000 if args.quick else 5000)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if args.extras:
        kinds += [k for k in ("websockets-asyncio", "socketio-aiohttp") if k not in kinds]

    started = time.time()
    report: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "bench/run_all.py", *(argv or sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": machine(),
        "loadavg_at_start": os.getloadavg(),
        "settings": {
            "pairs": args.pairs,
            "size": args.size,
            "window": args.window,
            "rate": args.rate,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "connections": args.connections,
            "server_core": 0,
            "client_core": 1,
        },
        "kinds": kinds,
        "results": {kind: {"throughput_runs": []} for kind in kinds},
        "warnings": [],
    }
    results = report["results"]
    warnings: list[str] = report["warnings"]

    def say(msg: str) -> None:
        print(f"[{time.time() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    try:
        for rnd in range(args.rounds):
            for kind in kinds:
                say(f"throughput {kind} (round {rnd + 1}/{args.rounds})")
                try:
                    with Server(kind) as server:
                        r = loadgen(server, "throughput", args)
                except RuntimeError as exc:
                    r = {"failed": str(exc)}
                _check(kind, "throughput", r, warnings)
                results[kind]["throughput_runs"].append(r)
                say(
                    f"  -> {r.get('relayed_per_s')} msg/s, server {r.get('server_cpu_pct')} % "
                    f"CPU, load generator {r.get('loadgen_cpu_pct')} % CPU, "
                    f"others {r.get('foreign_cpu_pct')} %"
                )
        for kind in kinds:
            runs = [
                r["relayed_per_s"] for r in results[kind]["throughput_runs"] if "failed" not in r
            ]
            results[kind]["throughput_median"] = statistics.median(runs) if runs else None
        for kind in kinds:
            say(f"latency {kind} at {args.rate:g} msg/s")
            try:
                with Server(kind) as server:
                    r = loadgen(server, "latency", args)
            except RuntimeError as exc:
                r = {"failed": str(exc)}
            _check(kind, "latency", r, warnings)
            results[kind]["latency"] = r
            say(f"  -> p50 {r.get('p50_ms')} ms, p99 {r.get('p99_ms')} ms")
        if not args.no_memory:
            for kind in kinds:
                variants = ["idle", "join"] if kind == "causerie" else ["idle"]
                for variant in variants:
                    say(f"memory {kind} {variant} x {args.connections}")
                    r = memory(kind, variant, args)
                    _check(kind, f"memory {variant}", r, warnings)
                    results[kind][f"memory_{variant}"] = r
                    say(f"  -> {r.get('kib_per_connection')} KiB per connection")
    except KeyboardInterrupt:
        warnings.append("interrupted")
        say("interrupted: partial results")
    report["elapsed_s"] = round(time.time() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\n(results: {args.output}, {report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
