"""Block, report and the client secret, in a real browser against a real server.

Readers are browser contexts on the demo page (the embedded, cross-site chat
iframe), except where localStorage matters: Playwright's Chromium blocks
storage in cross-site iframes, so the client secret's persistence is checked
on the chat page opened first-party.

What a report sends is only what the reporter's widget showed of the
conversation; nothing is sent unless the reader confirms.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import Reader, start_chat, widget_origin
from tests.browser.test_chat_widget import pair, say, wait_chatting, wait_confirmed, wait_log

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

START = "Viens on en parle !"
THANKS = "Merci. La modération va examiner votre signalement."
TRANSCRIPT_SENTENCE = (
    "Ces messages, tirés de votre appareil, seront transmis à la modération. "
    "Rien d'autre de la conversation n'est conservé."
)
CLIENT_SECRET = re.compile(r"[A-Za-z0-9_-]{16,64}")
NO_MATCH_WAIT_MS = 1500  # how long two blocked readers are watched not to be paired


class Frames:
    """The JSON frames one reader's page sends and receives, on all its chat sockets."""

    def __init__(self, reader: Reader) -> None:
        self.sent: list[dict[str, object]] = []
        self.received: list[dict[str, object]] = []
        reader.page.on("websocket", self._watch)

    def _watch(self, ws: object) -> None:
        ws.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    def sent_types(self) -> list[object]:
        return [frame["type"] for frame in self.sent if frame["type"] not in ("ping", "typing")]

    def received_types(self) -> list[object]:
        return [frame["type"] for frame in self.received if frame["type"] != "pong"]


def demo_readers(server: object, open_reader: object, count: int) -> list[Reader]:
    article = f"https://news.example/safety/{uuid.uuid4().hex}"
    return [open_reader(f"{server.base_url}/", article=article) for _ in range(count)]


def transcript_shown(chat: object) -> list[tuple[str, str]]:
    """The dialog's transcript as (who, text) pairs, as the reader sees them."""
    lines = chat.eval_on_selector_all(
        "#report-transcript li",
        """items => items.map(item => [item.querySelector('.line-who').textContent,
                                       item.querySelector('.line-text').textContent])""",
    )
    return [(who, text) for who, text in lines]


def focused_id(chat: object) -> str:
    return chat.evaluate("document.activeElement?.id ?? ''")


def wait_status(chat: object, text: str) -> None:
    chat.wait_for_function(
        "text => document.getElementById('status').textContent.includes(text)", arg=text
    )


def wait_partner_left(reader: Reader) -> None:
    chat = reader.chat()
    chat.wait_for_function(
        "() => document.getElementById('log').textContent.includes('a quitté la conversation')"
    )
    chat.wait_for_selector("#ended:not([hidden])")


def test_report_shows_the_conversation_and_sends_only_on_confirm(server, open_reader) -> None:
    alice, bob = demo_readers(server, open_reader, 2)
    frames, bob_frames = Frames(alice), Frames(bob)
    pair(alice, bob)
    say(alice, "Bonjour ! Tu as lu l'article ?")
    wait_log(bob, "partner", "Bonjour ! Tu as lu l'article ?")
    wait_confirmed(alice, 1)
    say(bob, "Tais-toi, imbécile.")
    wait_log(alice, "partner", "Tais-toi, imbécile.")
    say(alice, "Pas la peine d'être\ndésagréable.")
    wait_confirmed(alice, 2)
    say(bob, "Je sais où tu habites.")
    wait_log(alice, "partner", "Je sais où tu habites.")
    expected = [
        ("Vous", "Bonjour ! Tu as lu l'article ?"),
        ("Partenaire", "Tais-toi, imbécile."),
        ("Vous", "Pas la peine d'être\ndésagréable."),
        ("Partenaire", "Je sais où tu habites."),
    ]

    chat = alice.chat()
    report_button = chat.get_by_role("button", name="Signaler", exact=True)
    dialog = chat.get_by_role("dialog", name="Signaler cette personne")

    # The dialog shows exactly the conversation from Alice's side; cancelling sends nothing.
    report_button.click()
    dialog.wait_for()
    assert chat.get_attribute("#report-dialog", "aria-modal") == "true"
    assert transcript_shown(chat) == expected
    assert TRANSCRIPT_SENTENCE in (dialog.text_content() or "")
    assert dialog.get_by_label("Bloquer aussi cette personne").is_checked()
    assert chat.evaluate("document.activeElement.name") == "reason"
    for label in (
        "Insultes",
        "Harcèlement",
        "Menaces",
        "Haine / discrimination",
        "Sollicitation sexuelle",
        "Spam / publicité",
        "Autre",
    ):
        assert not dialog.get_by_label(label, exact=True).is_checked()
    assert dialog.get_by_label("Précisions (facultatif)").get_attribute("maxlength") == "500"
    dialog.get_by_label("Menaces", exact=True).check()
    dialog.get_by_role("button", name="Annuler").click()
    dialog.wait_for(state="hidden")
    assert focused_id(chat) == "btn-report"

    # Escape cancels too; sending without a reason is refused in the dialog.
    report_button.click()
    dialog.wait_for()
    assert not dialog.get_by_label("Menaces", exact=True).is_checked()  # a fresh form
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    assert (chat.text_content("#report-error") or "") == "Choisissez un motif."
    alice.page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    alice.page.wait_for_timeout(300)
    assert "report" not in frames.sent_types() and "block" not in frames.sent_types()

    # Confirming sends the report with that transcript, then the block.
    report_button.click()
    dialog.get_by_label("Insultes", exact=True).check()
    dialog.get_by_label("Précisions (facultatif)").fill("Insultes puis menaces.")
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    wait_status(chat, THANKS)
    dialog.wait_for(state="hidden")
    reports = [frame for frame in frames.sent if frame["type"] == "report"]
    assert reports == [
        {
            "type": "report",
            "reason": "insult",
            "note": "Insultes puis menaces.",
            "transcript": [
                {"from": "me" if who == "Vous" else "partner", "text": text}
                for who, text in expected
            ],
        }
    ]
    wait_status(chat, "Personne bloquée.")
    assert frames.sent_types()[-2:] == ["report", "block"]
    assert "reported" in frames.received_types()
    assert [f["days"] for f in frames.received if f["type"] == "blocked"] == [30]

    # Blocking ended the conversation; Bob sees an ordinary departure.
    chat.wait_for_selector("#ended:not([hidden])")
    assert chat.is_hidden("#safety-actions")  # reported and blocked: nothing left to do
    wait_partner_left(bob)
    assert [f for f in bob_frames.received if f["type"] == "partner_left"][-1]["reason"] == "left"
    assert not any(f["type"] in ("report", "reported", "blocked") for f in bob_frames.received)
    assert alice.errors == [] and bob.errors == []


