"""The pure rules of core.safety: ban expiries, client secrets and reported transcripts."""

from __future__ import annotations

import calendar
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from causerie.core.errors import ClientError, ErrorCode
from causerie.core.safety import (
    DAY_US,
    MAX_CLIENT_SECRET,
    MAX_TRANSCRIPT_LINES,
    MIN_CLIENT_SECRET,
    US,
    Ban,
    BanKind,
    Speaker,
    TranscriptLine,
    ban_expiry,
    end_of_utc_day,
    parse_client_secret,
    parse_transcript,
    utc_day,
)

NOON = calendar.timegm((2026, 12, 4, 12, 0, 0)) * US
MIDNIGHT = calendar.timegm((2026, 12, 5, 0, 0, 0)) * US
HOUR = 3_600 * US
TIMES = st.integers(min_value=0, max_value=4_102_444_800 * US)  # 1970 … 2100
DURATIONS = st.integers(min_value=-DAY_US, max_value=400 * DAY_US)
SECRET_CHARS = string.ascii_letters + string.digits + "-_"


def refused(call: Any, field: str) -> None:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.code is ErrorCode.INVALID_FIELD
    assert raised.value.field == field


# --- days and expiries ------------------------------------------------------------------


def test_utc_day_and_its_end() -> None:
    assert utc_day(NOON) == utc_day(MIDNIGHT - 1) == utc_day(MIDNIGHT) - 1
    assert utc_day(NOON) * DAY_US == MIDNIGHT - DAY_US  # the day starts at 00:00 UTC
    assert end_of_utc_day(NOON) == MIDNIGHT
    assert end_of_utc_day(MIDNIGHT - 1) == MIDNIGHT
    assert end_of_utc_day(MIDNIGHT) == MIDNIGHT + DAY_US
    new_year = calendar.timegm((2027, 1, 1, 0, 0, 0)) * US
    assert end_of_utc_day(calendar.timegm((2026, 12, 31, 23, 59, 59)) * US) == new_year


def test_an_address_ban_ends_at_midnight_utc() -> None:
    assert ban_expiry(BanKind.IP, NOON, 7 * DAY_US) == MIDNIGHT
    assert ban_expiry(BanKind.IP, NOON, HOUR) == NOON + HOUR
    assert ban_expiry(BanKind.IP, MIDNIGHT - 1, DAY_US) == MIDNIGHT


@pytest.mark.parametrize("kind", [BanKind.AUTHOR, BanKind.CLIENT])
def test_other_bans_last_their_duration(kind: BanKind) -> None:
    assert ban_expiry(kind, NOON, 7 * DAY_US) == NOON + 7 * DAY_US
    assert ban_expiry(kind, NOON, -HOUR) == NOON  # never in the past


def test_a_ban_is_active_until_it_expires_or_is_revoked() -> None:
    ban = Ban(1, BanKind.CLIENT, "h", "r", NOON, NOON + HOUR, None)
    assert ban.active(NOON)
    assert ban.active(NOON + HOUR - 1)
    assert not ban.active(NOON + HOUR)
    revoked = Ban(1, BanKind.CLIENT, "h", "r", NOON, NOON + HOUR, "modé", revoked_us=NOON + 1)
    assert not revoked.active(NOON + 2)


@given(kind=st.sampled_from(BanKind), now=TIMES, duration=DURATIONS)
def test_ban_expiry_property(kind: BanKind, now: int, duration: int) -> None:
    expires = ban_expiry(kind, now, duration)
    assert now <= expires <= now + max(0, duration)
    if kind is BanKind.IP:
        assert expires <= end_of_utc_day(now)
        if expires > now:  # the last banned microsecond is on the day the hash was made
            assert utc_day(expires - 1) == utc_day(now)
    else:
        assert expires == now + max(0, duration)


# --- client secrets ---------------------------------------------------------------------


