"""The public comments widget in a real browser, against a real server process.

Two readers (two browser contexts) open the same article; what one does (post,
reply, like, edit, delete) shows up live on the other's page through the SSE
stream, without a reload. Reader-typed text is never interpreted as HTML.

``<causerie-comments>`` renders in an OPEN shadow root (the comments are public),
so Playwright's CSS selectors reach inside it; every selector below starts at
the element. Each test uses its own article URL (on the demo's site origin).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import Reader, widget_origin

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CAUSERIE_SHOTS_DIR")
ROOT = "causerie-comments"

XSS_NAME = '"><svg onload=alert(4)>'
XSS_LINES = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "javascript:alert(3)",
    '"><svg onload=alert(4)>',
]


def new_article(server: object, kind: str) -> str:
    return f"{server.base_url}/articles/tests/{kind}-{uuid.uuid4().hex}"


def shot(reader: Reader, name: str) -> None:
    """Screenshots for humans, only when CAUSERIE_SHOTS_DIR is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        reader.page.locator(ROOT).scroll_into_view_if_needed()
        reader.page.screenshot(path=str(Path(SHOTS) / f"comments-{name}.png"))


def ready(reader: Reader, *, live: bool = True) -> None:
    """Waits for the first page to be rendered (and for the live stream to be open)."""
    page = reader.page
    page.wait_for_function(
        """root => { const shadow = document.querySelector(root)?.shadowRoot;
                     const message = shadow?.querySelector('.message');
                     return message && !shadow.querySelector('.thread[aria-busy]')
                       && !['loading', 'error'].includes(message.dataset.kind); }""",
        arg=ROOT,
    )
    if live:
        page.wait_for_selector(f"{ROOT} .live:not([hidden])")


def post(reader: Reader, text: str, name: str | None = None) -> None:
    page = reader.page
    if name is not None:
        page.fill(f"{ROOT} #name", name)
    page.fill(f"{ROOT} #text", text)
    page.click(f"{ROOT} .compose button[type=submit]")


def item(reader: Reader, text: str) -> object:
    """The <article> of the comment whose body contains ``text``."""
    return reader.page.locator(f"{ROOT} article.comment").filter(
        has=reader.page.locator(".body", has_text=text)
    )


def count_text(reader: Reader) -> str:
    return reader.page.text_content(f"{ROOT} .count") or ""


def wait_count(reader: Reader, expected: str) -> None:
    reader.page.wait_for_function(
        """([root, expected]) => document.querySelector(root)?.shadowRoot
             ?.querySelector('.count')?.textContent === expected""",
        arg=[ROOT, expected],
    )


