"""RedirectLoopMiddleware: Scrapy's redirects, with the requests lost to a redirect loop counted."""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

#: Requests lost to a redirect loop or a chain longer than REDIRECT_MAX_TIMES.
STAT = "newscrawl/discovery/redirect_loop"


def loops_back(redirected: Request) -> bool:
    """Whether a redirect leads to a URL its own chain has already visited."""
    return redirected.url in redirected.meta.get("redirect_urls", ())


class RedirectLoopMiddleware(RedirectMiddleware):
    """Scrapy's RedirectMiddleware (it replaces it at 600), with its silent losses counted.

    Scrapy gives up on a chain longer than REDIRECT_MAX_TIMES with a DEBUG line only, and a
    redirect back to a URL of the same chain is dropped by the duplicate filter under the
    generic ``dupefilter/filtered``. Both lose the page; both are counted here under
    ``newscrawl/discovery/redirect_loop``, and a loop is cut as soon as it closes.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            result = super().process_response(request, response)
        except IgnoreRequest:  # RedirectMiddleware raises it only for "max redirections reached"
            self._lost(request, "more than REDIRECT_MAX_TIMES redirects")
            raise
        if isinstance(result, Request) and loops_back(result):
            self._lost(request, f"redirect loop back to {result.url}")
            raise IgnoreRequest(f"redirect loop: {result.url}")
        return result

    def _lost(self, request: Request, why: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(STAT)
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        self.crawler.spider.logger.warning("%s lost: %s (%s)", chain[0], why, " -> ".join(chain))
