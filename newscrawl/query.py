"""Querying the archive: full-text search, filtered listings, one article, streaming export, stats.

Every function takes an :class:`~sqlalchemy.Engine` (or a database URL) and
plain arguments, and returns plain dataclasses or dicts. Every statement binds
its values: the user's search text is parsed here into words and phrases and
handed to FTS5 / ``to_tsquery`` as data, never spliced into SQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal,
    literal_column,
    column,
    select,
    table,
    text,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.expression import ClauseElement, Executable

from newscrawl.db.engine import open_database
from newscrawl.db.models import ArticleRevision, ArticleRow, CrawlRun, StoryMember
from newscrawl.urls import canonicalize_url

#: Markers the database puts around matched words in snippets (replaced before returning).
_MARK_START, _MARK_END = "\x02", "\x03"
#: Text-search configuration used by the PostgreSQL migration; a constant, never input.
_PG_CONFIG = literal_column("'english'::regconfig")
_PG_VECTOR = literal_column("articles.search_vector")
_FTS = literal_column("articles_fts")
_FTS_TABLE = table("articles_fts", column("rowid"))
_CHUNK = re.compile(r'"(?P<phrase>[^"]*)(?:"(?P<star>\*)?)?|(?P<word>[^\s"]+)')
_WORD = re.compile(r"[^\W_]+")

#: Bounds on one search, measured on a 10,000-article archive (README, "Search limits"):
#: FTS5 expands a prefix over every indexed word it starts (0.7-1.4 s for one letter there,
#: 0.1-0.5 s for two, under 0.15 s for three) and prefixes add up; words are cheap.
MAX_TERMS = 32
MAX_PREFIX_TERMS = 4
MIN_PREFIX_LENGTH = 3
#: Days whose midnight is a valid instant in every zone (Python's dates end at year 1 and 9999).
#: The largest id (and LIMIT/OFFSET) both databases take: a signed 64-bit integer.
MAX_ID = 2**63 - 1
FIRST_DAY, LAST_DAY = date.min + timedelta(days=1), date.max - timedelta(days=1)

EngineLike = Engine | str


class InvalidFilter(ValueError):
    """A filter value that cannot be used (unknown time zone, since after until…)."""


class InvalidQuery(ValueError):
    """Search text past the bounds a search can answer in reasonable time (too many terms)."""


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a listing, search or export covers; ``None`` = no restriction.

    ``since`` and ``until`` are calendar days in ``tz`` (an IANA zone name),
    both inclusive; ``author`` matches part of any author's name and
    ``credit``/``section`` match whole values, all ignoring case.
    """

    source: str | None = None
    section: str | None = None
    since: date | None = None
    until: date | None = None
    tz: str = "UTC"
    author: str | None = None
    credit: str | None = None

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidFilter(f"unknown time zone {self.tz!r}") from exc

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The UTC instants ``[start, end)`` the ``since``/``until`` days cover."""
        zone = self.zone()
        for option, day in (("--since", self.since), ("--until", self.until)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise InvalidFilter(
                    f"{option} {day.isoformat()} is out of range ({FIRST_DAY} to {LAST_DAY})"
                )
        if self.since and self.until and self.since > self.until:
            raise InvalidFilter(f"--since {self.since} is after --until {self.until}")

        def midnight(day: date | None) -> datetime | None:
            if day is None:
                return None
            return datetime.combine(day, time(0), zone).astimezone(timezone.utc)

        end = None if self.until is None else midnight(self.until + timedelta(days=1))
        return midnight(self.since), end


@dataclass(frozen=True)
class ArticleSummary:
    """One line of a listing."""

    id: int
    url: str
    source: str
    section: str | None
    title: str
    published_at: datetime
    credit: str | None
    authors: list[str]
    word_count: int | None
    story_id: int | None = None


@dataclass(frozen=True)
class SearchHit(ArticleSummary):
    """A search result: the article, its rank (higher is better) and a highlighted snippet."""

    rank: float = 0.0
    snippet: str = ""


@dataclass(frozen=True)
class Revision:
    """A previous version of an article, replaced at ``replaced_at``."""

    id: int
    title: str
    body: str
    published_at: datetime
    modified_at: datetime | None
    content_hash: str
    first_seen_at: datetime
    last_seen_at: datetime
    replaced_at: datetime
    #: ``crawl`` (the site changed the text) or ``re-extraction`` (``newscrawl reparse``).
    kind: str = "crawl"


@dataclass(frozen=True)
class ArticleDetail:
    """One article in full, with its earlier versions (oldest first)."""

    id: int
    url: str
    source: str
    section: str | None
    title: str
    body: str
    summary: str | None
    published_at: datetime
    published_raw: str | None
    modified_at: datetime | None
    authors: list[str]
    credit: str | None
    dateline: str | None
    comment_count: int | None
    image_url: str | None
    tags: list[str]
    language: str | None
    word_count: int | None
    body_method: str | None
    content_hash: str
    first_seen_at: datetime
    last_seen_at: datetime
    story_id: int | None = None
    revisions: list[Revision] = field(default_factory=list)
    #: The WARC record of the response this version was read from, or None.
    warc_file: str | None = None
    warc_offset: int | None = None


@dataclass(frozen=True)
class Stats:
    """Counts for ``newscrawl stats``; ``days`` are calendar days in the zone asked for."""

    articles: int
    sources: list[dict[str, Any]]
    days: list[dict[str, Any]]
    credits: list[dict[str, Any]]
    last_crawls: list[dict[str, Any]]


# --- Search text -------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One unit of a search: a word or a quoted phrase (``text``), optionally a prefix."""

    text: str
    words: tuple[str, ...]
    prefix: bool = False


