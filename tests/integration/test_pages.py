"""The HTTP side: demo page, chat iframe page, widget files, health; hostile requests too."""

from __future__ import annotations

import socket

import httpx
import pytest

from causerie.testing import ServerProcess


def get(server: ServerProcess, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(server.base_url + path, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_health(server: ServerProcess) -> None:
    response = get(server, "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("host", "widget_origin"),
    [("127.0.0.1", "http://localhost"), ("localhost", "http://127.0.0.1")],
)
def test_demo_page_embeds_the_widget_from_the_other_loopback_name(
    server: ServerProcess, host: str, widget_origin: str
) -> None:
    response = httpx.get(f"http://{host}:{server.port}/", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'src="{widget_origin}:{server.port}/widget/causerie.js"' in html
    assert "<causerie-chat" in html
    assert 'rel="canonical"' in html
    assert "{{" not in html


def test_demo_article_is_served_at_its_canonical_path(server: ServerProcess) -> None:
    response = get(server, "/articles/2026/11/27/ia-centres-de-donnees-eau")
    assert response.status_code == 200
    assert "<causerie-chat" in response.text


@pytest.mark.parametrize(
    "host",
    [
        'evil.example"><script>alert(1)</script>',
        "evil.example/../../x",
        "a" * 300,
        "evil.example:99999999",
    ],
)
def test_forged_host_header_is_not_reflected(server: ServerProcess, host: str) -> None:
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks).decode("latin-1")
    status = int(raw.split(" ", 2)[1])
    assert status in (200, 400)
    assert "<script>alert(1)" not in raw
    assert "evil.example/../" not in raw
    assert "a" * 300 not in raw


def test_chat_page_has_a_strict_csp(server: ServerProcess) -> None:
    response = get(server, "/widget/v1/chat?article=https://news.example/a&lang=fr")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["base-uri"] == "'none'"
    ancestors = directives["frame-ancestors"].split()
    assert ancestors[0] == "'self'"
    assert set(ancestors[1:]) == {
        f"http://127.0.0.1:{server.port}",
        f"http://localhost:{server.port}",
    }
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script" in response.text and "inline" not in csp


def test_chat_page_ignores_hostile_query_strings(server: ServerProcess) -> None:
    hostile = "article=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&lang=%3Cb%3E&accent=url(x)"
    response = get(server, f"/widget/v1/chat?{hostile}")
    assert response.status_code == 200
    assert "alert(1)" not in response.text
    assert "<b>" not in response.text


def test_chat_page_is_not_reachable_without_its_csp(server: ServerProcess) -> None:
    response = get(server, "/widget/chat.html")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/widget/causerie.js", "text/javascript"),
        ("/widget/chat-app.js", "text/javascript"),
        ("/widget/chat.css", "text/css"),
    ],
)
def test_widget_files_load_cross_origin(
    server: ServerProcess, path: str, content_type: str
) -> None:
    response = get(server, path, headers={"Origin": "https://www.example-news.fr"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/widget/../settings.py",
        "/widget/..%2f..%2fsettings.py",
        "/widget/%2e%2e/%2e%2e/cli.py",
        "/widget/nope.js",
        "/widget/" + "x" * 5000,
        "/does-not-exist",
        "/ws/v1/chat",  # plain HTTP on the socket path
    ],
)
def test_unknown_and_traversal_paths_are_refused(server: ServerProcess, path: str) -> None:
    response = get(server, path)
    assert response.status_code in (400, 404)
    assert "BaseSettings" not in response.text and "typer" not in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/", "/healthz", "/widget/v1/chat"])
def test_wrong_methods_are_refused(server: ServerProcess, method: str, path: str) -> None:
    response = httpx.request(method, server.base_url + path, content=b"x" * 100_000, timeout=5)
    assert response.status_code == 405


def test_huge_query_string_is_harmless(server: ServerProcess) -> None:
    response = get(server, "/?" + "q=" + "x" * 60_000)
    assert response.status_code in (200, 400, 414, 431)
    assert get(server, "/healthz").status_code == 200
