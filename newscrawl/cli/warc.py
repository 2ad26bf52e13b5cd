"""``newscrawl import-warc``: another crawler's (or Common Crawl's CC-NEWS) WARC responses through a spider's article parsing into the database."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from newscrawl.cli import EXIT_DATABASE, EXIT_OK, CommandError

#: Media types read as HTML pages; anything else is counted ``not_html``.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_WARC_NAME = re.compile(r"\.(?:warc|arc)(?:\.gz)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Site:
    """A spider's site as import routing knows it: its host's registrable domain and article pattern."""

    spider: str
    domain: str
    article_path: re.Pattern[str]


@dataclass
class Routing:
    """Which spider reads a URL: a site spider when the URL's host is the spider's site (or a
    ``--site HOST=SPIDER`` host) and its path the spider's ``article_path``; the generic ``news``
    spider for story-like URLs of other sites when ``generic``; None with the reason otherwise."""

    sites: list[Site]
    hosts: dict[str, str] = field(default_factory=dict)
    generic: bool = False

    def route(self, url: str) -> tuple[str | None, str]:
        """(spider, "") or (None, reason): ``not_article`` or ``unknown_site``."""
        from newscrawl.extract.links import looks_like_article
        from newscrawl.urls import registrable_domain, url_path

        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = url_path(url)
        named = self.hosts.get(parts.netloc.lower()) or self.hosts.get(host)
        candidates = [s for s in self.sites if s.spider == named] if named else [
            s for s in self.sites if s.domain == registrable_domain(host)]
        if candidates:
            spider = next((s.spider for s in candidates if s.article_path.fullmatch(path)), None)
            return (spider, "") if spider else (None, "not_article")
        if self.generic:
            return ("news", "") if looks_like_article(path) else (None, "not_article")
        return None, "unknown_site"


def site_routing(hosts: dict[str, str], generic: bool) -> Routing:
    """Routing over every site spider the registry knows."""
    from newscrawl.registry import spider_class, spider_names
    from newscrawl.urls import registrable_domain

    sites = []
    for name in spider_names():
        cls = spider_class(name)
        start, pattern = getattr(cls, "start_url", ""), getattr(cls, "article_path", None)
        if name == "news" or not start or pattern is None:
            continue
        sites.append(Site(name, registrable_domain((urlsplit(start).hostname or "").lower()), pattern))
    unknown = sorted(set(hosts.values()) - {s.spider for s in sites})
    if unknown:
        raise CommandError(f"--site: {', '.join(unknown)} is not a site spider "
                           f"(known: {', '.join(s.spider for s in sites)})")
    return Routing(sites, hosts, generic)


def warc_files(paths: Iterable[str], lists: Iterable[str]) -> list[Path]:
    """The WARC files named, then those listed one per line in each list file (``#`` comments,
    blank lines skipped, relative paths from the list's folder); each must exist."""
    files = [Path(p) for p in paths]
    for listing in lists:
        list_path = Path(listing)
        try:
            lines = list_path.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"--list {listing}: {exc}") from None
        files += [list_path.parent / line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    for path in files:
        if not path.is_file():
            raise CommandError(f"{path}: no such WARC file")
    if not files:
        raise CommandError("no WARC file given (FILE… or --list FILE)")
    return [path.resolve() for path in files]


def classify(files: list[Path], routing: Routing, section: str | None) -> tuple[dict[str, list[Any]], Counter[str], Counter[str]]:
    """One pass over every record: the replays per spider, records skipped by reason
    (``truncated``, ``revisit``, ``not_ok``, ``not_html``, ``not_article``, ``unknown_site``,
    ``duplicate``, ``bad_url``), and the other record types seen (request, warcinfo…)."""
    from newscrawl.archive.reader import iter_records
    from newscrawl.archive.replay import Replay
    from newscrawl.urls import canonicalize_url

    groups: dict[str, list[Replay]] = {}
    skipped: Counter[str] = Counter()
    others: Counter[str] = Counter()
    seen: set[str] = set()
    for path in files:
        for record in _records(path, iter_records):
            reason = _skip_reason(record)
            if reason is None and record.type != "response":
                others[record.type or "unknown"] += 1
                continue
            if reason is None:
                try:
                    url = canonicalize_url(record.url or "")
                except ValueError:
                    url = ""
                spider, reason = routing.route(url) if url.startswith(("http://", "https://")) else (None, "bad_url")
                if spider and url in seen:
                    spider, reason = None, "duplicate"
            if reason:
                skipped[reason] += 1
                continue
            assert spider is not None
            seen.add(url)
            generic = spider == "news"
            source = (urlsplit(url).hostname or "").lower().removeprefix("www.") if generic else None
            groups.setdefault(spider, []).append(
                Replay(record.url or url, str(path), record.offset, str(path), source, section if generic else None))
    return groups, skipped, others


def _records(path: Path, reader: Any) -> Iterator[Any]:
    try:
        yield from reader(path)
    except OSError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _skip_reason(record: Any) -> str | None:
    if record.truncated:
        return "truncated"
    if record.type == "revisit":
        return "revisit"
    if record.type != "response":
        return None
    if record.status != 200:
        return "not_ok"
    if record.content_type not in HTML_TYPES:
        return "not_html"
    return None


def _site(text: str) -> tuple[str, str]:
    host, sep, spider = text.partition("=")
    if not sep or not host or not spider:
        raise argparse.ArgumentTypeError(f"takes HOST=SPIDER (e.g. 127.0.0.1:8000=japantoday), got {text!r}")
    return host.lower(), spider


def cmd_import_warc(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from newscrawl.cli.crawl import _settings
    from newscrawl.cli.lock import database_lock
    from newscrawl.cli.replay import ReplayJob, counts_line, run_replays
    from newscrawl.db.engine import open_database
    from newscrawl.exceptions import DatabaseUnavailable
    from newscrawl.extensions.console import exit_code

    out = out or sys.stdout
    if args.section is not None and not args.generic:
        raise CommandError("--section applies to the generic path: add --generic")
    files = warc_files(args.files, args.list or [])
    routing = site_routing(dict(args.site or []), args.generic)
    settings = _settings(args)
    url = settings["DATABASE_URL"]
    try:
        open_database(url).dispose()
    except DatabaseUnavailable as exc:
        raise CommandError(f"{exc}; nothing was imported", EXIT_DATABASE) from None
    groups, skipped, others = classify(files, routing, args.section)
    routed = Counter({spider: len(replays) for spider, replays in groups.items()})
    print(f"import-warc: {len(files)} files; articles {sum(routed.values())} ({counts_line(routed)}); "
          f"skipped {sum(skipped.values())} ({counts_line(skipped)}); other records {counts_line(others)}",
          file=out)
    if not groups:
        return EXIT_OK
    jobs = [ReplayJob(spider, f"{spider} (import-warc)", replays,
                      {"start_url": f"https://{replays[0].source}/",
                       **({"section": args.section} if args.section else {})} if spider == "news" else {})
            for spider, replays in sorted(groups.items())]
    with database_lock(url, args.lock_file):
        results = run_replays(settings, jobs, len(files), skipped)
    for job, stats in results:
        print(f"import-warc: {job.spider}: inserted {int(stats.get('store/inserted', 0))}, updated "
              f"{int(stats.get('store/updated', 0))}, unchanged {int(stats.get('store/unchanged', 0))}, "
              f"dropped {int(stats.get('item_dropped_count', 0))}", file=out)
    return max((exit_code(stats) for _, stats in results), default=EXIT_OK)


def register(subparsers: Any) -> None:
    from newscrawl.cli.replay import add_replay_arguments

    parser = subparsers.add_parser(
        "import-warc", help="import article pages from WARC files (another crawler's, CC-NEWS)",
        description="Reads the response records of local WARC files and sends each article page "
        "through its site spider's parsing (its host is the spider's site and its path the "
        "spider's article pattern), or with --generic through the generic spider, into the same "
        "pipelines and database as a crawl. Truncated, revisit, non-200, non-HTML, non-article "
        "and duplicate records are counted by reason, never fatal. Each spider's import is "
        "recorded in crawl_runs as 'SPIDER (import-warc)'.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="WARC file (.warc or .warc.gz)")
    parser.add_argument("--list", action="append", metavar="FILE",
                        help="a text file naming WARC files, one per line (repeatable)")
    parser.add_argument("--generic", action="store_true",
                        help="story-like pages of sites no spider knows go through the generic spider")
    parser.add_argument("--section", help="section stored with generic articles (with --generic)")
    parser.add_argument("--site", action="append", type=_site, metavar="HOST=SPIDER",
                        help="pages of HOST (a mirror, another domain) are SPIDER's site (repeatable)")
    add_replay_arguments(parser)
    parser.set_defaults(func=cmd_import_warc)
