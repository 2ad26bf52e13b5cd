"""JobScheduler: scrapy-redis' scheduler on one job's queue and fingerprint set, adapted to Scrapy 2.19."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from newscrawl.distributed import serializer
from newscrawl.distributed.jobs import POP, REDIS_ERRORS, Keys, crawl_context, report_lost

logger = logging.getLogger(__name__)


class JobQueue(PriorityQueue):
    """scrapy-redis' priority queue whose pop also marks this worker busy in the job, atomically."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any, busy_key: str, worker_id: str) -> None:
        super().__init__(server, spider, key, serializer)
        self.busy_key = busy_key
        self.worker_id = worker_id

    def pop(self, timeout: float = 0) -> Request | None:
        data = self.server.eval(POP, 2, self.key, self.busy_key, self.worker_id)
        return self._decode_request(data) if data else None


class JobScheduler(Scheduler):
    """Requests of the job ``crawler.spidercls.newscrawl_job`` in Redis, shared by every worker.

    What it changes in scrapy-redis 0.9.1 (pinned): stats without the ``spider`` argument
    Scrapy 2.19 deprecates (0.9.1 warns on every queue operation); ``dupefilter/filtered``
    counted like Scrapy's own scheduler; requests stored as JSON, never pickle (a pickle read
    from Redis could run code); the queue and fingerprints kept when a worker closes (the job
    outlives any one worker; :func:`~newscrawl.distributed.jobs.finalize` deletes them); and a
    lost Redis connection logged once, the worker's heartbeat then stopping it.
    Settings: ``DISTRIBUTED_REDIS_URL``, ``DISTRIBUTED_REDIS_PREFIX``, ``DISTRIBUTED_WORKER_ID``.
    """

    def __init__(self, server: Any, keys: Keys, job_id: str, worker_id: str, crawler: Crawler) -> None:
        super().__init__(server, persist=True, queue_key=keys.queue(job_id),
                         dupefilter=RFPDupeFilter(server, keys.dupefilter(job_id)), serializer=serializer)
        self.keys = keys
        self.job_id = job_id
        self.worker_id = worker_id
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobScheduler:
        context = crawl_context(crawler, cls.__name__)
        return cls(context.server, context.keys, context.job.id, context.worker_id, crawler)

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.queue = JobQueue(self.server, spider, self.queue_key, self.serializer,
                              self.keys.busy(self.job_id), self.worker_id)

    def close(self, reason: str) -> None:
        pass  # the queue belongs to the job, not to this worker

    def _lost(self, exc: Exception) -> None:
        report_lost(self.crawler.settings.get("DISTRIBUTED_REDIS_URL", ""), exc)
        self.stats.set_value("distributed/redis_lost", 1)

    def enqueue_request(self, request: Request) -> bool:
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.stats.inc_value("dupefilter/filtered")
                return False
            self.queue.push(request)
        except REDIS_ERRORS as exc:
            # The request is lost with the connection; the job keeps this worker as a member
            # that never leaves, so the job ends 'lost' and the next enqueue walks it again.
            self._lost(exc)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        try:
            request = self.queue.pop()
        except REDIS_ERRORS as exc:
            self._lost(exc)
            return None
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        try:
            return len(self.queue) > 0
        except REDIS_ERRORS as exc:
            self._lost(exc)
            return False
