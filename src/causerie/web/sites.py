"""Per-site moderation: the policy each site's comments and chat are checked with.

A site without settings uses the server's policy (packaged and publisher lists,
``actions.txt``, ``CAUSERIE_COMMENTS_PREMODERATION``). A moderator can give a
site its own actions and pre-moderation in the dashboard (``site_settings``
table): that site then gets a policy compiled from the same word lists with its
own ``PolicyConfig`` (about 10 ms, once per change).

In a cluster, a node learns another node's change within ``REFRESH`` seconds
(``run_refresher``); the node where it was made applies it at once (``apply``).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Final

import structlog

from causerie.core.moderation import Lexicon, Policy, parse_actions
from causerie.store.database import StoreError
from causerie.store.safety import SafetyStore, SiteSettings

log = structlog.get_logger(__name__)

REFRESH: Final = 30.0  # seconds


class SitePolicies:
    def __init__(self, base: Policy, lexicon: Lexicon) -> None:
        self.base = base
        self.lexicon = lexicon
        self._policies: dict[str, Policy] = {}
        self._seen: dict[str, int] = {}  # site -> updated_us of the settings compiled

    def policy(self, site: str) -> Policy:
        """The policy of ``site`` (an origin, as ``articles.site``)."""
        return self._policies.get(site, self.base)

    def apply(self, settings: SiteSettings) -> None:
        """Compile and use a site's settings (already validated by the dashboard)."""
        if self._seen.get(settings.site) == settings.updated_us:
            return
        base = self.base.config
        try:
            chat, comment = parse_actions(settings.actions, base)
        except ValueError:
            log.warning("site_settings_invalid", site=settings.site)
            return
        config = replace(
            base, chat_actions=chat, comment_actions=comment, premoderation=settings.premoderation
        )
        self._policies[settings.site] = Policy(config, self.lexicon, self.base.classifier)
        self._seen[settings.site] = settings.updated_us

    async def load(self, safety: SafetyStore) -> None:
        for settings in await safety.all_site_settings():
            self.apply(settings)

    async def run_refresher(self, safety: SafetyStore) -> None:
        """Pick up changes made on other nodes, every ``REFRESH`` seconds."""
        while True:
            await asyncio.sleep(REFRESH)
            try:
                await self.load(safety)
            except StoreError:
                log.warning("site_settings_refresh_failed", exc_info=True)
