"""A site's offline classifier, as a publisher would plug one in (CAUSERIE_CLASSIFIER).

A real one would load a model from disk at start; this one knows one invented insult
that no word list contains, so that a test can tell that the server consulted it.
"""

from __future__ import annotations

from collections.abc import Mapping

from causerie.core.moderation import Category


class Zorglub:
    def scores(self, text: str, lang: str) -> Mapping[Category, float]:
        return {Category.INSULT: 0.97} if "zorglub" in text.lower() else {}


def not_a_classifier() -> object:
    return object()
