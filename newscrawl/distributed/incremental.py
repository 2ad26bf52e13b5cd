"""JobIncrementalMiddleware: the incremental seen-state for a job's crawl, with the walk the enqueue began."""

from __future__ import annotations

from scrapy import Spider

from newscrawl.middlewares.incremental import IncrementalMiddleware


class JobIncrementalMiddleware(IncrementalMiddleware):
    """:class:`~newscrawl.middlewares.incremental.IncrementalMiddleware` for ``newscrawl worker``.

    Every worker of a job shares one listing walk: ``newscrawl enqueue`` begins it (joining it
    to an unfinished one, as a local crawl does) and the job's last worker finishes it, only
    when no worker was lost (:func:`~newscrawl.distributed.jobs.finalize`). Each worker's
    ``spider_opened`` therefore takes the job's walk instead of beginning its own, and its
    ``spider_closed`` leaves the walk alone.
    """

    def spider_opened(self, spider: Spider) -> None:
        job = getattr(type(spider), "newscrawl_job", None)
        walk = job.walk_state() if job is not None else None
        if walk is None:
            super().spider_opened(spider)
            return
        self.walk = walk
        if walk.resuming:
            spider.max_pages = walk.max_pages  # type: ignore[attr-defined]
            self.frontier_met = walk.frontier_url is None
            self.crawler.stats.set_value("incremental/resumed", 1)

    def spider_closed(self, reason: str) -> None:
        pass  # the job's last worker finishes the walk
