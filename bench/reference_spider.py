"""The throughput reference: a bare Scrapy spider that walks the same section and extracts only titles.

Run by ``bench/throughput.py`` as ``scrapy runspider bench/reference_spider.py`` outside
the project (no newscrawl settings, pipelines, middlewares or extensions), with the same
``-a start_url=… -a max_pages=…`` and ``-s`` mirror settings as ``scrapy crawl japantoday``.
It requests exactly what the real spider requests: robots.txt, the listing pages in
order, and every ``/category/politics/<slug>`` link on them (query and fragment dropped).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response

ARTICLE_PATH = re.compile(r"/category/politics/[^/]+")


class ReferenceSpider(scrapy.Spider):
    name = "reference"

    def __init__(self, start_url: str, max_pages: str = "1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = start_url
        self.max_pages = int(max_pages)
        self.allowed_domains = [urlsplit(start_url).hostname or ""]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.listing(1)

    def listing(self, page: int) -> scrapy.Request:
        url = self.start_url if page == 1 else f"{self.start_url}?page={page}"
        return scrapy.Request(url, callback=self.parse_listing, cb_kwargs={"page": page})

    def parse_listing(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        links: dict[str, None] = {}
        for href in response.css("a::attr(href)").getall():
            parts = urlsplit(response.urljoin(href.strip()))
            if parts.hostname in self.allowed_domains and ARTICLE_PATH.fullmatch(unquote(parts.path)):
                links.setdefault(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), None)
        for url in links:
            yield scrapy.Request(url, callback=self.parse_article)
        if links and page < self.max_pages:
            yield self.listing(page + 1)

    def parse_article(self, response: Response) -> Iterator[dict[str, str | None]]:
        yield {"title": response.css("h1::text").get()}
