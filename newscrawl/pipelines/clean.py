"""CleanPipeline: normalised text, no boilerplate, credits and datelines split out, dates in UTC."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from newscrawl.boilerplate import NO_BOILERPLATE, Boilerplate
from newscrawl.credits import normalize_credit, pick_credit, split_credit_lines, split_dateline
from newscrawl.dates import parse_datetime
from newscrawl.text import (
    content_hash_of_paragraphs,
    join_paragraphs,
    normalize_text,
    split_paragraphs,
    word_count,
)


def _clean_list(values: Any) -> list[str]:
    """Normalised, non-empty, case-insensitively unique values in their first order."""
    kept: list[str] = []
    seen: set[str] = set()
    for value in values or ():
        text = normalize_text(str(value))
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return kept


class CleanPipeline:
    """Turns a spider's raw article into clean text and UTC dates.

    Site knowledge comes from the crawling spider: ``timezone`` and ``boilerplate``.
    Settings: ``CLEAN_DEFAULT_TIMEZONE`` (zone of dates without an offset when
    the spider declares none; default ``UTC``).
    Stats: ``clean/boilerplate/<kind>``, ``clean/credit_lines``, ``clean/dateline_prefix``.
    """

    def __init__(self, stats: StatsCollector, default_timezone: str = "UTC") -> None:
        self.stats = stats
        self.default_timezone = default_timezone
        self.crawler: Crawler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        pipeline = cls(crawler.stats, crawler.settings.get("CLEAN_DEFAULT_TIMEZONE", "UTC"))
        pipeline.crawler = crawler
        return pipeline

    def _timezone(self) -> str:
        spider = getattr(self.crawler, "spider", None)
        return getattr(spider, "timezone", None) or self.default_timezone

    def _boilerplate(self) -> Boilerplate:
        """The crawling spider's declared site chrome: one site's rules never touch another's text."""
        spider = getattr(self.crawler, "spider", None)
        return getattr(spider, "boilerplate", None) or NO_BOILERPLATE

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        for name in ("title", "summary", "dateline"):
            if adapter.get(name) is not None:
                adapter[name] = normalize_text(adapter[name]) or None
        adapter["authors"] = _clean_list(adapter.get("authors"))
        adapter["tags"] = _clean_list(adapter.get("tags"))
        paragraphs = self._clean_body(adapter) if adapter.get("body") is not None else []
        zone = self._timezone()
        if adapter.get("published_at") is None:
            adapter["published_at"] = parse_datetime(adapter.get("published_raw"), zone)
        if adapter.get("modified_at") is None:
            adapter["modified_at"] = parse_datetime(adapter.get("modified_raw"), zone)
        adapter["content_hash"] = content_hash_of_paragraphs(adapter.get("title"), paragraphs)
        return item

    def _clean_body(self, adapter: ItemAdapter) -> list[str]:
        # split_paragraphs normalises: the boilerplate check need not do it again.
        paragraphs, kinds = self._boilerplate().strip_normalized(split_paragraphs(adapter["body"]))
        for kind in kinds:
            self.stats.inc_value(f"clean/boilerplate/{kind}")
        paragraphs, credit_lines = split_credit_lines(paragraphs)
        credit_lines = list(dict.fromkeys([*(adapter.get("credit_lines") or []), *credit_lines]))
        self.stats.inc_value("clean/credit_lines", len(credit_lines))
        if paragraphs:
            dateline, agency, rest = split_dateline(paragraphs[0])
            if dateline and rest:
                self.stats.inc_value("clean/dateline_prefix")
                paragraphs[0] = rest
                adapter["dateline"] = adapter.get("dateline") or dateline
                if agency:
                    credit_lines.append(agency)
        adapter["credit_lines"] = credit_lines
        credit = adapter.get("credit")
        adapter["credit"] = normalize_credit(credit) if credit else pick_credit(credit_lines)
        body = join_paragraphs(paragraphs)
        adapter["body"] = body or None
        adapter["word_count"] = word_count(body) if body else 0
        return paragraphs
