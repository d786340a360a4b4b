"""The comments API, ``/api/v1/`` (docs/api.md; OpenAPI at /api/v1/openapi.json).

Each handler validates with the core (``check``), performs through the store
and the live feed (``do``), and answers JSON encoded once with orjson.
Request bodies are screened before FastAPI sees them (:class:`BodyGuard`):
size, content type, UTF-8 and JSON syntax each get their own error code.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

import orjson
import structlog
from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from causerie.core import comments as rules
from causerie.core.articles import normalize_article, site_of
from causerie.core.comments import Cursor, Sort, Status
from causerie.core.errors import ClientError, ErrorCode, human_message
from causerie.core.identity import address_hash, day_scope, keyed_digest
from causerie.core.moderation.policy import Action, Context, Verdict
from causerie.core.pseudonyms import pseudonym
from causerie.core.ratelimit import KeyedBuckets
from causerie.core.safety import BanKind
from causerie.settings import Settings
from causerie.store.comments import CommentStore
from causerie.store.database import StoreError
from causerie.store.safety import SafetyStore
from causerie.web.live import ArticleFeed
from causerie.web.sites import SitePolicies

log = structlog.get_logger(__name__)

MAX_BODY: Final = 64 * 1024
API_PREFIX: Final = "/api/v1"

STATUS: Final[dict[ErrorCode, int]] = {
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNKNOWN_ARTICLE: 404,
    ErrorCode.UNKNOWN_PARENT: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_SITE: 403,
    ErrorCode.WRONG_TOKEN: 403,
    ErrorCode.EDIT_WINDOW_OVER: 403,
    ErrorCode.MISSING_TOKEN: 401,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.SERVER_ERROR: 500,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.BANNED: 403,
}
# Which code a validation error of a given field gets (default: invalid_field).
FIELD_CODES: Final[dict[str, ErrorCode]] = {
    "url": ErrorCode.INVALID_URL,
    "sort": ErrorCode.INVALID_SORT,
    "limit": ErrorCode.INVALID_LIMIT,
    "cursor": ErrorCode.BAD_CURSOR,
}


def _lang(request_headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in request_headers:
        if name == b"accept-language":
            return "en" if value[:2].lower() == b"en" else "fr"
    return "fr"


def error_body(
    code: ErrorCode, lang: str, field: str | None = None, retry_after: float | None = None
) -> bytes:
    body: dict[str, Any] = {"code": code.value, "message": human_message(code, lang)}
    if field is not None:
        body["field"] = field
    if retry_after is not None:
        body["retry_after"] = max(0.001, round(retry_after, 3))
    return orjson.dumps(body)


class ModerationRefused(Exception):
    """The policy refused a text; answered 422 with the verdict's reason and explanation."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def _lang_of(request: Request) -> str:
    return _lang(request.scope["headers"])


def error_response(request: Request, error: ClientError) -> Response:
    response = Response(
        error_body(error.code, _lang(request.scope["headers"]), error.field, error.retry_after),
        status_code=STATUS.get(error.code, 400),
        media_type="application/json",
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return response


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status_code, media_type="application/json")


# --- request screening ------------------------------------------------------------------


