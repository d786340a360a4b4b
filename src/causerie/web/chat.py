"""The chat socket, ``/ws/v1/chat``: a loop around the core.

For each frame: parse it (``core.protocol``), ask the state table what it
means (``core.session.decide``), perform the effects through the Broker,
and push the resulting events into the connection's bounded outbox. No
decision is taken here that the core could take, and nothing on this path
touches a database or a disk.

Failure modes:

- a client error becomes an ``error`` event; the socket stays open;
- a broker failure becomes ``server_error`` (logged with context, never
  with chat text); the socket stays open;
- a reader that does not drain its outbox (``outbox_frames``) is closed
  with 4001 and can resume: the conversation's events are held by the broker;
- a reader silent for ``heartbeat_timeout`` is closed with 4000;
- a database failure on ``join`` (bans, blocks) or ``report`` becomes
  ``server_error``; relaying never touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs

import structlog
from starlette.types import Receive, Scope, Send

from causerie.broker.base import (
    Broker,
    BrokerUnavailable,
    PartnerStatus,
    ResumeRefused,
    SeatTicket,
    Signal,
)
from causerie.core.articles import site_of
from causerie.core.conversation import Event, EventKind, LeaveReason, Seat
from causerie.core.errors import ClientError, ErrorCode
from causerie.core.identity import address_hash, client_hash
from causerie.core.matching import Waiter
from causerie.core.moderation.policy import Action as Moderation
from causerie.core.moderation.policy import Context, Policy, Verdict
from causerie.core.protocol import (
    ClientFrame,
    Join,
    Limits,
    Report,
    Resume,
    SendMessage,
    encode,
    error_event,
    hello_event,
    parse_frame,
)
from causerie.core.pseudonyms import pseudonym_pair
from causerie.core.ratelimit import KeyedBuckets, TokenBucket
from causerie.core.safety import US, Ban, BanKind, NewReport
from causerie.core.session import Action, Phase, decide
from causerie.settings import Settings
from causerie.store.database import StoreError
from causerie.store.safety import SafetyStore
from causerie.web.sites import SitePolicies
from causerie.web.wsprotocol import SEND_TEXT_NOWAIT

log = structlog.get_logger(__name__)

CLOSE_FORBIDDEN_ORIGIN: Final = 1008
CLOSE_TRY_LATER: Final = 1013
CLOSE_HEARTBEAT: Final = 4000
CLOSE_TOO_SLOW: Final = 4001
CLOSE_REPLACED: Final = 4002
TYPING_INTERVAL: Final = 1.0  # seconds: at most one typing signal relayed per second

_SIGNAL_FRAMES: Final = {
    Signal.TYPING: encode({"type": "typing", "from": "partner"}),
    Signal.AWAY: encode({"type": "partner_away"}),
    Signal.BACK: encode({"type": "partner_back"}),
}
_PONG: Final = encode({"type": "pong"})
_REPORTED: Final = encode({"type": "reported"})
_LEFT: Final = encode({"type": "left"})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class _Gate:
    lock: asyncio.Lock
    users: int = 0


class ChatService:
    """What every chat connection of this process shares: settings, broker, clocks."""

    def __init__(
        self,
        settings: Settings,
        broker: Broker,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = _wall_ms,
        secret: bytes = b"",
        policies: SitePolicies | None = None,
        safety: SafetyStore | None = None,
    ) -> None:
        self.settings = settings
        self.safety = safety
        self.broker = broker
        self.clock = clock
        self.wall_ms = wall_ms
        self.rng = secrets.SystemRandom()
        self.limits = Limits(
            text_chars=settings.text_chars,
            frame_bytes=settings.frame_bytes,
            messages_per_second=settings.messages_per_second,
            message_burst=settings.message_burst,
            joins_per_minute=settings.joins_per_minute,
        )
        self.hello = encode(
            hello_event(
                self.limits, settings.heartbeat, settings.heartbeat_timeout, settings.resume_window
            )
        )
        self.connections: set[Connection] = set()
        self.allowed_origins = frozenset(settings.site_origins)
        self.secret = secret
        self.policies = policies  # None: chat moderation off
        # offender (client hash, else address hash) -> clock time its cooldown ends
        self.cooldowns: dict[str, float] = {}
        per_minute = settings.client_connections_per_minute
        self.client_connections = KeyedBuckets(per_minute / 60.0, per_minute)
        per_minute = settings.client_joins_per_minute
        self.client_joins = KeyedBuckets(per_minute / 60.0, per_minute)
        per_hour = settings.reports_per_hour
        self.client_reports = KeyedBuckets(per_hour / 3600.0, per_hour)
        self._lobby_locks: dict[str, _Gate] = {}

    @contextlib.asynccontextmanager
    async def lobby(self, article: str) -> AsyncIterator[None]:
        """Serve the joins of one article in the order they arrived.

        A join looks up bans and blocks in the store before it is paired: without
        this, a faster lookup would let a later reader overtake an earlier one.
        """
        entry = self._lobby_locks.get(article)
        if entry is None:
            entry = self._lobby_locks[article] = _Gate(asyncio.Lock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if not entry.users:
                del self._lobby_locks[article]

    def client_key(self, scope: Scope) -> str:
        """The client's keyed, daily-rotated address hash (never the address itself)."""
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return address_hash(self.secret, address, time.strftime("%Y-%m-%d", time.gmtime()))

    def now_us(self) -> int:
        return self.wall_ms() * 1000

    async def enforce_ban(self, ban: Ban) -> None:
        """A moderator banned someone: end what their connections of this process are doing.

        Each connection that matches leaves its conversation (the partner sees an
        ordinary departure) or its queue and is told ``banned``; its socket stays
        open, but every later ``join`` is refused while the ban lasts.
        """
        for connection in list(self.connections):
            if connection.matches(ban):
                try:
                    await connection.banned()
                except (BrokerUnavailable, OSError):
                    log.warning("chat_ban_enforce_failed", exc_info=True)

    def token(self, prefix: str) -> str:
        return prefix + secrets.token_urlsafe(18)

    def origin_allowed(self, origin: str | None, own_origin: str | None) -> bool:
        """Browsers always send Origin; only causerie's own and configured sites may connect."""
        if origin is None:
            return True
        origin = origin.rstrip("/")
        if self.settings.public_url:
            own_origin = self.settings.public_url.rstrip("/")
        return origin == own_origin or origin in self.allowed_origins

    async def run_sweeper(self) -> None:
        """Once per ``sweep_interval``: close silent sockets, let the broker expire state."""
        timeout = self.settings.heartbeat_timeout
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            now = self.clock()
            for connection in list(self.connections):
                if now - connection.last_seen > timeout:
                    connection.close(CLOSE_HEARTBEAT)
            for client, until in list(self.cooldowns.items()):
                if until <= now:
                    del self.cooldowns[client]
            try:
                await self.broker.sweep(self.wall_ms())
            except BrokerUnavailable:
                log.warning("broker_sweep_failed", exc_info=True)
            except Exception:  # a bug must not stop heartbeats and expiry for good
                log.exception("chat_sweep_failed")


