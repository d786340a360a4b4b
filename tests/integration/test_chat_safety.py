"""Block, report and ban in the chat, against a real server and its real SQLite store."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from causerie.core.identity import address_hash, client_hash
from causerie.core.safety import DAY_US, BanKind, ReportReason, ReportStatus, Speaker
from causerie.store.database import Database, database_url
from causerie.store.safety import SafetyStore
from causerie.testing import ServerProcess
from tests.conftest import TEST_SERVER_ENV
from tests.integration.client import Reader, new_article


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("safety-chat")
    with ServerProcess(data_dir, TEST_SERVER_ENV) as process:
        yield process


@pytest.fixture
async def store(server: ServerProcess) -> AsyncIterator[SafetyStore]:
    database = Database(database_url(None, server.data_dir))
    try:
        yield SafetyStore(database)
    finally:
        await database.close()


def secret_of(server: ServerProcess) -> bytes:
    return bytes.fromhex((server.data_dir / "secret.key").read_text().strip())


def new_client() -> str:
    return secrets.token_urlsafe(24)


def now_us() -> int:
    return time.time_ns() // 1000


async def join(url: str, article: str, client: str | None) -> Reader:
    reader = await Reader.open(url)
    frame = {"type": "join", "article": article}
    if client is not None:
        frame["client"] = client
    await reader.send(frame)
    return reader


async def paired(
    url: str, article: str, first_client: str | None, second_client: str | None
) -> tuple[Reader, Reader]:
    first = await join(url, article, first_client)
    await first.expect("waiting")
    second = await join(url, article, second_client)
    await second.expect("matched")
    await first.expect("matched")
    return first, second


# --- block ---------------------------------------------------------------------------


async def test_block_ends_the_conversation_and_they_never_meet_again(
    server: ServerProcess,
) -> None:
    article = new_article()
    a_client, b_client = new_client(), new_client()
    a, b = await paired(server.ws_url, article, a_client, b_client)
    await a.send({"type": "block"})
    blocked = await a.expect("blocked")
    assert blocked == {"type": "blocked", "days": 30}
    left = await b.expect("partner_left")
    assert left["reason"] == "left"  # nothing tells b it was blocked
    await a.close()
    await b.close()
    # New sockets, same browsers: they wait side by side, a third reader is paired.
    a2 = await join(server.ws_url, article, a_client)
    await a2.expect("waiting")
    b2 = await join(server.ws_url, article, b_client)
    await b2.expect("waiting")
    await a2.silent(0.3)
    c = await join(server.ws_url, article, new_client())
    await c.expect("matched")
    await a2.expect("matched")  # the oldest compatible waiter
    for reader in (a2, b2, c):
        await reader.close()


async def test_the_blocked_one_cannot_reach_the_blocker_either(server: ServerProcess) -> None:
    article = new_article()
    a_client, b_client = new_client(), new_client()
    a, b = await paired(server.ws_url, article, a_client, b_client)
    await a.send({"type": "block"})
    await a.expect("blocked")
    await b.expect("partner_left")
    await b.send({"type": "next"})  # b tries again at once: a is waiting too
    await b.expect("waiting")
    await a.send({"type": "next"})
    await a.expect("waiting")
    await a.silent(0.3)
    await b.silent(0.1)
    await a.close()
    await b.close()


async def test_block_after_the_conversation_names_the_last_partner(
    server: ServerProcess, store: SafetyStore
) -> None:
    article = new_article()
    a_client, b_client = new_client(), new_client()
    a, b = await paired(server.ws_url, article, a_client, b_client)
    await b.send({"type": "leave"})
    await b.expect("left")
    await a.expect("partner_left")
    await a.send({"type": "block"})
    await a.expect("blocked")
    secret = secret_of(server)
    avoided = await store.avoided_by(client_hash(secret, a_client), now_us())
    assert client_hash(secret, b_client) in avoided
    assert b_client not in avoided and a_client not in str(avoided)  # only hashes are kept
    await a.close()
    await b.close()


async def test_same_browser_in_two_tabs_is_never_paired_with_itself(
    server: ServerProcess,
) -> None:
    article = new_article()
    client = new_client()
    tab1 = await join(server.ws_url, article, client)
    await tab1.expect("waiting")
    tab2 = await join(server.ws_url, article, client)
    await tab2.expect("waiting")
    await tab1.silent(0.3)
    await tab1.close()
    await tab2.close()


async def test_block_and_report_without_a_partner_are_refused(server: ServerProcess) -> None:
    reader = await Reader.open(server.ws_url)
    await reader.send({"type": "block"})
    await reader.error("no_partner")
    await reader.send({"type": "report", "reason": "insult", "transcript": []})
    await reader.error("no_partner")
    await reader.send({"type": "join", "article": new_article()})
    await reader.expect("waiting")
    await reader.send({"type": "block"})
    await reader.error("no_partner")
    await reader.close()


# --- report --------------------------------------------------------------------------


async def test_report_stores_the_reporters_transcript_and_nothing_else(
    server: ServerProcess, store: SafetyStore
) -> None:
    article = new_article()
    a_client, b_client = new_client(), new_client()
    a, b = await paired(server.ws_url, article, a_client, b_client)
    await b.send({"type": "message", "id": "1", "text": "t'es qu'une <b>idiote</b>"})
    await a.expect("message")
    await b.expect("message")
    await b.send({"type": "message", "id": "2", "text": "a message b sent and a never quotes"})
    await a.expect("message")
    await b.expect("message")
    transcript = [
        {"from": "me", "text": "Bonjour !"},
        {"from": "partner", "text": "t'es qu'une <b>idiote</b>"},
    ]
    await a.send(
        {"type": "report", "reason": "insult", "note": " insultes ", "transcript": transcript}
    )
    assert await a.expect("reported") == {"type": "reported"}
    await b.silent(0.2)  # the reported reader is not told
    reports = [r for r in await store.reports() if r.article == article]
    assert len(reports) == 1
    report = reports[0]
    secret = secret_of(server)
    assert report.reason is ReportReason.INSULT and report.note == "insultes"
    assert report.site == "https://news.example"
    assert [(line.speaker, line.text) for line in report.transcript] == [
        (Speaker.REPORTER, "Bonjour !"),
        (Speaker.REPORTED, "t'es qu'une <b>idiote</b>"),
    ]
    assert report.reported_client == client_hash(secret, b_client)
    assert report.reporter_client == client_hash(secret, a_client)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert report.reported_ip == address_hash(secret, "127.0.0.1", day)
    assert report.status is ReportStatus.OPEN
    # Only what the reporter sent: the message it did not quote is nowhere in the store.
    database = server.data_dir / "causerie.db"
    assert b"never quotes" not in database.read_bytes()
    # One report per conversation.
    await a.send({"type": "report", "reason": "spam", "transcript": []})
    await a.error("already_reported")
    await a.close()
    await b.close()


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"reason": "rude"}, "reason"),
        ({"reason": ["insult"]}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "insult", "note": 5}, "note"),
        ({"reason": "insult", "note": "x" * 501}, "note"),
        ({"reason": "insult", "note": "a\x00b"}, "note"),
        ({"reason": "insult", "transcript": "all of it"}, "transcript"),
        ({"reason": "insult", "transcript": [{"from": "me", "text": "hi"}] * 51}, "transcript"),
        ({"reason": "insult", "transcript": [{"from": "admin", "text": "hi"}]}, "transcript"),
        ({"reason": "insult", "transcript": [{"from": "me", "text": 3}]}, "transcript"),
        ({"reason": "insult", "transcript": [{"from": "me", "text": "x" * 1001}]}, "transcript"),
        ({"reason": "insult", "transcript": [{"from": "me", "text": "hi", "at": 1}]}, "transcript"),
        ({"reason": "insult", "transcript": [["me", "hi"]]}, "transcript"),
    ],
)
async def test_malformed_reports_are_refused_and_change_nothing(
    server: ServerProcess, store: SafetyStore, frame: dict[str, object], field: str
) -> None:
    article = new_article()
    a, b = await paired(server.ws_url, article, new_client(), new_client())
    await a.send({"type": "report", **frame})
    error = await a.error("invalid_field")
    assert error["field"] == field
    assert not [r for r in await store.reports() if r.article == article]
    # The conversation goes on, and a correct report is still possible.
    await a.send({"type": "message", "id": "m", "text": "encore là ?"})
    assert (await b.expect("message"))["text"] == "encore là ?"
    assert (await a.expect("message"))["id"] == "m"
    await a.send({"type": "report", "reason": "other", "transcript": []})
    await a.expect("reported")
    await a.close()
    await b.close()


async def test_a_report_larger_than_a_frame_is_refused(server: ServerProcess) -> None:
    a, b = await paired(server.ws_url, new_article(), new_client(), new_client())
    transcript = [{"from": "partner", "text": "é" * 1000}] * 20  # 40 KB > 16 KiB frames
    frame = {"type": "report", "reason": "spam", "transcript": transcript}
    await a.send(json.dumps(frame, ensure_ascii=False))
    await a.error("frame_too_large")
    await a.close()
    await b.close()


@pytest.mark.parametrize(
    "client", ["short", "x" * 65, "with space in it......", "é" * 20, 12345678901234567, True]
)
async def test_a_malformed_client_secret_is_refused(server: ServerProcess, client: object) -> None:
    reader = await Reader.open(server.ws_url)
    await reader.send({"type": "join", "article": new_article(), "client": client})
    error = await reader.error("invalid_field")
    assert error["field"] == "client"
    await reader.send({"type": "join", "article": new_article()})  # still usable
    await reader.expect("waiting")
    await reader.close()


async def test_reports_are_rate_limited_per_client(tmp_path: Path) -> None:
    env = {**TEST_SERVER_ENV, "CAUSERIE_REPORTS_PER_HOUR": "2"}
    with ServerProcess(tmp_path / "reports", env) as limited:
        client = new_client()
        for _ in range(2):
            a, b = await paired(limited.ws_url, new_article(), client, new_client())
            await a.send({"type": "report", "reason": "spam", "transcript": []})
            await a.expect("reported")
            await a.close()
            await b.close()
        a, b = await paired(limited.ws_url, new_article(), client, new_client())
        await a.send({"type": "report", "reason": "spam", "transcript": []})
        error = await a.error("rate_limited")
        assert error["retry_after"] > 0
        await a.close()
        await b.close()


# --- bans ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [BanKind.CLIENT, BanKind.IP])
async def test_a_banned_reader_cannot_join(
    server: ServerProcess, store: SafetyStore, kind: BanKind
) -> None:
    client = new_client()
    secret = secret_of(server)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    value = (
        client_hash(secret, client)
        if kind is BanKind.CLIENT
        else (address_hash(secret, "127.0.0.1", day))
    )
    ban = await store.add_ban(
        kind, value, reason="test", expires_us=now_us() + DAY_US, moderator=None, now_us=now_us()
    )
    try:
        reader = await Reader.open(server.ws_url)
        await reader.send({"type": "join", "article": new_article(), "client": client})
        error = await reader.error("banned")
        assert error["message"] == "Vous ne pouvez pas participer pour le moment."
        assert set(error) == {"type", "code", "message"}
        await reader.close()
    finally:
        await store.revoke_ban(ban.id, now_us())
    reader = await Reader.open(server.ws_url)
    await reader.send({"type": "join", "article": new_article(), "client": client})
    await reader.expect("waiting")
    await reader.close()


async def test_an_expired_ban_no_longer_applies(server: ServerProcess, store: SafetyStore) -> None:
    client = new_client()
    value = client_hash(secret_of(server), client)
    await store.add_ban(
        BanKind.CLIENT, value, reason="old", expires_us=now_us() - 1, moderator=None,
        now_us=now_us() - DAY_US,
    )  # fmt: skip
    reader = await join(server.ws_url, new_article(), client)
    await reader.expect("waiting")
    await reader.close()
