"""The Broker port: matching queues, conversation relay, presence and resume state.

One interface, two adapters (``memory.py`` for the embedded default, a Redis
adapter for clusters) that pass the same contract suite,
``tests/contract/test_broker_contract.py``. Nothing here ever touches disk.

Delivery guarantees every adapter gives
---------------------------------------

Matching
  - ``pair_or_wait`` is atomic: of two concurrent calls, at most one takes a
    given waiter. Queues are FIFO per article; a newcomer is paired with the
    oldest *compatible* waiter (see ``causerie.core.matching``).
  - ``cancel_wait`` returns False if the waiter was already taken; its match
    notification then arrives (or has arrived) through ``listen_reader``.
  - A match notification is delivered at most once, to the reader's current
    inbox listener, whose callback answers whether it took the seat;
    ``notify_reader`` returns False if none is listening or it declined (its
    socket is closing): the caller then departs that seat and pairs again.

Conversations
  - Sequenced events (messages, departures) get consecutive ``seq`` numbers
    per conversation, 1, 2, 3…, and reach every attached listener of a seat
    they concern in ``seq`` order, each once.
  - ``publish_message`` relays each ``(seat, client_id)`` at most once per
    conversation (within the history bound): a repeat returns None.
  - ``attach`` returns the events with ``seq > after_seq`` that the seat has
    not seen; live events after them go to the listener, never before
    ``attach`` has returned, and never one that is in the returned list. If
    some of the missed events were already dropped (history bound), or the
    seat's resume window is over, it raises :class:`ResumeRefused`: never a
    silent gap.
  - A seat has at most one listener; attaching a second calls
    ``on_replaced`` on the first, which must then close its socket.
  - Signals (typing, away, back) are ephemeral: delivered to the listener of
    the other seat if one is attached at that moment, never stored.
  - A seat detached as "away" for longer than ``resume_window`` is departed
    with reason ``vanished`` by ``sweep``, which every node calls about
    once a second. An ended conversation stays resumable for
    ``resume_window`` (so an away reader learns that its partner left), then
    it is forgotten with its history.
  - The resume token of a seat that departed on purpose is revoked at once.

Failure mode
  - Adapter exceptions (connection lost…) are translated to
    :class:`BrokerUnavailable`; callers answer ``server_error`` and keep the
    socket. Listener callbacks must not raise; an adapter logs and drops a
    listener that does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from causerie.core.conversation import Event, LeaveReason, Seat
from causerie.core.errors import CauserieError
from causerie.core.matching import Waiter


class BrokerUnavailable(CauserieError):
    """The broker's backing service failed; raised ``from`` the original error."""


class ResumeRefused(CauserieError):
    """The seat cannot be (re)attached: unknown, expired, or history dropped."""


class Signal(StrEnum):
    TYPING = "typing"
    AWAY = "partner_away"
    BACK = "partner_back"


class PartnerStatus(StrEnum):
    PRESENT = "present"
    AWAY = "away"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class SeatTicket:
    """Everything one reader holds about its seat. Server-side only.

    ``reader`` and ``partner_reader`` are the lobby ids (used to avoid
    re-pairing); ``partner_client`` and ``partner_address`` are the keyed
    hashes of the partner's chat client and address (None if unknown), what a
    block or a report names. None of these ever goes on the wire: the client
    only ever learns ``conversation``, the two pseudonyms, ``article`` and its
    own ``resume_token``.
    """

    conversation: str
    seat: Seat
    reader: str
    partner_reader: str
    you: str
    partner: str
    article: str
    resume_token: str
    partner_client: str | None = None
    partner_address: str | None = None
    client: str | None = None  # the seat holder's own client hash (restored on resume)


@dataclass(frozen=True, slots=True)
class ArticleCounts:
    waiting: int
    chatting: int


@dataclass(frozen=True, slots=True)
class Attachment:
    """The result of :meth:`Broker.attach`: what the seat missed, and its partner's state."""

    missed: list[Event]
    partner_status: PartnerStatus
    last_seq: int


class ConversationListener(Protocol):
    """A connection attached to a seat. Callbacks are synchronous and must not raise."""

    def on_event(self, event: Event) -> None: ...

    def on_signal(self, signal: Signal) -> None: ...

    def on_replaced(self) -> None: ...


MatchCallback = Callable[[SeatTicket], Awaitable[bool]]
"""Called with the reader's seat when it is matched; returns False to decline it."""


class Broker(Protocol):
    """See the module docstring for the guarantees."""

    # --- lobby --------------------------------------------------------------------
    async def pair_or_wait(self, article: str, waiter: Waiter) -> Waiter | None: ...

    async def cancel_wait(self, reader: str) -> bool: ...

    async def counts(self, article: str) -> ArticleCounts: ...

    def listen_reader(self, reader: str, callback: MatchCallback) -> None: ...

    def unlisten_reader(self, reader: str, callback: MatchCallback) -> None: ...

    async def notify_reader(self, reader: str, ticket: SeatTicket) -> bool: ...

    # --- conversations ------------------------------------------------------------
    async def open_conversation(self, first: SeatTicket, second: SeatTicket) -> None: ...

    async def find_seat(self, resume_token: str) -> SeatTicket | None: ...

    async def attach(
        self, ticket: SeatTicket, after_seq: int, listener: ConversationListener
    ) -> Attachment: ...

    async def detach(
        self, ticket: SeatTicket, listener: ConversationListener, *, away: bool
    ) -> None: ...

    async def publish_message(
        self, ticket: SeatTicket, client_id: str, text: str, at_ms: int
    ) -> Event | None: ...

    async def signal(self, ticket: SeatTicket, signal: Signal) -> None: ...

    async def depart(self, ticket: SeatTicket, reason: LeaveReason, at_ms: int) -> Event | None: ...

    # --- housekeeping -------------------------------------------------------------
    async def sweep(self, at_ms: int) -> None: ...

    async def close(self) -> None: ...
