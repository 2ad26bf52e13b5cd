"""The archive's read commands: ``search``, ``list``, ``show``, ``export`` and ``stats``.

Each prints a table sized to the terminal, or JSON with ``--json``; bad input,
an unreachable database and empty results end with a one-line message and the
exit codes of :mod:`newscrawl.cli`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from newscrawl import query, stories
from newscrawl.cli import EXIT_DATABASE, EXIT_NO_RESULTS, EXIT_OK, CommandError
from newscrawl.cli.database import database_url
from newscrawl.db.engine import open_database, safe_url
from newscrawl.exceptions import DatabaseUnavailable, first_line

NO_RESULTS = "no articles match"
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
EXPORT_FORMATS = ("jsonl", "csv", "parquet")
#: Rows per Parquet record batch: memory stays flat, row groups stay reasonably large.
PARQUET_BATCH = 1000
#: The most rows ``search``/``list`` print at once (``export`` streams any number).
MAX_LIMIT = 10_000
#: Arguments that are text for the database: they must be valid UTF-8 without NUL.
TEXT_ARGUMENTS = {
    "query": "the search text",
    "article": "the URL",
    "source": "--source",
    "section": "--section",
    "author": "--author",
    "credit": "--credit",
    "tz": "--tz",
}
#: The database's snippet markers pass through the layout untouched, then become these.
_MARK = ("\x02", "\x03")


def _common(parser: argparse.ArgumentParser, json_help: str, tz_help: str) -> None:
    """``--database``, ``--json`` and ``--tz``, each described for what it does in ``parser``."""
    parser.add_argument(
        "--database",
        metavar="URL",
        help="database URL (default: $NEWSCRAWL_DATABASE_URL or sqlite:///newscrawl.db)",
    )
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument(
        "--tz", default="UTC", metavar="ZONE", help=f"{tz_help} (default UTC), e.g. Asia/Tokyo"
    )


def _filters_group(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--source", help="only this source (spider name), e.g. japantoday")
    group.add_argument("--section", help="only this section, e.g. politics")
    group.add_argument("--since", metavar="YYYY-MM-DD", help="published on or after this day")
    group.add_argument("--until", metavar="YYYY-MM-DD", help="published on or before this day")
    group.add_argument("--author", help="an author's name contains this (any case)")
    group.add_argument("--credit", help="credited to this agency or outlet, e.g. Kyodo")


def _paging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        type=int,
        default=20,
        help=f"at most this many (default 20, at most {MAX_LIMIT:,}; export has no limit)",
    )
    parser.add_argument("--offset", type=int, default=0, help="skip this many first")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing_tz = "zone of --since/--until days and of printed times"
    parser = subparsers.add_parser(
        "search",
        help="full-text search, best match first",
        description='Words must all match; "quoted phrases" match in order; a trailing * '
        f"matches a prefix (kishi*). Anything else is plain text. At most {query.MAX_TERMS} "
        f"distinct terms, {query.MAX_PREFIX_TERMS} of them prefixes of {query.MIN_PREFIX_LENGTH} "
        "letters or more.",
    )
    _common(parser, "print the results as JSON instead of a list", listing_tz)
    _filters_group(parser)
    _paging_options(parser)
    parser.add_argument(
        "--collapse", action="store_true",
        help="one hit per story: the best-ranked copy of each text (see newscrawl stories)",
    )
    parser.add_argument("query", help='e.g. defense "prime minister" kishi*')
    parser.set_defaults(func=run_search)

    parser = subparsers.add_parser("list", help="articles matching filters, newest first")
    _common(parser, "print the articles as JSON instead of a table", listing_tz)
    _filters_group(parser)
    _paging_options(parser)
    parser.set_defaults(func=run_list)

    parser = subparsers.add_parser("show", help="one article in full, with its earlier versions")
    _common(parser, "print the article and its versions as JSON", "zone of printed times")
    parser.add_argument(
        "article",
        metavar="URL|ID",
        help="the article's id, or its URL as pasted from a browser (canonicalised as the "
        "crawl stores URLs; http/https and a trailing slash are tried both ways)",
    )
    parser.set_defaults(func=run_show)

    parser = subparsers.add_parser(
        "export",
        help="write matching articles as JSON lines, CSV or Parquet (streamed)",
        description="Writes every matching article, all columns. A file is written beside "
        "FILE under a temporary name and renamed over it once complete; FILE must be a "
        "regular file or missing (a symlink, device or folder is refused), or a FIFO, "
        "which is written to as a stream.",
    )
    _common(
        parser,
        "print the closing summary on stderr as JSON (the data's format is --format)",
        "zone of --since/--until days",
    )
    _filters_group(parser)
    parser.add_argument(
        "--format", choices=EXPORT_FORMATS, default="jsonl", help="data format (default jsonl)"
    )
    parser.add_argument(
        "--output", "-o", default="-", metavar="FILE", help="file to write, or - for stdout"
    )
    parser.set_defaults(func=run_export)

    parser = subparsers.add_parser(
        "stats", help="articles per source, day and credit; last crawls"
    )
    _common(
        parser,
        "print the counts as JSON instead of tables",
        "zone of the days counted and of printed times",
    )
    parser.add_argument("--days", type=int, default=14, help="most recent days shown (default 14)")
    parser.set_defaults(func=run_stats)


# --- Shared plumbing -----------------------------------------------------------


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[Engine]:
    """The migrated engine for ``--database``; failures become one-line exit-3 errors."""
    url = database_url(args)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        # make_url raises ValueError for a port that is not a number.
        reason = "its port is not a number" if isinstance(exc, ValueError) else "unparseable"
        raise CommandError(
            f"invalid database URL {_redacted(url)!r}: {reason}", EXIT_DATABASE
        ) from None
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:":
        # Reading must not leave an empty database behind a mistyped path.
        if not parsed.query.get("uri") and not Path(path).exists():
            raise CommandError(f"no database at {path}; run a crawl first", EXIT_DATABASE)
    try:
        engine = open_database(url)
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc), EXIT_DATABASE) from exc
    try:
        yield engine
    except SQLAlchemyError as exc:
        reason = first_line(exc)
        raise CommandError(f"database {safe_url(url)}: {reason}", EXIT_DATABASE) from exc
    finally:
        engine.dispose()


def _redacted(url: str) -> str:
    """``url`` with any password masked, even when SQLAlchemy cannot parse it."""
    return _PASSWORD.sub(r"\1***@", url)


def _check_text(args: argparse.Namespace) -> None:
    """Refuse text arguments the database cannot take (bytes that are not UTF-8, NUL)."""
    for name, label in TEXT_ARGUMENTS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CommandError(f"{label} is not valid UTF-8 text") from None
        if "\x00" in value and name != "query":  # search text splits words at NUL
            raise CommandError(f"{label} contains a NUL character")


def _zone(args: argparse.Namespace) -> tzinfo:
    try:
        return query.ArticleFilter(tz=args.tz).zone()
    except query.InvalidFilter as exc:
        raise CommandError(str(exc)) from exc


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"invalid date {value!r} for {option}: expected YYYY-MM-DD") from None


def _spider_names() -> set[str]:
    """Names of the project's spiders (loaded only when a --source is not in the archive)."""
    from newscrawl.registry import spider_names

    return set(spider_names())


