"""``scrapy crawl`` that checks arguments and the database first, keeps the console short and exits 1 when unhealthy."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from newscrawl.db.engine import open_database
from newscrawl.exceptions import DatabaseUnavailable
from newscrawl.extensions.console import exit_code
from newscrawl.extensions.database import crawl_database_url
from newscrawl.logs import install_logging


class Command(ScrapyCrawlCommand):
    """Like Scrapy's ``crawl``, but a bad ``-a`` argument or setting, or an unreachable database,
    ends the command at once with a one-line message and exit code 2 (usage) or 3
    (database), instead of a traceback after the crawl has started. After the crawl it exits
    like ``newscrawl crawl``: 0 when the spider finished healthy, 1 when it failed or a health
    check failed. The console is :func:`newscrawl.logs.install_logging`'s."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # Runs before Scrapy makes the crawler process, which would add its own root handler.
        self.settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
        install_logging(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's usage errors
            return
        if not self._preflight(args[0], opts):
            return
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        self.exitcode = exit_code(crawler.stats.get_stats() if crawler.stats else {})

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
            # Before the crawler exists, so a short-lived engine of its own: the crawl's
            # Database opens the one its components share.
            try:
                open_database(crawl_database_url(self.settings)).dispose()
            except DatabaseUnavailable as exc:
                return self._fail(3, f"{exc}; nothing was crawled")
        return True

    def _fail(self, code: int, message: str) -> bool:
        print(f"newscrawl: error: {message}", file=sys.stderr)
        self.exitcode = code
        return False
