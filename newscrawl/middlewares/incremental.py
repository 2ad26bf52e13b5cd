"""IncrementalMiddleware: the ``articles`` table as seen-state; skip known articles, stop paging at them."""

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
from newscrawl.db.engine import open_database, resolve_database_url
from newscrawl.db.models import ArticleRow
from newscrawl.exceptions import DatabaseUnavailable
from newscrawl.requestmeta import META_ARTICLE, META_LISTED_RAW, META_LISTING_PAGE
from newscrawl.text import fingerprint

logger = logging.getLogger(__name__)


class IncrementalMiddleware:
    """Filters what a listing page yields against what the database already holds.

    For each article link: new -> fetched; stored and published within the
    refresh window -> fetched again (to catch updates); stored and older ->
    skipped; listed before the spider's ``since`` date -> skipped. Pagination
    stops after ``INCREMENTAL_STOP_AFTER_KNOWN`` consecutive skipped-known links,
    or when a page has nothing new; with ``-a since=…`` it walks on to the
    watermark instead (backfill), up to ``max_pages``.

    Settings: ``INCREMENTAL_ENABLED`` (default True), ``INCREMENTAL_REFRESH_HOURS``
    (48), ``INCREMENTAL_STOP_AFTER_KNOWN`` (5), ``DATABASE_URL``.
    Stats: ``incremental/links`` (distinct in this run), ``incremental/repeated``,
    ``incremental/new``, ``incremental/refreshed``,
    ``incremental/skipped_known``, ``incremental/skipped_old``, ``incremental/stopped/<why>``.
    Opt out per run with ``-s INCREMENTAL_ENABLED=False`` (a full re-crawl).
    """

    def __init__(
        self, crawler: Crawler, database_url: str, refresh_hours: float, stop_after_known: int
    ) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.refresh = timedelta(hours=refresh_hours)
        self.stop_after_known = stop_after_known
        self.engine: Engine | None = None
        # Links already passed on in this run: a teaser repeated on a later page (or a
        # sidebar) is neither new nor evidence that we reached known articles.
        self.seen: set[bytes] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        settings = crawler.settings
        if not settings.getbool("INCREMENTAL_ENABLED", True):
            raise NotConfigured("INCREMENTAL_ENABLED is off")
        middleware = cls(
            crawler,
            resolve_database_url(settings.get("DATABASE_URL")),
            settings.getfloat("INCREMENTAL_REFRESH_HOURS", 48),
            settings.getint("INCREMENTAL_STOP_AFTER_KNOWN", 5),
        )
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _known(self, urls: list[str]) -> dict[str, datetime]:
        """Stored URLs among ``urls`` with their publication instants (one bound query)."""
        if not urls:
            return {}
        if self.engine is None:
            self.engine = open_database(self.database_url)
        with Session(self.engine) as session:
            rows = session.execute(
                select(ArticleRow.url, ArticleRow.published_at).where(ArticleRow.url.in_(urls))
            ).all()
        return {url: published for url, published in rows}

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterable[Any]:
        if META_LISTING_PAGE not in response.meta:
            yield from result
            return
        yield from self._filter(list(result))

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        if META_LISTING_PAGE not in response.meta:
            async for output in result:
                yield output
            return
        for output in self._filter([output async for output in result]):
            yield output

    def _filter(self, outputs: list[Any]) -> Iterable[Any]:
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
        since = getattr(spider, "since", None)
        zone = getattr(spider, "timezone", "UTC")
        now = datetime.now(timezone.utc)
        run_of_known = longest_run = fetched = 0
        reached_watermark = False
        for request in articles:
            key = fingerprint(request.url)
            if key in self.seen:
                stats.inc_value("incremental/repeated")
                continue
            self.seen.add(key)
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
                request.meta["newscrawl_refresh"] = True
            else:
                stats.inc_value("incremental/skipped_known")
                run_of_known += 1
                longest_run = max(longest_run, run_of_known)
                continue
            fetched += 1
            yield request
        yield from others
        stop = self._stop_reason(since, reached_watermark, longest_run, fetched, len(articles))
        if stop:
            stats.inc_value(f"incremental/stopped/{stop}")
            return
        yield from pages

    def _stop_reason(
        self, since: Any, reached_watermark: bool, longest_run: int, fetched: int, total: int
    ) -> str | None:
        if reached_watermark:
            return "watermark"
        if since:
            return None  # a backfill walks past known articles down to the watermark
        if longest_run >= self.stop_after_known:
            return "known"
        if total and not fetched and longest_run:
            return "nothing_new"
        return None

    def spider_closed(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
