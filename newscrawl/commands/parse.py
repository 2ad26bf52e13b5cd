"""``scrapy parse`` that looks at one page without recording a crawl or storing anything."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from scrapy.commands.parse import Command as ScrapyParseCommand

from newscrawl.contact import warn_without_contact
from newscrawl.urls import rebase

#: Components that would record a run, judge its health, store items or read the seen-state:
#: looking at one page is not a crawl.
OFF = ("CRAWLRUN_ENABLED", "HEALTH_ENABLED", "STORE_ENABLED", "INCREMENTAL_ENABLED")


class Command(ScrapyParseCommand):
    """Like Scrapy's ``parse``, but no ``crawl_runs`` row, no stored article, no database at all;
    a page of a mirror is read as the site's own (its section moves to the page's host unless
    ``-a start_url=`` says otherwise), and a bad
    ``--spider`` or ``-a`` argument ends the command with a one-line message and exit code 2.
    Without ``-c`` the spider's ``parse`` picks the article or the listing callback."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        for name in OFF:
            self.settings.set(name, False, priority="cmdline")
        # The URL was named on purpose: fetch it whatever the spider's allowed domain is.
        opts.meta = {"allow_offsite": True, **(opts.meta or {})}

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if opts.spider and len(args) == 1 and not self._preflight(opts.spider, args[0], opts):
            return
        super().run(args, opts)

    def _preflight(self, spider_name: str, url: str, opts: argparse.Namespace) -> bool:
        assert self.crawler_process is not None
        try:
            spidercls = self.crawler_process.spider_loader.load(spider_name)
        except KeyError:
            return self._fail(f"unknown spider {spider_name!r}; `scrapy list` shows the spiders")
        home = getattr(spidercls, "start_url", None)
        if home and "start_url" not in opts.spargs and urlsplit(home).netloc != urlsplit(url).netloc:
            # A page of a mirror: the spider's section moves to the mirror's host, as in a crawl
            # with -a start_url=, so the links a listing page shows are the mirror's own.
            opts.spargs["start_url"] = rebase(home, url)
        check = getattr(spidercls, "check_arguments", None)
        if check is not None:
            try:
                check(**opts.spargs)
            except ValueError as exc:
                return self._fail(f"invalid spider argument: {exc}")
        assert self.settings is not None
        warn_without_contact(self.settings)
        return True

    def _fail(self, message: str) -> bool:
        print(f"newscrawl: error: {message}", file=sys.stderr)
        self.exitcode = 2
        return False
