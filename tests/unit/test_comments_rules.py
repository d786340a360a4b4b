"""core/comments.py: safe rendering, text limits, cursors, times, thread assembly."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from causerie.core import comments as rules
from causerie.core.comments import CommentRow, Cursor, Sort, Status
from causerie.core.errors import ClientError, ErrorCode

# --- render_html ------------------------------------------------------------------------

LINK_ATTRS = 'rel="nofollow ugc noopener" target="_blank"'
# Every tag render_html may produce; anything else that starts with "<" is a leak.
ALLOWED_TAG = re.compile(
    r"</?(?:p|em|strong)>|<br>|</a>"
    r'|<a href="(?i:https?)://[^"<>\s]*" rel="nofollow ugc noopener" target="_blank">'
)
# render_html raises ValueError when urlsplit refuses a link's host (brackets, or non-ASCII
# characters that NFKC-normalize to URL delimiters): test_link_with_a_bad_host_is_text below.
# The properties keep clear of that one known bug.
KNOWN_URL_BUG = re.compile(r"(?i)https?://[^\s<>\"'`]*[\[\]\u0080-\U0010ffff]")


def link(url: str) -> str:
    return f'<a href="{url}" {LINK_ATTRS}>{url}</a>'


def strip_tags(rendered: str) -> str:
    return ALLOWED_TAG.sub("", rendered)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bonjour", "<p>bonjour</p>"),
        ("  bonjour \n", "<p>bonjour</p>"),
        ("un\ndeux", "<p>un<br>deux</p>"),
        ("un\n\ndeux", "<p>un</p><p>deux</p>"),
        ("un\n \t\n\n\ndeux", "<p>un</p><p>deux</p>"),
        ("*très* clair", "<p><em>très</em> clair</p>"),
        ("**très** clair", "<p><strong>très</strong> clair</p>"),
        ("* pas * d'emphase", "<p>* pas * d&#x27;emphase</p>"),
        ("2*3*4", "<p>2*3*4</p>"),  # inside a word: arithmetic, not emphasis
        ("a * b", "<p>a * b</p>"),
        ("**", "<p>**</p>"),
        ("x < y & y > z", "<p>x &lt; y &amp; y &gt; z</p>"),
        ('"quoted"', "<p>&quot;quoted&quot;</p>"),
        ("&amp; &lt;", "<p>&amp;amp; &amp;lt;</p>"),
    ],
)
def test_render_basics(text: str, expected: str) -> None:
    assert rules.render_html(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("voir https://news.example/a", "<p>voir " + link("https://news.example/a") + "</p>"),
        ("http://news.example/a", "<p>" + link("http://news.example/a") + "</p>"),
        ("HTTPS://News.Example/A", "<p>" + link("HTTPS://News.Example/A") + "</p>"),
        (
            "voir https://news.example/a.",
            "<p>voir " + link("https://news.example/a") + ".</p>",
        ),
        (
            "(https://news.example/a), ok",
            "<p>(" + link("https://news.example/a") + "), ok</p>",
        ),
        (
            "https://news.example/a?!;:",
            "<p>" + link("https://news.example/a") + "?!;:</p>",
        ),
        ("«https://news.example/a»", "<p>«" + link("https://news.example/a") + "»</p>"),
        (
            "https://news.example/?a=1&b=2",
            "<p>" + link("https://news.example/?a=1&amp;b=2") + "</p>",
        ),
        (
            "*voir* https://news.example/a *ici*",
            "<p><em>voir</em> " + link("https://news.example/a") + " <em>ici</em></p>",
        ),
        ("https://", "<p>https://</p>"),  # no host: text
        ("http:///chemin", "<p>http:///chemin</p>"),
    ],
)
def test_render_links(text: str, expected: str) -> None:
    assert rules.render_html(text) == expected


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '"><svg onload=alert(1)>',
        "'><svg/onload=alert(1)>",
        "javascript:alert(1)",
        "[clic](javascript:alert(1))",
        '<a href="javascript:alert(1)">clic</a>',
        "JaVaScRiPt:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        'https://news.example/"onmouseover="alert(1)',
        "https://news.example/'onmouseover='alert(1)",
        "https://news.example/`onmouseover=alert(1)",
        "https://news.example/<script>alert(1)</script>",
        "**<b>gras</b>**",
        "*<i onclick=alert(1)>x</i>*",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "<!-- commentaire -->",
        "<![CDATA[x]]>",
        "<style>body{display:none}</style>",
        "<iframe src=https://evil.example/></iframe>",
    ],
)
def test_xss_payloads_stay_text(payload: str) -> None:
    rendered = rules.render_html(payload)
    assert "<" not in strip_tags(rendered), rendered
    hrefs = re.findall(r'href="([^"]*)"', rendered)
    assert all(re.match(r"(?i)https?://", href) for href in hrefs), rendered
    assert squeeze(html.unescape(strip_tags(rendered))) == squeeze(payload)


def test_only_http_links_become_anchors() -> None:
    rendered = rules.render_html(
        "ftp://files.example/a mailto:x@example.org javascript:alert(1) https://ok.example/"
    )
    assert rendered.count("<a ") == 1
    assert 'href="https://ok.example/"' in rendered


@pytest.mark.parametrize("text", ["voir http://[x", "http://[abc]/a", "http://a\uff1fb/c"])
def test_link_with_a_bad_host_is_text(text: str) -> None:
    rendered = rules.render_html(text)
    assert "<a " not in rendered
    assert html.unescape(strip_tags(rendered)) == text


@pytest.mark.parametrize("text", ["***les deux***", "*a **b* c**"])
def test_emphasis_nests_properly(text: str) -> None:
    assert_well_nested(rules.render_html(text))


def assert_well_nested(rendered: str) -> None:
    stack: list[str] = []
    for tag in re.findall(r"<(/?)(p|em|strong|a)\b", rendered):
        closing, name = tag
        if closing:
            assert stack and stack.pop() == name, rendered
        else:
            stack.append(name)
    assert not stack, rendered


MARKUPISH = st.lists(
    st.sampled_from(
        [
            "*",
            "**",
            "***",
            " ",
            "\n",
            "\n\n",
            "\t",
            "x",
            "mot",
            "é",
            "<",
            ">",
            "&",
            "&amp;",
            "&lt;",
            '"',
            "'",
            "`",
            ".",
            ")",
            "»",
            "http://",
            "https://",
            "HTTP://",
            "news.example",
            "/a",
            "?q=1&r=2",
            "javascript:",
            "<script>",
            "<a href=",
            "onerror=",
        ]
    ),
    max_size=30,
).map("".join)
TEXTS = st.one_of(st.text(max_size=200), MARKUPISH).filter(lambda t: not KNOWN_URL_BUG.search(t))


def squeeze(text: str) -> str:
    """Text without whitespace and emphasis markers, the parts rendering may move or eat."""
    return "".join(ch for ch in text if not ch.isspace() and ch != "*")


@given(TEXTS)
@example("*a **b* c**")
@example("<p>déjà</p><br><em>x</em>")
def test_render_never_makes_other_markup(text: str) -> None:
    rendered = rules.render_html(text)
    visible = strip_tags(rendered)
    assert "<" not in visible and ">" not in visible
    # every author character is still there, escaped, once; only markers and spacing differ
    assert squeeze(html.unescape(visible)) == squeeze(text)
    # each emphasis eats two markers, each strong four; none disappears otherwise
    assert text.count("*") == (
        html.unescape(visible).count("*")
        + 2 * rendered.count("<em>")
        + 4 * rendered.count("<strong>")
    )
    for opening, closing in (("<p>", "</p>"), ("<em>", "</em>"), ("<strong>", "</strong>")):
        assert rendered.count(opening) == rendered.count(closing)
    assert rendered.count("<a ") == rendered.count("</a>")
    assert (rendered == "") == (text.strip() == "")


@given(TEXTS)
def test_link_text_is_its_href(text: str) -> None:
    for href, shown in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', rules.render_html(text)):
        assert href == shown
        assert not html.unescape(href).endswith(tuple(".,;:!?)]}»"))


# --- clean_text, clean_name, clean_title ------------------------------------------------------


def outcome(call: Callable[..., object], *args: object) -> object:
    """What ``call`` returns, or the ClientError it raises."""
    try:
        return call(*args)
    except ClientError as error:
        return error


def code_of(call: Callable[..., object], *args: object) -> ErrorCode:
    with pytest.raises(ClientError) as caught:
        call(*args)
    return caught.value.code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bonjour", "bonjour"),
        ("  bonjour\n\n", "bonjour"),
        ("a\r\nb", "a\nb"),
        ("a\x00b", "ab"),
        ("\x00 x \x00", "x"),
        ("x" * rules.MAX_TEXT, "x" * rules.MAX_TEXT),
        ("  " + "x" * rules.MAX_TEXT + "\n", "x" * rules.MAX_TEXT),  # trimmed before counting
        ("é" * rules.MAX_TEXT, "é" * rules.MAX_TEXT),  # characters, not bytes
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert rules.clean_text(text) == expected


@pytest.mark.parametrize("text", ["", " ", "\n\t \r\n", "\x00", " \x00 "])
def test_clean_text_refuses_empty(text: str) -> None:
    assert code_of(rules.clean_text, text) is ErrorCode.EMPTY_TEXT


def test_clean_text_refuses_too_long() -> None:
    with pytest.raises(ClientError) as caught:
        rules.clean_text("x" * (rules.MAX_TEXT + 1))
    error = caught.value
    assert (error.code, error.field) == (ErrorCode.TEXT_TOO_LONG, "text")


@given(st.text(max_size=300))
def test_clean_text_is_idempotent(text: str) -> None:
    cleaned = outcome(rules.clean_text, text)
    if isinstance(cleaned, ClientError):
        assert cleaned.code is ErrorCode.EMPTY_TEXT
        return
    assert isinstance(cleaned, str)
    assert rules.clean_text(cleaned) == cleaned
    assert "\x00" not in cleaned and cleaned == cleaned.strip()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("\x00\x07\u200b", None),  # nothing printable left
        ("Loutre pensive", "Loutre pensive"),
        ("  Loutre \t\n pensive  ", "Loutre pensive"),
        ("Lou\x00tre", "Loutre"),
        ("x" * rules.MAX_NAME, "x" * rules.MAX_NAME),
        (" " + "x" * rules.MAX_NAME + " ", "x" * rules.MAX_NAME),
    ],
)
def test_clean_name(name: str | None, expected: str | None) -> None:
    assert rules.clean_name(name) == expected


def test_clean_name_refuses_too_long() -> None:
    with pytest.raises(ClientError) as caught:
        rules.clean_name("x" * (rules.MAX_NAME + 1))
    error = caught.value
    assert (error.code, error.field) == (ErrorCode.NAME_TOO_LONG, "name")


@given(st.text(max_size=60))
def test_clean_name_is_printable_and_bounded(name: str) -> None:
    cleaned = outcome(rules.clean_name, name)
    if isinstance(cleaned, ClientError):
        assert cleaned.code is ErrorCode.NAME_TOO_LONG
        return
    assert cleaned is None or isinstance(cleaned, str)
    if cleaned is not None:
        assert 1 <= len(cleaned) <= rules.MAX_NAME
        assert cleaned.isprintable() and cleaned == " ".join(cleaned.split())
        assert rules.clean_name(cleaned) == cleaned


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  Un   titre \n long ", "Un titre long"),
        ("t" * 600, "t" * rules.MAX_TITLE),
    ],
)
def test_clean_title(title: str | None, expected: str) -> None:
    assert rules.clean_title(title) == expected


# --- cursors ------------------------------------------------------------------------------------


@given(
    st.sampled_from(Sort),
    st.integers(min_value=0, max_value=2**31 - 1),
    st.integers(min_value=0, max_value=2**31 - 1),
)
def test_cursor_round_trip(sort: Sort, last_id: int, last_likes: int) -> None:
    cursor = Cursor(sort, last_id, last_likes)
    encoded = cursor.encode()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", encoded)  # safe in a query string as is
    assert Cursor.decode(encoded, sort) == cursor


def raw_cursor(data: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "!!!",
        "é",
        "x" * 201,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        raw_cursor({"sort": "newest", "id": 1}),
        raw_cursor(["newest", 1]),
        raw_cursor(["newest", 1, 0, 0]),
        raw_cursor(["oldest", 1, 0]),  # another sort
        raw_cursor(["NEWEST", 1, 0]),
        raw_cursor(["newest", -1, 0]),
        raw_cursor(["newest", 1, -1]),
        raw_cursor(["newest", 1.0, 0]),
        raw_cursor(["newest", "1", 0]),
        raw_cursor(["newest", True, 0]),
        raw_cursor(["newest", None, 0]),
        base64.urlsafe_b64encode(b'["newest", 18446744073709551616, 0]').decode(),
        base64.urlsafe_b64encode(b'["newest", 1e400, 0]').decode(),
    ],
)
def test_cursor_garbage_is_bad_cursor(value: str) -> None:
    with pytest.raises(ClientError) as caught:
        Cursor.decode(value, Sort.NEWEST)
    error = caught.value
    assert (error.code, error.field) == (ErrorCode.BAD_CURSOR, "cursor")


def test_cursor_of_another_sort_is_bad_cursor() -> None:
    for made, used in (
        (Sort.TOP, Sort.NEWEST),
        (Sort.NEWEST, Sort.OLDEST),
        (Sort.OLDEST, Sort.TOP),
    ):
        with pytest.raises(ClientError) as caught:
            Cursor.decode(Cursor(made, 5, 2).encode(), used)
        assert caught.value.code is ErrorCode.BAD_CURSOR


@pytest.mark.parametrize(
    "data", [["newest", 2**31, 0], ["top", 1, 2**31], ["newest", 2**63, 0], ["top", 2**64 - 1, 0]]
)
def test_cursor_beyond_the_id_range_is_bad_cursor(data: list[object]) -> None:
    sort = Sort(data[0])
    with pytest.raises(ClientError) as caught:
        Cursor.decode(raw_cursor(data), sort)
    assert caught.value.code is ErrorCode.BAD_CURSOR


def check_decode(value: str, sort: Sort) -> None:
    """A cursor of ``sort`` with non-negative keys, or bad_cursor: nothing else."""
    cursor = outcome(Cursor.decode, value, sort)
    if isinstance(cursor, ClientError):
        assert (cursor.code, cursor.field) == (ErrorCode.BAD_CURSOR, "cursor")
    else:
        assert isinstance(cursor, Cursor)
        assert cursor.sort is sort and cursor.last_id >= 0 and cursor.last_likes >= 0


@given(st.text(max_size=250), st.sampled_from(Sort))
@example("WyJuZXdlc3QiLDEsMF0", Sort.NEWEST)
@example("WyJuZXdlc3QiLDEsMF0=====", Sort.NEWEST)
def test_cursor_decode_fuzz(value: str, sort: Sort) -> None:
    check_decode(value, sort)


@given(st.binary(max_size=120), st.sampled_from(Sort))
def test_cursor_decode_fuzz_base64(raw: bytes, sort: Sort) -> None:
    check_decode(base64.urlsafe_b64encode(raw).decode(), sort)


@given(
    st.lists(
        st.one_of(st.sampled_from(["newest", "oldest", "top"]), st.integers(), st.none()),
        max_size=4,
    ),
    st.sampled_from(Sort),
)
def test_cursor_decode_fuzz_json(data: list[object], sort: Sort) -> None:
    check_decode(base64.urlsafe_b64encode(repr(data).replace("'", '"').encode()).decode(), sort)


# --- times and tokens ---------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MIN_US = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // MICROSECOND  # exact: floor division
MAX_US = (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC) - EPOCH) // MICROSECOND


@given(st.integers(min_value=MIN_US, max_value=MAX_US))
@example(0)
@example(-1)
@example(MIN_US)
@example(MAX_US)
@example(951_782_400_000_000)  # 2000-02-29
@example(1_795_753_200_000_000)
def test_iso_matches_datetime(us: int) -> None:
    # timedelta is exact; datetime.fromtimestamp(us / 1e6) would round far from 1970
    moment = EPOCH + timedelta(microseconds=us)
    expected = moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    assert rules.iso(us) == expected


def test_iso_example() -> None:
    assert rules.iso(1_795_753_200_123_456) == "2026-11-27T04:20:00Z"


@given(st.text())
def test_hash_token_is_stable_hex(token: str) -> None:
    digest = rules.hash_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert rules.hash_token(token) == digest


def test_hash_token_known_value() -> None:
    assert rules.hash_token("") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert rules.hash_token("a") != rules.hash_token("b")
    assert rules.hash_token("\ud800") == rules.hash_token("\ud800")  # lone surrogate: no crash


@pytest.mark.parametrize(
    ("elapsed_us", "allowed"),
    [(0, True), (899_999_999, True), (900_000_000, True), (900_000_001, False), (-5, True)],
)
def test_can_edit_boundaries(elapsed_us: int, allowed: bool) -> None:
    created = 1_795_753_200_000_000
    assert rules.can_edit(created, created + elapsed_us, 900.0) is allowed


def test_can_edit_zero_window_and_fractions() -> None:
    assert rules.can_edit(10, 10, 0)
    assert not rules.can_edit(10, 11, 0)
    assert rules.can_edit(0, 1_500_000, 1.5)
    assert not rules.can_edit(0, 1_500_001, 1.5)


# --- threads ------------------------------------------------------------------------------------


def row(
    comment_id: int,
    parent: int | None = None,
    root: int | None = None,
    status: Status = Status.PUBLISHED,
    likes: int = 0,
) -> CommentRow:
    return CommentRow(
        id=comment_id,
        parent_id=parent,
        root_id=root if root is not None or parent is None else parent,
        name=f"n{comment_id}",
        text=f"t{comment_id}",
        html=f"<p>t{comment_id}</p>",
        status=status,
        likes=likes,
        created_us=comment_id * 1_000_000,
        edited_us=None,
    )


def ids(rows: list[CommentRow]) -> list[int]:
    return [r.id for r in rows]


def test_visible_replies_published_only_oldest_first() -> None:
    replies = [
        row(5, 1, 1),
        row(3, 1, 1),
        row(4, 1, 1, Status.HELD),
        row(6, 1, 1, Status.DELETED),
    ]
    assert ids(rules.visible_replies(replies)) == [3, 5]


def test_visible_replies_keep_deleted_ancestors_of_shown_ones() -> None:
    replies = [
        row(2, 1, 1, Status.DELETED),
        row(3, 2, 1, Status.DELETED),
        row(4, 3, 1),  # keeps 3, which keeps 2
        row(5, 1, 1, Status.DELETED),
        row(6, 5, 1, Status.HELD),  # held: keeps nothing
        row(7, 1, 1, Status.DELETED),
        row(8, 7, 1, Status.DELETED),  # deleted, answered by nobody: keeps nothing
    ]
    assert ids(rules.visible_replies(replies)) == [2, 3, 4]


def test_visible_replies_empty() -> None:
    assert rules.visible_replies([]) == []


def test_assemble() -> None:
    top = [row(10), row(9, status=Status.DELETED), row(8, status=Status.DELETED), row(7)]
    replies = [row(11, 9, 9), row(12, 8, 8, Status.DELETED), row(13, 7, 7), row(14, 13, 7)]
    thread = rules.assemble(top, replies)
    assert ids(thread) == [10, 9, 7]  # 8 is deleted and nothing shown answers it
    assert [ids(c.replies) for c in thread] == [[], [11], [13, 14]]


def test_assemble_keeps_page_order_and_ignores_orphans() -> None:
    top = [row(1), row(3), row(2)]
    thread = rules.assemble(top, [row(4, 3, 3), row(5, 99, 99)])
    assert ids(thread) == [1, 3, 2]
    assert ids(thread[1].replies) == [4]


def test_comment_json_of_a_deleted_comment_hides_its_content() -> None:
    deleted = row(2, status=Status.DELETED, likes=3)
    deleted.edited_us = 3_000_000
    deleted.replies = [row(3, 2, 2)]
    assert rules.comment_json(deleted) == {
        "id": 2,
        "parent": None,
        "name": "",
        "text": "",
        "html": "",
        "created_at": "1970-01-01T00:00:02Z",
        "edited_at": "1970-01-01T00:00:03Z",
        "likes": 3,
        "deleted": True,
        "replies": [
            {
                "id": 3,
                "parent": 2,
                "name": "n3",
                "text": "t3",
                "html": "<p>t3</p>",
                "created_at": "1970-01-01T00:00:03Z",
                "edited_at": None,
                "likes": 0,
                "deleted": False,
                "replies": [],
            }
        ],
    }


@st.composite
def reply_forests(draw: st.DrawFn) -> list[CommentRow]:
    """Replies under top-level comment 1; each answers 1 or an earlier reply."""
    count = draw(st.integers(min_value=0, max_value=15))
    replies: list[CommentRow] = []
    for comment_id in range(2, count + 2):
        # nobody can answer a held comment (the store refuses it)
        parent = draw(st.sampled_from([1, *(r.id for r in replies if r.status is not Status.HELD)]))
        status = draw(st.sampled_from([Status.PUBLISHED, Status.DELETED, Status.HELD]))
        replies.append(row(comment_id, parent, 1, status))
    return draw(st.permutations(replies))


@given(reply_forests())
def test_visible_replies_rule(replies: list[CommentRow]) -> None:
    children: dict[int, list[CommentRow]] = {}
    for r in replies:
        children.setdefault(r.parent_id or 0, []).append(r)

    def shown(reply: CommentRow) -> bool:
        """Published, or deleted and answered by a shown reply."""
        if reply.status is Status.PUBLISHED:
            return True
        return reply.status is Status.DELETED and any(
            shown(child) for child in children.get(reply.id, [])
        )

    expected = sorted(r.id for r in replies if shown(r))
    result = rules.visible_replies(replies)
    assert ids(result) == expected
    for reply in result:  # the conversation keeps its shape: every shown parent is shown
        assert reply.parent_id == 1 or reply.parent_id in set(expected)
