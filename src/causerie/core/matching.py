"""Who is paired with whom: first come, first served, per article.

Invariants (tested with Hypothesis in tests/unit/test_matching.py):

- a reader waits in at most one queue, at most once;
- a reader is never paired with itself (nor with another tab of the same
  chat client), nor with a reader either of them asked to avoid (the
  previous partner after "next", the clients either of them blocked);
- a newcomer is paired with the *oldest* compatible waiter: nobody
  compatible is skipped while a later arrival is served;
- cancelling removes the reader and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Waiter:
    """A reader waiting on an article.

    ``reader`` is an opaque random id of one connection's seat in the lobby,
    never shown to anyone. ``client`` is the keyed hash of the widget's
    anonymous client secret (None if it sent none). ``avoid`` lists the
    readers and clients this one must not meet now. ``address`` (the keyed
    day hash of its address) plays no part in matching: it is carried to the
    partner's ticket, for a report.
    """

    reader: str
    avoid: frozenset[str] = field(default_factory=frozenset)
    client: str | None = None
    address: str | None = None

    def compatible_with(self, other: Waiter) -> bool:
        if self.reader == other.reader or other.reader in self.avoid or self.reader in other.avoid:
            return False
        mine, theirs = self.client, other.client
        if theirs is not None and (theirs == mine or theirs in self.avoid):
            return False
        return mine is None or mine not in other.avoid


class AlreadyWaiting(Exception):
    """Programming error: a reader was queued twice."""


class Matchmaker:
    """FIFO queues of waiters, one per article; O(1) cancel.

    Pure and single-threaded: the memory broker owns one; the Redis broker
    implements the same rules atomically in a script.
    """

    __slots__ = ("_article_of", "_queues")

    def __init__(self) -> None:
        # dicts keep insertion order: each one is a FIFO queue with O(1) removal.
        self._queues: dict[str, dict[str, Waiter]] = {}
        self._article_of: dict[str, str] = {}

    def pair_or_wait(self, article: str, waiter: Waiter) -> Waiter | None:
        """Pair ``waiter`` with the oldest compatible reader on ``article``, or queue it.

        Returns the partner (removed from the queue), or None if ``waiter`` now waits.
        """
        if waiter.reader in self._article_of:
            raise AlreadyWaiting(waiter.reader)
        queue = self._queues.get(article)
        if queue is not None:
            for other in queue.values():
                if waiter.compatible_with(other):
                    self._remove(article, queue, other.reader)
                    return other
        else:
            queue = self._queues[article] = {}
        queue[waiter.reader] = waiter
        self._article_of[waiter.reader] = article
        return None

    def cancel(self, reader: str) -> bool:
        """Remove ``reader`` from its queue; False if it was not waiting."""
        article = self._article_of.get(reader)
        if article is None:
            return False
        self._remove(article, self._queues[article], reader)
        return True

    def waiting(self, article: str) -> int:
        """How many readers wait on ``article``."""
        queue = self._queues.get(article)
        return len(queue) if queue else 0

    def is_waiting(self, reader: str) -> bool:
        return reader in self._article_of

    def queue(self, article: str) -> list[Waiter]:
        """The waiters on ``article``, oldest first (a copy)."""
        return list(self._queues.get(article, {}).values())

    def _remove(self, article: str, queue: dict[str, Waiter], reader: str) -> None:
        del queue[reader]
        del self._article_of[reader]
        if not queue:
            del self._queues[article]
