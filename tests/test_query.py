"""The query API on both databases, over an archive of the Japan Today mirror's articles."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, delete, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from newscrawl import query
from newscrawl.db import ArticleRow, open_database
from newscrawl.db.engine import MIGRATIONS, create_database_engine
from newscrawl.db.models import CrawlRun, StoryMember
from newscrawl.db.store import Outcome, save_articles
from newscrawl.query import ArticleFilter, InvalidFilter, Term, parse_query
from newscrawl.review import store_rows
from newscrawl.urls import canonicalize_url
from tests.conftest import SITES

#: The article the second crawl finds changed, so it has one earlier version.
REVISED_FILE = "articles/koizumi-takes-veiled-swipe-at-china-at-shangri-la-dialogue.html"
REVISED_PATH = "/category/politics/koizumi-takes-veiled-swipe-at-china-at-shangri-la-dialogue"
OLD_WORDS, NEW_WORDS = b"pledging to keep strengthening", b"vowing to keep strengthening"

HOSTILE_QUERIES = [
    '"unbalanced',
    "AND OR NOT",
    "'; DROP TABLE articles; --",
    "title:foo",
    "NEAR(a b)",
    "-x",
    "*",
    "",
    "   ",
    '""',
    '"*"',
    "^defense",
    "defense AND",
    "OR",
    "body:takaichi",
    "a:b:c",
    "(defense",
    "defense)",
    "+",
    "NOT defense",
    "\\",
    "%",
    "_",
    "'",
    "\x00",
    "defense\x00budget",
    "🙂",
    "kishi**",
    '"prime minister',
]


#: When the two seeding "crawls" happened: a day apart, as two cron runs would be.
FIRST_CRAWL = datetime(2026, 6, 10, 3, tzinfo=timezone.utc)
SECOND_CRAWL = FIRST_CRAWL + timedelta(days=1)


def record_crawl(session: Session, started_at: datetime, outcomes: list[Outcome]) -> None:
    """The crawl run a crawl with these store outcomes records."""
    count = Counter(outcomes)
    session.add(
        CrawlRun(
            spider="japantoday",
            started_at=started_at,
            finished_at=started_at + timedelta(minutes=1),
            status="finished",
            finish_reason="finished",
            scraped=len(outcomes),
            inserted=count[Outcome.INSERTED],
            updated=count[Outcome.UPDATED],
            unchanged=count[Outcome.UNCHANGED],
            healthy=True,
        )
    )


def seed_archive(url: str) -> None:
    """Store the mirror's articles as a crawl would, then again with one article edited (a revision).

    The rows are the spider's and pipelines' own output for the real mirror pages
    (:func:`newscrawl.review.store_rows`), written through the store layer; the crawl
    itself is tested end to end in test_crawl_japantoday.py.
    """
    site = SITES / "japantoday"
    original = (site / "mirror" / REVISED_FILE).read_bytes()
    revised = {REVISED_FILE: original.replace(OLD_WORDS, NEW_WORDS)}
    eng = open_database(url)
    try:
        for started_at, overrides in ((FIRST_CRAWL, None), (SECOND_CRAWL, revised)):
            with Session(eng) as session, session.begin():
                outcomes = save_articles(session, store_rows("japantoday", site, overrides), started_at)
                record_crawl(session, started_at, outcomes)
    finally:
        eng.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database URL holding the crawled mirror (once per module and backend; read-only)."""
    workdir = tmp_path_factory.mktemp(f"archive-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'newscrawl.db'}"
        seed_archive(url)
        yield url
        return
    server = request.getfixturevalue("pg_server_url")
    name = f"newscrawl_query_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    # The name is generated above, never input.
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        seed_archive(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(archive: str) -> Iterator[Any]:
    eng = open_database(archive)
    yield eng
    eng.dispose()


def all_rows(engine: Any) -> list[dict[str, Any]]:
    """Every article as a dict (with its story), newest first, read without the query module."""
    table, member = ArticleRow.__table__, StoryMember.__table__
    stmt = (
        select(*table.columns, member.c.story_id)
        .outerjoin(member, member.c.article_id == table.c.id)
        .order_by(table.c.published_at.desc(), table.c.id.desc())
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def squash(text_: str) -> str:
    return " ".join(text_.lower().split())


def article_values(url: str, published_at: datetime, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "url": url,
        "source": "japantoday",
        "section": "politics",
        "title": "A test article",
        "body": "Lawmakers debated the budget.",
        "published_at": published_at,
        "authors": [],
        "tags": [],
        "content_hash": uuid.uuid4().hex,
    }
    return {**values, **overrides}


def insert_articles(url: str, articles: list[dict[str, Any]]) -> Any:
    eng = open_database(url)
    with Session(eng) as session, session.begin():
        save_articles(session, articles, datetime.now(timezone.utc))
    return eng


# --- parse_query: the user's text becomes words, phrases and prefixes, nothing else --------


@pytest.mark.parametrize(
    ("text_", "expected"),
    [
        ("defense", [Term("defense", ("defense",))]),
        ("defense budget", [Term("defense", ("defense",)), Term("budget", ("budget",))]),
        ('"prime minister"', [Term("prime minister", ("prime", "minister"))]),
        ("kishi*", [Term("kishi", ("kishi",), prefix=True)]),
        ('"prime min"*', [Term("prime min", ("prime", "min"), prefix=True)]),
        ('"unbalanced quote', [Term("unbalanced quote", ("unbalanced", "quote"))]),
        ("title:foo", [Term("title:foo", ("title", "foo"))]),
        ("-x", [Term("-x", ("x",))]),
        ("Japan's", [Term("Japan's", ("Japan", "s"))]),
        (
            "'; DROP TABLE articles; --",
            [Term("DROP", ("DROP",)), Term("TABLE", ("TABLE",)), Term("articles;", ("articles",))],
        ),
        ("* -- ; '", []),
        ("", []),
    ],
)
def test_parse_query(text_: str, expected: list[Term]) -> None:
    assert parse_query(text_) == expected


def test_fts5_expression_quotes_every_term() -> None:
    assert query.fts5_query(parse_query('NEAR(a b) "x y"* AND')) == '"NEAR(a" "b)" "x y"* "AND"'


@pytest.mark.parametrize(
    ("text_", "count", "error"),
    [
        (" ".join(f"w{i}" for i in range(32)), 32, None),
        (" ".join(f"w{i}" for i in range(33)), None, "too many search terms (33; at most 32)"),
        (" ".join(["budget"] * 500), 1, None),
        ("kishi* defen* elect* nucl*", 4, None),
        ("kishi* defen* elect* nucl* sanct*", None, "too many prefix"),
        ("kishi* " * 50, 1, None),
        ("kis*", 1, None),
        ("ki*", None, "prefix ki* is too short"),
        ('"prime m"*', None, "prefix m* is too short"),
        ("defense\x00budget", 2, None),
    ],
)
def test_search_terms_are_bounded(text_: str, count: int | None, error: str | None) -> None:
    if error is None:
        assert len(query.search_terms(text_)) == count
    else:
        with pytest.raises(query.InvalidQuery, match=re.escape(error)):
            query.search_terms(text_)


def test_many_terms_make_a_shallow_tsquery() -> None:
    # A chain of && one level per term made SQLAlchemy's compiler recurse past its limit.
    terms = [Term(f"w{i}", (f"w{i}",), prefix=i % 7 == 0) for i in range(2000)]
    sql = str(query._pg_tsquery(terms).compile(dialect=postgresql.dialect()))
    assert sql.count("&&") == 1999
    assert len(re.findall(r"\bto_tsquery\(", sql)) == 286
    assert len(re.findall(r"\bphraseto_tsquery\(", sql)) == 2000 - 286
    depth = deepest = 0
    for char in sql:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    assert deepest <= 16  # log2(2000) levels of pairs, plus the calls' own parentheses


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (
            "https://Example.com:443/a/japan%27s-x?utm_source=t&id=3#c",
            [
                "https://example.com/a/japan's-x",
                "https://example.com/a/japan's-x/",
                "http://example.com/a/japan's-x",
                "http://example.com/a/japan's-x/",
            ],
        ),
        (
            "http://example.com/a/",
            [
                "http://example.com/a/",
                "http://example.com/a",
                "https://example.com/a/",
                "https://example.com/a",
            ],
        ),
        ("example.com/a", ["https://example.com/a", "https://example.com/a/",
                           "http://example.com/a", "http://example.com/a/"]),
        ("https://example.com", ["https://example.com/", "http://example.com/"]),
    ],
)
def test_url_candidates(pasted: str, expected: list[str]) -> None:
    assert query.url_candidates(pasted) == expected


# --- search ----------------------------------------------------------------------------------


def test_search_ranks_matches_and_highlights_snippets(engine: Any) -> None:
    hits = query.search(engine, "defense", limit=50)
    assert len(hits) >= 3
    ranks = [hit.rank for hit in hits]
    assert ranks == sorted(ranks, reverse=True)
    for hit in hits:
        article = query.get_article(engine, hit.id)
        assert article is not None and "defen" in squash(article.title + " " + article.body)
    assert any("[defense]" in hit.snippet.lower() for hit in hits)
    assert all("\x02" not in hit.snippet and "\x03" not in hit.snippet for hit in hits)


def test_search_ranks_a_title_match_first(engine: Any) -> None:
    hits = query.search(engine, "Hormuz")
    assert hits and "hormuz" in hits[0].title.lower()


def test_search_custom_highlight_markers(engine: Any) -> None:
    hits = query.search(engine, "Takaichi", highlight=("<b>", "</b>"))
    assert hits and any("<b>Takaichi</b>" in hit.snippet for hit in hits)


def test_phrase_is_stricter_than_words(engine: Any) -> None:
    words = {hit.id for hit in query.search(engine, "prime minister", limit=100)}
    phrase = {hit.id for hit in query.search(engine, '"prime minister"', limit=100)}
    assert phrase and phrase <= words
    for article_id in phrase:
        article = query.get_article(engine, article_id)
        assert article is not None
        assert "prime minister" in squash(article.title + " " + article.body.replace("-", " "))
    reversed_phrase = {hit.id for hit in query.search(engine, '"minister prime"', limit=100)}
    assert len(reversed_phrase) < len(phrase)


def test_prefix_matches_longer_words(engine: Any) -> None:
    exact = {hit.id for hit in query.search(engine, "kishi", limit=100)}
    prefix = query.search(engine, "kishi*", limit=100)
    assert exact < {hit.id for hit in prefix}
    assert any("kishida" in hit.title.lower() for hit in prefix)


def test_all_words_must_match(engine: Any) -> None:
    both = {hit.id for hit in query.search(engine, "Philippines defense", limit=100)}
    one = {hit.id for hit in query.search(engine, "Philippines", limit=100)}
    other = {hit.id for hit in query.search(engine, "defense", limit=100)}
    assert both and both == one & other


@pytest.mark.parametrize("hostile", HOSTILE_QUERIES)
def test_hostile_queries_are_plain_text(engine: Any, hostile: str) -> None:
    hits = query.search(engine, hostile, limit=5)
    assert isinstance(hits, list)
    with engine.connect() as conn:
        assert conn.scalar(select(ArticleRow.id).limit(1)) is not None


def test_operators_are_words_not_syntax(engine: Any) -> None:
    # FTS5 would read `takaichi NOT koizumi` as exclusion; here NOT is an ordinary
    # word, so no result can lack it as a term and "-" never excludes.
    assert {h.id for h in query.search(engine, "Takaichi -Koizumi", limit=100)} == {
        h.id for h in query.search(engine, "Takaichi Koizumi", limit=100)
    }
    assert query.search(engine, "zzyzx OR Takaichi") == []


def test_search_with_filters_and_paging(engine: Any) -> None:
    kyodo = query.search(engine, "Takaichi", filters=ArticleFilter(credit="kyodo"), limit=100)
    assert kyodo and all(hit.credit == "Kyodo" for hit in kyodo)
    everything = query.search(engine, "Takaichi", limit=100)
    assert len(everything) > len(kyodo)
    pages = query.search(engine, "Takaichi", limit=2) + query.search(
        engine, "Takaichi", limit=2, offset=2
    )
    assert [h.id for h in pages] == [h.id for h in everything[:4]]


def test_search_accepts_a_url(archive: str) -> None:
    assert query.search(archive, "defense")


# --- list ------------------------------------------------------------------------------------


def test_list_is_newest_first_and_pages(engine: Any) -> None:
    rows = all_rows(engine)
    listed = query.list_articles(engine, limit=1000)
    assert [a.id for a in listed] == [r["id"] for r in rows]
    assert [a.id for a in query.list_articles(engine, limit=5, offset=3)] == [
        r["id"] for r in rows[3:8]
    ]
    assert query.list_articles(engine, limit=5, offset=len(rows)) == []


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (ArticleFilter(source="japantoday"), lambda r: r["source"] == "japantoday"),
        (ArticleFilter(source="elsewhere"), lambda r: False),
        (ArticleFilter(section="Politics"), lambda r: r["section"] == "politics"),
        (ArticleFilter(credit="kyodo"), lambda r: r["credit"] == "Kyodo"),
        (ArticleFilter(author="ORTIZ"), lambda r: any("ortiz" in a.lower() for a in r["authors"])),
        (
            ArticleFilter(author="kisaragi", credit="AP"),
            lambda r: r["credit"] == "AP" and any("Kisaragi" in a for a in r["authors"]),
        ),
        (ArticleFilter(author="%"), lambda r: any("%" in a for a in r["authors"])),
    ],
)
def test_list_filters(engine: Any, filters: ArticleFilter, keep: Any) -> None:
    expected = [r["id"] for r in all_rows(engine) if keep(r)]
    assert [a.id for a in query.list_articles(engine, filters, limit=1000)] == expected


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_list_days_are_calendar_days_in_the_zone(engine: Any, tz: str) -> None:
    rows = all_rows(engine)
    days = {r["published_at"].astimezone(ZoneInfo(tz)).date() for r in rows}
    for day in sorted(days)[-5:]:
        expected = [
            r["id"] for r in rows if r["published_at"].astimezone(ZoneInfo(tz)).date() == day
        ]
        got = query.list_articles(engine, ArticleFilter(since=day, until=day, tz=tz), limit=1000)
        assert [a.id for a in got] == expected, (tz, day)


