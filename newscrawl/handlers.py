"""BoundedHTTPDownloadHandler: Scrapy's HTTP/1.1 download handler with the response headers capped."""

from __future__ import annotations

from functools import partial
from typing import Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from scrapy.crawler import Crawler
from twisted.web._newclient import HEADER


class ResponseHeadersTooLarge(Exception):
    """A response sent more header lines or bytes than DOWNLOAD_MAXHEADERS / DOWNLOAD_MAXHEADERSIZE."""


class _BoundedHeadersParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, refusing a header section over the caps as it arrives.

    Twisted's client parser keeps every header line it is sent (only one line is capped, at
    16 KiB), and DOWNLOAD_MAXSIZE counts body bytes only: three million small headers held
    541 MB before the first body byte. Raising here makes Twisted drop the connection and fail
    the request with a ``ResponseFailed`` naming this reason.
    """

    max_lines = 0
    max_bytes = 0
    header_lines = 0
    header_bytes = 0

    def lineReceived(self, line: bytes) -> None:  # noqa: N802 (Twisted's naming)
        self.header_bytes += len(line) + 1  # the LF delimiter
        if self.state == HEADER and line.rstrip(b"\r"):
            self.header_lines += 1
        if (self.max_lines and self.header_lines > self.max_lines) or (
            self.max_bytes and self.header_bytes > self.max_bytes
        ):
            raise ResponseHeadersTooLarge(
                f"response headers over the cap: {self.header_lines} lines, {self.header_bytes} B so far"
            )
        super().lineReceived(line)


class _BoundedHeadersProtocol(_LenientHTTP11ClientProtocol):
    """Scrapy's protocol, parsing each response with :class:`_BoundedHeadersParser`."""

    max_lines = 0
    max_bytes = 0

    def request(self, request: Any) -> Any:
        result = super().request(request)
        # Scrapy swaps the parser's class the same way (the parser is made inside request());
        # the caps are set on the instance, which is new for every request.
        parser = self._parser
        assert parser is not None
        parser.__class__ = _BoundedHeadersParser
        parser.max_lines, parser.max_bytes = self.max_lines, self.max_bytes
        return result


class _BoundedHeadersFactory(_LenientHTTP11ClientFactory):
    """Scrapy's protocol factory, building :class:`_BoundedHeadersProtocol` with the caps."""

    def __init__(self, quiescentCallback: Any, metadata: Any, *, max_lines: int, max_bytes: int) -> None:  # noqa: N803
        super().__init__(quiescentCallback, metadata)
        self.max_lines, self.max_bytes = max_lines, max_bytes

    def buildProtocol(self, addr: Any) -> _BoundedHeadersProtocol:  # noqa: N802 (Twisted's naming)
        protocol = _BoundedHeadersProtocol(self._quiescentCallback)
        protocol.max_lines, protocol.max_bytes = self.max_lines, self.max_bytes
        return protocol


class BoundedHTTPDownloadHandler(HTTP11DownloadHandler):
    """HTTP/1.1 downloads whose response header section is capped (0 = no cap) by
    DOWNLOAD_MAXHEADERS (header lines) and DOWNLOAD_MAXHEADERSIZE (bytes, status line
    included); a response over either fails with :class:`ResponseHeadersTooLarge`, which
    OversizeMiddleware counts as ``oversize/headers``."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # The pool calls its factory with (quiescentCallback, metadata); the caps ride along.
        self._pool._factory = partial(
            _BoundedHeadersFactory,
            max_lines=crawler.settings.getint("DOWNLOAD_MAXHEADERS", 500),
            max_bytes=crawler.settings.getint("DOWNLOAD_MAXHEADERSIZE", 256 * 1024),
        )