def parse_query(query: str) -> list[Term]:
    """Split search text into words and ``"quoted phrases"``; a trailing ``*`` makes a prefix.

    Everything else is text: operators (AND, OR, NEAR, ``-``, ``^``, ``col:``)
    and punctuation carry no meaning, an unclosed quote runs to the end, and
    chunks without a letter or digit are dropped.
    """
    terms = []
    # NUL ends a string for SQLite and is refused by PostgreSQL: it separates words here.
    cleaned = unicodedata.normalize("NFC", query.replace("\x00", " "))
    for match in _CHUNK.finditer(cleaned):
        if match["word"] is not None:
            text, prefix = match["word"].rstrip("*"), match["word"].endswith("*")
        else:
            text, prefix = match["phrase"], match["star"] is not None
        words = tuple(_WORD.findall(text))
        if words:
            terms.append(Term(text=text, words=words, prefix=prefix))
    return terms


def search_terms(query: str) -> list[Term]:
    """The distinct terms of ``query`` (see :func:`parse_query`), within the search bounds.

    A term given twice is searched once (matching and ranking order are the
    same); more than :data:`MAX_TERMS` terms or :data:`MAX_PREFIX_TERMS`
    prefixes, or a prefix of fewer than :data:`MIN_PREFIX_LENGTH` letters,
    raise :class:`InvalidQuery`.
    """
    terms = list(dict.fromkeys(parse_query(query)))
    if len(terms) > MAX_TERMS:
        raise InvalidQuery(f"too many search terms ({len(terms)}; at most {MAX_TERMS})")
    for term in terms:
        if term.prefix and len(term.words[-1]) < MIN_PREFIX_LENGTH:
            raise InvalidQuery(
                f"prefix {term.words[-1]}* is too short: give at least {MIN_PREFIX_LENGTH} "
                "letters or digits before *"
            )
    prefixes = sum(term.prefix for term in terms)
    if prefixes > MAX_PREFIX_TERMS:
        raise InvalidQuery(
            f"too many prefix* terms ({prefixes}; at most {MAX_PREFIX_TERMS}): "
            "give longer prefixes or whole words"
        )
    return terms


def fts5_query(terms: Sequence[Term]) -> str:
    """An FTS5 MATCH expression in which every term is a quoted string (so, only text)."""
    return " ".join(
        '"' + term.text.replace('"', '""') + '"' + ("*" if term.prefix else "") for term in terms
    )