def test_client_secret_absent_or_valid() -> None:
    assert parse_client_secret(None) is None
    assert parse_client_secret("a" * MIN_CLIENT_SECRET) == "a" * MIN_CLIENT_SECRET
    assert parse_client_secret("Z9-_" * 16) == "Z9-_" * 16


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * (MIN_CLIENT_SECRET - 1),
        "a" * (MAX_CLIENT_SECRET + 1),
        "a" * 15 + "=",
        "a" * 15 + " ",
        "a" * 15 + "\x00",
        "a" * 15 + "é",
        "a" * 15 + "١",  # a non-ASCII digit
        "a" * 15 + "/",
        True,
        1234567890123456,
        b"a" * 20,
        ["a" * 20],
        {"client": "a" * 20},
    ],
)
def test_client_secret_refused(value: Any) -> None:
    refused(lambda: parse_client_secret(value), "client")


@given(st.text(SECRET_CHARS, min_size=MIN_CLIENT_SECRET, max_size=MAX_CLIENT_SECRET))
def test_client_secret_property(secret: str) -> None:
    assert parse_client_secret(secret) == secret


# --- transcripts ------------------------------------------------------------------------


def test_transcript_accepted() -> None:
    assert parse_transcript([], 500) == ()
    lines = parse_transcript(
        [
            {"from": "partner", "text": "<script>alert(1)</script>"},
            {"from": "me", "text": "'); DROP TABLE reports;--"},
            {"from": "partner", "text": "😀 é"},
            {"from": "me", "text": ""},
        ],
        500,
    )
    assert lines == (
        TranscriptLine(Speaker.REPORTED, "<script>alert(1)</script>"),
        TranscriptLine(Speaker.REPORTER, "'); DROP TABLE reports;--"),
        TranscriptLine(Speaker.REPORTED, "😀 é"),
        TranscriptLine(Speaker.REPORTER, ""),
    )
    full = [{"from": "me", "text": "x" * 10}] * MAX_TRANSCRIPT_LINES
    assert len(parse_transcript(full, 10)) == MAX_TRANSCRIPT_LINES


@pytest.mark.parametrize(
    "value",
    [
        None,
        "[]",
        {"from": "me", "text": "x"},
        ({"from": "me", "text": "x"},),  # a tuple is not what JSON decodes to
        [{"from": "me", "text": "x"}] * (MAX_TRANSCRIPT_LINES + 1),
        ["x"],
        [None],
        [[("from", "me"), ("text", "x")]],
        [{"from": "me"}],
        [{"text": "x"}],
        [{}],
        [{"from": "me", "text": "x", "speaker": "reported"}],
        [{"from": "me", "text": "x", 1: "y"}],
        [{"from": "them", "text": "x"}],
        [{"from": "reporter", "text": "x"}],
        [{"from": "ME", "text": "x"}],
        [{"from": True, "text": "x"}],
        [{"from": "me", "text": True}],
        [{"from": "me", "text": None}],
        [{"from": "me", "text": 12}],
        [{"from": "me", "text": ["x"]}],
        [{"from": "me", "text": "x" * 11}],
        [{"from": "me", "text": "x\x00y"}],
        [{"from": "me", "text": "ok"}, {"from": "me", "text": "\x00"}],
    ],
)
def test_transcript_refused(value: Any) -> None:
    refused(lambda: parse_transcript(value, 10), "transcript")


LINES = st.lists(
    st.fixed_dictionaries(
        {
            "from": st.sampled_from(["me", "partner"]),
            "text": st.text(st.characters(blacklist_characters="\x00"), max_size=20),
        }
    ),
    max_size=MAX_TRANSCRIPT_LINES,
)


@given(LINES)
def test_transcript_property(value: list[dict[str, str]]) -> None:
    lines = parse_transcript(value, 20)
    assert [line.text for line in lines] == [item["text"] for item in value]
    assert [line.speaker for line in lines] == [
        Speaker.REPORTER if item["from"] == "me" else Speaker.REPORTED for item in value
    ]


@given(LINES.filter(bool), st.data())
def test_transcript_one_bad_line_refuses_all(value: list[dict[str, Any]], data: Any) -> None:
    index = data.draw(st.integers(0, len(value) - 1))
    spoiled = data.draw(
        st.sampled_from(
            [
                {"from": "me", "text": "x" * 21},
                {"from": "me", "text": "a\x00"},
                {"from": "other", "text": "x"},
                {"from": "me", "text": False},
                {"from": "me", "text": "x", "extra": ""},
            ]
        )
    )
    value = [*value[:index], spoiled, *value[index + 1 :]]
    refused(lambda: parse_transcript(value, 20), "transcript")
