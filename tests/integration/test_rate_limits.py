"""Per-client limits (keyed address hash): the flooder is told when to retry, others are not."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from causerie.testing import ServerProcess
from tests.conftest import TEST_SERVER_ENV
from tests.integration.client import Reader, new_article


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        **TEST_SERVER_ENV,
        "CAUSERIE_CLIENT_CONNECTIONS_PER_MINUTE": "6",
        "CAUSERIE_CLIENT_JOINS_PER_MINUTE": "4",
        "CAUSERIE_COMMENTS_PER_MINUTE": "2",
        "CAUSERIE_LIKES_PER_MINUTE": "3",
    }
    data_dir: Path = tmp_path_factory.mktemp("strict")
    with ServerProcess(data_dir, env) as process:
        yield process


async def test_joins_are_limited_per_client_across_sockets(strict_server: ServerProcess) -> None:
    first = await Reader.open(strict_server.ws_url)
    second = await Reader.open(strict_server.ws_url)
    for reader in (first, second):  # one join each
        await reader.send({"type": "join", "article": new_article()})
        await reader.expect("waiting")
        await reader.send({"type": "leave"})
        await reader.expect("left")
    await first.send({"type": "join", "article": new_article()})
    await first.expect("waiting")
    await second.send({"type": "join", "article": new_article()})
    await second.expect("waiting")
    await second.send({"type": "leave"})
    await second.expect("left")
    await second.send({"type": "next"})  # the fifth join of this client within a minute
    error = await second.error("rate_limited")
    assert 0 < error["retry_after"] <= 15
    await first.close()
    await second.close()


async def test_connections_are_limited_per_client(strict_server: ServerProcess) -> None:
    refused = None
    for _ in range(8):  # 6 per minute; the joins test above opened 2 already
        ws = await connect(strict_server.ws_url, compression=None)
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if event["type"] == "error":
            refused = (event, ws)
            break
        await ws.close()
    assert refused is not None, "the connection limit never applied"
    event, ws = refused
    assert event["code"] == "rate_limited" and event["retry_after"] > 0
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1013


def test_comments_and_likes_are_limited_per_client(strict_server: ServerProcess) -> None:
    api = strict_server.base_url + "/api/v1"
    url = f"{strict_server.base_url}/articles/{uuid.uuid4().hex}"
    with httpx.Client(timeout=10) as client:
        ids = []
        for n in range(2):
            response = client.post(f"{api}/comments", json={"url": url, "text": f"c{n}"})
            assert response.status_code == 201
            ids.append(response.json()["id"])
        response = client.post(f"{api}/comments", json={"url": url, "text": "un de trop"})
        assert response.status_code == 429
        assert response.json()["code"] == "rate_limited"
        assert 0 < response.json()["retry_after"] <= 30
        assert int(response.headers["retry-after"]) >= 1
        # Nothing was stored for the refused one; reading is not limited.
        assert client.get(f"{api}/comments", params={"url": url}).json()["total"] == 2
        for n in range(3):
            like = client.post(f"{api}/comments/{ids[0]}/like", json={"reader": f"reader-{n}x"})
            assert like.status_code == 200
        response = client.post(f"{api}/comments/{ids[1]}/like", json={"reader": "reader-9x"})
        assert response.status_code == 429
        assert (
            client.get(f"{api}/comments", params={"url": url}).json()["comments"][1]["likes"] == 3
        )
