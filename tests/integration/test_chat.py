"""The chat, end to end: real WebSocket clients against a real server process."""

from __future__ import annotations

import asyncio

import pytest

from causerie.testing import ServerProcess
from tests.integration.client import Reader, new_article, pair


async def test_hello_documents_the_limits(server: ServerProcess) -> None:
    reader = await Reader.open(server.ws_url)
    hello = reader.hello
    assert hello["protocol"] == 1
    assert hello["limits"]["text_chars"] == 1000
    assert hello["limits"]["frame_bytes"] == 16 * 1024
    assert hello["resume_window"] == 3
    await reader.close()


async def test_waiting_reader_sees_counts(server: ServerProcess) -> None:
    article = new_article()
    first, second, _, _ = await pair(server.ws_url, article)
    third = await Reader.open(server.ws_url)
    await third.send({"type": "join", "article": article})
    waiting = await third.expect("waiting")
    assert waiting == {"type": "waiting", "article": article, "waiting": 1, "chatting": 2}
    for reader in (first, second, third):
        await reader.close()


async def test_pairing_is_first_come_first_served(server: ServerProcess) -> None:
    article = new_article()
    readers = [await Reader.open(server.ws_url) for _ in range(4)]
    for reader in readers:
        await reader.send({"type": "join", "article": article})
    # 0 waits, 1 pairs with 0; 2 waits, 3 pairs with 2.
    assert (await readers[0].expect("waiting"))["waiting"] == 1
    m0 = await readers[0].expect("matched")
    m1 = await readers[1].expect("matched")
    assert m0["conversation"] == m1["conversation"]
    assert (await readers[2].expect("waiting"))["waiting"] == 1
    m2 = await readers[2].expect("matched")
    m3 = await readers[3].expect("matched")
    assert m2["conversation"] == m3["conversation"] != m0["conversation"]
    for reader in readers:
        await reader.close()


async def test_different_articles_are_not_paired(server: ServerProcess) -> None:
    first = await Reader.open(server.ws_url)
    second = await Reader.open(server.ws_url)
    await first.send({"type": "join", "article": new_article()})
    await second.send({"type": "join", "article": new_article()})
    await first.expect("waiting")
    await second.expect("waiting")
    await first.silent(0.3)
    await first.close()
    await second.close()


async def test_article_urls_are_normalized(server: ServerProcess) -> None:
    article = new_article()
    first = await Reader.open(server.ws_url)
    second = await Reader.open(server.ws_url)
    await first.send({"type": "join", "article": article + "?utm_source=x#comments"})
    await first.expect("waiting")
    await second.send({"type": "join", "article": article.replace("https://news", "HTTPS://NEWS")})
    matched = await second.expect("matched")
    assert matched["article"] == article
    await first.close()
    await second.close()


async def test_relay_both_ways_with_sequence_numbers(server: ServerProcess) -> None:
    first, second, m1, m2 = await pair(server.ws_url)
    assert m1["you"] == m2["partner"] and m1["partner"] == m2["you"]
    assert m1["you"] != m1["partner"]
    assert m1["resume_token"] != m2["resume_token"]

    await first.send({"type": "message", "id": "a1", "text": "Salut !"})
    echo = await first.expect("message")
    assert echo["from"] == "you" and echo["id"] == "a1" and echo["seq"] == 1
    got = await second.expect("message")
    assert got["from"] == "partner" and got["text"] == "Salut !" and got["seq"] == 1
    assert "id" not in got, "the partner never sees the sender's client ids"

    await second.send({"type": "message", "id": "b1", "text": "Bonjour 👋 <b>ça va</b>"})
    assert (await second.expect("message"))["seq"] == 2
    got = await first.expect("message")
    assert got == {
        "type": "message",
        "seq": 2,
        "from": "partner",
        "text": "Bonjour 👋 <b>ça va</b>",
        "at": got["at"],
    }
    await first.close()
    await second.close()


async def test_matched_event_reveals_nothing_about_the_partner(server: ServerProcess) -> None:
    first, second, m1, _ = await pair(server.ws_url)
    assert set(m1) == {"type", "conversation", "you", "partner", "resume_token", "article"}
    await first.send({"type": "message", "id": "x", "text": "hello"})
    await first.expect("message")
    got = await second.expect("message")
    assert set(got) == {"type", "seq", "from", "text", "at"}
    await first.close()
    await second.close()


