"""The connection state machine is a total table; decide() applies it."""

from __future__ import annotations

from itertools import product
from typing import get_args

import pytest

from causerie.core.errors import ClientError, ErrorCode
from causerie.core.protocol import (
    Block,
    ClientFrame,
    Join,
    Leave,
    Next,
    Ping,
    Report,
    Resume,
    SendMessage,
    Typing,
)
from causerie.core.safety import ReportReason
from causerie.core.session import TRANSITIONS, Action, Phase, decide

FRAME_TYPES: tuple[type[ClientFrame], ...] = get_args(ClientFrame)

SAMPLE_FRAMES: dict[type[ClientFrame], ClientFrame] = {
    Join: Join("https://news.example/a"),
    SendMessage: SendMessage("m1", "salut"),
    Typing: Typing(),
    Next: Next(),
    Leave: Leave(),
    Resume: Resume("t_abc", 3),
    Ping: Ping(),
    Block: Block(),
    Report: Report(ReportReason.INSULT, "", ()),
}

ALL_PAIRS = list(product(Phase, FRAME_TYPES))


def test_every_frame_type_has_a_sample() -> None:
    assert set(SAMPLE_FRAMES) == set(FRAME_TYPES)


def test_the_table_is_total_and_has_nothing_else() -> None:
    assert set(TRANSITIONS) == set(ALL_PAIRS)
    assert len(TRANSITIONS) == len(Phase) * len(FRAME_TYPES)


def test_every_action_is_reachable() -> None:
    assert {o for o in TRANSITIONS.values() if isinstance(o, Action)} == set(Action)


def test_ping_is_always_answered() -> None:
    assert all(TRANSITIONS[phase, Ping] is Action.PONG for phase in Phase)


@pytest.mark.parametrize(("phase", "frame_type"), ALL_PAIRS)
def test_decide_follows_the_table(phase: Phase, frame_type: type[ClientFrame]) -> None:
    outcome = TRANSITIONS[phase, frame_type]
    frame = SAMPLE_FRAMES[frame_type]
    if isinstance(outcome, ErrorCode):
        with pytest.raises(ClientError) as caught:
            decide(phase, frame, has_article=True, has_partner=True)
        assert caught.value.code is outcome
    else:
        assert decide(phase, frame, has_article=True, has_partner=True) is outcome


@pytest.mark.parametrize(
    ("phase", "frame", "code"),
    [
        (Phase.IDLE, SendMessage("m1", "x"), ErrorCode.NOT_IN_CONVERSATION),
        (Phase.IDLE, Typing(), ErrorCode.NOT_IN_CONVERSATION),
        (Phase.IDLE, Leave(), ErrorCode.NOT_IN_CONVERSATION),
        (Phase.WAITING, SendMessage("m1", "x"), ErrorCode.NOT_IN_CONVERSATION),
        (Phase.WAITING, Typing(), ErrorCode.NOT_IN_CONVERSATION),
        (Phase.WAITING, Join("https://news.example/a"), ErrorCode.ALREADY_WAITING),
        (Phase.WAITING, Next(), ErrorCode.ALREADY_WAITING),
        (Phase.WAITING, Resume("t", 0), ErrorCode.ALREADY_WAITING),
        (Phase.CHATTING, Join("https://news.example/a"), ErrorCode.ALREADY_IN_CONVERSATION),
        (Phase.CHATTING, Resume("t", 0), ErrorCode.ALREADY_IN_CONVERSATION),
    ],
)
def test_refusals_documented_in_the_protocol(
    phase: Phase, frame: ClientFrame, code: ErrorCode
) -> None:
    with pytest.raises(ClientError) as caught:
        decide(phase, frame, has_article=True)
    assert caught.value.code is code


@pytest.mark.parametrize(
    ("phase", "frame", "action"),
    [
        (Phase.IDLE, Join("https://news.example/a"), Action.JOIN),
        (Phase.IDLE, Resume("t", 0), Action.RESUME),
        (Phase.WAITING, Leave(), Action.CANCEL),
        (Phase.CHATTING, SendMessage("m1", "x"), Action.SEND),
        (Phase.CHATTING, Typing(), Action.TYPING),
        (Phase.CHATTING, Leave(), Action.LEAVE),
        (Phase.CHATTING, Next(), Action.REJOIN),
    ],
)
def test_allowed_actions(phase: Phase, frame: ClientFrame, action: Action) -> None:
    assert decide(phase, frame, has_article=True) is action


def test_next_from_idle_without_an_article_is_refused() -> None:
    with pytest.raises(ClientError) as caught:
        decide(Phase.IDLE, Next(), has_article=False)
    assert caught.value.code is ErrorCode.NO_ARTICLE


def test_next_from_idle_with_an_article_rejoins() -> None:
    assert decide(Phase.IDLE, Next(), has_article=True) is Action.REJOIN


@pytest.mark.parametrize("frame_type", [t for t in FRAME_TYPES if t is not Next])
def test_has_article_matters_only_for_next(frame_type: type[ClientFrame]) -> None:
    frame = SAMPLE_FRAMES[frame_type]
    for phase in Phase:
        outcomes: list[Action | ErrorCode] = []
        for has_article in (True, False):
            try:
                outcomes.append(decide(phase, frame, has_article=has_article))
            except ClientError as error:
                outcomes.append(error.code)
        assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("phase", [Phase.IDLE, Phase.WAITING])
def test_refused_message_carries_its_id_as_ref(phase: Phase) -> None:
    with pytest.raises(ClientError) as caught:
        decide(phase, SendMessage("m42", "salut"), has_article=True)
    assert caught.value.ref == "m42"


@pytest.mark.parametrize(
    ("phase", "frame_type"),
    [
        pair
        for pair in ALL_PAIRS
        if isinstance(TRANSITIONS[pair], ErrorCode) and pair[1] is not SendMessage
    ],
)
def test_other_refusals_carry_no_ref(phase: Phase, frame_type: type[ClientFrame]) -> None:
    with pytest.raises(ClientError) as caught:
        decide(phase, SAMPLE_FRAMES[frame_type], has_article=True)
    assert caught.value.ref is None


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("frame", [Block(), Report(ReportReason.SPAM, "", ())])
def test_block_and_report_need_a_current_or_last_partner(phase: Phase, frame: ClientFrame) -> None:
    with pytest.raises(ClientError) as caught:
        decide(phase, frame, has_article=True, has_partner=False)
    assert caught.value.code is ErrorCode.NO_PARTNER
    expected = Action.BLOCK if isinstance(frame, Block) else Action.REPORT
    assert decide(phase, frame, has_article=False, has_partner=True) is expected