class BodyGuard:
    """ASGI middleware for /api/: refuse bodies that are too big, not JSON, not UTF-8.

    Runs before FastAPI parses anything, so that each failure has its own code
    and the handlers only ever see a well-formed JSON document (or no body).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        lang = _lang(scope["headers"])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > MAX_BODY:  # refused before reading a byte
            await _refuse(send, ErrorCode.BODY_TOO_LARGE, lang)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _refuse(send, ErrorCode.BODY_TOO_LARGE, lang)
                return
            if not message.get("more_body", False):
                break
        if body:
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type != b"application/json":
                await _refuse(send, ErrorCode.UNSUPPORTED_MEDIA_TYPE, lang)
                return
            try:
                orjson.loads(bytes(body).decode("utf-8"))
            except UnicodeDecodeError:
                await _refuse(send, ErrorCode.INVALID_UTF8, lang)
                return
            except orjson.JSONDecodeError:
                await _refuse(send, ErrorCode.INVALID_JSON, lang)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send, code: ErrorCode, lang: str) -> None:
    body = error_body(code, lang)
    await send(
        {
            "type": "http.response.start",
            "status": STATUS.get(code, 400),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- models (the OpenAPI description is generated from these) -----------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class NewComment(_Strict):
    url: str = Field(max_length=4096, description="Canonical URL of the article")
    text: str = Field(max_length=20_000, description="1–5,000 characters after trimming")
    name: str | None = Field(None, max_length=1000, description="Display name, 1–40 characters")
    parent: int | None = Field(None, ge=1, le=2**31 - 1, description="Comment replied to")
    title: str | None = Field(None, max_length=2000, description="Article title, on first use")


class CommentEdit(_Strict):
    text: str = Field(max_length=20_000)
    name: str | None = Field(None, max_length=1000)


class LikeBody(_Strict):
    reader: str | None = Field(None, min_length=8, max_length=128)


class NewArticle(_Strict):
    url: str = Field(max_length=4096)
    title: str = Field(max_length=2000)


class CommentOut(BaseModel):
    id: int
    parent: int | None
    name: str
    text: str
    html: str
    created_at: str
    edited_at: str | None
    likes: int
    deleted: bool
    replies: list[CommentOut]


class ArticleOut(BaseModel):
    url: str
    title: str


class ThreadOut(BaseModel):
    comments: list[CommentOut]
    total: int
    next: str | None
    article: ArticleOut


class PostedOut(BaseModel):
    id: int
    author_token: str
    status: Literal["published", "held"]
    editable_for: float = Field(description="Seconds during which the author token may edit")
    comment: CommentOut


class EditedOut(BaseModel):
    comment: CommentOut


class LikeOut(BaseModel):
    id: int
    likes: int
    liked: bool


class CountsOut(BaseModel):
    counts: dict[str, int]


class ErrorOut(BaseModel):
    code: str
    message: str
    field: str | None = None
    retry_after: float | None = Field(None, description="Seconds to wait (rate_limited)")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in codes}


# --- the API ------------------------------------------------------------------------------


class CommentsApi:
    """The handlers, sharing settings, store, live feed and clock."""

    def __init__(
        self,
        settings: Settings,
        store: CommentStore,
        feed: ArticleFeed,
        secret: bytes,
        policies: SitePolicies,
        *,
        safety: SafetyStore | None = None,
        now_us: Callable[[], int] = lambda: time.time_ns() // 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        per_minute = settings.comments_per_minute
        self.comment_limits = KeyedBuckets(per_minute / 60.0, per_minute)
        per_minute = settings.likes_per_minute
        self.like_limits = KeyedBuckets(per_minute / 60.0, per_minute)
        self.store = store
        self.feed = feed
        self.secret = secret
        self.policies = policies
        self.safety = safety
        self.now_us = now_us
        self.rng = secrets.SystemRandom()

    def sites(self) -> frozenset[str]:
        return frozenset(self.settings.frame_ancestors(self.settings.port))

    def check_article(self, url: str) -> tuple[str, str]:
        """The normalized URL and its site (origin), or ``invalid_url``."""
        try:
            normalized = normalize_article(url)
        except ClientError as exc:
            raise ClientError(ErrorCode.INVALID_URL, field="url") from exc
        return normalized, site_of(normalized)

    def address_of(self, request: Request) -> str:
        """The keyed hash of the client's address for today: what bans and comments keep."""
        address = request.client.host if request.client else "unknown"
        return address_hash(self.secret, address, time.strftime("%Y-%m-%d", time.gmtime()))

    async def check_ban(self, request: Request, author_hash: str | None) -> None:
        """Refuse (``banned``, 403) an author or address a moderator banned."""
        if self.safety is None:
            return
        keys = [(BanKind.IP, self.address_of(request))]
        if author_hash is not None:
            keys.append((BanKind.AUTHOR, author_hash))
        if await self.safety.active_ban(keys, self.now_us()):
            raise ClientError(ErrorCode.BANNED)

    def client_of(self, request: Request) -> str:
        """The client's keyed, daily-rotated address hash (never the address itself)."""
        address = request.client.host if request.client else "unknown"
        day = time.strftime("%Y-%m-%d", time.gmtime())
        return keyed_digest(self.secret, day_scope("api", day), address)

    def reader_of(self, request: Request, token: str | None) -> str:
        """Who likes: the browser's reader token if it sent one, else its address (hashed)."""
        if token:
            return keyed_digest(self.secret, "reader", token)
        return self.client_of(request)

    def check_rate(self, limits: KeyedBuckets, request: Request) -> None:
        wait = limits.take(self.client_of(request), self.clock())
        if wait:
            raise ClientError(ErrorCode.RATE_LIMITED, retry_after=wait)

    async def thread(
        self,
        url: str,
        sort: Sort,
        cursor: str | None,
        limit: int,
    ) -> Response:
        article_url, _ = self.check_article(url)
        page_cursor = Cursor.decode(cursor, sort) if cursor else None
        article = await self.store.article(article_url)
        if article is None:
            raise ClientError(ErrorCode.UNKNOWN_ARTICLE, field="url")
        rows, next_cursor, total = await self.store.thread(article.id, sort, page_cursor, limit)
        return _json(
            {
                "comments": [rules.comment_json(row) for row in rows],
                "total": total,
                "next": next_cursor.encode() if next_cursor else None,
                "article": {"url": article.url, "title": article.title},
            }
        )

    def moderate(
        self, text: str, request: Request, site: str, *, editing: bool = False
    ) -> tuple[str, Status]:
        """The site's policy's verdict: the text to store and its status, or the refusal.

        An edit can only publish or be refused: it cannot hold a comment that is
        already public.
        """
        policy = self.policies.policy(site)
        verdict = policy.check(text, context=Context.COMMENT, lang=_lang_of(request))
        if verdict.action is Action.REFUSE or (editing and verdict.action is Action.HOLD):
            raise ModerationRefused(verdict)
        status = Status.HELD if verdict.action is Action.HOLD else Status.PUBLISHED
        return verdict.text, status

    async def post(self, request: Request, body: NewComment, authorization: str | None) -> Response:
        self.check_rate(self.comment_limits, request)
        token = _author_token(authorization) or secrets.token_urlsafe(32)
        author_hash = rules.hash_token(token)
        article_url, site = self.check_article(body.url)
        text = rules.clean_text(body.text)
        name = rules.clean_name(body.name) or pseudonym(self.rng)
        if site not in self.sites():
            raise ClientError(ErrorCode.UNKNOWN_SITE, field="url")
        await self.check_ban(request, author_hash)
        text, status = self.moderate(text, request, site)
        now = self.now_us()
        article, _ = await self.store.ensure_article(
            article_url, site, rules.clean_title(body.title), now
        )
        row = await self.store.post(
            article.id,
            body.parent,
            name=name,
            text=text,
            html=rules.render_html(text),
            status=status,
            author_hash=author_hash,
            ip_hash=self.address_of(request),
            now_us=now,
        )
        if row is None:
            raise ClientError(ErrorCode.UNKNOWN_PARENT, field="parent")
        comment = rules.comment_json(row)
        if status is Status.PUBLISHED:
            self.feed.publish(article_url, "comment", comment)
        return _json(
            {
                "id": row.id,
                "author_token": token,
                "status": status.value,
                "editable_for": self.settings.edit_window,
                "comment": comment,
            },
            201 if status is Status.PUBLISHED else 202,
        )

    async def moderated(self, comment_id: int) -> None:
        """A moderator published or deleted a comment: show it to the article's live readers."""
        owned = await self.store.owned(comment_id)
        if owned is None:
            return
        if owned.row.status is Status.PUBLISHED:
            self.feed.publish(owned.article_url, "comment", rules.comment_json(owned.row))
        elif owned.row.status is Status.DELETED:
            self.feed.publish(owned.article_url, "deleted", {"id": comment_id})

    async def _owned_by(self, comment_id: int, authorization: str | None) -> Any:
        if not authorization or not authorization.startswith("Bearer ") or len(authorization) < 8:
            raise ClientError(ErrorCode.MISSING_TOKEN)
        owned = await self.store.owned(comment_id)
        if owned is None or owned.row.status is Status.DELETED:
            raise ClientError(ErrorCode.NOT_FOUND)
        token = authorization[len("Bearer ") :].strip()
        if not hmac.compare_digest(rules.hash_token(token), owned.author_hash):
            raise ClientError(ErrorCode.WRONG_TOKEN)
        if not rules.can_edit(owned.row.created_us, self.now_us(), self.settings.edit_window):
            raise ClientError(ErrorCode.EDIT_WINDOW_OVER)
        return owned

    async def edit(
        self, request: Request, comment_id: int, body: CommentEdit, authorization: str | None
    ) -> Response:
        text = rules.clean_text(body.text)
        name = rules.clean_name(body.name)
        owned = await self._owned_by(comment_id, authorization)
        await self.check_ban(request, owned.author_hash)
        text, _ = self.moderate(text, request, site_of(owned.article_url), editing=True)
        now = self.now_us()
        html = rules.render_html(text)
        await self.store.edit(comment_id, name=name, text=text, html=html, now_us=now)
        row = owned.row
        row.text, row.html, row.edited_us = text, html, now
        if name is not None:
            row.name = name
        comment = rules.comment_json(row)
        if row.status is Status.PUBLISHED:
            self.feed.publish(owned.article_url, "comment", comment)
        return _json({"comment": comment})

    async def delete(self, comment_id: int, authorization: str | None) -> Response:
        owned = await self._owned_by(comment_id, authorization)
        await self.store.delete(comment_id, self.now_us())
        self.feed.publish(owned.article_url, "deleted", {"id": comment_id})
        return Response(status_code=204)

    async def like(
        self, request: Request, comment_id: int, reader: str | None, liked: bool
    ) -> Response:
        self.check_rate(self.like_limits, request)
        result = await self.store.like(comment_id, self.reader_of(request, reader), liked)
        if result is None:
            raise ClientError(ErrorCode.NOT_FOUND)
        likes, article_url = result
        self.feed.publish(article_url, "likes", {"id": comment_id, "likes": likes})
        return _json({"id": comment_id, "likes": likes, "liked": liked})

    async def counts(self, urls: list[str]) -> Response:
        if len(urls) > rules.MAX_COUNT_URLS:
            raise ClientError(ErrorCode.TOO_MANY_URLS, field="url")
        normalized = {url: self.check_article(url)[0] for url in urls}
        found = await self.store.counts(list(normalized.values()))
        return _json({"counts": {url: found.get(key, 0) for url, key in normalized.items()}})

    async def register(self, body: NewArticle) -> Response:
        article_url, site = self.check_article(body.url)
        if site not in self.sites():
            raise ClientError(ErrorCode.UNKNOWN_SITE, field="url")
        article, created = await self.store.ensure_article(
            article_url, site, rules.clean_title(body.title), self.now_us(), update_title=True
        )
        return _json({"url": article.url, "title": article.title}, 201 if created else 200)

    def stream(self, url: str) -> StreamingResponse:
        article_url, _ = self.check_article(url)
        return StreamingResponse(
            self.feed.subscribe(article_url),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def _author_token(authorization: str | None) -> str | None:
    """The author token a browser reuses (``Bearer`` + 32–128 URL-safe characters), or None.

    A malformed one is refused rather than ignored: the browser would otherwise
    lose the link between its comments without knowing it.
    """
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if (
        scheme != "Bearer"
        or not 32 <= len(token) <= 128
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in token)
    ):
        raise ClientError(ErrorCode.INVALID_FIELD, field="authorization")
    return token


