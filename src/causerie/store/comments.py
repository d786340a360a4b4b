"""CommentStore: every query the comments API makes, on SQLite or PostgreSQL.

Driver and SQLAlchemy exceptions never leave this module: they become
:class:`StoreError`. Pages of top-level comments are cut with keyset
conditions on indexed columns (never OFFSET), replies of a page come in one
query, and the total in one count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from causerie.core.comments import CommentRow, Cursor, Sort, Status, assemble
from causerie.store.database import Database, StoreError
from causerie.store.schema import articles, comment_likes, comments

_ROW_COLUMNS = (
    comments.c.id,
    comments.c.parent_id,
    comments.c.root_id,
    comments.c.name,
    comments.c.text,
    comments.c.html,
    comments.c.status,
    comments.c.likes,
    comments.c.created_us,
    comments.c.edited_us,
)
_SHOWN = (Status.PUBLISHED.value, Status.DELETED.value)


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Owned:
    """A comment with what the API needs to authorize a change to it."""

    row: CommentRow
    article_url: str
    author_hash: str


def _row(record: Any) -> CommentRow:
    return CommentRow(
        id=record.id,
        parent_id=record.parent_id,
        root_id=record.root_id,
        name=record.name,
        text=record.text,
        html=record.html,
        status=Status(record.status),
        likes=record.likes,
        created_us=record.created_us,
        edited_us=record.edited_us,
    )


class CommentStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- articles ---------------------------------------------------------------------

    async def article(self, url: str) -> Article | None:
        async with self.database.transaction() as db:
            record = (
                await db.execute(
                    select(articles.c.id, articles.c.url, articles.c.title).where(
                        articles.c.url == url
                    )
                )
            ).first()
        return Article(record.id, record.url, record.title) if record else None

    async def ensure_article(
        self, url: str, site: str, title: str, now_us: int, *, update_title: bool = False
    ) -> tuple[Article, bool]:
        """The article at ``url``, created if new; returns (article, created)."""
        async with self.database.transaction() as db:
            record = (
                await db.execute(
                    select(articles.c.id, articles.c.title).where(articles.c.url == url)
                )
            ).first()
            if record is not None:
                if update_title and title and title != record.title:
                    await db.execute(
                        update(articles).where(articles.c.id == record.id).values(title=title)
                    )
                    return Article(record.id, url, title), False
                return Article(record.id, url, record.title), False
        try:
            async with self.database.transaction() as db:
                result = await db.execute(
                    articles.insert().values(url=url, site=site, title=title, created_us=now_us)
                )
                article_id: int = result.inserted_primary_key[0]  # type: ignore[index]
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # created meanwhile by someone else
                existing = await self.article(url)
                if existing is not None:
                    return existing, False
            raise
        return Article(int(article_id), url, title), True

    # --- reading ------------------------------------------------------------------------

    async def thread(
        self, article_id: int, sort: Sort, cursor: Cursor | None, limit: int
    ) -> tuple[list[CommentRow], Cursor | None, int]:
        """One page of the thread (top-level comments with their replies), the next cursor,
        and the number of published comments of the article."""
        # A deleted top-level comment is shown (as a placeholder) only while a published
        # reply hangs under it (core.comments.assemble): filtered here, so that a page
        # holds ``limit`` shown comments whenever there are that many.
        reply = comments.alias("reply")
        has_published_reply = (
            select(reply.c.id)
            .where(reply.c.root_id == comments.c.id, reply.c.status == Status.PUBLISHED.value)
            .exists()
        )
        query = select(*_ROW_COLUMNS).where(
            comments.c.article_id == article_id,
            comments.c.root_id.is_(None),
            or_(
                comments.c.status == Status.PUBLISHED.value,
                and_(comments.c.status == Status.DELETED.value, has_published_reply),
            ),
        )
        if sort is Sort.OLDEST:
            if cursor:
                query = query.where(comments.c.id > cursor.last_id)
            query = query.order_by(comments.c.id.asc())
        elif sort is Sort.NEWEST:
            if cursor:
                query = query.where(comments.c.id < cursor.last_id)
            query = query.order_by(comments.c.id.desc())
        else:
            if cursor:
                query = query.where(
                    or_(
                        comments.c.likes < cursor.last_likes,
                        and_(
                            comments.c.likes == cursor.last_likes,
                            comments.c.id < cursor.last_id,
                        ),
                    )
                )
            query = query.order_by(comments.c.likes.desc(), comments.c.id.desc())
        async with self.database.transaction() as db:
            top = [_row(r) for r in (await db.execute(query.limit(limit + 1))).all()]
            more = len(top) > limit
            top = top[:limit]
            replies: Sequence[CommentRow] = []
            if top:
                replies = [
                    _row(r)
                    for r in (
                        await db.execute(
                            select(*_ROW_COLUMNS)
                            .where(
                                comments.c.root_id.in_([c.id for c in top]),
                                comments.c.status.in_(_SHOWN),
                            )
                            .order_by(comments.c.id.asc())
                        )
                    ).all()
                ]
            total = (
                await db.execute(
                    select(func.count()).where(
                        comments.c.article_id == article_id,
                        comments.c.status == Status.PUBLISHED.value,
                    )
                )
            ).scalar_one()
        next_cursor = Cursor(sort, top[-1].id, top[-1].likes) if more else None
        return assemble(top, replies), next_cursor, int(total)

    async def counts(self, urls: Sequence[str]) -> dict[str, int]:
        """Published comments per article URL; URLs without an article are absent."""
        if not urls:
            return {}
        async with self.database.transaction() as db:
            records = (
                await db.execute(
                    select(articles.c.url, func.count(comments.c.id))
                    .select_from(articles)
                    .join(
                        comments,
                        and_(
                            comments.c.article_id == articles.c.id,
                            comments.c.status == Status.PUBLISHED.value,
                        ),
                    )
                    .where(articles.c.url.in_(list(set(urls))))
                    .group_by(articles.c.url)
                )
            ).all()
        return {record[0]: int(record[1]) for record in records}

    async def owned(self, comment_id: int) -> Owned | None:
        async with self.database.transaction() as db:
            record = (
                await db.execute(
                    select(*_ROW_COLUMNS, comments.c.author_hash, articles.c.url.label("url"))
                    .join(articles, articles.c.id == comments.c.article_id)
                    .where(comments.c.id == comment_id)
                )
            ).first()
        if record is None:
            return None
        return Owned(_row(record), record.url, record.author_hash)

    # --- writing ------------------------------------------------------------------------

    async def post(
        self,
        article_id: int,
        parent_id: int | None,
        *,
        name: str,
        text: str,
        html: str,
        status: Status,
        author_hash: str,
        now_us: int,
        ip_hash: str | None = None,
    ) -> CommentRow | None:
        """Insert a comment; None if ``parent_id`` is not a published comment of this article.
        ``ip_hash``: the keyed day hash of the author's address, kept only for bans."""
        async with self.database.transaction() as db:
            root_id = None
            if parent_id is not None:
                parent = (
                    await db.execute(
                        select(comments.c.id, comments.c.root_id).where(
                            comments.c.id == parent_id,
                            comments.c.article_id == article_id,
                            comments.c.status == Status.PUBLISHED.value,
                        )
                    )
                ).first()
                if parent is None:
                    return None
                root_id = parent.root_id if parent.root_id is not None else parent.id
            result = await db.execute(
                comments.insert().values(
                    article_id=article_id,
                    parent_id=parent_id,
                    root_id=root_id,
                    name=name,
                    text=text,
                    html=html,
                    status=status.value,
                    author_hash=author_hash,
                    ip_hash=ip_hash,
                    likes=0,
                    created_us=now_us,
                )
            )
            comment_id: int = result.inserted_primary_key[0]  # type: ignore[index]
        return CommentRow(
            int(comment_id), parent_id, root_id, name, text, html, status, 0, now_us, None
        )

    async def edit(
        self, comment_id: int, *, name: str | None, text: str, html: str, now_us: int
    ) -> None:
        values: dict[str, Any] = {"text": text, "html": html, "edited_us": now_us}
        if name is not None:
            values["name"] = name
        async with self.database.transaction() as db:
            await db.execute(update(comments).where(comments.c.id == comment_id).values(**values))

    async def delete(self, comment_id: int, now_us: int) -> None:
        """Mark deleted and forget the content (the row stays if replies answer it)."""
        async with self.database.transaction() as db:
            await db.execute(
                update(comments)
                .where(comments.c.id == comment_id)
                .values(status=Status.DELETED.value, name="", text="", html="", edited_us=now_us)
            )

    async def like(self, comment_id: int, reader: str, liked: bool) -> tuple[int, str] | None:
        """Set ``reader``'s like on a comment (idempotent).

        Returns the new count and the article's URL, or None if there is no such
        published comment.
        """
        try:
            async with self.database.transaction() as db:
                exists = (
                    await db.execute(
                        select(articles.c.url)
                        .join(comments, comments.c.article_id == articles.c.id)
                        .where(
                            comments.c.id == comment_id,
                            comments.c.status == Status.PUBLISHED.value,
                        )
                    )
                ).first()
                if exists is None:
                    return None
                already = (
                    await db.execute(
                        select(comment_likes.c.comment_id).where(
                            comment_likes.c.comment_id == comment_id,
                            comment_likes.c.reader == reader,
                        )
                    )
                ).first()
                if liked and already is None:
                    await db.execute(
                        comment_likes.insert().values(comment_id=comment_id, reader=reader)
                    )
                    await db.execute(
                        update(comments)
                        .where(comments.c.id == comment_id)
                        .values(likes=comments.c.likes + 1)
                    )
                elif not liked and already is not None:
                    await db.execute(
                        comment_likes.delete().where(
                            comment_likes.c.comment_id == comment_id,
                            comment_likes.c.reader == reader,
                        )
                    )
                    await db.execute(
                        update(comments)
                        .where(comments.c.id == comment_id)
                        .values(likes=comments.c.likes - 1)
                    )
                count = (
                    await db.execute(select(comments.c.likes).where(comments.c.id == comment_id))
                ).scalar_one()
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # the same like, concurrently
                return await self.like(comment_id, reader, liked)
            raise
        return int(count), str(exists.url)
