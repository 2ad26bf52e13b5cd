"""Resume points: where each source's listing walk got to, so a killed walk is finished next time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newscrawl.db.models import ResumePoint


@dataclass(frozen=True)
class Walk:
    """The listing walk a crawl is to make: its own, or its own joined with an unfinished one."""

    id: int
    max_pages: int
    since: date | None
    #: True when an earlier walk did not finish: go past known articles, down to ``max_pages``.
    resuming: bool
    #: How far the unfinished walk got (page, last article link there), to see the listing's shift.
    deepest_page: int = 0
    frontier_url: str | None = None


def joined_since(own: date | None, pending: date | None) -> date | None:
    """The watermark of a resumed walk: the run's own wins, the earlier of the two if both."""
    if own and pending:
        return min(own, pending)
    return own or pending


def begin_walk(
    session: Session, source: str, start_url: str, max_pages: int, since: date | None, now: datetime
) -> Walk:
    """Record that a walk of ``source`` starts; join it to the source's unfinished one, if any."""
    point = session.scalars(
        select(ResumePoint).where(ResumePoint.source == source, ResumePoint.start_url == start_url)
    ).first()
    if point is None:
        point = ResumePoint(source=source, start_url=start_url, started_at=now)
        session.add(point)
    elif not point.complete:
        point.max_pages = max(max_pages, point.max_pages)
        point.since = joined_since(since, point.since)
        point.updated_at = now
        session.flush()
        return Walk(point.id, point.max_pages, point.since, True, point.deepest_page, point.frontier_url)
    point.max_pages, point.since, point.deepest_page, point.frontier_url = max_pages, since, 0, None
    point.complete, point.started_at, point.updated_at = False, now, now
    session.flush()
    return Walk(point.id, max_pages, since, False)


def reach_page(session: Session, walk_id: int, page: int, frontier_url: str | None, now: datetime,
               max_pages: int | None = None) -> None:
    """The walk read listing page ``page`` (kept only when deeper than before)."""
    values: dict[str, object] = {"deepest_page": page, "frontier_url": frontier_url, "updated_at": now}
    if max_pages is not None:
        values["max_pages"] = max_pages
    session.execute(
        update(ResumePoint)
        .where(ResumePoint.id == walk_id, ResumePoint.deepest_page < page)
        .values(**values)
    )


def finish_walk(session: Session, walk_id: int, now: datetime) -> None:
    """The crawl ended normally: nothing is left to resume."""
    session.execute(update(ResumePoint).where(ResumePoint.id == walk_id).values(complete=True, updated_at=now))
