"""Article identity: the normalized canonical URL readers are paired on."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit, urlunsplit

from causerie.core.errors import ClientError, ErrorCode

MAX_ARTICLE_URL: Final = 2048
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def normalize_article(url: str) -> str:
    """Return the canonical form of an article URL, or raise ``invalid_article``.

    Scheme and host are lower-cased, the default port dropped, the query
    string and the fragment removed (tracking parameters must not split a
    conversation), and an empty path becomes ``/``.
    """
    if len(url) > MAX_ARTICLE_URL or any(ch.isspace() for ch in url):
        raise ClientError(ErrorCode.INVALID_ARTICLE, field="article")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ClientError(ErrorCode.INVALID_ARTICLE, field="article") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        raise ClientError(ErrorCode.INVALID_ARTICLE, field="article")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def site_of(article: str) -> str:
    """The site of a normalized article URL: its origin (``https://news.example``), the
    key of per-site settings and ``articles.site``."""
    scheme, rest = article.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"
