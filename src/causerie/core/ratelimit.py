"""Token buckets: a rate with a burst, driven by the time the caller passes in."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up.

    ``take(now)`` returns 0.0 when a token was taken, else the number of
    seconds after which one will be available (nothing is taken then).
    """

    __slots__ = ("_burst", "_rate", "_tokens", "_updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated = now

    def take(self, now: float) -> float:
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def refund(self) -> None:
        """Give back the token a successful ``take`` took (the action did not happen:
        another limit refused it)."""
        self._tokens = min(self._burst, self._tokens + 1.0)


class KeyedBuckets:
    """One :class:`TokenBucket` per key (a client's keyed address hash), LRU-bounded.

    At most ``max_keys`` buckets are kept: the least recently used is forgotten
    first, which can only ever give a forgotten client a fresh burst.
    """

    __slots__ = ("_buckets", "_burst", "_max_keys", "_rate")

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be >= 1")
        TokenBucket(rate, burst, 0.0)  # validates rate and burst
        self._rate = rate
        self._burst = burst
        self._max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now: float) -> float:
        """0.0 if ``key`` may act now, else the seconds to wait (nothing taken)."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst, now)
            if len(self._buckets) >= self._max_keys:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[key] = bucket  # most recently used last
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)
