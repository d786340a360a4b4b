"""The conversation rules card: shown before a reader's first conversation.

The reader must confirm being an adult and accept the rules (kept in their
browser only); declining never opens a connection, so nobody gets paired.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import Reader, start_chat, widget_origin

pytestmark = pytest.mark.browser

START = "Viens on en parle !"


def count_sockets(reader: Reader) -> list[str]:
    """Records the chat WebSockets the reader's page opens (in any frame)."""
    sockets: list[str] = []
    reader.page.on("websocket", lambda ws: sockets.append(ws.url))
    return sockets


def card_shown(chat: object) -> None:
    chat.wait_for_selector("#screen-rules:not([hidden])")
    assert chat.is_hidden("#screen-start")
    assert chat.is_hidden("#screen-waiting")


def test_declining_never_joins_and_accepting_does(server, open_reader) -> None:
    article = f"https://news.example/rules/{uuid.uuid4().hex}"
    bob = open_reader(f"{server.base_url}/", article=article)
    start_chat(bob.chat())
    bob.chat().wait_for_selector("#screen-waiting:not([hidden])")

    alice = open_reader(f"{server.base_url}/", article=article)
    sockets = count_sockets(alice)
    chat = alice.chat()

    # First click: the card, not the queue; focus on its heading.
    chat.get_by_role("button", name=START).click()
    card_shown(chat)
    card = chat.get_by_role("region", name="Avant de discuter")
    assert card.is_visible()
    assert chat.evaluate("document.activeElement.id") == "rules-title"
    assert chat.locator("#screen-rules li").count() == 5
    rules = chat.text_content("#screen-rules") or ""
    assert "insultes" in rules and "sollicitation sexuelle" in rules and "téléphone" in rules
    start = chat.get_by_role("button", name="Commencer")
    checkbox = chat.get_by_label("J'ai 18 ans ou plus et j'accepte ces règles")
    assert start.is_disabled()
    checkbox.check()
    assert start.is_enabled()
    checkbox.uncheck()
    assert start.is_disabled()

    # "Non merci": a polite notice, back to the start, no connection at all.
    chat.get_by_role("button", name="Non merci").click()
    chat.wait_for_selector("#screen-start:not([hidden])")
    assert chat.is_hidden("#screen-rules")
    assert chat.is_hidden("#screen-waiting")
    notice = chat.text_content("#start-notice") or ""
    assert "réservée aux adultes" in notice
    assert chat.is_visible("#start-notice")
    assert chat.evaluate("document.activeElement.id") == "btn-join"

    # Escape declines too, and the box starts unticked again.
    chat.get_by_role("button", name=START).click()
    card_shown(chat)
    assert not checkbox.is_checked()
    assert start.is_disabled()
    alice.page.keyboard.press("Escape")
    chat.wait_for_selector("#screen-start:not([hidden])")
    assert "réservée aux adultes" in (chat.text_content("#start-notice") or "")

    alice.page.wait_for_timeout(500)
    assert sockets == []
    assert bob.chat().is_visible("#screen-waiting")
    assert bob.chat().is_hidden("#screen-chat")

    # Accepting joins exactly as before: Bob was waiting, so they are paired.
    chat.get_by_role("button", name=START).click()
    card_shown(chat)
    checkbox.check()
    start.click()
    chat.wait_for_selector("#screen-chat:not([hidden])")
    bob.chat().wait_for_selector("#screen-chat:not([hidden])")
    assert len(sockets) == 1

    # Accepted: the next time goes straight to the queue.
    chat.get_by_role("button", name="Quitter").click()
    chat.wait_for_selector("#screen-start:not([hidden])")
    assert chat.is_hidden("#start-notice")
    chat.get_by_role("button", name=START).click()
    chat.wait_for_selector("#screen-waiting:not([hidden])")
    assert chat.is_hidden("#screen-rules")
    chat.get_by_role("button", name="Annuler").click()
    chat.wait_for_selector("#screen-start:not([hidden])")
    assert alice.errors == [] and bob.errors == []


def test_acceptance_is_kept_in_the_browser(server, open_reader) -> None:
    """First-party chat page (storage allowed): a new page in the same browser
    context does not ask again, and the acceptance never leaves the browser."""
    article = f"https://news.example/rules/{uuid.uuid4().hex}"
    chat_page = f"{widget_origin(server.base_url)}/widget/v1/chat?" + urlencode(
        {"article": article, "lang": "fr"}
    )
    reader = open_reader(chat_page)
    sent: list[str] = []
    reader.page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    chat = reader.chat()
    assert chat.evaluate("localStorage.getItem('causerie.rules.v1')") is None
    chat.get_by_role("button", name=START).click()
    card_shown(chat)
    chat.check("#rules-check")
    chat.get_by_role("button", name="Commencer").click()
    chat.wait_for_selector("#screen-waiting:not([hidden])")
    assert chat.evaluate("localStorage.getItem('causerie.rules.v1')") == "accepted"
    chat.get_by_role("button", name="Annuler").click()
    chat.wait_for_selector("#screen-start:not([hidden])")
    assert [json.loads(frame)["type"] for frame in sent] == ["join", "leave"]
    assert not any("accept" in frame or "causerie.rules" in frame for frame in sent)

    again = reader.context.new_page()
    again.goto(chat_page)
    again.get_by_role("button", name=START).click()
    again.wait_for_selector("#screen-waiting:not([hidden])")
    assert again.is_hidden("#screen-rules")
    again.get_by_role("button", name="Annuler").click()
    again.wait_for_selector("#screen-start:not([hidden])")
    assert reader.errors == []


def test_english_card_by_keyboard_at_360px(server, open_reader) -> None:
    article = f"https://news.example/en/rules/{uuid.uuid4().hex}"
    reader = open_reader(f"{server.base_url}/", width=360, article=article, lang="en")
    chat = reader.chat()
    chat.get_by_role("button", name="Let's talk about it!").click()
    card_shown(chat)
    assert chat.get_by_role("region", name="Before you chat").is_visible()
    assert chat.get_by_role("button", name="Start").is_disabled()
    assert chat.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )

    keyboard = reader.page.keyboard
    assert chat.evaluate("document.activeElement.id") == "rules-title"
    keyboard.press("Tab")
    assert chat.evaluate("document.activeElement.id") == "rules-check"
    keyboard.press("Space")
    assert chat.get_by_label("I am 18 or older and accept these rules").is_checked()
    keyboard.press("Tab")
    assert chat.evaluate("document.activeElement.id") == "btn-rules-start"
    keyboard.press("Enter")
    chat.wait_for_selector("#screen-waiting:not([hidden])")
    chat.get_by_role("button", name="Cancel").click()
    chat.wait_for_selector("#screen-start:not([hidden])")

    # Declining in English.
    reader2 = open_reader(f"{server.base_url}/", width=360, article=article, lang="en")
    chat2 = reader2.chat()
    chat2.get_by_role("button", name="Let's talk about it!").click()
    card_shown(chat2)
    chat2.get_by_role("button", name="No thanks").click()
    chat2.wait_for_selector("#screen-start:not([hidden])")
    assert "only for adults" in (chat2.text_content("#start-notice") or "")
    assert reader.errors == [] and reader2.errors == []
