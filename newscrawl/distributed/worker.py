"""Worker: one long-running process that joins the queued jobs and crawls them with the full pipeline."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from datetime import datetime, timezone
from typing import Any

from scrapy.core.engine import ExecutionEngine

from newscrawl.distributed.jobs import (
    REDIS_ERRORS,
    Job,
    Keys,
    finalize,
    heartbeat,
    join,
    leave,
    load_job,
    needs_work,
    report_lost,
    unregister,
)
from newscrawl.registry import spider_class

logger = logging.getLogger(__name__)

#: Settings every job's crawl runs with (on top of the project's and the command line's).
WORKER_SETTINGS: dict[str, Any] = {
    "SCHEDULER": "newscrawl.distributed.scheduler.JobScheduler",
    # Health is judged per crawl, and a worker sees only its share of a job (a worker that
    # only fetched articles read no listing): the verdict of one worker's part would mislead.
    "HEALTH_ENABLED": False,
}
COMPONENTS: dict[str, dict[str, Any]] = {
    "SPIDER_MIDDLEWARES": {
        "newscrawl.middlewares.incremental.IncrementalMiddleware": None,
        "newscrawl.distributed.incremental.JobIncrementalMiddleware": 600,
    },
    # Last before the download: every other middleware has had its say (robots.txt included).
    "DOWNLOADER_MIDDLEWARES": {"newscrawl.distributed.politeness.HostGateMiddleware": 990},
    "EXTENSIONS": {"newscrawl.distributed.coordinator.JobCoordinator": 450},
}


def worker_settings(settings: Any, redis_url: str, prefix: str, worker_id: str) -> None:
    """Turn a project ``settings`` object into a worker's (in place)."""
    for name, value in {**WORKER_SETTINGS, "DISTRIBUTED_REDIS_URL": redis_url,
                        "DISTRIBUTED_REDIS_PREFIX": prefix, "DISTRIBUTED_WORKER_ID": worker_id}.items():
        settings.set(name, value, priority="cmdline")
    for name, components in COMPONENTS.items():
        merged = {**settings.getdict(name), **components}
        settings.set(name, merged, priority="cmdline")


def job_spider(job: Job, server: Any, keys: Keys, worker_id: str) -> type:
    """The job's spider class, carrying the job, whose ``start()`` runs in one worker only: the
    first to join seeds the job's queue; the others take requests from it."""
    base = spider_class(job.spider)

    async def start(self: Any) -> Any:
        if server.set(keys.seeded(job.id), worker_id, nx=True):
            async for output in base.start(self):
                yield output

    return type(base.__name__, (base,), {"start": start, "newscrawl_job": job, "__module__": base.__module__})


class Worker:
    """Polls Redis for jobs, runs a crawl for each (up to ``max_jobs`` at once), beats its heart.

    A lost Redis stops every crawl cleanly (``shutdown``: the store writes what it holds) and
    the worker exits with ``exit_code`` 3; SIGTERM/SIGINT stop it the same way with 0.
    """

    def __init__(self, process: Any, server: Any, keys: Keys, worker_id: str, max_jobs: int,
                 heartbeat_seconds: float, ttl: float, poll_seconds: float, engine: Any) -> None:
        self.process = process
        self.server = server
        self.keys = keys
        self.worker_id = worker_id
        self.max_jobs = max_jobs
        self.heartbeat_seconds = heartbeat_seconds
        self.ttl = ttl
        self.poll_seconds = poll_seconds
        self.engine = engine  # for finalizing jobs whose workers all died
        self.crawls: dict[str, Any] = {}
        self.stopping = False
        self.exit_code = 0
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        # The engine looks for requests (and asks spider_idle) every 5 s when nothing happens; an
        # idle member of a job must see another worker's new requests sooner than that.
        ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = min(ExecutionEngine._SLOT_HEARTBEAT_INTERVAL, poll_seconds)

    def stop(self, reason: str = "") -> None:
        if not self.stopping and reason:
            logger.info("worker %s: %s", self.worker_id, reason)
        self.stopping = True

    def _beat(self) -> None:
        info = {"host": socket.gethostname(), "pid": os.getpid(), "started": self.started,
                "jobs": sorted(self.crawls)}
        heartbeat(self.server, self.keys, self.worker_id, info, self.ttl)

    async def run(self) -> int:
        last_beat = 0.0
        try:
            while not self.stopping:
                if time.monotonic() - last_beat >= self.heartbeat_seconds:
                    self._beat()
                    last_beat = time.monotonic()
                if len(self.crawls) < self.max_jobs:
                    self._look_for_jobs()
                await asyncio.sleep(self.poll_seconds)
        except REDIS_ERRORS as exc:
            report_lost(self.process.settings.get("DISTRIBUTED_REDIS_URL", ""), exc)
            self.exit_code = 3
        await self._stop_crawls()
        if self.exit_code == 0:
            try:
                unregister(self.server, self.keys, self.worker_id)
            except REDIS_ERRORS:
                pass
        return self.exit_code

    def _look_for_jobs(self) -> None:
        job_ids = sorted(self.server.smembers(self.keys.jobs))
        with self.server.pipeline() as pipe:
            for job_id in job_ids:
                pipe.hlen(self.keys.busy(job_id))
            members = dict(zip(job_ids, pipe.execute()))
        # Fewest workers first: workers spread over the jobs (hosts), whose per-host limit would
        # make a second worker on one job wait while another job has none.
        for job_id in sorted(job_ids, key=lambda j: (members[j], random.random())):
            if job_id in self.crawls or len(self.crawls) >= self.max_jobs:
                continue
            if needs_work(self.server, self.keys, job_id):
                self._join(job_id)
            elif leave(self.server, self.keys, job_id, "", clean=True):
                # Every member of it died with its queue empty: nobody else will close it.
                finalize(self.server, self.keys, job_id, self.engine)

    def _join(self, job_id: str) -> None:
        job = load_job(self.server, self.keys, job_id)
        if job is None:
            return
        if not join(self.server, self.keys, job_id, self.worker_id):  # a member before it takes anything
            return
        crawler = self.process.create_crawler(job_spider(job, self.server, self.keys, self.worker_id))
        logger.info("worker %s: joining job %s (%s)", self.worker_id, job_id, job.spider)
        task = self.process.crawl(crawler, **job.args)
        self.crawls[job_id] = (crawler, task)
        self._beat()

        def done(_: Any) -> None:
            self.crawls.pop(job_id, None)
            try:
                if self.server.hexists(self.keys.busy(job_id), self.worker_id):
                    # The crawl ended without its coordinator leaving the job (it failed to
                    # start): leave it now, as lost, so the job does not wait for this worker.
                    if leave(self.server, self.keys, job_id, self.worker_id, clean=False):
                        finalize(self.server, self.keys, job_id, self.engine)
            except REDIS_ERRORS:
                pass  # the run loop sees the loss too

        task.add_done_callback(done)

    async def _stop_crawls(self) -> None:
        crawls = list(self.crawls.values())
        for crawler, _task in crawls:
            if crawler.engine is not None and crawler.crawling:
                await crawler.stop_async()
        for _crawler, task in crawls:
            try:
                await task
            except Exception:  # noqa: BLE001 (the crawl logged it)
                pass