def _filters(args: argparse.Namespace, engine: Engine) -> query.ArticleFilter:
    filters = query.ArticleFilter(
        source=args.source,
        section=args.section,
        since=_day(args.since, "--since"),
        until=_day(args.until, "--until"),
        tz=args.tz,
        author=args.author,
        credit=args.credit,
    )
    try:
        filters.bounds()
    except query.InvalidFilter as exc:
        raise CommandError(str(exc)) from exc
    if filters.source is not None:
        known = query.known_sources(engine)
        if filters.source not in known and filters.source not in _spider_names():
            names = ", ".join(sorted(set(known) | _spider_names())) or "none"
            raise CommandError(f"unknown source {filters.source!r} (known: {names})")
    return filters


def _paging(args: argparse.Namespace) -> tuple[int, int]:
    if args.limit < 1:
        raise CommandError(f"--limit must be at least 1, not {args.limit}")
    if args.limit > MAX_LIMIT:
        raise CommandError(f"--limit must be at most {MAX_LIMIT}; use export for more")
    if args.offset < 0:
        raise CommandError(f"--offset must be 0 or more, not {args.offset}")
    if args.offset > query.MAX_ID:
        raise CommandError(f"--offset must be at most {query.MAX_ID}")
    return args.limit, args.offset


def _no_results(message: str = NO_RESULTS) -> int:
    print(f"newscrawl: {message}", file=sys.stderr)
    return EXIT_NO_RESULTS


