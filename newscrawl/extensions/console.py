"""ConsoleReporter: the crawl's start line, a progress line every few seconds and the summary line."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

from newscrawl.cli import EXIT_FAILURE, EXIT_OK
from newscrawl.db.engine import safe_url
from newscrawl.extensions.database import crawl_database
from newscrawl.extensions.health import PROBLEMS_KEY, breakdown
from newscrawl.logs import CONSOLE_LOGGER

logger = logging.getLogger(CONSOLE_LOGGER)


def _counts(stats: dict[str, Any], prefix: str) -> tuple[int, str]:
    total, names = breakdown(stats, prefix)
    return total, f" ({names})" if names else ""


def crawl_status(stats: dict[str, Any]) -> str:
    """``finished`` when Scrapy's finish reason is ``finished``, else ``failed``."""
    return "finished" if stats.get("finish_reason") == "finished" else "failed"


def crawl_problems(stats: dict[str, Any]) -> list[str]:
    """The health check's problems, or why there is no verdict."""
    problems = list(stats.get(PROBLEMS_KEY) or [])
    if stats.get("finish_reason") is None:
        problems.append("the crawl did not start or crashed (see the log above)")
    return problems


def exit_code(stats: dict[str, Any]) -> int:
    """0 for a crawl that finished healthy, 1 for one that failed or is unhealthy."""
    return EXIT_OK if crawl_status(stats) == "finished" and not crawl_problems(stats) else EXIT_FAILURE


def summary_line(spider: str, stats: dict[str, Any], status: str | None = None,
                 problems: list[str] | None = None) -> str:
    """One line saying how a crawl went, for `scrapy crawl` and `newscrawl crawl` alike (pure).

    The failed requests (after retries, by cause) explain why fewer articles were scraped
    than links found.
    """
    s = stats
    status = status or crawl_status(s)
    problems = crawl_problems(s) if problems is None else problems
    healthy = status == "finished" and not problems
    dropped, reasons = _counts(s, "item_dropped_reasons_count/")
    failed, causes = _counts(s, "outcomes/failed/")
    elapsed = s.get("elapsed_time_seconds")
    parts = [
        f"{spider}: {status}{'' if healthy else ' UNHEALTHY'}",
        f"links {s.get('incremental/links', s.get('newscrawl/links/articles', 0))} "
        f"(new {s.get('incremental/new', 0)}, "
        f"refreshed {s.get('incremental/refreshed', 0)}, "
        f"known {s.get('incremental/skipped_known', 0)})",
        f"scraped {s.get('item_scraped_count', 0)}",
        f"dropped {dropped}{reasons}",
        f"inserted {s.get('store/inserted', 0)}, updated {s.get('store/updated', 0)}, "
        f"unchanged {s.get('store/unchanged', 0)}",
        f"{s.get('downloader/request_count', 0)} requests"
        + (f" in {elapsed:.1f}s" if isinstance(elapsed, (int, float)) else ""),
        f"failed {failed}{causes}",
    ]
    if problems:
        parts.append("problems: " + " | ".join(problems))
    return "; ".join(parts)


def progress_line(spider: str, stats: dict[str, Any]) -> str:
    """``japantoday: progress: 40 pages, 31 articles scraped (25 stored), dropped 1 (…), failed 2 (HTTP 404 2)``
    (pure). The store writes in batches, so "stored" trails "scraped" by up to a batch."""
    stored = sum(int(stats.get(f"store/{k}", 0)) for k in ("inserted", "updated", "unchanged"))
    dropped, reasons = _counts(stats, "item_dropped_reasons_count/")
    failed, causes = _counts(stats, "outcomes/failed/")
    return (f"{spider}: progress: {stats.get('response_received_count', 0)} pages, "
            f"{stats.get('item_scraped_count', 0)} articles scraped ({stored} stored), "
            f"dropped {dropped}{reasons}, failed {failed}{causes}")


class ConsoleReporter:
    """Logs, on the ``newscrawl.console`` logger (shown by the console at INFO): one line when the
    crawl starts (spider, start URL, database without password), a progress line every
    ``CONSOLE_PROGRESS_INTERVAL`` seconds (10; 0 = none) and, with ``CONSOLE_SUMMARY`` (default
    True), the summary line at the end; with ``CONSOLE_SUMMARY_STDOUT`` that line is printed on
    stdout instead (``newscrawl crawl`` collects its crawls' lines there).
    It must come after the health monitor, whose verdict the summary shows.
    """

    def __init__(self, crawler: Crawler, interval: float, summary: bool,
                 summary_on_stdout: bool = False) -> None:
        self.crawler = crawler
        self.interval = interval
        self.summary = summary
        self.summary_on_stdout = summary_on_stdout
        self.task: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConsoleReporter:
        settings = crawler.settings
        if not settings.getbool("CONSOLE_ENABLED", True):
            raise NotConfigured("CONSOLE_ENABLED is off")
        reporter = cls(crawler, settings.getfloat("CONSOLE_PROGRESS_INTERVAL", 10),
                       settings.getbool("CONSOLE_SUMMARY", True),
                       settings.getbool("CONSOLE_SUMMARY_STDOUT", False))
        crawler.signals.connect(reporter.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(reporter.spider_closed, signal=signals.spider_closed)
        return reporter

    def spider_opened(self, spider: Spider) -> None:
        start = getattr(spider, "start_url", None) or " ".join(getattr(spider, "start_urls", []) or [])
        store = self.crawler.settings.getbool("STORE_ENABLED", True)
        logger.info("%s: crawling %s %s", spider.name, start or "(no start URL)",
                    f"into {safe_url(crawl_database(self.crawler).url)}" if store else "(storing nothing)")
        if self.interval > 0:
            self.task = create_looping_call(self.progress, spider)
            self.task.start(self.interval, now=False)

    def progress(self, spider: Spider) -> None:
        assert self.crawler.stats is not None
        logger.info("%s", progress_line(spider.name, self.crawler.stats.get_stats()))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if self.summary:
            assert self.crawler.stats is not None
            line = summary_line(spider.name, {**self.crawler.stats.get_stats(), "finish_reason": reason})
            if self.summary_on_stdout:
                print(line, flush=True)
            else:
                logger.info("%s", line)
