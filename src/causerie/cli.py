"""The ``causerie`` command."""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
from pathlib import Path
from typing import Annotated

import structlog
import typer

from causerie import __version__
from causerie.settings import Settings

app = typer.Typer(help="causerie: anonymous 1:1 reader chat for news sites.", no_args_is_help=True)
moderation_app = typer.Typer(help="Moderation policy tools.", no_args_is_help=True)
app.add_typer(moderation_app, name="moderation")


class _PrivacyFilter(logging.Filter):
    """Drop the server library's per-connection lines, at every log level.

    uvicorn logs each WebSocket with the reader's IP address in clear, and the
    `websockets` protocol logs every frame, chat text included, at DEBUG
    (its lines start with "< ", "> ", "= ", "! ", "x ", "% ").
    """

    _FRAME_PREFIXES = ("< ", "> ", "= ", "! ", "x ", "% ", "%% ")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (
            message.startswith('%s - "WebSocket')
            or message.startswith(self._FRAME_PREFIXES)
            or message in ("connection open", "connection closed")
        )


def _raise_open_files_limit() -> None:
    """One socket per reader: allow as many as the hard limit permits."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(message)s")
    if level.lower() != "debug":  # Alembic announces each of its plugins at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            # Never the local variables of a traceback: they hold readers' texts.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(),
        ],
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (0: any free port).")] = None,
) -> None:
    """Start the server (embedded default: one process, in-memory broker)."""
    import uvicorn

    from causerie.web.app import create_app
    from causerie.web.wsprotocol import ChatWebSocketProtocol

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _configure_logging(settings.log_level)
    _prepare_database(settings)
    sockets = _listen(settings.host, settings.port)
    # With --port 0 the system chose: the app must know the real port (demo origins, CORS).
    settings = settings.model_copy(update={"port": sockets[0].getsockname()[1]})
    typer.echo(f"causerie {__version__} — http://{settings.host}:{settings.port}/")
    _raise_open_files_limit()
    application = create_app(settings)
    # Everything built so far (the compiled moderation lists above all) lives as long as
    # the process: out of the collector's sight, and collections rarer, so that a full
    # collection no longer stalls the chat (p99 at 5,000 msg/s: 130 ms -> 9-18 ms with
    # chat moderation on; bench/README.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        http="httptools",
        loop="uvloop",
        ws=ChatWebSocketProtocol,  # websockets-sansio, one write per loop turn
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,  # see bench/README.md: costs CPU and memory, saves little
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
        logging.getLogger(name).addFilter(_PrivacyFilter())
    uvicorn.Server(config).run(sockets=sockets)


def _listen(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for ``host``; loopback means both 127.0.0.1 and [::1].

    Browsers resolve ``localhost`` (the demo's widget origin) to ::1 first.
    """
    sockets = [_bind(socket.AF_INET6 if ":" in host else socket.AF_INET, host, port)]
    port = sockets[0].getsockname()[1]
    if host == "127.0.0.1" and socket.has_ipv6:
        # No IPv6 loopback here, or the port is taken there: IPv4 only.
        with contextlib.suppress(OSError):
            sockets.append(_bind(socket.AF_INET6, "::1", port))
    return sockets


