"""TokenBucket: a burst, then a steady rate, with the exact delay until the next token."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.core.ratelimit import TokenBucket


def take_all(bucket: TokenBucket, now: float) -> int:
    """Take tokens at ``now`` until refused; how many were taken."""
    taken = 0
    while bucket.take(now) == 0.0:
        taken += 1
    return taken


def test_burst_then_refusal_with_the_delay_until_the_next_token() -> None:
    bucket = TokenBucket(rate=5.0, burst=10, now=0.0)
    assert [bucket.take(0.0) for _ in range(10)] == [0.0] * 10
    assert bucket.take(0.0) == pytest.approx(0.2)
    assert bucket.take(0.0) == pytest.approx(0.2)  # a refusal takes nothing


def test_partial_refill_shortens_the_delay() -> None:
    bucket = TokenBucket(rate=5.0, burst=1, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.1) == pytest.approx(0.1)  # half a token back, half to go


def test_refill_over_time() -> None:
    bucket = TokenBucket(rate=2.0, burst=4, now=100.0)
    assert take_all(bucket, 100.0) == 4
    assert bucket.take(100.4) > 0
    assert bucket.take(100.5) == 0.0
    assert take_all(bucket, 101.5) == 2


def test_never_more_than_the_burst() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    assert take_all(bucket, 10_000.0) == 3


def test_a_fractional_burst_is_rounded_down_in_practice() -> None:
    bucket = TokenBucket(rate=1.0, burst=2.5, now=0.0)
    assert take_all(bucket, 0.0) == 2


def test_a_clock_going_backwards_refills_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=10.0)
    assert bucket.take(10.0) == 0.0
    assert bucket.take(5.0) == pytest.approx(1.0)
    assert bucket.take(10.5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("rate", "burst"), [(0.0, 10), (-1.0, 10), (1.0, 0), (1.0, 0.5), (1.0, -3)]
)
def test_bad_parameters_are_rejected(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        TokenBucket(rate, burst, now=0.0)


@settings(max_examples=200)
@given(
    rate=st.floats(min_value=0.1, max_value=50),
    burst=st.integers(min_value=1, max_value=20),
    steps=st.lists(st.floats(min_value=0, max_value=2), max_size=60),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, steps: list[float]
) -> None:
    """And a refused caller that waits exactly the delay it was told gets a token."""
    bucket = TokenBucket(rate, burst, now=0.0)
    now = 0.0
    for taken, step in enumerate(steps, start=1):
        now += step
        wait = bucket.take(now)
        assert 0.0 <= wait <= 1.0 / rate + 1e-9
        if wait > 0.0:
            now += wait + 1e-9
            assert bucket.take(now) == 0.0
        assert taken <= burst + rate * now + 1e-6


def test_refund_gives_back_one_token_never_beyond_the_burst() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) > 0
    bucket.refund()
    assert bucket.take(0.0) == 0.0  # the refunded token
    assert bucket.take(0.0) > 0
    fresh = TokenBucket(rate=1.0, burst=2, now=0.0)
    fresh.refund()
    fresh.refund()
    assert fresh.take(0.0) == 0.0 and fresh.take(0.0) == 0.0
    assert fresh.take(0.0) > 0  # still the burst of 2, not 4
