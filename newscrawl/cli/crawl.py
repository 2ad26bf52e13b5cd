"""``newscrawl crawl|schedule|status|check``: cron-safe crawls, their schedule, record and a live canary."""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from newscrawl.cli import (
    EXIT_DATABASE,
    EXIT_FAILURE,
    EXIT_LOCKED,
    EXIT_OK,
    CommandError,
)
from newscrawl.db.engine import open_database, resolve_database_url, safe_url
from newscrawl.exceptions import DatabaseUnavailable

SETTINGS_MODULE = "newscrawl.settings"


@dataclass
class SpiderResult:
    """How one spider's crawl went, for the summary line and the exit code."""

    spider: str
    status: str
    stats: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.status == "finished" and not self.problems

    def summary(self) -> str:
        from newscrawl.extensions.console import summary_line

        return summary_line(self.spider, self.stats, self.status, self.problems)


def default_lock_path(database_url: str) -> Path:
    """One lock per database: beside a SQLite file, else in the temp dir keyed by the URL."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url.removeprefix("sqlite:///") + ".lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"newscrawl-{digest}.lock"


@contextmanager
def crawl_lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock; raises :class:`CommandError` (exit 4) when held."""
    handle = open(path, "a+")  # noqa: SIM115 (held for the whole crawl)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise CommandError(
                f"another crawl is running (lock {path} held by pid {holder}); exiting", EXIT_LOCKED
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def _settings(args: argparse.Namespace) -> Any:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for pair in args.set or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"-s takes NAME=VALUE, got {pair!r}")
        settings.set(name, value, priority="cmdline")
    if args.database:
        settings.set("DATABASE_URL", args.database, priority="cmdline")
    return settings


def _spider_args(pairs: list[str] | None) -> dict[str, str]:
    spargs: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"-a takes NAME=VALUE, got {pair!r}")
        spargs[name] = value
    return spargs


