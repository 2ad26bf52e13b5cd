"""Health checks as a truth table over crawl stats (the pure part of the monitor)."""

from __future__ import annotations

from typing import Any

import pytest

from newscrawl.extensions.crawlrun import run_status
from newscrawl.extensions.health import Thresholds, check_stats, listing_cause, request_failures

HEALTHY: dict[str, Any] = {
    "finish_reason": "finished",
    "newscrawl/listing_pages": 3,
    "newscrawl/links/articles": 20,
    "newscrawl/fields/items": 20,
    "item_scraped_count": 19,
    "newscrawl/body_method/selectors": 19,
    "newscrawl/body_method/generic": 1,
    "downloader/request_count": 25,
    "downloader/response_status_count/200": 23,
    "downloader/response_status_count/404": 1,
    "downloader/response_status_count/503": 1,
}


@pytest.mark.parametrize(
    ("changes", "had_before", "expected"),
    [
        ({}, True, []),
        ({"newscrawl/links/articles": 0, "newscrawl/fields/items": 0}, True, ["the listing layout or the article"]),
        ({"newscrawl/links/articles": 0, "newscrawl/fields/items": 0}, False, ["no article links on 3 listing pages"]),
        ({"newscrawl/listing_pages": 0, "newscrawl/links/articles": 0}, True, ["no listing page could be read"]),
        ({"newscrawl/fields/missing/title": 3}, True, ["field 'title' missing in 3 of 20"]),
        ({"newscrawl/fields/missing/title": 2}, True, []),
        ({"newscrawl/fields/missing/body": 20}, True, ["field 'body' missing in 20 of 20"]),
        ({"newscrawl/fields/missing/published_raw": 5}, True, ["field 'published_at' missing"]),
        ({"newscrawl/body_method/generic": 15}, True, ["field 'body' not found by the site's selectors"]),
        ({"item_dropped_reasons_count/UnparseableDate": 4}, True, ["field 'published_at' unparseable"]),
        ({"downloader/response_status_count/503": 9}, True, ["9 of 25 requests failed"]),
        ({"downloader/response_status_count/404": 9}, True, []),
        ({"downloader/exception_count": 7}, True, ["8 of 25 requests failed"]),
        ({"finish_reason": "shutdown"}, True, ["crawl ended early"]),
    ],
    ids=[
        "healthy", "no-links-after-earlier-articles", "no-links-first-run", "listing-unreadable",
        "title-missing-15pct", "title-missing-10pct-ok", "body-missing", "date-missing",
        "generic-fallback-majority", "unparseable-dates", "server-errors", "404s-are-churn",
        "connection-errors", "ended-early",
    ],
)
def test_check_stats(changes: dict[str, Any], had_before: bool, expected: list[str]) -> None:
    problems = check_stats({**HEALTHY, **changes}, Thresholds(), had_articles_before=had_before)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected):
        assert fragment in problem


def test_generic_bodies_are_fine_for_a_spider_without_site_selectors() -> None:
    stats = {**HEALTHY, "newscrawl/body_method/generic": 20}
    assert check_stats(stats, Thresholds(), True, uses_site_selectors=False) == []


@pytest.mark.parametrize(
    ("reason", "problems", "status"),
    [("finished", [], "finished"), ("finished", ["x"], "unhealthy"), ("shutdown", [], "failed")],
)
def test_run_status(reason: str, problems: list[str], status: str) -> None:
    assert run_status(reason, problems) == status


# --- A dead crawl is unhealthy on its first run, and the problem names the cause -----------

