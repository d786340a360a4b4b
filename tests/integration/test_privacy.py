"""No chat text at rest, no clear IP address in what the server writes."""

from __future__ import annotations

import re
from pathlib import Path

from causerie.testing import ServerProcess
from tests.conftest import TEST_SERVER_ENV
from tests.integration.client import Reader, pair

PRIVATE_TEXT = "mon-numero-secret-0612345678"


async def test_server_writes_no_chat_text_and_no_ip(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**TEST_SERVER_ENV, "CAUSERIE_LOG_LEVEL": "debug"}
    with ServerProcess(data_dir, env) as server:
        first, second, matched, _ = await pair(server.ws_url)
        await first.send({"type": "message", "id": "s", "text": PRIVATE_TEXT})
        assert (await second.expect("message"))["text"] == PRIVATE_TEXT
        await first.expect("message")
        await first.send({"type": "message", "id": "bad", "text": PRIVATE_TEXT + "x" * 1000})
        await first.error("text_too_long")
        first.ws.transport.abort()
        await second.expect("partner_away")
        again = await Reader.open(server.ws_url)
        await again.send({"type": "resume", "token": matched["resume_token"], "last_seq": 0})
        await again.expect("resumed")
        await again.send({"type": "leave"})
        await again.close()
        await second.close()
        log = server.log()
    assert not re.search(r"127\.0\.0\.1:\d+ - ", log), log
    for path in data_dir.rglob("*"):
        if path.is_file() and path.name != "server.log":
            assert PRIVATE_TEXT.encode() not in path.read_bytes(), path
    assert PRIVATE_TEXT not in log
    assert matched["resume_token"] not in log
