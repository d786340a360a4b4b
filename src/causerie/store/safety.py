"""SafetyStore: bans, blocks, reports, moderators and their sessions, the audit log,
per-site moderation settings and the queue of held comments.

Same rules as ``store.comments``: driver and SQLAlchemy exceptions never leave
this module (they become :class:`StoreError`); times are integer microseconds.
Secrets never reach this module in clear: sessions are looked up by the
SHA-256 of their cookie token, readers by keyed hashes, moderators' passwords
arrive already hashed (argon2, by the caller).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, case, delete, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from causerie.core.comments import Status
from causerie.core.safety import (
    Ban,
    BanKind,
    NewReport,
    Report,
    ReportReason,
    ReportStatus,
    Speaker,
    TranscriptLine,
)
from causerie.store.database import Database, StoreError, is_sqlite
from causerie.store.schema import (
    admin_sessions,
    articles,
    audit_log,
    bans,
    blocks,
    comments,
    moderators,
    reports,
    site_settings,
)

MAX_AVOIDED = 1000


class ModeratorExists(Exception):
    """``add_moderator`` with a name already taken."""


@dataclass(frozen=True, slots=True)
class Moderator:
    id: int
    name: str
    password_hash: str
    created_us: int


@dataclass(frozen=True, slots=True)
class AdminSession:
    moderator: Moderator
    csrf: str  # the session's CSRF token (random, compared in constant time by the caller)
    expires_us: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    created_us: int
    moderator: str | None  # name at the time (kept if the moderator is removed)
    action: str  # "comment.approve", "comment.reject", "comment.delete", "report.dismiss",
    # "ban.add", "ban.revoke", "site.settings", "login", "logout", "login.failed"
    target: str  # "comment:12", "report:3", "ban:5", "site:journal.example", ""
    detail: str


@dataclass(frozen=True, slots=True)
class SiteSettings:
    site: str  # the articles' host, as in articles.site
    premoderation: bool
    actions: str  # lines of "chat|comment CATEGORY allow|mask|hold|refuse" (actions.txt format)
    updated_us: int
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class HeldComment:
    id: int
    article_url: str
    site: str
    name: str
    text: str
    status: Status
    author_hash: str
    ip_hash: str | None
    created_us: int


_BAN_COLUMNS = (
    bans.c.id,
    bans.c.kind,
    bans.c.value,
    bans.c.reason,
    bans.c.created_us,
    bans.c.expires_us,
    bans.c.created_by,
    bans.c.revoked_us,
)
_MODERATOR_COLUMNS = (
    moderators.c.id,
    moderators.c.name,
    moderators.c.password_hash,
    moderators.c.created_us,
)
_COMMENT_COLUMNS = (
    comments.c.id,
    articles.c.url.label("article_url"),
    articles.c.site,
    comments.c.name,
    comments.c.text,
    comments.c.status,
    comments.c.author_hash,
    comments.c.ip_hash,
    comments.c.created_us,
)
_SETTINGS_COLUMNS = (
    site_settings.c.site,
    site_settings.c.premoderation,
    site_settings.c.actions,
    site_settings.c.updated_us,
    site_settings.c.updated_by,
)


def _ban(record: Any) -> Ban:
    return Ban(
        id=record.id,
        kind=BanKind(record.kind),
        value=record.value,
        reason=record.reason,
        created_us=record.created_us,
        expires_us=record.expires_us,
        created_by=record.created_by,
        revoked_us=record.revoked_us,
    )


def _moderator(record: Any) -> Moderator:
    return Moderator(record.id, record.name, record.password_hash, record.created_us)


def _held(record: Any) -> HeldComment:
    return HeldComment(
        id=record.id,
        article_url=record.article_url,
        site=record.site,
        name=record.name,
        text=record.text,
        status=Status(record.status),
        author_hash=record.author_hash,
        ip_hash=record.ip_hash,
        created_us=record.created_us,
    )


def _settings(record: Any) -> SiteSettings:
    return SiteSettings(
        site=record.site,
        premoderation=bool(record.premoderation),
        actions=record.actions,
        updated_us=record.updated_us,
        updated_by=record.updated_by,
    )


def _transcript_json(lines: Iterable[TranscriptLine]) -> str:
    """JSON with ASCII escapes: any string, lone surrogates included, comes back unchanged."""
    return json.dumps([{"speaker": line.speaker.value, "text": line.text} for line in lines])


def _report(record: Any) -> Report:
    return Report(
        id=record.id,
        created_us=record.created_us,
        site=record.site,
        article=record.article,
        reason=ReportReason(record.reason),
        note=record.note,
        transcript=tuple(
            TranscriptLine(Speaker(line["speaker"]), line["text"])
            for line in json.loads(record.transcript)
        ),
        reported_client=record.reported_client,
        reported_ip=record.reported_ip,
        reporter_client=record.reporter_client,
        status=ReportStatus(record.status),
        handled_by=record.handled_by,
        handled_us=record.handled_us,
    )


class SafetyStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def _upsert(
        self,
        table: Table,
        values: Mapping[str, Any],
        keys: list[str],
        changes: Callable[[Any], Mapping[str, Any]],
    ) -> Insert:
        """INSERT … ON CONFLICT (keys) DO UPDATE SET changes(excluded), in this backend's
        dialect; ``excluded`` holds the values the insert proposed."""
        statement: Any = (
            sqlite_insert(table) if is_sqlite(self.database.url) else postgresql_insert(table)
        ).values(**values)
        upsert: Insert = statement.on_conflict_do_update(
            index_elements=keys, set_=changes(statement.excluded)
        )
        return upsert

    # --- bans -------------------------------------------------------------------------

    async def active_ban(self, keys: Iterable[tuple[BanKind, str]], now_us: int) -> Ban | None:
        """The active ban (not revoked, not expired) on any of ``keys``, or None.
        One indexed query whatever the number of keys; empty ``keys`` → None.
        Of several active bans, the one that lasts longest."""
        pairs = {(BanKind(kind).value, value) for kind, value in keys}
        if not pairs:
            return None
        query = (
            select(*_BAN_COLUMNS)
            .where(
                or_(*(and_(bans.c.kind == kind, bans.c.value == value) for kind, value in pairs)),
                bans.c.revoked_us.is_(None),
                bans.c.expires_us > now_us,
            )
            .order_by(bans.c.expires_us.desc(), bans.c.id.desc())
            .limit(1)
        )
        async with self.database.transaction() as db:
            record = (await db.execute(query)).first()
        return _ban(record) if record else None

    async def add_ban(
        self,
        kind: BanKind,
        value: str,
        *,
        reason: str,
        expires_us: int,
        moderator: Moderator | None,
        now_us: int,
    ) -> Ban:
        created_by = moderator.name if moderator is not None else None
        async with self.database.transaction() as db:
            result = await db.execute(
                bans.insert().values(
                    kind=kind.value,
                    value=value,
                    reason=reason,
                    created_us=now_us,
                    expires_us=expires_us,
                    created_by=created_by,
                    revoked_us=None,
                )
            )
            ban_id: int = result.inserted_primary_key[0]  # type: ignore[index]
        return Ban(int(ban_id), kind, value, reason, now_us, expires_us, created_by)

    async def revoke_ban(self, ban_id: int, now_us: int) -> Ban | None:
        """Revoke an active ban; None if unknown or already inactive."""
        async with self.database.transaction() as db:
            result = await db.execute(
                update(bans)
                .where(
                    bans.c.id == ban_id,
                    bans.c.revoked_us.is_(None),
                    bans.c.expires_us > now_us,
                )
                .values(revoked_us=now_us)
            )
            if result.rowcount != 1:
                return None
            record = (await db.execute(select(*_BAN_COLUMNS).where(bans.c.id == ban_id))).one()
        return _ban(record)

    async def bans(self, now_us: int, *, active_only: bool = True, limit: int = 100) -> list[Ban]:
        """Newest first."""
        query = select(*_BAN_COLUMNS)
        if active_only:
            query = query.where(bans.c.revoked_us.is_(None), bans.c.expires_us > now_us)
        async with self.database.transaction() as db:
            records = (await db.execute(query.order_by(bans.c.id.desc()).limit(limit))).all()
        return [_ban(record) for record in records]

    # --- blocks (chat) ----------------------------------------------------------------

    async def add_block(self, blocker: str, blocked: str, *, expires_us: int, now_us: int) -> None:
        """``blocker`` (a client_hash) never meets ``blocked`` again before ``expires_us``.
        Blocking again extends the expiry (upsert on the pair); it never shortens it."""
        statement = self._upsert(
            blocks,
            {
                "blocker": blocker,
                "blocked": blocked,
                "created_us": now_us,
                "expires_us": expires_us,
            },
            ["blocker", "blocked"],
            lambda excluded: {
                "created_us": excluded.created_us,
                "expires_us": case(
                    (blocks.c.expires_us > excluded.expires_us, blocks.c.expires_us),
                    else_=excluded.expires_us,
                ),
            },
        )
        async with self.database.transaction() as db:
            await db.execute(statement)

    async def avoided_by(self, client: str, now_us: int) -> frozenset[str]:
        """The client_hashes ``client`` must not be paired with now: those it blocked
        and those that blocked it (unexpired). At most 1000, newest first."""
        both = union_all(
            select(blocks.c.blocked.label("other"), blocks.c.created_us).where(
                blocks.c.blocker == client, blocks.c.expires_us > now_us
            ),
            select(blocks.c.blocker.label("other"), blocks.c.created_us).where(
                blocks.c.blocked == client, blocks.c.expires_us > now_us
            ),
        ).subquery()
        query = select(both.c.other).order_by(both.c.created_us.desc()).limit(MAX_AVOIDED)
        async with self.database.transaction() as db:
            others = (await db.execute(query)).scalars().all()
        return frozenset(others)

    # --- reports ----------------------------------------------------------------------

    async def add_report(self, report: NewReport) -> int:
        """Store a report (transcript as JSON); returns its id."""
        async with self.database.transaction() as db:
            result = await db.execute(
                reports.insert().values(
                    created_us=report.created_us,
                    site=report.site,
                    article=report.article,
                    reason=report.reason.value,
                    note=report.note,
                    transcript=_transcript_json(report.transcript),
                    reported_client=report.reported_client,
                    reported_ip=report.reported_ip,
                    reporter_client=report.reporter_client,
                    status=ReportStatus.OPEN.value,
                    handled_by=None,
                    handled_us=None,
                )
            )
            report_id: int = result.inserted_primary_key[0]  # type: ignore[index]
        return int(report_id)

    async def reports(
        self, status: ReportStatus | None = ReportStatus.OPEN, *, limit: int = 50
    ) -> list[Report]:
        """Oldest open first (a queue) when status is OPEN; else newest first."""
        query = select(reports)
        if status is not None:
            query = query.where(reports.c.status == status.value)
        order = reports.c.id.asc() if status is ReportStatus.OPEN else reports.c.id.desc()
        async with self.database.transaction() as db:
            records = (await db.execute(query.order_by(order).limit(limit))).all()
        return [_report(record) for record in records]

    async def report(self, report_id: int) -> Report | None:
        async with self.database.transaction() as db:
            record = (await db.execute(select(reports).where(reports.c.id == report_id))).first()
        return _report(record) if record else None

    async def set_report_status(
        self, report_id: int, status: ReportStatus, *, moderator: Moderator, now_us: int
    ) -> bool:
        """False if the report is unknown or no longer open. ``status`` is a handled
        status: OPEN raises ValueError (a report is never reopened)."""
        if status is ReportStatus.OPEN:
            raise ValueError("a report is handled, never reopened")
        async with self.database.transaction() as db:
            result = await db.execute(
                update(reports)
                .where(reports.c.id == report_id, reports.c.status == ReportStatus.OPEN.value)
                .values(status=status.value, handled_by=moderator.name, handled_us=now_us)
            )
        return result.rowcount == 1

    async def purge(self, now_us: int, *, report_retention_us: int) -> int:
        """Delete expired blocks, bans expired for more than the retention, and handled
        reports (with their transcripts) handled more than ``report_retention_us`` ago.
        Also: bans revoked more than the retention ago, and expired admin sessions.
        Returns the number of rows deleted."""
        cutoff = now_us - report_retention_us
        statements = (
            delete(blocks).where(blocks.c.expires_us <= now_us),
            delete(bans).where(or_(bans.c.expires_us <= cutoff, bans.c.revoked_us <= cutoff)),
            delete(reports).where(
                reports.c.status != ReportStatus.OPEN.value, reports.c.handled_us <= cutoff
            ),
            delete(admin_sessions).where(admin_sessions.c.expires_us <= now_us),
        )
        deleted = 0
        async with self.database.transaction() as db:
            for statement in statements:
                deleted += (await db.execute(statement)).rowcount
        return deleted

    # --- held comments ----------------------------------------------------------------

    async def held_comments(self, *, limit: int = 50) -> list[HeldComment]:
        """Comments with status 'held', oldest first, with their article."""
        query = (
            select(*_COMMENT_COLUMNS)
            .join(articles, articles.c.id == comments.c.article_id)
            .where(comments.c.status == Status.HELD.value)
            .order_by(comments.c.id.asc())
            .limit(limit)
        )
        async with self.database.transaction() as db:
            records = (await db.execute(query)).all()
        return [_held(record) for record in records]

    async def comment(self, comment_id: int) -> HeldComment | None:
        """The comment of that id whatever its status, with its article."""
        query = (
            select(*_COMMENT_COLUMNS)
            .join(articles, articles.c.id == comments.c.article_id)
            .where(comments.c.id == comment_id)
        )
        async with self.database.transaction() as db:
            record = (await db.execute(query)).first()
        return _held(record) if record else None

    async def set_comment_status(self, comment_id: int, status: Status) -> bool:
        """Publish (PUBLISHED) or delete (DELETED: text and html emptied, as an author
        delete does) a comment; False if unknown."""
        values: dict[str, Any] = {"status": status.value}
        if status is Status.DELETED:  # the name too, as CommentStore.delete does
            values.update(name="", text="", html="")
        async with self.database.transaction() as db:
            result = await db.execute(
                update(comments).where(comments.c.id == comment_id).values(**values)
            )
        return result.rowcount == 1

    # --- moderators and sessions ------------------------------------------------------

    async def add_moderator(self, name: str, password_hash: str, now_us: int) -> Moderator:
        """Raises ModeratorExists if the name is taken (names compare case-insensitively)."""
        try:
            async with self.database.transaction() as db:
                result = await db.execute(
                    moderators.insert().values(
                        name=name,
                        name_key=name.casefold(),
                        password_hash=password_hash,
                        created_us=now_us,
                    )
                )
                moderator_id: int = result.inserted_primary_key[0]  # type: ignore[index]
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise ModeratorExists(name) from exc.__cause__
            raise
        return Moderator(int(moderator_id), name, password_hash, now_us)

    async def moderator_by_name(self, name: str) -> Moderator | None:
        query = select(*_MODERATOR_COLUMNS).where(moderators.c.name_key == name.casefold())
        async with self.database.transaction() as db:
            record = (await db.execute(query)).first()
        return _moderator(record) if record else None

    async def set_password(self, moderator_id: int, password_hash: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                update(moderators)
                .where(moderators.c.id == moderator_id)
                .values(password_hash=password_hash)
            )

    async def create_session(
        self, token_hash: str, moderator: Moderator, *, csrf: str, now_us: int, expires_us: int
    ) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                admin_sessions.insert().values(
                    token_hash=token_hash,
                    moderator_id=moderator.id,
                    csrf=csrf,
                    created_us=now_us,
                    expires_us=expires_us,
                )
            )

    async def session(self, token_hash: str, now_us: int) -> AdminSession | None:
        """The unexpired session of that token hash, or None."""
        query = (
            select(*_MODERATOR_COLUMNS, admin_sessions.c.csrf, admin_sessions.c.expires_us)
            .join(moderators, moderators.c.id == admin_sessions.c.moderator_id)
            .where(admin_sessions.c.token_hash == token_hash, admin_sessions.c.expires_us > now_us)
        )
        async with self.database.transaction() as db:
            record = (await db.execute(query)).first()
        if record is None:
            return None
        return AdminSession(_moderator(record), record.csrf, record.expires_us)

    async def delete_session(self, token_hash: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                delete(admin_sessions).where(admin_sessions.c.token_hash == token_hash)
            )

    async def delete_sessions_of(self, moderator_id: int) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                delete(admin_sessions).where(admin_sessions.c.moderator_id == moderator_id)
            )

    # --- audit log --------------------------------------------------------------------

    async def audit(
        self, moderator: Moderator | None, action: str, target: str, detail: str, now_us: int
    ) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                audit_log.insert().values(
                    created_us=now_us,
                    moderator=moderator.name if moderator is not None else None,
                    action=action,
                    target=target,
                    detail=detail,
                )
            )

    async def audit_log(
        self, *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEntry]:
        """Newest first; ``before_id``: the page after the entry of that id."""
        query = select(audit_log)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        async with self.database.transaction() as db:
            records = (await db.execute(query.order_by(audit_log.c.id.desc()).limit(limit))).all()
        return [
            AuditEntry(r.id, r.created_us, r.moderator, r.action, r.target, r.detail)
            for r in records
        ]

    # --- per-site settings ------------------------------------------------------------

    async def site_settings(self, site: str) -> SiteSettings | None:
        query = select(*_SETTINGS_COLUMNS).where(site_settings.c.site == site)
        async with self.database.transaction() as db:
            record = (await db.execute(query)).first()
        return _settings(record) if record else None

    async def all_site_settings(self) -> list[SiteSettings]:
        """Every configured site, by site."""
        query = select(*_SETTINGS_COLUMNS).order_by(site_settings.c.site)
        async with self.database.transaction() as db:
            records = (await db.execute(query)).all()
        return [_settings(record) for record in records]

    async def save_site_settings(
        self, site: str, *, premoderation: bool, actions: str, moderator: Moderator, now_us: int
    ) -> SiteSettings:
        saved = SiteSettings(site, premoderation, actions, now_us, moderator.name)
        statement = self._upsert(
            site_settings,
            {
                "site": site,
                "premoderation": premoderation,
                "actions": actions,
                "updated_us": now_us,
                "updated_by": moderator.name,
            },
            ["site"],
            lambda excluded: {
                "premoderation": excluded.premoderation,
                "actions": excluded.actions,
                "updated_us": excluded.updated_us,
                "updated_by": excluded.updated_by,
            },
        )
        async with self.database.transaction() as db:
            await db.execute(statement)
        return saved

    async def sites(self) -> list[str]:
        """The sites that have articles (articles.site), sorted."""
        query = select(articles.c.site).distinct().order_by(articles.c.site)
        async with self.database.transaction() as db:
            return list((await db.execute(query)).scalars().all())
