"""CommentStore against a model, on SQLite and PostgreSQL.

Hypothesis plays random sequences of posts, replies (at any depth), edits, deletions and
likes on a fresh article, mirrors them in a few dictionaries, then walks every sort page
by page with the keyset cursor: each visible top-level comment must come exactly once, in
order, with exactly its visible replies, and the totals must agree with ``counts``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from causerie.core.comments import CommentRow, Cursor, Sort, Status, render_html
from causerie.store.comments import CommentStore
from causerie.store.database import Database, database_url

SITE = "http://127.0.0.1:8000"
PAGE_SIZES = (1, 2, 3, 7)
READERS = 3
AUTHOR_HASH = "0" * 64

# Operations, as plain tuples (they shrink and print well). A ``target`` indexes the
# comments posted so far, modulo their number: 0 is the first, -1 the latest (so that
# replies to replies and deleted answered replies come often).
Op = tuple[Any, ...]
TARGETS = st.integers(-6, 40)
HELD = st.integers(0, 7).map(lambda n: n == 0)  # 1 in 8
OPERATIONS = st.one_of(
    st.tuples(st.just("post"), HELD),
    st.tuples(st.just("reply"), TARGETS, HELD),
    st.tuples(st.just("reply"), TARGETS, st.just(False)),
    st.tuples(st.just("reply"), TARGETS, st.just(False)),
    st.tuples(st.just("edit"), TARGETS),
    st.tuples(st.just("delete"), TARGETS),
    st.tuples(st.just("delete"), TARGETS),
    st.tuples(st.just("like"), TARGETS, st.integers(0, READERS - 1), st.booleans()),
    st.tuples(st.just("like"), TARGETS, st.integers(0, READERS - 1), st.just(True)),
)


@dataclass
class Node:
    """What the model knows of one comment."""

    id: int
    parent: int | None
    root: int | None
    status: Status
    name: str
    text: str
    likers: set[int] = field(default_factory=set)


class Model:
    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.order: list[int] = []  # ids in posting order
        self.children: dict[int, list[int]] = {}

    def pick(self, target: int) -> Node | None:
        return self.nodes[self.order[target % len(self.order)]] if self.order else None

    def add(self, node: Node) -> None:
        self.nodes[node.id] = node
        self.order.append(node.id)
        if node.parent is not None:
            self.children.setdefault(node.parent, []).append(node.id)

    def shown(self, node: Node) -> bool:
        """Published, or deleted and answered by a shown comment (the thread keeps its shape)."""
        if node.status is Status.PUBLISHED:
            return True
        return node.status is Status.DELETED and any(
            self.shown(self.nodes[child]) for child in self.children.get(node.id, [])
        )

    def replies(self, root: int) -> list[int]:
        return sorted(n.id for n in self.nodes.values() if n.root == root and self.shown(n))

    def top_level(self, sort: Sort) -> list[Node]:
        roots = [n for n in self.nodes.values() if n.root is None and self.shown(n)]
        if sort is Sort.OLDEST:
            return sorted(roots, key=lambda n: n.id)
        if sort is Sort.NEWEST:
            return sorted(roots, key=lambda n: -n.id)
        return sorted(roots, key=lambda n: (-len(n.likers), -n.id))

    def total(self) -> int:
        return sum(n.status is Status.PUBLISHED for n in self.nodes.values())


async def play(store: CommentStore, article_id: int, url: str, ops: list[Op], model: Model) -> None:
    clock = 1_795_753_200_000_000
    for op in ops:
        clock += 1_000_000
        kind = op[0]
        if kind == "post" or (kind == "reply" and not model.order):
            await post(store, article_id, model, None, bool(op[-1]), clock)
        elif kind == "reply":
            target = model.pick(int(op[1]))
            assert target is not None
            await post(store, article_id, model, target, bool(op[2]), clock)
        elif (target := model.pick(int(op[1]))) is None:
            continue
        elif kind == "edit":
            if target.status is Status.DELETED:  # the API answers not_found
                continue
            target.text = f"edited {clock} *{target.id}*"
            target.name = f"renamed {target.id}"
            await store.edit(
                target.id,
                name=target.name,
                text=target.text,
                html=render_html(target.text),
                now_us=clock,
            )
        elif kind == "delete":
            if target.status is Status.DELETED:  # the API answers not_found
                continue
            target.status = Status.DELETED
            await store.delete(target.id, clock)
        else:
            reader, liked = int(op[2]), bool(op[3])
            result = await store.like(target.id, f"reader-{reader}", liked)
            if target.status is not Status.PUBLISHED:
                assert result is None, target
                continue
            assert result is not None
            likes, article_url = result
            assert article_url == url
            if liked:
                target.likers.add(reader)
            else:
                target.likers.discard(reader)
            assert likes == len(target.likers)


async def post(
    store: CommentStore,
    article_id: int,
    model: Model,
    parent: Node | None,
    held: bool,
    clock: int,
) -> None:
    text = f"comment {len(model.order)}\n\n**hello**"
    status = Status.HELD if held else Status.PUBLISHED
    row = await store.post(
        article_id,
        parent.id if parent else None,
        name=f"author {len(model.order)}",
        text=text,
        html=render_html(text),
        status=status,
        author_hash=AUTHOR_HASH,
        now_us=clock,
    )
    if parent is not None and parent.status is not Status.PUBLISHED:
        assert row is None  # nobody may answer a held or a deleted comment
        return
    assert row is not None
    root = None if parent is None else (parent.root or parent.id)
    assert (row.parent_id, row.root_id, row.status, row.likes) == (
        parent.id if parent else None,
        root,
        status,
        0,
    )
    model.add(Node(row.id, row.parent_id, root, status, row.name, text))


def check_row(row: CommentRow, model: Model) -> None:
    node = model.nodes[row.id]
    assert (row.parent_id, row.root_id, row.status) == (node.parent, node.root, node.status)
    assert row.likes == len(node.likers)
    if node.status is Status.DELETED:
        assert (row.name, row.text, row.html) == ("", "", "")
    else:
        assert (row.name, row.text, row.html) == (node.name, node.text, render_html(node.text))


async def walk(
    store: CommentStore, article_id: int, sort: Sort, limit: int, model: Model
) -> list[int]:
    """Every page of one sort; the top-level ids in the order the pages gave them."""
    seen: list[int] = []
    cursor: Cursor | None = None
    for _ in range(len(model.order) + 2):
        rows, next_cursor, total = await store.thread(article_id, sort, cursor, limit)
        assert len(rows) <= limit
        assert total == model.total()
        for row in rows:
            check_row(row, model)
            assert row.root_id is None
            assert [reply.id for reply in row.replies] == model.replies(row.id)
            for reply in row.replies:
                check_row(reply, model)
                assert reply.replies == []
            assert row.status is Status.PUBLISHED or row.replies  # no empty deleted comment
        seen += [row.id for row in rows]
        if next_cursor is None:
            return seen
        assert next_cursor.sort is sort
        cursor = Cursor.decode(next_cursor.encode(), sort)  # as the client sends it back
    raise AssertionError(f"{sort} by {limit}: more pages than comments, {seen}")


def note_shapes(model: Model) -> None:
    """Tell ``--hypothesis-show-statistics`` which interesting shapes the examples reach."""
    for node in model.nodes.values():
        if node.status is Status.DELETED and model.shown(node):
            event(
                "deleted comment kept for its replies",
                "top-level" if node.root is None else "reply",
            )
        if node.parent is not None and node.parent != node.root:
            event("reply to a reply")
    likes = [len(n.likers) for n in model.top_level(Sort.TOP)]
    if len(likes) != len(set(likes)):
        event("tied likes in top")


async def scenario(url: str, ops: list[Op]) -> None:
    database = Database(url)
    store = CommentStore(database)
    article_url = f"{SITE}/property/{uuid.uuid4().hex}"
    try:
        article, created = await store.ensure_article(article_url, SITE, "", 1)
        assert created
        model = Model()
        await play(store, article.id, article_url, ops, model)
        note_shapes(model)
        for sort in Sort:
            expected = [node.id for node in model.top_level(sort)]
            for limit in PAGE_SIZES:
                seen = await walk(store, article.id, sort, limit, model)
                assert len(seen) == len(set(seen)), f"{sort} by {limit}: a comment twice {seen}"
                assert seen == expected, f"{sort} by {limit}"
        assert (await store.counts([article_url])).get(article_url, 0) == model.total()
    finally:
        await database.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(OPERATIONS, min_size=10, max_size=40))
# a deleted comment stays while a reply (at any depth) answers it, and goes with the answer
@example(
    ops=[
        ("post", False),
        ("reply", 0, False),
        ("reply", 1, False),
        ("post", False),
        ("delete", 0),
        ("delete", 1),
        ("like", 3, 0, True),
        ("like", 3, 1, True),
        ("like", 0, 0, True),
    ]
)
@example(ops=[("post", False), ("reply", 0, False), ("delete", 0), ("delete", 1)])
# held comments: never shown, never answered, never liked; deleted, they can be answered
@example(
    ops=[
        ("post", True),
        ("reply", 0, False),
        ("like", 0, 0, True),
        ("post", False),
        ("reply", 1, True),
        ("delete", 0),
        ("reply", 0, False),
    ]
)
# equal likes in "top": the id breaks the tie, across page boundaries
@example(ops=[("post", False)] * 5 + [("like", i, 0, True) for i in (0, 2, 4)])
def test_thread_pages_match_the_model(database: str, ops: list[Op]) -> None:
    asyncio.run(scenario(database_url(database, Path(".")), ops))