def test_since_and_until_boundaries_in_tokyo(db_url: str) -> None:
    """--since 2026-06-01 --tz Asia/Tokyo starts at 2026-05-31T15:00Z; --until includes its day."""
    utc = timezone.utc
    instants = {
        "before": datetime(2026, 5, 31, 14, 59, 59, tzinfo=utc),
        "first": datetime(2026, 5, 31, 15, 0, tzinfo=utc),
        "last": datetime(2026, 6, 1, 14, 59, 59, 999999, tzinfo=utc),
        "after": datetime(2026, 6, 1, 15, 0, tzinfo=utc),
    }
    eng = insert_articles(
        db_url, [article_values(f"https://example.test/{k}", v) for k, v in instants.items()]
    )
    try:
        day = date(2026, 6, 1)
        filters = ArticleFilter(since=day, until=day, tz="Asia/Tokyo")
        assert [a.url.rsplit("/", 1)[1] for a in query.list_articles(eng, filters)] == [
            "last",
            "first",
        ]
        since_only = ArticleFilter(since=day, tz="Asia/Tokyo")
        assert len(query.list_articles(eng, since_only)) == 3
        assert len(query.list_articles(eng, ArticleFilter(until=day))) == 4
        day_before = day - timedelta(days=1)
        assert len(query.list_articles(eng, ArticleFilter(until=day_before))) == 2  # UTC
        tokyo_day_before = ArticleFilter(until=day_before, tz="Asia/Tokyo")
        assert [a.url.rsplit("/", 1)[1] for a in query.list_articles(eng, tokyo_day_before)] == [
            "before"
        ]
    finally:
        eng.dispose()


