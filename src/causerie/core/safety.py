"""Blocks, reports and bans: the records and the rules, without the I/O.

Who is who, without identifying anyone (see ``core.identity``):

- a **chat client** is a random secret the chat widget keeps in its own
  origin's storage and sends with ``join``; the server only ever keeps its
  keyed hash (``client_hash``), which is what blocks and bans name;
- a **comment author** is the keyed hash of the author token (``author_hash``);
- an **address** is the keyed hash of the IP address *for one UTC day*
  (``ip_hash``): since the key rotates at midnight UTC, a ban by address can
  only last until then, whatever expiry the moderator chose (``ip_ban_expiry``).

A ban says nothing to the banned reader but that they cannot take part for now
(``banned``): not which identifier matched, nor who reported them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from causerie.core.errors import ClientError, ErrorCode

US: Final = 1_000_000
DAY_US: Final = 86_400 * US
MAX_TRANSCRIPT_LINES: Final = 50
MAX_REPORT_NOTE: Final = 500
MAX_CLIENT_SECRET: Final = 64
MIN_CLIENT_SECRET: Final = 16


class BanKind(StrEnum):
    AUTHOR = "author"  # author_hash of comments
    CLIENT = "client"  # client_hash of a chat widget
    IP = "ip"  # ip_hash of one UTC day


class ReportReason(StrEnum):
    INSULT = "insult"
    HARASSMENT = "harassment"
    THREAT = "threat"
    HATE = "hate"
    SEXUAL = "sexual"
    SPAM = "spam"
    OTHER = "other"


class ReportStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # read, nothing to do
    ACTIONED = "actioned"  # a ban (or another action) followed


class Speaker(StrEnum):
    REPORTER = "reporter"
    REPORTED = "reported"


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class Ban:
    id: int
    kind: BanKind
    value: str
    reason: str
    created_us: int
    expires_us: int
    created_by: str | None  # the moderator's name, None for an automatic ban
    revoked_us: int | None = None

    def active(self, now_us: int) -> bool:
        return self.revoked_us is None and self.expires_us > now_us


@dataclass(frozen=True, slots=True)
class NewReport:
    """What the chat hands the store when a reader reports their partner."""

    created_us: int
    site: str
    article: str
    reason: ReportReason
    note: str
    transcript: tuple[TranscriptLine, ...]
    reported_client: str | None  # client_hash of the reported reader, if their widget sent one
    reported_ip: str | None  # ip_hash of the reported reader, that day
    reporter_client: str | None  # client_hash of the reporter (to spot abusive reporting)


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    created_us: int
    site: str
    article: str
    reason: ReportReason
    note: str
    transcript: tuple[TranscriptLine, ...]
    reported_client: str | None
    reported_ip: str | None
    reporter_client: str | None
    status: ReportStatus
    handled_by: str | None
    handled_us: int | None


def utc_day(now_us: int) -> int:
    """The UTC day of ``now_us``, counted from the epoch: the scope of that day's address
    hashes. (POSIX time has no leap seconds: every day is ``DAY_US`` long.)"""
    return now_us // DAY_US


def end_of_utc_day(now_us: int) -> int:
    """The first microsecond of the next UTC day."""
    return (utc_day(now_us) + 1) * DAY_US


def ban_expiry(kind: BanKind, now_us: int, duration_us: int) -> int:
    """When a ban of ``kind`` made now for ``duration_us`` really ends.

    An address hash is only valid on its day: an address ban ends at midnight UTC
    at the latest (the next day, the same address hashes to another value).
    """
    expires = now_us + max(0, duration_us)
    if kind is BanKind.IP:
        expires = min(expires, end_of_utc_day(now_us))
    return expires


def parse_client_secret(value: Any) -> str | None:
    """The chat widget's client secret from a ``join`` frame: absent, or 16–64 URL-safe chars."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not MIN_CLIENT_SECRET <= len(value) <= MAX_CLIENT_SECRET
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value)
    ):
        raise ClientError(ErrorCode.INVALID_FIELD, field="client")
    return value


def parse_transcript(value: Any, text_chars: int) -> tuple[TranscriptLine, ...]:
    """The transcript a reporter's client sends: a list of ``{"from": "me"|"partner",
    "text": str}``, oldest first, at most ``MAX_TRANSCRIPT_LINES`` lines of at most
    ``text_chars`` characters. It may be empty (a report on a partner who said nothing)."""
    if not isinstance(value, list) or len(value) > MAX_TRANSCRIPT_LINES:
        raise ClientError(ErrorCode.INVALID_FIELD, field="transcript")
    lines = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"from", "text"}:
            raise ClientError(ErrorCode.INVALID_FIELD, field="transcript")
        speaker = item.get("from")
        text = item.get("text")
        if speaker not in ("me", "partner") or not isinstance(text, str):
            raise ClientError(ErrorCode.INVALID_FIELD, field="transcript")
        if len(text) > text_chars or "\x00" in text:
            raise ClientError(ErrorCode.INVALID_FIELD, field="transcript")
        lines.append(
            TranscriptLine(Speaker.REPORTER if speaker == "me" else Speaker.REPORTED, text)
        )
    return tuple(lines)