def jsonable(value: Any) -> Any:
    """``value`` with dataclasses as dicts and dates as ISO-8601 (UTC instants end ``+00:00``)."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _print_json(value: Any) -> None:
    json.dump(jsonable(value), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _width() -> int:
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _local(instant: datetime | None, zone: tzinfo) -> str:
    return "" if instant is None else instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _table(headers: list[str], rows: Iterable[list[str]], flexible: int = -1) -> None:
    """Columns as wide as their content; the ``flexible`` one is cut to fit the terminal."""
    rows = [[" ".join(str(cell).split()) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    flexible %= len(headers)
    fixed = sum(w for i, w in enumerate(widths) if i != flexible) + 2 * (len(headers) - 1)
    widths[flexible] = max(min(widths[flexible], _width() - fixed), 10)
    for row in [headers, *rows]:
        cells = [_clip(cell, widths[i]).ljust(widths[i]) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())


def _markers() -> tuple[str, str]:
    if sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        return "\x1b[1m", "\x1b[0m"
    return "[", "]"


# --- Commands ----------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    _check_text(args)
    zone = _zone(args)
    limit, offset = _paging(args)
    try:
        query.search_terms(args.query)
    except query.InvalidQuery as exc:
        raise CommandError(str(exc)) from None
    with _database(args) as engine:
        filters = _filters(args, engine)
        hits = query.search(
            engine,
            args.query,
            filters=filters,
            limit=limit,
            offset=offset,
            highlight=("[", "]") if args.json else _MARK,
            collapse=args.collapse,
        )
    if args.json:
        _print_json(hits)
    else:
        start, end = _markers()
        width = _width()
        for number, hit in enumerate(hits, offset + 1):
            head = f"{number:>3}. {_local(hit.published_at, zone)}  {hit.credit or hit.source}  "
            print(head + _clip(hit.title, width - len(head) - 8) + f"  #{hit.id}")
            for line in textwrap.wrap(hit.snippet, width - 5, max_lines=2, placeholder=" …"):
                print("     " + line.replace(_MARK[0], start).replace(_MARK[1], end))
    return EXIT_OK if hits else _no_results()


def run_list(args: argparse.Namespace) -> int:
    _check_text(args)
    zone = _zone(args)
    limit, offset = _paging(args)
    with _database(args) as engine:
        articles = query.list_articles(engine, _filters(args, engine), limit, offset)
    if args.json:
        _print_json(articles)
    elif articles:
        _table(
            ["ID", f"PUBLISHED ({args.tz})", "SOURCE", "CREDIT", "TITLE"],
            (
                [str(a.id), _local(a.published_at, zone), a.source, a.credit or "", a.title]
                for a in articles
            ),
        )
    return EXIT_OK if articles else _no_results()


def run_show(args: argparse.Namespace) -> int:
    _check_text(args)
    zone = _zone(args)
    wanted = args.article.strip()
    if wanted.isascii() and wanted.isdigit() and not 0 < int(wanted) <= query.MAX_ID:
        raise CommandError(f"article id {wanted} is out of range (1 to {query.MAX_ID})")
    with _database(args) as engine:
        article = query.get_article(engine, wanted)
        copies = stories.other_copies(engine, article.id) if article is not None else []
    if article is None:
        return _no_results(f"no article with id or URL {args.article!r}")
    if args.json:
        _print_json({**asdict(article), "copies": copies})
        return EXIT_OK
    width = min(_width(), 100)
    print(article.title)
    fields = [
        ("id", str(article.id)),
        ("url", article.url),
        ("source", " / ".join(filter(None, [article.source, article.section]))),
        ("published", f"{_local(article.published_at, zone)} {args.tz}"),
        ("modified", _local(article.modified_at, zone)),
        ("authors", ", ".join(article.authors)),
        ("credit", article.credit or ""),
        ("dateline", article.dateline or ""),
        ("tags", ", ".join(article.tags)),
        ("words", str(article.word_count or "")),
        ("seen", f"{_local(article.first_seen_at, zone)} to {_local(article.last_seen_at, zone)}"),
    ]
    for name, value in fields:
        if value.strip():
            print(f"  {name + ':':<11}{value}")
    for paragraph in article.body.split("\n\n"):
        print()
        print(textwrap.fill(paragraph, width))
    print()
    print(f"Earlier versions: {len(article.revisions) or 'none'}")
    for revision in article.revisions:
        when = _local(revision.replaced_at, zone)
        how = " by a re-extraction" if revision.kind == "re-extraction" else ""  # not a site edit
        print(f"  replaced {when}{how}: {_clip(revision.title, width - 30)}")
        print(
            f"    {revision.content_hash[:12]}, {len(revision.body.split())} words, "
            f"seen {_local(revision.first_seen_at, zone)} to {_local(revision.last_seen_at, zone)}"
        )
    _print_copies(article.story_id, copies, zone, width)
    return EXIT_OK


def _print_copies(story_id: int | None, copies: list[Any], zone: tzinfo, width: int) -> None:
    """The other articles carrying the same story (newscrawl stories)."""
    print()
    print(f"Other copies (story {story_id}): {len(copies) or 'none'}" if story_id else "Other copies: not clustered")
    for copy in copies:
        share = "" if copy.contained is None else f", {copy.contained:.0%} of it in #{copy.linked_to}"
        mark = " (origin)" if copy.origin else ""
        print(f"  #{copy.id} {_local(copy.published_at, zone)} {copy.source}"
              f"{' / ' + copy.credit if copy.credit else ''}{mark}{share}")
        print(f"    {_clip(copy.title, width - 4)}")
        print(f"    {copy.url}")


def run_stats(args: argparse.Namespace) -> int:
    _check_text(args)
    zone = _zone(args)
    if args.days < 0:
        raise CommandError(f"--days must be 0 or more, not {args.days}")
    with _database(args) as engine:
        result = query.stats(engine, tz=args.tz)
    days = result.days[: args.days]
    if args.json:
        _print_json({**asdict(result), "days": days})
        return EXIT_OK
    print(f"Articles: {result.articles}")
    if result.sources:
        print()
        _table(
            ["SOURCE", "ARTICLES", "FIRST PUBLISHED", "LAST PUBLISHED"],
            (
                [
                    s["source"],
                    str(s["articles"]),
                    _local(s["first_published"], zone),
                    _local(s["last_published"], zone),
                ]
                for s in result.sources
            ),
            flexible=0,
        )
        print()
        _table(
            ["CREDIT", "ARTICLES"],
            ([c["credit"] or "(none)", str(c["articles"])] for c in result.credits),
            flexible=0,
        )
        print()
        _table(
            [f"DAY ({args.tz})", "ARTICLES"],
            ([d["day"].isoformat(), str(d["articles"])] for d in days),
            flexible=0,
        )
    print()
    if not result.last_crawls:
        print("No crawls recorded.")
        return EXIT_OK
    _table(
        [
            "SPIDER",
            "LAST CRAWL STARTED",
            "STATUS",
            "SCRAPED",
            "NEW",
            "UPDATED",
            "DROPPED",
            "ERRORS",
        ],
        (
            [
                c["spider"],
                _local(c["started_at"], zone),
                c["status"],
                str(c["scraped"]),
                str(c["inserted"]),
                str(c["updated"]),
                str(c["dropped"]),
                str(c["errors"]),
            ]
            for c in result.last_crawls
        ),
        flexible=0,
    )
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    _check_text(args)
    if args.format == "parquet" and args.output == "-":
        raise CommandError("parquet cannot be written to stdout: give --output FILE")
    if args.output != "-":
        _output_kind(Path(args.output))  # refused before the database is opened
    with _database(args) as engine:
        rows = query.iter_articles(engine, _filters(args, engine), batch_size=PARQUET_BATCH)
        count = _export(rows, args.format, args.output)
    where = "stdout" if args.output == "-" else args.output
    if args.json:
        summary = {"format": args.format, "output": where, "articles": count}
        print(json.dumps(summary), file=sys.stderr)
    elif count:
        print(f"newscrawl: exported {count} articles to {where}", file=sys.stderr)
    return EXIT_OK if count else _no_results()


def _output_kind(path: Path) -> str:
    """``missing``, ``file`` or ``fifo``: what export may write at ``path`` (else CommandError)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISLNK(mode):
        kind = "a symbolic link"
    elif stat.S_ISDIR(mode):
        kind = "a directory"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a socket"
    raise CommandError(
        f"--output {path} is {kind}, not a regular file: give a file path, or - for stdout"
    )


