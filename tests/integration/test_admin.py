"""The moderator dashboard (/admin) against a real server, on SQLite and on PostgreSQL.

Moderators are created with the real CLI. Every test signs in from its own
address (``X-Forwarded-For``, trusted from loopback) and with its own moderator,
so that the login rate limits of one test never touch another.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from markupsafe import escape

from causerie.core.comments import hash_token
from causerie.core.safety import (
    BanKind,
    NewReport,
    ReportReason,
    Speaker,
    TranscriptLine,
    end_of_utc_day,
)
from causerie.store.database import Database, database_url
from causerie.store.safety import SafetyStore
from causerie.testing import ServerProcess
from causerie.web.admin import TEXT
from tests.conftest import TEST_SERVER_ENV
from tests.integration.sse import EventListener

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SQL = ("' OR 1=1 --", "'); DROP TABLE bans;--")
HOSTILE = (SCRIPT, IMG, *SQL)
PASSWORD = "correct horse battery"  # noqa: S105 (a test moderator's password)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_addresses = itertools.count(1)
_clients: list[httpx.Client] = []


def browser(server: ServerProcess, **options: Any) -> httpx.Client:
    """An HTTP client closed after the test, whatever happens."""
    client = httpx.Client(base_url=server.base_url, timeout=20, **options)
    _clients.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def now_us() -> int:
    return time.time_ns() // 1000


@pytest.fixture(scope="module")
def admin_server(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real server holding every comment for review, on each database backend."""
    data_dir = tmp_path_factory.mktemp("admin-data")
    env = {
        **TEST_SERVER_ENV,
        "CAUSERIE_DATABASE_URL": database,
        "CAUSERIE_COMMENTS_PREMODERATION": "1",
    }
    with ServerProcess(data_dir, env) as process:
        yield process