def _bind(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _prepare_database(settings: Settings) -> None:
    """SQLite (embedded default): migrate on start. PostgreSQL: refuse an old schema."""
    from causerie.store.database import database_url, is_sqlite
    from causerie.store.migrate import current_revision, head_revision, upgrade

    url = database_url(settings.database_url, settings.data_dir)
    if is_sqlite(url):
        upgrade(url)
        return
    current, head = current_revision(url), head_revision()
    if current != head:
        typer.echo(
            f"The database schema is at {current or 'nothing'}, this causerie needs {head}: "
            "run `causerie migrate` first.",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (CAUSERIE_DATABASE_URL, or the SQLite default)."""
    from causerie.store.database import database_url
    from causerie.store.migrate import current_revision, upgrade

    settings = Settings()
    url = database_url(settings.database_url, settings.data_dir)
    upgrade(url)
    typer.echo(f"schema at revision {current_revision(url)}")


@moderation_app.command("check")
def moderation_check(
    file: Annotated[Path, typer.Argument(help="TSV file: a header, then label<TAB>lang<TAB>text.")],
    json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    context: Annotated[
        str, typer.Option(help="Which actions to apply: chat or comment.")
    ] = "comment",
    errors: Annotated[
        bool, typer.Option("--errors", help="Also list the misclassified lines.")
    ] = False,
) -> None:
    """Score the live policy (the server's, with its settings) on a labelled file.

    Exit 2 on unreadable or malformed input, naming the line.
    """
    import dataclasses

    import orjson

    from causerie.core.moderation import Context, EvalFormatError, Policy, evaluate, parse_eval
    from causerie.moderation_data import (
        load_classifier,
        load_config,
        load_lexicon,
        publisher_dir,
    )

    if context not in ("chat", "comment"):
        typer.echo(f"--context must be chat or comment, not {context!r}", err=True)
        raise typer.Exit(2)
    try:
        rows = parse_eval(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read: {exc}", err=True)
        raise typer.Exit(2) from exc
    except EvalFormatError as exc:
        typer.echo(f"{file}:{exc.line}: {str(exc).split(': ', 1)[1]}", err=True)
        raise typer.Exit(2) from exc
    settings = Settings()
    folder = publisher_dir(settings)
    # Pre-moderation holds every comment whatever it says: score what the rules decide.
    config = dataclasses.replace(load_config(settings, folder), premoderation=False)
    policy = Policy(config, load_lexicon(folder), load_classifier(settings.classifier))
    result = evaluate(policy, rows, Context(context))
    if json:
        typer.echo(orjson.dumps(result.as_json()).decode())
        return
    typer.echo(f"{len(rows)} messages, context {context}")
    for label in ("toxic", "spam"):
        typer.echo(
            f"{label:6} precision {result.precision(label):.3f}  recall {result.recall(label):.3f}"
            f"  ({result.support(label)} messages)"
        )
    typer.echo(
        f"ok     false positive rate {result.false_positive_rate:.3f}"
        f"  ({result.support('ok')} messages)"
    )
    if errors:
        for outcome in result.errors():
            terms = ", ".join(f"{f.category}:{f.term}" for f in outcome.verdict.findings)
            typer.echo(
                f"line {outcome.row.line}: {outcome.row.label} -> {outcome.predicted}"
                f" [{terms}] {outcome.row.text}"
            )


# --- moderators of the dashboard (/admin) --------------------------------------------

moderator_app = typer.Typer(help="Moderators of the dashboard (/admin).", no_args_is_help=True)
app.add_typer(moderator_app, name="moderator")

_PASSWORD_STDIN = typer.Option(
    "--password-stdin", help="Read the password from one line of standard input (scripts)."
)


def _read_new_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice with hidden input. Exit 1 if weak."""
    from causerie.web.admin import check_password

    if from_stdin:
        password = typer.get_text_stream("stdin").readline().removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password(password)
    except ValueError as exc:
        typer.echo(f"Refused: {exc}.", err=True)
        raise typer.Exit(1) from exc


@moderator_app.command("add")
def moderator_add(
    name: Annotated[str, typer.Argument(help="1 to 40 letters, digits or . @ + - _")],
    password_stdin: Annotated[bool, _PASSWORD_STDIN] = False,
) -> None:
    """Create a moderator of the dashboard.

    The password is asked twice (hidden), or read from one line of stdin. Exit 1 if
    the name is taken or invalid, or the password shorter than 10 characters.
    """
    import asyncio
    import time

    from argon2 import PasswordHasher

    from causerie.store.database import Database, database_url
    from causerie.store.safety import ModeratorExists, SafetyStore
    from causerie.web.admin import check_moderator_name

    try:
        name = check_moderator_name(name)
    except ValueError as exc:
        typer.echo(f"Refused: {exc}.", err=True)
        raise typer.Exit(1) from exc
    settings = Settings()
    _prepare_database(settings)
    url = database_url(settings.database_url, settings.data_dir)

    async def taken() -> bool:
        database = Database(url)
        try:
            return await SafetyStore(database).moderator_by_name(name) is not None
        finally:
            await database.close()

    if asyncio.run(taken()):  # say it before asking for a password
        typer.echo(f"A moderator named {name!r} already exists: nothing changed.", err=True)
        raise typer.Exit(1)
    password_hash = PasswordHasher().hash(_read_new_password(password_stdin))

    async def add() -> None:
        database = Database(url)
        safety = SafetyStore(database)
        try:
            now = time.time_ns() // 1000
            await safety.add_moderator(name, password_hash, now)
            await safety.audit(None, "moderator.add", f"moderator:{name}", "cli", now)
        finally:
            await database.close()

    try:
        asyncio.run(add())
    except ModeratorExists as exc:
        typer.echo(f"A moderator named {name!r} already exists: nothing changed.", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"moderator {name} added")


@moderator_app.command("passwd")
def moderator_passwd(
    name: Annotated[str, typer.Argument(help="The moderator's name.")],
    password_stdin: Annotated[bool, _PASSWORD_STDIN] = False,
) -> None:
    """Set a moderator's password and end their sessions.

    Exit 1 if there is no such moderator or the password is shorter than 10 characters.
    """
    import asyncio
    import time

    from argon2 import PasswordHasher

    from causerie.store.database import Database, database_url
    from causerie.store.safety import SafetyStore

    settings = Settings()
    _prepare_database(settings)
    password_hash = PasswordHasher().hash(_read_new_password(password_stdin))

    async def change() -> bool:
        database = Database(database_url(settings.database_url, settings.data_dir))
        safety = SafetyStore(database)
        try:
            moderator = await safety.moderator_by_name(name.strip())
            if moderator is None:
                return False
            await safety.set_password(moderator.id, password_hash)
            await safety.delete_sessions_of(moderator.id)
            now = time.time_ns() // 1000
            await safety.audit(None, "moderator.passwd", f"moderator:{moderator.name}", "cli", now)
            return True
        finally:
            await database.close()

    if not asyncio.run(change()):
        typer.echo(f"No moderator named {name!r}: nothing changed.", err=True)
        raise typer.Exit(1)
    typer.echo(f"password of {name} changed; their sessions are closed")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