class Connection:
    """One reader's socket: its phase, its seat, its bounded outbox."""

    __slots__ = (
        "_ended_ticket",
        "_in_send",
        "_join_bucket",
        "_message_bucket",
        "_send",
        "_send_nowait",
        "_writer",
        "article",
        "blocked",
        "client",
        "closing",
        "identity",
        "lang",
        "last_partner",
        "last_seen",
        "last_typing",
        "outbox",
        "phase",
        "policy",
        "reader",
        "recent",
        "replaced",
        "reported",
        "service",
        "ticket",
        "violations",
    )

    def __init__(
        self,
        service: ChatService,
        send: Send,
        lang: str,
        send_nowait: Callable[[str], bool] | None = None,
        client: str = "",
    ) -> None:
        self.service = service
        self.client = client
        self._send = send
        self._send_nowait = send_nowait
        self.lang = lang
        self.phase = Phase.IDLE
        self.ticket: SeatTicket | None = None
        self._ended_ticket: SeatTicket | None = None
        self.article: str | None = None
        self.reader: str | None = None
        self.outbox: deque[str | int] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._in_send = False
        self.closing = False
        self.replaced = False
        self.last_seen = service.clock()
        self.last_typing = -TYPING_INTERVAL
        self._message_bucket: TokenBucket | None = None
        self._join_bucket: TokenBucket | None = None
        self.recent: deque[str] = deque(maxlen=5)  # this reader's last texts (repeat spam)
        self.violations = 0
        self.identity: str | None = None  # keyed hash of the widget's client secret
        self.last_partner: SeatTicket | None = None  # the current or last conversation
        self.blocked: frozenset[str] = frozenset()  # readers and clients blocked on this socket
        self.reported: set[str] = set()  # conversations this socket reported
        self.policy: Policy | None = None  # the moderation of the current article's site

    # --- outbox -------------------------------------------------------------------

    def push(self, text: str) -> None:
        """Queue a frame; a full outbox means a reader too slow to keep: close it.

        "Full" means ``outbox_frames`` queued while the writer is stuck in a
        send (the transport is paused: the reader does not read). Frames queued
        while the writer merely waits for its turn on the event loop (a burst
        of frames handled in one go) count only against a hard cap of four
        times the bound.
        """
        if self.closing:
            return
        queued = len(self.outbox)
        if not queued and self._send_nowait is not None and self._send_nowait(text):
            return  # written (or buffered for this loop turn) without a task
        limit = self.service.settings.outbox_frames
        if queued >= limit and (self._in_send or queued >= 4 * limit):
            log.info("chat_outbox_overflow", queued=queued)
            self.close(CLOSE_TOO_SLOW)
            return
        self.outbox.append(text)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    def close(self, code: int) -> None:
        """Close the socket with ``code`` once what is being written is written."""
        if self.closing:
            return
        self.closing = True
        self.outbox.clear()
        self.outbox.append(code)
        if self._writer is not None and self._in_send:
            # Stuck behind a reader that does not read: the close must not wait for it.
            self._writer.cancel()
            self._writer = None
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        send = self._send
        outbox = self.outbox
        try:
            while outbox:
                item = outbox.popleft()
                if isinstance(item, int):
                    outbox.clear()
                    await send({"type": "websocket.close", "code": item})
                    break
                self._in_send = True
                await send({"type": "websocket.send", "text": item})
                self._in_send = False
        except OSError:  # uvicorn's ClientDisconnected: the receive loop will see it too
            outbox.clear()
        finally:
            if self._writer is asyncio.current_task():
                self._in_send = False
                self._writer = None

    # --- ConversationListener -------------------------------------------------------

    def on_event(self, event: Event) -> None:
        ticket = self.ticket
        if ticket is None:
            return
        self.push(encode(event.wire(ticket.seat)))
        if event.kind is EventKind.PARTNER_LEFT:
            self._conversation_over(ticket)

    def on_signal(self, signal: Signal) -> None:
        self.push(_SIGNAL_FRAMES[signal])

    def on_replaced(self) -> None:
        self.replaced = True
        self.ticket = None
        self.phase = Phase.IDLE
        self.close(CLOSE_REPLACED)

    # --- frames -------------------------------------------------------------------

    async def receive_text(self, text: str) -> None:
        self.last_seen = self.service.clock()
        try:
            frame = parse_frame(text, self.service.limits)
            action = decide(
                self.phase,
                frame,
                has_article=self.article is not None,
                has_partner=self.last_partner is not None,
            )
            await self._perform(action, frame)
        except ClientError as error:
            self.refuse(error)
        except BrokerUnavailable:
            log.warning("chat_broker_unavailable", exc_info=True)
            self.refuse(ClientError(ErrorCode.SERVER_ERROR))
        except StoreError:
            log.warning("chat_store_unavailable", exc_info=True)
            self.refuse(ClientError(ErrorCode.SERVER_ERROR))
        except Exception:
            log.exception("chat_frame_failed", phase=self.phase.value)
            self.refuse(ClientError(ErrorCode.SERVER_ERROR))

    def receive_bytes(self) -> None:
        self.last_seen = self.service.clock()
        self.refuse(ClientError(ErrorCode.BINARY_FRAME))

    def refuse(self, error: ClientError) -> None:
        self.push(encode(error_event(error, self.lang)))

    async def _perform(self, action: Action, frame: ClientFrame) -> None:
        """Carry out what ``decide`` chose (TRANSITIONS pairs each action with its frame type)."""
        if action is Action.SEND and isinstance(frame, SendMessage):
            await self._send_message(frame)
        elif action is Action.PONG:
            self.push(_PONG)
        elif action is Action.TYPING:
            await self._typing()
        elif action is Action.JOIN and isinstance(frame, Join):
            if frame.client is not None:
                self.identity = client_hash(self.service.secret, frame.client)
            self._check_join_rate()
            self.article = frame.article
            await self._wait_or_pair()
        elif action is Action.REJOIN:
            self._check_join_rate()
            if self.ticket is not None:
                await self._depart(LeaveReason.NEXT)
            await self._wait_or_pair()
        elif action is Action.LEAVE:
            await self._depart(LeaveReason.LEFT)
            self.push(_LEFT)
        elif action is Action.CANCEL:
            await self._cancel()
        elif action is Action.RESUME and isinstance(frame, Resume):
            await self._resume(frame)
        elif action is Action.BLOCK:
            await self._block()
        elif action is Action.REPORT and isinstance(frame, Report):
            await self._report(frame)
        else:
            raise InvariantBroken(f"no effect for {action} on {type(frame).__name__}")

    async def _send_message(self, frame: SendMessage) -> None:
        now = self.service.clock()
        bucket = self._message_bucket
        if bucket is None:
            limits = self.service.limits
            bucket = self._message_bucket = TokenBucket(
                limits.messages_per_second, limits.message_burst, now
            )
        wait = bucket.take(now)
        if wait:
            raise ClientError(ErrorCode.RATE_LIMITED, ref=frame.id, retry_after=wait)
        ticket = _required(self.ticket, "ticket while chatting")
        text = frame.text
        policy = self.policy
        if policy is not None:
            verdict = policy.check(
                text, context=Context.CHAT, history=tuple(self.recent), lang=self.lang
            )
            self.recent.append(text)
            if verdict.action is not Moderation.ALLOW and not await self._moderated(frame, verdict):
                return
            text = verdict.text
        await self.service.broker.publish_message(ticket, frame.id, text, self.service.wall_ms())

    async def _moderated(self, frame: SendMessage, verdict: Verdict) -> bool:
        """Tell the sender what the policy did; True if the (masked) text may still go."""
        message = verdict.message_en if self.lang == "en" else verdict.message_fr
        code = verdict.reason.value if verdict.reason else "moderation_refused"
        if verdict.action is Moderation.MASK:
            self.push(
                encode({"type": "moderated", "id": frame.id, "code": code, "message": message})
            )
            return True
        event = {"type": "error", "code": code, "message": message, "id": frame.id}
        self.push(encode(event))
        self.violations += 1
        if self.violations >= self.service.settings.chat_violations:
            # Enough: the conversation ends for the offender, who cools down.
            service = self.service
            offender = self.identity or self.client  # not a whole office behind one NAT
            service.cooldowns[offender] = service.clock() + service.settings.chat_cooldown
            await self._depart(LeaveReason.LEFT)
            self.violations = 0
            self.refuse(
                ClientError(
                    ErrorCode.MODERATION_COOLDOWN, retry_after=service.settings.chat_cooldown
                )
            )
        return False

    async def _typing(self) -> None:
        now = self.service.clock()
        if now - self.last_typing >= TYPING_INTERVAL and self.ticket is not None:
            self.last_typing = now
            await self.service.broker.signal(self.ticket, Signal.TYPING)

    def _check_join_rate(self) -> None:
        now = self.service.clock()
        cooldown = self.service.cooldowns.get(self.identity or self.client)
        if cooldown is not None and cooldown > now:
            raise ClientError(ErrorCode.MODERATION_COOLDOWN, retry_after=cooldown - now)
        bucket = self._join_bucket
        if bucket is None:
            per_minute = self.service.limits.joins_per_minute
            bucket = self._join_bucket = TokenBucket(per_minute / 60.0, min(per_minute, 10), now)
        wait = bucket.take(now)
        if not wait:
            wait = self.service.client_joins.take(self.client, now)
            if wait:
                bucket.refund()  # refused by the client's limit: this socket's join is unspent
        if wait:
            raise ClientError(ErrorCode.RATE_LIMITED, retry_after=wait)

    # --- trust and safety ---------------------------------------------------------

    def _ban_keys(self) -> list[tuple[BanKind, str]]:
        keys = [(BanKind.IP, self.client)]
        if self.identity is not None:
            keys.append((BanKind.CLIENT, self.identity))
        return keys

    def matches(self, ban: Ban) -> bool:
        return (ban.kind, ban.value) in self._ban_keys()

    async def _check_ban(self) -> None:
        safety = self.service.safety
        if safety is not None and await safety.active_ban(self._ban_keys(), self.service.now_us()):
            raise ClientError(ErrorCode.BANNED)

    async def _avoid(self) -> frozenset[str]:
        """Whom the next pairing must avoid: the last partner, and the blocked clients."""
        avoid = set(self.blocked)
        if self.last_partner is not None:
            avoid.add(self.last_partner.partner_reader)
        safety = self.service.safety
        if safety is not None and self.identity is not None:
            avoid |= await safety.avoided_by(self.identity, self.service.now_us())
        return frozenset(avoid)

    async def banned(self) -> None:
        """A ban on this reader was just made: out of the conversation or the queue."""
        if self.ticket is not None:
            await self._depart(LeaveReason.LEFT)
        elif (
            self.phase is Phase.WAITING
            and self.reader is not None
            and await self.service.broker.cancel_wait(self.reader)
        ):
            self.phase = Phase.IDLE
        self.refuse(ClientError(ErrorCode.BANNED))

    async def _block(self) -> None:
        service = self.service
        ticket = _required(self.last_partner, "partner to block (decide checked has_partner)")
        blocked = {ticket.partner_reader}
        if ticket.partner_client is not None:
            blocked.add(ticket.partner_client)
            if service.safety is not None and self.identity is not None:
                now = service.now_us()
                expires = now + service.settings.block_days * 86_400 * US
                await service.safety.add_block(
                    self.identity, ticket.partner_client, expires_us=expires, now_us=now
                )
        self.blocked |= blocked
        if self.ticket is not None:
            await self._depart(LeaveReason.LEFT)
        self.push(encode({"type": "blocked", "days": service.settings.block_days}))

    async def _report(self, frame: Report) -> None:
        service = self.service
        ticket = _required(self.last_partner, "partner to report (decide checked has_partner)")
        if ticket.conversation in self.reported:
            raise ClientError(ErrorCode.ALREADY_REPORTED)
        now = service.clock()
        wait = service.client_reports.take(self.identity or self.client, now)
        if wait:
            raise ClientError(ErrorCode.RATE_LIMITED, retry_after=wait)
        if service.safety is None:
            raise InvariantBroken("a report without a store")
        report_id = await service.safety.add_report(
            NewReport(
                created_us=service.now_us(),
                site=site_of(ticket.article),
                article=ticket.article,
                reason=frame.reason,
                note=frame.note,
                transcript=frame.transcript,
                reported_client=ticket.partner_client,
                reported_ip=ticket.partner_address,
                reporter_client=self.identity,
            )
        )
        self.reported.add(ticket.conversation)
        log.info("chat_report", report=report_id, reason=frame.reason.value)
        self.push(_REPORTED)

    # --- lobby --------------------------------------------------------------------

    async def _wait_or_pair(self) -> None:
        service = self.service
        article = _required(self.article, "article (decide checked has_article)")
        await self._forget_ended()
        async with service.lobby(article):
            await self._check_ban()
            avoid = await self._avoid()
            await self._pair(article, avoid)

    async def _pair(self, article: str, avoid: frozenset[str]) -> None:
        service = self.service
        broker = service.broker
        if self.reader is None:
            self.reader = service.token("r_")
            broker.listen_reader(self.reader, self._matched)
        self.phase = Phase.WAITING
        while True:
            waiter = Waiter(self.reader, avoid, self.identity, self.client)
            partner = await broker.pair_or_wait(article, waiter)
            if partner is None:
                if self.phase is Phase.WAITING:
                    counts = await broker.counts(article)
                    self.push(
                        encode(
                            {
                                "type": "waiting",
                                "article": article,
                                "waiting": counts.waiting,
                                "chatting": counts.chatting,
                            }
                        )
                    )
                return
            theirs, mine = self._tickets(partner, article)
            await broker.open_conversation(theirs, mine)
            if await broker.notify_reader(partner.reader, theirs):
                await self._matched(mine)
                return
            # The waiter's socket is closing, or its node died: drop that seat, pair again.
            await broker.depart(theirs, LeaveReason.VANISHED, service.wall_ms())
            await broker.depart(mine, LeaveReason.LEFT, service.wall_ms())

    def _tickets(self, partner: Waiter, article: str) -> tuple[SeatTicket, SeatTicket]:
        service = self.service
        reader = _required(self.reader, "lobby id of a joined reader")
        conversation = service.token("c_")
        their_name, my_name = pseudonym_pair(service.rng)
        theirs = SeatTicket(
            conversation, Seat.FIRST, partner.reader, reader,
            their_name, my_name, article, service.token("t_"),
            self.identity, self.client, partner.client,
        )  # fmt: skip
        mine = SeatTicket(
            conversation, Seat.SECOND, reader, partner.reader,
            my_name, their_name, article, service.token("t_"),
            partner.client, partner.address, self.identity,
        )  # fmt: skip
        return theirs, mine

    async def _matched(self, ticket: SeatTicket) -> bool:
        """A partner was found (called by the broker for the waiter, directly for the joiner).

        Declines (False) if this socket is closing: the caller pairs again.
        """
        if self.closing:
            return False
        attachment = await self.service.broker.attach(ticket, 0, self)
        self._seated(ticket)
        self.push(
            encode(
                {
                    "type": "matched",
                    "conversation": ticket.conversation,
                    "you": ticket.you,
                    "partner": ticket.partner,
                    "resume_token": ticket.resume_token,
                    "article": ticket.article,
                }
            )
        )
        for event in attachment.missed:
            self.on_event(event)
        return True

    def _seated(self, ticket: SeatTicket) -> None:
        self.ticket = self.last_partner = ticket
        self.phase = Phase.CHATTING
        policies = self.service.policies
        self.policy = policies.policy(site_of(ticket.article)) if policies else None

    async def _cancel(self) -> None:
        if await self.service.broker.cancel_wait(_required(self.reader, "waiting reader")):
            self.phase = Phase.IDLE
            self.push(_LEFT)
        elif self.ticket is not None:  # matched meanwhile: leaving means leaving it
            await self._depart(LeaveReason.LEFT)
            self.push(_LEFT)

    # --- conversation -------------------------------------------------------------

    async def _depart(self, reason: LeaveReason) -> None:
        ticket = _required(self.ticket, "ticket of a conversation to leave")
        broker = self.service.broker
        await broker.depart(ticket, reason, self.service.wall_ms())
        await broker.detach(ticket, self, away=False)
        self.ticket = None
        self.phase = Phase.IDLE

    def _conversation_over(self, ticket: SeatTicket) -> None:
        self._ended_ticket = ticket
        self.ticket = None
        self.phase = Phase.IDLE

    async def _forget_ended(self) -> None:
        ticket, self._ended_ticket = self._ended_ticket, None
        if ticket is not None:
            await self.service.broker.detach(ticket, self, away=False)

    async def _resume(self, frame: Resume) -> None:
        broker = self.service.broker
        ticket = await broker.find_seat(frame.token)
        if ticket is None:
            raise ClientError(ErrorCode.RESUME_FAILED)
        try:
            attachment = await broker.attach(ticket, frame.last_seq, self)
        except ResumeRefused as exc:
            raise ClientError(ErrorCode.RESUME_FAILED) from exc
        if self.reader is not None and self.reader != ticket.reader:
            broker.unlisten_reader(self.reader, self._matched)
        self.reader = ticket.reader
        self.identity = ticket.client
        broker.listen_reader(ticket.reader, self._matched)
        self.article = ticket.article
        self._seated(ticket)
        self.push(
            encode(
                {
                    "type": "resumed",
                    "conversation": ticket.conversation,
                    "you": ticket.you,
                    "partner": ticket.partner,
                    "article": ticket.article,
                    "partner_status": attachment.partner_status.value,
                    "last_seq": attachment.last_seq,
                }
            )
        )
        for event in attachment.missed:
            self.on_event(event)
        if attachment.partner_status is PartnerStatus.LEFT and self.ticket is not None:
            self._conversation_over(ticket)

    async def closed(self) -> None:
        """The socket is gone: stop waiting, or leave the seat 'away' for the window."""
        self.closing = True
        service = self.service
        broker = service.broker
        service.connections.discard(self)
        try:
            if self.phase is Phase.WAITING and self.reader is not None:
                await broker.cancel_wait(self.reader)
            if self.ticket is not None and not self.replaced:
                await broker.detach(self.ticket, self, away=True)
            await self._forget_ended()
        except BrokerUnavailable:
            log.warning("chat_close_broker_unavailable", exc_info=True)
        finally:
            if self.reader is not None:
                broker.unlisten_reader(self.reader, self._matched)
            if self._writer is not None:
                self._writer.cancel()