DNS = "downloader/exception_type_count/scrapy.exceptions.CannotResolveHostError"
REFUSED = "downloader/exception_type_count/twisted.internet.error.ConnectionRefusedError"
FIRST_RUN: dict[str, Any] = {"finish_reason": "finished"}


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({"downloader/request_count": 6, DNS: 6, "downloader/exception_count": 6,
          "outcomes/listing/failure": "cannot resolve japantoday.com"},
         ["no listing page could be read: cannot resolve japantoday.com (all 6 requests failed: DNS lookup failed 6)"]),
        ({"downloader/request_count": 8, REFUSED: 8, "downloader/exception_count": 8},
         ["no listing page could be read: all 8 requests failed: connection refused 8"]),
        ({"downloader/request_count": 2, "downloader/response_status_count/200": 1,
          "downloader/response_status_count/404": 1, "outcomes/listing/failure": "listing answered 404 (http://x/p)"},
         ["no listing page could be read: listing answered 404 (http://x/p)"]),
        ({"downloader/request_count": 2, "downloader/response_status_count/200": 2, "robotstxt/forbidden": 1},
         ["no listing page could be read: robots.txt forbids 1 request"]),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/seen": 40, "downloader/request_count": 2,
          "downloader/response_status_count/200": 2},
         ["no article links on 1 listing page (0 of 40 links matched the article pattern)"]),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/articles": 20, "downloader/request_count": 62,
          "downloader/response_status_count/200": 2, "downloader/response_status_count/500": 60,
          "outcomes/articles/failed/HTTP 500": 20, "outcomes/failed/HTTP 500": 20},
         ["no article stored: 20 article pages failed (HTTP 500 20)",
          "60 of 62 requests failed (97% > 25%)"]),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/articles": 3, "downloader/request_count": 5,
          "downloader/response_status_count/200": 5, "outcomes/articles/fetched": 3,
          "item_dropped_reasons_count/MissingField": 3, "newscrawl/fields/items": 3},
         ["no article stored: 3 articles dropped (MissingField 3)"]),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/articles": 3, "downloader/request_count": 5,
          "downloader/response_status_count/200": 5, "outcomes/articles/fetched": 1,
          "item_dropped_reasons_count/ExpiredArticle": 1, "incremental/skipped_known": 2}, []),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/articles": 3, "downloader/request_count": 1,
          "downloader/response_status_count/200": 1, "incremental/skipped_known": 3}, []),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/articles": 3, "downloader/request_count": 3,
          "downloader/response_status_count/200": 2, "downloader/response_status_count/404": 1,
          "incremental/skipped_known": 2, "outcomes/articles/failed/HTTP 404": 1}, []),
        ({"newscrawl/listing_pages": 1, "newscrawl/links/articles": 3, "downloader/request_count": 4,
          "downloader/response_status_count/200": 1, "downloader/response_status_count/404": 3,
          "outcomes/articles/failed/HTTP 404": 3},
         ["no article stored: 3 article pages failed (HTTP 404 3)"]),
    ],
    ids=["dns", "connection-refused", "listing-404", "robots-forbidden", "no-links", "articles-all-500",
         "articles-all-dropped", "only-an-expired-article-is-fine", "all-known-is-fine",
         "a-removed-known-article-is-churn", "only-404-articles-on-a-first-run"],
)
def test_a_dead_first_run_is_unhealthy_and_names_the_cause(stats: dict[str, Any], expected: list[str]) -> None:
    assert check_stats({**FIRST_RUN, **stats}, Thresholds(), had_articles_before=False) == expected


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({"store/lost": 3, "store/failure": "disk full"}, "3 articles could not be stored: disk full"),
        ({"store/failure": "database is locked"}, "articles could not be stored: database is locked"),
        ({"finish_reason": "store_failed", "store/lost": 2, "store/failure": "gone"},
         "crawl ended early: finish reason 'store_failed'"),
        ({"health/unexpected_errors": 2, "health/first_unexpected_error": "newscrawl.pipelines.store: refused x"},
         "2 unexpected ERROR log lines (first: newscrawl.pipelines.store: refused x)"),
        ({"store/failure": "disk full", "health/unexpected_errors": 2,
          "health/first_unexpected_error": "newscrawl.pipelines.store: disk full"}, "2 unexpected ERROR log lines"),
        ({"newscrawl/discovery/redirect_loop": 2}, "2 requests ended in a redirect loop"),
        ({"newscrawl/discovery/robots_disallowed_listing": 1}, "1 listing document disallowed by robots.txt"),
        ({"newscrawl/discovery/feed_no_links": 1}, "1 feed without article links"),
        ({"newscrawl/discovery/feed_unparseable": 2}, "2 feeds could not be parsed"),
    ],
    ids=["store-lost", "store-failure", "store-failed-finish", "unexpected-error", "store-error-and-another",
         "redirect-loop",
         "robots-listing", "feed-no-links", "feed-unparseable"],
)
def test_store_failures_errors_and_discovery_faults_are_problems(stats: dict[str, Any], expected: str) -> None:
    problems = check_stats({**HEALTHY, **stats}, Thresholds(), had_articles_before=True)
    assert any(expected in problem for problem in problems), problems


