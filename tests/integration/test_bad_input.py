"""Hostile and malformed input: a clear error, and no other conversation disturbed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from causerie.testing import ServerProcess
from tests.integration.client import Reader, new_article, pair

MALFORMED: list[tuple[Any, str, str | None]] = [
    ("{not json", "invalid_json", None),
    ("", "invalid_json", None),
    ('{"type": "join", "article": "https://a.example/x"', "invalid_json", None),
    ("[1, 2, 3]", "invalid_frame", None),
    ('"join"', "invalid_frame", None),
    ("42", "invalid_frame", None),
    ("null", "invalid_frame", None),
    ({"article": "https://a.example/x"}, "invalid_frame", "type"),
    ({"type": 7}, "invalid_frame", "type"),
    ({"type": None}, "invalid_frame", "type"),
    ({"type": "hack"}, "unknown_type", None),
    ({"type": "JOIN", "article": "https://a.example/x"}, "unknown_type", None),
    ({"type": "__proto__"}, "unknown_type", None),
    ({"type": "join"}, "invalid_field", "article"),
    ({"type": "join", "article": 12}, "invalid_field", "article"),
    ({"type": "join", "article": ["https://a.example/x"]}, "invalid_field", "article"),
    ({"type": "join", "article": "x" * 5000}, "invalid_field", "article"),
    ({"type": "join", "article": "javascript:alert(1)"}, "invalid_article", "article"),
    ({"type": "join", "article": "ftp://a.example/x"}, "invalid_article", "article"),
    ({"type": "join", "article": "pas une adresse"}, "invalid_article", "article"),
    ({"type": "join", "article": "https://"}, "invalid_article", "article"),
    ({"type": "join", "article": "https://a.example:99999/"}, "invalid_article", "article"),
    ({"type": "join", "article": "https://user:pw@a.example/"}, "invalid_article", "article"),
    ({"type": "join", "article": "https://a.example/" + "x" * 2100}, "invalid_article", "article"),
    ({"type": "message", "text": "salut"}, "invalid_field", "id"),
    ({"type": "message", "id": 3, "text": "salut"}, "invalid_field", "id"),
    ({"type": "message", "id": "", "text": "salut"}, "invalid_field", "id"),
    ({"type": "message", "id": "i" * 65, "text": "salut"}, "invalid_field", "id"),
    ({"type": "message", "id": "m", "text": 3}, "invalid_field", "text"),
    ({"type": "message", "id": "m"}, "invalid_field", "text"),
    ({"type": "message", "id": "m", "text": ""}, "empty_text", None),
    ({"type": "message", "id": "m", "text": " \n\t\u3000 "}, "empty_text", None),
    ({"type": "message", "id": "m", "text": "x" * 1001}, "text_too_long", None),
    ({"type": "resume"}, "invalid_field", "token"),
    ({"type": "resume", "token": "t_x"}, "invalid_field", "last_seq"),
    ({"type": "resume", "token": "t_x", "last_seq": "3"}, "invalid_field", "last_seq"),
    ({"type": "resume", "token": "t_x", "last_seq": -1}, "invalid_field", "last_seq"),
    ({"type": "resume", "token": "t_x", "last_seq": True}, "invalid_field", "last_seq"),
    ({"type": "resume", "token": "t_x", "last_seq": 1.5}, "invalid_field", "last_seq"),
    ({"type": "resume", "token": "t" * 500, "last_seq": 0}, "invalid_field", "token"),
    ({"type": "resume", "token": "t_unknown", "last_seq": 0}, "resume_failed", None),
    ({"type": "message", "id": "m", "text": "hors conversation"}, "not_in_conversation", None),
    ({"type": "typing"}, "not_in_conversation", None),
    ({"type": "leave"}, "not_in_conversation", None),
    ({"type": "next"}, "no_article", None),
]


STATE_DEPENDENT = {"not_in_conversation", "no_article", "resume_failed"}


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    MALFORMED,
    ids=[f"{i}-{case[1]}" for i, case in enumerate(MALFORMED)],
)
async def test_malformed_frames_get_a_stable_error(
    server: ServerProcess, frame: Any, code: str, field: str | None
) -> None:
    reader = await Reader.open(server.ws_url)
    await reader.send(frame if isinstance(frame, str) else json.dumps(frame))
    error = await reader.error(code)
    if field is not None:
        assert error.get("field") == field
    # The connection survives and still works.
    await reader.send({"type": "ping"})
    await reader.expect("pong")
    await reader.close()


async def test_bad_input_does_not_disturb_other_conversations(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    troll, victim, _, _ = await pair(server.ws_url)
    # Frames that are wrong whatever the state (not the idle-only refusals).
    malformed = [frame for frame, code, _ in MALFORMED if code not in STATE_DEPENDENT]
    for frame in malformed:
        await troll.send(frame if isinstance(frame, str) else json.dumps(frame))
    await troll.send(b"\x00\x01binary")
    for _ in range(len(malformed) + 1):
        event = await troll.recv()
        assert event["type"] == "error"
    # Nothing reached the troll's own partner, nor anyone else.
    await victim.silent(0.3)
    await first.silent(0.1)
    await first.send({"type": "message", "id": "ok", "text": "toujours là ?"})
    assert (await second.expect("message"))["text"] == "toujours là ?"
    await troll.send({"type": "message", "id": "fine", "text": "pardon"})
    assert (await victim.expect("message"))["text"] == "pardon"
    for reader in (first, second, troll, victim):
        await reader.close()


async def test_text_at_the_limit_is_relayed(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    text = "é" * 1000
    await first.send({"type": "message", "id": "max", "text": text})
    assert (await second.expect("message"))["text"] == text
    await first.close()
    await second.close()


async def test_refused_message_carries_its_id_and_is_not_relayed(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    await first.send({"type": "message", "id": "long", "text": "x" * 1001})
    error = await first.error("text_too_long")
    assert error["id"] == "long"
    await second.silent(0.3)
    await first.close()
    await second.close()


async def test_binary_frame_is_refused(server: ServerProcess) -> None:
    reader = await Reader.open(server.ws_url)
    await reader.send(b'{"type": "ping"}')
    await reader.error("binary_frame")
    await reader.close()


async def test_frame_over_the_documented_size_is_refused(server: ServerProcess) -> None:
    reader = await Reader.open(server.ws_url)
    padding = "x" * (17 * 1024)
    await reader.send(json.dumps({"type": "ping", "padding": padding}))
    await reader.error("frame_too_large")
    await reader.send({"type": "ping"})
    await reader.expect("pong")
    await reader.close()


async def test_frame_over_64_kib_closes_with_1009(server: ServerProcess) -> None:
    reader = await Reader.open(server.ws_url)
    await reader.send("x" * (65 * 1024))
    with pytest.raises(ConnectionClosed):
        await reader.recv()
    assert reader.ws.close_code == 1009


async def test_second_join_is_refused(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    await first.send({"type": "join", "article": new_article()})
    await first.error("already_in_conversation")
    await first.send({"type": "resume", "token": "t_whatever", "last_seq": 0})
    await first.error("already_in_conversation")
    waiter = await Reader.open(server.ws_url)
    await waiter.send({"type": "join", "article": new_article()})
    await waiter.expect("waiting")
    await waiter.send({"type": "join", "article": new_article()})
    await waiter.error("already_waiting")
    for reader in (first, second, waiter):
        await reader.close()


async def test_message_rate_is_limited_with_a_retry_delay(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    for n in range(11):  # burst of 10
        await first.send({"type": "message", "id": f"r{n}", "text": "spam"})
    for _ in range(10):
        assert (await first.expect("message"))["from"] == "you"
    error = await first.error("rate_limited")
    assert error["id"] == "r10" and 0 < error["retry_after"] <= 1
    for _ in range(10):
        await second.expect("message")
    await second.silent(0.2)
    await first.close()
    await second.close()


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1", "null"])
async def test_cross_site_socket_is_refused(server: ServerProcess, origin: str) -> None:
    async with connect(server.ws_url, origin=origin, compression=None) as ws:  # type: ignore[arg-type]
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["type"] == "error" and event["code"] == "forbidden_origin"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1008


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_own_origin_is_accepted(server: ServerProcess, host: str) -> None:
    url = f"ws://{host}:{server.port}/ws/v1/chat"
    origin = f"http://{host}:{server.port}"
    async with connect(url, origin=origin, compression=None) as ws:  # type: ignore[arg-type]
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
