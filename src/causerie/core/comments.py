"""Rules of the public comment thread: validation, safe rendering, cursors, threads.

Pure: the store fetches rows, the web layer speaks HTTP; what a comment may
be, how it is shown and how pages are cut is decided here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from causerie.core.errors import ClientError, ErrorCode

MAX_TEXT: Final = 5000
MAX_NAME: Final = 40
MAX_TITLE: Final = 500
DEFAULT_PAGE: Final = 20
MAX_PAGE: Final = 100
MAX_COUNT_URLS: Final = 200
MAX_ID: Final = 2**31 - 1  # ids and like counts are 32-bit integers in the database


class Sort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    TOP = "top"


class Status(StrEnum):
    PUBLISHED = "published"
    HELD = "held"
    DELETED = "deleted"


def clean_text(text: str) -> str:
    """The comment text as stored: trimmed, NULs removed, 1..MAX_TEXT characters."""
    text = text.replace("\x00", "").replace("\r\n", "\n").strip()
    if not text:
        raise ClientError(ErrorCode.EMPTY_TEXT, field="text")
    if len(text) > MAX_TEXT:
        raise ClientError(ErrorCode.TEXT_TOO_LONG, field="text")
    return text


def clean_name(name: str | None) -> str | None:
    """A display name (collapsed whitespace, no control characters), or None for a pseudonym."""
    if name is None:
        return None
    name = " ".join("".join(ch for ch in name if ch.isprintable()).split())
    if not name:
        return None
    if len(name) > MAX_NAME:
        raise ClientError(ErrorCode.NAME_TOO_LONG, field="name")
    return name


def clean_title(title: str | None) -> str:
    if not title:
        return ""
    return " ".join(title.split())[:MAX_TITLE]


# --- rendering ------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»"
_STRONG_PATTERN = r"\*\*(?=\S)(?P<strong>.+?)(?<=\S)\*\*"
_EM_PATTERN = r"(?<![\w*])\*(?=[^\s*])(?P<em>.+?)(?<=[^\s*])\*(?![\w*])"
_BOTH_PATTERN = r"\*\*\*(?=[^\s*])(?P<both>.+?)(?<=[^\s*])\*\*\*"
_EMPHASIS = re.compile(f"{_BOTH_PATTERN}|{_STRONG_PATTERN}|{_EM_PATTERN}")
_EM = re.compile(_EM_PATTERN.replace("?P<em>", ""))
_PARAGRAPHS = re.compile(r"\n\s*\n")


def render_html(text: str) -> str:
    """Safe HTML for ``text``: escaped first, then paragraphs, breaks, emphasis, links.

    The only elements that can come out are p, br, em, strong and a (http(s)
    href, rel="nofollow ugc noopener"); every character the author typed is
    escaped before any of them is made.
    """
    paragraphs = [part for part in _PARAGRAPHS.split(text.strip()) if part.strip()]
    return "".join(
        "<p>" + "<br>".join(_inline(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )


def _inline(line: str) -> str:
    out: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        url = match.group(0)
        stripped = url.rstrip(_TRAILING)
        end = match.start() + len(stripped)
        out.append(_emphasis(html.escape(line[position : match.start()])))
        if _is_web_url(stripped):
            safe = html.escape(stripped, quote=True)
            out.append(f'<a href="{safe}" rel="nofollow ugc noopener" target="_blank">{safe}</a>')
        else:
            out.append(html.escape(stripped))
        position = end
    out.append(_emphasis(html.escape(line[position:])))
    return "".join(out)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (validates the port)
    except ValueError:  # a malformed host such as http://[x stays plain text
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _emphasis(escaped: str) -> str:
    """***both***, **strong** and *em*, matched left to right in one pass so that they
    never overlap: em may sit inside strong, nothing sits inside em."""
    return _EMPHASIS.sub(_emphasize, escaped)


def _emphasize(match: re.Match[str]) -> str:
    both, strong, em = match.group("both"), match.group("strong"), match.group("em")
    if both is not None:
        return f"<strong><em>{both}</em></strong>"
    if strong is not None:
        return "<strong>" + _EM.sub(r"<em>\1</em>", strong) + "</strong>"
    return f"<em>{em}</em>"


# --- tokens -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """How an author token is stored: SHA-256 (the token is 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def can_edit(created_us: int, now_us: int, window_seconds: float) -> bool:
    return now_us - created_us <= window_seconds * 1_000_000


# --- cursors -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of top-level comments stops: the sort key of its last comment."""

    sort: Sort
    last_id: int
    last_likes: int = 0

    def encode(self) -> str:
        raw = orjson.dumps([self.sort.value, self.last_id, self.last_likes])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, value: str, sort: Sort) -> Cursor:
        """Parse a cursor, or raise ``bad_cursor`` (malformed, or made for another sort)."""
        try:
            if len(value) > 200:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = orjson.loads(raw)
        except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
            raise ClientError(ErrorCode.BAD_CURSOR, field="cursor") from exc
        if (
            not isinstance(data, list)
            or len(data) != 3
            or data[0] != sort.value
            or any(type(item) is not int or not 0 <= item <= MAX_ID for item in data[1:])
        ):
            raise ClientError(ErrorCode.BAD_CURSOR, field="cursor")
        return cls(sort, data[1], data[2])


