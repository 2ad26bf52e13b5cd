"""OutcomeMiddleware: counts how each request finally ended (after retries), for health and the summary."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from newscrawl.exceptions import first_line
from newscrawl.requestmeta import META_ARTICLE, META_LISTING_PAGE

#: Exception class names (any module) -> the short name a person reads in a summary.
EXCEPTION_KINDS = {
    "CannotResolveHostError": "DNS lookup failed",
    "DNSLookupError": "DNS lookup failed",
    "DownloadConnectionRefusedError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "DownloadFailedError": "connection lost",
    "ResponseFailed": "connection lost",
    "ResponseNeverReceived": "connection lost",
    "ConnectionLost": "connection lost",
    "ConnectionDone": "connection lost",
    "ResponseDataLossError": "connection lost",
    "DownloadCancelledError": "download cancelled",
    "UnsupportedURLSchemeError": "unsupported URL scheme",
}


def exception_kind(class_path: str) -> str:
    """``DNS lookup failed`` for ``scrapy.exceptions.CannotResolveHostError``; else the class name."""
    name = class_path.rsplit(".", 1)[-1]
    return EXCEPTION_KINDS.get(name, name)


def describe_exception(url: str, exception: BaseException) -> str:
    """One line naming what went wrong with the host: ``cannot resolve japantoday.com`` (pure)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        address = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    except ValueError:
        address = host
    kind = exception_kind(type(exception).__name__)
    if kind == "DNS lookup failed":
        return f"cannot resolve {host}"
    if kind == "connection refused":
        return f"connection refused by {address}"
    if kind == "timeout":
        return f"{address} timed out"
    if kind == "connection lost":
        return f"connection to {address} lost"
    detail = first_line(exception)
    return f"{host}: {kind}" + (f": {detail}" if detail else "")


def _is_robots_txt(request: Request) -> bool:
    """Scrapy's own robots.txt request: not a page of the crawl."""
    return bool(request.meta.get("dont_obey_robotstxt")) and request.url.endswith("/robots.txt")


class OutcomeMiddleware:
    """Sees each request's final outcome: it sits below RetryMiddleware and RedirectMiddleware,
    so retried and redirected attempts never reach it.

    Stats: ``outcomes/failed/<cause>`` (``HTTP 404``, ``DNS lookup failed``…; robots.txt
    requests are not counted), ``outcomes/articles/fetched`` and
    ``outcomes/articles/failed/<cause>`` (article pages), ``outcomes/listing/failure`` (the
    first listing failure as one line: ``cannot resolve japantoday.com``, ``listing answered
    404 (URL)``).
    Settings: ``OUTCOMES_ENABLED`` (default True).
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutcomeMiddleware:
        if not crawler.settings.getbool("OUTCOMES_ENABLED", True):
            raise NotConfigured("OUTCOMES_ENABLED is off")
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if _is_robots_txt(request):
            return response
        if response.status >= 400:
            self._failed(request, f"HTTP {response.status}",
                         f"listing answered {response.status} ({request.url})")
        elif request.meta.get(META_ARTICLE) and response.status < 300:
            self.stats.inc_value("outcomes/articles/fetched")
        return response

    def process_exception(self, request: Request, exception: Exception) -> Any:
        if isinstance(exception, IgnoreRequest):  # robots.txt, offsite: counted by Scrapy
            return None
        if _is_robots_txt(request):
            return None
        self._failed(request, exception_kind(type(exception).__name__), describe_exception(request.url, exception))
        return None

    def _failed(self, request: Request, kind: str, listing_cause: str) -> None:
        self.stats.inc_value(f"outcomes/failed/{kind}")
        if request.meta.get(META_ARTICLE):
            self.stats.inc_value(f"outcomes/articles/failed/{kind}")
        elif request.meta.get(META_LISTING_PAGE) is not None and self.stats.get_value("outcomes/listing/failure") is None:
            self.stats.set_value("outcomes/listing/failure", listing_cause)
