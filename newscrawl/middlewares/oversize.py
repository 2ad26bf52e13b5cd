"""OversizeMiddleware: Scrapy's HTTP decompression, plus stats naming each response lost to DOWNLOAD_MAXSIZE."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Headers, Response
from scrapy.statscollectors import StatsCollector


class OversizeMiddleware(HttpCompressionMiddleware):
    """Counts every response that ``DOWNLOAD_MAXSIZE`` (or the ``download_maxsize`` meta key) drops.

    Scrapy 2.19 drops an oversized response in three places and names the cause in none of
    its stats: the download handler cancels it when ``Content-Length`` announces too much
    (``declared``) or when the body grows past the cap (``received``), both surfacing as a
    generic ``DownloadCancelledError`` (also raised for downloads cancelled at shutdown); and
    ``HttpCompressionMiddleware`` ignores a body that decompresses past the cap
    (``decompressed``, a gzip bomb or a big page compressed), an ``IgnoreRequest`` counted
    nowhere. This class *is* that middleware (it replaces it at 590), with the counting added;
    the size is seen through the ``headers_received``/``bytes_received`` signals, never by
    parsing log messages.

    Stats: ``oversize/count`` and ``oversize/<declared|received|decompressed>``.
    """

    def __init__(self, stats: StatsCollector | None = None, *, crawler: Crawler | None = None) -> None:
        super().__init__(stats, crawler=crawler)
        assert crawler is not None, "build it with from_crawler()"
        self._received: WeakKeyDictionary[Request, int] = WeakKeyDictionary()
        self._over: WeakKeyDictionary[Request, str] = WeakKeyDictionary()
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    def _cap(self, request: Request) -> int:
        return int(request.meta.get("download_maxsize", self._max_size) or 0)

    def headers_received(self, headers: Headers, body_length: object, request: Request) -> None:
        self._received[request] = 0  # a retry starts counting afresh
        cap = self._cap(request)
        if cap and isinstance(body_length, int) and body_length > cap:
            self._over[request] = "declared"

    def bytes_received(self, data: bytes, request: Request) -> None:
        received = self._received.get(request, 0) + len(data)
        self._received[request] = received
        cap = self._cap(request)
        if cap and received > cap:
            self._over.setdefault(request, "received")

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._received.pop(request, None)
        kind = self._over.pop(request, None)
        if kind and isinstance(exception, DownloadCancelledError):
            self._count(kind)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        self._received.pop(request, None)
        self._over.pop(request, None)
        try:
            return super().process_response(request, response)
        except IgnoreRequest:  # the base class raises it only for a body decompressed past the cap
            self._count("decompressed")
            raise

    def _count(self, kind: str) -> None:
        assert self.stats is not None
        self.stats.inc_value("oversize/count")
        self.stats.inc_value(f"oversize/{kind}")
