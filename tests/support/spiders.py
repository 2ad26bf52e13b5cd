"""Spiders for tests only: Japan Today's spider with faults injected into its extraction workers."""

from __future__ import annotations

import os
import sys
import time

from scrapy.http import TextResponse

from newscrawl.items import Article
from newscrawl.spiders.japantoday import JapanTodaySpider


def in_extraction_worker() -> bool:
    """True inside ``python -m newscrawl.extract.worker``, False in the crawl's own process."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    return getattr(spec, "name", None) == "newscrawl.extract.worker"


class WorkerFaultSpider(JapanTodaySpider):
    """``-a fault_slug=…`` picks the page, ``-a fault=exit|error|print|hang`` what its worker
    does: dies (as in a parser crash or the OOM killer), raises, prints to stdout before
    answering, or never answers. The crawl's own process builds the page normally."""

    name = "japantoday-worker-faults"

    def build_article(self, response: TextResponse) -> Article:
        slug = getattr(self, "fault_slug", None)
        if slug and slug in response.url and in_extraction_worker():
            fault = getattr(self, "fault", "exit")
            if fault == "exit":
                os._exit(3)
            if fault == "error":
                raise RuntimeError(f"injected fault on {response.url}")
            if fault == "hang":
                time.sleep(600)
            print("a stray print in a spider")  # noqa: T201 (the fault under test)
        return super().build_article(response)