def test_two_readers_comment_live(server, open_reader) -> None:
    article = new_article(server, "live")
    url = f"{server.base_url}/"
    bob = open_reader(url, width=360, article=article)  # already on the page, never reloads
    ready(bob)
    assert count_text(bob) == "Aucun commentaire pour l'instant"
    assert "Lance la conversation" in (bob.page.text_content(f"{ROOT} .message") or "")
    alice = open_reader(url, width=1280, article=article)
    ready(alice)
    shot(alice, "empty-1280")

    # The form: labels, placeholder, limit and a live counter.
    page = alice.page
    assert page.get_attribute(f"{ROOT} #name", "placeholder") == "Pseudonyme (facultatif)"
    assert page.get_attribute(f"{ROOT} #text", "maxlength") == "5000"
    assert page.get_by_label("Ton commentaire").count() == 1
    page.fill(f"{ROOT} #text", "abc")
    assert page.text_content(f"{ROOT} #counter") == "3 / 5000"
    assert page.locator(f"{ROOT} h2").text_content() == "Participer à la conversation"

    # Alice posts; Bob sees it appear without reloading.
    first = "Merci pour l'article, *très* clair sur la Drôme."
    post(alice, first, name="Alice")
    page.wait_for_selector(f"{ROOT} .status:has-text('Ton commentaire est publié.')")
    assert page.text_content(f"{ROOT} #counter") == "0 / 5000"
    mine = item(alice, "très")
    mine.wait_for()
    assert mine.locator(".name").text_content() == "Alice"
    assert mine.locator(".badge").text_content() == "toi"
    assert mine.locator(".body em").text_content() == "très"
    assert mine.locator("time").get_attribute("datetime")
    assert mine.locator("button.edit").is_visible()
    assert mine.locator("button.delete").is_visible()
    wait_count(alice, "1 commentaire")

    theirs = item(bob, "très")
    theirs.wait_for()
    assert theirs.locator(".name").text_content() == "Alice"
    shown = theirs.locator(".body").text_content()
    assert shown == "Merci pour l'article, très clair sur la Drôme."
    assert theirs.locator("button.edit").count() == 0  # not Bob's comment
    assert theirs.locator("time").text_content() == "à l'instant"
    wait_count(bob, "1 commentaire")
    bob.page.wait_for_function(
        "root => document.querySelector(root).shadowRoot.querySelector('[aria-live=polite]')"
        ".textContent === 'Nouveau commentaire de Alice'",
        arg=ROOT,
    )

    # Bob replies (inline form); Alice sees the reply under her comment.
    theirs.get_by_role("button", name="Répondre").click()
    reply_form = bob.page.locator(f"{ROOT} .reply-form")
    reply_form.get_by_label("Pseudonyme").fill("Bob")
    reply_form.get_by_label("Ta réponse à Alice").fill("Et l'Essonne alors ?")
    reply_form.get_by_role("button", name="Publier").click()
    bob.page.wait_for_selector(f"{ROOT} .reply-form", state="detached")
    reply = alice.page.locator(f"{ROOT} .replies article.comment", has_text="Et l'Essonne alors ?")
    reply.wait_for()
    assert reply.locator(".name").text_content() == "Bob"
    assert reply.locator(".reply-to").count() == 0  # answers the top-level comment itself
    wait_count(alice, "2 commentaires")

    # Alice answers Bob's reply: shown flat under the same thread, "en réponse à Bob".
    reply.get_by_role("button", name="Répondre").click()
    alice.page.locator(f"{ROOT} .reply-form textarea").fill("Aussi, voir le rapport annuel.")
    alice.page.locator(f"{ROOT} .reply-form textarea").press("Control+Enter")
    nested = bob.page.locator(
        f"{ROOT} .replies article.comment", has_text="Aussi, voir le rapport annuel."
    )
    nested.wait_for()
    assert nested.locator(".reply-to").text_content() == "en réponse à Bob"
    assert bob.page.locator(f"{ROOT} .thread > li").count() == 1
    assert bob.page.locator(f"{ROOT} .thread > li .replies > li").count() == 2
    shot(bob, "thread-360")

    # Bob likes Alice's comment: the count moves on both pages.
    like = theirs.locator("button.like")
    assert like.get_attribute("aria-pressed") == "false"
    like.click()
    bob.page.wait_for_function(
        "root => document.querySelector(root).shadowRoot"
        ".querySelector('.thread > li > article .like').getAttribute('aria-pressed') === 'true'",
        arg=ROOT,
    )
    assert like.locator(".n").text_content() == "1"
    mine.locator("button.like .n").filter(has_text="1").wait_for()
    # Remembered: after a reload the button is still pressed.
    bob.page.reload()
    ready(bob)
    assert item(bob, "très").locator("button.like").get_attribute("aria-pressed") == "true"
    assert bob.page.evaluate("localStorage.getItem('causerie.reader')")

    # Alice edits her comment; Bob sees the new text, marked as edited.
    mine.get_by_role("button", name="Modifier").click()
    editor = alice.page.locator(f"{ROOT} .edit-form textarea")
    assert editor.input_value() == first
    editor.fill("Merci pour l'article, **très** clair (corrigé).")
    alice.page.locator(f"{ROOT} .edit-form").get_by_role("button", name="Enregistrer").click()
    edited = item(bob, "(corrigé)")
    edited.wait_for()
    assert edited.locator(".body strong").text_content() == "très"
    assert edited.locator(".edited").text_content() == "(modifié)"

    # Alice deletes her nested reply: it disappears from Bob's page.
    own_nested = alice.page.locator(
        f"{ROOT} .replies article.comment", has_text="Aussi, voir le rapport annuel."
    )
    own_nested.get_by_role("button", name="Supprimer").click()
    own_nested.get_by_role("button", name="Oui, supprimer").click()
    nested.wait_for(state="detached")
    wait_count(bob, "2 commentaires")
    wait_count(alice, "2 commentaires")

    # Her top-level comment has Bob's reply: it stays, blanked, with the reply under it.
    top = item(alice, "(corrigé)")
    top.get_by_role("button", name="Supprimer").click()
    top.get_by_role("button", name="Oui, supprimer").click()
    blank = bob.page.locator(f"{ROOT} .thread > li > article.comment").first
    blank.locator(".deleted-text").wait_for()
    assert "(corrigé)" not in (blank.text_content() or "")
    assert bob.page.locator(f"{ROOT} .replies article.comment").count() == 1
    wait_count(bob, "1 commentaire")
    alice.page.wait_for_timeout(300)  # her own `deleted` events arrive too: counted once
    wait_count(alice, "1 commentaire")
    assert blank.locator(".name").text_content() == "Commentaire supprimé"  # for screen readers
    shot(alice, "after-delete-1280")

    for reader in (alice, bob):
        assert reader.dialogs == []
        assert reader.errors == []


