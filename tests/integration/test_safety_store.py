"""SafetyStore against real databases: every method, on SQLite and on PostgreSQL.

The migrated database is shared by the whole session (and by the server tests), so
every test names its own rows (random hashes, sites, moderators) and looks only at
them. Times are fixed, in the past, and passed in: the store never reads a clock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from causerie.core.comments import Sort, Status
from causerie.core.safety import (
    DAY_US,
    US,
    Ban,
    BanKind,
    NewReport,
    ReportReason,
    ReportStatus,
    Speaker,
    TranscriptLine,
)
from causerie.store.comments import CommentStore
from causerie.store.database import Database, StoreError, database_url
from causerie.store.safety import Moderator, ModeratorExists, SafetyStore

NOW = 1_000_000_000 * US  # 2001-09-09, before anything the server tests write
HOUR = 3_600 * US


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


@pytest.fixture
async def database_handle(database: str) -> AsyncIterator[Database]:
    handle = Database(database_url(database, Path(".")))
    try:
        yield handle
    finally:
        await handle.close()


@pytest.fixture
def store(database_handle: Database) -> SafetyStore:
    return SafetyStore(database_handle)


@pytest.fixture
async def moderator(store: SafetyStore) -> Moderator:
    return await store.add_moderator(unique("Modé-"), "$argon2id$fake", NOW)


def new_report(**fields: object) -> NewReport:
    values: dict[str, object] = {
        "created_us": NOW,
        "site": "https://journal.example",
        "article": "https://journal.example/a/1",
        "reason": ReportReason.INSULT,
        "note": "",
        "transcript": (),
        "reported_client": unique(),
        "reported_ip": unique(),
        "reporter_client": unique(),
    }
    values.update(fields)
    return NewReport(**values)  # type: ignore[arg-type]


# --- bans -------------------------------------------------------------------------------


async def test_ban_round_trip_and_expiry(store: SafetyStore, moderator: Moderator) -> None:
    author = unique()
    ban = await store.add_ban(
        BanKind.AUTHOR,
        author,
        reason="insultes répétées",
        expires_us=NOW + HOUR,
        moderator=moderator,
        now_us=NOW,
    )
    assert ban.created_by == moderator.name
    assert ban.revoked_us is None
    assert await store.active_ban([(BanKind.AUTHOR, author)], NOW) == ban
    assert await store.active_ban([(BanKind.AUTHOR, author)], NOW + HOUR - 1) == ban
    assert await store.active_ban([(BanKind.AUTHOR, author)], NOW + HOUR) is None
    # the same value under another kind is another identity
    assert await store.active_ban([(BanKind.CLIENT, author)], NOW) is None
    assert await store.active_ban([], NOW) is None


async def test_ban_on_any_of_several_keys(store: SafetyStore) -> None:
    address, author, client = unique(), unique(), unique()
    ban = await store.add_ban(
        BanKind.IP, address, reason="spam", expires_us=NOW + HOUR, moderator=None, now_us=NOW
    )
    assert ban.created_by is None
    keys = [(BanKind.AUTHOR, author), (BanKind.CLIENT, client), (BanKind.IP, address)]
    assert await store.active_ban(keys, NOW) == ban
    assert await store.active_ban(iter(keys), NOW) == ban  # any iterable, read once
    assert await store.active_ban(keys[:2], NOW) is None
    longer = await store.add_ban(
        BanKind.CLIENT, client, reason="x", expires_us=NOW + 2 * HOUR, moderator=None, now_us=NOW
    )
    assert await store.active_ban(keys, NOW) == longer  # the one that lasts longest


async def test_revoke_ban(store: SafetyStore, moderator: Moderator) -> None:
    client = unique()
    ban = await store.add_ban(
        BanKind.CLIENT, client, reason="r", expires_us=NOW + HOUR, moderator=moderator, now_us=NOW
    )
    revoked = await store.revoke_ban(ban.id, NOW + 10)
    assert revoked is not None
    assert revoked.revoked_us == NOW + 10
    assert not revoked.active(NOW + 10)
    assert await store.active_ban([(BanKind.CLIENT, client)], NOW + 20) is None
    assert await store.revoke_ban(ban.id, NOW + 30) is None  # already revoked
    assert await store.revoke_ban(2_000_000_000, NOW) is None  # unknown
    expired = await store.add_ban(
        BanKind.CLIENT, client, reason="r", expires_us=NOW + 5, moderator=None, now_us=NOW
    )
    assert await store.revoke_ban(expired.id, NOW + 5) is None  # no longer active


async def test_bans_list_newest_first(store: SafetyStore) -> None:
    value = unique()
    made = [
        await store.add_ban(
            BanKind.AUTHOR, value, reason=str(n), expires_us=NOW + HOUR, moderator=None, now_us=NOW
        )
        for n in range(3)
    ]
    gone = await store.add_ban(
        BanKind.AUTHOR, value, reason="gone", expires_us=NOW + 1, moderator=None, now_us=NOW
    )
    revoked = await store.revoke_ban(made[1].id, NOW + 2)
    assert revoked is not None
    listed = [ban for ban in await store.bans(NOW + 2, limit=10_000) if ban.value == value]
    assert listed == [made[2], made[0]]
    everything = await store.bans(NOW + 2, active_only=False, limit=10_000)
    assert [ban for ban in everything if ban.value == value] == [gone, made[2], revoked, made[0]]
    assert len(await store.bans(NOW + 2, active_only=False, limit=2)) == 2


# --- blocks -----------------------------------------------------------------------------


async def test_blocks_are_avoided_both_ways_until_they_expire(store: SafetyStore) -> None:
    alice, bob, carol = unique(), unique(), unique()
    await store.add_block(alice, bob, expires_us=NOW + HOUR, now_us=NOW)
    await store.add_block(carol, alice, expires_us=NOW + 2 * HOUR, now_us=NOW)
    assert await store.avoided_by(alice, NOW) == {bob, carol}
    assert await store.avoided_by(bob, NOW) == {alice}
    assert await store.avoided_by(carol, NOW) == {alice}
    assert await store.avoided_by(alice, NOW + HOUR) == {carol}
    assert await store.avoided_by(bob, NOW + HOUR) == frozenset()
    assert await store.avoided_by(alice, NOW + 2 * HOUR) == frozenset()
    assert await store.avoided_by(unique(), NOW) == frozenset()


async def test_blocking_again_extends_never_shortens(store: SafetyStore) -> None:
    alice, bob = unique(), unique()
    await store.add_block(alice, bob, expires_us=NOW + HOUR, now_us=NOW)
    await store.add_block(alice, bob, expires_us=NOW + 3 * HOUR, now_us=NOW + 10)
    assert await store.avoided_by(alice, NOW + 2 * HOUR) == {bob}
    await store.add_block(alice, bob, expires_us=NOW + 2 * HOUR, now_us=NOW + 20)
    assert await store.avoided_by(bob, NOW + 2 * HOUR + 1) == {alice}
    assert await store.avoided_by(bob, NOW + 3 * HOUR) == frozenset()
    # the other direction is another pair
    await store.add_block(bob, alice, expires_us=NOW + 4 * HOUR, now_us=NOW)
    assert await store.avoided_by(alice, NOW + 3 * HOUR) == {bob}


async def test_avoided_by_is_capped(store: SafetyStore) -> None:
    hermit = unique()
    for n in range(1_005):
        await store.add_block(hermit, f"{hermit[:20]}-{n}", expires_us=NOW + HOUR, now_us=NOW + n)
    avoided = await store.avoided_by(hermit, NOW + 2_000)
    assert len(avoided) == 1_000
    assert f"{hermit[:20]}-1004" in avoided  # newest kept
    assert f"{hermit[:20]}-0" not in avoided


# --- reports ----------------------------------------------------------------------------

TRICKY = (
    TranscriptLine(Speaker.REPORTED, "il a dit \"bonjour\" et 'au revoir' \\ \\n"),
    TranscriptLine(Speaker.REPORTER, "Ça va ? Ünïcödé — «guillemets» 日本語"),
    TranscriptLine(Speaker.REPORTED, "😀🔥👍🏽 family: 👨‍👩‍👧‍👦"),
    TranscriptLine(Speaker.REPORTED, "<script>alert('x')</script>"),
    TranscriptLine(Speaker.REPORTER, "'); DROP TABLE reports;--"),
    TranscriptLine(Speaker.REPORTED, '{"speaker": "reporter", "text": "fake"}]'),
    TranscriptLine(Speaker.REPORTER, "tab\tnewline\nreturn\r\u2028end"),
    TranscriptLine(Speaker.REPORTED, ""),
)


async def test_report_round_trip_byte_for_byte(store: SafetyStore) -> None:
    sent = new_report(
        reason=ReportReason.HARASSMENT,
        note="'); DROP TABLE reports;-- <b>note</b> é😀",
        transcript=TRICKY,
        site="https://journal.example",
        article="https://journal.example/a/é?x=1&y='2'",
        reporter_client=None,
    )
    report_id = await store.add_report(sent)
    got = await store.report(report_id)
    assert got is not None
    assert got.id == report_id
    assert got.transcript == TRICKY
    for mine, theirs in zip(got.transcript, TRICKY, strict=True):
        assert mine.text.encode() == theirs.text.encode()
    assert (got.note, got.site, got.article, got.reason) == (
        sent.note,
        sent.site,
        sent.article,
        sent.reason,
    )
    assert (got.reported_client, got.reported_ip, got.reporter_client) == (
        sent.reported_client,
        sent.reported_ip,
        None,
    )
    assert (got.status, got.handled_by, got.handled_us) == (ReportStatus.OPEN, None, None)
    assert got.created_us == NOW
    assert await store.report(2_000_000_000) is None


async def test_reports_queue_and_status_changes(store: SafetyStore, moderator: Moderator) -> None:
    ids = [await store.add_report(new_report(note=str(n))) for n in range(3)]
    queue = [r.id for r in await store.reports(limit=10_000) if r.id in ids]
    assert queue == ids  # oldest first
    assert await store.set_report_status(
        ids[1], ReportStatus.DISMISSED, moderator=moderator, now_us=NOW + 5
    )
    # only from open: a handled report stays as handled
    assert not await store.set_report_status(
        ids[1], ReportStatus.ACTIONED, moderator=moderator, now_us=NOW + 6
    )
    assert not await store.set_report_status(
        2_000_000_000, ReportStatus.ACTIONED, moderator=moderator, now_us=NOW
    )
    with pytest.raises(ValueError, match="reopened"):
        await store.set_report_status(ids[0], ReportStatus.OPEN, moderator=moderator, now_us=NOW)
    assert await store.set_report_status(
        ids[2], ReportStatus.ACTIONED, moderator=moderator, now_us=NOW + 7
    )
    handled = await store.report(ids[1])
    assert handled is not None
    assert (handled.status, handled.handled_by, handled.handled_us) == (
        ReportStatus.DISMISSED,
        moderator.name,
        NOW + 5,
    )
    assert [r.id for r in await store.reports(limit=10_000) if r.id in ids] == [ids[0]]
    dismissed = await store.reports(ReportStatus.DISMISSED, limit=10_000)
    assert [r.id for r in dismissed if r.id in ids] == [ids[1]]
    everything = await store.reports(None, limit=10_000)
    assert [r.id for r in everything if r.id in ids] == ids[::-1]  # newest first
    assert len(await store.reports(None, limit=1)) == 1


async def test_purge(store: SafetyStore, moderator: Moderator) -> None:
    # its own time, before every other test's, so that the count is this test's rows only
    then = NOW - 1_000 * DAY_US
    retention = 30 * DAY_US
    later = then + 40 * DAY_US
    alice, bob, carol = unique(), unique(), unique()
    await store.add_block(alice, bob, expires_us=then + HOUR, now_us=then)  # expired: gone
    await store.add_block(alice, carol, expires_us=later + HOUR, now_us=then)  # kept

    async def ban(expires_us: int) -> Ban:
        return await store.add_ban(
            BanKind.CLIENT, alice, reason="r", expires_us=expires_us, moderator=None, now_us=then
        )

    old_ban = await ban(then + HOUR)  # expired 40 days before: gone
    recent_ban = await ban(later - DAY_US)  # expired, within retention: kept
    active_ban = await ban(later + DAY_US)  # kept
    revoked_ban = await ban(later + 100 * DAY_US)
    assert await store.revoke_ban(revoked_ban.id, then + 1) is not None  # revoked long ago: gone

    old_report = await store.add_report(new_report(created_us=then))
    recent_report = await store.add_report(new_report(created_us=then))
    open_report = await store.add_report(new_report(created_us=then))
    await store.set_report_status(
        old_report, ReportStatus.DISMISSED, moderator=moderator, now_us=then + 1
    )
    await store.set_report_status(
        recent_report, ReportStatus.ACTIONED, moderator=moderator, now_us=later - DAY_US
    )
    await store.create_session(unique(), moderator, csrf="c", now_us=then, expires_us=then + 1)

    assert await store.purge(later, report_retention_us=retention) == 1 + 2 + 1 + 1
    assert await store.avoided_by(alice, then) == {carol}
    remaining = {b.id for b in await store.bans(later, active_only=False, limit=10_000)}
    assert {recent_ban.id, active_ban.id} <= remaining
    assert not {old_ban.id, revoked_ban.id} & remaining
    assert await store.report(old_report) is None
    assert await store.report(recent_report) is not None
    assert await store.report(open_report) is not None  # open reports wait for a moderator
    assert await store.purge(later, report_retention_us=retention) == 0


# --- held comments ----------------------------------------------------------------------


async def test_held_comments_queue_and_status(
    store: SafetyStore, database_handle: Database
) -> None:
    comments = CommentStore(database_handle)
    site = f"https://{unique()}.example"
    article, _ = await comments.ensure_article(f"{site}/a", site, "Titre", NOW)
    posted = []
    for n, status in enumerate((Status.HELD, Status.PUBLISHED, Status.HELD, Status.HELD)):
        row = await comments.post(
            article.id,
            None,
            name=f"Nom {n}",
            text=f"texte {n}",
            html=f"<p>texte {n}</p>",
            status=status,
            author_hash=f"author-{n}",
            ip_hash=f"ip-{n}" if n else None,
            now_us=NOW + n,
        )
        assert row is not None
        posted.append(row.id)
    held = [c for c in await store.held_comments(limit=10_000) if c.site == site]
    assert [c.id for c in held] == [posted[0], posted[2], posted[3]]  # oldest first
    first = held[0]
    assert (first.article_url, first.name, first.text, first.status) == (
        f"{site}/a",
        "Nom 0",
        "texte 0",
        Status.HELD,
    )
    assert (first.author_hash, first.ip_hash, first.created_us) == ("author-0", None, NOW)
    assert held[1].ip_hash == "ip-2"

    published = await store.comment(posted[1])
    assert published is not None and published.status is Status.PUBLISHED
    assert await store.comment(2_000_000_000) is None

    assert await store.set_comment_status(posted[0], Status.PUBLISHED)
    assert await store.set_comment_status(posted[2], Status.DELETED)
    assert not await store.set_comment_status(2_000_000_000, Status.PUBLISHED)
    held = [c for c in await store.held_comments(limit=10_000) if c.site == site]
    assert [c.id for c in held] == [posted[3]]
    approved = await store.comment(posted[0])
    assert approved is not None
    assert (approved.status, approved.text) == (Status.PUBLISHED, "texte 0")
    deleted = await store.comment(posted[2])
    assert deleted is not None
    assert (deleted.status, deleted.text, deleted.name) == (Status.DELETED, "", "")
    forgotten = await comments.owned(posted[2])
    assert forgotten is not None
    assert (forgotten.row.text, forgotten.row.html, forgotten.row.name) == ("", "", "")
    _, _, total = await comments.thread(article.id, Sort.OLDEST, None, 10)
    assert total == 2  # the approved one and the one published from the start


# --- moderators and sessions ------------------------------------------------------------


async def test_moderator_names_are_unique_whatever_the_case(store: SafetyStore) -> None:
    name = unique("Zoé-")
    created = await store.add_moderator(name, "hash-1", NOW)
    assert created == Moderator(created.id, name, "hash-1", NOW)
    for taken in (name, name.upper(), name.lower(), name.casefold()):
        with pytest.raises(ModeratorExists):
            await store.add_moderator(taken, "hash-2", NOW)
    assert await store.moderator_by_name(name.upper()) == created
    assert await store.moderator_by_name(unique()) is None
    await store.set_password(created.id, "hash-3")
    again = await store.moderator_by_name(name)
    assert again is not None
    assert again.password_hash == "hash-3"  # noqa: S105  # a stand-in, not a password


async def test_sessions_expire_and_are_deleted(store: SafetyStore, moderator: Moderator) -> None:
    first, second, other = unique(), unique(), unique()
    await store.create_session(first, moderator, csrf="csrf-1", now_us=NOW, expires_us=NOW + HOUR)
    await store.create_session(second, moderator, csrf="csrf-2", now_us=NOW, expires_us=NOW + HOUR)
    someone = await store.add_moderator(unique("Autre-"), "h", NOW)
    await store.create_session(other, someone, csrf="csrf-3", now_us=NOW, expires_us=NOW + HOUR)

    session = await store.session(first, NOW)
    assert session is not None
    assert (session.moderator, session.csrf, session.expires_us) == (
        moderator,
        "csrf-1",
        NOW + HOUR,
    )
    assert await store.session(first, NOW + HOUR) is None  # expired
    assert await store.session(unique(), NOW) is None

    await store.delete_session(first)
    assert await store.session(first, NOW) is None
    assert await store.session(second, NOW) is not None
    await store.delete_sessions_of(moderator.id)
    assert await store.session(second, NOW) is None
    assert await store.session(other, NOW) is not None


async def test_database_errors_become_store_errors(
    store: SafetyStore, moderator: Moderator
) -> None:
    token = unique()
    await store.create_session(token, moderator, csrf="c", now_us=NOW, expires_us=NOW + HOUR)
    with pytest.raises(StoreError) as raised:
        await store.create_session(token, moderator, csrf="c", now_us=NOW, expires_us=NOW + 1)
    assert raised.value.__cause__ is not None
    ghost = Moderator(2_000_000_000, "ghost", "h", NOW)
    with pytest.raises(StoreError):  # foreign key
        await store.create_session(unique(), ghost, csrf="c", now_us=NOW, expires_us=NOW + 1)


# --- audit log --------------------------------------------------------------------------


async def test_audit_log_newest_first_by_pages(store: SafetyStore, moderator: Moderator) -> None:
    target = unique("t:")[:100]
    for n in range(5):
        await store.audit(moderator if n % 2 else None, f"action.{n}", target, f"d{n}", NOW + n)
    entries = [e for e in await store.audit_log(limit=10_000) if e.target == target]
    assert [e.action for e in entries] == [f"action.{n}" for n in (4, 3, 2, 1, 0)]
    assert [e.moderator for e in entries] == [None, moderator.name, None, moderator.name, None]
    assert (entries[0].detail, entries[0].created_us) == ("d4", NOW + 4)
    page = await store.audit_log(limit=2, before_id=entries[1].id)
    assert [e.id for e in page] == [entries[2].id, entries[3].id]
    assert all(e.id < entries[4].id for e in await store.audit_log(before_id=entries[4].id))
    assert len(await store.audit_log(limit=3)) == 3


# --- per-site settings ------------------------------------------------------------------


async def test_site_settings_upsert(store: SafetyStore, moderator: Moderator) -> None:
    site = f"https://{unique()}.example"
    assert await store.site_settings(site) is None
    first = await store.save_site_settings(
        site, premoderation=True, actions="chat insult mask", moderator=moderator, now_us=NOW
    )
    assert first.premoderation is True
    assert await store.site_settings(site) == first
    other = await store.add_moderator(unique("Autre-"), "h", NOW)
    second = await store.save_site_settings(
        site, premoderation=False, actions="", moderator=other, now_us=NOW + 1
    )
    assert await store.site_settings(site) == second
    assert (second.premoderation, second.actions, second.updated_by, second.updated_us) == (
        False,
        "",
        other.name,
        NOW + 1,
    )
    every = await store.all_site_settings()
    assert [s for s in every if s.site == site] == [second]
    assert [s.site for s in every] == sorted(s.site for s in every)


async def test_sites_are_the_sites_of_articles(
    store: SafetyStore, database_handle: Database
) -> None:
    comments = CommentStore(database_handle)
    names = sorted(f"https://{unique()}.example" for _ in range(3))
    for site in reversed(names):
        for page in ("a", "b"):
            await comments.ensure_article(f"{site}/{page}", site, "", NOW)
    sites = await store.sites()
    assert sites == sorted(set(sites))
    assert [site for site in sites if site in names] == names
