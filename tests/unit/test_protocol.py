"""parse_frame against docs/protocol.md, a fuzz test of its totality, and the server events."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.core.errors import MESSAGES, ClientError, ErrorCode, human_message
from causerie.core.protocol import (
    MAX_ARTICLE_FIELD,
    MAX_CLIENT_ID,
    MAX_TOKEN,
    PROTOCOL_VERSION,
    Block,
    ClientFrame,
    Join,
    Leave,
    Limits,
    Next,
    Ping,
    Report,
    Resume,
    SendMessage,
    Typing,
    check_frame_size,
    encode,
    error_event,
    hello_event,
    parse_frame,
)
from causerie.core.safety import ReportReason, Speaker, TranscriptLine

LIMITS = Limits()


def frame(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


def refusal(text: str, limits: Limits = LIMITS) -> ClientError:
    with pytest.raises(ClientError) as caught:
        parse_frame(text, limits)
    return caught.value


# --- valid frames ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (frame(type="typing"), Typing()),
        (frame(type="next"), Next()),
        (frame(type="leave"), Leave()),
        (frame(type="ping"), Ping()),
        (frame(type="message", id="m1", text="Salut !"), SendMessage("m1", "Salut !")),
        (frame(type="message", id="m1", text=" a "), SendMessage("m1", " a ")),
        ('{"type": "resume", "token": "t_abc", "last_seq": 0}', Resume("t_abc", 0)),
        ('{"type": "resume", "token": "t_abc", "last_seq": 41}', Resume("t_abc", 41)),
        (
            frame(type="join", article="https://news.example/2026/ia"),
            Join("https://news.example/2026/ia"),
        ),
        (
            frame(type="join", article="https://news.example/a", client="A" * 16 + "-_z9"),
            Join("https://news.example/a", "A" * 16 + "-_z9"),
        ),
        (frame(type="block"), Block()),
        (
            frame(type="report", reason="threat"),
            Report(ReportReason.THREAT, "", ()),
        ),
        (
            frame(
                type="report",
                reason="other",
                note="  il insiste  ",
                transcript=[{"from": "partner", "text": "<b>x</b>"}, {"from": "me", "text": ""}],
            ),
            Report(
                ReportReason.OTHER,
                "il insiste",
                (
                    TranscriptLine(Speaker.REPORTED, "<b>x</b>"),
                    TranscriptLine(Speaker.REPORTER, ""),
                ),
            ),
        ),
    ],
)
def test_valid_frames(text: str, expected: ClientFrame) -> None:
    assert parse_frame(text, LIMITS) == expected


def test_join_normalizes_the_article() -> None:
    parsed = parse_frame(frame(type="join", article="HTTPS://News.Example:443/a?utm=x#top"), LIMITS)
    assert parsed == Join("https://news.example/a")


LONG = "x" * 1001

MINIMAL_FIELDS: dict[str, dict[str, Any]] = {
    "typing": {},
    "next": {},
    "leave": {},
    "ping": {},
    "message": {"id": "m1", "text": "salut"},
    "resume": {"token": "t", "last_seq": 2},
    "join": {"article": "https://news.example/a"},
    "block": {},
    "report": {"reason": "spam"},
}


@pytest.mark.parametrize("kind", sorted(MINIMAL_FIELDS))
def test_extra_fields_are_ignored(kind: str) -> None:
    base = MINIMAL_FIELDS[kind]
    plain = parse_frame(frame(type=kind, **base), LIMITS)
    noisy = parse_frame(frame(type=kind, **base, extra=[1, {"x": None}], version=99), LIMITS)
    assert noisy == plain


def test_limits_at_their_bounds_are_accepted() -> None:
    long_id = "i" * MAX_CLIENT_ID
    assert parse_frame(frame(type="message", id=long_id, text="x" * 1000), LIMITS) == (
        SendMessage(long_id, "x" * 1000)
    )
    token = "t" * MAX_TOKEN
    assert parse_frame(frame(type="resume", token=token, last_seq=0), LIMITS) == Resume(token, 0)


def test_text_limit_comes_from_the_limits() -> None:
    small = Limits(text_chars=5)
    assert parse_frame(frame(type="message", id="m", text="12345"), small) == SendMessage(
        "m", "12345"
    )
    assert refusal(frame(type="message", id="m", text="123456"), small).code is (
        ErrorCode.TEXT_TOO_LONG
    )


# --- the error table of docs/protocol.md -------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "{", "nope", "{'type': 'ping'}", '{"type": "ping",}'])
def test_invalid_json(text: str) -> None:
    error = refusal(text)
    assert error.code is ErrorCode.INVALID_JSON
    assert (error.field, error.ref) == (None, None)


@pytest.mark.parametrize("text", ["[]", '[{"type": "ping"}]', "1", "null", '"ping"', "true"])
def test_not_an_object_is_an_invalid_frame(text: str) -> None:
    assert refusal(text).code is ErrorCode.INVALID_FRAME


@pytest.mark.parametrize("text", ["{}", '{"type": 1}', '{"type": null}', '{"type": ["ping"]}'])
def test_missing_or_non_string_type_is_an_invalid_frame(text: str) -> None:
    error = refusal(text)
    assert error.code is ErrorCode.INVALID_FRAME
    assert error.field == "type"


@pytest.mark.parametrize("kind", ["hello", "", "PING", "Message", "matched", "error"])
def test_unknown_type(kind: str) -> None:
    assert refusal(frame(type=kind)).code is ErrorCode.UNKNOWN_TYPE


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "join"}, "article"),
        ({"type": "join", "article": None}, "article"),
        ({"type": "join", "article": ""}, "article"),
        ({"type": "join", "article": 42}, "article"),
        ({"type": "join", "article": "h" * (MAX_ARTICLE_FIELD + 1)}, "article"),
        ({"type": "message", "text": "salut"}, "id"),
        ({"type": "message", "id": "", "text": "salut"}, "id"),
        ({"type": "message", "id": 7, "text": "salut"}, "id"),
        ({"type": "message", "id": "i" * (MAX_CLIENT_ID + 1), "text": "salut"}, "id"),
        ({"type": "resume", "last_seq": 0}, "token"),
        ({"type": "resume", "token": "", "last_seq": 0}, "token"),
        ({"type": "resume", "token": "t" * (MAX_TOKEN + 1), "last_seq": 0}, "token"),
        ({"type": "resume", "token": "t"}, "last_seq"),
        ({"type": "resume", "token": "t", "last_seq": None}, "last_seq"),
        ({"type": "resume", "token": "t", "last_seq": -1}, "last_seq"),
        ({"type": "resume", "token": "t", "last_seq": 1.0}, "last_seq"),
        ({"type": "resume", "token": "t", "last_seq": "3"}, "last_seq"),
        ({"type": "resume", "token": "t", "last_seq": True}, "last_seq"),
        ({"type": "resume", "token": "t", "last_seq": False}, "last_seq"),
        ({"type": "join", "article": "https://n.example/a", "client": "short"}, "client"),
        ({"type": "join", "article": "https://n.example/a", "client": "c" * 65}, "client"),
        ({"type": "join", "article": "https://n.example/a", "client": "é" * 20}, "client"),
        ({"type": "join", "article": "https://n.example/a", "client": 1234567890123456}, "client"),
        ({"type": "join", "article": "https://n.example/a", "client": ["c" * 20]}, "client"),
        ({"type": "report"}, "reason"),
        ({"type": "report", "reason": "INSULT"}, "reason"),
        ({"type": "report", "reason": {"a": 1}}, "reason"),
        ({"type": "report", "reason": ["spam"]}, "reason"),
        ({"type": "report", "reason": "spam", "note": None}, "note"),
        ({"type": "report", "reason": "spam", "note": "n" * 501}, "note"),
        ({"type": "report", "reason": "spam", "transcript": None}, "transcript"),
        ({"type": "report", "reason": "spam", "transcript": {"from": "me"}}, "transcript"),
        ({"type": "report", "reason": "spam", "transcript": [{"from": "me"}]}, "transcript"),
        ({"type": "report", "reason": "spam", "transcript": [{"text": "x"}]}, "transcript"),
        (
            {
                "type": "report",
                "reason": "spam",
                "transcript": [{"from": "me", "text": "x" * 1001}],
            },
            "transcript",
        ),
    ],
)
def test_invalid_field_names_the_field(fields: dict[str, Any], field: str) -> None:
    error = refusal(frame(**fields))
    assert error.code is ErrorCode.INVALID_FIELD
    assert error.field == field
    assert error.ref is None


@pytest.mark.parametrize("text", [None, 12, ["salut"], {"t": "salut"}])
def test_message_with_a_non_string_text_refers_to_its_id(text: object) -> None:
    fields: dict[str, Any] = {"type": "message", "id": "m9"}
    if text is not None:
        fields["text"] = text
    error = refusal(frame(**fields))
    assert (error.code, error.field, error.ref) == (ErrorCode.INVALID_FIELD, "text", "m9")


@pytest.mark.parametrize("text", ["", " ", "\n\t  ", "\u3000"])
def test_empty_text(text: str) -> None:
    error = refusal(frame(type="message", id="m2", text=text))
    assert (error.code, error.ref) == (ErrorCode.EMPTY_TEXT, "m2")


def test_text_too_long() -> None:
    error = refusal(frame(type="message", id="m3", text="x" * 1001))
    assert (error.code, error.ref) == (ErrorCode.TEXT_TOO_LONG, "m3")


@pytest.mark.parametrize(
    "article",
    [
        "javascript:alert(1)",
        "ftp://news.example/a",
        "/relative/path",
        "https://",
        "https://user:pw@news.example/a",
        "https://news.example/a b",
        "https://news.example/" + "a" * 2048,
    ],
)
def test_invalid_article(article: str) -> None:
    error = refusal(frame(type="join", article=article))
    assert (error.code, error.field) == (ErrorCode.INVALID_ARTICLE, "article")


# --- frame size: bytes, not characters ---------------------------------------------


def test_multibyte_frame_under_the_byte_limit_is_accepted() -> None:
    text = frame(type="message", id="m", text="é" * 5000)  # 10,000 bytes of text
    assert len(text.encode()) < LIMITS.frame_bytes < len(text) * 4
    parsed = parse_frame(text, Limits(text_chars=5000))
    assert parsed == SendMessage("m", "é" * 5000)


def test_multibyte_frame_over_the_byte_limit_is_refused() -> None:
    text = frame(type="message", id="m", text="€" * 9000)  # 27,000 bytes, 9,000 characters
    assert len(text) < LIMITS.frame_bytes < len(text.encode())
    assert refusal(text, Limits(text_chars=10_000)).code is ErrorCode.FRAME_TOO_LARGE


def test_frame_size_is_checked_before_json() -> None:
    assert refusal("x" * (LIMITS.frame_bytes + 1)).code is ErrorCode.FRAME_TOO_LARGE


def test_frame_size_boundary_in_bytes() -> None:
    emoji = "\N{PARROT}"  # 4 bytes in UTF-8
    exactly = emoji * (LIMITS.frame_bytes // 4)
    check_frame_size(exactly, LIMITS)  # 16,384 bytes: fine
    with pytest.raises(ClientError) as caught:
        check_frame_size(exactly + "a", LIMITS)
    assert caught.value.code is ErrorCode.FRAME_TOO_LARGE


def test_lone_surrogates_are_refused_like_any_bad_frame() -> None:
    with pytest.raises(ClientError):
        parse_frame('"' + "\ud800" * 5000 + '"', LIMITS)


# --- totality: any text is a frame or a ClientError --------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["join", "message", "typing", "next", "leave", "resume", "ping"])},
    optional={
        "article": json_values | st.just("https://news.example/a"),
        "id": json_values,
        "text": json_values,
        "token": json_values,
        "last_seq": json_values,
    },
)


def parses_or_refuses(text: str) -> None:
    outcome: ClientFrame | ClientError
    try:
        outcome = parse_frame(text, LIMITS)
    except ClientError as error:
        outcome = error
    if isinstance(outcome, ClientError):
        assert isinstance(outcome.code, ErrorCode)
    else:
        assert isinstance(outcome, Join | SendMessage | Typing | Next | Leave | Resume | Ping)


@settings(max_examples=200)
@given(st.text())
def test_any_text_parses_or_is_refused(text: str) -> None:
    parses_or_refuses(text)


@settings(max_examples=200)
@given(json_values | frame_like)
def test_any_json_value_parses_or_is_refused(value: object) -> None:
    parses_or_refuses(json.dumps(value))
    parses_or_refuses(json.dumps(value, ensure_ascii=False))


# --- server events -------------------------------------------------------------------


def test_every_error_code_has_a_french_and_an_english_message() -> None:
    assert set(MESSAGES) == set(ErrorCode)
    for code in ErrorCode:
        french, english = MESSAGES[code]
        assert french.strip() and english.strip()
        assert french != english
        assert human_message(code, "fr") == french
        assert human_message(code, "en") == english


def test_unknown_language_falls_back_to_french() -> None:
    assert human_message(ErrorCode.EMPTY_TEXT, "de") == MESSAGES[ErrorCode.EMPTY_TEXT][0]


def test_error_event_in_french() -> None:
    event = error_event(ClientError(ErrorCode.NOT_IN_CONVERSATION), "fr")
    assert event == {
        "type": "error",
        "code": "not_in_conversation",
        "message": "Tu n'es pas dans une conversation.",
    }


def test_error_event_in_english_with_field() -> None:
    event = error_event(ClientError(ErrorCode.INVALID_FIELD, field="last_seq"), "en")
    assert event == {
        "type": "error",
        "code": "invalid_field",
        "message": "Missing field, or field of the wrong type.",
        "field": "last_seq",
    }


def test_error_event_with_ref_and_retry_after() -> None:
    error = ClientError(ErrorCode.RATE_LIMITED, ref="m7", retry_after=0.123456)
    assert error_event(error, "en") == {
        "type": "error",
        "code": "rate_limited",
        "message": "Slow down! Try again in a moment.",
        "id": "m7",
        "retry_after": 0.123,
    }


def test_client_error_str_is_its_code() -> None:
    assert str(ClientError(ErrorCode.BINARY_FRAME)) == "binary_frame"


def test_hello_event_documents_the_limits() -> None:
    event = hello_event(LIMITS, heartbeat=15, heartbeat_timeout=45, resume_window=60)
    assert event == {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "limits": {
            "text_chars": 1000,
            "frame_bytes": 16 * 1024,
            "messages_per_second": 5.0,
            "message_burst": 10,
            "joins_per_minute": 30,
        },
        "heartbeat": 15,
        "heartbeat_timeout": 45,
        "resume_window": 60,
    }


def test_encode_is_compact_utf8_json() -> None:
    event = {"type": "message", "text": "Ça va ? €"}
    text = encode(event)
    assert isinstance(text, str)
    assert orjson.loads(text) == event
    assert "Ça va ? €" in text
