"""Story clustering in the database: the LSH band index, verified links, and story membership.

An article written or revised by the store is placed in a story inside the same
transaction (:func:`cluster_urls`, called by :func:`newscrawl.db.store.save_articles`):
its MinHash band keys (:mod:`newscrawl.neardup`) find the stored articles that share a
band and were published within :data:`WINDOW` of it (one indexed lookup), the best
:data:`MAX_CANDIDATES` of those are verified by exact containment of their shingles, and
the article joins the story of its copies (merging stories it bridges) or starts one.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, bindparam, delete, func, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from newscrawl import neardup
from newscrawl.credits import WIRE_AGENCIES
from newscrawl.db.models import ArticleRow, Story, StoryBand, StoryMember

#: Copies are looked for among articles published this long before or after an article:
#: wire copy is carried within days; a story republished months later is a new story.
WINDOW = timedelta(days=14)
#: At most this many candidates (those sharing the most bands) are verified per article,
#: so an article like many others (a recurring notice) costs a bounded number of reads.
MAX_CANDIDATES = 50


@dataclass(frozen=True)
class _Article:
    id: int
    published_at: datetime
    credit: str | None
    dateline: str | None
    story: int | None  # its story now (None: never clustered, or taken out of it)
    shingles: frozenset[int]
    keys: tuple[int, ...]


def _articles(session: Session, where: Any) -> list[_Article]:
    """The articles matching ``where``, shingled, oldest first."""
    rows = session.execute(
        select(
            ArticleRow.id, ArticleRow.published_at, ArticleRow.body, ArticleRow.credit,
            ArticleRow.dateline, StoryMember.story_id,
        )
        .outerjoin(StoryMember, StoryMember.article_id == ArticleRow.id)
        .where(where)
        .order_by(ArticleRow.published_at, ArticleRow.id)
    ).all()
    shingled = [neardup.shingles(row.body) for row in rows]
    # The signatures and band keys of all of them in a few numpy steps, not one MinHash each.
    keyed = iter(neardup.band_key_rows(neardup.signatures([s for s in shingled if s])))
    return [
        _Article(row.id, row.published_at, row.credit, row.dateline, row.story_id, shingles,
                 tuple(dict.fromkeys(next(keyed))) if shingles else ())
        for row, shingles in zip(rows, shingled, strict=True)
    ]


def cluster_urls(session: Session, urls: Sequence[str]) -> None:
    """(Re)cluster the articles stored under ``urls``, in the caller's transaction.

    Revised articles are placed one by one (:func:`cluster`). New ones are looked up
    together: one query finds which share a band with a clustered article or with each
    other; those are placed one by one, oldest first, and the rest (most articles: no
    copy anywhere) start their stories in three multi-row INSERTs.
    """
    if not urls:
        return
    session.flush()
    _cluster_all(session, _articles(session, ArticleRow.url.in_(list(dict.fromkeys(urls)))))


def _cluster_all(session: Session, articles: Sequence[_Article]) -> None:
    for article in articles:
        if article.story is not None:
            cluster(session, article)
    fresh = [a for a in articles if a.story is None]
    shared = _sharing(session, fresh)
    _start_stories(session, [a for a in fresh if a.id not in shared])
    for article in fresh:
        if article.id in shared:
            cluster(session, article)


#: Band keys per lookup statement, well under both databases' bound-parameter limits.
_KEYS_PER_QUERY = 900


def _sharing(session: Session, articles: Sequence[_Article]) -> set[int]:
    """The ids of ``articles`` that share a band key, within the window, with a clustered
    article or with another of ``articles``: only those can have copies."""
    eligible = [a for a in articles if len(a.shingles) >= neardup.MIN_SHINGLES]
    if not eligible:
        return set()
    keys = sorted({k for a in eligible for k in a.keys})
    near: dict[int, list[datetime]] = {}
    for i in range(0, len(keys), _KEYS_PER_QUERY):
        params = {"keys": keys[i : i + _KEYS_PER_QUERY]}
        for key, published in session.connection().execute(_NEAR, params):
            near.setdefault(key, []).append(published)
    # Only a key stored already, or carried by two articles of the batch, can link anything:
    # most articles share none, and are passed over by one set operation.
    twice = {k for k, n in Counter(itertools.chain.from_iterable(a.keys for a in eligible)).items() if n > 1}
    live = twice.union(near)
    batch: dict[int, list[_Article]] = {}
    for article in eligible:
        for key in live.intersection(article.keys):
            batch.setdefault(key, []).append(article)
    found = set()
    for article in eligible:
        if live.isdisjoint(article.keys):
            continue
        low, high = article.published_at - WINDOW, article.published_at + WINDOW
        for key in article.keys:
            if any(low <= p <= high for p in near.get(key, ())) or any(
                o is not article and low <= o.published_at <= high for o in batch.get(key, ())
            ):
                found.add(article.id)
                break
    return found


def _start_stories(session: Session, articles: Sequence[_Article]) -> None:
    """Make each article (with no copy anywhere) the origin of a story of its own, and index it."""
    if not articles:
        return
    conn = session.connection()
    now = datetime.now(timezone.utc)
    # Each new story's origin is its article: the returned origin says whose story an id is.
    # (Rows returned in parameter order instead cost SQLite one INSERT per story.)
    rows = [
        {
            "published_at": a.published_at, "origin_id": a.id, "updated_at": now,
            "credit": a.credit, "dateline": a.dateline,
        }
        for a in articles
    ]
    returned = conn.execute(_STORIES.insert().returning(_STORIES.c.origin_id, _STORIES.c.id), rows)
    stories = {origin: story for origin, story in returned}
    conn.execute(_MEMBERS.insert(), [{"article_id": a.id, "story_id": stories[a.id]} for a in articles])
    _insert_bands(session, [(k, a.id) for a in articles for k in a.keys])


def cluster(session: Session, article: _Article) -> int:
    """Index ``article``'s band keys and place it in a story; the story's id.

    A revised article first leaves its story; when its text changed, the rest of that
    story is placed again without it, so an article is never kept in a story by a
    link that no longer holds. (An article outside any story has no band keys.)
    """
    # Read again, not taken from `article`: an earlier revision in the batch may have moved it.
    story = session.scalar(select(StoryMember.story_id).where(StoryMember.article_id == article.id))
    if story is not None:
        stored = set(session.scalars(select(StoryBand.key).where(StoryBand.article_id == article.id)))
        if stored == set(article.keys):
            _refresh(session, story)  # same shingles (a new headline, say): same story
            return story
        session.execute(delete(StoryBand).where(StoryBand.article_id == article.id))
        _leave(session, article.id, story)
    placed = _place(session, article)
    _insert_bands(session, [(k, article.id) for k in article.keys])
    return placed


def _insert_bands(session: Session, rows: list[tuple[int, int]]) -> None:
    """Index ``(key, article id)`` rows: one driver ``executemany`` of a statement compiled
    once per dialect. Through SQLAlchemy's executemany each of the ~42 rows an article
    has its parameters processed in Python (~0.1 ms an article); these are plain integers."""
    if not rows:
        return
    conn = session.connection()
    sql, positional = _bands_insert(conn.dialect)
    conn.exec_driver_sql(sql, rows if positional else [{"key": k, "article_id": a} for k, a in rows])


def _bands_insert(dialect: Dialect) -> tuple[str, bool]:
    """The dialect's ``INSERT INTO story_bands (key, article_id)`` text, and whether it takes
    positional parameters (``?``, SQLite) or named ones (``%(key)s``, psycopg)."""
    kind = (dialect.name, dialect.driver, dialect.paramstyle)
    if kind not in _BANDS_INSERTS:  # kept per kind of dialect, not per engine's dialect object
        compiled = _BANDS.insert().compile(dialect=dialect, column_keys=["key", "article_id"])
        if compiled.positional:
            assert tuple(compiled.positiontup or ()) == ("key", "article_id")
        _BANDS_INSERTS[kind] = (compiled.string, compiled.positional)
    return _BANDS_INSERTS[kind]


_BANDS_INSERTS: dict[tuple[str, str, str], tuple[str, bool]] = {}


def _leave(session: Session, article_id: int, story: int) -> None:
    """Take ``article_id`` out of ``story`` and place the other members again without it."""
    others = list(
        session.scalars(
            select(StoryMember.article_id).where(
                StoryMember.story_id == story, StoryMember.article_id != article_id
            )
        )
    )
    session.execute(delete(StoryMember).where(StoryMember.story_id == story))
    reuse: int | None = story
    for member in _articles(session, ArticleRow.id.in_(others)):
        placed = _place(session, member, reuse=reuse)
        if placed == reuse:
            reuse = None
    if reuse is not None:  # every member found another story, or there was none
        session.execute(delete(Story).where(Story.id == story))


_ARTICLES, _BANDS = ArticleRow.__table__, StoryBand.__table__
_MEMBERS, _STORIES = StoryMember.__table__, Story.__table__

# Built once (every value bound): the lookup runs for every article stored.
_SHARED = (
    select(_BANDS.c.article_id)
    .join(_ARTICLES, _ARTICLES.c.id == _BANDS.c.article_id)
    .where(
        _BANDS.c.key.in_(bindparam("keys", expanding=True)),
        _BANDS.c.article_id != bindparam("id"),
        _ARTICLES.c.published_at >= bindparam("start"),
        _ARTICLES.c.published_at <= bindparam("end"),
    )
    .group_by(_BANDS.c.article_id)
    .order_by(func.count().desc(), _BANDS.c.article_id)
    .limit(MAX_CANDIDATES)
    .subquery()
)
_CANDIDATES = (
    select(_ARTICLES.c.id, _MEMBERS.c.story_id, _ARTICLES.c.body)
    .join(_SHARED, _SHARED.c.article_id == _ARTICLES.c.id)
    .join(_MEMBERS, _MEMBERS.c.article_id == _ARTICLES.c.id)
)


# No date range here: SQLite then scanned the published_at index instead of probing the
# band keys (2 s for a batch of 50 at 1,000 articles); the window is applied to the few rows.
_NEAR = (
    select(_BANDS.c.key, _ARTICLES.c.published_at)
    .join(_ARTICLES, _ARTICLES.c.id == _BANDS.c.article_id)
    .join(_MEMBERS, _MEMBERS.c.article_id == _BANDS.c.article_id)
    .where(_BANDS.c.key.in_(bindparam("keys", expanding=True)))
)


def _candidates(session: Session, article: _Article) -> list[tuple[int, int, str]]:
    """(article id, story id, body) of clustered articles sharing a band within the window
    (at most MAX_CANDIDATES, those sharing the most bands)."""
    if len(article.shingles) < neardup.MIN_SHINGLES:
        return []
    rows = session.connection().execute(
        _CANDIDATES,
        {
            "keys": list(article.keys),
            "id": article.id,
            "start": article.published_at - WINDOW,
            "end": article.published_at + WINDOW,
        },
    )
    return [(row.id, row.story_id, row.body) for row in rows]


def _place(session: Session, article: _Article, reuse: int | None = None) -> int:
    """Put ``article`` (not a member of any story) in the story of its verified copies."""
    matches = []
    for other_id, story, body in _candidates(session, article):
        other = neardup.shingles(body)
        if neardup.is_copy(article.shingles, other):
            matches.append((neardup.overlap(article.shingles, other), other_id, story))
    conn = session.connection()
    live: list[int] = []
    if matches:
        # Locked in id order: two writers merging the same stories wait for each other,
        # and a story another writer merged away meanwhile is not joined.
        wanted = sorted({story for _, _, story in matches})
        live = list(
            session.scalars(select(Story.id).where(Story.id.in_(wanted)).order_by(Story.id).with_for_update())
        )
    if not live:
        if reuse is not None:
            conn.execute(_MEMBERS.insert(), {"article_id": article.id, "story_id": reuse})
            _refresh(session, reuse)
            return reuse
        story = conn.execute(
            _STORIES.insert().returning(_STORIES.c.id),
            {
                "published_at": article.published_at, "origin_id": article.id,
                "updated_at": datetime.now(timezone.utc), "credit": article.credit,
                "dateline": article.dateline,
            },
        ).scalar_one()
        conn.execute(_MEMBERS.insert(), {"article_id": article.id, "story_id": story})
        return story
    target = live[0]
    if len(live) > 1:  # the article bridges stories: they are one
        session.execute(
            update(StoryMember).where(StoryMember.story_id.in_(live[1:])).values(story_id=target)
        )
        session.execute(delete(Story).where(Story.id.in_(live[1:])))
    best, linked, _ = max(
        (m for m in matches if m[2] in live), key=lambda m: (m[0].containment, m[0].shared, -m[1])
    )
    conn.execute(
        _MEMBERS.insert(),
        {
            "article_id": article.id,
            "story_id": target,
            "linked_to": linked,
            "contained": round(best.contained, 4),
            "covers": round(best.covers, 4),
        },
    )
    _refresh(session, target)
    return target


def attribute(credits: Sequence[str | None]) -> str | None:
    """The wire credit of a story from its members' credits, earliest member first.

    The news agency most members credit (the earliest on a tie): a copy printed
    uncredited or under the site's own name is still that agency's story. Without
    an agency, the earliest member's credit.
    """
    agencies = Counter(c for c in credits if c in WIRE_AGENCIES)
    if agencies:
        top = max(agencies.values())
        return next(c for c in credits if c in agencies and agencies[c] == top)
    return next((c for c in credits if c), None)


def _refresh(session: Session, story: int) -> None:
    """Recompute the story's origin (earliest member), credit and dateline."""
    members = session.execute(
        select(ArticleRow.id, ArticleRow.published_at, ArticleRow.credit, ArticleRow.dateline)
        .join(StoryMember, StoryMember.article_id == ArticleRow.id)
        .where(StoryMember.story_id == story)
        .order_by(ArticleRow.published_at, ArticleRow.id)
    ).all()
    if not members:
        return
    session.execute(
        update(Story)
        .where(Story.id == story)
        .values(
            origin_id=members[0].id,
            published_at=members[0].published_at,
            credit=attribute([m.credit for m in members]),
            dateline=next((m.dateline for m in members if m.dateline), None),
            updated_at=datetime.now(timezone.utc),
        )
    )


def rebuild(engine: Engine, batch: int = 500, progress: Callable[[int, int], None] | None = None) -> int:
    """Drop every story and band key and cluster the whole archive again, oldest first.

    Each ``batch`` of articles is one transaction; returns the number of articles.
    """
    with Session(engine) as session, session.begin():
        session.execute(delete(StoryMember))
        session.execute(delete(StoryBand))
        session.execute(delete(Story))
        total = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
    done = 0
    after: tuple[datetime, int] | None = None
    while True:
        with Session(engine) as session, session.begin():
            query = select(ArticleRow.id, ArticleRow.published_at).order_by(
                ArticleRow.published_at, ArticleRow.id
            )
            if after is not None:
                query = query.where(
                    (ArticleRow.published_at > after[0])
                    | ((ArticleRow.published_at == after[0]) & (ArticleRow.id > after[1]))
                )
            rows = session.execute(query.limit(batch)).all()
            if not rows:
                return done
            _cluster_all(session, _articles(session, ArticleRow.id.in_([r.id for r in rows])))
            after = (rows[-1].published_at, rows[-1].id)
            done += len(rows)
        if progress is not None:
            progress(done, total)