def _pg_tsquery(terms: Sequence[Term]) -> ColumnElement[Any]:
    """A tsquery ANDing the terms: PostgreSQL parses each phrase itself (``U.S.``, ``3.5``);
    a prefix's last word, letters and digits only, gets ``:*``."""
    parts: list[ColumnElement[Any]] = []
    for term in terms:
        if not term.prefix:
            parts.append(func.phraseto_tsquery(_PG_CONFIG, term.text))
            continue
        last = func.to_tsquery(_PG_CONFIG, term.words[-1] + ":*")
        if len(term.words) > 1:
            head = func.phraseto_tsquery(_PG_CONFIG, " ".join(term.words[:-1]))
            last = func.tsquery_phrase(head, last)
        parts.append(last)
    # Paired off level by level, not chained: a chain of n `&&` is n levels deep and
    # SQLAlchemy's compiler recurses once per level (RecursionError near 160 terms).
    while len(parts) > 1:
        paired = [a.op("&&")(b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        parts = paired + parts[len(paired) * 2 :]
    return parts[0]


def _highlight(snippet: str | None, markers: tuple[str, str]) -> str:
    text = " ".join((snippet or "").split())
    return text.replace(_MARK_START, markers[0]).replace(_MARK_END, markers[1])


# --- Statements ---------------------------------------------------------------

#: The article's story (newscrawl/db/stories.py); NULL for an article never clustered.
_STORY_ID = (
    select(StoryMember.story_id)
    .where(StoryMember.article_id == ArticleRow.id)
    .scalar_subquery()
    .label("story_id")
)

_SUMMARY_COLUMNS = (
    ArticleRow.id,
    ArticleRow.url,
    ArticleRow.source,
    ArticleRow.section,
    ArticleRow.title,
    ArticleRow.published_at,
    ArticleRow.credit,
    ArticleRow.authors,
    ArticleRow.word_count,
    _STORY_ID,
)


@contextmanager
def _engine(target: EngineLike) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = open_database(target)
    try:
        yield engine
    finally:
        engine.dispose()


def _filter_clauses(filters: ArticleFilter | None, dialect: str) -> list[ColumnElement[bool]]:
    if filters is None:
        return []
    clauses: list[ColumnElement[bool]] = []
    if filters.source is not None:
        clauses.append(ArticleRow.source == filters.source)
    if filters.section is not None:
        clauses.append(func.lower(ArticleRow.section) == filters.section.lower())
    if filters.credit is not None:
        clauses.append(func.lower(ArticleRow.credit) == filters.credit.lower())
    if filters.author is not None:
        elements = func.json_each if dialect == "sqlite" else func.json_array_elements_text
        names = elements(ArticleRow.authors).table_valued("value")
        match = func.lower(names.c.value).contains(filters.author.lower(), autoescape=True)
        clauses.append(exists(select(1).select_from(names).where(match)))
    start, end = filters.bounds()
    if start is not None:
        clauses.append(ArticleRow.published_at >= start)
    if end is not None:
        clauses.append(ArticleRow.published_at < end)
    return clauses


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(ArticleRow.published_at.desc(), ArticleRow.id.desc())


def _summary(row: Any) -> dict[str, Any]:
    return {column.key: row._mapping[column.key] for column in _SUMMARY_COLUMNS}


def list_articles(
    engine: EngineLike, filters: ArticleFilter | None = None, limit: int = 20, offset: int = 0
) -> list[ArticleSummary]:
    """Articles matching ``filters``, newest first."""
    with _engine(engine) as eng:
        stmt = select(*_SUMMARY_COLUMNS).where(*_filter_clauses(filters, eng.dialect.name))
        stmt = _newest_first(stmt).limit(limit).offset(offset)
        with eng.connect() as conn:
            return [ArticleSummary(**_summary(row)) for row in conn.execute(stmt)]


def search(
    engine: EngineLike,
    query: str,
    *,
    filters: ArticleFilter | None = None,
    limit: int = 20,
    offset: int = 0,
    highlight: tuple[str, str] = ("[", "]"),
    collapse: bool = False,
) -> list[SearchHit]:
    """Articles whose title or body match ``query``, best first, with a snippet of the body.

    ``query`` is words (all must match), ``"quoted phrases"`` and ``prefix*``
    terms; anything else in it is ordinary text. ``highlight`` surrounds the
    matched words in snippets. ``collapse`` keeps one hit per story (the best ranked).
    """
    if collapse:
        return _collapsed(engine, query, filters, limit, offset, highlight)
    terms = search_terms(query)
    if not terms:
        return []
    with _engine(engine) as eng:
        dialect = eng.dialect.name
        clauses = _filter_clauses(filters, dialect)
        if dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"search supports SQLite and PostgreSQL, not {dialect}")
        with eng.connect() as conn:
            if dialect == "sqlite":
                rows = conn.execute(_sqlite_search(terms, clauses, limit, offset)).all()
            else:
                rows = _postgresql_rows(conn, terms, clauses, limit, offset)
    return [
        SearchHit(**_summary(row), rank=float(row.rank), snippet=_highlight(row.snippet, highlight))
        for row in rows
    ]


def _collapsed(
    engine: EngineLike,
    query: str,
    filters: ArticleFilter | None,
    limit: int,
    offset: int,
    highlight: tuple[str, str],
) -> list[SearchHit]:
    """:func:`search` with one hit per story: pages of ranked hits are read until
    ``offset + limit`` stories were seen (an article without a story is its own)."""
    seen: set[Any] = set()
    kept: list[SearchHit] = []
    page, start = max(4 * (limit + offset), 100), 0
    with _engine(engine) as eng:
        while len(kept) < offset + limit:
            hits = search(eng, query, filters=filters, limit=page, offset=start, highlight=highlight)
            for hit in hits:
                story = hit.story_id if hit.story_id is not None else ("article", hit.id)
                if story not in seen:
                    seen.add(story)
                    kept.append(hit)
            if len(hits) < page:
                break
            start += page
    return kept[offset : offset + limit]


def _sqlite_search(
    terms: Sequence[Term], clauses: list[ColumnElement[bool]], limit: int, offset: int
) -> Select[Any]:
    # The page is ranked inside the FTS index alone: bm25 (lower is better, a
    # title hit weighs five body hits), ties newest-inserted first. Joining
    # articles per match to order by published_at would read past each long
    # body (overflow pages), several times slower on common words. Filters
    # become a set of ids, tested with `rowid + 0` so FTS5 scans its matches
    # once instead of probing the index id by id. snippet() runs per shown row.
    expression = fts5_query(terms)
    rank = func.bm25(_FTS, 5.0, 1.0)
    page = select(_FTS_TABLE.c.rowid.label("id"), rank.label("rank")).where(
        _FTS.op("MATCH")(expression)
    )
    if clauses:
        page = page.where((_FTS_TABLE.c.rowid + 0).in_(select(ArticleRow.id).where(*clauses)))
    page = page.order_by(rank, _FTS_TABLE.c.rowid.desc()).limit(limit).offset(offset)
    ranked = page.subquery("page")
    snippet = (
        select(func.snippet(_FTS, 1, _MARK_START, _MARK_END, "…", 32))
        .where(_FTS.op("MATCH")(expression), _FTS_TABLE.c.rowid == ranked.c.id)
        .scalar_subquery()
    )
    return (
        select(*_SUMMARY_COLUMNS, (-ranked.c.rank).label("rank"), snippet.label("snippet"))
        .select_from(ranked)
        .join(ArticleRow, ArticleRow.id == ranked.c.id)
        .order_by(ranked.c.rank, ranked.c.id.desc())
    )


def _plan_for_search(conn: Connection, *also: ColumnElement[Any]) -> Any:
    """Keep the planner on bitmap scans for this transaction's search (and read ``also``).

    Its two other choices each read every match's tsvector: a sequential scan when a common
    word matches most rows (the @@ filter runs per row), or a backward scan of the
    published_at index when a rare phrase is misestimated as common (measured: 2.5-3.5 s for
    "interest rates" at 100k rows). A bitmap scan of the GIN index reads no vector for a word
    or a prefix, and a phrase's only for the rows holding all its words; ANDed with a bitmap
    of the published_at range (see _recency_cutoffs), it visits only that range's matches.
    """
    # One round trip: under load each statement waits for a core.
    return conn.execute(
        select(
            func.set_config("enable_seqscan", "off", True),
            func.set_config("enable_indexscan", "off", True),
            *also,
        )
    ).one()[2:]


#: PostgreSQL ranks the newest this-many matches of a phrase search, or of one with too few
#: salient matches (see _postgresql_rows).
PG_SEARCH_CANDIDATES = 1000
#: How much wider than the planner's estimate of the matches the recency window is.
PG_WINDOW_MARGIN = 1.5


class _Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a statement, its values still bound (PostgreSQL)."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def _estimated_rows(conn: Connection, stmt: Select[Any]) -> float:
    """The planner's row estimate for ``stmt`` (planned, not run)."""
    plan = conn.execute(_Explain(stmt)).scalar()
    return float(plan[0]["Plan"]["Plan Rows"])


def _recency_cutoffs(
    conn: Connection, terms: Sequence[Term], clauses: list[ColumnElement[bool]], wanted: int
) -> Iterator[datetime | None]:
    """The published_at bound of a window of the newest articles, then ``None`` (all of them).

    The newest ``wanted`` matches inside a window that holds at least ``wanted`` matches are
    the newest ``wanted`` of the archive. The window is sized from the planner's estimate of
    the matches (PostgreSQL keeps per-lexeme frequencies for tsvector columns), so a common
    word visits ~1.5x ``wanted`` rows instead of every match's row (64k rows of `government`
    at 100k articles took ~100 ms to visit before any ranking). A query estimated to match
    fewer than ``wanted`` goes straight to the whole archive, and so does one whose window
    held too few (a phrase is estimated as all its words anywhere, so it may match far fewer:
    a second, wider window would cost about as much as the whole archive).
    """
    # The tsquery written in line (not joined as in _candidates) is a constant to the planner.
    matching = select(ArticleRow.id).where(_PG_VECTOR.op("@@")(_pg_tsquery(terms)), *clauses)
    matches = _estimated_rows(conn, matching)
    if matches > wanted:
        # Matches spread over time like articles: this share of the newest holds enough.
        cutoff = _newest_share_cutoff(conn, wanted * PG_WINDOW_MARGIN / matches)
        if cutoff is not None:
            yield cutoff
    yield None


def _newest_share_cutoff(conn: Connection, share: float) -> datetime | None:
    """A published_at bound above which about ``share`` of the archive lies, read from the
    planner's equal-frequency histogram of published_at (no row or index entry is read);
    ``None`` when the share is over half (a window saves little) or there is no histogram."""
    if share > 0.5:
        return None
    bounds = conn.execute(
        text(
            "SELECT histogram_bounds::text::timestamptz[] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'articles' "
            "AND attname = 'published_at'"
        )
    ).scalar()
    if not bounds:
        return None
    # Rounded towards the older bound: a window a little too wide costs little, one too
    # narrow costs a second search of the whole archive.
    return bounds[int((len(bounds) - 1) * (1 - share))]


def _postgresql_rows(
    conn: Connection,
    terms: Sequence[Term],
    clauses: list[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> list[Any]:
    # Each try is one transaction (the planner settings are local to it); read-only: rolled back.
    salient: str | None = None
    if all(len(term.words) == 1 for term in terms):
        try:
            rows, salient = _salient_rows(conn, terms, clauses, limit, offset)
        finally:
            conn.rollback()
        if rows is not None:
            return rows
    # A phrase, or too few salient matches: add the newest matches (for one word, every match
    # outside the tiers weighs one body mention, so the newest of them are the next best).
    newest = PG_SEARCH_CANDIDATES
    for cutoff in _recency_cutoffs(conn, terms, clauses, newest):
        window = clauses if cutoff is None else [*clauses, ArticleRow.published_at >= cutoff]
        try:
            _plan_for_search(conn)
            stmt = _postgresql_search(terms, clauses, limit, offset, salient, window)
            rows = conn.execute(stmt).all()
            found = rows[0].candidates if rows else _count_candidates(conn, terms, window)
        finally:
            conn.rollback()
        if cutoff is None or found >= newest:
            return rows
    raise AssertionError("unreachable: the last window is the whole archive")


def _salient_rows(
    conn: Connection,
    terms: Sequence[Term],
    clauses: list[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[list[Any] | None, str | None]:
    """The page ranked from the matches where the words weigh most (migration 0009), or None
    when too few are there; and the cue that finds them (None: a word is not in the tiers)."""
    words = _salient_words(terms, _plan_for_search(conn, *_lexemes(terms)))
    if words is None:
        return None, None
    # One word or prefix: its tokens imply the match, and the page is the articles where it
    # weighs most (a prefix's lexemes add up: very nearly the exact page).
    single = len(words) == 1
    wanted = max(offset + limit, 1) * (PG_PREFIX_MARGIN if words[0][1] else 1)
    target = min(wanted if single else max(wanted, PG_SALIENT_CANDIDATES), MAX_ID)
    tier, found = conn.execute(_tier_descent(terms, words, clauses, target, single)).one()
    salient = _tier_cue(words, range(PG_TOP_TIER, tier - 1, -1))
    if not single:
        # Several words rank by how close they stand (ts_rank_cd's cover density); a title
        # holding them all is where they most often stand close.
        salient = f"{salient} | ({_title_cue(words)})"
    if found < target:
        return None, salient
    # One word: every match left out weighs less in it than each of these `target`, so the
    # page is exactly that of ranking every match. A prefix or several words: the likeliest
    # best (bench/README.md, "Query latency").
    stmt = _postgresql_search(terms, clauses, limit, offset, salient, None)
    return conn.execute(stmt).all(), salient


#: The tiers of newscrawl_search_tiers (migration 0009): 45 for a word's 256 positions (the
#: most a tsvector keeps) all in the title, 12 for two body mentions, the least it lists.
PG_TOP_TIER, PG_LOW_TIER = 45, 12
#: A search of several words or a prefix ranks at least this many of the matches where its
#: words weigh most, and those whose title holds them all (one word: offset + limit suffice).
PG_SALIENT_CANDIDATES = 2000
#: A prefix ranks this many times the articles asked for, where its lexemes weigh most: an
#: article whose several lexemes each weigh a little can add up to more than one of them.
PG_PREFIX_MARGIN = 4
_PG_TIERS = literal_column("newscrawl_search_tiers(articles.search_vector)")


def _lexemes(terms: Sequence[Term]) -> list[ColumnElement[Any]]:
    """Each one-word term's lexemes, by the same parser and dictionaries as _pg_tsquery."""
    return [
        func.tsvector_to_array(
            func.to_tsvector(_PG_CONFIG, term.words[0] if term.prefix else term.text)
        )
        for term in terms
    ]


def _salient_words(
    terms: Sequence[Term], lexemes: Sequence[list[str]]
) -> list[tuple[str, bool]] | None:
    """Each term's lexeme and whether it is a prefix, when each term is one lexeme (a word
    that is a stop word or splits in two, e.g. ``U.S.``, gives None)."""
    if any(len(found) != 1 for found in lexemes):
        return None
    return [(found[0], term.prefix) for found, term in zip(lexemes, terms, strict=True)]


def _tier_cue(words: Sequence[tuple[str, bool]], tiers: Iterable[int]) -> str:
    """tsquery text matching the tokens ``TIER~lexeme`` of ``words`` at any of ``tiers``."""
    return " | ".join(
        _tier_token(tier, lexeme, prefix) for tier in tiers for lexeme, prefix in words
    )


def _title_cue(words: Sequence[tuple[str, bool]]) -> str:
    """tsquery text matching the articles whose title holds every one of ``words``."""
    return " & ".join(_tier_token("a", lexeme, prefix) for lexeme, prefix in words)


def _tier_token(tier: int | str, lexeme: str, prefix: bool) -> str:
    # Quoted (a quote doubled, a backslash escaped), so a lexeme is only ever text.
    quoted = f"{tier}~{lexeme}".replace("\\", "\\\\").replace("'", "''")
    return f"'{quoted}'" + (":*" if prefix else "")


def _tier_descent(
    terms: Sequence[Term],
    words: Sequence[tuple[str, bool]],
    clauses: list[ColumnElement[bool]],
    target: int,
    implied: bool,
) -> Select[Any]:
    """(tier, matches): the highest tier at which ``target`` matches weigh at least that
    much in the search's words, and how many do (fewer when even the lowest tier has not
    enough). Counted tier by tier from the top, stopping at the first that is enough."""
    cues = [_tier_cue(words, [tier]) for tier in range(PG_TOP_TIER, PG_LOW_TIER - 1, -1)]
    cue_array = Grouping(cast(bindparam("tier_cues", cues, type_=ARRAY(Text)), ARRAY(TSQUERY)))
    # (0, 0), then (1, articles at the top tier), (2, at the top two tiers)...
    descent = select(literal(0).label("step"), literal(0, BigInteger).label("found")).cte(
        "descent", recursive=True
    )
    # One word's tokens imply the match (``implied``); several must all match, tested on
    # the row (an aggregate's FILTER, which the planner does not turn into a scan of the
    # search_vector index: that would read every word's whole list of articles at each tier).
    counted = func.count()
    if not implied:
        counted = counted.filter(_PG_VECTOR.op("@@")(_pg_tsquery(terms)))
    counted = (
        select(counted)
        .select_from(ArticleRow)
        .where(_PG_TIERS.op("@@")(cue_array[descent.c.step + 1]), *clauses)
        .scalar_subquery()
    )
    descent = descent.union_all(
        select(descent.c.step + 1, descent.c.found + counted).where(
            descent.c.found < target, descent.c.step < len(cues)
        )
    )
    last = select(
        func.max(descent.c.step).label("step"), func.max(descent.c.found).label("found")
    ).subquery()
    return select((PG_TOP_TIER + 1 - last.c.step).label("tier"), last.c.found)


def _candidates(
    terms: Sequence[Term], clauses: list[ColumnElement[bool]], salient: str | None = None
) -> Any:
    """The newest PG_SEARCH_CANDIDATES matches (id, published_at, rank), found from the GIN
    index and the heap alone; the rank is read from the row's in-line vector (migration 0008).
    With ``salient`` (see _postgresql_rows), every article it finds instead, each with
    ``matched`` (whether it matches: tested by the caller)."""
    tsquery = select(_pg_tsquery(terms).label("q")).subquery("tsq")
    stmt = (
        select(
            ArticleRow.id.label("id"),
            ArticleRow.published_at.label("published_at"),
            func.ts_rank_cd(_PG_VECTOR, tsquery.c.q).label("rank"),
        )
        .select_from(ArticleRow)
        .join(tsquery, true())
        .where(*clauses)
    )
    if salient is not None:
        matched = _PG_VECTOR.op("@@")(tsquery.c.q).label("matched")
        return stmt.add_columns(matched).where(
            _PG_TIERS.op("@@")(cast(literal(salient, Text), TSQUERY))
        )
    newest = stmt.where(_PG_VECTOR.op("@@")(tsquery.c.q))
    newest = newest.order_by(ArticleRow.published_at.desc(), ArticleRow.id.desc())
    return newest.limit(PG_SEARCH_CANDIDATES)


def _count_candidates(
    conn: Connection, terms: Sequence[Term], clauses: list[ColumnElement[bool]]
) -> int:
    counted = select(func.count()).select_from(_candidates(terms, clauses).subquery())
    return int(conn.execute(counted).scalar_one())


def _postgresql_search(
    terms: Sequence[Term],
    clauses: list[ColumnElement[bool]],
    limit: int,
    offset: int,
    salient: str | None,
    window: list[ColumnElement[bool]] | None,
) -> Select[Any]:
    # Ranking every match read each match's whole tsvector, and a common word matches most of
    # the archive: 160-500 ms at 100k rows. So a bounded set is ranked: the matches where the
    # words weigh most (``salient``, see _tier_descent) and/or the newest PG_SEARCH_CANDIDATES
    # matches in ``window`` (``clauses`` narrowed to recent articles, see _recency_cutoffs).
    # `candidates` counts the newest, so the caller knows whether a window was enough.
    parts = []
    if window is not None:
        newest = _candidates(terms, window).cte("newest")
        parts.append(select(newest.c.id, newest.c.published_at, newest.c.rank))
        found = select(func.count()).select_from(newest).scalar_subquery()
    else:
        found = literal(0)
    if salient is not None:
        # The match is tested on the salient rows, after the tiers' index found them: the
        # planner, which takes several words for rarer than they are, would otherwise
        # compute every match's tiers (0.3 ms a row).
        tested = _candidates(terms, clauses, salient).cte("salient").prefix_with("MATERIALIZED")
        parts.append(
            select(tested.c.id, tested.c.published_at, tested.c.rank).where(tested.c.matched)
        )
    candidates = (parts[0] if len(parts) == 1 else union(*parts)).cte("candidates")
    tsquery = select(_pg_tsquery(terms).label("q")).subquery("tsq")
    page = (
        select(candidates.c.id, candidates.c.rank)
        .order_by(
            candidates.c.rank.desc(), candidates.c.published_at.desc(), candidates.c.id.desc()
        )
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    options = (
        f"StartSel={_MARK_START}, StopSel={_MARK_END}, MaxWords=35, MinWords=15, "
        'MaxFragments=2, FragmentDelimiter=" … "'
    )
    snippet = func.ts_headline(_PG_CONFIG, ArticleRow.body, tsquery.c.q, options)
    return (
        select(*_SUMMARY_COLUMNS, page.c.rank, snippet.label("snippet"), found.label("candidates"))
        .select_from(page)
        .join(ArticleRow, ArticleRow.id == page.c.id)
        .join(tsquery, true())
        .order_by(page.c.rank.desc(), ArticleRow.published_at.desc(), ArticleRow.id.desc())
    )


def url_candidates(url: str) -> list[str]:
    """The stored URLs a pasted ``url`` may mean, most likely first.

    First its canonical form, exactly as the crawl stores URLs (fragment,
    query, default port and the host's case dropped, one percent-encoding);
    then with the trailing slash toggled and with the other of http/https,
    since sites answer both spellings and a crawl stores the one it was linked.
    A URL pasted without a scheme is taken as https.
    """
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    split = urlsplit(canonicalize_url(url))
    paths = [split.path]
    if split.path != "/":
        paths.append(split.path[:-1] if split.path.endswith("/") else split.path + "/")
    schemes = [split.scheme]
    if split.scheme in ("http", "https"):
        schemes.append("http" if split.scheme == "https" else "https")
    candidates = (urlunsplit((s, split.netloc, p, "", "")) for s in schemes for p in paths)
    return list(dict.fromkeys(candidates))


def get_article(engine: EngineLike, url_or_id: str | int) -> ArticleDetail | None:
    """The article with this id (an int or ASCII digits) or URL (see :func:`url_candidates`)."""
    with _engine(engine) as eng, eng.connect() as conn:
        columns = [*ArticleRow.__table__.columns, _STORY_ID]
        if isinstance(url_or_id, int) or (url_or_id.isascii() and url_or_id.isdigit()):
            if not 0 < int(url_or_id) <= MAX_ID:
                return None
            row = conn.execute(select(*columns).where(ArticleRow.id == int(url_or_id))).first()
        else:
            candidates = url_candidates(url_or_id)
            stmt = select(*columns).where(ArticleRow.url.in_(candidates))
            found = {r.url: r for r in conn.execute(stmt)}
            row = next((found[url] for url in candidates if url in found), None)
        if row is None:
            return None
        revisions = conn.execute(
            select(*(c for c in ArticleRevision.__table__.columns if c.key != "article_id"))
            .where(ArticleRevision.article_id == row.id)
            .order_by(ArticleRevision.id)
        )
        return ArticleDetail(
            **dict(row._mapping), revisions=[Revision(**dict(r._mapping)) for r in revisions]
        )


def iter_articles(
    engine: EngineLike, filters: ArticleFilter | None = None, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every matching article as a dict of all its columns, newest first, streamed.

    Rows are fetched ``batch_size`` at a time (a server-side cursor on
    PostgreSQL), so memory stays flat whatever the archive's size.
    """
    with _engine(engine) as eng:
        stmt = select(*ArticleRow.__table__.columns, _STORY_ID).where(
            *_filter_clauses(filters, eng.dialect.name)
        )
        with eng.connect() as conn:
            result = conn.execution_options(yield_per=batch_size).execute(_newest_first(stmt))
            for row in result:
                yield dict(row._mapping)


def export_columns() -> list[str]:
    """The keys of :func:`iter_articles`' dicts, in table order, then ``story_id``."""
    return [column.key for column in ArticleRow.__table__.columns] + ["story_id"]


def known_sources(engine: EngineLike) -> list[str]:
    """The sources that have articles in the archive, sorted."""
    with _engine(engine) as eng, eng.connect() as conn:
        stmt = select(ArticleRow.source).distinct().order_by(ArticleRow.source)
        return list(conn.scalars(stmt))


def stats(engine: EngineLike, tz: str = "UTC") -> Stats:
    """Articles per source, per calendar day in ``tz`` and per credit; the last crawl per spider."""
    zone = ArticleFilter(tz=tz).zone()
    with _engine(engine) as eng, eng.connect() as conn:
        sources = [
            {
                "source": r.source,
                "articles": r.n,
                "first_published": r.first,
                "last_published": r.last,
            }
            for r in conn.execute(
                select(
                    ArticleRow.source,
                    func.count().label("n"),
                    func.min(ArticleRow.published_at).label("first"),
                    func.max(ArticleRow.published_at).label("last"),
                )
                .group_by(ArticleRow.source)
                .order_by(func.count().desc(), ArticleRow.source)
            )
        ]
        credits = [
            {"credit": r.credit, "articles": r.n}
            for r in conn.execute(
                select(ArticleRow.credit, func.count().label("n"))
                .group_by(ArticleRow.credit)
                .order_by(func.count().desc(), ArticleRow.credit)
            )
        ]
        # Days are counted here rather than in SQL so any zone works the same on both backends.
        days: Counter[date] = Counter()
        published = conn.execution_options(yield_per=5000).execute(select(ArticleRow.published_at))
        for (instant,) in published:
            days[instant.astimezone(zone).date()] += 1
        runs = CrawlRun.__table__.alias("runs")
        latest = (
            select(CrawlRun.id)
            .where(CrawlRun.spider == runs.c.spider)
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(1)
            .correlate(runs)
            .scalar_subquery()
        )
        crawls = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    runs.c.spider,
                    runs.c.started_at,
                    runs.c.finished_at,
                    runs.c.status,
                    runs.c.finish_reason,
                    runs.c.scraped,
                    runs.c.inserted,
                    runs.c.updated,
                    runs.c.unchanged,
                    runs.c.dropped,
                    runs.c.errors,
                )
                .where(runs.c.id == latest)
                .order_by(runs.c.spider)
            )
        ]
    return Stats(
        articles=sum(s["articles"] for s in sources),
        sources=sources,
        days=[{"day": day, "articles": n} for day, n in sorted(days.items(), reverse=True)],
        credits=credits,
        last_crawls=crawls,
    )


__all__ = [
    "ArticleDetail",
    "ArticleFilter",
    "ArticleSummary",
    "InvalidFilter",
    "InvalidQuery",
    "Revision",
    "SearchHit",
    "Stats",
    "Term",
    "export_columns",
    "get_article",
    "iter_articles",
    "known_sources",
    "list_articles",
    "parse_query",
    "search",
    "search_terms",
    "stats",
    "url_candidates",
]