def test_invalid_filters_raise_invalid_filter() -> None:
    with pytest.raises(InvalidFilter, match="time zone"):
        ArticleFilter(tz="Mars/Olympus").bounds()
    with pytest.raises(InvalidFilter, match="after"):
        ArticleFilter(since=date(2026, 6, 2), until=date(2026, 6, 1)).bounds()


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        (ArticleFilter(until=date(9999, 12, 31)), "--until 9999-12-31 is out of range"),
        (ArticleFilter(since=date(1, 1, 1), tz="Asia/Tokyo"), "--since 0001-01-01 is out of range"),
        (ArticleFilter(since=date(1, 1, 1)), "--since 0001-01-01 is out of range"),
        (ArticleFilter(since=date(1, 1, 2), tz="Pacific/Kiritimati"), None),
        (ArticleFilter(until=date(9999, 12, 30), tz="Etc/GMT+12"), None),
    ],
)
def test_days_are_range_checked(filters: ArticleFilter, error: str | None) -> None:
    if error is None:
        start, end = filters.bounds()
        assert (start or end) is not None
    else:
        with pytest.raises(InvalidFilter, match=re.escape(error)):
            filters.bounds()


# --- show, export, stats ---------------------------------------------------------------------


def test_the_seeded_archive_is_what_a_crawl_of_the_mirror_stores(engine: Any) -> None:
    # test_crawl_japantoday.py checks a real crawl against the same reviewed records.
    expected = json.loads((SITES / "japantoday" / "expected.json").read_text("utf-8"))["stored"]
    want = {canonicalize_url("http://x" + e["path"]).removeprefix("http://x"): e for e in expected}
    rows = {urlsplit(r["url"]).path: r for r in all_rows(engine)}
    assert sorted(rows) == sorted(want)
    for path, record in want.items():
        row = rows[path]
        for name in ("title", "authors", "credit", "dateline", "tags", "body_method"):
            assert row[name] == record[name], (path, name)
        assert row["published_at"] == datetime.fromisoformat(record["published_at"]), path
        if path != REVISED_PATH:
            assert row["body"] == record["body"], path


