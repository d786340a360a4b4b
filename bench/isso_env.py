"""Isso, the reference of the comments benchmark, in its own virtual environment.

    python3 bench/isso_env.py            # create/refresh bench/.venvs/isso (idempotent)
    python3 bench/isso_env.py --check    # print the installed versions, install nothing

- ``ensure_venv()``: ``bench/.venvs/isso`` (gitignored) made with the system
  ``python3 -m venv``, then ``pip install isso==0.14.0 gunicorn==27.0.1``
  from PyPI. Nothing goes into the project venv. A second call with the
  pinned versions already present does nothing.
- ``write_config(directory, site)``: an ``isso.cfg`` with the SQLite database
  in ``directory``, ``host = site`` (the articles' origin), moderation off
  (Isso's default), and the ``[guard]`` **disabled**: with it on, Isso allows
  2 new comments per minute per client address and 3 top-level comments per
  address and thread, so both the seeding and the write benchmark would be
  refused with 403 after a handful of posts. Everything else is Isso's
  default (notably ``[hash] algorithm = pbkdf2`` for the commenter
  identicons, and ``notify = stdout``).
- ``command(config, port)``: the production deployment Isso documents
  (docs "Deployment", gunicorn): ``ISSO_SETTINGS=isso.cfg gunicorn -b
  HOST:PORT -w N --preload isso.run``, here with **one** worker (``-w 1``,
  gunicorn's default *sync* worker) so that Isso gets one process, like
  causerie. gunicorn's master is a supervisor that serves no request.

Isso checks at start-up that it can reach ``host`` with one ``HEAD /``
(only a warning if not). The bench's site origin is a loopback address
where nothing listens, so that request is refused at once and never leaves
the machine; the benchmark passes a ``title`` with every new comment, so
Isso never fetches the article page to create a thread either.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venvs" / "isso"
PYTHON = VENV / "bin" / "python"
GUNICORN = VENV / "bin" / "gunicorn"
PINS = {"isso": "0.14.0", "gunicorn": "27.0.1"}


def installed_versions() -> dict[str, str]:
    """The pinned packages' versions in the Isso venv ({} if there is none)."""
    if not PYTHON.exists():
        return {}
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    names = [*PINS, "werkzeug", "mistune", "bleach"]
    proc = subprocess.run(
        [str(PYTHON), "-c", code, *names], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        return {}
    result: dict[str, str] = json.loads(proc.stdout)
    return result


def ensure_venv(quiet: bool = True) -> dict[str, str]:
    """Create or complete bench/.venvs/isso; return the installed versions."""
    versions = installed_versions()
    if all(versions.get(name) == pin for name, pin in PINS.items()):
        return versions
    if not PYTHON.exists():
        VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True, timeout=300)
    cmd = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        cmd.append("-q")
    cmd += [f"{name}=={pin}" for name, pin in PINS.items()]
    subprocess.run(cmd, check=True, timeout=600)
    versions = installed_versions()
    missing = [name for name, pin in PINS.items() if versions.get(name) != pin]
    if missing:
        raise RuntimeError(f"Isso venv incomplete after pip install: {missing} ({versions})")
    return versions


CONFIG = """\
# Written by bench/isso_env.py for the comments benchmark.
[general]
dbpath = {dbpath}
host = {site}
max-age = 15m
notify = stdout
reply-notifications = false
gravatar = false
latest-enabled = false

[admin]
enabled = false

[moderation]
enabled = false

[server]
listen = http://127.0.0.1:{port}
reload = false
profile = false

[guard]
# Off: with the guard on, Isso allows 2 new comments per minute per client
# address (ratelimit) and 3 top-level comments per address and thread
# (direct-reply); the seeding and the write benchmark come from one address.
enabled = false
require-author = false
require-email = false
"""


def write_config(directory: Path, site: str, port: int) -> Path:
    """Write ``directory/isso.cfg`` (database ``directory/comments.db``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "isso.cfg"
    path.write_text(CONFIG.format(dbpath=directory / "comments.db", site=site, port=port))
    return path


def command(config: Path, port: int, workers: int = 1) -> list[str]:
    """gunicorn serving isso.run (needs ISSO_SETTINGS=config in the environment)."""
    del config  # passed through ISSO_SETTINGS, as Isso's deployment docs do
    return [
        str(GUNICORN), "-b", f"127.0.0.1:{port}", "-w", str(workers), "--preload",
        "--log-level", "warning", "isso.run",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only print the installed versions")
    args = p.parse_args(argv)
    versions = installed_versions() if args.check else ensure_venv(quiet=False)
    print(json.dumps({"venv": str(VENV), "versions": versions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
