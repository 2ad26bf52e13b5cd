"""HealthMonitor: after each crawl, checks the stats and stored data for signs of a broken site layout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newscrawl.db.engine import open_database, resolve_database_url
from newscrawl.db.models import ArticleRow
from newscrawl.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)

#: Stats key holding the list of problems found (read by the crawl-run recorder and the CLI).
PROBLEMS_KEY = "health/problems"


@dataclass(frozen=True)
class Thresholds:
    """Limits above which a crawl is unhealthy (ratios are 0..1)."""

    max_missing_ratio: float = 0.10
    max_generic_body_ratio: float = 0.50
    max_unparseable_date_ratio: float = 0.10
    max_error_ratio: float = 0.25
    min_items: int = 1
    #: Below this many requests an error ratio says little (one 404 in 4 requests).
    min_requests: int = 10


def _is_error_status(code: str) -> bool:
    # 404/410 are articles a site removed: normal churn, counted in the stats but
    # not a sign that the crawler is blocked or the site is down.
    return code[:1] in "45" and code not in {"404", "410"}


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def check_stats(stats: dict[str, Any], limits: Thresholds, had_articles_before: bool,
                uses_site_selectors: bool = True) -> list[str]:
    """Problems in one crawl's stats, each a sentence naming the field or signal (pure)."""
    problems: list[str] = []
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        problems.append(f"crawl ended early: finish reason {reason!r}")
    links = int(stats.get("newscrawl/links/articles", 0))
    if links == 0 and int(stats.get("newscrawl/listing_pages", 0)) > 0 and had_articles_before:
        problems.append("no article links found on the listing page, though earlier runs stored "
                        "articles: the listing layout or the article URL pattern changed")
    elif int(stats.get("newscrawl/listing_pages", 0)) == 0 and had_articles_before:
        problems.append("no listing page could be read (blocked, moved or down?)")
    items = int(stats.get("newscrawl/fields/items", 0))
    if items >= limits.min_items:
        for field in ("title", "body", "published_raw"):
            missing = int(stats.get(f"newscrawl/fields/missing/{field}", 0))
            if _ratio(missing, items) > limits.max_missing_ratio:
                name = "published_at" if field == "published_raw" else field
                problems.append(f"field {name!r} missing in {missing} of {items} articles "
                                f"({_ratio(missing, items):.0%} > {limits.max_missing_ratio:.0%})")
        generic = int(stats.get("newscrawl/body_method/generic", 0))
        if uses_site_selectors and _ratio(generic, items) > limits.max_generic_body_ratio:
            problems.append(f"field 'body' not found by the site's selectors in {generic} of {items} "
                            f"articles (generic fallback used): the article template changed")
        bad_dates = int(stats.get("item_dropped_reasons_count/UnparseableDate", 0))
        if _ratio(bad_dates, items) > limits.max_unparseable_date_ratio:
            problems.append(f"field 'published_at' unparseable in {bad_dates} of {items} articles")
    requests = int(stats.get("downloader/request_count", 0))
    errors = int(stats.get("downloader/exception_count", 0)) + sum(
        int(v) for k, v in stats.items()
        if k.startswith("downloader/response_status_count/") and _is_error_status(k.rsplit("/", 1)[1])
    )
    if requests >= limits.min_requests and _ratio(errors, requests) > limits.max_error_ratio:
        problems.append(f"{errors} of {requests} requests failed "
                        f"({_ratio(errors, requests):.0%} > {limits.max_error_ratio:.0%})")
    return problems


class HealthMonitor:
    """Runs :func:`check_stats` when a spider closes; logs each problem as an ERROR naming the
    spider, and leaves the list in the ``health/problems`` stat for the run record.

    Settings: ``HEALTH_ENABLED`` (default True), ``HEALTH_MAX_MISSING_RATIO`` (0.10),
    ``HEALTH_MAX_GENERIC_BODY_RATIO`` (0.50), ``HEALTH_MAX_UNPARSEABLE_DATE_RATIO`` (0.10),
    ``HEALTH_MAX_ERROR_RATIO`` (0.25), ``DATABASE_URL``.
    """

    def __init__(self, crawler: Crawler, limits: Thresholds, database_url: str) -> None:
        self.crawler = crawler
        self.limits = limits
        self.database_url = database_url

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HealthMonitor:
        settings = crawler.settings
        if not settings.getbool("HEALTH_ENABLED", True):
            raise NotConfigured("HEALTH_ENABLED is off")
        limits = Thresholds(
            max_missing_ratio=settings.getfloat("HEALTH_MAX_MISSING_RATIO", 0.10),
            max_generic_body_ratio=settings.getfloat("HEALTH_MAX_GENERIC_BODY_RATIO", 0.50),
            max_unparseable_date_ratio=settings.getfloat("HEALTH_MAX_UNPARSEABLE_DATE_RATIO", 0.10),
            max_error_ratio=settings.getfloat("HEALTH_MAX_ERROR_RATIO", 0.25),
        )
        monitor = cls(crawler, limits, resolve_database_url(settings.get("DATABASE_URL")))
        crawler.signals.connect(monitor.spider_closed, signal=signals.spider_closed)
        return monitor

    def _had_articles_before(self, spider: Spider) -> bool:
        try:
            engine = open_database(self.database_url)
        except DatabaseUnavailable:
            return False
        try:
            with Session(engine) as session:
                query = select(func.count()).select_from(ArticleRow).where(ArticleRow.source == spider.name)
                return bool(session.scalar(query))
        finally:
            engine.dispose()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        selectors = getattr(spider, "selectors", None)
        problems = check_stats(stats, self.limits, self._had_articles_before(spider),
                               uses_site_selectors=bool(getattr(selectors, "body", None)))
        for problem in problems:
            logger.error("%s: health: %s", spider.name, problem)
        self.crawler.stats.set_value(PROBLEMS_KEY, problems)
        self.crawler.stats.set_value("health/ok", not problems)
