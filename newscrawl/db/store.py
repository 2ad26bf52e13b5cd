"""Idempotent article writes: insert new URLs, keep revisions of changed ones, touch unchanged ones."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newscrawl.db.models import ArticleRevision, ArticleRow
from newscrawl.db.stories import cluster_urls

#: Article columns a spider's item provides (everything but ids and seen-times).
CONTENT_COLUMNS: tuple[str, ...] = (
    "url", "source", "section", "title", "body", "summary", "published_at", "published_raw",
    "modified_at", "authors", "credit", "dateline", "comment_count", "image_url", "tags",
    "language", "word_count", "body_method", "content_hash", "warc_file", "warc_offset",
)

#: Columns that may change without making a new revision (the text did not change).
VOLATILE_COLUMNS: tuple[str, ...] = (
    "comment_count", "image_url", "tags", "modified_at", "summary", "warc_file", "warc_offset",
)

#: ``article_revisions.kind`` of a version replaced because the site's text changed.
CRAWL = "crawl"
#: ``article_revisions.kind`` of a version replaced because today's extraction read the same
#: archived page differently (``newscrawl reparse``), not because the site edited it.
REEXTRACTION = "re-extraction"


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


def _insert_new(session: Session, batch: Sequence[Mapping[str, Any]], now: datetime) -> set[str]:
    """Insert the batch in one multi-row statement; the URLs actually inserted."""
    rows = [{**values, "first_seen_at": now, "last_seen_at": now} for values in batch]
    table = ArticleRow.__table__
    # A concurrent crawl may have inserted the same URL a moment ago: let the
    # unique constraint decide, then treat those rows as existing.
    stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=["url"]).returning(table.c.url)
    return set(session.scalars(stmt, rows))


def _archive(session: Session, row: ArticleRow, now: datetime, kind: str) -> None:
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
            kind=kind,
        )
    )


def _validate(values: Mapping[str, Any]) -> None:
    unknown = set(values) - set(CONTENT_COLUMNS)
    if unknown:
        raise ValueError(f"not article columns: {sorted(unknown)}")


def _apply(session: Session, row: ArticleRow, values: Mapping[str, Any], now: datetime,
           kind: str, seen: bool, changes: Counter[str] | None) -> Outcome:
    outcome = Outcome.UNCHANGED
    # A re-extraction's values are today's reading of the page: each column takes them, None too.
    reextract = kind == REEXTRACTION
    if row.content_hash != values["content_hash"]:
        _archive(session, row, now, kind)
        columns: tuple[str, ...] = CONTENT_COLUMNS
        outcome = Outcome.UPDATED
    else:
        columns = CONTENT_COLUMNS if reextract else VOLATILE_COLUMNS
    for column in columns:
        if column in values and (reextract or column not in VOLATILE_COLUMNS or values[column] is not None):
            if getattr(row, column) != values[column]:
                setattr(row, column, values[column])
                if changes is not None:
                    changes[column] += 1
    if seen:
        row.last_seen_at = now
    return outcome


def save_articles(
    session: Session, batch: Sequence[Mapping[str, Any]], now: datetime, *, kind: str = CRAWL,
    seen: bool = True, changes: Counter[str] | None = None,
) -> list[Outcome]:
    """Upsert articles keyed on their canonical URLs, inside the caller's transaction.

    One SELECT finds the stored rows and one multi-row INSERT adds the new ones,
    so a batch costs a few round trips, not a few per article. Unchanged
    content only refreshes ``last_seen_at`` and the volatile columns (comment
    count…); changed content moves the old version to ``article_revisions`` and
    updates the row in place. A URL given twice is applied in order. New and
    changed articles are then placed in their stories (near-duplicate clusters).

    ``kind`` marks the revisions this makes (:data:`CRAWL` or :data:`REEXTRACTION`; a
    re-extraction also sets every column, not only the volatile ones, when the text did not
    change); ``seen=False`` leaves ``last_seen_at`` alone (replaying an archive is not seeing
    the page again); ``changes`` counts, per column, the stored rows this changed.
    """
    for values in batch:
        _validate(values)
    urls = list(dict.fromkeys(values["url"] for values in batch))
    query = select(ArticleRow).where(ArticleRow.url.in_(urls)).with_for_update()
    stored = {row.url: row for row in session.scalars(query)}
    first_new: dict[str, Mapping[str, Any]] = {}
    for values in batch:
        if values["url"] not in stored:
            first_new.setdefault(values["url"], values)
    inserted = _insert_new(session, list(first_new.values()), now) if first_new else set()
    if set(first_new) - inserted:
        lost = select(ArticleRow).where(ArticleRow.url.in_(set(first_new) - inserted))
        stored.update({row.url: row for row in session.scalars(lost)})
    outcomes: list[Outcome] = []
    for values in batch:
        url = values["url"]
        if url in inserted and first_new.get(url) is values:
            outcomes.append(Outcome.INSERTED)
            continue
        if url not in stored:  # inserted earlier in this batch: load it to update it
            stored[url] = session.scalars(select(ArticleRow).where(ArticleRow.url == url)).one()
        outcomes.append(_apply(session, stored[url], values, now, kind, seen, changes))
    # New and changed texts join their stories in the same transaction (newscrawl/db/stories.py).
    cluster_urls(session, [v["url"] for v, o in zip(batch, outcomes) if o is not Outcome.UNCHANGED])
    return outcomes

