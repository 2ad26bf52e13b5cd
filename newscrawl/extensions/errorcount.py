"""ErrorCounter: counts a crawl's ERROR log lines that no failed request or typed drop explains."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from scrapy.crawler import Crawler

from newscrawl.exceptions import first_text_line

#: ERROR log lines not explained by a failed request, and the first of them (one line).
UNEXPECTED_ERRORS_KEY = "health/unexpected_errors"
FIRST_UNEXPECTED_KEY = "health/first_unexpected_error"


def is_expected_error(record: logging.LogRecord) -> bool:
    """An ERROR record that a failed request or a typed drop explains (counted by the rules and
    the drop stats), or the health check's own verdict; any other ERROR is a bug or a fault to
    look at (pure)."""
    message = str(record.msg)
    if record.name == "scrapy.core.scraper":
        return message.startswith(("Error downloading", "Dropped:"))
    if record.name == "scrapy.downloadermiddlewares.retry":
        return message.startswith("Gave up retrying")
    return record.name in ("scrapy.downloadermiddlewares.robotstxt", "newscrawl.extensions.health")


class ErrorCounter(logging.Handler):
    """Counts this crawl's unexpected ERROR records; records that name another crawl's spider are
    not ours (those that name none count for every crawl in the process). Records come from any
    thread (the store's writer), so the counts wait here until :meth:`write` puts them in the stats."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(level=logging.ERROR)
        self.crawler = crawler
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        spider = getattr(record, "spider", None)
        if (spider is not None and spider is not self.crawler.spider) or is_expected_error(record):
            return
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        # Handler.handle() holds self.lock around emit().
        self.count += 1
        if self.first is None:
            self.first = f"{record.name}: {first_text_line(text)}"

    def write(self, stats: Any) -> None:
        """Put the counts in the stats (from the crawl's thread)."""
        with self.lock or nullcontext():
            if self.count:
                stats.set_value(UNEXPECTED_ERRORS_KEY, self.count)
                stats.set_value(FIRST_UNEXPECTED_KEY, self.first)
