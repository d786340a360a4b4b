"""Resume after a dropped socket: no loss, no duplicate; and slow readers are bounded."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from causerie.testing import ServerProcess
from tests.conftest import TEST_SERVER_ENV
from tests.integration.client import Reader, pair


async def test_resume_gets_missed_messages_in_order_exactly_once(server: ServerProcess) -> None:
    first, second, m1, _ = await pair(server.ws_url)
    await second.send({"type": "message", "id": "s1", "text": "un"})
    assert (await first.expect("message"))["seq"] == 1
    await second.expect("message")

    first.ws.transport.abort()
    assert (await second.expect("partner_away")) == {"type": "partner_away"}
    for n, word in enumerate(["deux", "trois", "quatre"], start=2):
        await second.send({"type": "message", "id": f"s{n}", "text": word})
        assert (await second.expect("message"))["seq"] == n

    again = await Reader.open(server.ws_url)
    await again.send({"type": "resume", "token": m1["resume_token"], "last_seq": 1})
    resumed = await again.expect("resumed")
    assert resumed["conversation"] == m1["conversation"]
    assert resumed["you"] == m1["you"] and resumed["partner"] == m1["partner"]
    assert resumed["partner_status"] == "present" and resumed["last_seq"] == 4
    replay = [await again.expect("message") for _ in range(3)]
    assert [(e["seq"], e["text"], e["from"]) for e in replay] == [
        (2, "deux", "partner"),
        (3, "trois", "partner"),
        (4, "quatre", "partner"),
    ]
    await again.silent(0.3)
    assert await second.expect("partner_back") == {"type": "partner_back"}

    # Live again, both ways.
    await again.send({"type": "message", "id": "f9", "text": "me revoilà"})
    assert (await again.expect("message"))["seq"] == 5
    assert (await second.expect("message"))["text"] == "me revoilà"
    await again.close()
    await second.close()


async def test_unconfirmed_message_resent_after_resume_is_relayed_once(
    server: ServerProcess,
) -> None:
    first, second, m1, _ = await pair(server.ws_url)
    await first.send({"type": "message", "id": "once", "text": "une seule fois"})
    assert (await second.expect("message"))["text"] == "une seule fois"
    # The socket dies before the sender read its confirmation.
    first.ws.transport.abort()
    await second.expect("partner_away")

    again = await Reader.open(server.ws_url)
    await again.send({"type": "resume", "token": m1["resume_token"], "last_seq": 0})
    await again.expect("resumed")
    confirmation = await again.expect("message")
    assert confirmation["from"] == "you" and confirmation["id"] == "once"
    # The widget resends what it had not seen confirmed, with the same id: dropped.
    await again.send({"type": "message", "id": "once", "text": "une seule fois"})
    # A message the server never got is relayed normally.
    await again.send({"type": "message", "id": "new", "text": "et une autre"})
    assert (await again.expect("message"))["id"] == "new"
    await second.expect("partner_back")
    got = await second.expect("message")
    assert got["text"] == "et une autre" and got["seq"] == 2
    await second.silent(0.3)
    await again.close()
    await second.close()


async def test_resuming_an_open_seat_replaces_the_old_socket(server: ServerProcess) -> None:
    first, second, m1, _ = await pair(server.ws_url)
    again = await Reader.open(server.ws_url)
    await again.send({"type": "resume", "token": m1["resume_token"], "last_seq": 0})
    assert (await again.expect("resumed"))["partner_status"] == "present"
    with pytest.raises(ConnectionClosed):
        await first.recv()
    assert first.ws.close_code == 4002
    await second.silent(0.3)  # no away/back flicker for the partner
    await again.send({"type": "message", "id": "x", "text": "nouvel onglet"})
    assert (await second.expect("message"))["text"] == "nouvel onglet"
    await again.close()
    await second.close()


async def test_resume_after_partner_left_says_so(server: ServerProcess) -> None:
    first, second, m1, _ = await pair(server.ws_url)
    first.ws.transport.abort()
    await second.expect("partner_away")
    await second.send({"type": "leave"})
    await second.expect("left")
    again = await Reader.open(server.ws_url)
    await again.send({"type": "resume", "token": m1["resume_token"], "last_seq": 0})
    assert (await again.expect("resumed"))["partner_status"] == "left"
    assert (await again.expect("partner_left"))["reason"] == "left"
    await again.send({"type": "message", "id": "late", "text": "trop tard"})
    await again.error("not_in_conversation")
    await again.close()
    await second.close()


async def test_token_is_revoked_by_own_leave(server: ServerProcess) -> None:
    first, second, m1, _ = await pair(server.ws_url)
    await first.send({"type": "leave"})
    await first.expect("left")
    again = await Reader.open(server.ws_url)
    await again.send({"type": "resume", "token": m1["resume_token"], "last_seq": 0})
    await again.error("resume_failed")
    for reader in (first, second, again):
        await reader.close()


async def test_token_expires_after_the_window(server: ServerProcess) -> None:
    first, second, m1, m2 = await pair(server.ws_url)
    first.ws.transport.abort()
    second.ws.transport.abort()
    await asyncio.sleep(3 + 3 + 1)  # vanished after 3 s, then forgotten 3 s later
    again = await Reader.open(server.ws_url)
    for token in (m1["resume_token"], m2["resume_token"]):
        await again.send({"type": "resume", "token": token, "last_seq": 0})
        await again.error("resume_failed")
    await again.close()


async def test_partner_token_cannot_be_used_by_the_other_seat(server: ServerProcess) -> None:
    first, second, m1, m2 = await pair(server.ws_url)
    # Each token resumes its own seat only: with the partner's token you become them,
    # which is why the token is a secret kept by that reader's browser alone.
    assert m1["resume_token"] != m2["resume_token"]
    assert len(m1["resume_token"]) >= 24
    await first.close()
    await second.close()


@pytest.fixture(scope="module")
def flood_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        **TEST_SERVER_ENV,
        "CAUSERIE_MESSAGES_PER_SECOND": "100000",
        "CAUSERIE_MESSAGE_BURST": "100000",
        "CAUSERIE_OUTBOX_FRAMES": "32",
    }
    data_dir: Path = tmp_path_factory.mktemp("flood")
    with ServerProcess(data_dir, env) as process:
        yield process


async def test_stalled_reader_is_disconnected_not_buffered(flood_server: ServerProcess) -> None:
    sender, _, _, _ = await pair(flood_server.ws_url)
    # A reader that stops reading: its client buffers one frame, its kernel 8 KiB
    # (a fixed SO_RCVBUF turns off receive-buffer autotuning, up to 32 MiB here).
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.connect(("127.0.0.1", flood_server.port))
    sock.setblocking(False)
    stalled = await Reader.open(flood_server.ws_url, sock=sock, max_queue=1, max_size=2**20)
    await stalled.send({"type": "join", "article": "https://news.example/flood"})
    await stalled.expect("waiting")
    flooder = await Reader.open(flood_server.ws_url, max_queue=100_000)
    await flooder.send({"type": "join", "article": "https://news.example/flood"})
    await flooder.expect("matched")
    stalled.ws.transport.pause_reading()

    text = "x" * 1000
    confirmations = 0
    partner_dropped = False
    for n in range(12_000):  # 12 MB: more than the server's send buffer (4 MiB at most)
        await flooder.send({"type": "message", "id": str(n), "text": text})
        # The flooder is a well-behaved reader: it reads its confirmation each time.
        event = await flooder.recv(timeout=10)
        if event["type"] == "partner_away":  # the stalled reader was disconnected
            partner_dropped = True
            break
        assert event["type"] == "message" and event["from"] == "you"
        confirmations += 1
    assert partner_dropped
    stalled.ws.transport.resume_reading()
    received = 0
    with pytest.raises(ConnectionClosed):
        while True:
            await stalled.recv(timeout=10)
            received += 1
    assert stalled.ws.close_code == 4001
    assert received < 12_000
    assert confirmations > 0
    await flooder.close()
    await sender.close()
