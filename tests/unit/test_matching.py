"""Matchmaker: FIFO per article, avoid sets, O(1) cancel — examples, a model, a state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from causerie.core.matching import AlreadyWaiting, Matchmaker, Waiter

ARTICLE = "https://news.example/a"
OTHER_ARTICLE = "https://news.example/b"


# --- examples ----------------------------------------------------------------------


def test_first_reader_waits() -> None:
    matchmaker = Matchmaker()
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r1")) is None
    assert matchmaker.waiting(ARTICLE) == 1
    assert matchmaker.is_waiting("r1")
    assert matchmaker.queue(ARTICLE) == [Waiter("r1")]


def test_second_reader_is_paired_and_the_queue_empties() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r2")) == Waiter("r1")
    assert matchmaker.waiting(ARTICLE) == 0
    assert matchmaker.queue(ARTICLE) == []
    assert not matchmaker.is_waiting("r1")
    assert not matchmaker.is_waiting("r2")


def test_oldest_waiter_is_served_first() -> None:
    matchmaker = Matchmaker()
    first = Waiter("first")
    second = Waiter("second", frozenset({"first"}))  # so that both wait
    matchmaker.pair_or_wait(ARTICLE, first)
    matchmaker.pair_or_wait(ARTICLE, second)
    assert matchmaker.queue(ARTICLE) == [first, second]
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("newcomer")) == first
    assert matchmaker.queue(ARTICLE) == [second]


def test_incompatible_oldest_is_skipped_for_the_next_compatible_one() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("ex"))
    matchmaker.pair_or_wait(ARTICLE, Waiter("stranger", frozenset({"ex"})))
    assert matchmaker.waiting(ARTICLE) == 2
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("me", frozenset({"ex"}))) == Waiter(
        "stranger", frozenset({"ex"})
    )
    assert matchmaker.queue(ARTICLE) == [Waiter("ex")]


def test_avoid_applies_whichever_side_asked() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("a", frozenset({"b"})))
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("b")) is None  # the waiter avoids b
    matchmaker.pair_or_wait(OTHER_ARTICLE, Waiter("c"))
    assert matchmaker.pair_or_wait(OTHER_ARTICLE, Waiter("d", frozenset({"c"}))) is None
    assert matchmaker.waiting(ARTICLE) == 2
    assert matchmaker.waiting(OTHER_ARTICLE) == 2


def test_articles_are_separate_queues() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    assert matchmaker.pair_or_wait(OTHER_ARTICLE, Waiter("r2")) is None
    assert matchmaker.waiting(ARTICLE) == matchmaker.waiting(OTHER_ARTICLE) == 1


def test_a_reader_cannot_wait_twice_even_on_another_article() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    with pytest.raises(AlreadyWaiting):
        matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    with pytest.raises(AlreadyWaiting):
        matchmaker.pair_or_wait(OTHER_ARTICLE, Waiter("r1"))
    assert matchmaker.queue(ARTICLE) == [Waiter("r1")]
    assert matchmaker.waiting(OTHER_ARTICLE) == 0


def test_cancel_removes_exactly_that_reader() -> None:
    matchmaker = Matchmaker()
    for reader in ("r1", "r2", "r3"):
        # all avoid each other so that they all wait
        others = frozenset({"r1", "r2", "r3"} - {reader})
        matchmaker.pair_or_wait(ARTICLE, Waiter(reader, others))
    assert matchmaker.cancel("r2") is True
    assert [waiter.reader for waiter in matchmaker.queue(ARTICLE)] == ["r1", "r3"]
    assert not matchmaker.is_waiting("r2")


def test_cancel_of_a_reader_not_waiting_is_false() -> None:
    matchmaker = Matchmaker()
    assert matchmaker.cancel("nobody") is False
    matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    matchmaker.pair_or_wait(ARTICLE, Waiter("r2"))  # takes r1
    assert matchmaker.cancel("r1") is False
    assert matchmaker.cancel("r2") is False


def test_last_cancel_empties_the_article() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    matchmaker.cancel("r1")
    assert matchmaker.waiting(ARTICLE) == 0
    assert matchmaker.queue(ARTICLE) == []
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r1")) is None  # may wait again


def test_queue_is_a_copy() -> None:
    matchmaker = Matchmaker()
    matchmaker.pair_or_wait(ARTICLE, Waiter("r1"))
    matchmaker.queue(ARTICLE).clear()
    assert matchmaker.waiting(ARTICLE) == 1


@pytest.mark.parametrize(
    ("first", "second", "compatible"),
    [
        (Waiter("a"), Waiter("b"), True),
        (Waiter("a"), Waiter("a"), False),
        (Waiter("a", frozenset({"b"})), Waiter("b"), False),
        (Waiter("a"), Waiter("b", frozenset({"a"})), False),
        (Waiter("a", frozenset({"c"})), Waiter("b", frozenset({"d"})), True),
    ],
)
def test_compatible_with_is_symmetric(first: Waiter, second: Waiter, compatible: bool) -> None:
    assert first.compatible_with(second) is compatible
    assert second.compatible_with(first) is compatible


# --- a naive reference, compared on random operation sequences -------------------

READERS = [f"r{i}" for i in range(8)]
ARTICLES = ["https://news.example/1", "https://news.example/2", "https://news.example/3"]


class ReferenceMatchmaker:
    """The rules written the obvious way: lists scanned from the front."""

    def __init__(self) -> None:
        self.queues: dict[str, list[Waiter]] = {article: [] for article in ARTICLES}

    def is_waiting(self, reader: str) -> bool:
        return any(w.reader == reader for queue in self.queues.values() for w in queue)

    def pair_or_wait(self, article: str, waiter: Waiter) -> Waiter | None:
        queue = self.queues[article]
        for other in queue:
            if waiter.compatible_with(other):
                queue.remove(other)
                return other
        queue.append(waiter)
        return None

    def cancel(self, reader: str) -> bool:
        for queue in self.queues.values():
            for waiter in queue:
                if waiter.reader == reader:
                    queue.remove(waiter)
                    return True
        return False


waiters = st.builds(
    Waiter,
    st.sampled_from(READERS),
    st.frozensets(st.sampled_from(READERS), max_size=3),
)


@dataclass(frozen=True)
class JoinOp:
    article: str
    waiter: Waiter


@dataclass(frozen=True)
class CancelOp:
    reader: str


operations = st.lists(
    st.builds(JoinOp, st.sampled_from(ARTICLES), waiters)
    | st.builds(CancelOp, st.sampled_from(READERS)),
    max_size=40,
)


@settings(max_examples=200)
@given(operations)
def test_matchmaker_agrees_with_the_reference(ops: list[JoinOp | CancelOp]) -> None:
    matchmaker = Matchmaker()
    reference = ReferenceMatchmaker()
    for op in ops:
        if isinstance(op, CancelOp):
            assert matchmaker.cancel(op.reader) == reference.cancel(op.reader)
        elif reference.is_waiting(op.waiter.reader):
            with pytest.raises(AlreadyWaiting):
                matchmaker.pair_or_wait(op.article, op.waiter)
        else:
            assert matchmaker.pair_or_wait(op.article, op.waiter) == reference.pair_or_wait(
                op.article, op.waiter
            )
        for article in ARTICLES:
            assert matchmaker.queue(article) == reference.queues[article]
            assert matchmaker.waiting(article) == len(reference.queues[article])
        for reader in READERS:
            assert matchmaker.is_waiting(reader) == reference.is_waiting(reader)


# --- readers' lives: a state machine around the matchmaker ------------------------


class Status(Enum):
    IDLE = "idle"
    WAITING = "waiting"
    CHATTING = "chatting"
    GONE = "gone"


@dataclass
class ReaderModel:
    status: Status = Status.IDLE
    article: str | None = None  # last article joined (for "next")
    partner: str | None = None  # while chatting
    avoid: frozenset[str] = field(default_factory=frozenset)  # previous partner


class MatchmakingMachine(RuleBasedStateMachine):
    """Readers join, cancel, leave, vanish and ask for "next" in any order.

    The model holds every reader's status and one FIFO list of waiters per
    article; each step checks the matchmaker's answer against the model, and
    the invariants check the whole state after every step.
    """

    def __init__(self) -> None:
        super().__init__()
        self.matchmaker = Matchmaker()
        self.readers = {reader: ReaderModel() for reader in READERS}
        self.queues: dict[str, list[Waiter]] = {article: [] for article in ARTICLES}
        self.pairings: list[tuple[str, str]] = []

    # --- helpers -------------------------------------------------------------------

    def in_status(self, status: Status) -> list[str]:
        return [reader for reader, model in self.readers.items() if model.status is status]

    def can_rejoin(self) -> list[str]:
        return [
            reader
            for reader, model in self.readers.items()
            if model.status in (Status.IDLE, Status.CHATTING) and model.article is not None
        ]

    def join(self, reader: str, article: str, avoid: frozenset[str]) -> None:
        waiter = Waiter(reader, avoid)
        queue = self.queues[article]
        expected = next((other for other in queue if waiter.compatible_with(other)), None)
        partner = self.matchmaker.pair_or_wait(article, waiter)
        model = self.readers[reader]
        model.article = article
        if partner is None:
            assert expected is None, f"{reader} queued although {expected} was compatible"
            queue.append(waiter)
            model.status = Status.WAITING
            return
        # FIFO: the oldest compatible waiter, not merely some compatible one.
        assert partner == expected
        assert partner.reader != reader
        assert partner.reader not in avoid and reader not in partner.avoid
        assert self.readers[partner.reader].status is Status.WAITING
        queue.remove(partner)
        for me, them in ((reader, partner.reader), (partner.reader, reader)):
            self.readers[me].status = Status.CHATTING
            self.readers[me].partner = them
        self.pairings.append((reader, partner.reader))

    def end_conversation(self, reader: str) -> str:
        """Both readers of ``reader``'s conversation become idle, avoiding each other."""
        partner = self.readers[reader].partner
        assert partner is not None
        for me, them in ((reader, partner), (partner, reader)):
            model = self.readers[me]
            model.status = Status.IDLE
            model.partner = None
            model.avoid = frozenset({them})
        return partner

    # --- rules ---------------------------------------------------------------------

    @precondition(lambda self: self.in_status(Status.IDLE))
    @rule(
        data=st.data(),
        article=st.sampled_from(ARTICLES),
        extra_avoid=st.frozensets(st.sampled_from(READERS), max_size=2),
    )
    def join_article(self, data: st.DataObject, article: str, extra_avoid: frozenset[str]) -> None:
        reader = data.draw(st.sampled_from(self.in_status(Status.IDLE)), label="reader")
        self.join(reader, article, self.readers[reader].avoid | extra_avoid)

    @precondition(lambda self: self.in_status(Status.WAITING))
    @rule(data=st.data(), article=st.sampled_from(ARTICLES))
    def join_while_waiting_is_refused(self, data: st.DataObject, article: str) -> None:
        reader = data.draw(st.sampled_from(self.in_status(Status.WAITING)), label="reader")
        with pytest.raises(AlreadyWaiting):
            self.matchmaker.pair_or_wait(article, Waiter(reader))

    @rule(reader=st.sampled_from(READERS))
    def cancel(self, reader: str) -> None:
        model = self.readers[reader]
        was_waiting = model.status is Status.WAITING
        assert self.matchmaker.cancel(reader) is was_waiting
        if was_waiting:
            assert model.article is not None
            self.queues[model.article] = [
                waiter for waiter in self.queues[model.article] if waiter.reader != reader
            ]
            model.status = Status.IDLE

    @precondition(lambda self: self.in_status(Status.CHATTING))
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        reader = data.draw(st.sampled_from(self.in_status(Status.CHATTING)), label="reader")
        self.end_conversation(reader)

    @precondition(lambda self: len(self.in_status(Status.GONE)) < len(READERS) - 2)
    @rule(reader=st.sampled_from(READERS))
    def disconnect(self, reader: str) -> None:
        model = self.readers[reader]
        if model.status is Status.WAITING:
            assert self.matchmaker.cancel(reader) is True
            assert model.article is not None
            self.queues[model.article] = [
                waiter for waiter in self.queues[model.article] if waiter.reader != reader
            ]
        elif model.status is Status.CHATTING:
            self.end_conversation(reader)  # the partner learns it later: "vanished"
        model.status = Status.GONE

    @precondition(lambda self: self.can_rejoin())
    @rule(data=st.data())
    def next_partner(self, data: st.DataObject) -> None:
        reader = data.draw(st.sampled_from(self.can_rejoin()), label="reader")
        model = self.readers[reader]
        if model.status is Status.CHATTING:
            self.end_conversation(reader)
        assert model.article is not None
        self.join(reader, model.article, model.avoid)

    # --- invariants ----------------------------------------------------------------

    @invariant()
    def queues_match_the_model(self) -> None:
        for article in ARTICLES:
            assert self.matchmaker.queue(article) == self.queues[article]
            assert self.matchmaker.waiting(article) == len(self.queues[article])

    @invariant()
    def a_reader_waits_in_at_most_one_queue(self) -> None:
        queued = [
            waiter.reader for article in ARTICLES for waiter in self.matchmaker.queue(article)
        ]
        assert len(queued) == len(set(queued))
        assert set(queued) == set(self.in_status(Status.WAITING))

    @invariant()
    def statuses_are_exclusive(self) -> None:
        for reader, model in self.readers.items():
            assert self.matchmaker.is_waiting(reader) is (model.status is Status.WAITING)
            if model.status is Status.CHATTING:
                partner = model.partner
                assert partner is not None and partner != reader
                assert self.readers[partner].status is Status.CHATTING
                assert self.readers[partner].partner == reader
            else:
                assert model.partner is None

    @invariant()
    def nobody_is_in_two_conversations(self) -> None:
        chatting = self.in_status(Status.CHATTING)
        partners = [self.readers[reader].partner for reader in chatting]
        assert sorted(partners, key=str) == sorted(chatting)  # each one exactly once

    @invariant()
    def pairings_are_never_with_self(self) -> None:
        assert all(first != second for first, second in self.pairings)


MatchmakingMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=35, deadline=None
)
TestMatchmakingMachine = MatchmakingMachine.TestCase


def test_two_tabs_of_one_client_are_never_paired() -> None:
    matchmaker = Matchmaker()
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("tab1", client="c1")) is None
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("tab2", client="c1")) is None
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("other", client="c2")) == Waiter(
        "tab1", client="c1"
    )


def test_a_blocked_client_is_avoided_in_both_directions() -> None:
    matchmaker = Matchmaker()
    blocker = Waiter("r1", frozenset({"c2"}), client="c1")
    assert matchmaker.pair_or_wait(ARTICLE, blocker) is None
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r2", client="c2")) is None  # blocked one
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r3", client="c3")) == blocker
    # and the other way round: the blocked one waits first, the blocker arrives
    matchmaker = Matchmaker()
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r2", client="c2")) is None
    assert matchmaker.pair_or_wait(ARTICLE, blocker) is None


def test_readers_without_a_client_are_matched_by_reader_only() -> None:
    matchmaker = Matchmaker()
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r1", frozenset({"c9"}))) is None
    assert matchmaker.pair_or_wait(ARTICLE, Waiter("r2")) == Waiter("r1", frozenset({"c9"}))
