"""``newscrawl reparse``: today's extraction and pipelines over the archived responses of stored articles."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from newscrawl.cli import EXIT_DATABASE, EXIT_OK, CommandError

#: The articles read per query while gathering what to replay.
BATCH = 1000


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None


def archived_articles(engine: Any, source: str | None, since: date | None, until: date | None) -> list[Any]:
    """``(url, source, section, warc_file, warc_offset)`` of the stored articles that have a WARC
    record, filtered by source and publication date (UTC days, both ends included)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from newscrawl.db.models import ArticleRow

    query = (select(ArticleRow.url, ArticleRow.source, ArticleRow.section, ArticleRow.warc_file,
                    ArticleRow.warc_offset)
             .where(ArticleRow.warc_file.is_not(None), ArticleRow.warc_offset.is_not(None))
             .order_by(ArticleRow.id))
    if source:
        query = query.where(ArticleRow.source == source)
    if since:
        query = query.where(ArticleRow.published_at >= datetime.combine(since, time(), timezone.utc))
    if until:
        query = query.where(ArticleRow.published_at < datetime.combine(until + timedelta(days=1), time(), timezone.utc))
    with Session(engine) as session:
        return list(session.execute(query.execution_options(yield_per=BATCH)))


def plan(rows: list[Any], archive_dir: Path, spiders: list[str]) -> tuple[dict[str, list[Any]], Counter[str]]:
    """Replays grouped by the spider that reads them (a site spider by its source, else the generic
    ``news`` with the row's own source and section), and the rows whose WARC file is missing."""
    from newscrawl.archive import record_path
    from newscrawl.archive.replay import Replay

    groups: dict[str, list[Any]] = {}
    missing: Counter[str] = Counter()
    present: dict[Path, bool] = {}
    for url, source, section, warc_file, offset in rows:
        path = record_path(archive_dir, warc_file)
        if present.setdefault(path, path.is_file()) is False:
            missing["missing_file"] += 1
            continue
        site = source in spiders and source != "news"
        groups.setdefault(source if site else "news", []).append(
            Replay(url, str(path), offset, warc_file, None if site else source, None if site else section))
    return groups, missing


def cmd_reparse(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from newscrawl.archive import default_archive_dir
    from newscrawl.cli.crawl import _settings
    from newscrawl.cli.lock import database_lock
    from newscrawl.cli.replay import ReplayJob, changed_fields, counts_line, run_replays
    from newscrawl.db.engine import open_database, safe_url
    from newscrawl.db.store import REEXTRACTION
    from newscrawl.exceptions import DatabaseUnavailable
    from newscrawl.extensions.console import exit_code
    from newscrawl.registry import spider_names

    out = out or sys.stdout
    if args.since and args.until and args.since > args.until:
        raise CommandError(f"--since {args.since} is after --until {args.until}")
    settings = _settings(args)
    url = settings["DATABASE_URL"]
    folder = args.archive_dir or settings.get("ARCHIVE_DIR")
    archive_dir = Path(folder) if folder else default_archive_dir(url)
    try:
        engine = open_database(url)
    except DatabaseUnavailable as exc:
        raise CommandError(f"{exc}; nothing was reparsed", EXIT_DATABASE) from None
    try:
        rows = archived_articles(engine, args.source, args.since, args.until)
    finally:
        engine.dispose()
    groups, missing = plan(rows, archive_dir, spider_names())
    verb = "would change" if args.dry_run else "changed"
    if not groups:
        print(f"reparse: no archived article to read in {safe_url(url)} (archive {archive_dir}"
              f"{'; ' + counts_line(missing) if missing else ''})", file=out)
        return EXIT_OK
    label = "reparse, dry run" if args.dry_run else "reparse"
    jobs = [ReplayJob(spider, f"{spider} ({label})", replays,
                      {"start_url": f"https://{replays[0].source}/"} if spider == "news" else {})
            for spider, replays in sorted(groups.items())]
    overrides = {"STORE_REVISION_KIND": REEXTRACTION, "STORE_DRY_RUN": args.dry_run,
                 # A dry run writes nothing: no crawl_runs row either.
                 "CRAWLRUN_ENABLED": not args.dry_run}
    with database_lock(url, args.lock_file):
        results = run_replays(settings, jobs, len({r.path for rs in groups.values() for r in rs}),
                              missing, **overrides)
    stats = [crawl for _, crawl in results]
    fields = changed_fields(stats)
    rows_changed = sum(int(s.get("store/updated", 0)) for s in stats)
    read = sum(int(s.get("replay/responses", 0)) for s in stats)
    per_spider = ", ".join(f"{job.spider} {len(job.replay)}" for job, _ in results)
    print(f"reparse: {read} archived responses read ({per_spider}){'; ' + counts_line(missing) if missing else ''}",
          file=out)
    print(f"reparse: {verb} per field: {counts_line(fields)}", file=out)
    print(f"reparse: {rows_changed} articles' text {verb} (revisions of kind {REEXTRACTION!r}"
          f"{' not written' if args.dry_run else ''})", file=out)
    return max((exit_code(s) for s in stats), default=EXIT_OK)


def register(subparsers: Any) -> None:
    from newscrawl.cli.replay import add_replay_arguments

    parser = subparsers.add_parser(
        "reparse", help="re-extract stored articles from their archived responses (after an upgrade)",
        description="Runs today's extraction and pipelines over the WARC records of stored articles "
        "and updates the rows: a changed title or body leaves a revision of kind 're-extraction'. "
        "Prints how many rows changed per field. Nothing is fetched.",
    )
    parser.add_argument("--source", help="only this source (a spider name, or a host for the generic spider)")
    parser.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="articles published on or after this UTC day")
    parser.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="articles published on or before this UTC day")
    parser.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    parser.add_argument("--archive-dir", help="the crawls' archive folder (default: ARCHIVE_DIR, else "
                        "newscrawl-archive beside the SQLite file or in the working directory)")
    add_replay_arguments(parser)
    parser.set_defaults(func=cmd_reparse)
