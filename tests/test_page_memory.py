"""A parsed page is freed as soon as the crawl is done with it, without waiting for the garbage collector."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from newscrawl.items import Article
from newscrawl.registry import spider_class
from newscrawl.spiders.base import page_selector
from tests.conftest import SITES

PAGES = sorted(SITES.glob("*/mirror/articles/*.html"))
CASES = [(page.parents[2].name, page) for page in PAGES]


@pytest.mark.parametrize(("spider", "page"), CASES, ids=[f"{s}/{p.name}" for s, p in CASES])
def test_an_article_page_is_freed_by_reference_counting(spider: str, page: Path) -> None:
    cls = spider_class(spider)
    crawler = get_crawler(cls)
    site = "https://example.com/politics/" if spider == "news" else cls.start_url
    crawler.spider = cls.from_crawler(crawler, start_url=site)
    url = site.rstrip("/") + "/" + page.stem
    response = HtmlResponse(url, body=page.read_bytes(), encoding="utf-8", request=Request(url))
    gc.collect()
    gc.disable()  # what is not freed by reference counting alone stays alive from here on
    try:
        items = list(crawler.spider.parse_article(response))
        assert items and all(isinstance(item, Article) for item in items)
        freed = weakref.ref(response)
        tree = weakref.ref(page_selector(response))
        del response
        assert freed() is None and tree() is None
    finally:
        gc.enable()


def test_scrapy_s_own_selector_would_hold_the_page() -> None:
    # Why page_selector exists: response.selector refers back to its response (a cycle).
    response = HtmlResponse("https://example.com/a", body=b"<html><body><p>x</p></body></html>", encoding="utf-8")
    gc.collect()
    gc.disable()
    try:
        assert response.selector.css("p::text").get() == "x"
        held = weakref.ref(response)
        del response
        assert held() is not None
    finally:
        gc.enable()
    gc.collect()
    assert held() is None
