"""Tables. Times are integer microseconds since the epoch (UTC) on every backend."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("site", String(300), nullable=False),
    Column("title", String(500), nullable=False, server_default=""),
    Column("created_us", BigInteger, nullable=False),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Integer, ForeignKey("comments.id"), nullable=True),
    Column("root_id", Integer, nullable=True),  # top-level ancestor; NULL on top-level comments
    Column("name", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),  # rendered once, at write time
    Column("status", String(16), nullable=False),
    Column("author_hash", String(64), nullable=False),
    Column("likes", Integer, nullable=False, server_default="0"),
    Column("created_us", BigInteger, nullable=False),
    Column("edited_us", BigInteger, nullable=True),
)
# Keyset pagination of top-level comments (root_id IS NULL) by id, and by likes then id;
# replies of a page's roots by root_id.
Index("ix_comments_thread", comments.c.article_id, comments.c.root_id, comments.c.id)
Index("ix_comments_top", comments.c.article_id, comments.c.root_id, comments.c.likes, comments.c.id)
Index("ix_comments_root", comments.c.root_id)

comment_likes = Table(
    "comment_likes",
    metadata,
    Column(
        "comment_id",
        Integer,
        ForeignKey("comments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("reader", String(64), primary_key=True),
)
