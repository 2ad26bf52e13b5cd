"""CrawlRunRecorder: one ``crawl_runs`` row per crawl, opened at start and completed at close."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from collections.abc import Sequence
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newscrawl.db.models import CrawlRun
from newscrawl.exceptions import first_line
from newscrawl.extensions.database import Database, crawl_database
from newscrawl.extensions.health import PROBLEMS_KEY
from newscrawl.holder import current as current_process
from newscrawl.holder import is_gone

logger = logging.getLogger(__name__)

DROP_PREFIX = "item_dropped_reasons_count/"


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    """The counts a crawl run records, read from Scrapy's stats."""
    dropped = {
        key.removeprefix(DROP_PREFIX): int(value)
        for key, value in stats.items()
        if key.startswith(DROP_PREFIX)
    }
    return {
        "requests": int(stats.get("downloader/request_count", 0)),
        "scraped": int(stats.get("item_scraped_count", 0)),
        "dropped": int(stats.get("item_dropped_count", 0)),
        "dropped_by_reason": dict(sorted(dropped.items())),
        "inserted": int(stats.get("store/inserted", 0)),
        "updated": int(stats.get("store/updated", 0)),
        "unchanged": int(stats.get("store/unchanged", 0)),
        "errors": int(stats.get("log_count/ERROR", 0)) + int(stats.get("spider_exceptions", 0)),
        "links_seen": int(stats.get("incremental/links", stats.get("newscrawl/links/articles", 0))),
        "links_new": int(stats.get("incremental/new", 0)),
        "links_refreshed": int(stats.get("incremental/refreshed", 0)),
        "links_skipped": int(stats.get("incremental/skipped_known", 0))
        + int(stats.get("incremental/skipped_old", 0)),
    }


def abort_stale_runs(session: Session, spiders: Sequence[str] = ()) -> int:
    """Runs still 'running' whose process is gone were killed: say so (status 'aborted').

    Any spider's run qualifies, but only one recorded on this host whose PID is free or now
    belongs to a later process; a live run (another spider's crawl) is left alone, and so is
    one on another host. A row from before runs recorded their process is taken as killed only
    for ``spiders``, the ones a crawl holding the database's lock is about to run. Every crawl
    does this as it starts, so a killed run never stays 'running' past the next crawl.
    """
    running = session.scalars(
        select(CrawlRun).where(
            CrawlRun.status == "running",
            or_(CrawlRun.pid.is_not(None), CrawlRun.spider.in_(spiders)),
        )
    ).all()
    aborted = [run for run in running if run.pid is None or is_gone(run.host, run.pid, run.process_start)]
    for run in aborted:
        run.status = "aborted"
    return len(aborted)


def run_status(finish_reason: str, problems: list[str]) -> str:
    """``finished``, ``unhealthy`` (finished, but a health check failed) or ``failed``."""
    if finish_reason != "finished":
        return "failed"
    return "unhealthy" if problems else "finished"


def _jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in sorted(stats.items())
        if isinstance(value, (int, float, str, datetime))
    }


class CrawlRunRecorder:
    """Records each crawl in ``crawl_runs``: spider, start, end, status and counts.

    Settings: ``CRAWLRUN_ENABLED`` (default True). The row goes to the crawl's
    :class:`~newscrawl.extensions.database.Database` (looked up when the spider opens,
    since extensions are built before one can find another).
    Status is ``running`` while the crawl goes, then ``finished``, ``unhealthy``
    (the :class:`~newscrawl.extensions.health.HealthMonitor`, which must run first,
    found problems) or ``failed`` (Scrapy's finish reason is not ``finished``).
    """

    def __init__(self, crawler: Crawler, database: Database | None = None) -> None:
        self.crawler = crawler
        self.database = database
        self.engine: Engine | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        if not crawler.settings.getbool("CRAWLRUN_ENABLED", True):
            raise NotConfigured("CRAWLRUN_ENABLED is off")
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.database = self.database or crawl_database(self.crawler)
        self.engine = self.database.engine()
        holder = current_process()  # so a later crawl can tell a killed run from a live one
        with Session(self.engine) as session, session.begin():
            abort_stale_runs(session)
            run = CrawlRun(
                # A replay of archived pages names its run after the spider and the command.
                spider=getattr(spider, "run_name", None) or spider.name,
                started_at=datetime.now(timezone.utc),
                status="running",
                dropped_by_reason={},
                stats={},
                host=holder.host,
                pid=holder.pid,
                process_start=holder.start,
            )
            session.add(run)
            session.flush()
            self.run_id = run.id
        self.crawler.stats.set_value("crawlrun/id", self.run_id)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.engine is None or self.run_id is None:
            return
        try:
            self._complete(reason)
        except SQLAlchemyError as exc:
            # The articles are safe (spooled); only the bookkeeping row is left 'running'.
            logger.error("%s: could not record the end of crawl run %s: %s", spider.name, self.run_id,
                         first_line(exc))

    def _complete(self, reason: str) -> None:
        assert self.engine is not None
        stats = self.crawler.stats.get_stats()
        with Session(self.engine) as session, session.begin():
            run = session.get(CrawlRun, self.run_id)
            assert run is not None
            for key, value in summarize(stats).items():
                setattr(run, key, value)
            run.finished_at = datetime.now(timezone.utc)
            run.finish_reason = reason
            problems = list(stats.get(PROBLEMS_KEY) or [])
            run.health = problems
            run.healthy = not problems if PROBLEMS_KEY in stats else None
            run.status = run_status(reason, problems)
            run.stats = _jsonable(stats)
