"""End to end: the real `scrapy crawl japantoday` against the hand-built mirror, into SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRevision, ArticleRow, CrawlRun, open_database
from newscrawl.spiders.japantoday import JapanTodaySpider
from newscrawl.urls import canonicalize_url
from tests.conftest import SITES, run_crawl
from tests.support.mirror import Mirror

EXPECTED = json.loads((SITES / "japantoday" / "expected.json").read_text("utf-8"))
SEED_PARAGRAPHS = [
    p.strip()
    for p in (SITES / "japantoday" / "seed-article.txt").read_text("utf-8").split("\n\n")
]

pytestmark = pytest.mark.e2e


def crawl(mirror: Mirror, db_url: str, cwd: Path, *args: str) -> Any:
    result = run_crawl(
        "japantoday", cwd,
        "-a", f"start_url={mirror.url('/category/politics')}", "-a", "max_pages=3", *args,
        settings={"DATABASE_URL": db_url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def rows_by_path(db_url: str, mirror: Mirror) -> dict[str, ArticleRow]:
    engine = open_database(db_url)
    with Session(engine) as session:
        rows = session.scalars(select(ArticleRow)).all()
        session.expunge_all()
    engine.dispose()
    prefix = mirror.base_url
    return {row.url.removeprefix(prefix): row for row in rows}


def last_run(db_url: str) -> CrawlRun:
    engine = open_database(db_url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        session.expunge(run)
    engine.dispose()
    return run


def test_crawl_stores_every_expected_article_exactly_once(
    japantoday_mirror: Mirror, db_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, db_url, tmp_path)
    rows = rows_by_path(db_url, japantoday_mirror)
    expected = {canonicalize_url("http://x" + e["path"]).removeprefix("http://x"): e for e in EXPECTED["stored"]}
    assert sorted(rows) == sorted(expected)
    for path, want in expected.items():
        row = rows[path]
        assert row.title == want["title"], path
        assert row.body == want["body"], path
        assert row.published_at == datetime.fromisoformat(want["published_at"]), path
        if want.get("modified_at"):
            assert row.modified_at == datetime.fromisoformat(want["modified_at"]), path
        assert row.authors == want["authors"], path
        assert row.credit == want["credit"], path
        assert row.dateline == want["dateline"], path
        assert row.comment_count == want["comment_count"], path
        assert row.tags == want["tags"], path
        assert (row.source, row.section, row.language) == ("japantoday", "politics", "en")
        assert row.body_method == want["body_method"], path
        if want.get("image_path"):
            assert row.image_url == japantoday_mirror.url(want["image_path"]), path
        assert row.published_at.tzinfo == timezone.utc

    run = last_run(db_url)
    assert run.status == "finished"
    assert run.inserted == len(expected) and run.updated == 0
    reasons: dict[str, int] = {}
    for drop in EXPECTED["dropped"]:
        reasons[drop["reason"]] = reasons.get(drop["reason"], 0) + 1
    assert run.dropped_by_reason == reasons

    requested = set(japantoday_mirror.requested_paths())
    assert "/robots.txt" in requested
    assert not requested & set(EXPECTED["never_requested"])
    for error in EXPECTED["http_errors"]:
        assert error["path"] in requested
        assert run.stats[f"downloader/response_status_count/{error['status']}"] >= 1
    assert run.stats["downloader/response_status_count/503"] >= 1  # the flaky page, retried


def test_a_second_identical_full_crawl_stores_nothing_new(
    japantoday_mirror: Mirror, db_url: str, tmp_path: Path
) -> None:
    # Incremental discovery off: every article is fetched and parsed again.
    full = ("-s", "INCREMENTAL_ENABLED=False")
    crawl(japantoday_mirror, db_url, tmp_path, *full)
    before = rows_by_path(db_url, japantoday_mirror)
    crawl(japantoday_mirror, db_url, tmp_path, *full)
    after = rows_by_path(db_url, japantoday_mirror)
    assert sorted(after) == sorted(before)
    for path, row in after.items():
        assert (row.id, row.content_hash, row.first_seen_at) == (
            before[path].id, before[path].content_hash, before[path].first_seen_at,
        )
    run = last_run(db_url)
    assert (run.inserted, run.updated, run.unchanged) == (0, 0, len(before))
    engine = open_database(db_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ArticleRevision)) == 0
        assert session.scalar(select(func.count()).select_from(CrawlRun)) == 2
    engine.dispose()


def test_the_seed_article_is_stored_exactly(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, sqlite_url, tmp_path)
    rows = rows_by_path(sqlite_url, japantoday_mirror)
    seed = rows["/category/politics/japan-u.s.-defense-chiefs-affirm-cooperation-on-taiwan"]
    body_paragraphs = seed.body.split("\n\n")
    assert len(body_paragraphs) == 6
    assert all(p in SEED_PARAGRAPHS for p in body_paragraphs)
    assert body_paragraphs[0].startswith("Japanese and U.S. defense chiefs agreed")
    assert body_paragraphs[-1].startswith("No immediate comment from U.S. Embassy")
    assert seed.title == "Japan, U.S. defense chiefs affirm cooperation on Taiwan"
    assert seed.published_at.date().isoformat() in {"2021-03-21", "2021-03-22"}
    assert (seed.section, seed.dateline, seed.credit, seed.comment_count) == (
        "politics", "TOKYO", "Reuters", 0,
    )
    for boilerplate in ("©", "GPlusMedia", "Login", "Facebook", "survey", "GaijinPot", "Comments"):
        assert boilerplate not in seed.body


def test_default_database_is_newscrawl_db_in_the_working_directory(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    result = run_crawl(
        "japantoday", tmp_path, "-a", f"start_url={japantoday_mirror.url('/category/politics')}",
        "-a", "max_pages=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "newscrawl.db").exists()
    assert rows_by_path(f"sqlite:///{tmp_path / 'newscrawl.db'}", japantoday_mirror)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-s", "DATABASE_URL=postgresql+psycopg://nobody@127.0.0.1:9/none"], 3, "cannot open database"),
        (["-a", "max_pages=0"], 2, "max_pages must be a whole number"),
        (["-a", "start_url=file:///etc/passwd"], 2, "start_url must be an http(s) URL"),
    ],
    ids=["database-unreachable", "bad-max-pages", "non-http-start-url"],
)
def test_bad_setup_fails_before_any_request(
    japantoday_mirror: Mirror, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = run_crawl(
        "japantoday", tmp_path, "-a", f"start_url={japantoday_mirror.url('/category/politics')}", *args
    )
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert japantoday_mirror.requests == []


def test_a_listing_page_s_articles_are_fetched_before_the_next_listing_page(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    # Articles outrank listing pages: a deep backfill holds one page of requests, not the section's.
    crawl(japantoday_mirror, sqlite_url, tmp_path, "-s", "CONCURRENT_REQUESTS=1", "-s", "INCREMENTAL_ENABLED=False")
    raw = list(japantoday_mirror.requests)
    listings = [i for i, path in enumerate(raw) if path.startswith("/category/politics?") or path == "/category/politics"]
    assert len(listings) == 3
    crawler = get_crawler(JapanTodaySpider)
    spider = JapanTodaySpider.from_crawler(crawler, start_url=japantoday_mirror.url("/category/politics"))
    for number, (start, end) in enumerate(zip(listings, [*listings[1:], len(raw)]), 1):
        page = (SITES / "japantoday" / "mirror" / f"listing-{number}.html").read_bytes()
        linked = spider.article_links(HtmlResponse(japantoday_mirror.url(raw[start]), body=page))
        between = {canonicalize_url(japantoday_mirror.url(path)) for path in raw[start + 1:end]}
        # Links seen on an earlier page were fetched then; a page's new links come right after it.
        assert set(linked) - between <= {canonicalize_url(japantoday_mirror.url(p)) for p in raw[:start]}
