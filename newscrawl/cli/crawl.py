"""``newscrawl crawl|schedule|status|check``: cron-safe crawls, their schedule, record and a live canary."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from newscrawl.cli import (
    EXIT_DATABASE,
    EXIT_FAILURE,
    EXIT_OK,
    CommandError,
)
from newscrawl.cli.jobs import ParallelCrawls, crawl_command, exit_code
from newscrawl.cli.lock import database_lock
from newscrawl.cli.database import database_url
from newscrawl.db.engine import open_database, safe_url
from newscrawl.exceptions import DatabaseUnavailable

SETTINGS_MODULE = "newscrawl.settings"


def _settings(args: argparse.Namespace) -> Any:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for pair in args.set or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"-s takes NAME=VALUE, got {pair!r}")
        settings.set(name, value, priority="cmdline")
    settings.set("DATABASE_URL", database_url(args, settings), priority="cmdline")
    return settings


def _spider_args(pairs: list[str] | None) -> dict[str, str]:
    spargs: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"-a takes NAME=VALUE, got {pair!r}")
        spargs[name] = value
    return spargs


def spider_arguments(pairs: list[str] | None, spiders: list[str]) -> dict[str, dict[str, str]]:
    """Each spider's ``-a`` arguments: ``NAME=VALUE`` goes to every spider, ``SPIDER:NAME=VALUE``
    to that one (a later value wins), so one run can point each spider at its own mirror."""
    shared: dict[str, str] = {}
    own: dict[str, dict[str, str]] = {spider: {} for spider in spiders}
    for name, value in _spider_args(pairs).items():
        spider, colon, argument = name.rpartition(":")
        if not colon:
            shared[name] = value
        elif spider in own:
            own[spider][argument] = value
        else:
            raise CommandError(f"-a {name}=…: {spider!r} is not a spider of this run ({', '.join(spiders)})")
    return {spider: {**shared, **own[spider]} for spider in spiders}


def check_spider_arguments(arguments: dict[str, dict[str, str]]) -> None:
    """Refuses, before anything runs, an argument that a spider does not take or a bad value."""
    from newscrawl.registry import spider_class

    for spider, spargs in arguments.items():
        check = getattr(spider_class(spider), "check_arguments", None)
        if check is not None:
            try:
                check(**spargs)
            except ValueError as exc:
                raise CommandError(f"{spider}: invalid spider argument: {exc}") from None


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def _select_spiders(names: list[str]) -> list[str]:
    """``names`` when every one is a spider, else every scheduled spider when none is named."""
    from newscrawl.registry import scheduled_spiders, spider_names

    known = spider_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CommandError(f"unknown spider(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return names or scheduled_spiders()


def _crawler_process(settings: Any, **console: Any) -> Any:
    """A crawler process whose log goes to newscrawl's console (and LOG_FILE), not Scrapy's handler."""
    from scrapy.crawler import AsyncCrawlerProcess

    from newscrawl.logs import install_logging

    for name, value in {"LOG_INSTALL_ROOT_HANDLER": False, **console}.items():
        settings.set(name, value, priority="cmdline")
    install_logging(settings)
    return AsyncCrawlerProcess(settings)


def mark_aborted_runs(engine: Any, spiders: list[str]) -> int:
    """:func:`~newscrawl.extensions.crawlrun.abort_stale_runs` for ``spiders``, the ones this
    crawl (holding the lock) is about to run."""
    from sqlalchemy.orm import Session

    from newscrawl.extensions.crawlrun import abort_stale_runs

    with Session(engine) as session, session.begin():
        return abort_stale_runs(session, spiders)


def cmd_crawl(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    settings = _settings(args)
    url = settings["DATABASE_URL"]
    from newscrawl.contact import warn_without_contact
    from newscrawl.logs import install_logging

    names = _select_spiders(args.spiders)
    arguments = spider_arguments(args.arg, names)
    check_spider_arguments(arguments)
    try:
        # Also applies any pending migration once, before the crawls start side by side.
        engine = open_database(url)
    except DatabaseUnavailable as exc:
        raise CommandError(f"{exc}; nothing was crawled", EXIT_DATABASE) from None
    # The URL reaches the crawls through the environment, never a command line `ps` shows
    # (nor a -s DATABASE_URL= that would send them to another database than the one locked).
    env = {**os.environ, "NEWSCRAWL_DATABASE_URL": url, "SCRAPY_SETTINGS_MODULE": SETTINGS_MODULE}
    settings_pairs = [*(p for p in args.set or [] if not p.startswith("DATABASE_URL=")),
                      "CONSOLE_SUMMARY_STDOUT=True"]
    try:
        with database_lock(url, args.lock_file, names):
            console = settings.copy()
            console.set("LOG_FILE", None, priority="cmdline")  # the crawls write the log file
            install_logging(console)
            if warn_without_contact(settings):
                settings_pairs.append("CONTACT_WARNING=False")  # said once here, not once per crawl
            commands = {name: crawl_command(name, arguments[name], settings_pairs) for name in names}
            mark_aborted_runs(engine, names)
            engine.dispose()  # each crawl opens its own; none is held while they run
            jobs = ParallelCrawls(args.jobs, env, stdout=out).run(commands)
    finally:
        engine.dispose()
    return exit_code(jobs)


def cron_line(schedule: str, workdir: Path, executable: Path, log: Path, database: str | None) -> str:
    """The crontab line that runs every scheduled spider and appends to ``log``.

    Every value is shell-quoted, and each ``%`` is written ``\\%``: cron ends the
    command at an unescaped ``%`` and feeds the rest to its stdin. Raises
    ValueError for what a crontab line cannot carry (a line break, ``\\`` before ``%``).
    """
    values = [str(workdir), str(executable), str(log), database or ""]
    for value in values:
        if "\n" in value or "\r" in value:
            raise ValueError(f"{value!r} holds a line break, which a crontab line cannot carry")
        if "\\%" in value:
            raise ValueError(f"{value!r} holds \\ before %, which cron cannot pass on")
    env = f"NEWSCRAWL_DATABASE_URL={shlex.quote(database)} " if database else ""
    command = (f"cd {shlex.quote(str(workdir))} && {env}{shlex.quote(str(executable))} crawl "
               f">> {shlex.quote(str(log))} 2>&1")
    return f"{schedule} {command.replace('%', chr(92) + '%')}"


def cron_schedule(text: str) -> str:
    """``text`` as a crontab time (5 fields or an @-macro, one space apart); ValueError if invalid."""
    from crontab import CronSlices

    schedule = " ".join(text.split())
    fields = schedule.split(" ")
    if not (len(fields) == 5 or (len(fields) == 1 and schedule.startswith("@"))):
        raise ValueError("expected 5 fields (minute hour day month weekday) or @hourly, @daily…")
    if not CronSlices.is_valid(schedule):
        raise ValueError("not a valid cron time (see man 5 crontab)")
    return schedule


def cmd_schedule(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        schedule = cron_schedule(args.cron)
    except ValueError as exc:
        raise CommandError(f"--cron {args.cron!r}: {exc}") from None
    workdir = Path(args.workdir)
    if not workdir.is_dir():
        state = "is not a folder" if workdir.exists() else "does not exist"
        raise CommandError(f"--workdir {args.workdir!r} {state}")
    workdir = workdir.resolve()
    executable = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "newscrawl" else (
        Path(sys.executable).with_name("newscrawl")
    )
    log = Path(args.log) if args.log else workdir / "logs" / "newscrawl.log"
    try:
        line = cron_line(schedule, workdir, executable, log, args.database)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print("# newscrawl: crawl every scheduled spider; exit codes are in README.md", file=out)
    print(f"# create the log folder first: mkdir -p {shlex.quote(str(log.parent))}", file=out)
    print(line, file=out)
    return EXIT_OK


def run_verdict(run: Any, gone: bool) -> tuple[str, str]:
    """The status and health text ``status`` shows for a run: only a finished, healthy run reads ``ok``."""
    from newscrawl.holder import printable

    where = f"pid {run.pid} on {printable(run.host or '?')}"
    if run.status == "running" and gone:
        return "aborted", f"ABORTED: its process ({where}) is gone"
    if run.status == "running":
        where = f" ({where})" if run.pid is not None else ""
        return "running", f"running{where}"
    if run.status == "aborted":
        return "aborted", "ABORTED: the crawl was killed before it ended"
    problems = "; ".join(run.health or [])
    if run.status == "failed":
        return "failed", f"FAILED: ended with {run.finish_reason or 'no finish reason'}" + (
            f"; {problems}" if problems else "")
    return run.status, problems or "ok"


def pending_backfills(session: Any) -> dict[str, list[Any]]:
    """Unfinished listing walks per source (the next crawl of the source resumes them)."""
    from sqlalchemy import select

    from newscrawl.db.models import ResumePoint

    pending: dict[str, list[Any]] = {}
    for point in session.scalars(select(ResumePoint).where(ResumePoint.complete.is_(False))
                                 .order_by(ResumePoint.source, ResumePoint.id)):
        pending.setdefault(point.source, []).append(point)
    return pending


def cmd_status(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import json

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from newscrawl.db.models import CrawlRun
    from newscrawl.holder import is_gone, printable

    out = out or sys.stdout  # looked up now: a default argument would keep the stdout of import time
    url = database_url(args)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise CommandError(f"no database at {safe_url(url)}; run a crawl first", EXIT_DATABASE)
    try:
        engine = open_database(url)
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc), EXIT_DATABASE) from None
    with Session(engine) as session:
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).all()
        backfills = pending_backfills(session)
    engine.dispose()
    latest: dict[str, list[CrawlRun]] = {}
    for run in runs:
        if len(latest.setdefault(run.spider, [])) < args.last:
            latest[run.spider].append(run)
    from newscrawl.cli.worker import cluster_url, print_cluster

    cluster = cluster_url(args)
    if cluster and not args.json:
        print_cluster(cluster, out)
    if not latest and not backfills:
        print("no crawls recorded yet", file=sys.stderr)
        return EXIT_OK
    rows = []
    for spider in sorted(latest):
        for r in latest[spider]:
            status, health = run_verdict(r, r.status == "running" and is_gone(r.host, r.pid, r.process_start))
            rows.append({
                "spider": r.spider, "started_at": r.started_at.isoformat(timespec="seconds"),
                "seconds": round((r.finished_at - r.started_at).total_seconds(), 1) if r.finished_at else None,
                "status": status, "scraped": r.scraped, "inserted": r.inserted, "updated": r.updated,
                "dropped": r.dropped, "requests": r.requests, "health": r.health, "verdict": health,
                "host": r.host, "pid": r.pid,
            })
    walks = [
        {"spider": source, "start_url": printable(p.start_url), "deepest_page": p.deepest_page,
         "max_pages": p.max_pages, "since": p.since.isoformat() if p.since else None,
         "started_at": p.started_at.isoformat(timespec="seconds")}
        for source in sorted(backfills) for p in backfills[source]
    ]
    for row in rows:
        row["backfill_incomplete"] = [w for w in walks if w["spider"] == row["spider"]]
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return EXIT_OK
    header = f"{'spider':<14} {'started (UTC)':<20} {'secs':>6} {'status':<10} {'scraped':>7} {'new':>5} {'upd':>4} {'drop':>5}  health"
    print(header, file=out)
    for row in rows:
        print(f"{row['spider']:<14} {row['started_at'][:19]:<20} {'' if row['seconds'] is None else row['seconds']:>6} "
              f"{row['status']:<10} {row['scraped']:>7} {row['inserted']:>5} {row['updated']:>4} "
              f"{row['dropped']:>5}  {row['verdict']}", file=out)
    for walk in walks:
        since = f", down to {walk['since']}" if walk["since"] else ""
        print(f"{walk['spider']}: backfill incomplete: listing page {walk['deepest_page']} of "
              f"{walk['max_pages']} reached{since} ({walk['start_url']}, started {walk['started_at'][:19]}); "
              "the next crawl of it resumes there", file=out)
    return EXIT_OK


def register(subparsers: Any) -> None:
    crawl = subparsers.add_parser(
        "crawl", help="run spiders (all scheduled ones by default) for cron",
        description="Run the named spiders (every scheduled one by default), each as its own "
        "`scrapy crawl` process, up to --jobs at a time; each prints its summary line. Exit 0 "
        "when every spider finished healthy, else the largest code among them: 1 when one failed "
        "or a health check failed, 2 for bad arguments, 3 when the database cannot be opened; 4 "
        "when another crawl holds the lock.",
    )
    crawl.add_argument("spiders", nargs="*", metavar="SPIDER")
    crawl.add_argument("-a", dest="arg", action="append", metavar="[SPIDER:]NAME=VALUE",
                       help="spider argument, for every spider or (SPIDER:NAME=VALUE) for one")
    crawl.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1, metavar="N",
                       help="crawls run at once (default: the CPU count, here %(default)s)")
    crawl.add_argument("-s", dest="set", action="append", metavar="NAME=VALUE", help="Scrapy setting")
    crawl.add_argument("--database", help="SQLAlchemy URL (default: NEWSCRAWL_DATABASE_URL or newscrawl.db)")
    crawl.add_argument("--lock-file", help="lock file (default: beside the SQLite file's real path; an advisory lock in PostgreSQL)")
    crawl.set_defaults(func=cmd_crawl)

    schedule = subparsers.add_parser(
        "schedule", help="print the crontab line to install",
        description="Prints a crontab line that runs `newscrawl crawl` in WORKDIR (an existing "
        "folder) and appends its output to the log. Paste it with `crontab -e`.",
    )
    schedule.add_argument("--cron", default="17 * * * *", metavar="TIME",
                          help="cron time: 5 fields or @hourly, @daily… (default: hourly at :17)")
    schedule.add_argument("--workdir", default=".", help="existing folder the crawl runs in (holds newscrawl.db)")
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
    status.add_argument("--redis", help="Redis URL of the workers (default: NEWSCRAWL_REDIS_URL); shows "
                        "workers and queues")
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
    from newscrawl.extensions.health import listing_cause

    [name] = _select_spiders([args.spider])
    spargs = _spider_args(args.arg)
    # Before the crawl, as `newscrawl crawl` does: a bad -a is one line, not a traceback.
    check_spider_arguments({name: spargs})
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