def test_block_ends_the_conversation_and_they_are_not_paired_again(server, open_reader) -> None:
    alice, bob, carol = demo_readers(server, open_reader, 3)
    alice_frames, bob_frames = Frames(alice), Frames(bob)
    pair(alice, bob)
    say(bob, "Salut")
    wait_log(alice, "partner", "Salut")

    chat = alice.chat()
    block_button = chat.get_by_role("button", name="Bloquer", exact=True)
    dialog = chat.get_by_role("dialog", name="Bloquer cette personne ?")
    block_button.click()
    dialog.wait_for()
    assert (chat.text_content("#block-text") or "") == (
        "Vous ne serez plus mis·e en relation avec cette personne pendant 30 jours. "
        "La conversation s'arrête."
    )
    assert focused_id(chat) == "btn-block-cancel"
    dialog.get_by_role("button", name="Annuler").click()
    dialog.wait_for(state="hidden")
    assert focused_id(chat) == "btn-block"
    alice.page.wait_for_timeout(300)
    assert "block" not in alice_frames.sent_types()
    assert chat.is_visible("#composer")

    block_button.click()
    dialog.get_by_role("button", name="Oui, bloquer").click()
    wait_status(chat, "Personne bloquée.")
    chat.wait_for_selector("#ended:not([hidden])")
    assert chat.is_hidden("#composer")
    assert chat.is_hidden("#btn-block")
    assert chat.is_visible("#btn-report")  # still possible about the last partner
    assert focused_id(chat) == "btn-next-again"
    wait_partner_left(bob)
    assert [f for f in bob_frames.received if f["type"] == "partner_left"][-1]["reason"] == "left"

    # Both start again on the same article: they are not paired with each other.
    chat.get_by_role("button", name="Partenaire suivant").click()
    chat.wait_for_selector("#screen-waiting:not([hidden])")
    bob_chat = bob.chat()
    bob_chat.get_by_role("button", name="Retour au début").click()
    bob_chat.get_by_role("button", name=START).click()  # a new socket, a fresh join
    bob_chat.wait_for_selector("#screen-waiting:not([hidden])")
    matched_before = [
        len([f for f in frames.received if f["type"] == "matched"])
        for frames in (alice_frames, bob_frames)
    ]
    alice.page.wait_for_timeout(NO_MATCH_WAIT_MS)
    for reader, frames, before in zip(
        (alice, bob), (alice_frames, bob_frames), matched_before, strict=True
    ):
        assert len([f for f in frames.received if f["type"] == "matched"]) == before
        assert reader.chat().is_visible("#screen-waiting")

    # A third reader is paired with one of them (the one waiting longest).
    start_chat(carol.chat())
    wait_chatting(carol)
    wait_chatting(alice)
    assert bob_chat.is_visible("#screen-waiting")
    assert alice.errors == [] and bob.errors == [] and carol.errors == []