def _select_spiders(loader: Any, names: list[str]) -> list[str]:
    known = loader.list()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CommandError(f"unknown spider(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if names:
        return names
    return sorted(n for n in known if getattr(loader.load(n), "scheduled", True))


def _crawler_process(settings: Any, **console: Any) -> Any:
    """A crawler process whose log goes to newscrawl's console (and LOG_FILE), not Scrapy's handler."""
    from scrapy.crawler import AsyncCrawlerProcess

    from newscrawl.logs import install_logging

    for name, value in {"LOG_INSTALL_ROOT_HANDLER": False, **console}.items():
        settings.set(name, value, priority="cmdline")
    install_logging(settings)
    return AsyncCrawlerProcess(settings)


def run_crawls(settings: Any, names: list[str], spargs: dict[str, str]) -> list[SpiderResult]:
    """Run the spiders side by side in one process; one failing spider never stops the others."""
    from newscrawl.extensions.console import crawl_problems, crawl_status

    # The summary lines are printed on stdout at the end, all together.
    process = _crawler_process(settings, CONSOLE_SUMMARY=False)
    for name in names:
        check = getattr(process.spider_loader.load(name), "check_arguments", None)
        if check is not None:
            try:
                check(**spargs)
            except ValueError as exc:
                raise CommandError(f"{name}: invalid spider argument: {exc}") from None
    crawlers = []
    for name in names:
        crawler = process.create_crawler(name)
        crawlers.append((name, crawler))
        process.crawl(crawler, **spargs)
    process.start()
    results = []
    for name, crawler in crawlers:
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        results.append(SpiderResult(name, crawl_status(stats), stats, crawl_problems(stats)))
    return results


def mark_aborted_runs(database_url: str, spiders: list[str]) -> int:
    """Runs still 'running' while we hold the lock were killed: say so (status 'aborted')."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from newscrawl.db.models import CrawlRun

    engine = open_database(database_url)
    try:
        with Session(engine) as session, session.begin():
            result = session.execute(
                update(CrawlRun)
                .where(CrawlRun.status == "running", CrawlRun.spider.in_(spiders))
                .values(status="aborted")
            )
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


def cmd_crawl(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    settings = _settings(args)
    database_url = resolve_database_url(settings.get("DATABASE_URL"))
    settings.set("DATABASE_URL", database_url, priority="cmdline")
    from scrapy.spiderloader import get_spider_loader

    names = _select_spiders(get_spider_loader(settings), args.spiders)
    spargs = _spider_args(args.arg)
    lock = Path(args.lock_file) if args.lock_file else default_lock_path(database_url)
    try:
        open_database(database_url).dispose()
    except DatabaseUnavailable as exc:
        raise CommandError(f"{exc}; nothing was crawled", EXIT_DATABASE) from None
    with crawl_lock(lock):
        mark_aborted_runs(database_url, names)
        results = run_crawls(settings, names, spargs)
    for result in results:
        print(result.summary(), file=out)
    return EXIT_OK if all(r.healthy for r in results) else EXIT_FAILURE


def cron_line(schedule: str, workdir: Path, executable: Path, log: Path, database: str | None) -> str:
    """The crontab line that runs every scheduled spider and appends to ``log``."""
    env = f"NEWSCRAWL_DATABASE_URL={shlex.quote(database)} " if database else ""
    return (f"{schedule} cd {shlex.quote(str(workdir))} && {env}{shlex.quote(str(executable))} crawl "
            f">> {shlex.quote(str(log))} 2>&1")


def cmd_schedule(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    workdir = Path(args.workdir).resolve()
    executable = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "newscrawl" else (
        Path(sys.executable).with_name("newscrawl")
    )
    log = Path(args.log) if args.log else workdir / "logs" / "newscrawl.log"
    print("# newscrawl: crawl every scheduled spider; exit codes are in README.md", file=out)
    print(f"# create the log folder first: mkdir -p {shlex.quote(str(log.parent))}", file=out)
    print(cron_line(args.cron, workdir, executable, log, args.database), file=out)
    return EXIT_OK


def cmd_status(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    import json

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from newscrawl.db.models import CrawlRun

    url = resolve_database_url(args.database)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise CommandError(f"no database at {safe_url(url)}; run a crawl first", EXIT_DATABASE)
    try:
        engine = open_database(url)
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc), EXIT_DATABASE) from None
    with Session(engine) as session:
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).all()
    engine.dispose()
    latest: dict[str, list[CrawlRun]] = {}
    for run in runs:
        if len(latest.setdefault(run.spider, [])) < args.last:
            latest[run.spider].append(run)
    if not latest:
        print("no crawls recorded yet", file=sys.stderr)
        return EXIT_OK
    rows = [
        {
            "spider": r.spider, "started_at": r.started_at.isoformat(timespec="seconds"),
            "seconds": round((r.finished_at - r.started_at).total_seconds(), 1) if r.finished_at else None,
            "status": r.status, "scraped": r.scraped, "inserted": r.inserted, "updated": r.updated,
            "dropped": r.dropped, "requests": r.requests, "health": r.health,
        }
        for spider in sorted(latest) for r in latest[spider]
    ]
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return EXIT_OK
    header = f"{'spider':<14} {'started (UTC)':<20} {'secs':>6} {'status':<10} {'scraped':>7} {'new':>5} {'upd':>4} {'drop':>5}  health"
    print(header, file=out)
    for row in rows:
        health = "ok" if not row["health"] else "; ".join(row["health"])
        print(f"{row['spider']:<14} {row['started_at'][:19]:<20} {'' if row['seconds'] is None else row['seconds']:>6} "
              f"{row['status']:<10} {row['scraped']:>7} {row['inserted']:>5} {row['updated']:>4} "
              f"{row['dropped']:>5}  {health}", file=out)
    return EXIT_OK


def register(subparsers: Any) -> None:
    crawl = subparsers.add_parser(
        "crawl", help="run spiders (all scheduled ones by default) for cron",
        description="Run the named spiders in one process. Exit 0 when every spider finished "
        "healthy, 1 when one failed or a health check failed, 2 for bad arguments, 3 when the "
        "database cannot be opened, 4 when another crawl holds the lock.",
    )
    crawl.add_argument("spiders", nargs="*", metavar="SPIDER")
    crawl.add_argument("-a", dest="arg", action="append", metavar="NAME=VALUE", help="spider argument")
    crawl.add_argument("-s", dest="set", action="append", metavar="NAME=VALUE", help="Scrapy setting")
    crawl.add_argument("--database", help="SQLAlchemy URL (default: NEWSCRAWL_DATABASE_URL or newscrawl.db)")
    crawl.add_argument("--lock-file", help="lock file (default: beside the SQLite file, or in /tmp)")
    crawl.set_defaults(func=cmd_crawl)

    schedule = subparsers.add_parser("schedule", help="print the crontab line to install")
    schedule.add_argument("--cron", default="17 * * * *", help="cron schedule (default: hourly at :17)")
    schedule.add_argument("--workdir", default=".", help="folder the crawl runs in (holds newscrawl.db)")
    schedule.add_argument("--log", help="log file (default: WORKDIR/logs/newscrawl.log)")
    schedule.add_argument("--database", help="SQLAlchemy URL to put in the crontab line")
    schedule.set_defaults(func=cmd_schedule)

    check = subparsers.add_parser(
        "check", help="live canary: fetch one listing page and one article, report the fields",
        description="Fetches one listing page and one article from the site (or -a start_url=…), "
        "stores nothing, and prints which fields were found. Exit 1 when title, body or date is "
        "missing or no article link was found.",
    )
    check.add_argument("spider", metavar="SPIDER")
    check.add_argument("-a", dest="arg", action="append", metavar="NAME=VALUE", help="spider argument")
    check.add_argument("-s", dest="set", action="append", metavar="NAME=VALUE", help="Scrapy setting")
    check.set_defaults(func=cmd_check, database=None)

    status = subparsers.add_parser("status", help="the last crawls per spider and their health")
    status.add_argument("--database", help="SQLAlchemy URL (default: NEWSCRAWL_DATABASE_URL or newscrawl.db)")
    status.add_argument("--last", type=int, default=3, help="runs per spider (default 3)")
    status.add_argument("--json", action="store_true", help="JSON for scripts")
    status.set_defaults(func=cmd_status)


CHECK_FIELDS = ("title", "body", "published_at", "authors", "credit", "dateline", "comment_count",
                "image_url", "tags", "summary", "modified_at")


def run_check(settings: Any, name: str, spargs: dict[str, str]) -> tuple[dict[str, Any], list[Any]]:
    """Crawl one listing page and one article without storing anything; the stats and items."""
    from scrapy import signals

    for setting, value in {
        "STORE_ENABLED": False, "CRAWLRUN_ENABLED": False, "INCREMENTAL_ENABLED": False,
        "HEALTH_ENABLED": False, "CLOSESPIDER_ITEMCOUNT": 1, "CONCURRENT_REQUESTS": 1,
    }.items():
        settings.set(setting, value, priority="cmdline")
    items: list[Any] = []

    def collect(item: Any) -> None:
        items.append(item)

    process = _crawler_process(settings, CONSOLE_SUMMARY=False)
    crawler = process.create_crawler(name)
    crawler.signals.connect(collect, signal=signals.item_scraped)
    process.crawl(crawler, **{"max_pages": "1", **spargs})
    process.start()
    return dict(crawler.stats.get_stats()), items


def cmd_check(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """A live canary: is the site's layout still what the spider expects? (Never run in CI.)"""
    settings = _settings(args)
    from scrapy.spiderloader import get_spider_loader

    from newscrawl.extensions.health import listing_cause

    loader = get_spider_loader(settings)
    [name] = _select_spiders(loader, [args.spider])
    spargs = _spider_args(args.arg)
    try:  # before the crawl, as `newscrawl crawl` does: a bad -a is one line, not a traceback
        loader.load(name).check_arguments(**spargs)
    except ValueError as exc:
        raise CommandError(f"{name}: invalid spider argument: {exc}") from None
    stats, items = run_check(settings, name, spargs)
    links = int(stats.get("newscrawl/links/articles", 0))
    pages = int(stats.get("newscrawl/listing_pages", 0))
    cause = "" if pages else f" ({listing_cause(stats)})"
    print(f"{name}: listing pages {pages}{cause}, article links {links}", file=out)
    if not items:
        dropped = {k.rsplit("/", 1)[1]: v for k, v in stats.items()
                   if k.startswith("item_dropped_reasons_count/")}
        print(f"{name}: no article passed the pipelines (dropped: {dropped or 'none'})", file=out)
        return EXIT_FAILURE
    item = items[0]
    print(f"{name}: {item.url} (body by {item.body_method})", file=out)
    missing = []
    for field_name in CHECK_FIELDS:
        value = getattr(item, field_name)
        present = value not in (None, [], "")
        if not present and field_name in ("title", "body", "published_at"):
            missing.append(field_name)
        shown = (str(value)[:60] + "…") if value is not None and len(str(value)) > 60 else value
        print(f"  {'ok ' if present else '-- '} {field_name:<14} {shown!r}", file=out)
    return EXIT_FAILURE if missing or links == 0 else EXIT_OK
