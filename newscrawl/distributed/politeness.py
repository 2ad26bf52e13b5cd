"""HostGateMiddleware: per-host concurrency and request spacing shared by every worker through Redis."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from newscrawl.distributed.jobs import REDIS_ERRORS, Keys, crawl_context, report_lost

logger = logging.getLogger(__name__)

META_PERMIT = "newscrawl_host_permit"

#: KEYS slots (zset token -> lease end, ms), next (ms); ARGV token, limit, lease ms, delay ms.
#: 0 and a slot taken, else the milliseconds to wait. Redis' own clock, so machines whose clocks
#: disagree still share one timeline.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.min(50, tonumber(first[2]) - now))
end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < nxt then return nxt - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[2], now + tonumber(ARGV[4]), 'PX', tonumber(ARGV[4]) + 1000)
end
return 0
"""


class HostGateMiddleware:
    """Holds each request until its host has a free slot among all workers, and spaces request
    starts to the host by the crawl's download delay (AutoThrottle's, when larger).

    So a host gets no more from N workers than from one polite local crawl: at most
    ``DISTRIBUTED_HOST_CONCURRENCY`` (default ``CONCURRENT_REQUESTS_PER_DOMAIN``) requests at
    once, one start per ``DOWNLOAD_DELAY``. A slot is a lease (``DOWNLOAD_TIMEOUT`` + 30 s), so
    a killed worker's slots come back on their own. The host is Scrapy's download slot key.
    Stats: ``distributed/host_waits`` (requests that waited), ``distributed/host_wait_seconds``.
    """

    def __init__(self, crawler: Crawler, server: Any, keys: Keys, limit: int, lease: float, delay: float) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.limit = limit
        self.lease_ms = int(lease * 1000)
        self.delay_ms = int(delay * 1000)
        self.acquire = server.register_script(ACQUIRE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGateMiddleware:
        settings = crawler.settings
        context = crawl_context(crawler, cls.__name__)
        limit = settings.getint("DISTRIBUTED_HOST_CONCURRENCY") or settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        return cls(crawler, context.server, context.keys, max(1, limit), settings.getfloat("DOWNLOAD_TIMEOUT") + 30,
                   settings.getfloat("DOWNLOAD_DELAY"))

    def _delay_ms(self, host: str) -> int:
        slot = self.crawler.engine.downloader.slots.get(host)
        current = int(slot.delay * 1000) if slot is not None else 0
        return max(self.delay_ms, current)  # AutoThrottle raises the slot's delay when a host slows

    async def process_request(self, request: Request) -> None:
        host = self.crawler.engine.downloader.get_slot_key(request)
        token = secrets.token_hex(8)
        waited = 0.0
        while True:
            try:
                wait_ms = self.acquire(keys=[self.keys.host_slots(host), self.keys.host_next(host)],
                                       args=[token, self.limit, self.lease_ms, self._delay_ms(host)])
            except REDIS_ERRORS as exc:
                # Never sent ungated; the worker stops (the job ends 'lost', so it is walked again).
                report_lost(self.crawler.settings.get("DISTRIBUTED_REDIS_URL", ""), exc)
                raise IgnoreRequest("Redis lost: request not sent") from None
            if not wait_ms:
                break
            pause = min(int(wait_ms), 250) / 1000
            waited += pause
            await asyncio.sleep(pause)
        if waited:
            self.crawler.stats.inc_value("distributed/host_waits")
            self.crawler.stats.inc_value("distributed/host_wait_seconds", round(waited, 3))
        request.meta[META_PERMIT] = (host, token)

    def _release(self, request: Request) -> None:
        permit = request.meta.pop(META_PERMIT, None)
        if permit is None:
            return
        host, token = permit
        try:
            self.server.zrem(self.keys.host_slots(host), token)
        except REDIS_ERRORS:
            pass  # the lease runs out on its own

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
