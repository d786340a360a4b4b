"""Reading the moderation word lists and actions: the I/O that ``core.moderation`` leaves out.

The packaged lists live in ``causerie/core/data/moderation/`` (``fr/insult.txt``,
``allow.txt``, ``domains.txt``…). A publisher extends them with a folder of the same
layout: by default ``{data_dir}/moderation/``. Its lists are added to the packaged ones
(a word in its ``allow.txt`` silences a packaged entry), and its optional
``actions.txt`` sets the action per context and category (``chat insult refuse``).
"""

from __future__ import annotations

import importlib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

from causerie.core.moderation import Lexicon, PolicyConfig, parse_actions
from causerie.core.moderation.policy import Classifier
from causerie.settings import Settings

ACTIONS_FILE = "actions.txt"


def packaged_data() -> Traversable:
    return resources.files("causerie.core").joinpath("data", "moderation")


def _list_files(root: Traversable | Path, prefix: str = "") -> dict[str, str]:
    files: dict[str, str] = {}
    for item in sorted(root.iterdir(), key=lambda entry: entry.name):
        if item.is_dir():
            files.update(_list_files(item, f"{prefix}{item.name}/"))
        elif item.name.endswith(".txt") and item.name != ACTIONS_FILE:
            files[prefix + item.name] = item.read_text(encoding="utf-8")
    return files


def load_lexicon(publisher_dir: Path | None = None) -> Lexicon:
    """The packaged lists, plus the publisher's (if the folder exists).

    Raises ValueError naming a publisher file whose name is not a known list, and
    UnicodeDecodeError for a file that is not UTF-8: a site with a broken list
    should not start with half a policy.
    """
    lexicon = Lexicon.from_files(_list_files(packaged_data()))
    if publisher_dir is not None and publisher_dir.is_dir():
        lexicon = lexicon + Lexicon.from_files(_list_files(publisher_dir))
    return lexicon


def load_config(settings: Settings, publisher_dir: Path | None = None) -> PolicyConfig:
    """The site's choices: its own domains allowed in links, pre-moderation of comments,
    and the publisher's ``actions.txt`` if there is one."""
    domains: list[str] = []
    for origin in (*settings.site_origins, settings.public_url or ""):
        host = urlsplit(origin).hostname
        if host:
            domains.append(host.removeprefix("www."))
    config = PolicyConfig(
        premoderation=settings.comments_premoderation, site_domains=tuple(domains)
    )
    actions = publisher_dir / ACTIONS_FILE if publisher_dir is not None else None
    if actions is not None and actions.is_file():
        try:
            chat, comment = parse_actions(actions.read_text(encoding="utf-8"), config)
        except ValueError as exc:
            raise ValueError(f"{actions}: {exc}") from exc
        config = PolicyConfig(
            chat_actions=chat,
            comment_actions=comment,
            premoderation=config.premoderation,
            site_domains=config.site_domains,
        )
    return config


def publisher_dir(settings: Settings) -> Path:
    return settings.data_dir / "moderation"


def load_classifier(spec: str | None) -> Classifier | None:
    """The site's classifier from ``package.module:factory`` (``CAUSERIE_CLASSIFIER``).

    ``None``, ``""`` or ``"none"``: no classifier. The factory is called once, without
    arguments; what it returns must have a ``scores(text, lang)`` method. Raises
    ValueError with a clear message otherwise: a site that asked for a classifier must
    not start without it.
    """
    if not spec or spec.strip().lower() == "none":
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"CAUSERIE_CLASSIFIER={spec!r}: expected 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"CAUSERIE_CLASSIFIER={spec!r}: {exc}") from exc
    classifier = factory()
    if not callable(getattr(classifier, "scores", None)):
        raise ValueError(f"CAUSERIE_CLASSIFIER={spec!r}: the object has no scores(text, lang)")
    return classifier  # type: ignore[no-any-return]
