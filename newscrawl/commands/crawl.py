"""``scrapy crawl`` that checks spider arguments and the database before the first request."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from newscrawl.db.engine import open_database, resolve_database_url
from newscrawl.exceptions import DatabaseUnavailable


class Command(ScrapyCrawlCommand):
    """Like Scrapy's ``crawl``, but a bad ``-a`` argument or setting, or an unreachable database,
    ends the command at once with a one-line message and exit code 2 (usage) or 3
    (database), instead of a traceback after the crawl has started."""

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and not self._preflight(args[0], opts):
            return
        super().run(args, opts)

    def _preflight(self, spider_name: str, opts: argparse.Namespace) -> bool:
        assert self.crawler_process is not None and self.settings is not None
        try:
            spidercls = self.crawler_process.spider_loader.load(spider_name)
        except KeyError:
            return self._fail(2, f"unknown spider {spider_name!r}; `scrapy list` shows the spiders")
        check = getattr(spidercls, "check_arguments", None)
        if check is not None:
            try:
                check(**opts.spargs)
            except ValueError as exc:
                return self._fail(2, f"invalid spider argument: {exc}")
        if self.settings.getbool("STORE_ENABLED", True):
            try:
                open_database(resolve_database_url(self.settings.get("DATABASE_URL"))).dispose()
            except DatabaseUnavailable as exc:
                return self._fail(3, f"{exc}; nothing was crawled")
        return True

    def _fail(self, code: int, message: str) -> bool:
        print(f"newscrawl: error: {message}", file=sys.stderr)
        self.exitcode = code
        return False
