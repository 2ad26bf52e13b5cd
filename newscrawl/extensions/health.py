"""HealthMonitor: after each crawl, checks the stats and stored data for a dead crawl or a broken site layout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newscrawl.db.models import ArticleRow
from newscrawl.exceptions import DatabaseUnavailable
from newscrawl.extensions.database import Database, crawl_database
from newscrawl.extensions.errorcount import FIRST_UNEXPECTED_KEY, UNEXPECTED_ERRORS_KEY, ErrorCounter
from newscrawl.middlewares.outcomes import exception_kind

logger = logging.getLogger(__name__)

#: Stats key holding the list of problems found (read by the crawl-run recorder and the CLI).
PROBLEMS_KEY = "health/problems"

#: Drops that are a normal part of crawling, not a failure to store an article.
BENIGN_DROPS = frozenset({"ExpiredArticle", "DuplicateUrl", "DuplicateContent"})
#: Discovery faults that make a crawl unhealthy whenever they happen: (stat, one, many).
#: The first that happened is also the cause named when no listing could be read.
DISCOVERY_FAULTS = (
    ("newscrawl/discovery/robots_disallowed_listing", "listing document disallowed by robots.txt",
     "listing documents disallowed by robots.txt"),
    ("newscrawl/discovery/feed_unparseable", "feed could not be parsed", "feeds could not be parsed"),
    ("newscrawl/discovery/redirect_loop", "request ended in a redirect loop", "requests ended in a redirect loop"),
    ("newscrawl/discovery/feed_no_links", "feed without article links", "feeds without article links"),
)
#: Limits that explain why a crawl found fewer (or no) articles; named when nothing was found.
DISCOVERY_LIMITS = (
    ("newscrawl/discovery/sitemap_capped", "sitemap capped"),
    ("newscrawl/discovery/document_budget_reached", "document budget reached"),
    ("robotstxt/forbidden", "forbidden by robots.txt"),
)


@dataclass(frozen=True)
class Thresholds:
    """Limits above which a crawl is unhealthy (ratios are 0..1)."""

    max_missing_ratio: float = 0.10
    max_generic_body_ratio: float = 0.50
    max_unparseable_date_ratio: float = 0.10
    max_error_ratio: float = 0.25
    min_items: int = 1
    #: Below this many requests an error ratio says little (one 404 in 4 requests); a crawl
    #: whose few requests all failed is caught by the listing and article rules instead.
    min_requests: int = 10


#: Articles a site removed: normal churn, counted in the stats but not a sign that the
#: crawler is blocked or the site is down.
CHURN_STATUSES = ("404", "410")


def _is_error_status(code: str) -> bool:
    return code[:1] in "45" and code not in CHURN_STATUSES


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _int(stats: dict[str, Any], key: str) -> int:
    return int(stats.get(key) or 0)


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def request_failures(stats: dict[str, Any]) -> str:
    """Failed download attempts by cause, most first: ``DNS lookup failed 6`` or
    ``HTTP 503 4, connection refused 2``; ``""`` when none failed (pure)."""
    counts: dict[str, int] = {}
    for key, value in stats.items():
        if key.startswith("downloader/response_status_count/"):
            code = key.rsplit("/", 1)[1]
            if code[:1] in "45":
                counts[f"HTTP {code}"] = counts.get(f"HTTP {code}", 0) + int(value)
        elif key.startswith("downloader/exception_type_count/"):
            kind = exception_kind(key.rsplit("/", 1)[1])
            counts[kind] = counts.get(kind, 0) + int(value)
    return ", ".join(f"{cause} {n}" for cause, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _all_requests_failed(stats: dict[str, Any]) -> str | None:
    requests = _int(stats, "downloader/request_count")
    answered = sum(int(v) for k, v in stats.items()
                   if k.startswith("downloader/response_status_count/") and k.rsplit("/", 1)[1][:1] in "123")
    if requests and not answered:
        return f"all {requests} requests failed: {request_failures(stats) or 'no response'}"
    return None


def listing_cause(stats: dict[str, Any]) -> str:
    """Why no listing page was read, in one line: ``cannot resolve japantoday.com (all 6 requests
    failed: DNS lookup failed 6)``, ``listing answered 404 (URL)``, ``robots.txt forbids 1 request`` (pure)."""
    forbidden = _int(stats, "robotstxt/forbidden")
    first = (stats.get("outcomes/listing/failure")
             or next(iter(discovery_faults(stats)), None)
             or (f"robots.txt forbids {_plural(forbidden, 'request')}" if forbidden else None))
    everything = _all_requests_failed(stats)
    if first and everything:
        return f"{first} ({everything})"
    if first or everything:
        return str(first or everything)
    if not _int(stats, "downloader/request_count"):
        return "no listing page was requested"
    return "no listing response was a text page"


def discovery_faults(stats: dict[str, Any]) -> list[str]:
    """``1 feed without article links``…: the discovery faults this crawl met, one phrase each (pure)."""
    return [_plural(_int(stats, key), one, many) for key, one, many in DISCOVERY_FAULTS if _int(stats, key)]


def _limits_named(stats: dict[str, Any]) -> str:
    named = [f"{label} {_int(stats, key)}" for key, label in DISCOVERY_LIMITS if _int(stats, key)]
    return f"; {', '.join(named)}" if named else ""


def breakdown(stats: dict[str, Any], prefix: str) -> tuple[int, str]:
    """The total of the ``<prefix><name>`` stats and ``name n, name n``, largest first (pure)."""
    found = sorted(((k.removeprefix(prefix), int(v)) for k, v in stats.items() if k.startswith(prefix)),
                   key=lambda kv: (-kv[1], kv[0]))
    return sum(n for _, n in found), ", ".join(f"{name} {n}" for name, n in found)


def _nothing_stored(stats: dict[str, Any]) -> str | None:
    """Why a crawl that found article links scraped none, if an article failed or was dropped."""
    if _int(stats, "item_scraped_count"):
        return None
    failed, causes = breakdown(stats, "outcomes/articles/failed/")
    churn = sum(_int(stats, f"outcomes/articles/failed/HTTP {code}") for code in CHURN_STATUSES)
    # A removed article (404) among known ones is churn; only 404s and nothing known is a wrong pattern.
    if failed > churn or (failed and not _int(stats, "outcomes/articles/fetched")
                          and not _int(stats, "incremental/skipped_known")):
        return f"no article stored: {_plural(failed, 'article page')} failed ({causes}){_limits_named(stats)}"
    drops = {k.rsplit("/", 1)[1]: int(v) for k, v in stats.items() if k.startswith("item_dropped_reasons_count/")}
    bad = {reason: n for reason, n in sorted(drops.items()) if reason not in BENIGN_DROPS}
    if bad:
        reasons = ", ".join(f"{reason} {n}" for reason, n in bad.items())
        return f"no article stored: {_plural(sum(bad.values()), 'article')} dropped ({reasons})"
    return None


def _dead_crawl(stats: dict[str, Any], had_articles_before: bool) -> str | None:
    """The one problem of a crawl that read no listing, found no links or stored no article."""
    listing_pages = _int(stats, "newscrawl/listing_pages")
    if listing_pages == 0:
        earlier = " (earlier runs stored articles from this source)" if had_articles_before else ""
        return f"no listing page could be read: {listing_cause(stats)}{earlier}"
    if _int(stats, "newscrawl/links/articles") == 0:
        seen = _int(stats, "newscrawl/links/seen")
        matched = f" (0 of {seen} links matched the article pattern)" if seen else ""
        changed = ": the listing layout or the article URL pattern changed" if had_articles_before else ""
        return (f"no article links on {_plural(listing_pages, 'listing page')}{matched}{changed}"
                f"{_limits_named(stats)}")
    return _nothing_stored(stats)


def check_stats(stats: dict[str, Any], limits: Thresholds, had_articles_before: bool,
                uses_site_selectors: bool = True) -> list[str]:
    """Problems in one crawl's stats, each a sentence naming the field, signal or cause (pure)."""
    problems: list[str] = []
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        problems.append(f"crawl ended early: finish reason {reason!r}")
    lost, failure = _int(stats, "store/lost"), stats.get("store/failure")
    if lost or failure:
        problems.append(f"{_plural(lost, 'article') + ' ' if lost else 'articles '}could not be stored: "
                        f"{failure or 'see the log'}")
    dead = _dead_crawl(stats, had_articles_before)
    if dead:
        problems.append(dead)
    items = _int(stats, "newscrawl/fields/items")
    if items >= limits.min_items:
        for field in ("title", "body", "published_raw"):
            missing = _int(stats, f"newscrawl/fields/missing/{field}")
            if _ratio(missing, items) > limits.max_missing_ratio:
                name = "published_at" if field == "published_raw" else field
                problems.append(f"field {name!r} missing in {missing} of {items} articles "
                                f"({_ratio(missing, items):.0%} > {limits.max_missing_ratio:.0%})")
        generic = _int(stats, "newscrawl/body_method/generic")
        if uses_site_selectors and _ratio(generic, items) > limits.max_generic_body_ratio:
            problems.append(f"field 'body' not found by the site's selectors in {generic} of {items} "
                            f"articles (generic fallback used): the article template changed")
        bad_dates = _int(stats, "item_dropped_reasons_count/UnparseableDate")
        if _ratio(bad_dates, items) > limits.max_unparseable_date_ratio:
            problems.append(f"field 'published_at' unparseable in {bad_dates} of {items} articles")
    requests = _int(stats, "downloader/request_count")
    errors = _int(stats, "downloader/exception_count") + sum(
        int(v) for k, v in stats.items()
        if k.startswith("downloader/response_status_count/") and _is_error_status(k.rsplit("/", 1)[1])
    )
    # When every request failed, the listing rule above has said so with the cause.
    if (requests >= limits.min_requests and _ratio(errors, requests) > limits.max_error_ratio
            and not _all_requests_failed(stats)):
        problems.append(f"{errors} of {requests} requests failed "
                        f"({_ratio(errors, requests):.0%} > {limits.max_error_ratio:.0%})")
    problems += [fault for fault in discovery_faults(stats) if fault not in (dead or "")]
    unexpected, first = _int(stats, UNEXPECTED_ERRORS_KEY), str(stats.get(FIRST_UNEXPECTED_KEY, "?"))
    if unexpected and not (unexpected == 1 and failure and str(failure) in first):  # said above
        problems.append(f"{_plural(unexpected, 'unexpected ERROR log line')} (first: {first})")
    return problems