# --- threads ------------------------------------------------------------------------------


@dataclass(slots=True)
class CommentRow:
    """A comment as the store returns it."""

    id: int
    parent_id: int | None
    root_id: int | None
    name: str
    text: str
    html: str
    status: Status
    likes: int
    created_us: int
    edited_us: int | None
    replies: list[CommentRow] = field(default_factory=list)


def iso(us: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC, without the datetime module."""
    seconds, _ = divmod(us, 1_000_000)
    days, rest = divmod(seconds, 86_400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    year, month, day = _civil_from_days(days)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _civil_from_days(days: int) -> tuple[int, int, int]:
    # Howard Hinnant's algorithm: days since 1970-01-01 -> (year, month, day).
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year + (month <= 2), month, day


def comment_json(row: CommentRow) -> dict[str, Any]:
    deleted = row.status is Status.DELETED
    return {
        "id": row.id,
        "parent": row.parent_id,
        "name": "" if deleted else row.name,
        "text": "" if deleted else row.text,
        "html": "" if deleted else row.html,
        "created_at": iso(row.created_us),
        "edited_at": iso(row.edited_us) if row.edited_us is not None else None,
        "likes": row.likes,
        "deleted": deleted,
        "replies": [comment_json(reply) for reply in row.replies],
    }


def visible_replies(replies: Sequence[CommentRow]) -> list[CommentRow]:
    """Replies to show under one top-level comment, oldest first.

    Published replies always; a deleted reply only while a shown reply answers
    it (so that the conversation keeps its shape); held ones never.
    """
    shown: list[CommentRow] = []
    needed: set[int] = set()
    for reply in sorted(replies, key=lambda r: r.id, reverse=True):
        if reply.status is Status.PUBLISHED or (
            reply.status is Status.DELETED and reply.id in needed
        ):
            shown.append(reply)
            if reply.parent_id is not None:
                needed.add(reply.parent_id)
    shown.reverse()
    return shown


def assemble(top: Iterable[CommentRow], replies: Iterable[CommentRow]) -> list[CommentRow]:
    """Attach to each top-level comment its visible replies; drop empty deleted ones."""
    by_root: dict[int, list[CommentRow]] = {}
    for reply in replies:
        if reply.root_id is not None:
            by_root.setdefault(reply.root_id, []).append(reply)
    thread = []
    for comment in top:
        comment.replies = visible_replies(by_root.get(comment.id, []))
        if comment.status is Status.PUBLISHED or (
            comment.status is Status.DELETED and comment.replies
        ):
            thread.append(comment)
    return thread