def router(api: CommentsApi) -> APIRouter:
    routes = APIRouter(prefix=API_PREFIX, tags=["comments"])
    bad = _errors(400)

    @routes.get(
        "/comments",
        response_model=ThreadOut,
        responses=_errors(400, 404),
        summary="Read an article's thread",
    )
    async def read_thread(
        url: Annotated[str, Query(max_length=4096, description="Canonical URL of the article")],
        sort: Annotated[Sort, Query()] = Sort.NEWEST,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=rules.MAX_PAGE)] = rules.DEFAULT_PAGE,
    ) -> Response:
        return await api.thread(url, sort, cursor, limit)

    @routes.post(
        "/comments",
        status_code=201,
        response_model=PostedOut,
        responses={202: {"model": PostedOut}, **_errors(400, 403, 404, 413, 415, 422, 429)},
        summary="Post a comment or a reply",
    )
    async def post_comment(
        request: Request,
        body: NewComment,
        authorization: Annotated[
            str | None,
            Header(
                max_length=200,
                description="Optional `Bearer <author token>` of an earlier comment from this "
                "browser: the new comment gets the same token (one identity per browser).",
            ),
        ] = None,
    ) -> Response:
        return await api.post(request, body, authorization)

    @routes.get(
        "/comments/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **bad},
        summary="Live updates of an article's thread (Server-Sent Events)",
    )
    async def stream(url: Annotated[str, Query(max_length=4096)]) -> StreamingResponse:
        return api.stream(url)

    @routes.patch(
        "/comments/{comment_id}",
        response_model=EditedOut,
        responses=_errors(400, 401, 403, 404, 413, 415, 422),
        summary="Edit your own comment (author token, within the edit window)",
    )
    async def edit_comment(
        request: Request,
        comment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        body: CommentEdit,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        return await api.edit(request, comment_id, body, authorization)

    @routes.delete(
        "/comments/{comment_id}",
        status_code=204,
        responses=_errors(401, 403, 404),
        summary="Delete your own comment (author token, within the edit window)",
    )
    async def delete_comment(
        comment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        return await api.delete(comment_id, authorization)

    @routes.post(
        "/comments/{comment_id}/like",
        response_model=LikeOut,
        responses=_errors(400, 404, 413, 415, 429),
        summary="Like a comment (once per reader)",
    )
    async def like(
        request: Request,
        comment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        body: LikeBody | None = None,
    ) -> Response:
        return await api.like(request, comment_id, body.reader if body else None, True)

    @routes.delete(
        "/comments/{comment_id}/like",
        response_model=LikeOut,
        responses=_errors(400, 404, 413, 415, 429),
        summary="Take a like back",
    )
    async def unlike(
        request: Request,
        comment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        body: LikeBody | None = None,
    ) -> Response:
        return await api.like(request, comment_id, body.reader if body else None, False)

    @routes.get(
        "/counts",
        response_model=CountsOut,
        responses=bad,
        summary="Comment counts of many articles",
    )
    async def counts(
        url: Annotated[list[str], Query(max_length=rules.MAX_COUNT_URLS * 2)],
    ) -> Response:
        return await api.counts(url)

    @routes.post(
        "/articles",
        response_model=ArticleOut,
        status_code=201,
        responses={200: {"model": ArticleOut}, **_errors(400, 403, 413, 415)},
        summary="Register an article (or update its title)",
    )
    async def register(body: NewArticle) -> Response:
        return await api.register(body)

    return routes


def install_error_handlers(app: FastAPI) -> None:
    """Every error of the app as ``{"code", "message"}`` with a stable code."""

    async def client_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, ClientError):  # registered for ClientError only
            raise exc
        return error_response(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):  # registered for it only
            raise exc
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ())]
        field = location[-1] if len(location) > 1 else (location[0] if location else None)
        if first.get("type") == "missing":
            code = ErrorCode.MISSING_FIELD
        elif location and location[0] == "body" and len(location) == 1:
            code = ErrorCode.INVALID_FIELD
        else:
            code = FIELD_CODES.get(field or "", ErrorCode.INVALID_FIELD)
        return error_response(request, ClientError(code, field=field))

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException):  # registered for it only
            raise exc
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ErrorCode.INVALID_FRAME
        )
        response = error_response(request, ClientError(code))
        response.status_code = exc.status_code
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def store_error(request: Request, exc: Exception) -> Response:
        log.error("store_failed", path=request.url.path, exc_info=exc)
        return error_response(request, ClientError(ErrorCode.SERVER_ERROR))

    async def moderation_refused(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, ModerationRefused):  # registered for it only
            raise exc
        verdict = exc.verdict
        english = _lang_of(request) == "en"
        body = {
            "code": verdict.reason.value if verdict.reason else "moderation_refused",
            "message": verdict.message_en if english else verdict.message_fr,
            "field": "text",
        }
        return _json(body, 422)

    app.add_exception_handler(ClientError, client_error)
    app.add_exception_handler(ModerationRefused, moderation_refused)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StoreError, store_error)
