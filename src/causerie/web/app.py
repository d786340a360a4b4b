"""The app factory: settings in, an ASGI app out (FastAPI, the chat socket beside it).

Routes::

    GET  /                       demo article (when settings.demo)
    GET  /articles/{path}        the same demo article, at its canonical URL
    GET  /widget/v1/chat         the chat page loaded in the iframe (strict CSP)
    GET  /widget/{file}          widget ES modules and styles
    WS   /ws/v1/chat             the chat socket (docs/protocol.md)
    GET  /healthz                liveness
    *    /api/v1/...             comments API (docs/api.md), OpenAPI at /api/v1/openapi.json,
                                 a human page at /api/v1/docs
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import secrets
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import structlog
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from causerie import __version__
from causerie.broker.base import Broker
from causerie.broker.memory import MemoryBroker
from causerie.core.moderation import Policy
from causerie.core.safety import DAY_US
from causerie.moderation_data import load_classifier, load_config, load_lexicon, publisher_dir
from causerie.settings import Settings
from causerie.store.comments import CommentStore
from causerie.store.database import Database, StoreError, database_url
from causerie.store.safety import SafetyStore
from causerie.web.api import API_PREFIX, BodyGuard, CommentsApi, install_error_handlers, router
from causerie.web.chat import ChatEndpoint, ChatService
from causerie.web.live import ArticleFeed
from causerie.web.sites import SitePolicies

log = structlog.get_logger(__name__)

_WEB = Path(str(resources.files("causerie.web")))
STATIC_DIR = _WEB / "static"
TEMPLATES_DIR = _WEB / "templates"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class WidgetFiles(StaticFiles):
    """Static widget files, loadable as cross-origin ES modules from publisher pages."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path == "chat.html":  # only ever served by chat_iframe, with its CSP
            return JSONResponse({"code": "not_found"}, status_code=404)
        response = await super().get_response(path, scope)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers.update(SECURITY_HEADERS)
        return response


def _host_port(request: Request) -> tuple[str, int]:
    host = request.url.hostname or "127.0.0.1"
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    return host, port


def chat_page_csp(settings: Settings, request: Request) -> str:
    _, port = _host_port(request)
    ancestors = " ".join(("'self'", *settings.frame_ancestors(port)))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data:",
            f"frame-ancestors {ancestors}",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def widget_origin(settings: Settings, request: Request) -> str:
    """Where the demo page loads the widget from.

    On loopback the demo plays a publisher on one host name and causerie on
    the other (127.0.0.1 <-> localhost), so the chat iframe is cross-origin
    exactly as on a real site.
    """
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host, port = _host_port(request)
    scheme = "https" if request.url.scheme == "https" else "http"
    if host == "127.0.0.1":
        return f"{scheme}://localhost:{port}"
    if host == "localhost":
        return f"{scheme}://127.0.0.1:{port}"
    netloc = request.url.netloc
    if not _PLAIN_NETLOC.fullmatch(netloc):  # a forged Host header must not reach the page
        return f"{scheme}://127.0.0.1:{settings.port}"
    return f"{scheme}://{netloc}"


_PLAIN_NETLOC = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


class CauserieApp:
    """The ASGI entry point: the chat socket goes straight to its endpoint.

    Every other request goes through Starlette. Skipping the router and its
    middleware for the socket keeps their suspended frames out of the memory
    of each of the thousands of idle readers.
    """

    def __init__(self, starlette: FastAPI, chat: ChatEndpoint) -> None:
        self.starlette = starlette
        self.chat = chat
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == CHAT_PATH:
            await self.chat(scope, receive, send)
        else:
            await self.starlette(scope, receive, send)


CHAT_PATH = "/ws/v1/chat"