def test_get_article_with_revisions(engine: Any) -> None:
    rows = {r["url"].split("/", 3)[3]: r for r in all_rows(engine)}
    row = rows[REVISED_PATH.lstrip("/")]
    by_url = query.get_article(engine, row["url"])
    by_id = query.get_article(engine, str(row["id"]))
    assert by_url is not None and by_url == by_id == query.get_article(engine, row["id"])
    assert by_url.body == row["body"] and NEW_WORDS.decode() in by_url.body
    [revision] = by_url.revisions
    assert OLD_WORDS.decode() in revision.body and NEW_WORDS.decode() not in revision.body
    assert revision.content_hash != by_url.content_hash
    assert revision.replaced_at >= revision.last_seen_at
    other = next(r for r in rows.values() if r["id"] != row["id"])
    assert query.get_article(engine, other["id"]).revisions == []  # type: ignore[union-attr]
    assert query.get_article(engine, 10**9) is None
    assert query.get_article(engine, "https://example.test/none") is None


def test_search_sees_the_revised_text(engine: Any) -> None:
    revised = {h.id for h in query.search(engine, '"vowing to keep strengthening"')}
    assert len(revised) == 1
    assert not query.search(engine, '"pledging to keep strengthening"')


def test_iter_articles_streams_every_column(engine: Any) -> None:
    stream = query.iter_articles(engine, batch_size=3)
    assert iter(stream) is stream
    assert list(stream) == all_rows(engine)
    kyodo = list(query.iter_articles(engine, ArticleFilter(credit="Kyodo"), batch_size=2))
    assert kyodo == [r for r in all_rows(engine) if r["credit"] == "Kyodo"]
    assert list(kyodo[0]) == query.export_columns()