def test_caps_are_named_when_they_explain_no_links() -> None:
    stats = {**FIRST_RUN, "newscrawl/listing_pages": 1, "newscrawl/discovery/sitemap_capped": 1,
             "newscrawl/discovery/document_budget_reached": 1, "downloader/response_status_count/200": 1}
    [problem] = check_stats(stats, Thresholds(), had_articles_before=False)
    assert problem.startswith("no article links on 1 listing page")
    assert "sitemap capped 1" in problem and "document budget reached 1" in problem
    assert check_stats({**HEALTHY, "newscrawl/discovery/sitemap_capped": 1}, Thresholds(), True) == []


@pytest.mark.parametrize(
    ("stats", "cause"),
    [
        ({DNS: 3}, "DNS lookup failed 3"),
        ({REFUSED: 2, "downloader/response_status_count/503": 4}, "HTTP 503 4, connection refused 2"),
        ({"downloader/exception_type_count/twisted.internet.error.TimeoutError": 1}, "timeout 1"),
        ({"downloader/exception_type_count/twisted.web._newclient.ResponseNeverReceived": 1},
         "connection lost 1"),
        ({"downloader/exception_type_count/builtins.ValueError": 1}, "ValueError 1"),
        ({"downloader/response_status_count/200": 3}, ""),
    ],
    ids=["dns", "status-and-refused", "timeout", "never-received", "other-exception", "none"],
)
def test_request_failures_are_named(stats: dict[str, Any], cause: str) -> None:
    assert request_failures(stats) == cause


@pytest.mark.parametrize(
    ("stats", "cause"),
    [
        ({"outcomes/listing/failure": "cannot resolve x.example"}, "cannot resolve x.example"),
        ({DNS: 2, "downloader/request_count": 2, "downloader/exception_count": 2},
         "all 2 requests failed: DNS lookup failed 2"),
        ({"robotstxt/forbidden": 2}, "robots.txt forbids 2 requests"),
        ({"downloader/request_count": 0}, "no listing page was requested"),
        ({"newscrawl/discovery/redirect_loop": 1, "downloader/request_count": 6,
          "downloader/response_status_count/302": 5, "downloader/response_status_count/200": 1},
         "1 request ended in a redirect loop"),
        ({"newscrawl/discovery/feed_unparseable": 1, "robotstxt/forbidden": 1}, "1 feed could not be parsed"),
    ],
    ids=["first-failure", "all-failed", "robots", "nothing-requested", "redirect-loop", "unparseable-feed"],
)
def test_listing_cause(stats: dict[str, Any], cause: str) -> None:
    assert cause in listing_cause(stats)