def create_app(settings: Settings | None = None, *, broker: Broker | None = None) -> CauserieApp:
    """The whole app; ``broker`` defaults to the embedded in-memory one."""
    settings = settings or Settings()
    broker = broker or MemoryBroker(
        clock=time.monotonic,
        resume_window=settings.resume_window,
        history_limit=settings.history_limit,
    )
    secret = secret_key(settings)
    folder = publisher_dir(settings)
    lexicon = load_lexicon(folder)
    policy = Policy(load_config(settings, folder), lexicon, load_classifier(settings.classifier))
    policies = SitePolicies(policy, lexicon)
    database = Database(database_url(settings.database_url, settings.data_dir))
    safety = SafetyStore(database)
    service = ChatService(
        settings,
        broker,
        secret=secret,
        policies=policies if settings.chat_moderation else None,
        safety=safety,
    )

    async def demo(request: Request) -> Response:
        if not settings.demo:
            return JSONResponse({"service": "causerie"}, headers=SECURITY_HEADERS)
        html = _page(TEMPLATES_DIR / "demo.html").replace(
            "{{WIDGET_ORIGIN}}", widget_origin(settings, request)
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def chat_iframe(request: Request) -> Response:
        headers = {"Content-Security-Policy": chat_page_csp(settings, request), **SECURITY_HEADERS}
        headers["Cache-Control"] = "no-store"
        return HTMLResponse(_page(STATIC_DIR / "chat.html"), headers=headers)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "connections": len(service.connections)})

    async def api_docs(request: Request) -> Response:
        headers = {"Content-Security-Policy": API_DOCS_CSP, **SECURITY_HEADERS}
        return HTMLResponse(_page(STATIC_DIR / "api-docs.html"), headers=headers)

    comments_api = CommentsApi(
        settings, CommentStore(database), ArticleFeed(), secret, policies, safety=safety
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await policies.load(safety)
        tasks = [
            asyncio.create_task(service.run_sweeper()),
            asyncio.create_task(policies.run_refresher(safety)),
            asyncio.create_task(purge_old_records(safety, settings.report_retention_days)),
        ]
        log.info("causerie_started")
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await broker.close()
            await database.close()

    app = FastAPI(
        title="causerie",
        version=__version__,
        summary="Public comments under news articles (the chat is a WebSocket: docs/protocol.md)",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(router(comments_api))
    # --- moderator dashboard, /admin (web/admin.py) -----------------------------------
    from causerie.web.admin import create_admin

    app.include_router(
        create_admin(
            settings,
            safety,
            secret,
            on_ban=service.enforce_ban,
            on_site_settings=policies.apply,
            on_comment=comments_api.moderated,
        )
    )
    # --- end of the moderator dashboard ---------------------------------------------
    install_error_handlers(app)
    for path, endpoint in (
        ("/", demo),
        ("/articles/{path:path}", demo),
        ("/healthz", healthz),
        ("/widget/v1/chat", chat_iframe),
        (f"{API_PREFIX}/docs", api_docs),
    ):
        app.add_route(path, endpoint, include_in_schema=False)
    app.mount("/widget", WidgetFiles(directory=STATIC_DIR), name="widget")
    app.add_middleware(BodyGuard)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=sorted({*settings.frame_ancestors(settings.port), *_own(settings)}),
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Accept-Language"],
        max_age=600,
    )
    app.state.chat = service
    app.state.safety = safety
    app.state.comments = comments_api
    app.state.settings = settings
    return CauserieApp(app, ChatEndpoint(service))


API_DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


async def purge_old_records(safety: SafetyStore, retention_days: int) -> None:
    """Hourly: forget expired blocks and bans, and handled reports past their retention."""
    while True:
        try:
            deleted = await safety.purge(
                time.time_ns() // 1000, report_retention_us=retention_days * DAY_US
            )
            if deleted:
                log.info("safety_purged", rows=deleted)
        except StoreError:
            log.warning("safety_purge_failed", exc_info=True)
        await asyncio.sleep(3600)


def _own(settings: Settings) -> tuple[str, ...]:
    return (settings.public_url.rstrip("/"),) if settings.public_url else ()


def secret_key(settings: Settings) -> bytes:
    """The configured key, or a random one kept in the data folder (created once)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        path.write_text(key.hex())
        path.chmod(0o600)
        return key


@functools.cache
def _page(path: Path) -> str:
    return path.read_text(encoding="utf-8")