def test_hostile_names_and_texts_stay_text(server, open_reader) -> None:
    article = new_article(server, "xss")
    url = f"{server.base_url}/"
    bob = open_reader(url, article=article)
    ready(bob)
    alice = open_reader(url, width=360, article=article)
    ready(alice)

    text = "\n\n".join(XSS_LINES)
    post(alice, text, name=XSS_NAME)
    alice.page.wait_for_selector(f"{ROOT} .status:has-text('Ton commentaire est publié.')")

    def check(reader: Reader) -> None:
        comment = reader.page.locator(f"{ROOT} article.comment").first
        comment.wait_for()
        assert comment.locator(".name").text_content() == XSS_NAME
        body = comment.locator(".body")
        for line in XSS_LINES:
            assert line in (body.text_content() or "")
            body.get_by_text(line, exact=True).first.wait_for()  # visible, literally
        assert reader.page.locator(f"{ROOT} .body img, {ROOT} .body script").count() == 0
        assert reader.page.locator(f"{ROOT} .body svg, {ROOT} .meta svg").count() == 0
        assert reader.page.locator(f"{ROOT} .body a").count() == 0  # javascript: is no link
        assert reader.page.locator("body img[src=x], body > svg").count() == 0

    check(bob)  # arrived live
    check(alice)  # her own page, from the POST answer
    bob.page.reload()
    ready(bob)
    check(bob)  # from the thread GET
    bob.page.wait_for_timeout(300)  # give a stray onerror/onload a chance to fire
    shot(alice, "xss-360")
    for reader in (alice, bob):
        assert reader.dialogs == []
        assert reader.errors == []


def test_server_html_goes_through_the_allow_list(server, open_reader) -> None:
    """Defense in depth: even hostile `html` from the server is rebuilt safely."""
    reader = open_reader(f"{server.base_url}/", article=new_article(server, "sanitize"))
    ready(reader, live=False)
    hostile = (
        '<p>ok <em onclick="alert(5)">em</em><img src=x onerror="alert(6)">'
        '<a href="javascript:alert(7)">js</a> <a href="https://example.org/a" '
        'onmouseover="alert(8)" style="color:red">web</a><script>alert(9)</script>'
        '<svg><script>alert(10)</script></svg><iframe src="https://example.org"></iframe>'
        "<b>bold</b><br><strong>s</strong></p>"
    )
    html = reader.page.evaluate(
        """async ([origin, hostile]) => {
             const { safeFragment } = await import(`${origin}/widget/comments.js`);
             const box = document.createElement("div");
             box.append(safeFragment(hostile));
             return box.innerHTML;
           }""",
        [widget_origin(server.base_url), hostile],
    )
    assert html == (
        "<p>ok <em>em</em>js "
        '<a href="https://example.org/a" rel="nofollow ugc noopener" target="_blank">web</a>'
        "bold<br><strong>s</strong></p>"
    )
    reader.page.wait_for_timeout(200)
    assert reader.dialogs == []
    assert reader.errors == []


def test_english_comments(server, open_reader) -> None:
    article = new_article(server, "en")
    reader = open_reader(f"{server.base_url}/", article=article, lang="en")
    ready(reader)
    page = reader.page
    assert page.locator(f"{ROOT} h2").text_content() == "Join the conversation"
    assert count_text(reader) == "No comments yet"
    assert page.get_attribute(f"{ROOT} #name", "placeholder") == "Name (optional)"
    options = page.locator(f"{ROOT} #sort option").all_text_contents()
    assert options == ["Newest", "Oldest", "Most liked"]
    post(reader, "Great piece on **water**.")
    page.wait_for_selector(f"{ROOT} .status:has-text('Your comment is published.')")
    comment = item(reader, "Great piece")
    assert comment.locator(".body strong").text_content() == "water"
    assert comment.locator("time").text_content() == "just now"
    assert comment.get_by_role("button", name="Reply").is_visible()
    assert comment.get_by_role("button", name="Edit").is_visible()
    wait_count(reader, "1 comment")
    # An error from the API is shown, in English, in the alert by the form.
    page.evaluate(
        "root => { const t = document.querySelector(root).shadowRoot.querySelector('#text');"
        " t.removeAttribute('maxlength'); t.value = 'x'.repeat(5001); }",
        ROOT,
    )
    page.click(f"{ROOT} .compose button[type=submit]")
    alert = page.locator(f"{ROOT} .compose .alert")
    alert.filter(has_text=re.compile(r"\S")).wait_for()
    assert re.search(r"[A-Za-z]", alert.text_content() or "")
    assert page.locator(f"{ROOT} article.comment").count() == 1
    shot(reader, "en-1280")
    assert reader.errors == []


