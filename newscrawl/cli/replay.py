"""Replay crawls for ``reparse`` and ``import-warc``: one Scrapy crawl per spider over archived responses, with the real pipelines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from newscrawl.archive.replay import Replay

#: What a replay crawl turns off or changes: nothing is fetched (robots.txt, retries, delays
#: mean nothing), nothing is archived again, no listing walk is recorded, and replaying a page
#: is not seeing it again (``last_seen_at`` stays).
REPLAY_SETTINGS: dict[str, Any] = {
    "ARCHIVE_ENABLED": False,
    "INCREMENTAL_ENABLED": False,
    "ROBOTSTXT_OBEY": False,
    "RETRY_ENABLED": False,
    "RETRY_AFTER_ENABLED": False,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "STORE_TOUCH_SEEN": False,
}
REPLAY_MIDDLEWARE = "newscrawl.archive.replay.ReplayMiddleware"


@dataclass
class ReplayJob:
    """One replay crawl: the spider whose parsing applies, its arguments, the records it reads."""

    spider: str
    run_name: str
    replay: list[Replay] = field(default_factory=list)
    spargs: dict[str, str] = field(default_factory=dict)


def add_replay_arguments(parser: Any) -> None:
    """The options every replay command takes: settings, the database, its lock."""
    parser.add_argument("-s", dest="set", action="append", metavar="NAME=VALUE", help="Scrapy setting")
    parser.add_argument("--database", help="SQLAlchemy URL (default: NEWSCRAWL_DATABASE_URL or newscrawl.db)")
    parser.add_argument("--lock-file", help="lock file (default: the crawl lock of the database)")


def run_replays(settings: Any, jobs: list[ReplayJob], listing_files: int,
                skipped: Counter[str] | None = None, **overrides: Any) -> list[tuple[ReplayJob, dict[str, Any]]]:
    """Run the jobs side by side in one process (each its own crawl: database extension, health
    check, ``crawl_runs`` row, summary line); each job with its crawl's final stats."""
    from newscrawl.archive.replay import replay_spider
    from newscrawl.cli.crawl import _crawler_process
    from newscrawl.registry import spider_class

    for name, value in {**REPLAY_SETTINGS, **overrides}.items():
        settings.set(name, value, priority="cmdline")
    middlewares = {**settings.getdict("DOWNLOADER_MIDDLEWARES"), REPLAY_MIDDLEWARE: 50}
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")
    process = _crawler_process(settings)
    crawlers = []
    for job in jobs:
        crawler = process.create_crawler(replay_spider(spider_class(job.spider)))
        process.crawl(crawler, replay=job.replay, run_name=job.run_name, listing_files=listing_files,
                      skipped=skipped, **job.spargs)
        crawlers.append((job, crawler))
    if crawlers:
        process.start()
    return [(job, dict(crawler.stats.get_stats()) if crawler.stats else {}) for job, crawler in crawlers]


def changed_fields(stats: list[dict[str, Any]]) -> Counter[str]:
    """Stored rows changed per column, summed over the crawls (the store's ``store/changed/*``)."""
    total: Counter[str] = Counter()
    for crawl in stats:
        for key, value in crawl.items():
            if key.startswith("store/changed/"):
                total[key.removeprefix("store/changed/")] += int(value)
    return total


def counts_line(counts: Counter[str] | dict[str, int]) -> str:
    """``title 3, body 1``, largest first; ``none`` when empty (pure)."""
    items = sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{name} {count}" for name, count in items) or "none"
