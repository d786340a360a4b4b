"""The Broker port's contract (``causerie.broker.base`` docstring), run against every adapter.

To add an adapter, add a factory to ``ADAPTERS``: it builds the broker on a
``FakeClock`` with ``RESUME_WINDOW`` and ``HISTORY_LIMIT``, and says how to
count what the broker still holds (for the leak test) and how to wait until
published events have reached the listeners (``settle``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import pytest

from causerie.broker.base import (
    ArticleCounts,
    Attachment,
    Broker,
    PartnerStatus,
    ResumeRefused,
    SeatTicket,
    Signal,
)
from causerie.broker.memory import MemoryBroker
from causerie.core.conversation import Event, EventKind, LeaveReason, Seat
from causerie.core.matching import Waiter
from causerie.testing import FakeClock

RESUME_WINDOW = 60.0
HISTORY_LIMIT = 50
AT_MS = 1_795_000_000_000


# --- the adapters under test ----------------------------------------------------------


@dataclass
class BrokerUnderTest:
    broker: Broker
    clock: FakeClock
    stats: Callable[[], Mapping[str, int]]  # sizes of what the adapter still holds
    settle: Callable[[], Awaitable[None]]  # returns once published events were delivered


async def memory_broker() -> BrokerUnderTest:
    clock = FakeClock()
    broker = MemoryBroker(clock=clock, resume_window=RESUME_WINDOW, history_limit=HISTORY_LIMIT)
    return BrokerUnderTest(broker, clock, broker.stats, lambda: asyncio.sleep(0))


ADAPTERS: dict[str, Callable[[], Awaitable[BrokerUnderTest]]] = {
    "memory": memory_broker,
}


@pytest.fixture(params=sorted(ADAPTERS))
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerUnderTest]:
    under_test = await ADAPTERS[request.param]()
    yield under_test
    await under_test.broker.close()


# --- recording test doubles ------------------------------------------------------------


@dataclass(eq=False)
class RecordingListener:
    """A ConversationListener that remembers everything it was told."""

    events: list[Event] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    replaced: int = 0

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_signal(self, signal: Signal) -> None:
        self.signals.append(signal)

    def on_replaced(self) -> None:
        self.replaced += 1

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]


@dataclass(eq=False)
class RecordingInbox:
    """A match callback (``listen_reader``) that remembers the tickets it got."""

    takes_the_seat: bool = True
    tickets: list[SeatTicket] = field(default_factory=list)

    async def __call__(self, ticket: SeatTicket) -> bool:
        self.tickets.append(ticket)
        return self.takes_the_seat


class RaisingListener(RecordingListener):
    def on_event(self, event: Event) -> None:
        super().on_event(event)
        raise RuntimeError("listener bug")


def new_article() -> str:
    return f"https://news.example/{uuid.uuid4().hex}"


def new_tickets(article: str | None = None) -> tuple[SeatTicket, SeatTicket]:
    unique = uuid.uuid4().hex
    article = article or new_article()
    first_reader, second_reader = f"r_{unique}_1", f"r_{unique}_2"
    first = SeatTicket(
        f"c_{unique}", Seat.FIRST, first_reader, second_reader,
        "Loutre pensive", "Hibou malicieux", article, f"t_{unique}_1",
    )  # fmt: skip
    second = SeatTicket(
        f"c_{unique}", Seat.SECOND, second_reader, first_reader,
        "Hibou malicieux", "Loutre pensive", article, f"t_{unique}_2",
    )  # fmt: skip
    return first, second


@dataclass
class Conversation:
    first: SeatTicket
    second: SeatTicket
    first_listener: RecordingListener
    second_listener: RecordingListener


async def open_attached(under_test: BrokerUnderTest, article: str | None = None) -> Conversation:
    """A conversation with a listener attached to each seat."""
    first, second = new_tickets(article)
    await under_test.broker.open_conversation(first, second)
    first_listener, second_listener = RecordingListener(), RecordingListener()
    await under_test.broker.attach(first, 0, first_listener)
    await under_test.broker.attach(second, 0, second_listener)
    return Conversation(first, second, first_listener, second_listener)


async def publish(
    under_test: BrokerUnderTest, ticket: SeatTicket, client_id: str, text: str = "salut"
) -> Event:
    event = await under_test.broker.publish_message(ticket, client_id, text, AT_MS)
    assert event is not None
    return event


async def sweep_after(under_test: BrokerUnderTest, seconds: float) -> None:
    under_test.clock.advance(seconds)
    await under_test.broker.sweep(AT_MS)
    await under_test.settle()


# --- matching ----------------------------------------------------------------------------


async def test_pairing_is_fifo_per_article(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    assert await lobby.pair_or_wait(article, Waiter("a")) is None
    assert await lobby.pair_or_wait(article, Waiter("b", frozenset({"a"}))) is None
    assert await lobby.pair_or_wait(new_article(), Waiter("elsewhere")) is None
    assert await lobby.pair_or_wait(article, Waiter("c")) == Waiter("a")
    assert await lobby.pair_or_wait(article, Waiter("d")) == Waiter("b", frozenset({"a"}))
    assert (await lobby.counts(article)).waiting == 0


async def test_pairing_skips_avoided_waiters_only(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    await lobby.pair_or_wait(article, Waiter("ex"))
    await lobby.pair_or_wait(article, Waiter("other", frozenset({"ex"})))
    assert await lobby.pair_or_wait(article, Waiter("me", frozenset({"ex"}))) == Waiter(
        "other", frozenset({"ex"})
    )
    assert (await lobby.counts(article)).waiting == 1


async def test_concurrent_pairings_take_a_waiter_at_most_once(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    await lobby.pair_or_wait(article, Waiter("waiter"))
    results = await asyncio.gather(
        lobby.pair_or_wait(article, Waiter("x")), lobby.pair_or_wait(article, Waiter("y"))
    )
    assert sorted(results, key=lambda r: r is None) == [Waiter("waiter"), None]
    assert (await lobby.counts(article)).waiting == 1


async def test_many_concurrent_joiners_pair_up_exactly(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    readers = [f"r{i}" for i in range(20)]
    results = await asyncio.gather(*(lobby.pair_or_wait(article, Waiter(r)) for r in readers))
    pairs = {(r, p.reader) for r, p in zip(readers, results, strict=True) if p is not None}
    taken = [partner for _, partner in pairs]
    takers = [reader for reader, _ in pairs]
    assert len(set(taken)) == len(taken)  # nobody taken twice
    assert not set(taken) & set(takers)  # nobody in two conversations
    waiting = (await lobby.counts(article)).waiting
    assert waiting + 2 * len(pairs) == len(readers)
    assert waiting <= 1


async def test_cancel_wait(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    await lobby.pair_or_wait(article, Waiter("a"))
    assert await lobby.cancel_wait("a") is True
    assert await lobby.cancel_wait("a") is False
    assert await lobby.cancel_wait("never-waited") is False
    assert (await lobby.counts(article)).waiting == 0


async def test_cancel_wait_after_being_taken_is_false(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    await lobby.pair_or_wait(article, Waiter("a"))
    await lobby.pair_or_wait(article, Waiter("b"))
    assert await lobby.cancel_wait("a") is False


async def test_counts_waiting_and_chatting(broker: BrokerUnderTest) -> None:
    article = new_article()
    lobby = broker.broker
    assert await lobby.counts(article) == ArticleCounts(waiting=0, chatting=0)
    await lobby.pair_or_wait(article, Waiter("w"))
    first = await open_attached(broker, article)
    await open_attached(broker, article)
    assert await lobby.counts(article) == ArticleCounts(waiting=1, chatting=4)
    await lobby.depart(first.first, LeaveReason.LEFT, AT_MS)
    assert await lobby.counts(article) == ArticleCounts(waiting=1, chatting=2)
    assert await lobby.counts(new_article()) == ArticleCounts(waiting=0, chatting=0)


async def test_notify_reader_delivers_once_to_the_listener(broker: BrokerUnderTest) -> None:
    lobby = broker.broker
    ticket, _ = new_tickets()
    inbox = RecordingInbox()
    lobby.listen_reader(ticket.reader, inbox)
    assert await lobby.notify_reader(ticket.reader, ticket) is True
    await broker.settle()
    assert inbox.tickets == [ticket]
    lobby.unlisten_reader(ticket.reader, inbox)


async def test_notify_reader_is_false_when_the_listener_declines(
    broker: BrokerUnderTest,
) -> None:
    lobby = broker.broker
    ticket, _ = new_tickets()
    closing = RecordingInbox(takes_the_seat=False)
    lobby.listen_reader(ticket.reader, closing)
    assert await lobby.notify_reader(ticket.reader, ticket) is False
    await broker.settle()
    assert closing.tickets == [ticket]
    lobby.unlisten_reader(ticket.reader, closing)


async def test_notify_reader_without_listener_is_false(broker: BrokerUnderTest) -> None:
    ticket, _ = new_tickets()
    assert await broker.broker.notify_reader(ticket.reader, ticket) is False


async def test_listen_reader_replaces_the_previous_callback(broker: BrokerUnderTest) -> None:
    lobby = broker.broker
    ticket, _ = new_tickets()
    old, new = RecordingInbox(), RecordingInbox()
    lobby.listen_reader(ticket.reader, old)
    lobby.listen_reader(ticket.reader, new)
    assert await lobby.notify_reader(ticket.reader, ticket) is True
    await broker.settle()
    assert (old.tickets, new.tickets) == ([], [ticket])
    lobby.unlisten_reader(ticket.reader, new)


async def test_unlisten_reader_only_removes_the_same_callback(broker: BrokerUnderTest) -> None:
    lobby = broker.broker
    ticket, _ = new_tickets()
    old, current = RecordingInbox(), RecordingInbox()
    lobby.listen_reader(ticket.reader, old)
    lobby.listen_reader(ticket.reader, current)
    lobby.unlisten_reader(ticket.reader, old)  # a stale connection cleaning up: no effect
    assert await lobby.notify_reader(ticket.reader, ticket) is True
    await broker.settle()
    assert current.tickets == [ticket]
    lobby.unlisten_reader(ticket.reader, current)
    assert await lobby.notify_reader(ticket.reader, ticket) is False


# --- conversations -----------------------------------------------------------------------


async def test_attach_returns_the_events_sent_before_it(broker: BrokerUnderTest) -> None:
    first, second = new_tickets()
    await broker.broker.open_conversation(first, second)
    first_listener = RecordingListener()
    await broker.broker.attach(first, 0, first_listener)
    sent = [await publish(broker, first, "m1"), await publish(broker, first, "m2")]
    second_listener = RecordingListener()
    attachment = await broker.broker.attach(second, 0, second_listener)
    assert attachment == Attachment(sent, PartnerStatus.PRESENT, 2)
    await broker.settle()
    assert first_listener.events == sent  # the sender's confirmations
    assert second_listener.events == []  # not delivered twice


async def test_first_attach_of_both_seats_reports_partner_status(broker: BrokerUnderTest) -> None:
    first, second = new_tickets()
    await broker.broker.open_conversation(first, second)
    first_listener, second_listener = RecordingListener(), RecordingListener()
    alone = await broker.broker.attach(first, 0, first_listener)
    assert (alone.missed, alone.partner_status, alone.last_seq) == ([], PartnerStatus.AWAY, 0)
    both = await broker.broker.attach(second, 0, second_listener)
    assert both.partner_status is PartnerStatus.PRESENT
    await broker.settle()
    assert first_listener.signals == []  # a first attach is no "back"


async def test_seqs_are_consecutive_and_reach_both_seats_in_order(
    broker: BrokerUnderTest,
) -> None:
    chat = await open_attached(broker)
    for i in range(10):
        await publish(broker, chat.first if i % 3 else chat.second, f"m{i}", f"texte {i}")
    await broker.settle()
    assert chat.first_listener.seqs == list(range(1, 11))
    assert chat.second_listener.seqs == list(range(1, 11))
    assert chat.first_listener.events == chat.second_listener.events
    assert [event.text for event in chat.first_listener.events] == [f"texte {i}" for i in range(10)]


async def test_resend_of_a_client_id_is_relayed_once(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    event = await publish(broker, chat.first, "m1")
    assert await broker.broker.publish_message(chat.first, "m1", "salut", AT_MS + 9) is None
    assert (await publish(broker, chat.second, "m1")).seq == event.seq + 1  # other seat
    await broker.settle()
    assert chat.first_listener.seqs == chat.second_listener.seqs == [1, 2]


async def test_resend_after_resume_is_still_a_duplicate(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await publish(broker, chat.first, "m1")
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    await broker.broker.attach(chat.first, 0, RecordingListener())
    assert await broker.broker.publish_message(chat.first, "m1", "salut", AT_MS) is None


async def test_attach_after_seq_replays_exactly_what_was_missed(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await publish(broker, chat.first, "m1")
    await publish(broker, chat.second, "m2")
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    missed = [await publish(broker, chat.second, f"n{i}") for i in range(3)]
    resumed = RecordingListener()
    attachment = await broker.broker.attach(chat.first, 2, resumed)
    assert attachment.missed == missed
    assert [event.seq for event in attachment.missed] == [3, 4, 5]
    assert attachment.last_seq == 5
    assert attachment.partner_status is PartnerStatus.PRESENT
    live = await publish(broker, chat.second, "after")
    await broker.settle()
    assert resumed.events == [live]  # nothing of the replay again
    assert chat.first_listener.seqs == [1, 2]  # the old listener got nothing more


@pytest.mark.parametrize("after_seq", [0, 1, 2, 3, 4, 5, 6])
async def test_attach_replays_every_seq_after_any_position(
    broker: BrokerUnderTest, after_seq: int
) -> None:
    chat = await open_attached(broker)
    for i in range(5):
        await publish(broker, chat.second, f"m{i}")
    attachment = await broker.broker.attach(chat.first, after_seq, RecordingListener())
    assert [event.seq for event in attachment.missed] == list(range(after_seq + 1, 6))


async def test_second_attach_replaces_the_first_listener(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    newer = RecordingListener()
    await broker.broker.attach(chat.first, 0, newer)
    await broker.settle()
    assert chat.first_listener.replaced == 1
    assert newer.replaced == 0
    event = await publish(broker, chat.second, "m1")
    await broker.settle()
    assert newer.events == [event]
    assert chat.first_listener.events == []


async def test_detach_by_a_replaced_listener_changes_nothing(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    newer = RecordingListener()
    await broker.broker.attach(chat.first, 0, newer)
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    event = await publish(broker, chat.second, "m1")
    await broker.settle()
    assert newer.events == [event]
    assert Signal.AWAY not in chat.second_listener.signals
    partner_view = await broker.broker.attach(chat.second, 1, chat.second_listener)
    assert partner_view.partner_status is PartnerStatus.PRESENT


async def test_away_then_back_signals_reach_the_partner(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    await broker.settle()
    assert chat.second_listener.signals == [Signal.AWAY]
    partner_view = await broker.broker.attach(chat.second, 0, chat.second_listener)
    assert partner_view.partner_status is PartnerStatus.AWAY
    await broker.broker.attach(chat.first, 0, RecordingListener())
    await broker.settle()
    assert chat.second_listener.signals == [Signal.AWAY, Signal.BACK]
    assert chat.first_listener.signals == []


async def test_typing_reaches_only_the_other_seat(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.signal(chat.first, Signal.TYPING)
    await broker.settle()
    assert chat.second_listener.signals == [Signal.TYPING]
    assert chat.first_listener.signals == []
    assert chat.first_listener.events == chat.second_listener.events == []


async def test_signals_are_not_stored_nor_replayed(broker: BrokerUnderTest) -> None:
    first, second = new_tickets()
    await broker.broker.open_conversation(first, second)
    await broker.broker.attach(first, 0, RecordingListener())
    await broker.broker.signal(first, Signal.TYPING)  # nobody on the other seat yet
    late = RecordingListener()
    attachment = await broker.broker.attach(second, 0, late)
    await broker.settle()
    assert attachment.missed == []
    assert late.signals == []
    assert attachment.last_seq == 0  # a signal takes no seq
    assert (await publish(broker, first, "m1")).seq == 1


@pytest.mark.parametrize("reason", [LeaveReason.LEFT, LeaveReason.NEXT])
async def test_depart_tells_the_partner_and_revokes_the_leaver(
    broker: BrokerUnderTest, reason: LeaveReason
) -> None:
    chat = await open_attached(broker)
    await publish(broker, chat.first, "m1")
    departure = await broker.broker.depart(chat.first, reason, AT_MS)
    assert departure is not None
    assert (departure.kind, departure.seat, departure.reason, departure.seq) == (
        EventKind.PARTNER_LEFT,
        Seat.FIRST,
        reason,
        2,
    )
    await broker.settle()
    assert chat.second_listener.events[-1] == departure
    assert chat.first_listener.seqs == [1]  # nobody is told that they left
    assert await broker.broker.find_seat(chat.first.resume_token) is None
    with pytest.raises(ResumeRefused):
        await broker.broker.attach(chat.first, 0, RecordingListener())
    assert await broker.broker.find_seat(chat.second.resume_token) == chat.second


async def test_a_second_depart_returns_none(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    assert await broker.broker.depart(chat.first, LeaveReason.LEFT, AT_MS) is not None
    assert await broker.broker.depart(chat.first, LeaveReason.LEFT, AT_MS) is None
    assert await broker.broker.depart(chat.second, LeaveReason.NEXT, AT_MS) is None
    await broker.settle()
    assert chat.second_listener.seqs == [1]
    # the partner's own departure revokes its token too
    assert await broker.broker.find_seat(chat.second.resume_token) is None


async def test_nothing_happens_in_an_ended_conversation(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.depart(chat.first, LeaveReason.LEFT, AT_MS)
    assert await broker.broker.publish_message(chat.second, "late", "trop tard", AT_MS) is None
    await broker.broker.signal(chat.second, Signal.TYPING)
    await broker.broker.detach(chat.second, chat.second_listener, away=True)
    await broker.settle()
    assert chat.first_listener.signals == []
    assert chat.second_listener.seqs == [1]


async def test_partner_resuming_after_a_departure_learns_it(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.detach(chat.second, chat.second_listener, away=True)
    departure = await broker.broker.depart(chat.first, LeaveReason.LEFT, AT_MS)
    attachment = await broker.broker.attach(chat.second, 0, RecordingListener())
    assert attachment.partner_status is PartnerStatus.LEFT
    assert attachment.missed == [departure]
    assert attachment.last_seq == 1
    await broker.settle()
    assert chat.first_listener.signals == [Signal.AWAY]  # no "back" once it ended


async def test_attach_before_the_history_bound_is_refused(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    for i in range(HISTORY_LIMIT + 10):  # seqs 11..60 are held
        await publish(broker, chat.second, f"m{i}")
    with pytest.raises(ResumeRefused):
        await broker.broker.attach(chat.first, 9, RecordingListener())
    with pytest.raises(ResumeRefused):
        await broker.broker.attach(chat.first, 0, RecordingListener())
    attachment = await broker.broker.attach(chat.first, 10, RecordingListener())
    assert [event.seq for event in attachment.missed] == list(range(11, HISTORY_LIMIT + 11))


async def test_unknown_seats_are_refused(broker: BrokerUnderTest) -> None:
    ticket, _ = new_tickets()
    assert await broker.broker.find_seat(ticket.resume_token) is None
    with pytest.raises(ResumeRefused):
        await broker.broker.attach(ticket, 0, RecordingListener())
    assert await broker.broker.publish_message(ticket, "m1", "x", AT_MS) is None
    assert await broker.broker.depart(ticket, LeaveReason.LEFT, AT_MS) is None
    await broker.broker.detach(ticket, RecordingListener(), away=True)  # no error


async def test_find_seat_returns_each_seat_by_its_own_token(broker: BrokerUnderTest) -> None:
    first, second = new_tickets()
    await broker.broker.open_conversation(first, second)
    assert await broker.broker.find_seat(first.resume_token) == first
    assert await broker.broker.find_seat(second.resume_token) == second


# --- expiry ----------------------------------------------------------------------------


async def test_a_seat_away_longer_than_the_window_vanishes(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    await sweep_after(broker, RESUME_WINDOW - 1)
    assert chat.second_listener.events == []
    await sweep_after(broker, 2)
    [departure] = chat.second_listener.events
    assert (departure.kind, departure.seat, departure.reason) == (
        EventKind.PARTNER_LEFT,
        Seat.FIRST,
        LeaveReason.VANISHED,
    )


async def test_coming_back_in_time_prevents_vanishing(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    await sweep_after(broker, RESUME_WINDOW - 1)
    await broker.broker.attach(chat.first, 0, RecordingListener())
    await sweep_after(broker, RESUME_WINDOW * 3)
    assert chat.second_listener.events == []


async def test_a_seat_never_attached_vanishes(broker: BrokerUnderTest) -> None:
    first, second = new_tickets()
    await broker.broker.open_conversation(first, second)
    listener = RecordingListener()
    await broker.broker.attach(second, 0, listener)
    await sweep_after(broker, RESUME_WINDOW + 1)
    assert [(event.seat, event.reason) for event in listener.events] == [
        (Seat.FIRST, LeaveReason.VANISHED)
    ]


async def test_ended_conversation_is_resumable_then_forgotten(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.detach(chat.second, chat.second_listener, away=True)
    await broker.broker.depart(chat.first, LeaveReason.LEFT, AT_MS)
    await sweep_after(broker, RESUME_WINDOW - 1)
    assert await broker.broker.find_seat(chat.second.resume_token) == chat.second
    listener = RecordingListener()
    attachment = await broker.broker.attach(chat.second, 0, listener)
    assert attachment.partner_status is PartnerStatus.LEFT
    await broker.broker.detach(chat.second, listener, away=False)
    await sweep_after(broker, 2)
    assert await broker.broker.find_seat(chat.second.resume_token) is None
    with pytest.raises(ResumeRefused):
        await broker.broker.attach(chat.second, 0, RecordingListener())


async def test_a_vanished_seat_cannot_resume(broker: BrokerUnderTest) -> None:
    chat = await open_attached(broker)
    await broker.broker.detach(chat.first, chat.first_listener, away=True)
    await sweep_after(broker, RESUME_WINDOW + 1)
    assert chat.second_listener.events[-1].reason is LeaveReason.VANISHED
    with pytest.raises(ResumeRefused):
        await broker.broker.attach(chat.first, 0, RecordingListener())


async def test_a_raising_listener_is_dropped(broker: BrokerUnderTest) -> None:
    first, second = new_tickets()
    await broker.broker.open_conversation(first, second)
    raising = RaisingListener()
    await broker.broker.attach(first, 0, raising)
    await broker.broker.attach(second, 0, RecordingListener())
    await publish(broker, second, "m1")
    await publish(broker, second, "m2")
    await broker.settle()
    assert raising.seqs == [1]


async def test_nothing_is_left_after_everything_ended_and_expired(
    broker: BrokerUnderTest,
) -> None:
    article = new_article()
    lobby = broker.broker
    inbox = RecordingInbox()
    lobby.listen_reader("lonely", inbox)
    await lobby.pair_or_wait(article, Waiter("lonely"))

    left = await open_attached(broker, article)  # one leaves on purpose
    await publish(broker, left.first, "m1")
    await lobby.depart(left.first, LeaveReason.LEFT, AT_MS)
    await lobby.detach(left.first, left.first_listener, away=False)

    vanished = await open_attached(broker, article)  # one drops and never comes back
    await lobby.detach(vanished.second, vanished.second_listener, away=True)

    abandoned_first, abandoned_second = new_tickets(article)  # nobody ever attaches
    await lobby.open_conversation(abandoned_first, abandoned_second)

    assert await lobby.cancel_wait("lonely")
    lobby.unlisten_reader("lonely", inbox)
    for _ in range(3):
        await sweep_after(broker, RESUME_WINDOW + 1)
    assert all(size == 0 for size in broker.stats().values()), broker.stats()
    assert await lobby.counts(article) == ArticleCounts(waiting=0, chatting=0)
