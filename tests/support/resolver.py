"""LoopbackResolver: every host name resolves to 127.0.0.1, so a crawl can use real-looking hosts on the mirror."""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer


class LoopbackResolver(CachingThreadedResolver):
    """For ``-s TWISTED_DNS_RESOLVER=tests.support.resolver.LoopbackResolver``: no lookup leaves the machine."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:  # noqa: N802
        return defer.succeed("127.0.0.1")