def test_stats(engine: Any) -> None:
    rows = all_rows(engine)
    result = query.stats(engine, tz="Asia/Tokyo")
    assert result.articles == len(rows)
    assert result.sources[0]["source"] == "japantoday" and result.sources[0]["articles"] == len(
        rows
    )
    assert result.sources[0]["last_published"] == rows[0]["published_at"]
    credits = {c["credit"]: c["articles"] for c in result.credits}
    assert credits["Kyodo"] == sum(r["credit"] == "Kyodo" for r in rows)
    assert sum(credits.values()) == len(rows)
    assert sum(d["articles"] for d in result.days) == len(rows)
    newest = rows[0]["published_at"].astimezone(ZoneInfo("Asia/Tokyo")).date()
    assert result.days[0]["day"] == newest
    [crawl] = result.last_crawls
    assert crawl["spider"] == "japantoday" and crawl["status"] == "finished"
    assert crawl["updated"] == 1 and crawl["inserted"] == 0  # the second crawl


def test_stats_of_an_empty_archive(db_url: str) -> None:
    result = query.stats(db_url)
    assert (result.articles, result.sources, result.days, result.last_crawls) == (0, [], [], [])


# --- the index follows the table ---------------------------------------------------------


def test_index_follows_inserts_updates_and_deletes(db_url: str) -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    eng = insert_articles(
        db_url, [article_values("https://example.test/a", now, body="Quokka sighting.")]
    )
    try:
        assert [h.url for h in query.search(eng, "quokka")] == ["https://example.test/a"]
        with Session(eng) as session, session.begin():
            save_articles(
                session, [article_values("https://example.test/a", now, body="Wombat sighting.")], now
            )
        assert query.search(eng, "quokka") == []
        assert len(query.search(eng, "wombat")) == 1
        with eng.begin() as conn:
            conn.execute(delete(ArticleRow))
        assert query.search(eng, "wombat") == []
    finally:
        eng.dispose()


