"""The whole trust-and-safety loop in a real browser, against its own real server:
a reader reports a partner, a moderator signs in, reads the report with its
transcript and bans; the banned reader is told at once and cannot join again."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from causerie.testing import ServerProcess
from tests.browser.conftest import widget_origin
from tests.browser.test_chat_safety import THANKS, Frames, wait_status
from tests.browser.test_chat_widget import join, say, wait_chatting, wait_log
from tests.conftest import TEST_SERVER_ENV

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

MODERATOR, PASSWORD = "Camille", "une phrase de passe assez longue"
BANNED = "Vous ne pouvez pas participer pour le moment."


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: the test bans, and every test reader shares 127.0.0.1."""
    data_dir: Path = tmp_path_factory.mktemp("moderation-flow")
    with ServerProcess(data_dir, TEST_SERVER_ENV) as server:
        added = subprocess.run(
            [sys.executable, "-m", "causerie", "moderator", "add", MODERATOR, "--password-stdin"],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            env={"CAUSERIE_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert added.returncode == 0, added.stderr
        yield server


def test_report_then_moderator_bans_then_banned_reader_cannot_join(
    own_server: ServerProcess, open_reader
) -> None:
    article = f"https://news.example/flow/{uuid.uuid4().hex}"
    # Alice reads the article on the publisher's page (embedded, cross-site chat);
    # Bob opens the chat page itself, where his browser keeps its client secret.
    alice = open_reader(f"{own_server.base_url}/", article=article)
    bob_page = f"{widget_origin(own_server.base_url)}/widget/v1/chat?" + urlencode(
        {"article": article, "lang": "fr"}
    )
    bob = open_reader(bob_page)
    alice_frames, bob_frames = Frames(alice), Frames(bob)
    join(alice)
    alice.chat().wait_for_selector("#screen-waiting:not([hidden])")
    join(bob)
    wait_chatting(alice)
    wait_chatting(bob)

    say(alice, "Tu en penses quoi, de cet article ?")
    wait_log(bob, "partner", "Tu en penses quoi, de cet article ?")
    insult = "Ferme-la, espèce de <b>sale</b> idiote, je sais où tu habites."
    say(bob, insult)
    wait_log(alice, "partner", insult)

    # Alice reports, with the transcript her widget holds, and blocks.
    chat = alice.chat()
    chat.get_by_role("button", name="Signaler", exact=True).click()
    dialog = chat.get_by_role("dialog", name="Signaler cette personne")
    dialog.get_by_label("Menaces", exact=True).check()
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    wait_status(chat, THANKS)

    # A moderator signs in and finds the report in the queue.
    moderator = open_reader(f"{own_server.base_url}/admin")
    page = moderator.page
    page.wait_for_url("**/admin/login")
    page.get_by_label("Nom").fill(MODERATOR)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/admin")
    cookies = {c["name"]: c for c in moderator.context.cookies()}
    session = cookies["causerie_admin"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    page.get_by_role("link", name="#1", exact=True).click()
    page.wait_for_url("**/admin/reports/1")

    # The transcript, as Alice's widget sent it: who said what, shown as text.
    lines = page.eval_on_selector_all(
        "ol.transcript li",
        "items => items.map(i => [i.className, i.querySelector('.text').textContent])",
    )
    assert lines == [
        ["reporter", "Tu en penses quoi, de cet article ?"],
        ["reported", insult],
    ]
    assert page.locator("ol.transcript b").count() == 0  # Bob's markup stayed text

    # Ban Bob's chat client for 7 days.
    page.get_by_label("client de discussion").check()
    page.get_by_label("Durée").select_option("7d")
    page.get_by_label("Motif (500 caractères au plus)").fill("Insultes et menaces.")
    page.get_by_role("button", name="Bannir", exact=True).click()
    page.wait_for_load_state()

    # Bob is told at once, and his widget no longer offers to join.
    bob_chat = bob.chat()
    bob_chat.wait_for_function(
        "text => document.body.textContent.includes(text)", arg=BANNED, timeout=10_000
    )
    assert [f["code"] for f in bob_frames.received if f["type"] == "error"][-1] == "banned"
    assert bob_chat.is_disabled("#btn-join")

    # He comes back later in the same browser: still refused, and never paired.
    bob.page.reload()
    bob_chat = bob.chat()
    bob_chat.get_by_role("button", name="Viens on en parle !").click()
    if bob_chat.is_visible("#screen-rules"):  # kept in his browser: not shown again
        pytest.fail("the rules card came back after a reload")
    bob_chat.wait_for_function(
        "text => document.body.textContent.includes(text)", arg=BANNED, timeout=10_000
    )
    joins = [f for f in bob_frames.sent if f["type"] == "join"]
    assert len({f["client"] for f in joins}) == 1  # the same browser, the same client
    assert not bob_chat.is_visible("#screen-chat")

    # The dashboard shows the ban and who made it; the report is closed.
    page.goto(f"{own_server.base_url}/admin/bans")
    assert "Insultes et menaces." in page.content()
    page.goto(f"{own_server.base_url}/admin/audit")
    audit = page.text_content("main") or ""
    assert MODERATOR in audit and "ban.add" in audit
    page.goto(f"{own_server.base_url}/admin")
    assert page.locator("a[href='/admin/reports/1']").count() == 0
    assert alice.errors == [] and bob.errors == [] and moderator.errors == []
    assert "report" in [f["type"] for f in alice_frames.sent]
