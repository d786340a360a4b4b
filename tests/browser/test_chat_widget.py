"""The chat widget in a real browser, against a real server process.

Two readers (two browser contexts) open the demo article, get paired, talk,
and one leaves. Along the way: user text is never interpreted as HTML, and the
publisher's own scripts cannot read the conversation.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import Reader, start_chat, widget_origin

pytestmark = pytest.mark.browser

CANONICAL_PATH = "/articles/2026/11/27/ia-centres-de-donnees-eau"
XSS = "<img src=x onerror=alert(1)>"
SHOTS = os.environ.get("CAUSERIE_SHOTS_DIR")


def shot(reader: Reader, name: str) -> None:
    """Screenshots for humans, only when CAUSERIE_SHOTS_DIR is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        reader.page.locator("causerie-chat").scroll_into_view_if_needed()
        reader.page.wait_for_timeout(400)  # let the iframe report its height
        reader.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def join(reader: Reader) -> None:
    start_chat(reader.chat())


def wait_chatting(reader: Reader) -> str:
    """Waits for the conversation screen; returns the partner's pseudonym."""
    chat = reader.chat()
    chat.wait_for_selector("#screen-chat:not([hidden])")
    title = chat.text_content("#chat-title") or ""
    assert title.startswith("Tu discutes avec "), title
    return title.removeprefix("Tu discutes avec ")


def say(reader: Reader, text: str) -> None:
    chat = reader.chat()
    chat.fill("#text", text)
    chat.press("#text", "Enter")


def log_texts(reader: Reader, who: str) -> list[str]:
    return reader.chat().eval_on_selector_all(
        f"#log .msg-{who} .msg-text", "nodes => nodes.map(n => n.textContent)"
    )


def wait_log(reader: Reader, who: str, text: str) -> None:
    reader.chat().wait_for_function(
        """([who, text]) => [...document.querySelectorAll(`#log .msg-${who} .msg-text`)]
                             .some(n => n.textContent === text)""",
        arg=[who, text],
    )


def wait_confirmed(reader: Reader, count: int) -> None:
    reader.chat().wait_for_function(
        "n => document.querySelectorAll('#log .msg-you[data-status=sent]').length === n",
        arg=count,
    )


def pair(first: Reader, second: Reader) -> tuple[str, str]:
    join(first)
    first.chat().wait_for_selector("#screen-waiting:not([hidden])")
    join(second)
    return wait_chatting(first), wait_chatting(second)


def test_two_readers_chat_on_the_demo_article(server, open_reader) -> None:
    url = f"{server.base_url}/"
    alice = open_reader(url, width=1280)
    bob = open_reader(url, width=360)

    # The iframe is on causerie's other loopback name, for the canonical article.
    params = alice.chat_params()
    assert alice.chat().url.startswith(f"{widget_origin(server.base_url)}/widget/v1/chat?")
    assert params["article"] == f"{server.base_url}{CANONICAL_PATH}"
    assert params["lang"] == "fr"
    assert params["parent"] == server.base_url
    assert alice.chat().frame_element().get_attribute("title")
    shot(alice, "start-1280")
    shot(bob, "start-360")

    join(alice)
    waiting = alice.chat()
    waiting.wait_for_selector("#screen-waiting:not([hidden])")
    shot(alice, "waiting-1280")
    assert "On te cherche" in (waiting.text_content("#screen-waiting") or "")
    join(bob)
    bob_name_seen_by_alice = wait_chatting(alice)
    alice_name_seen_by_bob = wait_chatting(bob)
    assert bob_name_seen_by_alice and alice_name_seen_by_bob
    assert bob_name_seen_by_alice != alice_name_seen_by_bob

    # Typing indicator (the server relays `typing`; the widget shows it ~4 s).
    bob.chat().type("#text", "Je", delay=30)
    alice.chat().wait_for_function(
        "name => document.getElementById('typing').textContent === `${name} écrit…`",
        arg=bob_name_seen_by_alice,
    )

    say(alice, "Bonjour ! Tu as lu le passage sur la Drôme ?")
    wait_log(bob, "partner", "Bonjour ! Tu as lu le passage sur la Drôme ?")
    wait_confirmed(alice, 1)

    say(bob, "Oui, 410 000 m³ par an, c'est énorme.")
    wait_log(alice, "partner", "Oui, 410 000 m³ par an, c'est énorme.")
    wait_confirmed(bob, 1)

    # User text is text: shown literally, never parsed as HTML.
    say(alice, XSS)
    wait_log(bob, "partner", XSS)
    wait_log(alice, "you", XSS)
    for reader in (alice, bob):
        assert reader.chat().locator("#log img").count() == 0
    assert log_texts(bob, "partner") == ["Bonjour ! Tu as lu le passage sur la Drôme ?", XSS]
    assert log_texts(alice, "partner") == ["Oui, 410 000 m³ par an, c'est énorme."]

    shot(alice, "chat-1280")
    shot(bob, "chat-360")

    # Bob leaves: Alice gets a clear notice and can ask for someone else.
    bob.chat().get_by_role("button", name="Quitter").click()
    bob.chat().wait_for_selector("#screen-start:not([hidden])")
    alice.chat().wait_for_function(
        "name => document.getElementById('log').textContent"
        ".includes(`${name} a quitté la conversation`)",
        arg=bob_name_seen_by_alice,
    )
    alice.chat().wait_for_selector("#ended:not([hidden])")
    assert alice.chat().is_hidden("#composer")
    shot(alice, "ended-1280")
    alice.chat().get_by_role("button", name="Partenaire suivant").click()
    alice.chat().wait_for_selector("#screen-waiting:not([hidden])")
    alice.chat().get_by_role("button", name="Annuler").click()
    alice.chat().wait_for_selector("#screen-start:not([hidden])")

    # Nothing ran from the messages, and the publisher's script saw nothing.
    for reader in (alice, bob):
        assert reader.dialogs == []
        assert reader.errors == []
        saw = reader.page.evaluate("window.__publisherSaw")
        assert saw["attempts"] > 0
        assert saw["shadowRoot"] is None
        assert saw["iframeDocument"] is None
        assert saw["chatText"] is None
        # The only messages the widget posts to the page are heights.
        assert saw["messages"], "the widget never reported its height"
        for raw in saw["messages"]:
            data = json.loads(raw)
            assert set(data) == {"causerie", "height"}
            assert data["causerie"] == "resize"