def _alembic(engine: Any, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def _has_search(engine: Any) -> bool:
    inspector = inspect(engine)
    if engine.dialect.name == "sqlite":
        return "articles_fts" in inspector.get_table_names()
    return "search_vector" in {c["name"] for c in inspector.get_columns("articles")}


def test_migration_indexes_existing_rows_and_downgrades(db_url: str) -> None:
    eng = create_database_engine(db_url)
    try:
        _alembic(eng, "upgrade", "0001")
        with Session(eng) as session, session.begin():
            values = article_values(
                "https://example.test/old",
                datetime(2026, 1, 1, tzinfo=timezone.utc),
                title="Platypus diplomacy",
            )
            # A Core insert of the 0001 columns: the model's later columns are not there yet.
            now = datetime.now(timezone.utc)
            session.execute(ArticleRow.__table__.insert().values(**values, first_seen_at=now, last_seen_at=now))
        assert not _has_search(eng)
        _alembic(eng, "upgrade", "head")
        assert _has_search(eng)
        assert [h.title for h in query.search(eng, "platypus")] == ["Platypus diplomacy"]
        _alembic(eng, "downgrade", "0001")
        assert not _has_search(eng)
        _alembic(eng, "upgrade", "head")
        assert len(query.search(eng, "platyp*")) == 1
    finally:
        eng.dispose()
