"""normalize_article: one canonical URL per article, and nothing that is not an article URL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.core.articles import MAX_ARTICLE_URL, normalize_article, site_of
from causerie.core.errors import ClientError, ErrorCode


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a", "https://news.example/a"),
        ("HTTPS://NEWS.Example/a", "https://news.example/a"),
        ("http://news.example/A/B", "http://news.example/A/B"),  # the path keeps its case
        ("https://news.example", "https://news.example/"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("http://news.example:80/a", "http://news.example/a"),
        ("https://news.example:80/a", "https://news.example:80/a"),
        ("http://news.example:443/a", "http://news.example:443/a"),
        ("https://news.example:8443/a", "https://news.example:8443/a"),
        ("https://news.example/a?utm_source=x&id=3", "https://news.example/a"),
        ("https://news.example/a#comments", "https://news.example/a"),
        ("https://news.example/a?x=1#y", "https://news.example/a"),
        ("https://news.example?x=1", "https://news.example/"),
        ("https://[2001:DB8::1]/a", "https://[2001:db8::1]/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("https://192.0.2.7/a", "https://192.0.2.7/a"),
        ("https://actu.exemple.fr/économie/été", "https://actu.exemple.fr/économie/été"),
    ],
)
def test_normalize(url: str, expected: str) -> None:
    assert normalize_article(url) == expected


def test_tracking_parameters_do_not_split_a_conversation() -> None:
    variants = [
        "https://news.example/2026/ia",
        "https://News.Example/2026/ia?utm_campaign=newsletter",
        "HTTPS://news.example:443/2026/ia#top",
    ]
    assert len({normalize_article(url) for url in variants}) == 1


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://news.example/%0aalert(1)",
        "ftp://news.example/a",
        "file:///etc/passwd",
        "data:text/html,<p>",
        "news.example/a",
        "//news.example/a",
        "/a",
        "",
        "https://",
        "https:///a",
        "http://:80/a",
        "https://user@news.example/a",
        "https://user:secret@news.example/a",
        "https://:secret@news.example/a",
        " https://news.example/a",
        "https://news.example/a b",
        "https://news.example/a\n",
        "https://news.example/\ta",
        "https://news.example:99999/a",
        "https://news.example:port/a",
        "https://[::1/a",
        "https://news.example/" + "a" * (MAX_ARTICLE_URL - len("https://news.example/") + 1),
    ],
)
def test_rejected(url: str) -> None:
    with pytest.raises(ClientError) as caught:
        normalize_article(url)
    assert caught.value.code is ErrorCode.INVALID_ARTICLE
    assert caught.value.field == "article"


def test_longest_accepted_url() -> None:
    url = "https://news.example/" + "a" * (MAX_ARTICLE_URL - len("https://news.example/"))
    assert len(url) == MAX_ARTICLE_URL
    assert normalize_article(url) == url


# --- idempotence -------------------------------------------------------------------

hostnames = st.one_of(
    st.from_regex(
        r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?(\.[A-Za-z]{2,6}){0,2}", fullmatch=True
    ),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
)
path_segments = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="?#/"),
    max_size=8,
)
urls = st.builds(
    lambda scheme, host, port, segments, query, fragment: (
        f"{scheme}://{host}{port}{''.join('/' + s for s in segments)}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    hostnames,
    st.sampled_from(["", ":80", ":443", ":8080", ":1"]),
    st.lists(path_segments, max_size=4),
    st.sampled_from(["", "?", "?utm_source=x", "?a=1&b=%20"]),
    st.sampled_from(["", "#", "#comments"]),
)


@settings(max_examples=200)
@given(urls)
def test_normalize_is_idempotent(url: str) -> None:
    normalized = normalize_article(url)
    assert normalize_article(normalized) == normalized
    assert "?" not in normalized and "#" not in normalized


@settings(max_examples=200)
@given(st.sampled_from(["http://", "https://", "HTTP://"]), st.text(max_size=40))
def test_normalize_of_arbitrary_text_is_refused_or_idempotent(prefix: str, rest: str) -> None:
    try:
        normalized = normalize_article(prefix + rest)
    except ClientError as error:
        refused: ClientError | None = error
    else:
        refused = None
        assert normalize_article(normalized) == normalized
    assert refused is None or refused.code is ErrorCode.INVALID_ARTICLE


@pytest.mark.parametrize(
    ("article", "site"),
    [
        ("https://news.example/2026/ia", "https://news.example"),
        ("http://127.0.0.1:8000/articles/x", "http://127.0.0.1:8000"),
        ("https://[::1]:9000/", "https://[::1]:9000"),
        ("https://news.example/", "https://news.example"),
    ],
)
def test_the_site_of_an_article_is_its_origin(article: str, site: str) -> None:
    assert site_of(normalize_article(article)) == site
