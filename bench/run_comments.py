"""Comments benchmark, causerie vs Isso side by side in one run.

    .venv/bin/python bench/run_comments.py            # full figures (about 10 minutes)
    .venv/bin/python bench/run_comments.py --quick    # 1 round, short runs (about 3 minutes)
    .venv/bin/python bench/run_comments.py --table-from bench/results/comments-latest.json

1. makes sure bench/.venvs/isso holds Isso 0.14.0 and gunicorn (bench/isso_env.py);
2. starts both servers on loopback, pinned to core 0, each with a fresh SQLite
   database: causerie with its real command (bench/servers.py,
   ``CAUSERIE_SITE_ORIGINS`` = the bench's site origin), Isso with gunicorn,
   one sync worker, the config bench/isso_env.py writes;
3. seeds both with the same data and checks what each returns
   (bench/comments_bench.py ``seed`` and ``check``, on core 1);
4. ``--rounds`` times, for each scenario (read-page, read-full, counts, write),
   runs the load generator against causerie then Isso (the order alternates
   from round to round), on core 1, after waiting for the machine to be quiet;
   medians over the rounds are reported.

Prints a table, writes bench/results/comments-latest.json (gitignored). The
servers and every child process are stopped at the end, on errors and on
Ctrl-C too.
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

import isso_env  # noqa: E402
from comments_bench import SCENARIOS, SITE, _busy  # noqa: E402
from servers import PYTHON, Server, fmt, pinned, run_json  # noqa: E402

RESULTS = BENCH / "results"
KINDS = ("causerie", "isso")
PACKAGES = ("uvicorn", "starlette", "httptools", "uvloop", "orjson", "pydantic", "psutil")
WHAT = {
    "read-page": "read the 2,000-comment thread as the embed does on page load",
    "read-full": "read the whole 2,000-comment thread",
    "counts": "counts of 100 URLs, one request",
    "write": "post a new top-level comment",
}
UNIT = {
    "read-page": ("causerie: first page, 20 top-level + their replies (default limit); "
                  "Isso: its client's default, all 1,800 top-level + up to 5 replies each"),
    "read-full": "causerie: 18 pages of limit=100 following next; Isso: one request",
    "counts": "causerie: GET /api/v1/counts?url=...x100; Isso: POST /count [100 URIs]",
    "write": "causerie: POST /api/v1/comments; Isso: POST /new",
}  # fmt: skip
TARGETS = {"read-page": 3.0, "read-full": 3.0, "counts": None, "write": 1.0}


def bench_cmd(command: str, kind: str, server: Server, *extra: str) -> list[str]:
    cmd = [PYTHON, str(BENCH / "comments_bench.py"), command, "--target", kind,
           "--port", str(server.port), *extra]  # fmt: skip
    return pinned(cmd, 1)


def wait_quiet(limit: float = 0.15, patience: float = 60.0) -> float:
    """Wait (at most ``patience`` s) until the machine's other work uses < ``limit`` of a core.

    Both servers are idle between runs, so what is busy is someone else.
    Returns the seconds waited.
    """
    t0 = time.monotonic()
    while time.monotonic() - t0 < patience:
        b0 = _busy()
        time.sleep(1.0)
        if _busy() - b0 < limit:
            break
    return round(time.monotonic() - t0, 1)


def _sqlite_version(python: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(
            [python, "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.strip()  # fmt: skip
    return ""


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    versions = {}
    for name in ("causerie", *PACKAGES):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    mem_total = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = int(line.split()[1]) // 1024
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(BENCH.parent), "log", "-1", "--format=%h %s"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mib": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "isso_venv": isso_env.installed_versions(),
        "sqlite": {
            "causerie": _sqlite_version(PYTHON),
            "isso": _sqlite_version(str(isso_env.PYTHON)),
        },
        "head_commit": commit,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if "failed" not in r and r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(report: dict[str, Any]) -> None:
    for kind in report["kinds"]:
        for res in report["results"][kind].values():
            runs = res["runs"]
            res["median"] = {
                key: _median(runs, key)
                for key in ("units_per_s", "requests_per_s", "p50_ms", "p99_ms",
                            "server_cpu_pct", "loadgen_cpu_pct", "foreign_cpu_pct")
            }  # fmt: skip
            per_cpu = [
                r["units_per_s"] / (r["server_cpu_pct"] / 100)
                for r in runs
                if "failed" not in r and r.get("server_cpu_pct")
            ]
            res["median"]["units_per_server_cpu_s"] = (
                statistics.median(per_cpu) if per_cpu else None
            )


def _rate(u: float | None) -> str:
    return fmt(u, ",.1f" if u is not None and u < 100 else ",.0f")


def table(report: dict[str, Any]) -> str:
    """Medians over the rounds. A unit is one request, except causerie's read-full
    (a whole thread: 18 requests, their rate in parentheses)."""
    res = report["results"]
    head = (
        "| scenario | causerie units/s | per server CPU-s | p50 / p99 ms "
        "| Isso units/s | per server CPU-s | p50 / p99 ms "
        "| causerie / Isso (per CPU-s) | target |"
    )
    lines = [head, "|" + "---|" * 9]
    for scenario in report["scenarios"]:
        cells = []
        rates: dict[str, float | None] = {}
        cpu_rates: dict[str, float | None] = {}
        for kind in KINDS:
            m = res.get(kind, {}).get(scenario, {}).get("median", {})
            u, r = m.get("units_per_s"), m.get("requests_per_s")
            rates[kind], cpu_rates[kind] = u, m.get("units_per_server_cpu_s")
            rate = _rate(u)
            if u is not None and r is not None and abs(r - u) > 0.05 * u:
                rate += f" ({r:,.0f} req/s)"
            cells += [
                rate,
                _rate(cpu_rates[kind]),
                f"{fmt(m.get('p50_ms'), ',.0f')} / {fmt(m.get('p99_ms'), ',.0f')}",
            ]

        def ratio(d: dict[str, float | None]) -> float | None:
            a, b = d.get("causerie"), d.get("isso")
            return a / b if a and b else None

        raw, per_cpu = ratio(rates), ratio(cpu_rates)
        goal = TARGETS.get(scenario)
        target = (
            "—"
            if goal is None
            else f"≥ {goal:g}x: "
            + ("—" if raw is None else ("met" if raw >= goal else "**missed**"))
        )
        lines.append(
            f"| {scenario} | "
            + " | ".join(cells)
            + f" | {fmt(raw, ',.1f')}x ({fmt(per_cpu, ',.1f')}x) | {target} |"
        )
    notes = report.get("warnings", [])
    if notes:
        lines.append("")
        lines += [f"warning: {note}" for note in notes]
    return "\n".join(lines)


def _check(kind: str, what: str, r: dict[str, Any], warnings: list[str]) -> None:
    if "failed" in r:
        warnings.append(f"{kind} {what}: FAILED {r['failed']}")
        return
    if r.get("errors"):
        warnings.append(f"{kind} {what}: {r['errors']} errors {r.get('error_samples')}")
    if r.get("undrained"):
        warnings.append(f"{kind} {what}: {r['undrained']} units still in flight after the drain")
    if r.get("loadgen_cpu_pct", 0) > 90:
        warnings.append(f"{kind} {what}: load generator at {r['loadgen_cpu_pct']} % CPU")
    if r.get("foreign_cpu_pct", 0) > 15:
        warnings.append(
            f"{kind} {what}: other processes took {r['foreign_cpu_pct']} % of a core meanwhile"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 round, 1 s warm-up, 4 s runs")
    p.add_argument("--rounds", type=int, default=None, help="default 3 (quick: 1)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--warmup", type=float, default=None, help="default 2 s (quick: 1)")
    p.add_argument("--duration", type=float, default=None, help="default 8 s (quick: 4)")
    p.add_argument("--min-units", type=int, default=None, help="default 20 (quick: 8)")
    p.add_argument("--max-duration", type=float, default=40.0)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--output", type=Path, default=RESULTS / "comments-latest.json")
    p.add_argument("--table-from", type=Path, help="only print the table of a saved run")
    args = p.parse_args(argv)
    if args.table_from:
        print(table(json.loads(args.table_from.read_text())))
        return 0
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.duration = args.duration if args.duration is not None else (4.0 if args.quick else 8.0)
    args.min_units = args.min_units if args.min_units is not None else (8 if args.quick else 20)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios {unknown}")

    started = time.time()

    def say(msg: str) -> None:
        print(f"[{time.time() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    say("Isso venv (bench/.venvs/isso)")
    isso_env.ensure_venv()
    report: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "bench/run_comments.py", *(argv or sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": machine(),
        "loadavg_at_start": os.getloadavg(),
        "settings": {
            "rounds": args.rounds,
            "connections": args.connections,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "min_units": args.min_units,
            "max_duration_s": args.max_duration,
            "server_core": 0,
            "client_core": 1,
            "site": SITE,
            "isso_deployment": "gunicorn -w 1 (sync worker) --preload isso.run",
        },
        "scenarios": scenarios,
        "units": UNIT,
        "kinds": list(KINDS),
        "seed": {},
        "check": {},
        "results": {kind: {s: {"runs": []} for s in scenarios} for kind in KINDS},
        "warnings": [],
    }
    warnings: list[str] = report["warnings"]
    try:
        with contextlib.ExitStack() as stack:
            servers = {
                "causerie": stack.enter_context(
                    Server("causerie", env={"CAUSERIE_SITE_ORIGINS": SITE})
                ),
                "isso": stack.enter_context(Server("isso", site=SITE)),
            }
            for kind, server in servers.items():
                say(f"seed {kind} (port {server.port})")
                seeded = run_json(bench_cmd("seed", kind, server), timeout=400)
                seeded.pop("expected_counts", None)
                report["seed"][kind] = seeded
                if "failed" in seeded:
                    raise RuntimeError(f"seeding {kind}: {seeded['failed']}\n{server.log_tail()}")
                say(f"  -> {seeded}")
                checked = run_json(bench_cmd("check", kind, server), timeout=120)
                report["check"][kind] = checked
                if "failed" in checked:
                    raise RuntimeError(f"check {kind}: {checked['failed']}\n{server.log_tail()}")
                say(f"  -> {checked}")
            for rnd in range(args.rounds):
                order = list(KINDS) if rnd % 2 == 0 else list(reversed(KINDS))
                for scenario in scenarios:
                    for kind in order:
                        server = servers[kind]
                        waited = wait_quiet()
                        say(f"{scenario} {kind} (round {rnd + 1}/{args.rounds})")
                        cmd = bench_cmd(
                            "load", kind, server,
                            "--scenario", scenario, "--connections", str(args.connections),
                            "--warmup", str(args.warmup), "--duration", str(args.duration),
                            "--min-units", str(args.min_units),
                            "--max-duration", str(args.max_duration),
                            "--server-pid", str(server.pid), "--timeout", "200",
                        )  # fmt: skip
                        r = run_json(cmd, timeout=240)
                        r["waited_for_quiet_s"] = waited
                        _check(kind, f"{scenario} round {rnd + 1}", r, warnings)
                        report["results"][kind][scenario]["runs"].append(r)
                        say(
                            f"  -> {r.get('units_per_s')} units/s ({r.get('requests_per_s')} "
                            f"req/s), p50 {r.get('p50_ms')} ms, p99 {r.get('p99_ms')} ms, "
                            f"server {r.get('server_cpu_pct')} %, client "
                            f"{r.get('loadgen_cpu_pct')} %, others {r.get('foreign_cpu_pct')} %"
                        )
    except KeyboardInterrupt:
        warnings.append("interrupted")
        say("interrupted: partial results")
    except RuntimeError as exc:
        warnings.append(f"aborted: {exc}")
        say(f"aborted: {exc}")
    summarize(report)
    report["elapsed_s"] = round(time.time() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\n(results: {args.output}, {report['elapsed_s']} s)")
    return 1 if any(w.startswith("aborted") for w in warnings) else 0


if __name__ == "__main__":
    sys.exit(main())
