"""A conversation's ordered event log: sequence numbers, de-duplication, replay.

Every event that makes up a conversation gets the next sequence number
(1, 2, 3…). The log keeps the newest ``history_limit`` events so that a
reader who lost its socket can be given exactly what it missed
(:meth:`ConversationLog.since`), and it remembers which client ids each seat
has already sent so that a message resent after a reconnect is relayed once.
It lives in memory only (or in Redis with a TTL): never on disk.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Final


class Seat(IntEnum):
    """The two places in a conversation."""

    FIRST = 0
    SECOND = 1

    @property
    def other(self) -> Seat:
        return Seat.SECOND if self is Seat.FIRST else Seat.FIRST


class EventKind(StrEnum):
    MESSAGE = "message"
    PARTNER_LEFT = "partner_left"


class LeaveReason(StrEnum):
    LEFT = "left"
    NEXT = "next"
    VANISHED = "vanished"


@dataclass(slots=True)  # not frozen: frozen init costs 4x, and this is made per message
class Event:
    """One sequenced event. ``seat`` is the author (the leaver, for PARTNER_LEFT).

    Treat as immutable: the same instance is handed to both seats and kept for replay.
    """

    seq: int
    kind: EventKind
    seat: Seat
    at_ms: int
    text: str = ""
    client_id: str = ""
    reason: LeaveReason = LeaveReason.LEFT

    def concerns(self, seat: Seat) -> bool:
        """Whether ``seat`` receives this event (nobody is told that they left)."""
        return self.kind is EventKind.MESSAGE or seat is not self.seat

    def wire(self, seat: Seat) -> dict[str, Any]:
        """The server event as ``seat`` sees it."""
        if self.kind is EventKind.PARTNER_LEFT:
            return {"type": "partner_left", "seq": self.seq, "reason": self.reason.value}
        if seat is self.seat:
            return {
                "type": "message",
                "seq": self.seq,
                "from": "you",
                "id": self.client_id,
                "text": self.text,
                "at": self.at_ms,
            }
        return {
            "type": "message",
            "seq": self.seq,
            "from": "partner",
            "text": self.text,
            "at": self.at_ms,
        }


class HistoryGap(Exception):
    """The events after the requested sequence number are no longer all held."""


DEFAULT_HISTORY: Final = 1000


class ConversationLog:
    """Sequencing, de-duplication and bounded replay for one conversation."""

    __slots__ = ("_events", "_last_seq", "_seen_ids", "ended")

    def __init__(self, history_limit: int = DEFAULT_HISTORY) -> None:
        if history_limit < 1:
            raise ValueError("history_limit must be >= 1")
        self._events: deque[Event] = deque(maxlen=history_limit)
        self._last_seq = 0
        # client ids already relayed, per seat, oldest first; bounded like the history
        self._seen_ids: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.ended = False

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def add_message(self, seat: Seat, client_id: str, text: str, at_ms: int) -> Event | None:
        """Sequence a message; None if this seat already sent ``client_id`` (a resend)."""
        seen = self._seen_ids[seat]
        if client_id in seen:
            return None
        event = self._append(EventKind.MESSAGE, seat, at_ms, text=text, client_id=client_id)
        seen[client_id] = event.seq
        if len(seen) > (self._events.maxlen or 0):
            del seen[next(iter(seen))]
        return event

    def add_departure(self, seat: Seat, reason: LeaveReason, at_ms: int) -> Event:
        """Sequence ``seat`` leaving; the conversation is over after it."""
        event = self._append(EventKind.PARTNER_LEFT, seat, at_ms, reason=reason)
        self.ended = True
        return event

    def since(self, after_seq: int, seat: Seat) -> list[Event]:
        """The events for ``seat`` with ``seq > after_seq``, oldest first.

        Raises :class:`HistoryGap` if some of them were already dropped, so a
        resumed reader never silently misses a message.
        """
        if after_seq >= self._last_seq:
            return []
        first_held = self._events[0].seq if self._events else self._last_seq + 1
        if after_seq + 1 < first_held:
            raise HistoryGap(after_seq)
        start = after_seq + 1 - first_held
        return [
            event for i, event in enumerate(self._events) if i >= start and event.concerns(seat)
        ]

    def _append(
        self,
        kind: EventKind,
        seat: Seat,
        at_ms: int,
        *,
        text: str = "",
        client_id: str = "",
        reason: LeaveReason = LeaveReason.LEFT,
    ) -> Event:
        if self.ended:
            raise ConversationEnded
        self._last_seq += 1
        event = Event(self._last_seq, kind, seat, at_ms, text, client_id, reason)
        self._events.append(event)
        return event


class ConversationEnded(Exception):
    """Programming error: an event was added after the conversation ended."""
