"""ListingRobotsMiddleware: counts listings, feeds and sitemaps that robots.txt forbids."""

from __future__ import annotations

import logging
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.statscollectors import StatsCollector

from newscrawl.spiders.base import META_LISTING_PAGE

logger = logging.getLogger(__name__)

#: Listing pages, feeds and sitemaps that robots.txt forbids.
STAT = "newscrawl/discovery/robots_disallowed_listing"
#: What Scrapy's RobotsTxtMiddleware raises for a forbidden URL (it has no exception class of its own).
FORBIDDEN = "Forbidden by robots.txt"


class ListingRobotsMiddleware:
    """Counts forbidden discovery documents under ``newscrawl/discovery/robots_disallowed_listing``.

    Scrapy's RobotsTxtMiddleware counts every forbidden request under ``robotstxt/forbidden``;
    an article forbidden is one article less, but a listing, feed or sitemap forbidden means
    the crawl finds nothing there, so the health check needs those apart. The exception Scrapy's
    middleware raises in ``process_request`` reaches every middleware's ``process_exception``.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("ROBOTSTXT_OBEY is off")
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest) and str(exception) == FORBIDDEN and request.meta.get(META_LISTING_PAGE):
            self.stats.inc_value(STAT)
            logger.warning("robots.txt forbids the listing %s: nothing can be found there", request.url)