async def test_typing_is_relayed_and_throttled(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    await first.send({"type": "typing"})
    assert await second.expect("typing") == {"type": "typing", "from": "partner"}
    await first.send({"type": "typing"})  # within a second: not relayed again
    await second.silent(0.3)
    await first.silent(0.1)
    await first.close()
    await second.close()


async def test_next_pairs_again_but_not_with_the_same_partner(server: ServerProcess) -> None:
    article = new_article()
    first, second, _, _ = await pair(server.ws_url, article)
    await first.send({"type": "next"})
    assert (await first.expect("waiting"))["article"] == article
    left = await second.expect("partner_left")
    assert left["reason"] == "next" and left["seq"] == 1
    # The abandoned reader asks for someone else too: they must not meet again.
    await second.send({"type": "next"})
    await second.expect("waiting")
    await first.silent(0.3)
    third = await Reader.open(server.ws_url)
    await third.send({"type": "join", "article": article})
    matched = await third.expect("matched")
    assert (await first.expect("matched"))["conversation"] == matched["conversation"]
    for reader in (first, second, third):
        await reader.close()


async def test_leave_tells_the_partner(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    await first.send({"type": "leave"})
    assert await first.expect("left") == {"type": "left"}
    left = await second.expect("partner_left")
    assert left["reason"] == "left"
    # Both are idle now: a message is refused, next works for the one left behind.
    await second.send({"type": "message", "id": "z", "text": "allô ?"})
    await second.error("not_in_conversation")
    await second.send({"type": "next"})
    await second.expect("waiting")
    await first.close()
    await second.close()


async def test_cancel_waiting(server: ServerProcess) -> None:
    article = new_article()
    first = await Reader.open(server.ws_url)
    await first.send({"type": "join", "article": article})
    await first.expect("waiting")
    await first.send({"type": "leave"})
    await first.expect("left")
    second = await Reader.open(server.ws_url)
    await second.send({"type": "join", "article": article})
    assert (await second.expect("waiting"))["waiting"] == 1
    await first.silent(0.2)
    await first.close()
    await second.close()


async def test_closing_while_waiting_leaves_the_queue(server: ServerProcess) -> None:
    article = new_article()
    first = await Reader.open(server.ws_url)
    await first.send({"type": "join", "article": article})
    await first.expect("waiting")
    await first.close()
    await asyncio.sleep(0.1)
    second = await Reader.open(server.ws_url)
    await second.send({"type": "join", "article": article})
    assert (await second.expect("waiting"))["waiting"] == 1
    await second.close()


async def test_partner_vanishes_after_the_resume_window(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    first.ws.transport.abort()  # like a phone losing its network: no close frame
    assert await second.expect("partner_away") == {"type": "partner_away"}
    left = await second.expect("partner_left", timeout=8)  # window is 3 s in tests
    assert left["reason"] == "vanished"
    await second.close()


async def test_heartbeat_timeout_closes_a_silent_socket(server: ServerProcess) -> None:
    reader = await Reader.open(server.ws_url)
    keeper = await Reader.open(server.ws_url)
    for _ in range(9):  # 9 x 1 s > 6 s heartbeat timeout: the one that pings stays
        await keeper.send({"type": "ping"})
        assert await keeper.expect("pong") == {"type": "pong"}
        await asyncio.sleep(1)
    await asyncio.wait_for(reader.ws.wait_closed(), 5)
    assert reader.ws.close_code == 4000
    await keeper.close()


async def test_many_conversations_at_once_stay_separate(server: ServerProcess) -> None:
    pairs = await asyncio.gather(*(pair(server.ws_url) for _ in range(20)))

    async def talk(index: int) -> None:
        first, second, _, _ = pairs[index]
        for n in range(5):
            await first.send({"type": "message", "id": f"{index}-{n}", "text": f"p{index} m{n}"})
        for n in range(5):
            got = await second.expect("message")
            assert got["text"] == f"p{index} m{n}" and got["seq"] == n + 1

    await asyncio.gather(*(talk(i) for i in range(20)))
    for first, second, _, _ in pairs:
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    ("lang", "expected"), [("fr", "Le message est vide."), ("en", "The message is empty.")]
)
async def test_error_messages_follow_the_socket_language(
    server: ServerProcess, lang: str, expected: str
) -> None:
    first = await Reader.open(server.ws_url + f"?lang={lang}")
    second = await Reader.open(server.ws_url)
    article = new_article()
    await first.send({"type": "join", "article": article})
    await first.expect("waiting")
    await second.send({"type": "join", "article": article})
    await first.expect("matched")
    await first.send({"type": "message", "id": "e", "text": "   "})
    error = await first.error("empty_text")
    assert error["message"] == expected and error["id"] == "e"
    await first.close()
    await second.close()
