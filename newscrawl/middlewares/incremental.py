"""IncrementalMiddleware: the ``articles`` table as seen-state; skip known articles, stop paging at
them, and finish the listing walk of an earlier crawl that did not end."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newscrawl.dates import parse_datetime
from newscrawl.db.models import ArticleRow
from newscrawl.db.resume import Walk, begin_walk, finish_walk, reach_page
from newscrawl.exceptions import DatabaseUnavailable
from newscrawl.extensions.database import Database, crawl_database
from newscrawl.requestmeta import META_ARTICLE, META_LISTED_RAW, META_LISTING_PAGE
from newscrawl.text import fingerprint

logger = logging.getLogger(__name__)

#: URLs per seen-state query: the bound parameters stay under SQLite's smallest default limit
#: (999) and far under PostgreSQL's 65,535, so a sitemap of any size is looked up slice by slice.
LOOKUP_CHUNK = 900


def known_articles(engine: Engine, urls: Iterable[str], chunk: int = LOOKUP_CHUNK) -> dict[str, datetime]:
    """Stored URLs among ``urls`` with their publication instants, ``chunk`` URLs per query."""
    unique = list(dict.fromkeys(urls))
    found: dict[str, datetime] = {}
    with Session(engine) as session:
        for start in range(0, len(unique), chunk):
            rows = session.execute(
                select(ArticleRow.url, ArticleRow.published_at)
                .where(ArticleRow.url.in_(unique[start:start + chunk]))
            )
            found.update((url, published) for url, published in rows)
    return found


class IncrementalMiddleware:
    """Filters what a listing page yields against what the database already holds.

    For each article link: new -> fetched; stored and published within the
    refresh window -> fetched again (to catch updates); stored and older ->
    skipped; listed before the spider's ``since`` date -> skipped. Pagination
    stops after ``INCREMENTAL_STOP_AFTER_KNOWN`` consecutive skipped-known links,
    or when a page has nothing new; with ``-a since=…`` it walks on to the
    watermark instead (backfill), up to ``max_pages``.

    Each walk leaves a resume point (``resume_points``: its ``max_pages`` and ``since``,
    the deepest listing page read), complete once the crawl ends ``finished``. While a
    source's walk is unfinished (the crawl was killed, stopped or closed early), its next
    crawl does not stop at known articles: it walks down to that walk's ``max_pages`` (and
    ``since``), fetching whatever is not stored, gaps left by requests in flight included.
    When new articles pushed the listing down meanwhile (the last link of the deepest page
    read turns up on a deeper page), the walk goes as many pages further.

    Settings: ``INCREMENTAL_ENABLED`` (default True), ``INCREMENTAL_REFRESH_HOURS``
    (48), ``INCREMENTAL_STOP_AFTER_KNOWN`` (5); the database is the crawl's
    :class:`~newscrawl.extensions.database.Database` (while it cannot be opened, every link is fetched).
    Stats: ``incremental/links`` (distinct in this run), ``incremental/repeated``,
    ``incremental/new``, ``incremental/refreshed``,
    ``incremental/skipped_known``, ``incremental/skipped_old``, ``incremental/stopped/<why>``,
    ``incremental/resumed`` (1: this crawl finishes an unfinished walk),
    ``incremental/resume_shift`` (pages the listing moved down since), ``incremental/db_unavailable``.
    Opt out per run with ``-s INCREMENTAL_ENABLED=False`` (a full re-crawl).
    """

    def __init__(
        self, crawler: Crawler, database: Database, refresh_hours: float, stop_after_known: int
    ) -> None:
        self.crawler = crawler
        self.database = database
        self.refresh = timedelta(hours=refresh_hours)
        self.stop_after_known = stop_after_known
        # Links already passed on in this run: a teaser repeated on a later page (or a
        # sidebar) is neither new nor evidence that we reached known articles.
        self.seen: set[bytes] = set()
        self.walk: Walk | None = None
        # Resuming: was the unfinished walk's last link met again (True when it left none)?
        self.frontier_met = True

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        settings = crawler.settings
        if not settings.getbool("INCREMENTAL_ENABLED", True):
            raise NotConfigured("INCREMENTAL_ENABLED is off")
        middleware = cls(
            crawler,
            crawl_database(crawler),
            settings.getfloat("INCREMENTAL_REFRESH_HOURS", 48),
            settings.getint("INCREMENTAL_STOP_AFTER_KNOWN", 5),
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _engine(self) -> Engine:
        return self.database.engine()

    def _known(self, urls: list[str]) -> dict[str, datetime]:
        """Stored URLs among ``urls`` with their publication instants."""
        return known_articles(self._engine(), urls) if urls else {}

    def spider_opened(self, spider: Spider) -> None:
        start_url, max_pages = getattr(spider, "start_url", None), getattr(spider, "max_pages", None)
        if not isinstance(start_url, str) or not isinstance(max_pages, int):
            return  # not a listing spider: no walk to resume
        try:
            with Session(self._engine()) as session, session.begin():
                walk = begin_walk(session, spider.name, start_url, max_pages,
                                  getattr(spider, "since", None), datetime.now(timezone.utc))
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            logger.warning("%s: resume point unavailable (%s): an unfinished walk is not resumed",
                           spider.name, exc)
            return
        self.walk = walk
        if walk.resuming:
            spider.max_pages = walk.max_pages  # type: ignore[attr-defined]  # the spider pages on to it
            self.frontier_met = walk.frontier_url is None
            self.crawler.stats.set_value("incremental/resumed", 1)
            logger.info("%s: resuming an unfinished walk (listing page %d of %d read before): walking on "
                        "past known articles", spider.name, walk.deepest_page, walk.max_pages)

    def _reached(self, page: int, links: list[str], frontier: str | None) -> None:
        """Keep the walk's progress: the deepest listing page read, and its last own article link."""
        walk, spider = self.walk, self.crawler.spider
        if walk is None or frontier is None:
            return
        raised = None
        if not self.frontier_met:
            if walk.frontier_url not in links:
                return  # still above where the unfinished walk stopped
            self.frontier_met = True
            shift = page - walk.deepest_page
            if shift > 0:  # new articles pushed the listing down: walk as much further
                raised = walk.max_pages + shift
                spider.max_pages = max(spider.max_pages, raised)  # type: ignore[union-attr]
                self.crawler.stats.set_value("incremental/resume_shift", shift)
        try:
            with Session(self._engine()) as session, session.begin():
                reach_page(session, walk.id, page, frontier, datetime.now(timezone.utc), raised)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            logger.warning("resume point not updated (%s)", exc)

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterable[Any]:
        if META_LISTING_PAGE not in response.meta:
            yield from result
            return
        yield from self._filter(list(result), response.meta[META_LISTING_PAGE])

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        if META_LISTING_PAGE not in response.meta:
            async for output in result:
                yield output
            return
        for output in self._filter([output async for output in result], response.meta[META_LISTING_PAGE]):
            yield output

    def _filter(self, outputs: list[Any], page: Any = None) -> Iterable[Any]:
        spider = self.crawler.spider
        stats = self.crawler.stats
        articles = [o for o in outputs if isinstance(o, Request) and o.meta.get(META_ARTICLE)]
        pages = [o for o in outputs if isinstance(o, Request) and META_LISTING_PAGE in o.meta]
        chosen = {id(o) for o in (*articles, *pages)}
        others = [o for o in outputs if id(o) not in chosen]
        try:
            known = self._known([r.url for r in articles])
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            # Without the seen-state, fetching everything is safe (the store upserts);
            # skipping would lose articles.
            logger.warning("seen-state unavailable (%s): fetching every link on this page", exc)
            stats.inc_value("incremental/db_unavailable")
            known = {}
        since = self.walk.since if self.walk else getattr(spider, "since", None)
        resuming = bool(self.walk and self.walk.resuming)
        zone = getattr(spider, "timezone", "UTC")
        now = datetime.now(timezone.utc)
        run_of_known = longest_run = fetched = 0
        reached_watermark = False
        frontier = dated_frontier = None
        for request in articles:
            key = fingerprint(request.url)
            if key in self.seen:
                stats.inc_value("incremental/repeated")
                continue
            self.seen.add(key)
            # The page's own last link marks how deep the walk got: a dated teaser if there is
            # one (sidebars repeat on every page, and only the first page sees them first).
            frontier = request.url
            if request.meta.get(META_LISTED_RAW):
                dated_frontier = request.url
            stats.inc_value("incremental/links")
            listed = parse_datetime(request.meta.get(META_LISTED_RAW), zone)
            if since and listed and listed.date() < since:
                stats.inc_value("incremental/skipped_old")
                reached_watermark = True
                continue
            published = known.get(request.url)
            if published is None:
                stats.inc_value("incremental/new")
                run_of_known = 0
            elif now - published <= self.refresh:
                stats.inc_value("incremental/refreshed")
            else:
                stats.inc_value("incremental/skipped_known")
                run_of_known += 1
                longest_run = max(longest_run, run_of_known)
                continue
            fetched += 1
            yield request
        yield from others
        if isinstance(page, int):
            self._reached(page, [r.url for r in articles], dated_frontier or frontier)
        stop = self._stop_reason(since or resuming, reached_watermark, longest_run, fetched, len(articles))
        if stop:
            stats.inc_value(f"incremental/stopped/{stop}")
            return
        yield from pages

    def _stop_reason(
        self, walk_on: Any, reached_watermark: bool, longest_run: int, fetched: int, total: int
    ) -> str | None:
        if reached_watermark:
            return "watermark"
        if walk_on:
            return None  # a backfill (or a resumed walk) goes on past known articles
        if longest_run >= self.stop_after_known:
            return "known"
        if total and not fetched and longest_run:
            return "nothing_new"
        return None

    def spider_closed(self, reason: str) -> None:
        try:
            if self.walk is not None and reason == "finished":
                with Session(self._engine()) as session, session.begin():
                    finish_walk(session, self.walk.id, datetime.now(timezone.utc))
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            logger.warning("resume point not closed (%s): the next crawl walks this one again", exc)
