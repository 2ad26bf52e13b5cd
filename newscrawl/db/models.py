"""SQLAlchemy 2 schema: articles, their revisions, one row per crawl run, resume points, and stories."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints keep Alembic migrations deterministic on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Search objects made by raw SQL in migrations 0002 and 0009, deliberately not in the ORM model.
SEARCH_OBJECTS = frozenset(
    {"search_vector", "ix_articles_search_vector", "ix_articles_search_tiers"}
)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter: leave the full-text search objects alone."""
    return not (name in SEARCH_OBJECTS or (type_ == "table" and str(name).startswith("articles_fts")))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type, so values are stored as naive UTC there and
    given back their UTC tzinfo on the way out; naive input is refused rather
    than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: newscrawl stores only aware UTC instants")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ArticleRow(Base):
    """One article, unique by canonical URL; the current version of its content."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    source: Mapped[str] = mapped_column(String(100))
    section: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_raw: Mapped[str | None] = mapped_column(Text)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    credit: Mapped[str | None] = mapped_column(String(200))
    dateline: Mapped[str | None] = mapped_column(String(200))
    comment_count: Mapped[int | None] = mapped_column(Integer)
    image_url: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(20))
    word_count: Mapped[int | None] = mapped_column(Integer)
    body_method: Mapped[str | None] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The WARC record of the response the current version was read from (see Article.warc_file).
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)

    revisions: Mapped[list[ArticleRevision]] = relationship(
        back_populates="article", order_by="ArticleRevision.id", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_articles_source_published_at", "source", "published_at"),
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_content_hash", "content_hash"),
        Index("ix_articles_lower_credit", func.lower(credit)),
    )


class ArticleRevision(Base):
    """A previous version of an article, kept when a re-crawl found changed content."""

    __tablename__ = "article_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Why the version was replaced: ``crawl`` (a re-crawl found the site's text changed) or
    #: ``re-extraction`` (``newscrawl reparse`` read the same archived page differently).
    kind: Mapped[str] = mapped_column(String(20), default="crawl", server_default="crawl")

    article: Mapped[ArticleRow] = relationship(back_populates="revisions")


class CrawlRun(Base):
    """One crawl of one spider: when, how it ended, what it did, and whether it looked healthy.

    ``status``: ``running``, then ``finished`` (healthy), ``unhealthy`` (finished but a
    health check failed; see ``health``) or ``failed`` (ended early); ``aborted`` when a
    later crawl found the run's process gone (``host``, ``pid``, ``process_start``) while
    the row still said ``running``.
    """

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spider: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    requests: Mapped[int] = mapped_column(Integer, default=0)
    scraped: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    dropped_by_reason: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    links_seen: Mapped[int] = mapped_column(Integer, default=0)
    links_new: Mapped[int] = mapped_column(Integer, default=0)
    links_refreshed: Mapped[int] = mapped_column(Integer, default=0)
    links_skipped: Mapped[int] = mapped_column(Integer, default=0)
    healthy: Mapped[bool | None] = mapped_column(Boolean)
    health: Mapped[list[str]] = mapped_column(JSON, default=list)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The crawl's process: host name, PID, and the process's start (``boot id:ticks`` on
    #: Linux) so a PID reused by another program is not taken for the crawl.
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    process_start: Mapped[str | None] = mapped_column(String(100))


class ResumePoint(Base):
    """How far one source's last listing walk got, so a killed walk is finished by the next crawl.

    One row per ``(source, start_url)``. ``complete`` is set when a crawl ends with
    Scrapy's ``finished``; while it is false the next crawl walks on past known articles
    to ``max_pages`` (and ``since``, if the walk had one), fetching whatever is not stored.
    ``deepest_page`` is the deepest listing page read so far and ``frontier_url`` the last
    article link on it (to see how far new articles pushed the listing down since).
    """

    __tablename__ = "resume_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    start_url: Mapped[str] = mapped_column(Text)
    max_pages: Mapped[int] = mapped_column(Integer)
    since: Mapped[date | None] = mapped_column(Date)
    deepest_page: Mapped[int] = mapped_column(Integer, default=0)
    frontier_url: Mapped[str | None] = mapped_column(Text)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("source", "start_url"),)


class Story(Base):
    """One story carried by one or more articles (copies of one text); see newscrawl/db/stories.py.

    ``origin_id`` is the earliest-published member; ``credit`` and ``dateline`` are the wire
    attribution of the whole story: the agency most members credit (else the origin's
    credit), and the first dateline found among the members.
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed: deleting articles sets their stories' origin to NULL, one lookup per article.
    origin_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    credit: Mapped[str | None] = mapped_column(String(200))
    dateline: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryMember(Base):
    """An article's story; ``linked_to`` is the article it was verified against (none for the
    first), ``contained`` the share of this article's shingles found in that one and ``covers``
    the share of that one's found in this (a trimmed copy: contained 1.0; an extended one:
    covers 1.0)."""

    __tablename__ = "story_members"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    linked_to: Mapped[int | None] = mapped_column(Integer)
    contained: Mapped[float | None] = mapped_column(Float)
    covers: Mapped[float | None] = mapped_column(Float)


class StoryBand(Base):
    """The LSH index: one row per article and MinHash band; articles sharing a key are candidates."""

    __tablename__ = "story_bands"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