def test_pages_sort_and_new_comments_button(server, open_reader) -> None:
    """More than a page: "Afficher plus"; sort oldest: a live top-level comment
    bumps "N nouveaux commentaires" until the last page is loaded."""
    import httpx

    article = new_article(server, "pages")
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        for i in range(23):
            response = client.post("/api/v1/comments", json={"url": article, "text": f"n°{i:02d}"})
            assert response.status_code == 201, response.text

        reader = open_reader(f"{server.base_url}/", article=article, sort="oldest")
        ready(reader)
        page = reader.page
        assert page.input_value(f"{ROOT} #sort") == "oldest"
        assert page.locator(f"{ROOT} .thread > li").count() == 20
        assert page.locator(f"{ROOT} .body").first.text_content() == "n°00"
        wait_count(reader, "23 commentaires")

        response = client.post("/api/v1/comments", json={"url": article, "text": "tout neuf"})
        assert response.status_code == 201
        button = page.locator(f"{ROOT} .new-comments")
        button.filter(has_text="1 nouveau commentaire").wait_for()
        wait_count(reader, "24 commentaires")
        assert page.locator(f"{ROOT} .thread > li").count() == 20
        button.click()
        item(reader, "tout neuf").wait_for()
        assert page.locator(f"{ROOT} .thread > li").count() == 24
        assert button.is_hidden()
        assert page.locator(f"{ROOT} .more").is_hidden()

        # Newest first: a new comment goes on top; "Afficher plus" pages on.
        page.select_option(f"{ROOT} #sort", "newest")
        page.wait_for_function(
            "root => document.querySelector(root).shadowRoot"
            ".querySelector('.thread > li .body')?.textContent === 'tout neuf'",
            arg=ROOT,
        )
        assert page.locator(f"{ROOT} .thread > li").count() == 20
        client.post("/api/v1/comments", json={"url": article, "text": "le plus récent"})
        page.wait_for_function(
            "root => document.querySelector(root).shadowRoot"
            ".querySelector('.thread > li .body')?.textContent === 'le plus récent'",
            arg=ROOT,
        )
        page.get_by_role("button", name="Afficher plus").click()
        page.wait_for_function(
            "root => document.querySelector(root).shadowRoot"
            ".querySelectorAll('.thread > li').length === 25",
            arg=ROOT,
        )
        assert page.locator(f"{ROOT} .more").is_hidden()
        bodies = page.locator(f"{ROOT} .thread > li > article .body").all_text_contents()
        assert len(set(bodies)) == 25
    assert reader.errors == []


def test_held_comment_and_edit_window(server, open_reader) -> None:
    """A 202 (pre-moderation) is a notice, not a comment; Modifier / Supprimer
    go away once the server's edit window (``editable_for``) is over."""
    article = new_article(server, "held")
    reader = open_reader(f"{server.base_url}/", article=article)
    ready(reader)
    page = reader.page

    def held(route: object) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(
            status=202,
            headers={"Access-Control-Allow-Origin": server.base_url},
            content_type="application/json",
            body=json.dumps({"id": 999_999, "author_token": "t" * 40, "status": "held"}),
        )

    page.route("**/api/v1/comments", held)
    post(reader, "En attente de modération")
    page.wait_for_selector(
        f"{ROOT} .status:has-text('Ton commentaire sera publié après modération.')"
    )
    assert page.locator(f"{ROOT} article.comment").count() == 0
    assert page.input_value(f"{ROOT} #text") == ""
    page.unroute("**/api/v1/comments")

    post(reader, "Bientôt trop vieux pour être modifié")
    comment = item(reader, "trop vieux")
    comment.get_by_role("button", name="Modifier").wait_for()
    comment_id = comment.get_attribute("data-id")
    page.evaluate(
        """id => { const key = `causerie.author.${id}`;
                   const saved = JSON.parse(sessionStorage.getItem(key));
                   saved.at -= 16 * 60 * 1000;
                   saved.until -= 16 * 60 * 1000;
                   sessionStorage.setItem(key, JSON.stringify(saved)); }""",
        comment_id,
    )
    page.reload()
    ready(reader)
    comment = item(reader, "trop vieux")
    comment.wait_for()
    assert comment.get_by_role("button", name="Répondre").is_visible()
    assert comment.locator("button.edit, button.delete").count() == 0
    assert reader.errors == []