def _open_for(fmt: str, fd: int) -> IO[Any]:
    if fmt == "parquet":
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _export(rows: Iterator[dict[str, Any]], fmt: str, output: str) -> int:
    """Write ``rows`` to ``output``: ``-`` is stdout, a FIFO is streamed into, and a file
    (new or regular) appears only once complete, renamed from a fresh temporary name."""
    writer: Callable[[Iterator[dict[str, Any]], Any], int] = WRITERS[fmt]
    if output == "-":
        return writer(rows, sys.stdout)
    target = Path(output)
    try:
        if _output_kind(target) == "fifo":
            return _write_fifo(rows, fmt, target, writer)
        return _write_replacing(rows, fmt, target, writer)
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from exc


def _write_fifo(
    rows: Iterator[dict[str, Any]], fmt: str, target: Path, writer: Callable[..., int]
) -> int:
    # O_NOFOLLOW: a symlink swapped in since the check is refused, not followed.
    fd = os.open(target, os.O_WRONLY | os.O_NOFOLLOW | os.O_NOCTTY)
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        raise CommandError(f"--output {target} changed while opening it; nothing was written")
    with _open_for(fmt, fd) as stream:
        return writer(rows, stream)


def _write_replacing(
    rows: Iterator[dict[str, Any]], fmt: str, target: Path, writer: Callable[..., int]
) -> int:
    # mkstemp creates a new, unpredictable name with O_EXCL: a name planted beside the
    # target (a symlink, say) is never opened. The result keeps a replaced file's mode.
    existing = target.exists()
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(target.stat().st_mode) if existing else 0o666 & ~umask
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    partial = Path(name)
    try:
        with _open_for(fmt, fd) as stream:
            os.fchmod(stream.fileno(), mode)
            count = writer(rows, stream)
        if _output_kind(target) not in ("missing", "file"):
            raise CommandError(f"--output {target} changed while writing it; nothing was replaced")
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count


