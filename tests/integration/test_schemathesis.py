"""Schemathesis against the served OpenAPI of a real server, on SQLite and PostgreSQL.

The only check is ``not_a_server_error``: whatever a client sends, the API answers with
a client error or a success, never a 5xx. Random article URLs are refused (403
unknown_site, 400 invalid_url), so dictionaries steer part of the generated requests to
the test server's own articles and comment ids, where the store and the renderer work.

Below the run, the two server errors found around it, as plain requests (schemathesis
cannot be expected to generate them).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import orjson

from causerie.testing import ServerProcess

SEED = 20261127
MAX_EXAMPLES = 25
STREAM = "/api/v1/comments/stream"  # never ends: excluded

TEXTS = [
    "Merci pour l'article, *très* clair.",
    "**Fort** et *léger*\n\nDeuxième paragraphe\nligne suivante",
    "voir https://news.example/a?x=1&y=2, et http://news.example/b.",
    "<script>alert(1)</script> <img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)> javascript:alert(1)',
    "http://[2001:db8::1]/chemin",
    "***",
    "   ",
    "é" * 5001,
]


def st_command() -> list[str]:
    script = Path(sys.executable).with_name("st")
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


def seed_articles(base_url: str) -> tuple[list[str], list[int]]:
    """Articles of the server's own site, with a few comments and replies to aim at."""
    articles = [f"{base_url}/schemathesis/{uuid.uuid4().hex}" for _ in range(3)]
    ids: list[int] = []
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for article in articles:
            response = client.post("/api/v1/articles", json={"url": article, "title": "Essai"})
            assert response.status_code == 201, response.text
            parent = None
            for text in ("premier", "une *réponse*", "réponse à la réponse"):
                response = client.post(
                    "/api/v1/comments", json={"url": article, "text": text, "parent": parent}
                )
                assert response.status_code == 201, response.text
                parent = response.json()["id"]
                ids.append(parent)
    return articles, ids


def write_config(path: Path, articles: list[str], ids: list[int]) -> Path:
    # TOML strings and arrays are JSON-compatible for these values
    config = "\n".join(
        [
            "[dictionaries.articles]",
            f"values = {json.dumps(articles)}",
            "[dictionaries.ids]",
            f"values = {json.dumps(ids)}",
            "[dictionaries.texts]",
            f"values = {json.dumps(TEXTS, ensure_ascii=False)}",
            "[parameters]",
            '"query.url" = { dictionary = "articles", probability = 0.6 }',
            '"body.url" = { dictionary = "articles", probability = 0.6 }',
            '"body.text" = { dictionary = "texts", probability = 0.3 }',
            '"path.comment_id" = { dictionary = "ids", probability = 0.6 }',
            '"body.parent" = { dictionary = "ids", probability = 0.5 }',
            "",
        ]
    )
    path.write_text(config, encoding="utf-8")
    return path


def test_schemathesis_finds_no_server_error(comments_server: ServerProcess, tmp_path: Path) -> None:
    articles, ids = seed_articles(comments_server.base_url)
    config = write_config(tmp_path / "schemathesis.toml", articles, ids)
    command = [
        *st_command(),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{comments_server.base_url}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--request-timeout",
        "10",
        "--exclude-path",
        STREAM,
        "--workers",
        "1",
    ]
    # cwd: schemathesis and Hypothesis keep their caches there, not in the repository
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, (
        f"schemathesis exited {result.returncode}\n{result.stdout}\n{result.stderr}\n"
        f"--- server log ---\n{comments_server.log()}"
    )


# --- server errors found by hand ------------------------------------------------------------


def cursor_of(data: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def test_post_with_a_bracketed_link_is_not_a_server_error(
    comments_server: ServerProcess,
) -> None:
    article = f"{comments_server.base_url}/bugs/{uuid.uuid4().hex}"
    response = httpx.post(
        f"{comments_server.base_url}/api/v1/comments",
        json={"url": article, "text": "voir http://[x"},
        timeout=10,
    )
    # Published or held for its odd link, never a server error; never a link either.
    assert response.status_code in (201, 202), response.text
    assert "<a " not in response.json()["comment"]["html"]


def test_cursor_beyond_the_id_range_is_not_a_server_error(
    comments_server: ServerProcess,
) -> None:
    base = comments_server.base_url
    article = f"{base}/bugs/{uuid.uuid4().hex}"
    with httpx.Client(base_url=base, timeout=10) as client:
        assert (
            client.post("/api/v1/articles", json={"url": article, "title": ""}).status_code == 201
        )
        response = client.get(
            "/api/v1/comments", params={"url": article, "cursor": cursor_of(["newest", 2**63, 0])}
        )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_cursor"
