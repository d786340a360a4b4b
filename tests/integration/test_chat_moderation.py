"""The moderation policy in the chat: refused, masked, and repeated offenders cooled down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from causerie.testing import ServerProcess
from tests.conftest import TEST_SERVER_ENV
from tests.integration.client import Reader, new_article, pair


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Chat moderation is on by default; said explicitly here, since it is what is tested."""
    env = {**TEST_SERVER_ENV, "CAUSERIE_CHAT_MODERATION": "true"}
    data_dir: Path = tmp_path_factory.mktemp("moderated-chat")
    with ServerProcess(data_dir, env) as process:
        yield process


async def test_insult_is_refused_and_never_reaches_the_partner(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    await first.send({"type": "message", "id": "bad", "text": "t'es qu'un gros c0nnard"})
    error = await first.expect("error")
    assert error["code"] == "moderation_insult" and error["id"] == "bad" and error["message"]
    await second.silent(0.3)
    await first.send({"type": "message", "id": "ok", "text": "Pardon, je retire."})
    assert (await second.expect("message"))["text"] == "Pardon, je retire."
    await first.close()
    await second.close()


async def test_personal_data_is_masked_and_the_sender_told(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    await first.send({"type": "message", "id": "tel", "text": "appelle-moi au 06 12 34 56 78"})
    notice = await first.expect("moderated")
    assert notice["id"] == "tel" and notice["code"] == "moderation_personal_data"
    echo = await first.expect("message")
    got = await second.expect("message")
    assert "06 12 34 56 78" not in got["text"] and got["text"] == echo["text"]
    await first.close()
    await second.close()


async def test_without_chat_moderation_text_is_relayed_as_typed(tmp_path: Path) -> None:
    env = {**TEST_SERVER_ENV, "CAUSERIE_CHAT_MODERATION": "false"}
    with ServerProcess(tmp_path / "plain", env) as plain:
        first, second, _, _ = await pair(plain.ws_url)
        await first.send({"type": "message", "id": "t", "text": "appelle-moi au 06 12 34 56 78"})
        assert (await second.expect("message"))["text"] == "appelle-moi au 06 12 34 56 78"
        await first.close()
        await second.close()


async def test_civil_disagreement_goes_through(server: ServerProcess) -> None:
    first, second, _, _ = await pair(server.ws_url)
    text = "Quel bordel cette histoire, je trouve ce projet complètement idiot."
    await first.send({"type": "message", "id": "d", "text": text})
    assert (await second.expect("message"))["text"] == text
    await first.close()
    await second.close()


@pytest.fixture(scope="module")
def strict_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        **TEST_SERVER_ENV,
        "CAUSERIE_CHAT_MODERATION": "true",
        "CAUSERIE_CHAT_VIOLATIONS": "2",
        "CAUSERIE_CHAT_COOLDOWN": "30",
    }
    data_dir: Path = tmp_path_factory.mktemp("strict-chat")
    with ServerProcess(data_dir, env) as process:
        yield process


async def test_repeated_violations_end_the_conversation_and_cool_down(
    strict_chat: ServerProcess,
) -> None:
    offender, partner, _, _ = await pair(strict_chat.ws_url)
    for n in range(2):
        await offender.send({"type": "message", "id": f"v{n}", "text": "ferme ta gueule sale pute"})
        assert (await offender.expect("error"))["code"].startswith("moderation_")
    error = await offender.error("moderation_cooldown")
    assert 0 < error["retry_after"] <= 30
    assert (await partner.expect("partner_left"))["reason"] == "left"
    await offender.send({"type": "join", "article": new_article()})
    assert (await offender.error("moderation_cooldown"))["retry_after"] > 0
    # A new socket from the same address is cooled down too. (In these tests the partner
    # shares that address, so its own freedom to go on cannot be shown here.)
    again = await Reader.open(strict_chat.ws_url)
    await again.send({"type": "join", "article": new_article()})
    await again.error("moderation_cooldown")
    for reader in (offender, partner, again):
        await reader.close()


async def test_a_widget_offender_is_cooled_down_by_client_not_by_address(
    strict_chat: ServerProcess,
) -> None:
    """A reader whose widget sent its client secret is cooled down by that secret: other
    readers behind the same address (an office, a carrier's NAT) can go on chatting."""
    article = new_article()
    offender_client, neighbour_client = "o" * 24, "n" * 24
    offender = await Reader.open(strict_chat.ws_url)
    await offender.send({"type": "join", "article": article, "client": offender_client})
    await offender.expect("waiting")
    partner = await Reader.open(strict_chat.ws_url)
    await partner.send({"type": "join", "article": article, "client": neighbour_client})
    await partner.expect("matched")
    await offender.expect("matched")
    for n in range(2):
        await offender.send({"type": "message", "id": f"v{n}", "text": "ferme ta gueule sale pute"})
        assert (await offender.expect("error"))["code"].startswith("moderation_")
    await offender.error("moderation_cooldown")
    await partner.expect("partner_left")
    # The same browser on a new socket is still cooled down...
    again = await Reader.open(strict_chat.ws_url)
    await again.send({"type": "join", "article": new_article(), "client": offender_client})
    await again.error("moderation_cooldown")
    # ...its neighbour on the same address is not.
    await partner.send({"type": "join", "article": new_article(), "client": neighbour_client})
    await partner.expect("waiting")
    for reader in (offender, partner, again):
        await reader.close()
