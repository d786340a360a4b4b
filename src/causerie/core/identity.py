"""How readers are recognized without being identified.

An address or a browser's token is never stored or compared in clear: it is
reduced to a keyed hash (BLAKE2b with the server's secret key), and for
addresses the key is personalized with the day, so that yesterday's hashes
cannot be linked to today's. Used only for rate limits, likes and bans.
"""

from __future__ import annotations

import hashlib


def keyed_digest(secret: bytes, scope: str, value: str) -> str:
    """A 128-bit keyed hash of ``value``; ``scope`` (at most 16 bytes) separates uses/days."""
    return hashlib.blake2b(
        value.encode("utf-8", "surrogatepass"), key=secret[:64], person=scope.encode()[:16]
    ).hexdigest()[:32]


def day_scope(prefix: str, day: str) -> str:
    """The scope of an address hash for one UTC day (``day`` as YYYY-MM-DD)."""
    return (prefix[:5] + day.replace("-", ""))[:16]


def address_hash(secret: bytes, address: str, day: str) -> str:
    """The keyed hash of a client's IP address on one UTC day (YYYY-MM-DD).

    The one form in which an address is kept (in a comment, a report, a ban) or
    compared (rate limits, bans): chat and comments use the same scope so that a
    ban by address applies to both.
    """
    return keyed_digest(secret, day_scope("ip", day), address)


def client_hash(secret: bytes, client_secret: str) -> str:
    """The keyed hash of a chat widget's anonymous client secret (stable across days)."""
    return keyed_digest(secret, "chat-client", client_secret)
