"""Browser fixtures: Debian's Chromium driven by Playwright's sync API.

The server is the shared ``server`` fixture of tests/conftest.py (a real
``causerie serve`` subprocess on 127.0.0.1). Its demo page is served on
127.0.0.1 and loads the widget from http://localhost:PORT, so the chat iframe
is cross-origin exactly as on a publisher's site.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHAT_PATH = "/widget/v1/chat"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: Playwright's sync API holds an event loop while it runs, which
    must be gone before any asyncio test starts (browser tests also run last)."""
    if not CHROMIUM.exists():
        message = "Chromium not installed: apt-get install chromium"
        if os.environ.get("CAUSERIE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def widget_origin(base_url: str) -> str:
    """The demo's trick: the page on 127.0.0.1, the widget on localhost."""
    return base_url.replace("://127.0.0.1:", "://localhost:")


@dataclass
class Reader:
    """One reader: a browser context, the article page, and the chat iframe in it."""

    context: object
    page: object
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def chat(self, timeout: float = 10.0) -> object:
        """The chat frame (found by URL: a closed shadow root hides it from selectors)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.page.frames:
                if CHAT_PATH in frame.url:
                    frame.wait_for_selector("#btn-join", state="attached")
                    return frame
            self.page.wait_for_timeout(50)
        raise AssertionError(f"no chat iframe in {[f.url for f in self.page.frames]}")

    def chat_params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.chat().url).query)
        return {key: values[0] for key, values in query.items()}


def start_chat(chat: object, button: str = "Viens on en parle !") -> None:
    """Clicks the start button and, if the conversation rules card shows (first
    time in this browser), accepts it: the reader is then waiting or chatting."""
    chat.get_by_role("button", name=button).click()
    if chat.is_visible("#screen-rules"):
        accept_rules(chat)


def accept_rules(chat: object) -> None:
    """Ticks the adult-and-rules box on the rules card and starts."""
    chat.check("#rules-check")
    chat.click("#btn-rules-start")


# Runs in the publisher page before its own scripts: gives <causerie-chat> and
# <causerie-comments> their attributes as soon as the parser inserts them, as if
# the page had been written so.
SET_ATTRIBUTES = """(attributes) => {
  if (window !== window.top) return;
  const pending = new Set(["causerie-chat", "causerie-comments"]);
  const observer = new MutationObserver(() => {
    for (const tag of [...pending]) {
      const element = document.querySelector(tag);
      if (!element) continue;
      for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
      pending.delete(tag);
    }
    if (pending.size === 0) observer.disconnect();
  });
  observer.observe(document, {childList: true, subtree: true});
}"""


@pytest.fixture
def open_reader(browser: object) -> Iterator[Callable[..., Reader]]:
    """open_reader(url, width=1280, **attributes) -> Reader; its context closes at the end.

    ``attributes`` (e.g. article=..., lang="en") are set on the page's
    ``<causerie-chat>`` and ``<causerie-comments>`` before the widgets start, like a
    publisher would write them.
    """
    contexts: list[object] = []

    def open_reader(url: str, *, width: int = 1280, **attributes: str) -> Reader:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
        contexts.append(context)
        context.set_default_timeout(10_000)
        if attributes:
            context.add_init_script(f"({SET_ATTRIBUTES})({json.dumps(attributes)})")
        page = context.new_page()
        reader = Reader(context=context, page=page)

        def on_dialog(dialog: object) -> None:
            reader.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: reader.errors.append(str(error)))
        page.goto(url)
        return reader

    yield open_reader
    for context in contexts:
        context.close()
