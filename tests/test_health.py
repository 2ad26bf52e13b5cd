"""Health checks as a truth table over crawl stats (the pure part of the monitor)."""

from __future__ import annotations

from typing import Any

import pytest

from newscrawl.extensions.crawlrun import run_status
from newscrawl.extensions.health import Thresholds, check_stats

HEALTHY: dict[str, Any] = {
    "finish_reason": "finished",
    "newscrawl/listing_pages": 3,
    "newscrawl/links/articles": 20,
    "newscrawl/fields/items": 20,
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
        ({"newscrawl/links/articles": 0, "newscrawl/fields/items": 0}, True, ["no article links found"]),
        ({"newscrawl/links/articles": 0, "newscrawl/fields/items": 0}, False, []),
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
