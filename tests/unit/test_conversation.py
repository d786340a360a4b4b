"""ConversationLog: sequencing, de-duplication per seat, bounded replay; Event.wire shapes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.core.conversation import (
    ConversationEnded,
    ConversationLog,
    Event,
    EventKind,
    HistoryGap,
    LeaveReason,
    Seat,
)

AT = 1_795_000_000_000


def test_seat_other() -> None:
    assert Seat.FIRST.other is Seat.SECOND
    assert Seat.SECOND.other is Seat.FIRST


def test_history_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="history_limit"):
        ConversationLog(history_limit=0)


def test_seqs_are_consecutive_from_one() -> None:
    log = ConversationLog()
    assert log.last_seq == 0
    first = log.add_message(Seat.FIRST, "a", "salut", AT)
    second = log.add_message(Seat.SECOND, "a", "bonjour", AT + 1)
    third = log.add_message(Seat.FIRST, "b", "ça va ?", AT + 2)
    departure = log.add_departure(Seat.SECOND, LeaveReason.NEXT, AT + 3)
    assert first is not None and second is not None and third is not None
    assert [first.seq, second.seq, third.seq, departure.seq] == [1, 2, 3, 4]
    assert log.last_seq == 4


def test_message_event_fields() -> None:
    log = ConversationLog()
    event = log.add_message(Seat.SECOND, "m1", "salut", AT)
    assert event == Event(1, EventKind.MESSAGE, Seat.SECOND, AT, "salut", "m1")


def test_resend_of_the_same_id_is_dropped_without_consuming_a_seq() -> None:
    log = ConversationLog()
    assert log.add_message(Seat.FIRST, "m1", "salut", AT) is not None
    assert log.add_message(Seat.FIRST, "m1", "salut", AT + 5) is None
    assert log.add_message(Seat.FIRST, "m1", "autre texte", AT + 6) is None
    assert log.last_seq == 1
    following = log.add_message(Seat.FIRST, "m2", "encore", AT + 7)
    assert following is not None and following.seq == 2


def test_the_same_client_id_from_the_other_seat_is_not_a_duplicate() -> None:
    log = ConversationLog()
    mine = log.add_message(Seat.FIRST, "m1", "salut", AT)
    theirs = log.add_message(Seat.SECOND, "m1", "salut aussi", AT)
    assert mine is not None and theirs is not None
    assert (mine.seq, theirs.seq) == (1, 2)


def test_since_returns_the_newer_events_in_order() -> None:
    log = ConversationLog()
    events = [log.add_message(Seat(i % 2), f"m{i}", f"texte {i}", AT + i) for i in range(5)]
    assert log.since(0, Seat.FIRST) == events
    assert log.since(0, Seat.SECOND) == events
    assert log.since(3, Seat.FIRST) == events[3:]
    assert log.since(5, Seat.FIRST) == []
    assert log.since(99, Seat.SECOND) == []  # a client ahead of us gets nothing, not an error


def test_partner_left_does_not_concern_the_leaver() -> None:
    log = ConversationLog()
    message = log.add_message(Seat.FIRST, "m1", "salut", AT)
    departure = log.add_departure(Seat.FIRST, LeaveReason.LEFT, AT + 1)
    assert departure.kind is EventKind.PARTNER_LEFT
    assert departure.seat is Seat.FIRST
    assert not departure.concerns(Seat.FIRST)
    assert departure.concerns(Seat.SECOND)
    assert log.since(0, Seat.FIRST) == [message]
    assert log.since(0, Seat.SECOND) == [message, departure]
    assert log.since(1, Seat.FIRST) == []


def test_departure_ends_the_log() -> None:
    log = ConversationLog()
    assert not log.ended
    log.add_departure(Seat.SECOND, LeaveReason.VANISHED, AT)
    assert log.ended
    with pytest.raises(ConversationEnded):
        log.add_message(Seat.FIRST, "m1", "trop tard", AT + 1)
    with pytest.raises(ConversationEnded):
        log.add_departure(Seat.FIRST, LeaveReason.LEFT, AT + 1)
    assert log.last_seq == 1


def test_history_gap_when_events_were_dropped() -> None:
    log = ConversationLog(history_limit=3)
    for i in range(5):  # seqs 1..5; 3, 4, 5 are held
        log.add_message(Seat.FIRST, f"m{i}", "x", AT)
    with pytest.raises(HistoryGap):
        log.since(0, Seat.SECOND)
    with pytest.raises(HistoryGap):
        log.since(1, Seat.SECOND)


def test_no_history_gap_exactly_at_the_boundary() -> None:
    log = ConversationLog(history_limit=3)
    for i in range(5):
        log.add_message(Seat.FIRST, f"m{i}", "x", AT)
    assert [event.seq for event in log.since(2, Seat.SECOND)] == [3, 4, 5]
    assert [event.seq for event in log.since(4, Seat.SECOND)] == [5]


def test_no_history_gap_when_nothing_is_missing() -> None:
    log = ConversationLog(history_limit=1)
    for i in range(3):
        log.add_message(Seat.FIRST, f"m{i}", "x", AT)
    assert log.since(3, Seat.FIRST) == []  # up to date, although seqs 1 and 2 were dropped


def test_dedup_holds_within_the_history_bound() -> None:
    log = ConversationLog(history_limit=3)
    for i in range(3):
        log.add_message(Seat.FIRST, f"m{i}", "x", AT)
    assert all(log.add_message(Seat.FIRST, f"m{i}", "x", AT) is None for i in range(3))
    assert log.last_seq == 3


# --- wire shapes -------------------------------------------------------------------


def test_wire_of_a_message_for_its_author() -> None:
    event = Event(7, EventKind.MESSAGE, Seat.FIRST, AT, "salut", "m1")
    assert event.wire(Seat.FIRST) == {
        "type": "message",
        "seq": 7,
        "from": "you",
        "id": "m1",
        "text": "salut",
        "at": AT,
    }


def test_wire_of_a_message_for_the_partner_has_no_client_id() -> None:
    event = Event(7, EventKind.MESSAGE, Seat.FIRST, AT, "salut", "m1")
    wire = event.wire(Seat.SECOND)
    assert wire == {"type": "message", "seq": 7, "from": "partner", "text": "salut", "at": AT}
    assert "id" not in wire


@pytest.mark.parametrize("reason", list(LeaveReason))
def test_wire_of_partner_left(reason: LeaveReason) -> None:
    event = Event(3, EventKind.PARTNER_LEFT, Seat.SECOND, AT, reason=reason)
    assert event.wire(Seat.FIRST) == {"type": "partner_left", "seq": 3, "reason": reason.value}


# --- stale state + missed events == fresh state -----------------------------------

CLIENT_IDS = [f"m{i}" for i in range(6)]  # few ids: resends happen often

sends = st.tuples(st.sampled_from(Seat), st.sampled_from(CLIENT_IDS), st.text(max_size=5))


@settings(max_examples=200)
@given(
    history_limit=st.integers(min_value=1, max_value=12),
    messages=st.lists(sends, max_size=40),
    leaver=st.none() | st.sampled_from(Seat),
)
def test_replay_is_the_suffix_of_what_was_delivered(
    history_limit: int,
    messages: list[tuple[Seat, str, str]],
    leaver: Seat | None,
) -> None:
    """A reader that saw up to ``after`` and replays the rest sees what a live reader saw."""
    log = ConversationLog(history_limit)
    delivered: dict[Seat, list[Event]] = {Seat.FIRST: [], Seat.SECOND: []}
    sent_by: dict[Seat, dict[str, int]] = {Seat.FIRST: {}, Seat.SECOND: {}}
    for at, (seat, client_id, text) in enumerate(messages):
        event = log.add_message(seat, client_id, text, at)
        held_seq = sent_by[seat].get(client_id)
        if held_seq is not None and held_seq > log.last_seq - history_limit:
            assert event is None  # a resend while the original is still held
        if held_seq is None:
            assert event is not None  # never sent by this seat: always relayed
        if event is None:
            continue
        assert event.seq == log.last_seq
        sent_by[seat][client_id] = event.seq
        for receiver in Seat:
            if event.concerns(receiver):
                delivered[receiver].append(event)
    if leaver is not None:
        departure = log.add_departure(leaver, LeaveReason.LEFT, len(messages))
        delivered[leaver.other].append(departure)

    all_seqs = sorted({event.seq for events in delivered.values() for event in events})
    assert all_seqs == list(range(1, log.last_seq + 1))
    oldest_held = max(1, log.last_seq - history_limit + 1)
    for seat in Seat:
        for after in range(oldest_held - 1, log.last_seq + 2):
            expected = [event for event in delivered[seat] if event.seq > after]
            assert log.since(after, seat) == expected
        for after in range(oldest_held - 1):
            with pytest.raises(HistoryGap):
                log.since(after, seat)
