"""ValidatePipeline: required fields present, dates sane, body not empty; else a typed drop."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from newscrawl.dates import implausible_reason
from newscrawl.exceptions import (
    EmptyBody,
    ExpiredArticle,
    ImplausibleDate,
    MissingField,
    UnparseableDate,
)


class ValidatePipeline:
    """Drops articles that must not reach the database, each with its own reason class.

    Settings: ``VALIDATE_EARLIEST_YEAR`` (default 1990), ``VALIDATE_FUTURE_SLACK_HOURS``
    (how far ahead of now a publication date may be, for clock skew; default 6).
    """

    def __init__(self, earliest_year: int = 1990, future_slack_hours: float = 6) -> None:
        self.earliest_year = earliest_year
        self.future_slack = timedelta(hours=future_slack_hours)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        settings = crawler.settings
        return cls(
            earliest_year=settings.getint("VALIDATE_EARLIEST_YEAR", 1990),
            future_slack_hours=settings.getfloat("VALIDATE_FUTURE_SLACK_HOURS", 6),
        )

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("url")
        if adapter.get("expired"):
            raise ExpiredArticle(f"expired article: {url}")
        for name in ("url", "source", "title"):
            if not adapter.get(name):
                raise MissingField(f"no {name}: {url}")
        if not adapter.get("body"):
            raise EmptyBody(f"empty body: {url}")
        published = adapter.get("published_at")
        if published is None:
            if adapter.get("published_raw"):
                raise UnparseableDate(f"unparseable date {adapter['published_raw']!r}: {url}")
            raise MissingField(f"no published date: {url}")
        self._check_date(published, url, "published")
        if adapter.get("modified_at") is not None:
            try:
                self._check_date(adapter["modified_at"], url, "modified")
            except ImplausibleDate:
                # A bad modification date does not make the article wrong.
                adapter["modified_at"] = None
        return item

    def _check_date(self, value: datetime, url: str, name: str) -> None:
        now = datetime.now(timezone.utc)
        reason = implausible_reason(value, now, self.earliest_year, self.future_slack)
        if reason:
            raise ImplausibleDate(f"{name} date {value.isoformat()} is {reason}: {url}")