def test_had_articles_before_is_keyed_by_the_source_the_spider_stores(tmp_path: Any) -> None:
    from datetime import datetime, timezone

    from scrapy.utils.test import get_crawler
    from sqlalchemy.orm import Session

    from newscrawl.db import ArticleRow, open_database
    from newscrawl.extensions.health import HealthMonitor
    from newscrawl.spiders.news import NewsSpider
    from tests.test_pipelines import WITH_DATABASE

    url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = open_database(url)
    now = datetime.now(timezone.utc)
    with Session(engine) as session, session.begin():
        session.add(ArticleRow(url="http://news.example.org/a/one-two-three-four", source="news.example.org",
                               title="t", body="b", published_at=now, first_seen_at=now, last_seen_at=now,
                               content_hash="h"))
    engine.dispose()
    crawler = get_crawler(NewsSpider, {"DATABASE_URL": url, **WITH_DATABASE})
    spider = NewsSpider.from_crawler(crawler, start_url="http://www.news.example.org/politics/")
    monitor = HealthMonitor.from_crawler(crawler)
    assert monitor._had_articles_before(spider) is True
    other = NewsSpider.from_crawler(get_crawler(NewsSpider, {"DATABASE_URL": url}), start_url="http://other.example/")
    assert monitor._had_articles_before(other) is False


def test_unexpected_error_lines_are_counted_but_download_failures_and_other_crawls_are_not() -> None:
    import logging

    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from newscrawl.extensions.health import HealthMonitor

    crawler = get_crawler(Spider, {"DATABASE_URL": "sqlite://"})
    crawler.spider = Spider("mine")
    monitor = HealthMonitor.from_crawler(crawler)
    try:
        logging.getLogger("scrapy.core.scraper").error("Error downloading %(request)s", {"request": "<GET x>"},
                                                       extra={"spider": crawler.spider})
        logging.getLogger("scrapy.downloadermiddlewares.retry").error("Gave up retrying %s", "<GET x>")
        logging.getLogger("scrapy.core.scraper").error("Dropped: %(exception)s\n%(item)s",
                                                       {"exception": "expired", "item": "{}"})
        logging.getLogger("scrapy.core.scraper").error("Spider error processing %s", "<GET x>",
                                                       extra={"spider": Spider("other")})
        logging.getLogger("scrapy.core.scraper").error("Spider error processing %s\nTraceback…", "<GET y>",
                                                       extra={"spider": crawler.spider})
        logging.getLogger("newscrawl.pipelines.store").error("Database refused %s", "http://x/a")
    finally:
        logging.root.removeHandler(monitor.errors)
    monitor.errors.write(crawler.stats)
    assert crawler.stats.get_value("health/unexpected_errors") == 2
    assert crawler.stats.get_value("health/first_unexpected_error") == (
        "scrapy.core.scraper: Spider error processing <GET y>"
    )


def test_a_crawl_whose_requests_all_failed_is_one_problem_not_two() -> None:
    stats = {**FIRST_RUN, "downloader/request_count": 16, DNS: 16, "downloader/exception_count": 16,
             "outcomes/listing/failure": "cannot resolve www.foxnews.com"}
    assert check_stats(stats, Thresholds(), had_articles_before=False) == [
        "no listing page could be read: cannot resolve www.foxnews.com (all 16 requests failed: DNS lookup failed 16)"
    ]


def test_a_discovery_fault_that_explains_an_unread_listing_is_named_once() -> None:
    stats = {**FIRST_RUN, "newscrawl/discovery/robots_disallowed_listing": 1, "robotstxt/forbidden": 1,
             "downloader/request_count": 1, "downloader/response_status_count/200": 1}
    assert check_stats(stats, Thresholds(), had_articles_before=False) == [
        "no listing page could be read: 1 listing document disallowed by robots.txt"
    ]


def test_the_store_failure_s_own_error_line_is_not_reported_twice() -> None:
    stats = {**HEALTHY, "store/lost": 3, "store/failure": "disk full; 3 articles not stored",
             "health/unexpected_errors": 1,
             "health/first_unexpected_error": "newscrawl.pipelines.store: disk full; 3 articles not stored"}
    assert check_stats(stats, Thresholds(), True) == ["3 articles could not be stored: disk full; 3 articles not stored"]