def cli(server: ServerProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAUSERIE_DATA_DIR": str(server.data_dir), **server.extra_env}
    return subprocess.run(
        [sys.executable, "-m", "causerie", "moderator", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def new_moderator(server: ServerProcess, password: str = PASSWORD) -> str:
    name = f"mod-{uuid.uuid4().hex[:10]}"
    done = cli(server, "add", name, "--password-stdin", stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    return name


def run_store(server: ServerProcess, call: Any) -> Any:
    """``call(store)`` against the server's database, through a real connection."""

    async def go() -> Any:
        db = Database(database_url(server.extra_env["CAUSERIE_DATABASE_URL"], server.data_dir))
        try:
            return await call(SafetyStore(db))
        finally:
            await db.close()

    return asyncio.run(go())


def hidden_csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    assert found, page
    return found.group(1)


class Admin:
    """A browser of the dashboard: its own address, cookies, and helpers."""

    def __init__(self, server: ServerProcess, address: str | None = None) -> None:
        self.server = server
        number = next(_addresses)
        self.address = address or f"10.77.{number // 250}.{number % 250 + 1}"
        self.http = browser(server, headers={"X-Forwarded-For": self.address})
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = self.http.get("/admin/login")
        assert form.status_code == 200, form.text
        data = {"csrf": hidden_csrf(form.text), "name": name, "password": password}
        response = self.http.post("/admin/login", data=data)
        if response.status_code == 303:
            self.csrf = hidden_csrf(self.page("/admin").text)
        return response

    def page(self, path: str, **params: Any) -> httpx.Response:
        response = self.http.get(path, params=params)
        assert response.status_code != 500, response.text
        return response

    def post(
        self,
        path: str,
        csrf: str | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        data = {"csrf": self.csrf if csrf is None else csrf, **fields}
        response = self.http.post(path, data=data, headers=headers)
        assert response.status_code < 500, response.text
        return response

    def session_cookie(self) -> str | None:
        return self.http.cookies.get("causerie_admin")


@pytest.fixture
def moderator(admin_server: ServerProcess) -> Iterator[Admin]:
    admin = Admin(admin_server)
    response = admin.login(new_moderator(admin_server))
    assert response.status_code == 303, response.text
    yield admin
    admin.close()


def new_article(server: ServerProcess) -> str:
    return f"{server.base_url}/articles/{uuid.uuid4().hex}"


def held_comment(
    server: ServerProcess, text: str = "Un avis à relire.", **fields: Any
) -> dict[str, Any]:
    url = fields.pop("url", None) or new_article(server)
    response = httpx.post(
        f"{server.base_url}/api/v1/comments",
        json={"url": url, "text": text, **fields},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return {**response.json(), "url": url}


def post_as(server: ServerProcess, comment: dict[str, Any], text: str) -> httpx.Response:
    """Post another comment with the author token of ``comment``."""
    return httpx.post(
        f"{server.base_url}/api/v1/comments",
        json={"url": comment["url"], "text": text},
        headers={"Authorization": f"Bearer {comment['author_token']}"},
        timeout=10,
    )


def thread_ids(server: ServerProcess, url: str) -> dict[int, dict[str, Any]]:
    response = httpx.get(f"{server.base_url}/api/v1/comments", params={"url": url}, timeout=10)
    assert response.status_code == 200, response.text
    return {comment["id"]: comment for comment in response.json()["comments"]}


def audit_rows(admin: Admin) -> list[str]:
    page = admin.page("/admin/audit").text
    return re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)


def new_report(server: ServerProcess, **fields: Any) -> int:
    report = NewReport(
        created_us=fields.pop("created_us", now_us()),
        site=server.base_url,
        article=fields.pop("article", new_article(server)),
        reason=fields.pop("reason", ReportReason.INSULT),
        note=fields.pop("note", "Il m'insulte."),
        transcript=fields.pop(
            "transcript",
            (
                TranscriptLine(Speaker.REPORTER, "Bonjour"),
                TranscriptLine(Speaker.REPORTED, "Va-t'en, idiot"),
            ),
        ),
        reported_client=fields.pop("reported_client", secrets.token_hex(16)),
        reported_ip=fields.pop("reported_ip", secrets.token_hex(16)),
        reporter_client=fields.pop("reporter_client", secrets.token_hex(16)),
    )
    assert not fields
    return int(run_store(server, lambda store: store.add_report(report)))


def assert_no_raw_payload(page: str) -> None:
    assert "<script>" not in page
    assert "<img" not in page
    assert "onerror=alert(1)>" not in page


# --- the CLI --------------------------------------------------------------------------


def test_text_tables_have_the_same_keys() -> None:
    assert TEXT["fr"].keys() == TEXT["en"].keys()


def test_cli_adds_a_moderator_once(admin_server: ServerProcess) -> None:
    name = new_moderator(admin_server)
    again = cli(admin_server, "add", name, "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    upper = cli(admin_server, "add", name.upper(), "--password-stdin", stdin=PASSWORD + "\n")
    assert upper.returncode == 1  # names compare case-insensitively
    short = cli(
        admin_server, "add", f"x{uuid.uuid4().hex[:8]}", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1
    assert "10" in short.stderr
    for bad in (SCRIPT, "a b", "x" * 41, ""):
        refused = cli(admin_server, "add", bad, "--password-stdin", stdin=PASSWORD + "\n")
        assert refused.returncode == 1, bad
    unknown = cli(admin_server, "passwd", "nobody-here", "--password-stdin", stdin=PASSWORD + "\n")
    assert unknown.returncode == 1
    assert "No moderator" in unknown.stderr


def test_passwd_changes_the_password_and_ends_sessions(admin_server: ServerProcess) -> None:
    name = new_moderator(admin_server)
    admin = Admin(admin_server)
    assert admin.login(name).status_code == 303
    new_password = "another long passphrase"  # noqa: S105 (a test password)
    done = cli(admin_server, "passwd", name, "--password-stdin", stdin=new_password + "\n")
    assert done.returncode == 0, done.stderr
    assert admin.page("/admin").status_code == 303  # the old session is gone
    assert Admin(admin_server).login(name).status_code == 401
    assert Admin(admin_server).login(name, new_password).status_code == 303
    admin.close()


# --- signing in and out ---------------------------------------------------------------


def test_logged_out_pages_redirect_to_the_login(admin_server: ServerProcess) -> None:
    admin = Admin(admin_server)
    for path in (
        "/admin",
        "/admin/bans",
        "/admin/audit",
        "/admin/sites",
        "/admin/reports/1",
        "/admin/comments/1",
    ):
        response = admin.page(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/admin/login"
        assert response.headers["cache-control"] == "no-store"
    admin.close()


def test_login_sets_a_strict_session_cookie(admin_server: ServerProcess) -> None:
    name = new_moderator(admin_server)
    admin = Admin(admin_server)
    form = admin.http.get("/admin/login")
    pre = form.headers["set-cookie"].lower()
    assert pre.startswith("causerie_admin_csrf=")
    for flag in ("httponly", "samesite=strict", "path=/admin"):
        assert flag in pre
    response = admin.http.post(
        "/admin/login", data={"csrf": hidden_csrf(form.text), "name": name, "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("causerie_admin="))
    flags = [part.strip().lower() for part in session.split(";")]
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/admin" in flags
    assert "max-age=43200" in flags
    assert "secure" not in flags  # plain http here
    token = session.split(";")[0].split("=", 1)[1]
    assert len(token) >= 40
    queue = admin.page("/admin")
    assert queue.status_code == 200
    assert name in queue.text
    admin.close()

    # Behind a TLS proxy (X-Forwarded-Proto from a trusted address) the cookie is Secure.
    tls = Admin(admin_server)
    tls.http.headers["X-Forwarded-Proto"] = "https"
    form = tls.http.get("/admin/login")
    assert "secure" in form.headers["set-cookie"].lower()
    response = tls.http.post(  # the jar keeps a Secure cookie for https: send it by hand
        "/admin/login",
        data={"csrf": hidden_csrf(form.text), "name": name, "password": PASSWORD},
        headers={"Cookie": f"causerie_admin_csrf={hidden_csrf(form.text)}"},
    )
    assert response.status_code == 303
    session = next(v for k, v in response.headers.multi_items() if v.startswith("causerie_admin="))
    assert "secure" in [part.strip().lower() for part in session.split(";")]
    tls.close()


def test_every_page_sends_the_security_headers(moderator: Admin) -> None:
    for path in (
        "/admin",
        "/admin/login",
        "/admin/bans",
        "/admin/audit",
        "/admin/sites",
        "/admin/admin.css",
        "/admin/nowhere",
        "/admin/comments/abc",
    ):
        response = moderator.page(path)
        headers = response.headers
        assert headers["cache-control"] == "no-store", path
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"
    wrong_method = moderator.page("/admin/logout")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-security-policy"] == CSP
    assert moderator.page("/admin/nowhere").status_code == 404


def test_english_pages(moderator: Admin) -> None:
    french = moderator.page("/admin").text
    assert "File d'attente" in html.unescape(french)
    english = moderator.page("/admin", lang="en")
    assert "Held comments" in english.text
    assert english.headers["set-cookie"].startswith("causerie_admin_lang=en")
    assert "Held comments" in moderator.page("/admin").text  # remembered by the cookie
    slash = moderator.page("/admin/")
    assert (slash.status_code, slash.headers["location"]) == (303, "/admin")
    accept = Admin(moderator.server)
    page = accept.http.get("/admin/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Sign in" in page.text
    accept.close()


def test_wrong_password_and_unknown_name_fail_alike(
    admin_server: ServerProcess, moderator: Admin
) -> None:
    name = new_moderator(admin_server)
    wrong = Admin(admin_server)
    response = wrong.login(name, "not the password")
    assert response.status_code == 401
    assert "incorrect" in response.text
    assert wrong.session_cookie() is None
    unknown_name = f"ghost-{uuid.uuid4().hex[:6]}"
    unknown = Admin(admin_server).login(unknown_name, "not the password")
    assert unknown.status_code == 401
    same_page = unknown.text.replace(unknown_name, name).replace(
        hidden_csrf(unknown.text), hidden_csrf(response.text)
    )
    assert same_page == response.text
    rows = audit_rows(moderator)
    failed = [row for row in rows if "login.failed" in row]
    assert any(name in row for row in failed)
    assert any(unknown_name in row for row in failed)
    assert not any("not the password" in row for row in rows)
    wrong.close()


def test_sixth_failed_login_is_refused(admin_server: ServerProcess) -> None:
    name = new_moderator(admin_server)
    admin = Admin(admin_server)
    for _ in range(5):
        assert admin.login(name, "wrong password!").status_code == 401
    refused = admin.login(name, PASSWORD)  # even the right password: not even checked
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Trop de tentatives" in refused.text
    assert admin.session_cookie() is None
    admin.close()

    # Per name too: five addresses failing on one name lock the sixth out.
    target = new_moderator(admin_server)
    for _ in range(5):
        other = Admin(admin_server)
        assert other.login(target, "wrong password!").status_code == 401
        other.close()
    last = Admin(admin_server)
    assert last.login(target, PASSWORD).status_code == 429
    last.close()


def test_logout_ends_the_session(admin_server: ServerProcess) -> None:
    admin = Admin(admin_server)
    assert admin.login(new_moderator(admin_server)).status_code == 303
    token, csrf = admin.session_cookie(), admin.csrf
    assert token
    response = admin.post("/admin/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert admin.page("/admin").status_code == 303
    # Replaying the old cookie and token grants nothing.
    replay = browser(admin_server, cookies={"causerie_admin": token})
    assert replay.get("/admin").status_code == 303
    comment = held_comment(admin_server)
    refused = replay.post(f"/admin/comments/{comment['id']}/approve", data={"csrf": csrf})
    assert refused.status_code == 303
    assert refused.headers["location"] == "/admin/login"
    replay.close()
    admin.close()


def test_a_cookie_set_before_login_is_never_the_session(admin_server: ServerProcess) -> None:
    planted = secrets.token_urlsafe(32)
    name = new_moderator(admin_server)
    admin = browser(
        admin_server,
        headers={"X-Forwarded-For": "10.78.0.1", "Cookie": f"causerie_admin={planted}"},
    )
    assert admin.get("/admin").status_code == 303
    form = admin.get("/admin/login")
    assert form.status_code == 200  # the planted cookie is no session
    csrf = hidden_csrf(form.text)
    response = admin.post(
        "/admin/login",
        data={"csrf": csrf, "name": name, "password": PASSWORD},
        headers={"Cookie": f"causerie_admin={planted}; causerie_admin_csrf={csrf}"},
    )
    assert response.status_code == 303
    issued = re.search(r"causerie_admin=([^;]+)", response.headers["set-cookie"])
    assert issued and issued.group(1) != planted
    attacker = browser(admin_server, cookies={"causerie_admin": planted})
    assert attacker.get("/admin").status_code == 303
    attacker.close()
    admin.close()
    signed_in = browser(admin_server, cookies={"causerie_admin": issued.group(1)})
    assert signed_in.get("/admin").status_code == 200
    signed_in.close()


def test_login_form_needs_its_csrf_cookie(admin_server: ServerProcess) -> None:
    name = new_moderator(admin_server)
    admin = Admin(admin_server)
    form = admin.http.get("/admin/login")
    data = {"name": name, "password": PASSWORD}
    assert admin.http.post("/admin/login", data=data).status_code == 403
    assert admin.http.post("/admin/login", data={**data, "csrf": "x" * 43}).status_code == 403
    stranger = browser(admin_server)
    # A token from the form without the matching cookie (cross-site login) is refused.
    response = stranger.post("/admin/login", data={**data, "csrf": hidden_csrf(form.text)})
    assert response.status_code == 403
    assert "causerie_admin=" not in response.headers.get("set-cookie", "")
    foreign = admin.http.post(
        "/admin/login",
        data={**data, "csrf": hidden_csrf(form.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    stranger.close()
    admin.close()


@pytest.mark.parametrize("field", ["name", "password"])
@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_login_fields(admin_server: ServerProcess, field: str, payload: str) -> None:
    admin = Admin(admin_server)
    form = admin.http.get("/admin/login")
    name = f"somebody-{uuid.uuid4().hex[:8]}"
    data = {"csrf": hidden_csrf(form.text), "name": name, "password": "whatever!!"}
    data[field] = payload
    response = admin.http.post("/admin/login", data=data)
    assert response.status_code == 401
    assert_no_raw_payload(response.text)
    admin.close()


def test_oversized_login_fields(admin_server: ServerProcess) -> None:
    admin = Admin(admin_server)
    form = admin.http.get("/admin/login")
    csrf = hidden_csrf(form.text)
    long_name = admin.http.post(
        "/admin/login", data={"csrf": csrf, "name": "n" * 1000, "password": "p" * 12}
    )
    assert long_name.status_code == 400
    long_password = admin.http.post(
        "/admin/login", data={"csrf": csrf, "name": "n", "password": "p" * 2000}
    )
    assert long_password.status_code == 400
    huge = admin.http.post("/admin/login", data={"csrf": csrf, "name": "n" * 70_000})
    assert huge.status_code == 413
    admin.close()


# --- held comments --------------------------------------------------------------------


def test_approve_reject_delete_held_comments(admin_server: ServerProcess, moderator: Admin) -> None:
    url = new_article(admin_server)
    approved = held_comment(admin_server, "À publier.", url=url, name="Alice")
    rejected = held_comment(admin_server, "À rejeter.", url=url)
    deleted = held_comment(admin_server, "À supprimer.", url=url)
    assert thread_ids(admin_server, url) == {}

    queue = moderator.page("/admin").text
    for comment in (approved, rejected, deleted):
        assert f'id="comment-{comment["id"]}"' in queue
    assert "Alice" in queue
    assert escape(url) in queue

    assert moderator.post(f"/admin/comments/{approved['id']}/approve").status_code == 303
    assert moderator.post(f"/admin/comments/{rejected['id']}/reject").status_code == 303
    assert moderator.post(f"/admin/comments/{deleted['id']}/delete").status_code == 303

    shown = thread_ids(admin_server, url)
    assert shown[approved["id"]]["text"] == "À publier."
    assert rejected["id"] not in shown or shown[rejected["id"]]["text"] == ""
    assert deleted["id"] not in shown or shown[deleted["id"]]["text"] == ""
    queue = moderator.page("/admin").text
    for comment in (approved, rejected, deleted):
        assert f'id="comment-{comment["id"]}"' not in queue

    # Once handled, approve and reject answer 409; the page says what it is.
    assert moderator.post(f"/admin/comments/{approved['id']}/reject").status_code == 409
    assert moderator.post(f"/admin/comments/{rejected['id']}/approve").status_code == 409
    assert "<dd>publié</dd>" in moderator.page(f"/admin/comments/{approved['id']}").text
    rows = audit_rows(moderator)
    for action, comment in (
        ("comment.approve", approved),
        ("comment.reject", rejected),
        ("comment.delete", deleted),
    ):
        assert any(action in row and f"comment:{comment['id']}" in row for row in rows), action


def test_live_readers_see_an_approved_comment_appear(
    admin_server: ServerProcess, moderator: Admin
) -> None:
    """The dashboard's approval reaches the article's open Server-Sent Event streams."""
    url = new_article(admin_server)
    comment = held_comment(admin_server, "Publié par la modération.", url=url)
    listener = EventListener(admin_server.base_url, url, count=2).start()
    assert moderator.post(f"/admin/comments/{comment['id']}/approve").status_code == 303
    assert moderator.post(f"/admin/comments/{comment['id']}/delete").status_code == 303
    events = listener.wait()
    assert events[0][0] == "comment"
    assert events[0][1]["id"] == comment["id"]
    assert events[0][1]["text"] == "Publié par la modération."
    assert events[1] == ("deleted", {"id": comment["id"]})


def test_hostile_comment_is_shown_escaped(admin_server: ServerProcess, moderator: Admin) -> None:
    comment = held_comment(admin_server, f"{SCRIPT} {SQL[0]} {SQL[1]}", name=IMG)
    for path in ("/admin", f"/admin/comments/{comment['id']}"):
        page = moderator.page(path).text
        assert_no_raw_payload(page)
        assert escape(SCRIPT) in page
        assert escape(IMG) in page
        assert escape(SQL[1]) in page


def test_ban_a_comment_author_then_revoke(admin_server: ServerProcess, moderator: Admin) -> None:
    comment = held_comment(admin_server, "Mon avis sur la question.")
    author_hash = hash_token(comment["author_token"])
    page = moderator.page(f"/admin/comments/{comment['id']}").text
    assert 'value="author"' in page
    assert author_hash[:8] in page
    assert author_hash not in page

    before = moderator.page("/admin/bans").text
    for bad in (
        {"kind": "client", "duration": "24h"},  # a comment has no chat client
        {"kind": "nonsense", "duration": "24h"},
        {"kind": "author", "duration": "2h"},
        {"kind": "author", "duration": "24h", "reason": "r" * 501},
    ):
        response = moderator.post(f"/admin/comments/{comment['id']}/ban", **bad)
        assert response.status_code == 400, bad
    assert moderator.page("/admin/bans").text.count("<tr id=") == before.count("<tr id=")

    reason = f"Insultes répétées {SCRIPT} {IMG} {SQL[1]}"
    response = moderator.post(
        f"/admin/comments/{comment['id']}/ban", kind="author", duration="7d", reason=reason
    )
    assert response.status_code == 303
    bans = moderator.page("/admin/bans").text
    assert_no_raw_payload(bans)
    assert escape(reason) in bans
    assert author_hash[:8] in bans
    assert author_hash not in bans
    ban_id = int(re.findall(r'<tr id="ban-(\d+)">', bans)[0])
    stored = run_store(admin_server, lambda store: store.bans(now_us()))
    ban = next(b for b in stored if b.id == ban_id)
    assert (ban.kind, ban.value) == (BanKind.AUTHOR, author_hash)
    assert 6.9 * 86_400e6 < ban.expires_us - ban.created_us <= 7 * 86_400e6
    # The comment is deleted with the ban.
    assert "<dd>supprimé</dd>" in moderator.page(f"/admin/comments/{comment['id']}").text
    rows = audit_rows(moderator)
    assert any("ban.add" in row and f"ban:{ban_id}" in row for row in rows)
    assert any("comment.delete" in row and f"comment:{comment['id']}" in row for row in rows)

    # The comments API refuses the banned author's next comment, until the ban is revoked.
    assert post_as(admin_server, comment, "Encore moi.").json()["code"] == "banned"
    assert moderator.post(f"/admin/bans/{ban_id}/revoke").status_code == 303
    assert post_as(admin_server, comment, "Me revoilà.").status_code == 202
    assert f'id="ban-{ban_id}"' not in moderator.page("/admin/bans").text
    assert moderator.post(f"/admin/bans/{ban_id}/revoke").status_code == 404
    assert any("ban.revoke" in row and f"ban:{ban_id}" in row for row in audit_rows(moderator))


# --- reports --------------------------------------------------------------------------


def test_report_page_dismiss_and_ban(admin_server: ServerProcess, moderator: Admin) -> None:
    client_key = secrets.token_hex(16)
    first = new_report(
        admin_server,
        reported_client=client_key,
        note=f"note {SCRIPT}",
        transcript=(
            TranscriptLine(Speaker.REPORTER, "Bonjour"),
            TranscriptLine(Speaker.REPORTED, f"{IMG} {SQL[0]}"),
            TranscriptLine(Speaker.REPORTED, "encore"),
        ),
    )
    queue = moderator.page("/admin").text
    assert f'href="/admin/reports/{first}"' in queue
    row = re.search(rf'href="/admin/reports/{first}".*?</tr>', queue, flags=re.S)
    assert row and "<td>3</td>" in row.group(0) and "insulte" in row.group(0)

    page = moderator.page(f"/admin/reports/{first}").text
    assert_no_raw_payload(page)
    assert "Signalant" in page and "Signalé·e" in page
    assert escape(IMG) in page
    assert client_key[:8] in page and client_key not in page
    assert 'value="client"' in page and 'value="ip"' in page
    english = moderator.page(f"/admin/reports/{first}", lang="en").text
    assert "Reporter" in english and "Reported" in english
    moderator.page("/admin", lang="fr")

    assert moderator.post(f"/admin/reports/{first}/dismiss").status_code == 303
    assert moderator.post(f"/admin/reports/{first}/dismiss").status_code == 409
    assert f'href="/admin/reports/{first}"' not in moderator.page("/admin").text
    assert "classé sans suite" in moderator.page(f"/admin/reports/{first}").text

    # A ban from a report: by address it ends at midnight UTC; the report is actioned.
    second = new_report(admin_server)
    response = moderator.post(
        f"/admin/reports/{second}/ban", kind="ip", duration="365d", reason="menaces"
    )
    assert response.status_code == 303
    assert "suivi d'une action" in html.unescape(moderator.page(f"/admin/reports/{second}").text)
    ban = run_store(admin_server, lambda store: store.bans(now_us()))[0]
    assert ban.kind is BanKind.IP
    assert ban.expires_us <= end_of_utc_day(now_us())
    third = new_report(admin_server, reported_client=None)
    assert (
        moderator.post(f"/admin/reports/{third}/ban", kind="client", duration="1h").status_code
        == 400
    )
    rows = audit_rows(moderator)
    assert any("report.dismiss" in row and f"report:{first}" in row for row in rows)
    assert any("ban.add" in row and f"report:{second}" in row for row in rows)


def test_an_address_key_of_another_day_is_not_offered(
    admin_server: ServerProcess, moderator: Admin
) -> None:
    report = new_report(admin_server, created_us=now_us() - 2 * 86_400_000_000)
    page = moderator.page(f"/admin/reports/{report}").text
    assert 'value="ip"' not in page
    assert "expirée" in page
    assert (
        moderator.post(f"/admin/reports/{report}/ban", kind="ip", duration="1h").status_code == 400
    )


# --- sites ----------------------------------------------------------------------------


def test_site_settings(admin_server: ServerProcess, moderator: Admin) -> None:
    held_comment(admin_server)  # the server's site has an article
    site = admin_server.base_url
    page = moderator.page("/admin/sites").text
    assert f'name="site" value="{site}"' in page

    actions = "comment spam hold\nchat insult refuse  # strict\n"
    response = moderator.post("/admin/sites", site=site, premoderation="on", actions=actions)
    assert response.status_code == 303
    saved = run_store(admin_server, lambda store: store.site_settings(site))
    assert saved.premoderation is True
    assert saved.actions.strip() == actions.strip()
    assert "comment spam hold" in moderator.page("/admin/sites").text

    for bad in ("comment spam explode", f"comment {SCRIPT} hold", f"{IMG}", SQL[1]):
        refused = moderator.post("/admin/sites", site=site, premoderation="on", actions=bad)
        assert refused.status_code == 400, bad
        assert_no_raw_payload(refused.text)
        assert "line 1" in refused.text
        assert escape(bad) in refused.text
    after = run_store(admin_server, lambda store: store.site_settings(site))
    assert after.actions == saved.actions

    assert moderator.post("/admin/sites", site="https://nowhere.example").status_code == 404
    assert moderator.post("/admin/sites", site=site, premoderation="yes").status_code == 400
    assert moderator.post("/admin/sites", site=site, actions="x" * 10_001).status_code == 400
    rows = audit_rows(moderator)
    assert any("site.settings" in row and f"site:{site}" in row for row in rows)


# --- hostile requests -----------------------------------------------------------------


def test_posts_without_the_session_csrf_token_change_nothing(
    admin_server: ServerProcess, moderator: Admin
) -> None:
    comment = held_comment(admin_server)
    other = Admin(admin_server)
    assert other.login(new_moderator(admin_server)).status_code == 303
    path = f"/admin/comments/{comment['id']}/approve"
    attempts = [
        moderator.post(path, csrf=""),
        moderator.http.post(path, data={"x": "1"}),
        moderator.post(path, csrf="x" * 43),
        moderator.post(path, csrf=other.csrf),  # B's token with A's cookie
        moderator.post(path, csrf="é" * 20),
        moderator.post(path, headers={"Origin": "https://evil.example"}),
        moderator.post(path, headers={"Origin": "null"}),
        moderator.post(path, headers={"Sec-Fetch-Site": "cross-site"}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.headers["content-security-policy"] == CSP
    assert "Rien n'a été modifié" in html.unescape(attempts[0].text)
    assert f'id="comment-{comment["id"]}"' in moderator.page("/admin").text
    assert "<dd>en attente</dd>" in moderator.page(f"/admin/comments/{comment['id']}").text
    # With its own origin and token it works.
    own = moderator.post(path, headers={"Origin": admin_server.base_url})
    assert own.status_code == 303
    other.close()


def test_bad_ids_and_bodies(admin_server: ServerProcess, moderator: Admin) -> None:
    for path in (
        "/admin/comments/abc",
        "/admin/comments/-1",
        "/admin/comments/0",
        "/admin/comments/99999999999",
        "/admin/comments/1.5",
        "/admin/reports/%27%20OR%201=1",
        "/admin/reports/2147483647",
    ):
        assert moderator.page(path).status_code == 404, path
    assert moderator.post("/admin/bans/abc/revoke").status_code == 404
    assert moderator.post("/admin/comments/2147483647/approve").status_code == 404
    assert moderator.page("/admin/audit", before_id="x").status_code == 400
    assert moderator.page("/admin/audit", before_id="1 OR 1=1").status_code == 400

    comment = held_comment(admin_server)
    path = f"/admin/comments/{comment['id']}/approve"
    csrf = f"csrf={moderator.csrf}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body, headers in (
        (csrf.encode(), {"Content-Type": "multipart/form-data; boundary=x"}),
        (csrf.encode(), {"Content-Type": "application/json"}),
        (csrf.encode() + b"&x=%ff%fe", form),
        (csrf.encode() + b"&csrf=" + moderator.csrf.encode(), form),
        (b"csrf=a%00b", form),
        (csrf.encode() + b"".join(b"&f%d=1" % n for n in range(20)), form),
    ):
        response = moderator.http.post(path, content=body, headers=headers)
        assert response.status_code == 400, body
    big = moderator.http.post(path, content=csrf.encode() + b"&x=" + b"a" * 70_000, headers=form)
    assert big.status_code == 413
    assert f'id="comment-{comment["id"]}"' in moderator.page("/admin").text


def test_audit_log_pages_newest_first(moderator: Admin) -> None:
    page = moderator.page("/admin/audit").text
    ids = [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]
    assert ids == sorted(ids, reverse=True)
    assert ids
    older = moderator.page("/admin/audit", before_id=ids[0]).text
    older_ids = [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", older)]
    assert ids[0] not in older_ids
    assert all(n < ids[0] for n in older_ids)
    assert any("login" in row for row in audit_rows(moderator))


def test_rehash_at_login_when_the_parameters_changed(admin_server: ServerProcess) -> None:
    from argon2 import PasswordHasher

    name = f"old-{uuid.uuid4().hex[:8]}"
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    run_store(admin_server, lambda store: store.add_moderator(name, weak, now_us()))
    admin = Admin(admin_server)
    assert admin.login(name).status_code == 303
    stored = run_store(admin_server, lambda store: store.moderator_by_name(name))
    assert stored.password_hash != weak
    assert not PasswordHasher().check_needs_rehash(stored.password_hash)
    assert Admin(admin_server).login(name).status_code == 303


# --- the hooks, in process (the app does not wire them yet) ---------------------------


async def test_hooks_run_after_the_store_and_may_fail(tmp_path: Any) -> None:
    from argon2 import PasswordHasher
    from fastapi import FastAPI

    from causerie.settings import Settings
    from causerie.store.migrate import upgrade
    from causerie.web.admin import create_admin

    url = database_url(None, tmp_path)
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    store = SafetyStore(db)
    seen: list[Any] = []

    async def on_ban(ban: Any) -> None:
        seen.append(ban)
        raise RuntimeError("the chat is down")  # logged; the ban stays

    def on_site_settings(settings: Any) -> None:
        seen.append(settings)

    app = FastAPI()
    app.include_router(
        create_admin(
            Settings(data_dir=tmp_path),
            store,
            b"k" * 32,
            on_ban=on_ban,
            on_site_settings=on_site_settings,
        )
    )
    password_hash = await asyncio.to_thread(PasswordHasher().hash, PASSWORD)
    await store.add_moderator("hooks", password_hash, now_us())
    report_id = await store.add_report(
        NewReport(
            now_us(),
            "https://journal.example",
            "https://journal.example/a",
            ReportReason.SPAM,
            "",
            (),
            "c" * 32,
            None,
            None,
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://admin.test") as client:
        form = await client.get("/admin/login")
        response = await client.post(
            "/admin/login",
            data={"csrf": hidden_csrf(form.text), "name": "hooks", "password": PASSWORD},
        )
        assert response.status_code == 303
        assert "secure" in response.headers["set-cookie"].lower()  # https
        csrf = hidden_csrf((await client.get("/admin")).text)
        response = await client.post(
            f"/admin/reports/{report_id}/ban",
            data={"csrf": csrf, "kind": "client", "duration": "1h", "reason": "spam"},
        )
        assert response.status_code == 303
        assert [ban.value for ban in seen] == ["c" * 32]
        assert (await store.bans(now_us()))[0].value == "c" * 32
        hooks = await store.moderator_by_name("hooks")
        assert hooks is not None
        await store.save_site_settings(  # a site already configured is listed
            "https://journal.example", premoderation=False, actions="", moderator=hooks, now_us=1
        )
        response = await client.post(
            "/admin/sites",
            data={
                "csrf": csrf,
                "site": "https://journal.example",
                "actions": "comment spam refuse",
            },
        )
        assert response.status_code == 303
        assert seen[-1].actions == "comment spam refuse"
    await db.close()