def source_of(spider: Spider) -> str:
    """The ``source`` the spider stores its articles under: the host for ``news``, else its name."""
    return str(getattr(spider, "source", None) or spider.name)


class HealthMonitor:
    """Runs :func:`check_stats` when a spider closes; logs each problem as an ERROR naming the
    spider, and leaves the list in the ``health/problems`` stat for the run record.

    Settings: ``HEALTH_ENABLED`` (default True), ``HEALTH_MAX_MISSING_RATIO`` (0.10),
    ``HEALTH_MAX_GENERIC_BODY_RATIO`` (0.50), ``HEALTH_MAX_UNPARSEABLE_DATE_RATIO`` (0.10),
    ``HEALTH_MAX_ERROR_RATIO`` (0.25), ``HEALTH_MIN_REQUESTS`` (10). Whether earlier crawls stored
    articles from the source is read from the crawl's :class:`~newscrawl.extensions.database.Database`
    (looked up when the spider closes).
    Stats: ``health/problems``, ``health/ok``, ``health/unexpected_errors`` and
    ``health/first_unexpected_error`` (counted from the crawler's start by a logging handler).
    """

    def __init__(self, crawler: Crawler, limits: Thresholds, database: Database | None = None) -> None:
        self.crawler = crawler
        self.limits = limits
        self.database = database
        self.errors = ErrorCounter(crawler)

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
            min_requests=settings.getint("HEALTH_MIN_REQUESTS", 10),
        )
        monitor = cls(crawler, limits)
        # From the start, so errors while the pipelines open count too.
        logging.root.addHandler(monitor.errors)
        crawler.signals.connect(monitor.spider_closed, signal=signals.spider_closed)
        return monitor

    def _had_articles_before(self, spider: Spider) -> bool:
        self.database = self.database or crawl_database(self.crawler)
        try:
            with Session(self.database.engine()) as session:
                query = select(func.count()).select_from(ArticleRow).where(ArticleRow.source == source_of(spider))
                return bool(session.scalar(query))
        except (DatabaseUnavailable, SQLAlchemyError):
            return False  # the store has said why; health judges the crawl from its stats

    def spider_closed(self, spider: Spider, reason: str) -> None:
        logging.root.removeHandler(self.errors)
        self.errors.write(self.crawler.stats)
        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        selectors = getattr(spider, "selectors", None)
        problems = check_stats(stats, self.limits, self._had_articles_before(spider),
                               uses_site_selectors=bool(getattr(selectors, "body", None)))
        for problem in problems:
            logger.error("%s: health: %s", spider.name, problem)
        self.crawler.stats.set_value(PROBLEMS_KEY, problems)
        self.crawler.stats.set_value("health/ok", not problems)
