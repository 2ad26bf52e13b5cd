"""DeduplicatePipeline: one article per canonical URL and per content hash within a run."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newscrawl.exceptions import DuplicateContent, DuplicateUrl


class DeduplicatePipeline:
    """Drops the second and later copies of an article seen in the same crawl.

    Across runs the database's unique URL does the same job. Settings:
    ``DEDUP_ENABLED`` (default True). Memory: one 64-character hash and one URL
    per article, so a long backfill of 100k articles costs ~20 MB.
    """

    def __init__(self) -> None:
        self.urls: set[str] = set()
        self.hashes: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DeduplicatePipeline:
        if not crawler.settings.getbool("DEDUP_ENABLED", True):
            raise NotConfigured("DEDUP_ENABLED is off")
        return cls()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url, digest = adapter["url"], adapter.get("content_hash")
        if url in self.urls:
            raise DuplicateUrl(f"already processed in this run: {url}")
        if digest and digest in self.hashes:
            raise DuplicateContent(f"same title and body as {self.hashes[digest]}: {url}")
        self.urls.add(url)
        if digest:
            self.hashes[digest] = url
        return item
