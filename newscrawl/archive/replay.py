"""Replaying archived responses: ReplayMiddleware answers requests from WARC records, replay_spider feeds them to a spider."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.statscollectors import StatsCollector

from newscrawl.archive import META_REPLAY, META_WARC
from newscrawl.archive.reader import read_record
from newscrawl.requestmeta import META_ARTICLE


@dataclass(frozen=True)
class Replay:
    """One archived response to parse as an article.

    ``path`` and ``offset`` find the record; ``stored`` is what the article records as its
    ``warc_file`` (a name in the archive folder, or the absolute path of an imported file).
    ``source`` and ``section``, when set, replace the spider's own (the generic spider
    replays many sites in one crawl).
    """

    url: str
    path: str
    offset: int
    stored: str
    source: str | None = None
    section: str | None = None


class ReplayMiddleware:
    """Downloader middleware of a replay crawl: a request carrying a :class:`Replay` is answered
    with the archived response (status, headers, body as stored; decompression and the size caps
    still apply below it), and leaves the record's location for the article. Any other request
    is refused: a replay never reaches the network. Stats: ``replay/responses``, ``replay/unreadable``,
    ``replay/refused``."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        return cls(crawler.stats)

    def process_request(self, request: scrapy.Request) -> Response:
        replay: Replay | None = request.meta.get(META_REPLAY)
        if replay is None:
            self.stats.inc_value("replay/refused")
            raise IgnoreRequest(f"a replay fetches nothing: {request.url}")
        record = read_record(Path(replay.path), replay.offset)
        if record is None or record.status is None:
            self.stats.inc_value("replay/unreadable")
            raise IgnoreRequest(f"no whole WARC record at {replay.path}:{replay.offset}")
        headers = Headers()
        for name, value in record.headers:
            headers.appendlist(name, value)
        request.meta[META_WARC] = (replay.stored, replay.offset)
        self.stats.inc_value("replay/responses")
        cls = responsetypes.from_args(headers=headers, url=request.url, body=record.body)
        return cls(url=request.url, status=record.status, headers=headers, body=record.body,
                   request=request, protocol="HTTP/1.1")


def replay_spider(base: type) -> type:
    """A subclass of the spider class ``base`` that parses archived responses instead of crawling.

    Its ``name`` (and so the articles' ``source``) and all its extraction are ``base``'s; its
    ``start()`` yields one article request per :class:`Replay` given as ``replay=``, each
    answered by :class:`ReplayMiddleware`. ``run_name`` names the run in ``crawl_runs``
    (``japantoday (reparse)``); ``listing_files`` (the WARC files read) stands for the listing
    pages in the health check, and ``skipped`` counts are put in the stats as given.
    """

    class ReplaySpider(base):  # type: ignore[misc, valid-type]
        scheduled = False

        def __init__(self, *args: Any, replay: Sequence[Replay] = (), run_name: str | None = None,
                     listing_files: int = 0, skipped: Counter[str] | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.replay = replay
            self.run_name = run_name
            self.listing_files = listing_files
            self.skipped = skipped or Counter()

        async def start(self) -> AsyncIterator[scrapy.Request]:
            stats = self.crawler.stats
            # The archive is this crawl's listing: its files the pages, its records the links.
            stats.set_value("newscrawl/listing_pages", self.listing_files)
            stats.set_value("newscrawl/links/articles", len(self.replay))
            for reason, count in sorted(self.skipped.items()):
                stats.set_value(f"replay/skipped/{reason}", count)
            for replay in self.replay:
                yield scrapy.Request(replay.url, callback=self.parse_article, dont_filter=True,
                                     meta={META_REPLAY: replay, META_ARTICLE: True, "allow_offsite": True})

        def build_article(self, response: Any) -> Any:
            article = super().build_article(response)
            replay: Replay | None = response.meta.get(META_REPLAY)
            if replay is not None and replay.source:
                article.source = replay.source
            if replay is not None and replay.section is not None:
                article.section = replay.section
            return article

    ReplaySpider.__name__ = ReplaySpider.__qualname__ = f"Replay{base.__name__}"
    return ReplaySpider
