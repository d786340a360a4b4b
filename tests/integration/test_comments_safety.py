"""Bans, the browser's author identity and per-site settings in the comments API,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from causerie.core.comments import hash_token
from causerie.core.identity import address_hash
from causerie.core.safety import DAY_US, BanKind
from causerie.store.database import Database, database_url
from causerie.store.safety import SafetyStore
from causerie.testing import ServerProcess, free_port


def now_us() -> int:
    return time.time_ns() // 1000


class Client:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url + "/api/v1", timeout=10)

    def article(self) -> str:
        return f"{self.server.base_url}/articles/{uuid.uuid4().hex}"

    def post(self, url: str, text: str, token: str | None = None, **extra: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(
            "/comments", json={"url": url, "text": text, **extra}, headers=headers
        )

    def run(self, database: str, call: Any) -> Any:
        """Run ``call(store)`` against the server's database (a real connection)."""

        async def go() -> Any:
            db = Database(database_url(database, self.server.data_dir))
            try:
                return await call(SafetyStore(db))
            finally:
                await db.close()

        return asyncio.run(go())


@pytest.fixture
def client(comments_server: ServerProcess) -> Iterator[Client]:
    c = Client(comments_server)
    yield c
    c.http.close()


def secret_of(server: ServerProcess) -> bytes:
    return bytes.fromhex((server.data_dir / "secret.key").read_text().strip())


def test_a_browser_keeps_one_author_token_across_comments(client: Client) -> None:
    url = client.article()
    first = client.post(url, "Premier commentaire.")
    assert first.status_code == 201
    token = first.json()["author_token"]
    second = client.post(url, "Deuxième commentaire.", token=token)
    assert second.status_code == 201
    assert second.json()["author_token"] == token
    # The token still edits each of its comments.
    edited = client.http.patch(
        f"/comments/{second.json()['id']}",
        json={"text": "Deuxième, corrigé."},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert edited.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer short",
        "Bearer " + "x" * 129,
        "Basic " + "x" * 40,
        "Bearer " + "é" * 40,
        "Bearer ' OR 1=1 --" + "x" * 30,
        "Bearer",
        "x" * 40,
    ],
)
def test_a_malformed_author_token_is_refused_and_nothing_is_posted(
    client: Client, authorization: str
) -> None:
    url = client.article()
    response = client.http.post(
        "/comments",
        json={"url": url, "text": "Bonjour"},
        headers={"Authorization": authorization.encode()},  # raw UTF-8 bytes, as sent
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_field"
    assert response.json()["field"] == "authorization"
    thread = client.http.get("/comments", params={"url": url})
    assert thread.status_code == 404  # not even the article was created


def test_a_banned_author_cannot_post_nor_edit(client: Client, database: str) -> None:
    url = client.article()
    posted = client.post(url, "Avant le bannissement.")
    token = posted.json()["author_token"]
    ban = client.run(
        database,
        lambda store: store.add_ban(
            BanKind.AUTHOR,
            hash_token(token),
            reason="test",
            expires_us=now_us() + DAY_US,
            moderator=None,
            now_us=now_us(),
        ),
    )
    try:
        refused = client.post(url, "Après le bannissement.", token=token)
        assert refused.status_code == 403
        body = refused.json()
        assert body["code"] == "banned"
        assert body["message"] == "Vous ne pouvez pas participer pour le moment."
        edit = client.http.patch(
            f"/comments/{posted.json()['id']}",
            json={"text": "modifié"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert edit.status_code == 403 and edit.json()["code"] == "banned"
        # Another browser (a new token) on the same address is not concerned.
        assert client.post(url, "Un autre lecteur.").status_code == 201
    finally:
        client.run(database, lambda store: store.revoke_ban(ban.id, now_us()))
    assert client.post(url, "De retour.", token=token).status_code == 201


def test_an_address_ban_refuses_every_browser_of_that_address(
    client: Client, database: str
) -> None:
    day = time.strftime("%Y-%m-%d", time.gmtime())
    value = address_hash(secret_of(client.server), "127.0.0.1", day)
    ban = client.run(
        database,
        lambda store: store.add_ban(
            BanKind.IP,
            value,
            reason="test",
            expires_us=now_us() + DAY_US,
            moderator=None,
            now_us=now_us(),
        ),
    )
    try:
        response = client.post(client.article(), "Bonjour")
        assert response.status_code == 403 and response.json()["code"] == "banned"
    finally:
        client.run(database, lambda store: store.revoke_ban(ban.id, now_us()))


def test_comments_keep_only_a_keyed_address_hash(client: Client, database: str) -> None:
    url = client.article()
    posted = client.post(url, "Un commentaire.").json()
    held = client.run(database, lambda store: store.comment(posted["id"]))
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert held.ip_hash == address_hash(secret_of(client.server), "127.0.0.1", day)
    assert "127.0.0.1" not in held.ip_hash


def test_a_sites_own_settings_apply_to_its_comments(
    comments_server: ServerProcess, client: Client, database: str
) -> None:
    """A site's pre-moderation, saved in the store, holds every comment of that site only."""
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    name = "m" + secrets.token_hex(4)

    async def configure(store: SafetyStore) -> None:
        moderator = await store.add_moderator(name, "not-a-real-hash", now_us())
        await store.save_site_settings(
            site, premoderation=True, actions="comment spam refuse", moderator=moderator,
            now_us=now_us(),
        )  # fmt: skip

    client.run(database, configure)
    data_dir = comments_server.data_dir.parent / f"site-{uuid.uuid4().hex[:8]}"
    # A server started after the change reads it at start (a running one: at once when
    # the change is made in its dashboard, within 30 s when made on another node).
    with ServerProcess(data_dir, comments_server.extra_env, port=port) as configured:
        response = httpx.post(
            f"{configured.base_url}/api/v1/comments",
            json={"url": f"{site}/articles/{uuid.uuid4().hex}", "text": "Un avis posé."},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "held"
    # The other site (the shared test server's) still publishes at once.
    assert client.post(client.article(), "Un avis posé.").status_code == 201
