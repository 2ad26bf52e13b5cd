"""Querying stories: the stories carried by several articles, and the other copies of an article."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from newscrawl.db.models import ArticleRow, Story, StoryMember
from newscrawl.db.stories import rebuild
from newscrawl.query import ArticleFilter, EngineLike, InvalidFilter, _engine


@dataclass(frozen=True)
class StoryFilter:
    """Which stories a listing covers: first published in ``since``..``until`` (days in ``tz``),
    carried by ``source``, credited to ``credit`` (the story's wire attribution, any case),
    with at least ``min_articles`` articles."""

    since: date | None = None
    until: date | None = None
    tz: str = "UTC"
    source: str | None = None
    credit: str | None = None
    min_articles: int = 2


@dataclass(frozen=True)
class StorySummary:
    """One story: its origin (earliest article), wire attribution and who carried it when."""

    id: int
    title: str
    origin_id: int | None
    origin_source: str | None
    credit: str | None
    dateline: str | None
    articles: int
    sources: list[str]
    first_published: datetime
    last_published: datetime


@dataclass(frozen=True)
class Copy:
    """An article of a story, with the overlap verified when it was linked (None for the first)."""

    id: int
    url: str
    source: str
    title: str
    published_at: datetime
    credit: str | None
    origin: bool
    linked_to: int | None
    contained: float | None
    covers: float | None


def list_stories(
    engine: EngineLike, filters: StoryFilter | None = None, limit: int = 20, offset: int = 0
) -> list[StorySummary]:
    """Stories matching ``filters``, newest first (by their origin's publication)."""
    filters = filters or StoryFilter()
    start, end = ArticleFilter(since=filters.since, until=filters.until, tz=filters.tz).bounds()
    members = (
        select(
            StoryMember.story_id.label("story_id"),
            func.count().label("articles"),
            func.max(ArticleRow.published_at).label("last_published"),
        )
        .join(ArticleRow, ArticleRow.id == StoryMember.article_id)
        .group_by(StoryMember.story_id)
        .having(func.count() >= filters.min_articles)
        .subquery()
    )
    origin = ArticleRow.__table__.alias("origin")
    stmt = (
        select(*Story.__table__.columns, members.c.articles, members.c.last_published, origin.c.title, origin.c.source)
        .join(members, members.c.story_id == Story.id)
        .outerjoin(origin, origin.c.id == Story.origin_id)
    )
    if start is not None:
        stmt = stmt.where(Story.published_at >= start)
    if end is not None:
        stmt = stmt.where(Story.published_at < end)
    if filters.credit is not None:
        stmt = stmt.where(func.lower(Story.credit) == filters.credit.lower())
    if filters.source is not None:
        carried = (
            select(StoryMember.story_id)
            .join(ArticleRow, ArticleRow.id == StoryMember.article_id)
            .where(ArticleRow.source == filters.source)
        )
        stmt = stmt.where(Story.id.in_(carried))
    stmt = stmt.order_by(Story.published_at.desc(), Story.id.desc()).limit(limit).offset(offset)
    with _engine(engine) as eng, eng.connect() as conn:
        rows = conn.execute(stmt).all()
        ids = [row.id for row in rows]
        sources: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            carriers = conn.execute(
                select(StoryMember.story_id, ArticleRow.source)
                .join(ArticleRow, ArticleRow.id == StoryMember.article_id)
                .where(StoryMember.story_id.in_(ids))
                .group_by(StoryMember.story_id, ArticleRow.source)
                .order_by(StoryMember.story_id, ArticleRow.source)
            )
            for story_id, source in carriers:
                sources[story_id].append(source)
    return [
        StorySummary(
            id=row.id,
            title=row.title or "",
            origin_id=row.origin_id,
            origin_source=row.source,
            credit=row.credit,
            dateline=row.dateline,
            articles=row.articles,
            sources=sources[row.id],
            first_published=row.published_at,
            last_published=row.last_published,
        )
        for row in rows
    ]


def story_articles(engine: EngineLike, story_id: int) -> list[Copy]:
    """Every article of the story, oldest first."""
    with _engine(engine) as eng, eng.connect() as conn:
        origin = conn.scalar(select(Story.origin_id).where(Story.id == story_id))
        rows = conn.execute(
            select(
                ArticleRow.id, ArticleRow.url, ArticleRow.source, ArticleRow.title,
                ArticleRow.published_at, ArticleRow.credit, StoryMember.linked_to,
                StoryMember.contained, StoryMember.covers,
            )
            .join(StoryMember, StoryMember.article_id == ArticleRow.id)
            .where(StoryMember.story_id == story_id)
            .order_by(ArticleRow.published_at, ArticleRow.id)
        )
        return [Copy(**dict(row._mapping), origin=row.id == origin) for row in rows]


def story_of(engine: EngineLike, article_id: int) -> int | None:
    """The story id of an article (None when it was never clustered)."""
    with _engine(engine) as eng, eng.connect() as conn:
        return conn.scalar(select(StoryMember.story_id).where(StoryMember.article_id == article_id))


def other_copies(engine: EngineLike, article_id: int) -> list[Copy]:
    """The other articles of this article's story, oldest first."""
    story = story_of(engine, article_id)
    if story is None:
        return []
    return [c for c in story_articles(engine, story) if c.id != article_id]


def count_stories(engine: EngineLike, min_articles: int = 2) -> int:
    """How many stories are carried by at least ``min_articles`` articles."""
    sizes = (
        select(StoryMember.story_id)
        .group_by(StoryMember.story_id)
        .having(func.count() >= min_articles)
        .subquery()
    )
    with _engine(engine) as eng, eng.connect() as conn:
        return conn.scalar(select(func.count()).select_from(sizes)) or 0


def rebuild_stories(engine: EngineLike, **kwargs: Any) -> int:
    """Cluster the whole archive again (see :func:`newscrawl.db.stories.rebuild`)."""
    with _engine(engine) as eng:
        return rebuild(eng, **kwargs)


__all__ = [
    "Copy",
    "InvalidFilter",
    "StoryFilter",
    "StorySummary",
    "count_stories",
    "list_stories",
    "other_copies",
    "rebuild_stories",
    "story_articles",
    "story_of",
]