def test_client_secret_is_kept_per_browser(server, open_reader) -> None:
    """First-party chat page (storage allowed): one secret per browser context,
    created at the first join, kept across reloads and shared by tabs."""
    article = f"https://news.example/safety/{uuid.uuid4().hex}"
    chat_page = f"{widget_origin(server.base_url)}/widget/v1/chat?" + urlencode(
        {"article": article, "lang": "fr"}
    )

    def join_and_cancel(page: object, frames: Frames) -> str:
        start_chat(page)
        page.wait_for_selector("#screen-waiting:not([hidden])")
        page.get_by_role("button", name="Annuler").click()
        page.wait_for_selector("#screen-start:not([hidden])")
        joins = [frame for frame in frames.sent if frame["type"] == "join"]
        return str(joins[-1]["client"])

    reader = open_reader(chat_page)
    frames = Frames(reader)
    page = reader.page
    assert page.evaluate("localStorage.getItem('causerie.client')") is None
    secret = join_and_cancel(page, frames)
    assert CLIENT_SECRET.fullmatch(secret)
    assert page.evaluate("localStorage.getItem('causerie.client')") == secret

    page.reload()
    assert join_and_cancel(page, frames) == secret

    tab = reader.context.new_page()
    tab_frames = Frames(Reader(context=reader.context, page=tab))
    tab.goto(chat_page)
    assert tab.evaluate("localStorage.getItem('causerie.client')") == secret
    assert join_and_cancel(tab, tab_frames) == secret

    other = open_reader(chat_page)
    other_frames = Frames(other)
    other_secret = join_and_cancel(other.page, other_frames)
    assert CLIENT_SECRET.fullmatch(other_secret)
    assert other_secret != secret

    # Embedded (storage may be blocked): a secret is still sent, the same on each join.
    embedded = open_reader(f"{server.base_url}/", article=article)
    embedded_frames = Frames(embedded)
    first = join_and_cancel(embedded.chat(), embedded_frames)
    assert CLIENT_SECRET.fullmatch(first)
    assert join_and_cancel(embedded.chat(), embedded_frames) == first
    assert first not in (secret, other_secret)
    assert reader.errors == [] and other.errors == [] and embedded.errors == []


def test_report_dialog_shows_markup_as_text(server, open_reader) -> None:
    alice, bob = demo_readers(server, open_reader, 2)
    pair(alice, bob)
    payload = '<img src=x onerror="window.__pwned = 1"><b>gras</b>'
    say(bob, payload)
    wait_log(alice, "partner", payload)

    chat = alice.chat()
    chat.get_by_role("button", name="Signaler", exact=True).click()
    chat.get_by_role("dialog", name="Signaler cette personne").wait_for()
    assert transcript_shown(chat) == [("Partenaire", payload)]
    assert chat.locator("#report-dialog img, #report-dialog b").count() == 0
    alice.page.wait_for_timeout(200)
    assert chat.evaluate("window.__pwned") is None
    chat.get_by_role("button", name="Annuler").click()
    assert alice.dialogs == [] and alice.errors == []


def test_english_dialogs_by_keyboard_at_360px(server, open_reader) -> None:
    article = f"https://news.example/en/safety/{uuid.uuid4().hex}"
    alice = open_reader(f"{server.base_url}/", width=360, article=article, lang="en")
    bob = open_reader(f"{server.base_url}/", article=article, lang="en")
    frames = Frames(alice)
    start_chat(alice.chat(), "Let's talk about it!")
    alice.chat().wait_for_selector("#screen-waiting:not([hidden])")
    start_chat(bob.chat(), "Let's talk about it!")
    chat = alice.chat()
    chat.wait_for_selector("#screen-chat:not([hidden])")
    keyboard = alice.page.keyboard

    chat.focus("#btn-report")
    keyboard.press("Enter")
    dialog = chat.get_by_role("dialog", name="Report this person")
    dialog.wait_for()
    assert "These messages, taken from your device, will be sent to the moderators." in (
        dialog.text_content() or ""
    )
    assert chat.is_visible("#transcript-empty")  # nothing said yet: nothing to send
    assert dialog.get_by_label("Also block this person").is_checked()
    assert chat.evaluate("document.activeElement.value") == "insult"
    keyboard.press("ArrowDown")
    assert dialog.get_by_label("Harassment", exact=True).is_checked()
    assert chat.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert focused_id(chat) == "btn-report"

    chat.focus("#btn-block")
    keyboard.press("Enter")
    block = chat.get_by_role("dialog", name="Block this person?")
    block.wait_for()
    assert (chat.text_content("#block-text") or "") == (
        "You will not be paired with this person again for 30 days. The conversation ends."
    )
    keyboard.press("Enter")  # on "Cancel", the harmless choice
    block.wait_for(state="hidden")
    alice.page.wait_for_timeout(300)
    assert "report" not in frames.sent_types() and "block" not in frames.sent_types()
    assert chat.is_visible("#composer")
    assert alice.errors == [] and bob.errors == []
