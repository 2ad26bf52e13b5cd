"""JobCoordinator: keeps a worker's crawl of a job open while any worker has work in it, then leaves it."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from sqlalchemy import Engine

from newscrawl.distributed.jobs import REDIS_ERRORS, Keys, crawl_context, finalize, leave, settled
from newscrawl.exceptions import DatabaseUnavailable
from newscrawl.extensions.database import crawl_database

logger = logging.getLogger(__name__)


class JobCoordinator:
    """A worker's crawl of a job idles (``DontCloseSpider``) while other workers still hold its
    requests, since they may queue more; it closes ``finished`` once the job is settled.

    On close the worker leaves the job (after the store wrote its rows: ``spider_closed`` comes
    after the pipelines closed); a close other than ``finished`` marks the job lost (requests it
    had taken are gone, so its walk must be made again). The last member to leave finalizes the
    job (:func:`~newscrawl.distributed.jobs.finalize`). Settings: ``DISTRIBUTED_REDIS_URL``,
    ``DISTRIBUTED_REDIS_PREFIX``, ``DISTRIBUTED_WORKER_ID``.
    """

    def __init__(self, crawler: Crawler, server: Any, keys: Keys, job_id: str, worker_id: str) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.job_id = job_id
        self.worker_id = worker_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobCoordinator:
        context = crawl_context(crawler, cls.__name__)
        ext = cls(crawler, context.server, context.keys, context.job.id, context.worker_id)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_idle(self, spider: Spider) -> None:
        try:
            done = settled(self.server, self.keys, self.job_id, self.worker_id)
        except REDIS_ERRORS:
            return  # closing: the worker's heartbeat sees the loss and stops the worker
        if not done:
            raise DontCloseSpider

    def _engine(self) -> Engine | None:
        try:
            return crawl_database(self.crawler).engine()
        except DatabaseUnavailable as exc:
            logger.warning("job %s: database unavailable at the end (%s)", self.job_id, exc)
            return None

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            if leave(self.server, self.keys, self.job_id, self.worker_id, clean=reason == "finished"):
                record = finalize(self.server, self.keys, self.job_id, self._engine())
                logger.info("%s: job %s done%s", spider.name, self.job_id,
                            " (a worker was lost: the next enqueue walks the listing again)" if record["lost"] else "")
        except REDIS_ERRORS as exc:
            logger.warning("%s: could not leave job %s in Redis (%s): it ends 'lost' once this worker's "
                         "heartbeat expires", spider.name, self.job_id, exc)
