"""Tables. Times are integer microseconds since the epoch (UTC) on every backend."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    # keyed hash of the author's address for that UTC day, kept only for bans
    Column("ip_hash", String(64), nullable=True),
)
# Keyset pagination of top-level comments (root_id IS NULL) by id, and by likes then id;
# replies of a page's roots by root_id.
Index("ix_comments_thread", comments.c.article_id, comments.c.root_id, comments.c.id)
Index("ix_comments_top", comments.c.article_id, comments.c.root_id, comments.c.likes, comments.c.id)
Index("ix_comments_root", comments.c.root_id)
Index("ix_comments_status_id", comments.c.status, comments.c.id)  # the queue of held comments

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

# --- trust and safety ------------------------------------------------------------------

moderators = Table(
    "moderators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    # casefolded name (longer than the name: casefolding can expand, "ß" → "ss")
    Column("name_key", String(256), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),  # argon2, hashed by the caller
    Column("created_us", BigInteger, nullable=False),
)

admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie token
    Column(
        "moderator_id", Integer, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=False
    ),
    Column("csrf", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)
Index("ix_admin_sessions_moderator_id", admin_sessions.c.moderator_id)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_us", BigInteger, nullable=False),
    Column("site", String(300), nullable=False),
    Column("article", String(2048), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("transcript", Text, nullable=False),  # JSON list of {"speaker", "text"}
    Column("reported_client", String(64), nullable=True),
    Column("reported_ip", String(64), nullable=True),
    Column("reporter_client", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("handled_by", String(64), nullable=True),  # the moderator's name
    Column("handled_us", BigInteger, nullable=True),
)
# the queue: open reports, oldest first
Index("ix_reports_status_id", reports.c.status, reports.c.id)

bans = Table(
    "bans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("value", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("created_by", String(64), nullable=True),  # the moderator's name; NULL: automatic
    Column("revoked_us", BigInteger, nullable=True),
)
Index("ix_bans_kind_value", bans.c.kind, bans.c.value)

blocks = Table(
    "blocks",
    metadata,
    Column("blocker", String(64), primary_key=True),
    Column("blocked", String(64), primary_key=True),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)
# the other direction of avoided_by (the primary key serves the blocker's side)
Index("ix_blocks_blocked", blocks.c.blocked)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_us", BigInteger, nullable=False),
    Column("moderator", String(64), nullable=True),  # the name at the time
    Column("action", String(32), nullable=False),
    Column("target", String(100), nullable=False),
    Column("detail", Text, nullable=False),
)

site_settings = Table(
    "site_settings",
    metadata,
    Column("site", String(300), primary_key=True),
    Column("premoderation", Boolean, nullable=False),
    Column("actions", Text, nullable=False),  # actions.txt lines
    Column("updated_us", BigInteger, nullable=False),
    Column("updated_by", String(64), nullable=True),
)
