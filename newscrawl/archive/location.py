"""ArchiveLocationMiddleware: gives each article the WARC file and offset of the response it was read from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from newscrawl.archive import META_WARC
from newscrawl.items import Article


class ArchiveLocationMiddleware:
    """Spider middleware: copies the ``(warc_file, offset)`` the archive (or a replay) left in the
    request's meta onto the articles parsed from that response (``Article.warc_file``,
    ``warc_offset``), so the store records where each article's raw page lives.
    Settings: ``ARCHIVE_LOCATION_ENABLED`` (default True)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveLocationMiddleware:
        if not crawler.settings.getbool("ARCHIVE_LOCATION_ENABLED", True):
            raise NotConfigured("ARCHIVE_LOCATION_ENABLED is off")
        return cls()

    @staticmethod
    def _locate(location: Any, output: Any) -> Any:
        if location is not None and isinstance(output, Article):
            output.warc_file, output.warc_offset = location
        return output

    def process_spider_output(self, response: Response, result: Iterable[Any], spider: Any = None) -> Iterable[Any]:
        location = response.meta.get(META_WARC)
        for output in result:
            yield self._locate(location, output)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        location = response.meta.get(META_WARC)
        async for output in result:
            yield self._locate(location, output)
