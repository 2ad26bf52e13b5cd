"""OversizeMiddleware: Scrapy's HTTP decompression, bounded by size and ratio, with stats naming each response lost."""

from __future__ import annotations

from typing import Self
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Headers, Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.gz import gunzip

#: Output below this size is never refused for its ratio: a small page of repeated markup
#: compresses far better than any real document, yet costs nothing to inflate.
RATIO_FLOOR = 1024 * 1024


class DecompressionCapExceeded(ValueError):
    """A body would inflate past a cap; ``kind`` names it: ``decompressed`` (the size) or ``ratio``."""

    def __init__(self, kind: str, compressed: int, cap: int) -> None:
        super().__init__(f"{compressed} B compressed inflate past {cap} B ({kind} cap)")
        self.kind = kind


def decompression_cap(compressed: int, max_size: int, max_ratio: int) -> tuple[int, str]:
    """The most bytes ``compressed`` bytes may inflate to (0 = unbounded) and which cap that is.

    ``max_size`` is DOWNLOAD_MAXSIZE (0 = none); ``max_ratio`` caps output at that many times
    the input, but never below :data:`RATIO_FLOOR` (0 = no ratio cap).
    """
    by_ratio = max(compressed * max_ratio, RATIO_FLOOR) if max_ratio else 0
    if max_size and (not by_ratio or max_size <= by_ratio):
        return max_size, "decompressed"
    return by_ratio, "ratio"


def bounded_gunzip(data: bytes, max_size: int, max_ratio: int) -> bytes:
    """``data`` gunzipped (Scrapy's resilient gunzip); raises :class:`DecompressionCapExceeded`
    as soon as the output passes the cap, so a gzip bomb costs at most the cap in memory."""
    cap, kind = decompression_cap(len(data), max_size, max_ratio)
    try:
        return gunzip(data, max_size=cap)
    except _DecompressionMaxSizeExceeded:
        raise DecompressionCapExceeded(kind, len(data), cap) from None


def count_oversize(stats: StatsCollector, kind: str) -> None:
    """Count one response lost to a size cap, under ``oversize/count`` and ``oversize/<kind>``."""
    stats.inc_value("oversize/count")
    stats.inc_value(f"oversize/{kind}")


class OversizeMiddleware(HttpCompressionMiddleware):
    """Counts every response that ``DOWNLOAD_MAXSIZE`` (or the ``download_maxsize`` meta key) drops.

    Scrapy 2.19 drops an oversized response in three places and names the cause in none of
    its stats: the download handler cancels it when ``Content-Length`` announces too much
    (``declared``) or when the body grows past the cap (``received``), both surfacing as a
    generic ``DownloadCancelledError`` (also raised for downloads cancelled at shutdown); and
    ``HttpCompressionMiddleware`` ignores a body that decompresses past the cap
    (``decompressed``, a gzip bomb or a big page compressed), an ``IgnoreRequest`` counted
    nowhere. This class *is* that middleware (it replaces it at 590), with the counting added
    and one more cap: ``DECOMPRESSION_MAX_RATIO`` (``ratio``, output over that many times the
    compressed size, above 1 MiB), which bounds inflation even when DOWNLOAD_MAXSIZE is 0.
    The size is seen through the ``headers_received``/``bytes_received`` signals, never by
    parsing log messages. Responses whose headers alone pass DOWNLOAD_MAXHEADERS or
    DOWNLOAD_MAXHEADERSIZE (newscrawl/handlers.py) are counted here too (``headers``).

    Stats: ``oversize/count`` and ``oversize/<declared|received|decompressed|ratio|headers>``.
    """

    def __init__(
        self, stats: StatsCollector | None = None, *, crawler: Crawler | None = None, max_ratio: int = 0
    ) -> None:
        super().__init__(stats, crawler=crawler)
        assert crawler is not None, "build it with from_crawler()"
        self._max_ratio = max_ratio
        self._received: WeakKeyDictionary[Request, int] = WeakKeyDictionary()
        self._over: WeakKeyDictionary[Request, str] = WeakKeyDictionary()
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, crawler=crawler, max_ratio=crawler.settings.getint("DECOMPRESSION_MAX_RATIO", 100))

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
        elif _headers_too_large(exception):
            self._count("headers")
            # Not a transient fault: a retry would read the same flood of headers again.
            raise IgnoreRequest(f"response headers over the cap: {request.url}")

    def process_response(self, request: Request, response: Response) -> Request | Response:
        self._received.pop(request, None)
        self._over.pop(request, None)
        try:
            return super().process_response(request, response)
        except IgnoreRequest:  # the base class raises it only for a body decompressed past the cap
            self._count(decompression_cap(len(response.body), self._cap(request), self._max_ratio)[1])
            raise

    def _handle_encoding(self, body: bytes, content_encoding: list[bytes], max_size: int) -> tuple[bytes, list[bytes]]:
        # The base class caps each decoding at max_size; the ratio cap narrows that per body.
        return super()._handle_encoding(body, content_encoding, decompression_cap(len(body), max_size, self._max_ratio)[0])

    def _count(self, kind: str) -> None:
        assert self.stats is not None
        count_oversize(self.stats, kind)


def _headers_too_large(exception: BaseException | None) -> bool:
    """Whether a download failed because the handler refused the response's headers: Scrapy
    wraps Twisted's ``ResponseFailed`` (whose ``reasons`` hold the cause) in its own error."""
    from newscrawl.handlers import ResponseHeadersTooLarge  # the handler module imports the downloader

    while exception is not None:
        reasons = getattr(exception, "reasons", None) or ()
        if isinstance(exception, ResponseHeadersTooLarge) or any(
            isinstance(getattr(reason, "value", None), ResponseHeadersTooLarge) for reason in reasons
        ):
            return True
        exception = exception.__cause__
    return False
