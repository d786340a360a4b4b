"""The in-process Broker: the embedded default, and the reference adapter.

Everything lives in this process's memory and is lost on restart, which is
what the embedded default wants: no chat text ever reaches a disk. Single
event loop, no locks needed: no method awaits between reading and writing
its state, so every operation is atomic.

Memory is bounded: per conversation, ``history_limit`` events; per ended or
abandoned conversation, ``resume_window`` seconds of retention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from causerie.broker.base import (
    ArticleCounts,
    Attachment,
    ConversationListener,
    MatchCallback,
    PartnerStatus,
    ResumeRefused,
    SeatTicket,
    Signal,
)
from causerie.core.conversation import (
    DEFAULT_HISTORY,
    ConversationLog,
    Event,
    HistoryGap,
    LeaveReason,
)
from causerie.core.matching import Matchmaker, Waiter

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _SeatState:
    ticket: SeatTicket
    listener: ConversationListener | None = None
    away_since: float | None = None  # clock time; set while nobody is attached
    attached_once: bool = False
    revoked: bool = False


@dataclass(slots=True)
class _Conversation:
    article: str
    log: ConversationLog
    seats: tuple[_SeatState, _SeatState]
    ended_at: float | None = None
    tokens: list[str] = field(default_factory=list)


class MemoryBroker:
    """In-memory implementation of :class:`causerie.broker.Broker`."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        resume_window: float = 60.0,
        history_limit: int = DEFAULT_HISTORY,
    ) -> None:
        self._clock = clock
        self._resume_window = resume_window
        self._history_limit = history_limit
        self._matchmaker = Matchmaker()
        self._inboxes: dict[str, MatchCallback] = {}
        self._conversations: dict[str, _Conversation] = {}
        self._tokens: dict[str, SeatTicket] = {}
        self._chatting: dict[str, int] = {}

    # --- lobby --------------------------------------------------------------------

    async def pair_or_wait(self, article: str, waiter: Waiter) -> Waiter | None:
        return self._matchmaker.pair_or_wait(article, waiter)

    async def cancel_wait(self, reader: str) -> bool:
        return self._matchmaker.cancel(reader)

    async def counts(self, article: str) -> ArticleCounts:
        return ArticleCounts(self._matchmaker.waiting(article), self._chatting.get(article, 0))

    def listen_reader(self, reader: str, callback: MatchCallback) -> None:
        self._inboxes[reader] = callback

    def unlisten_reader(self, reader: str, callback: MatchCallback) -> None:
        if self._inboxes.get(reader) == callback:
            del self._inboxes[reader]

    async def notify_reader(self, reader: str, ticket: SeatTicket) -> bool:
        callback = self._inboxes.get(reader)
        if callback is None:
            return False
        return await callback(ticket)

    # --- conversations ------------------------------------------------------------

    async def open_conversation(self, first: SeatTicket, second: SeatTicket) -> None:
        now = self._clock()
        conversation = _Conversation(
            article=first.article,
            log=ConversationLog(self._history_limit),
            seats=(_SeatState(first, away_since=now), _SeatState(second, away_since=now)),
            tokens=[first.resume_token, second.resume_token],
        )
        self._conversations[first.conversation] = conversation
        self._tokens[first.resume_token] = first
        self._tokens[second.resume_token] = second
        self._chatting[first.article] = self._chatting.get(first.article, 0) + 2

    async def find_seat(self, resume_token: str) -> SeatTicket | None:
        return self._tokens.get(resume_token)

    async def attach(
        self, ticket: SeatTicket, after_seq: int, listener: ConversationListener
    ) -> Attachment:
        conversation = self._conversations.get(ticket.conversation)
        if conversation is None:
            raise ResumeRefused(ticket.conversation)
        state = conversation.seats[ticket.seat]
        if state.revoked:
            raise ResumeRefused(ticket.conversation)
        try:
            missed = conversation.log.since(after_seq, ticket.seat)
        except HistoryGap as exc:
            raise ResumeRefused(ticket.conversation) from exc
        previous = state.listener
        state.listener = listener
        was_away = state.attached_once and previous is None
        state.attached_once = True
        state.away_since = None
        if previous is not None and previous is not listener:
            _safely(previous.on_replaced)
        partner = conversation.seats[ticket.seat.other]
        if was_away and not conversation.log.ended:
            self._signal_to(partner, Signal.BACK)
        return Attachment(missed, self._status_of(conversation, partner), conversation.log.last_seq)

    async def detach(
        self, ticket: SeatTicket, listener: ConversationListener, *, away: bool
    ) -> None:
        conversation = self._conversations.get(ticket.conversation)
        if conversation is None:
            return
        state = conversation.seats[ticket.seat]
        if state.listener is not listener:
            return  # already replaced by a newer socket
        state.listener = None
        if away and not conversation.log.ended:
            state.away_since = self._clock()
            self._signal_to(conversation.seats[ticket.seat.other], Signal.AWAY)

    async def publish_message(
        self, ticket: SeatTicket, client_id: str, text: str, at_ms: int
    ) -> Event | None:
        conversation = self._conversations.get(ticket.conversation)
        if conversation is None or conversation.log.ended:
            return None
        event = conversation.log.add_message(ticket.seat, client_id, text, at_ms)
        if event is not None:
            self._deliver(conversation, event)
        return event

    async def signal(self, ticket: SeatTicket, signal: Signal) -> None:
        conversation = self._conversations.get(ticket.conversation)
        if conversation is not None and not conversation.log.ended:
            self._signal_to(conversation.seats[ticket.seat.other], signal)

    async def depart(self, ticket: SeatTicket, reason: LeaveReason, at_ms: int) -> Event | None:
        conversation = self._conversations.get(ticket.conversation)
        if conversation is None:
            return None
        state = conversation.seats[ticket.seat]
        state.revoked = True  # left on purpose, or away past the window: no way back
        self._tokens.pop(ticket.resume_token, None)
        if conversation.log.ended:
            return None
        event = conversation.log.add_departure(ticket.seat, reason, at_ms)
        conversation.ended_at = self._clock()
        self._chatting[conversation.article] -= 2
        if not self._chatting[conversation.article]:
            del self._chatting[conversation.article]
        self._deliver(conversation, event)
        return event

    # --- housekeeping -------------------------------------------------------------

    async def sweep(self, at_ms: int) -> None:
        now = self._clock()
        deadline = now - self._resume_window
        for conversation_id, conversation in list(self._conversations.items()):
            if conversation.ended_at is not None:
                if conversation.ended_at <= deadline:
                    self._forget(conversation_id, conversation)
                continue
            for state in conversation.seats:
                if state.away_since is not None and state.away_since <= deadline:
                    await self.depart(state.ticket, LeaveReason.VANISHED, at_ms)
                    break

    async def close(self) -> None:
        self._conversations.clear()
        self._tokens.clear()
        self._inboxes.clear()
        self._chatting.clear()

    # --- internals ----------------------------------------------------------------

    def _deliver(self, conversation: _Conversation, event: Event) -> None:
        for state in conversation.seats:
            listener = state.listener
            if listener is not None and event.concerns(state.ticket.seat):
                try:
                    listener.on_event(event)
                except Exception:
                    self._drop_listener(state)

    def _signal_to(self, state: _SeatState, signal: Signal) -> None:
        listener = state.listener
        if listener is not None:
            try:
                listener.on_signal(signal)
            except Exception:
                self._drop_listener(state)

    def _drop_listener(self, state: _SeatState) -> None:
        """A listener that raises is a bug: log it, and treat its seat as away."""
        log.exception("broker_listener_failed", conversation=state.ticket.conversation)
        state.listener = None
        state.away_since = self._clock()

    def _status_of(self, conversation: _Conversation, partner: _SeatState) -> PartnerStatus:
        if conversation.log.ended:
            return PartnerStatus.LEFT
        return PartnerStatus.PRESENT if partner.listener is not None else PartnerStatus.AWAY

    def _forget(self, conversation_id: str, conversation: _Conversation) -> None:
        del self._conversations[conversation_id]
        for token in conversation.tokens:
            self._tokens.pop(token, None)

    def stats(self) -> dict[str, int]:
        """Sizes of the internal tables (tests check that nothing leaks)."""
        return {
            "conversations": len(self._conversations),
            "tokens": len(self._tokens),
            "inboxes": len(self._inboxes),
            "articles_chatting": len(self._chatting),
        }


def _safely(callback: Callable[..., None], *args: object) -> None:
    try:
        callback(*args)
    except Exception:
        log.exception("broker_listener_failed")
