"""Idempotent article writes: insert new URLs, keep revisions of changed ones, touch unchanged ones."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newscrawl.db.models import ArticleRevision, ArticleRow

#: Article columns a spider's item provides (everything but ids and seen-times).
CONTENT_COLUMNS: tuple[str, ...] = (
    "url", "source", "section", "title", "body", "summary", "published_at", "published_raw",
    "modified_at", "authors", "credit", "dateline", "comment_count", "image_url", "tags",
    "language", "word_count", "body_method", "content_hash",
)

#: Columns that may change without making a new revision (the text did not change).
VOLATILE_COLUMNS: tuple[str, ...] = ("comment_count", "image_url", "tags", "modified_at", "summary")


class Outcome(enum.Enum):
    """What saving one article did to the database."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"newscrawl supports SQLite and PostgreSQL, not {dialect}")


def _insert_new(session: Session, values: Mapping[str, Any], now: datetime) -> bool:
    stmt: Insert = _insert(session)(ArticleRow).values(
        **values, first_seen_at=now, last_seen_at=now
    )
    # A concurrent crawl may have inserted the same URL a moment ago: let the
    # unique constraint decide, then fall through to the update path.
    stmt = stmt.on_conflict_do_nothing(index_elements=["url"]).returning(ArticleRow.id)
    return session.execute(stmt).scalar_one_or_none() is not None


def _archive(session: Session, row: ArticleRow, now: datetime) -> None:
    session.add(
        ArticleRevision(
            article_id=row.id,
            title=row.title,
            body=row.body,
            published_at=row.published_at,
            modified_at=row.modified_at,
            content_hash=row.content_hash,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            replaced_at=now,
        )
    )


def save_article(session: Session, values: Mapping[str, Any], now: datetime) -> Outcome:
    """Upsert one article keyed on its canonical URL, inside the caller's transaction.

    Unchanged content only refreshes ``last_seen_at`` and the volatile columns
    (comment count…); changed content moves the old version to
    ``article_revisions`` and updates the row in place.
    """
    unknown = set(values) - set(CONTENT_COLUMNS)
    if unknown:
        raise ValueError(f"not article columns: {sorted(unknown)}")
    query = select(ArticleRow).where(ArticleRow.url == values["url"]).with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        if _insert_new(session, values, now):
            return Outcome.INSERTED
        row = session.scalars(query).one()
    outcome = Outcome.UNCHANGED
    if row.content_hash != values["content_hash"]:
        _archive(session, row, now)
        columns: tuple[str, ...] = CONTENT_COLUMNS
        outcome = Outcome.UPDATED
    else:
        columns = VOLATILE_COLUMNS
    for column in columns:
        if column in values and (column not in VOLATILE_COLUMNS or values[column] is not None):
            setattr(row, column, values[column])
    row.last_seen_at = now
    return outcome
