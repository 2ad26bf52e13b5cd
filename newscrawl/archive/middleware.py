"""ArchiveMiddleware: writes every article and listing response, as received, to the crawl's WARC files."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from newscrawl import __version__
from newscrawl.archive import META_REPLAY, META_WARC, default_archive_dir
from newscrawl.archive.writer import DEFAULT_GZIP_LEVEL, DEFAULT_MAX_SIZE, Exchange, WarcFiles
from newscrawl.extensions.database import crawl_database_url
from newscrawl.requestmeta import META_ARTICLE, META_LISTING_PAGE

logger = logging.getLogger(__name__)


def _headers(headers: Any) -> list[tuple[str, str]]:
    """Scrapy headers as (name, value) text pairs, every value of a repeated header kept."""
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


def exchange_of(request: Request, response: Response) -> Exchange:
    """The WARC view of one response and the request that got it."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    return Exchange(
        url=response.url, status=response.status, reason=reason, headers=_headers(response.headers),
        body=response.body, method=request.method, request_headers=_headers(request.headers),
        request_body=request.body, protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address else None,
    )


class ArchiveMiddleware:
    """Downloader middleware: each response to an article or listing request goes to the WARC files.

    It sits next to the downloader (above decompression, redirects and retries), so the
    record holds the status, headers and body exactly as received, retried and redirected
    answers included; the response's location (file name, offset) is left in the request's
    meta for :class:`~newscrawl.archive.location.ArchiveLocationMiddleware`.
    Settings: ``ARCHIVE_ENABLED`` (default True), ``ARCHIVE_DIR`` (default: ``newscrawl-archive``
    beside the SQLite file, else in the working directory), ``ARCHIVE_MAX_SIZE`` (bytes per file
    before the next one starts, default 1 GB). Off with the store (``STORE_ENABLED``): nothing
    would point at the records. Stats: ``archive/records``, ``archive/bytes``, ``archive/files``,
    ``archive/failed``. A file that cannot be written (a full disk) is logged once and the
    crawl goes on without the archive: the articles matter more than their raw pages.
    """

    def __init__(self, stats: StatsCollector, folder: Path, max_size: int = DEFAULT_MAX_SIZE,
                 gzip_level: int = DEFAULT_GZIP_LEVEL) -> None:
        self.stats = stats
        self.folder = folder
        self.max_size = max_size
        self.gzip_level = gzip_level
        self.files: WarcFiles | None = None
        self.broken = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveMiddleware:
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_ENABLED", True) or not settings.getbool("STORE_ENABLED", True):
            raise NotConfigured("ARCHIVE_ENABLED or STORE_ENABLED is off")
        folder = settings.get("ARCHIVE_DIR")
        middleware = cls(
            crawler.stats,
            Path(folder) if folder else default_archive_dir(crawl_database_url(settings)),
            max_size=settings.getint("ARCHIVE_MAX_SIZE", DEFAULT_MAX_SIZE),
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider: Any) -> None:
        info = {"software": f"newscrawl/{__version__}", "isPartOf": spider.name}
        self.files = WarcFiles(self.folder, spider.name, self.max_size, self.gzip_level, info)

    def spider_closed(self) -> None:
        if self.files is not None:
            self.files.close()
            self.stats.set_value("archive/files", self.files.serial)

    def process_response(self, request: Request, response: Response) -> Response:
        meta = request.meta
        if self.files is None or self.broken or META_REPLAY in meta or not (
            meta.get(META_ARTICLE) or META_LISTING_PAGE in meta
        ):
            return response
        try:
            name, offset = self.files.write(exchange_of(request, response))
        except OSError as exc:
            self.broken = True
            self.stats.inc_value("archive/failed")
            logger.warning("WARC archive %s cannot be written (%s): the crawl goes on without it", self.folder, exc)
            return response
        meta[META_WARC] = (name, offset)
        self.stats.inc_value("archive/records")
        self.stats.set_value("archive/bytes", self.files.written)
        return response
