"""RetryAfterMiddleware: waits as long as a 429/503 ``Retry-After`` header asks before Scrapy retries."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

logger = logging.getLogger(__name__)

_DELAY_SECONDS = re.compile(r"[0-9]+")


def parse_retry_after(value: str | bytes | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds (``120``) or an HTTP-date
    (``Wed, 21 Oct 2026 07:28:00 GMT``) relative to ``now``; 0 for a date in the past,
    ``None`` when absent or unreadable (pure)."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; an HTTP-date is always GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


class RetryAfterMiddleware:
    """Holds back a retryable 429/503 response for the seconds its ``Retry-After`` asks, then
    hands it on to Scrapy's ``RetryMiddleware``, which retries it as usual.

    A wait longer than ``RETRY_AFTER_MAX_SECONDS`` is not retried at all: the server asked us
    to stay away longer than a crawl run should block, so the response goes on marked
    ``dont_retry`` and is counted like any other HTTP error. Only the waiting request is held
    back; other requests to the host go on (AutoThrottle slows them down in production).
    It must sit between ``RetryMiddleware`` (550) and the downloader, e.g. at 560, so it sees
    responses first. No header, an unreadable one, or retries already used up: no wait.

    Settings: ``RETRY_AFTER_ENABLED`` (default True), ``RETRY_AFTER_HTTP_CODES``
    (default ``[429, 503]``, only those also in ``RETRY_HTTP_CODES``),
    ``RETRY_AFTER_MAX_SECONDS`` (default 60). Off when ``RETRY_ENABLED`` is off.
    Stats: ``retry_after/waited`` (responses held back), ``retry_after/waited_seconds``,
    ``retry_after/gave_up`` (wait over the cap, not retried), ``retry_after/unreadable``.
    """

    def __init__(self, crawler: Crawler, codes: set[int], max_seconds: float, max_retry_times: int) -> None:
        self.crawler = crawler
        self.codes = codes
        self.max_seconds = max_seconds
        self.max_retry_times = max_retry_times

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        settings = crawler.settings
        if not settings.getbool("RETRY_AFTER_ENABLED", True):
            raise NotConfigured("RETRY_AFTER_ENABLED is off")
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off: no retry to wait for")
        retried = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        codes = {int(code) for code in settings.getlist("RETRY_AFTER_HTTP_CODES", [429, 503])} & retried
        if not codes:
            raise NotConfigured("no RETRY_AFTER_HTTP_CODES among RETRY_HTTP_CODES")
        return cls(
            crawler,
            codes,
            settings.getfloat("RETRY_AFTER_MAX_SECONDS", 60),
            settings.getint("RETRY_TIMES"),
        )

    def _retries_left(self, request: Request) -> bool:
        limit = request.meta.get("max_retry_times", self.max_retry_times)
        return request.meta.get("retry_times", 0) < limit

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in self.codes or request.meta.get("dont_retry") or not self._retries_left(request):
            return response
        header = response.headers.get(b"Retry-After")
        if header is None:
            return response
        stats = self.crawler.stats
        seconds = parse_retry_after(header, datetime.now(timezone.utc))
        if seconds is None:
            stats.inc_value("retry_after/unreadable")
            return response
        if seconds > self.max_seconds:
            stats.inc_value("retry_after/gave_up")
            logger.warning(
                "Not retrying %s: %d asks to wait %.0f s, over RETRY_AFTER_MAX_SECONDS=%g",
                request, response.status, seconds, self.max_seconds,
            )
            request.meta["dont_retry"] = True  # RetryMiddleware, next in line, reads it
            return response
        stats.inc_value("retry_after/waited")
        stats.inc_value("retry_after/waited_seconds", round(seconds, 3))
        logger.debug("Waiting %.1f s (Retry-After) before retrying %s", seconds, request)
        if seconds:
            await sleep(seconds)
        return response
