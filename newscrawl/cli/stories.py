"""The story commands: ``stories`` (stories carried by several articles) and ``cluster --rebuild``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from newscrawl import stories
from newscrawl.cli import EXIT_OK, CommandError
from newscrawl.cli.database import database_url
from newscrawl.cli.lock import database_lock
from newscrawl.cli.query import (
    _check_text,
    _common,
    _database,
    _day,
    _local,
    _no_results,
    _paging,
    _paging_options,
    _print_json,
    _table,
    _zone,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stories",
        help="stories carried by several articles (copies of one text), newest first",
        description="Each story is one text carried by several articles, across sources and "
        "runs: wire copy with another headline, trimmed, extended or lightly edited. Shows how "
        "many articles and which sources carried it, when, and its wire credit (the agency "
        "most copies credit, so an uncredited copy counts as the agency's).",
    )
    _common(parser, "print the stories as JSON instead of a table", "zone of --since/--until days and of printed times")
    parser.add_argument("--source", help="only stories this source carried, e.g. japantoday")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="first published on or after this day")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="first published on or before this day")
    parser.add_argument("--credit", help="the story's wire credit, e.g. Kyodo (any case)")
    parser.add_argument(
        "--min-articles", type=int, default=2, metavar="N",
        help="only stories carried by at least N articles (default 2; 1 lists every story)",
    )
    _paging_options(parser)
    parser.set_defaults(func=run_stories)

    parser = subparsers.add_parser(
        "cluster",
        help="rebuild the story index of an existing archive",
        description="Drops every story and LSH band key and clusters the whole archive again, "
        "oldest article first (each new or changed article is clustered as it is stored; run "
        "this once for an archive crawled before stories existed). Takes the crawl lock.",
    )
    parser.add_argument("--database", metavar="URL", help="database URL (default: $NEWSCRAWL_DATABASE_URL or sqlite:///newscrawl.db)")
    parser.add_argument("--rebuild", action="store_true", required=True, help="rebuild every story (required)")
    parser.add_argument("--lock-file", help="lock file (default: the crawl's lock of this database)")
    parser.set_defaults(func=run_cluster)


def run_stories(args: argparse.Namespace) -> int:
    _check_text(args)
    zone = _zone(args)
    limit, offset = _paging(args)
    if args.min_articles < 1:
        raise CommandError(f"--min-articles must be at least 1, not {args.min_articles}")
    filters = stories.StoryFilter(
        since=_day(args.since, "--since"),
        until=_day(args.until, "--until"),
        tz=args.tz,
        source=args.source,
        credit=args.credit,
        min_articles=args.min_articles,
    )
    with _database(args) as engine:
        try:
            found = stories.list_stories(engine, filters, limit, offset)
        except stories.InvalidFilter as exc:
            raise CommandError(str(exc)) from None
    if args.json:
        _print_json(found)
    elif found:
        _table(
            ["STORY", f"FIRST ({args.tz})", f"LAST ({args.tz})", "ARTICLES", "SOURCES", "CREDIT", "TITLE"],
            (
                [
                    str(s.id),
                    _local(s.first_published, zone),
                    _local(s.last_published, zone),
                    str(s.articles),
                    ", ".join(s.sources),
                    s.credit or "",
                    s.title,
                ]
                for s in found
            ),
        )
    return EXIT_OK if found else _no_results("no stories match")


def run_cluster(args: argparse.Namespace) -> int:
    url = database_url(args)
    # The database first: a mistyped SQLite path is reported, no lock file left beside it.
    with _database(args) as engine, database_lock(url, args.lock_file):
        def progress(done: int, total: int) -> None:
            print(f"newscrawl: clustered {done:,} of {total:,} articles", file=sys.stderr)

        count = stories.rebuild_stories(engine, progress=progress)
        shared = stories.count_stories(engine, min_articles=2)
    print(f"clustered {count:,} articles: {shared:,} stories carried by more than one article")
    return EXIT_OK