def test_english_widget(server, open_reader) -> None:
    article = f"https://news.example/en/{uuid.uuid4().hex}"
    reader = open_reader(f"{server.base_url}/", article=article, lang="en")
    chat = reader.chat()
    assert reader.chat_params()["article"] == article
    assert reader.chat_params()["lang"] == "en"
    assert chat.frame_element().get_attribute("title") == "Private chat between readers (causerie)"
    assert chat.evaluate("document.documentElement.lang") == "en"
    start_chat(chat, "Let's talk about it!")
    chat.wait_for_selector("#screen-waiting:not([hidden])")
    assert "Looking for someone" in (chat.text_content("#screen-waiting") or "")
    chat.get_by_role("button", name="Cancel").click()
    chat.wait_for_selector("#screen-start:not([hidden])")
    assert reader.errors == []


def test_dropped_socket_resumes_exactly_once(server, open_reader) -> None:
    """A socket dies with a message in flight: the widget resumes, re-sends it
    with the same id, and neither side sees it twice; then a reload resumes too.

    Alice opens the chat page itself (first-party): Playwright's Chromium blocks
    storage in cross-site iframes (it disables storage partitioning), and the
    reload part needs sessionStorage. Bob uses the embedded widget.
    """
    article = f"https://news.example/resume/{uuid.uuid4().hex}"
    chat_page = f"{widget_origin(server.base_url)}/widget/v1/chat?" + urlencode(
        {"article": article, "lang": "fr"}
    )
    alice = open_reader(chat_page)

    # Alice's sockets go through Playwright, so the test can cut them.
    sockets: list[tuple[object, object]] = []
    mute = {"on": False}

    def route_socket(ws: object) -> None:
        upstream = ws.connect_to_server()
        upstream.on_message(lambda message: None if mute["on"] else ws.send(message))
        sockets.append((ws, upstream))

    alice.context.route_web_socket("**/ws/v1/chat*", route_socket)
    bob = open_reader(f"{server.base_url}/", article=article)
    bob.chat().evaluate(
        """() => { window.__statuses = [];
             new MutationObserver(() => window.__statuses.push(
               document.getElementById('status').textContent))
             .observe(document.getElementById('status'), {childList: true, characterData: true,
                                                          subtree: true}); }"""
    )

    alice_name_for_bob = pair(alice, bob)[1]
    say(alice, "un")
    wait_log(bob, "partner", "un")
    wait_confirmed(alice, 1)
    say(bob, "deux")
    wait_log(alice, "partner", "deux")

    # "trois" reaches the server (and Bob) but its confirmation never reaches Alice.
    mute["on"] = True
    say(alice, "trois")
    wait_log(bob, "partner", "trois")
    assert alice.chat().get_attribute("#log .msg-you:last-child", "data-status") == "pending"
    ws, upstream = sockets[-1]
    ws.close(code=4000, reason="test cut")
    upstream.close()
    mute["on"] = False

    bob.chat().wait_for_function(
        "name => window.__statuses.includes(`${name} se reconnecte…`)", arg=alice_name_for_bob
    )
    bob.chat().wait_for_function(
        "name => window.__statuses.includes(`${name} est de retour`)", arg=alice_name_for_bob
    )
    assert len(sockets) >= 2
    wait_confirmed(alice, 2)  # "un", and "trois" confirmed by the replay
    say(alice, "quatre")
    wait_log(bob, "partner", "quatre")
    wait_confirmed(alice, 3)
    assert log_texts(alice, "you") == ["un", "trois", "quatre"]
    assert log_texts(bob, "partner") == ["un", "trois", "quatre"]

    # A reload takes the conversation back and shows all of it, once.
    alice.page.reload()
    alice.chat().wait_for_function("() => document.querySelectorAll('#log .msg').length === 4")
    wait_chatting(alice)
    say(bob, "cinq")
    wait_log(alice, "partner", "cinq")
    assert log_texts(alice, "you") == ["un", "trois", "quatre"]
    assert log_texts(alice, "partner") == ["deux", "cinq"]
    assert log_texts(bob, "partner") == ["un", "trois", "quatre"]
    assert alice.errors == [] and bob.errors == []
