"""One reader connection's state machine, written as a table.

The adapter asks :func:`decide` what a frame means in the current phase and
then performs the returned :class:`Action`; a (phase, frame) pair absent
from :data:`TRANSITIONS` cannot happen, and a pair mapped to an
:class:`ErrorCode` is refused with that code.

::

    IDLE ──join/next──► WAITING ──(partner found)──► CHATTING
      ▲ ◄────leave───────┘                              │
      └──────────── leave / partner_left ◄──────────────┘
    IDLE ──resume──► CHATTING        CHATTING ──next──► WAITING
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

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


class Phase(StrEnum):
    IDLE = "idle"
    WAITING = "waiting"
    CHATTING = "chatting"


class Action(StrEnum):
    JOIN = "join"
    REJOIN = "rejoin"  # "next": leave what you are in, wait again on the same article
    CANCEL = "cancel"  # stop waiting
    SEND = "send"
    TYPING = "typing"
    LEAVE = "leave"  # leave the conversation
    RESUME = "resume"
    PONG = "pong"
    BLOCK = "block"  # block the current or last partner (ends a conversation)
    REPORT = "report"  # report the current or last partner


TRANSITIONS: Final[dict[tuple[Phase, type[ClientFrame]], Action | ErrorCode]] = {
    (Phase.IDLE, Join): Action.JOIN,
    (Phase.IDLE, Next): Action.REJOIN,
    (Phase.IDLE, Resume): Action.RESUME,
    (Phase.IDLE, SendMessage): ErrorCode.NOT_IN_CONVERSATION,
    (Phase.IDLE, Typing): ErrorCode.NOT_IN_CONVERSATION,
    (Phase.IDLE, Leave): ErrorCode.NOT_IN_CONVERSATION,
    (Phase.IDLE, Ping): Action.PONG,
    (Phase.WAITING, Join): ErrorCode.ALREADY_WAITING,
    (Phase.WAITING, Next): ErrorCode.ALREADY_WAITING,
    (Phase.WAITING, Resume): ErrorCode.ALREADY_WAITING,
    (Phase.WAITING, SendMessage): ErrorCode.NOT_IN_CONVERSATION,
    (Phase.WAITING, Typing): ErrorCode.NOT_IN_CONVERSATION,
    (Phase.WAITING, Leave): Action.CANCEL,
    (Phase.WAITING, Ping): Action.PONG,
    (Phase.CHATTING, Join): ErrorCode.ALREADY_IN_CONVERSATION,
    (Phase.CHATTING, Next): Action.REJOIN,
    (Phase.CHATTING, Resume): ErrorCode.ALREADY_IN_CONVERSATION,
    (Phase.CHATTING, SendMessage): Action.SEND,
    (Phase.CHATTING, Typing): Action.TYPING,
    (Phase.CHATTING, Leave): Action.LEAVE,
    (Phase.CHATTING, Ping): Action.PONG,
    # Block and report concern the current partner, or the last one until the next match.
    (Phase.IDLE, Block): Action.BLOCK,
    (Phase.WAITING, Block): Action.BLOCK,
    (Phase.CHATTING, Block): Action.BLOCK,
    (Phase.IDLE, Report): Action.REPORT,
    (Phase.WAITING, Report): Action.REPORT,
    (Phase.CHATTING, Report): Action.REPORT,
}


def decide(
    phase: Phase, frame: ClientFrame, *, has_article: bool, has_partner: bool = False
) -> Action:
    """The action ``frame`` asks for in ``phase``, or raise the refusal.

    ``has_article``: whether this connection joined an article before, which
    "next" from IDLE needs. ``has_partner``: whether it has a current or last
    partner, which "block" and "report" need.
    """
    outcome = TRANSITIONS[phase, type(frame)]
    if isinstance(outcome, ErrorCode):
        ref = frame.id if isinstance(frame, SendMessage) else None
        raise ClientError(outcome, ref=ref)
    if outcome is Action.REJOIN and not has_article:
        raise ClientError(ErrorCode.NO_ARTICLE)
    if outcome in (Action.BLOCK, Action.REPORT) and not has_partner:
        raise ClientError(ErrorCode.NO_PARTNER)
    return outcome