def write_jsonl(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    count = 0
    for count, row in enumerate(rows, 1):
        stream.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")
    return count


def write_csv(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    writer = csv.DictWriter(stream, fieldnames=query.export_columns())
    writer.writeheader()
    count = 0
    for count, row in enumerate(rows, 1):
        record = jsonable(row)
        for key in ("authors", "tags"):
            record[key] = json.dumps(record[key], ensure_ascii=False)
        writer.writerow(record)
    return count


def parquet_schema() -> Any:
    import pyarrow as pa

    instant = pa.timestamp("us", tz="UTC")
    types = {
        "id": pa.int64(),
        "comment_count": pa.int64(),
        "word_count": pa.int64(),
        "story_id": pa.int64(),
        "published_at": instant,
        "modified_at": instant,
        "first_seen_at": instant,
        "last_seen_at": instant,
        "authors": pa.list_(pa.string()),
        "tags": pa.list_(pa.string()),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in query.export_columns()])


def write_parquet(rows: Iterable[dict[str, Any]], path: Path | IO[bytes]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    count, batch = 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) == PARQUET_BATCH:
                writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or not count:
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


WRITERS: dict[str, Callable[..., int]] = {
    "jsonl": write_jsonl,
    "csv": write_csv,
    "parquet": write_parquet,
}
