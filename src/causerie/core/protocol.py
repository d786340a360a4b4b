"""The chat wire protocol: client frames in, server events out (docs/protocol.md).

Parsing is strict and total: any text either becomes one of the frozen
``ClientFrame`` dataclasses below or raises :class:`ClientError` with a
stable code. Server events are plain dicts built by the ``*_event``
functions, so the adapter encodes each of them exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from causerie.core.articles import normalize_article
from causerie.core.errors import ClientError, ErrorCode, human_message
from causerie.core.safety import (
    MAX_REPORT_NOTE,
    ReportReason,
    TranscriptLine,
    parse_client_secret,
    parse_transcript,
)

PROTOCOL_VERSION: Final = 1
MAX_CLIENT_ID: Final = 64
MAX_TOKEN: Final = 128


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection limits, all documented in docs/protocol.md."""

    text_chars: int = 1000
    frame_bytes: int = 16 * 1024
    messages_per_second: float = 5.0
    message_burst: int = 10
    joins_per_minute: int = 30


@dataclass(frozen=True, slots=True)
class Join:
    article: str
    client: str | None = None  # the widget's anonymous client secret (hashed at once)


@dataclass(slots=True)  # not frozen: made per message, and frozen init costs 4x
class SendMessage:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Typing:
    pass


@dataclass(frozen=True, slots=True)
class Next:
    pass


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Resume:
    token: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Block:
    """Never be paired with the current (or last) partner again, for a while."""


@dataclass(frozen=True, slots=True)
class Report:
    """Report the current (or last) partner with the transcript the reporter's client holds."""

    reason: ReportReason
    note: str
    transcript: tuple[TranscriptLine, ...]


ClientFrame = Join | SendMessage | Typing | Next | Leave | Resume | Ping | Block | Report

_SINGLETONS: Final[dict[str, ClientFrame]] = {
    "typing": Typing(),
    "next": Next(),
    "leave": Leave(),
    "ping": Ping(),
    "block": Block(),
}


def check_frame_size(text: str, limits: Limits) -> None:
    """Raise ``frame_too_large`` if ``text`` encodes to more than the frame limit."""
    # A str of n characters is at most 4n bytes in UTF-8: only measure when it could matter.
    # surrogatepass: a str holding lone surrogates is measured here, refused by the JSON parser.
    if (
        len(text) * 4 > limits.frame_bytes
        and len(text.encode("utf-8", "surrogatepass")) > limits.frame_bytes
    ):
        raise ClientError(ErrorCode.FRAME_TOO_LARGE)


def parse_frame(text: str, limits: Limits) -> ClientFrame:
    """Parse one client text frame, or raise :class:`ClientError`."""
    check_frame_size(text, limits)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ClientError(ErrorCode.INVALID_JSON) from exc
    if not isinstance(data, dict):
        raise ClientError(ErrorCode.INVALID_FRAME)
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ClientError(ErrorCode.INVALID_FRAME, field="type")
    if kind == "message":
        return _parse_message(data, limits)
    singleton = _SINGLETONS.get(kind)
    if singleton is not None:
        return singleton
    if kind == "join":
        article = _string(data, "article", MAX_ARTICLE_FIELD)
        return Join(normalize_article(article), parse_client_secret(data.get("client")))
    if kind == "report":
        return _parse_report(data, limits)
    if kind == "resume":
        token = _string(data, "token", MAX_TOKEN)
        last_seq = data.get("last_seq")
        if type(last_seq) is not int or last_seq < 0:  # bool is an int: excluded on purpose
            raise ClientError(ErrorCode.INVALID_FIELD, field="last_seq")
        return Resume(token, last_seq)
    raise ClientError(ErrorCode.UNKNOWN_TYPE)


MAX_ARTICLE_FIELD: Final = 4096  # longer strings are not even normalized


def _string(data: dict[str, Any], name: str, max_length: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ClientError(ErrorCode.INVALID_FIELD, field=name)
    return value


def _parse_message(data: dict[str, Any], limits: Limits) -> SendMessage:
    client_id = _string(data, "id", MAX_CLIENT_ID)
    text = data.get("text")
    if not isinstance(text, str):
        raise ClientError(ErrorCode.INVALID_FIELD, field="text", ref=client_id)
    if not text or text.isspace():
        raise ClientError(ErrorCode.EMPTY_TEXT, ref=client_id)
    if len(text) > limits.text_chars:
        raise ClientError(ErrorCode.TEXT_TOO_LONG, ref=client_id)
    return SendMessage(client_id, text)


def _parse_report(data: dict[str, Any], limits: Limits) -> Report:
    reason = data.get("reason")
    if not isinstance(reason, str) or reason not in _REPORT_REASONS:
        raise ClientError(ErrorCode.INVALID_FIELD, field="reason")
    note = data.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_REPORT_NOTE or "\x00" in note:
        raise ClientError(ErrorCode.INVALID_FIELD, field="note")
    transcript = parse_transcript(data.get("transcript", []), limits.text_chars)
    return Report(ReportReason(reason), note.strip(), transcript)


_REPORT_REASONS: Final = frozenset(reason.value for reason in ReportReason)


# --- server events -----------------------------------------------------------------


def encode(event: dict[str, Any]) -> str:
    """Serialize one server event to the text of a frame."""
    return orjson.dumps(event).decode()


def hello_event(
    limits: Limits, heartbeat: float, heartbeat_timeout: float, resume_window: float
) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "limits": {
            "text_chars": limits.text_chars,
            "frame_bytes": limits.frame_bytes,
            "messages_per_second": limits.messages_per_second,
            "message_burst": limits.message_burst,
            "joins_per_minute": limits.joins_per_minute,
        },
        "heartbeat": heartbeat,
        "heartbeat_timeout": heartbeat_timeout,
        "resume_window": resume_window,
    }


def error_event(error: ClientError, lang: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "error",
        "code": error.code.value,
        "message": human_message(error.code, lang),
    }
    if error.field is not None:
        event["field"] = error.field
    if error.ref is not None:
        event["id"] = error.ref
    if error.retry_after is not None:
        event["retry_after"] = max(0.001, round(error.retry_after, 3))
    return event