class InvariantBroken(RuntimeError):
    """A server fault: state the core promised is missing. Logged, answered server_error."""


_T = TypeVar("_T")


def _required(value: _T | None, what: str) -> _T:
    if value is None:
        raise InvariantBroken(f"missing {what}")
    return value


def _query_lang(scope: Scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return "en" if query.get("lang", ["fr"])[0] == "en" else "fr"


def _own_origin(scope: Scope) -> str | None:
    host = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return f"{scheme}://{host}"


def _origin(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"origin":
            return str(value.decode("latin-1"))
    return None


class ChatEndpoint:
    """Raw ASGI app for ``/ws/v1/chat`` (no per-frame wrapper objects on the hot path)."""

    def __init__(self, service: ChatService) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        service = self.service
        lang = _query_lang(scope)
        if not service.origin_allowed(_origin(scope), _own_origin(scope)):
            log.info("chat_forbidden_origin")
            await send({"type": "websocket.accept"})
            error = error_event(ClientError(ErrorCode.FORBIDDEN_ORIGIN), lang)
            await send({"type": "websocket.send", "text": encode(error)})
            await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN_ORIGIN})
            return
        client = service.client_key(scope)
        wait = service.client_connections.take(client, service.clock())
        if wait:
            await send({"type": "websocket.accept"})
            error = error_event(ClientError(ErrorCode.RATE_LIMITED, retry_after=wait), lang)
            await send({"type": "websocket.send", "text": encode(error)})
            await send({"type": "websocket.close", "code": CLOSE_TRY_LATER})
            return
        await send({"type": "websocket.accept"})
        nowait = scope.get("extensions", {}).get(SEND_TEXT_NOWAIT)
        connection = Connection(service, send, lang, nowait, client)
        service.connections.add(connection)
        connection.push(service.hello)
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    text: Any = message.get("text")
                    if text is not None:
                        await connection.receive_text(text)
                    else:
                        connection.receive_bytes()
                elif kind == "websocket.disconnect":
                    break
        finally:
            try:
                await connection.closed()
            except Exception:
                log.exception("chat_close_failed")
