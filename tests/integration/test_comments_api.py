"""The comments API against a real server, on SQLite and on PostgreSQL (same tests)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

import httpx
import pytest

from causerie.testing import ServerProcess
from tests.integration.sse import EventListener


class Api:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.base = server.base_url + "/api/v1"
        self.client = httpx.Client(timeout=10)

    def article(self) -> str:
        return f"{self.server.base_url}/articles/{uuid.uuid4().hex}"

    def post(self, url: str, text: str, **fields: Any) -> httpx.Response:
        return self.client.post(f"{self.base}/comments", json={"url": url, "text": text, **fields})

    def posted(self, url: str, text: str, **fields: Any) -> dict[str, Any]:
        response = self.post(url, text, **fields)
        assert response.status_code == 201, response.text
        return response.json()

    def thread(self, url: str, **params: Any) -> httpx.Response:
        return self.client.get(f"{self.base}/comments", params={"url": url, **params})


@pytest.fixture
def api(comments_server: ServerProcess) -> Any:
    client = Api(comments_server)
    yield client
    client.client.close()


def test_post_and_read_a_thread(api: Api) -> None:
    url = api.article()
    first = api.posted(url, "Premier !", name="Jeanne", title="Un article")
    assert first["status"] == "published"
    assert len(first["author_token"]) >= 40
    assert first["editable_for"] == 3  # the test server's CAUSERIE_EDIT_WINDOW
    reply = api.posted(url, "Réponse", parent=first["id"])
    deeper = api.posted(url, "Réponse à la réponse", parent=reply["id"])
    second = api.posted(url, "Deuxième")

    body = api.thread(url).json()
    assert body["total"] == 4
    assert body["next"] is None
    assert body["article"] == {"url": url, "title": "Un article"}
    assert [c["id"] for c in body["comments"]] == [second["id"], first["id"]]
    top = body["comments"][1]
    assert top["name"] == "Jeanne"
    assert [r["id"] for r in top["replies"]] == [reply["id"], deeper["id"]]
    assert top["replies"][1]["parent"] == reply["id"]
    assert all(r["replies"] == [] for r in top["replies"])
    for key in ("id", "name", "created_at", "likes", "replies", "text", "html"):
        assert key in top
    assert top["created_at"].endswith("Z")


def test_generated_pseudonym_when_no_name(api: Api) -> None:
    comment = api.posted(api.article(), "Sans nom", name="   ")["comment"]
    assert comment["name"] and " " in comment["name"]


def test_sorting_and_cursor_pages(api: Api) -> None:
    url = api.article()
    ids = [api.posted(url, f"commentaire {n}")["id"] for n in range(7)]
    for liker in range(3):
        api.client.post(f"{api.base}/comments/{ids[2]}/like", json={"reader": f"reader-{liker}xx"})
    api.client.post(f"{api.base}/comments/{ids[5]}/like", json={"reader": "reader-0xx"})

    def walk(sort: str) -> list[int]:
        seen: list[int] = []
        cursor = None
        for _ in range(10):
            params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = api.thread(url, **params).json()
            assert len(page["comments"]) <= 3
            assert page["total"] == 7
            seen += [c["id"] for c in page["comments"]]
            cursor = page["next"]
            if cursor is None:
                return seen
        raise AssertionError("pagination does not end")

    assert walk("newest") == ids[::-1]
    assert walk("oldest") == ids
    top = walk("top")
    assert top[:2] == [ids[2], ids[5]]
    assert sorted(top) == sorted(ids)


def test_cursor_from_another_sort_is_refused(api: Api) -> None:
    url = api.article()
    for n in range(3):
        api.posted(url, f"c{n}")
    cursor = api.thread(url, limit=1).json()["next"]
    response = api.thread(url, sort="top", cursor=cursor)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_cursor"


def test_formatting_is_rendered_safely(api: Api) -> None:
    url = api.article()
    text = (
        "Un *mot*, un **gros mot**.\n\nVoir https://www.lemonde.fr/a?b=1. <script>alert(1)</script>"
    )
    html = api.posted(url, text)["comment"]["html"]
    assert html.startswith("<p>Un <em>mot</em>, un <strong>gros mot</strong>.</p><p>")
    assert '<a href="https://www.lemonde.fr/a?b=1" rel="nofollow ugc noopener"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "payload",
    [
        "<img src=x onerror=alert(1)>",
        '"><svg onload=alert(1)>',
        "javascript:alert(1)",
        "<a href='javascript:alert(1)'>x</a>",
    ],
)
def test_xss_payloads_in_name_and_text_stay_text(api: Api, payload: str) -> None:
    url = api.article()
    comment = api.posted(url, payload, name=payload[:40])["comment"]
    assert comment["text"] == payload
    for tag in ("<img", "<svg", "<a ", "<script"):
        assert tag not in comment["html"]
    stored = api.thread(url).json()["comments"][0]
    assert stored["name"] == payload[:40]


def test_edit_and_delete_with_the_author_token(api: Api) -> None:
    url = api.article()
    posted = api.posted(url, "Version 1")
    auth = {"Authorization": f"Bearer {posted['author_token']}"}
    response = api.client.patch(
        f"{api.base}/comments/{posted['id']}", json={"text": "Version 2"}, headers=auth
    )
    assert response.status_code == 200
    assert response.json()["comment"]["text"] == "Version 2"
    assert response.json()["comment"]["edited_at"] is not None
    assert api.thread(url).json()["comments"][0]["text"] == "Version 2"
    response = api.client.delete(f"{api.base}/comments/{posted['id']}", headers=auth)
    assert response.status_code == 204
    assert api.thread(url).json()["comments"] == []
    assert api.thread(url).json()["total"] == 0
    again = api.client.delete(f"{api.base}/comments/{posted['id']}", headers=auth)
    assert again.status_code == 404


def test_deleted_comment_with_replies_keeps_its_place(api: Api) -> None:
    url = api.article()
    parent = api.posted(url, "Parent")
    api.posted(url, "Enfant", parent=parent["id"])
    auth = {"Authorization": f"Bearer {parent['author_token']}"}
    assert api.client.delete(f"{api.base}/comments/{parent['id']}", headers=auth).status_code == 204
    body = api.thread(url).json()
    assert body["total"] == 1
    (shown,) = body["comments"]
    assert shown["deleted"] is True and shown["text"] == "" and shown["name"] == ""
    assert [r["text"] for r in shown["replies"]] == ["Enfant"]


@pytest.mark.parametrize("sort", ["newest", "oldest", "top"])
def test_pages_are_full_although_deleted_comments_are_skipped(api: Api, sort: str) -> None:
    """Deleted top-level comments without replies take no room on a page: every page
    holds ``limit`` shown comments while there are more, and the last has no cursor."""
    url = api.article()
    kept, gone = [], []
    for n in range(6):
        posted = api.posted(url, f"Commentaire {n}")
        (gone if n % 3 else kept).append(posted)
    for posted in gone:
        auth = {"Authorization": f"Bearer {posted['author_token']}"}
        response = api.client.delete(f"{api.base}/comments/{posted['id']}", headers=auth)
        assert response.status_code == 204
    seen, cursor = [], None
    while True:
        params = {"limit": 1, "sort": sort, **({"cursor": cursor} if cursor else {})}
        body = api.thread(url, **params).json()
        assert len(body["comments"]) == 1, body  # never an empty page before the end
        seen += [c["id"] for c in body["comments"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(c["id"] for c in kept)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Basic abc"}, 401, "missing_token"),
        ({"Authorization": "Bearer not-the-token"}, 403, "wrong_token"),
        ({"Authorization": "Bearer"}, 401, "missing_token"),
    ],
)
def test_edit_needs_the_right_token(
    api: Api, headers: dict[str, str], status: int, code: str
) -> None:
    posted = api.posted(api.article(), "À moi")
    response = api.client.patch(
        f"{api.base}/comments/{posted['id']}", json={"text": "piraté"}, headers=headers
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    response = api.client.delete(f"{api.base}/comments/{posted['id']}", headers=headers)
    assert response.status_code == status


def test_another_authors_token_is_wrong(api: Api) -> None:
    url = api.article()
    mine = api.posted(url, "Le mien")
    theirs = api.posted(url, "Le sien")
    response = api.client.patch(
        f"{api.base}/comments/{theirs['id']}",
        json={"text": "piraté"},
        headers={"Authorization": f"Bearer {mine['author_token']}"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_token"


def test_edit_after_the_window_is_refused(api: Api) -> None:
    posted = api.posted(api.article(), "Trop tard")
    time.sleep(3.5)  # the test server's window is 3 s
    response = api.client.patch(
        f"{api.base}/comments/{posted['id']}",
        json={"text": "modifié"},
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "edit_window_over"


def test_like_once_per_reader(api: Api) -> None:
    comment_id = api.posted(api.article(), "J'aime")["id"]
    like = f"{api.base}/comments/{comment_id}/like"
    assert api.client.post(like, json={"reader": "browser-one"}).json() == {
        "id": comment_id,
        "likes": 1,
        "liked": True,
    }
    assert api.client.post(like, json={"reader": "browser-one"}).json()["likes"] == 1
    assert api.client.post(like, json={"reader": "browser-two"}).json()["likes"] == 2
    response = api.client.request("DELETE", like, json={"reader": "browser-one"})
    assert response.json() == {"id": comment_id, "likes": 1, "liked": False}
    # Without a reader token the client is recognized by its (hashed) address.
    assert api.client.post(like).json()["likes"] == 2
    assert api.client.post(like).json()["likes"] == 2


def test_like_unknown_comment(api: Api) -> None:
    response = api.client.post(f"{api.base}/comments/999999/like", json={"reader": "browser-x"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_counts_for_many_urls(api: Api) -> None:
    urls = [api.article() for _ in range(5)]
    for n, url in enumerate(urls[:3]):
        for _ in range(n + 1):
            api.posted(url, "compté")
    response = api.client.get(f"{api.base}/counts", params={"url": urls})
    assert response.status_code == 200
    assert response.json() == {"counts": dict(zip(urls, [1, 2, 3, 0, 0], strict=True))}
    tracked = urls[0] + "?utm_source=newsletter"
    assert api.client.get(f"{api.base}/counts", params={"url": [tracked]}).json() == {
        "counts": {tracked: 1}
    }


def test_register_article(api: Api) -> None:
    url = api.article()
    response = api.client.post(f"{api.base}/articles", json={"url": url, "title": "Titre"})
    assert response.status_code == 201
    assert response.json() == {"url": url, "title": "Titre"}
    response = api.client.post(f"{api.base}/articles", json={"url": url, "title": "Nouveau"})
    assert response.status_code == 200
    body = api.thread(url).json()
    assert body["comments"] == [] and body["total"] == 0
    assert body["article"]["title"] == "Nouveau"


def test_reply_to_another_articles_comment_is_refused(api: Api) -> None:
    elsewhere = api.posted(api.article(), "Ailleurs")
    response = api.post(api.article(), "Réponse égarée", parent=elsewhere["id"])
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_parent"


ERRORS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("GET", "/comments?url=https%3A%2F%2Fnowhere.example%2Fa", {}, 404, "unknown_article"),
    ("GET", "/comments?url=not-a-url", {}, 400, "invalid_url"),
    ("GET", "/comments", {}, 400, "missing_field"),
    ("GET", "/comments?url=http://127.0.0.1/a&sort=best", {}, 400, "invalid_sort"),
    ("GET", "/comments?url=http://127.0.0.1/a&limit=0", {}, 400, "invalid_limit"),
    ("GET", "/comments?url=http://127.0.0.1/a&limit=101", {}, 400, "invalid_limit"),
    ("GET", "/comments?url=http://127.0.0.1/a&cursor=%%%", {}, 400, "bad_cursor"),
    ("GET", "/comments?url=http://127.0.0.1/a&cursor=WyJuZXdlc3QiLC0xLDBd", {}, 400, "bad_cursor"),
    ("PUT", "/comments", {}, 405, "method_not_allowed"),
    ("DELETE", "/counts", {}, 405, "method_not_allowed"),
    ("GET", "/nothing-here", {}, 404, "not_found"),
    ("POST", "/comments", {"content": b'{"url": "x"', "json": True}, 400, "invalid_json"),
    ("POST", "/comments", {"content": b"\xff\xfe{}", "json": True}, 400, "invalid_utf8"),
    ("POST", "/comments", {"content": b'{"text": "\xe9"}', "json": True}, 400, "invalid_utf8"),
    (
        "POST",
        "/comments",
        {"content": b"url=x&text=y", "type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
    ),
    (
        "POST",
        "/comments",
        {"content": b'{"url":"x","text":"y"}', "type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
    ("POST", "/comments", {"content": b"[]", "json": True}, 400, "invalid_field"),
    ("POST", "/comments", {"content": b"{}", "json": True}, 400, "missing_field"),
    ("POST", "/comments", {"body": {"text": "sans url"}}, 400, "missing_field"),
    ("POST", "/comments", {"body": {"url": 5, "text": "x"}}, 400, "invalid_url"),
    ("POST", "/comments", {"body": {"url": "SITE", "text": 5}}, 400, "invalid_field"),
    ("POST", "/comments", {"body": {"url": "SITE", "text": "   "}}, 400, "empty_text"),
    ("POST", "/comments", {"body": {"url": "SITE", "text": "x" * 5001}}, 400, "text_too_long"),
    (
        "POST",
        "/comments",
        {"body": {"url": "SITE", "text": "x", "name": "n" * 41}},
        400,
        "name_too_long",
    ),
    (
        "POST",
        "/comments",
        {"body": {"url": "SITE", "text": "x", "parent": "1"}},
        400,
        "invalid_field",
    ),
    (
        "POST",
        "/comments",
        {"body": {"url": "SITE", "text": "x", "parent": 987654}},
        404,
        "unknown_parent",
    ),
    (
        "POST",
        "/comments",
        {"body": {"url": "https://evil.example/a", "text": "x"}},
        403,
        "unknown_site",
    ),
    (
        "POST",
        "/comments",
        {"content": b'{"url": "' + b"x" * 70_000 + b'"}', "json": True},
        413,
        "body_too_large",
    ),
    ("PATCH", "/comments/abc", {"body": {"text": "x"}}, 400, "invalid_field"),
    ("PATCH", "/comments/999999", {"body": {"text": "x"}, "auth": "Bearer zz"}, 404, "not_found"),
    ("GET", "/counts", {}, 400, "missing_field"),
    ("GET", "/counts?" + "&".join(["url=http://127.0.0.1/a"] * 201), {}, 400, "too_many_urls"),
    ("GET", "/counts?url=javascript:alert(1)", {}, 400, "invalid_url"),
    (
        "POST",
        "/articles",
        {"body": {"url": "https://evil.example/a", "title": "x"}},
        403,
        "unknown_site",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "request_", "status", "code"),
    ERRORS,
    ids=[f"{m}-{c}-{i}" for i, (m, _, _, _, c) in enumerate(ERRORS)],
)
def test_errors_have_stable_codes(
    api: Api, method: str, path: str, request_: dict[str, Any], status: int, code: str
) -> None:
    headers: dict[str, str] = {}
    content: bytes | None = request_.get("content")
    if "body" in request_:
        body = dict(request_["body"])
        if body.get("url") == "SITE":
            body["url"] = api.article()
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if request_.get("json"):
        headers["Content-Type"] = "application/json"
    if "type" in request_:
        headers["Content-Type"] = request_["type"]
    if "auth" in request_:
        headers["Authorization"] = request_["auth"]
    response = api.client.request(method, api.base + path, content=content, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def test_error_messages_in_english(api: Api) -> None:
    response = api.client.get(
        f"{api.base}/comments", params={"url": "nope"}, headers={"Accept-Language": "en-GB"}
    )
    assert response.json()["message"] == "Invalid article URL."


def test_chunked_oversize_body_is_refused(api: Api) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    response = api.client.post(
        f"{api.base}/comments", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_cors_only_for_the_sites(api: Api) -> None:
    site = f"http://localhost:{api.server.port}"
    allowed = api.client.get(f"{api.base}/counts?url={site}/a", headers={"Origin": site})
    assert allowed.headers["access-control-allow-origin"] == site
    other = api.client.get(
        f"{api.base}/counts?url={site}/a", headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    preflight = api.client.options(
        f"{api.base}/comments",
        headers={
            "Origin": site,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    refused = api.client.options(
        f"{api.base}/comments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


def test_live_updates_over_server_sent_events(api: Api) -> None:
    url = api.article()
    first = api.posted(url, "Avant")
    listener = EventListener(api.server.base_url, url, count=4).start()
    assert listener.content_type.startswith("text/event-stream")
    second = api.posted(url, "Pendant")
    api.client.post(f"{api.base}/comments/{first['id']}/like", json={"reader": "live-reader"})
    api.client.patch(
        f"{api.base}/comments/{second['id']}",
        json={"text": "Pendant, corrigé"},
        headers={"Authorization": f"Bearer {second['author_token']}"},
    )
    api.client.delete(
        f"{api.base}/comments/{second['id']}",
        headers={"Authorization": f"Bearer {second['author_token']}"},
    )
    events = listener.wait()
    assert [kind for kind, _ in events] == ["comment", "likes", "comment", "deleted"]
    assert events[0][1]["text"] == "Pendant"
    assert events[1][1] == {"id": first["id"], "likes": 1}
    assert events[2][1]["text"] == "Pendant, corrigé"
    assert events[3][1] == {"id": second["id"]}


def test_openapi_is_served(api: Api) -> None:
    spec = api.client.get(f"{api.base}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/comments", "/api/v1/comments/{comment_id}", "/api/v1/counts"):
        assert path in spec["paths"]
    docs = api.client.get(f"{api.base}/docs")
    assert docs.status_code == 200
    assert "openapi.json" in docs.text
    assert "script-src 'self'" in docs.headers["content-security-policy"]


def test_slow_body_does_not_block_others(api: Api) -> None:
    """A client that sends half a body and stalls must not stop the server."""
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/comments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"url":'
        )
        assert (
            api.client.get(f"{api.base}/counts", params={"url": api.article()}).status_code == 200
        )


def test_premoderation_holds_comments(tmp_path: Any) -> None:
    env = {"CAUSERIE_COMMENTS_PREMODERATION": "true", "CAUSERIE_LOG_LEVEL": "warning"}
    with ServerProcess(tmp_path / "premod", env) as server:
        client = Api(server)
        url = client.article()
        response = client.post(url, "À modérer")
        assert response.status_code == 202
        assert response.json()["status"] == "held"
        body = client.thread(url).json()
        assert body["comments"] == [] and body["total"] == 0
        client.client.close()


def test_reply_to_a_deleted_comment_is_refused(api: Api) -> None:
    url = api.article()
    gone = api.posted(url, "Bientôt supprimé")
    auth = {"Authorization": f"Bearer {gone['author_token']}"}
    assert api.client.delete(f"{api.base}/comments/{gone['id']}", headers=auth).status_code == 204
    response = api.post(url, "Trop tard", parent=gone["id"])
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_parent"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("t'es vraiment un gros c0nnard", "moderation_insult"),
        ("Espèce de s a l o p e", "moderation_insult"),
    ],
)
def test_refused_comment_is_explained_and_not_stored(api: Api, text: str, code: str) -> None:
    url = api.article()
    api.posted(url, "Un commentaire correct pour créer l'article.")
    response = api.post(url, text)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == code and body["field"] == "text" and body["message"]
    assert api.thread(url).json()["total"] == 1


def test_spam_link_is_held_not_published(api: Api) -> None:
    url = api.article()
    api.posted(url, "Premier.")
    response = api.post(url, "Gagne 500€ par jour depuis chez toi ici http://easy-cash.example/go")
    assert response.status_code == 202
    assert response.json()["status"] == "held"
    assert api.thread(url).json()["total"] == 1


def test_personal_data_is_masked_in_published_comment(api: Api) -> None:
    comment = api.posted(api.article(), "Écrivez-moi à jeanne.dupont@example.com si besoin")
    assert "jeanne.dupont@example.com" not in comment["comment"]["text"]


def test_civil_disagreement_is_published(api: Api) -> None:
    comment = api.posted(api.article(), "Quel bordel cette histoire, ce gouvernement est nul.")
    assert comment["status"] == "published"


def test_edit_cannot_smuggle_an_insult(api: Api) -> None:
    posted = api.posted(api.article(), "Tout à fait d'accord.")
    response = api.client.patch(
        f"{api.base}/comments/{posted['id']}",
        json={"text": "t'es un connard"},
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "moderation_insult"
