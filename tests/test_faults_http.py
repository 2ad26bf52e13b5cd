"""HTTP faults, end to end: the real `scrapy crawl japantoday` against a mirror variant per case.

Each test lays fault options (tests/support/mirror.py) over a few routes of the Japan Today
mirror, crawls it into a real database and checks the `crawl_runs` stats and the stored rows:
nothing is lost silently, every loss is counted under a name that says why. Network faults
run on SQLite (the database only records them); the charset cases, where stored text is the
point, run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, CrawlRun, open_database
from newscrawl.urls import canonicalize_url
from tests.conftest import SITES, run_crawl
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e

EXPECTED = {e["path"]: e for e in json.loads((SITES / "japantoday" / "expected.json").read_text("utf-8"))["stored"]}
POLITICS = "/category/politics/"
NUCLEAR = POLITICS + "japan-seeks-to-replace-up-to-5-nuclear-reactors-by-2040s"
PANEL = POLITICS + "panel-drafts-consensus-on-imperial-family-law-revision"
AGE_CHECKS = POLITICS + "japan-eyes-stricter-social-media-age-checks-to-protect-minors"
SMEAR = POLITICS + "takaichi-declines-to-confirm-alleged-smear-videos-by-her-office"
KOIZUMI = POLITICS + "koizumi-takes-veiled-swipe-at-china-at-shangri-la-dialogue"
#: What a fault-free crawl of the mirror stores.
ALL_STORED = {canonicalize_url("http://x" + path).removeprefix("http://x") for path in EXPECTED}


def crawl(mirror: Mirror, db_url: str, cwd: Path, **settings: str) -> CrawlRun:
    """Crawl the mirror's three listing pages into ``db_url``; the run's ``crawl_runs`` row."""
    result = run_crawl(
        "japantoday", cwd, "-a", f"start_url={mirror.url('/category/politics')}", "-a", "max_pages=3",
        settings={"DATABASE_URL": db_url, **settings},
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: the health check saw the faults
    # Download errors are logged with their traceback by Scrapy; our code must raise none.
    for crash in ("Error processing", "Spider error processing", "Error caught on signal handler"):
        assert crash not in result.stderr, result.stderr[-3000:]
    engine = open_database(db_url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.status != "running"
        assert not any(key.startswith("spider_exceptions") for key in run.stats)
        session.expunge(run)
    engine.dispose()
    return run


def stored(db_url: str, mirror: Mirror) -> dict[str, ArticleRow]:
    engine = open_database(db_url)
    with Session(engine) as session:
        rows = session.scalars(select(ArticleRow)).all()
        session.expunge_all()
    engine.dispose()
    return {row.url.removeprefix(mirror.base_url): row for row in rows}


def times_requested(mirror: Mirror, path: str) -> int:
    return mirror.requested_paths().count(path)


def page(mirror: Mirror, path: str) -> str:
    return (mirror.root / mirror.routes[path]["file"]).read_text("utf-8")


def stat(run: CrawlRun, key: str) -> Any:
    return run.stats.get(key, 0)


# --- 5xx and 429 with Retry-After --------------------------------------------------------


def test_retry_after_is_waited_for_then_the_article_is_stored(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    for path, status in ((NUCLEAR, 503), (PANEL, 429)):
        japantoday_mirror.routes[path]["first"] = {"times": 1, "status": status, "headers": {"Retry-After": "1"}}
    run = crawl(japantoday_mirror, sqlite_url, tmp_path)

    assert set(stored(sqlite_url, japantoday_mirror)) == ALL_STORED
    for path in (NUCLEAR, PANEL):
        first, second = (
            when for requested, when in zip(japantoday_mirror.requested_paths(), japantoday_mirror.request_times)
            if requested == path
        )  # exactly two requests
        assert second - first >= 0.9, path  # Retry-After: 1 honoured (Scrapy alone retries at once)
    assert stat(run, "retry_after/waited") == 2
    assert stat(run, "retry_after/waited_seconds") == 2
    assert stat(run, "retry/reason_count/429 Unknown Status") == 1
    assert stat(run, "retry/reason_count/503 Service Unavailable") == 2  # + the mirror's flaky page
    assert stat(run, "retry/max_reached") == 0


def test_persistent_errors_are_retried_then_counted_and_a_long_retry_after_is_not_waited_for(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    japantoday_mirror.routes[NUCLEAR]["status"] = 500
    japantoday_mirror.routes[PANEL].update(status=429, headers={"Retry-After": "3600"})
    run = crawl(japantoday_mirror, sqlite_url, tmp_path)

    assert set(stored(sqlite_url, japantoday_mirror)) == ALL_STORED - {NUCLEAR, PANEL}
    # 500: the first try and RETRY_TIMES=2 retries, then given up and counted.
    assert times_requested(japantoday_mirror, NUCLEAR) == 3
    assert stat(run, "retry/max_reached") == 1
    assert stat(run, "httperror/response_ignored_status_count/500") == 1
    # 429 asking for an hour (over RETRY_AFTER_MAX_SECONDS): one request, no retry, counted.
    assert times_requested(japantoday_mirror, PANEL) == 1
    assert stat(run, "retry_after/gave_up") == 1
    assert stat(run, "retry_after/waited") == 0
    assert stat(run, "httperror/response_ignored_status_count/429") == 1
    assert run.finished_at is not None and run.started_at is not None
    assert (run.finished_at - run.started_at).total_seconds() < 30


# --- Timeouts and connection resets ------------------------------------------------------


def test_timeouts_are_retried_then_counted(japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path) -> None:
    japantoday_mirror.routes[NUCLEAR]["first"] = {"times": 1, "sleep": 1.5}  # slow once
    japantoday_mirror.routes[PANEL]["sleep"] = 1.5  # always too slow
    run = crawl(japantoday_mirror, sqlite_url, tmp_path, DOWNLOAD_TIMEOUT="1")

    assert set(stored(sqlite_url, japantoday_mirror)) == ALL_STORED - {PANEL}
    assert times_requested(japantoday_mirror, NUCLEAR) == 2
    assert times_requested(japantoday_mirror, PANEL) == 3  # the first try and RETRY_TIMES=2 retries
    # ">=": on a loaded machine another page may time out once too, and be retried.
    assert stat(run, "downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError") >= 4
    assert stat(run, "retry/reason_count/scrapy.exceptions.DownloadTimeoutError") >= 3
    assert stat(run, "retry/max_reached") == 1


def test_connection_resets_are_retried_then_counted(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    japantoday_mirror.routes[AGE_CHECKS]["first"] = {"times": 1, "reset": True}
    japantoday_mirror.routes[SMEAR]["reset"] = True
    run = crawl(japantoday_mirror, sqlite_url, tmp_path)

    assert set(stored(sqlite_url, japantoday_mirror)) == ALL_STORED - {SMEAR}
    # Twisted itself retries a request once when a reused keep-alive connection is reset,
    # before Scrapy sees a failure; either layer may have retried the article reset once.
    assert times_requested(japantoday_mirror, AGE_CHECKS) == 2
    assert times_requested(japantoday_mirror, SMEAR) >= 3
    # Scrapy saw every try of the always-reset article fail: 3 errors, 2 retries, given up.
    assert stat(run, "downloader/exception_type_count/scrapy.exceptions.DownloadFailedError") >= 3
    assert stat(run, "retry/reason_count/scrapy.exceptions.DownloadFailedError") >= 2
    assert stat(run, "retry/max_reached") == 1


# --- Redirects and robots.txt ------------------------------------------------------------


def test_redirects_to_another_host_are_not_followed(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    mirror = japantoday_mirror
    # localhost is the same server under another host name: only the host differs.
    mirror.routes[POLITICS + "offsite-target"] = {"file": mirror.routes[NUCLEAR]["file"]}
    mirror.routes[NUCLEAR] = {"redirect": "http://localhost:{port}/category/politics/offsite-target"}
    # A redirect on the same host is followed, to show the contrast.
    mirror.routes[POLITICS + "moved-here"] = {"file": mirror.routes[PANEL]["file"]}
    mirror.routes[PANEL] = {"redirect": "/category/politics/moved-here", "status": 301}
    run = crawl(mirror, sqlite_url, tmp_path)

    rows = stored(sqlite_url, mirror)
    assert set(rows) == ALL_STORED - {NUCLEAR, PANEL} | {POLITICS + "moved-here"}
    assert POLITICS + "offsite-target" not in mirror.requested_paths()
    assert not any("localhost" in row.url for row in rows.values())
    assert stat(run, "offsite/filtered") == 1
    assert stat(run, "downloader/response_status_count/302") == 1


def test_robots_txt_disallow_is_obeyed(japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path) -> None:
    robots = (japantoday_mirror.root / "robots.txt").read_text("utf-8")
    japantoday_mirror.overrides["robots.txt"] = f"{robots}Disallow: {NUCLEAR}\n".encode()
    run = crawl(japantoday_mirror, sqlite_url, tmp_path)

    assert set(stored(sqlite_url, japantoday_mirror)) == ALL_STORED - {NUCLEAR}
    assert NUCLEAR not in japantoday_mirror.requested_paths()
    assert japantoday_mirror.requested_paths()[0] == "/robots.txt"
    assert stat(run, "robotstxt/forbidden") == 1


# --- Size cap ----------------------------------------------------------------------------


def test_responses_over_the_size_cap_are_dropped_and_named_in_the_stats(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    routes = japantoday_mirror.routes
    routes[NUCLEAR]["pad"] = 300_000  # Content-Length over the cap: cancelled at the headers
    routes[PANEL].update(pad=300_000, no_length=True)  # no length: cancelled while reading
    routes[KOIZUMI].update(pad=300_000, gzip=True)  # ~50 KB on the wire, over the cap unzipped
    run = crawl(japantoday_mirror, sqlite_url, tmp_path, DOWNLOAD_MAXSIZE="200000")

    assert set(stored(sqlite_url, japantoday_mirror)) == ALL_STORED - {NUCLEAR, PANEL, KOIZUMI}
    for path in (NUCLEAR, PANEL, KOIZUMI):
        assert times_requested(japantoday_mirror, path) == 1  # dropped, not retried
    assert stat(run, "oversize/declared") == 1
    assert stat(run, "oversize/received") == 1
    assert stat(run, "oversize/decompressed") == 1
    assert stat(run, "oversize/count") == 3
    assert stat(run, "httpcompression/response_count") == 0  # the gzip page was never decoded


# --- Charsets ----------------------------------------------------------------------------

#: Words of an article's body, followed in the page by text only the right charset decodes.
PHRASES = {NUCLEAR: "industry ministry", PANEL: "draft consensus"}
JAPANESE = " (経済産業省, “METI”)"
WESTERN = " (“Ministère” – naïve café’s €)"


def with_phrase(mirror: Mirror, path: str, addition: str, meta_charset: str | None = None) -> str:
    """Add ``addition`` after the article's phrase in its page; its expected body, likewise."""
    html = page(mirror, path)
    assert PHRASES[path] in html
    html = html.replace(PHRASES[path], PHRASES[path] + addition)
    if meta_charset:
        html = html.replace('<meta charset="utf-8">', meta_charset, 1)
    mirror.overrides[mirror.routes[path]["file"]] = html.encode("utf-8")
    return EXPECTED[path]["body"].replace(PHRASES[path], PHRASES[path] + addition)


def test_pages_in_other_charsets_with_a_correct_declaration_are_decoded_right(
    japantoday_mirror: Mirror, db_url: str, tmp_path: Path
) -> None:
    mirror = japantoday_mirror
    japanese_body = with_phrase(mirror, NUCLEAR, JAPANESE, '<meta charset="shift_jis">')
    mirror.routes[NUCLEAR]["charset"] = "shift_jis"  # header: text/html, no charset
    windows = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    western_body = with_phrase(mirror, PANEL, WESTERN, windows)
    mirror.routes[PANEL]["charset"] = "windows-1252"  # “ ” – ’ € are not in Latin-1
    run = crawl(mirror, db_url, tmp_path)

    rows = stored(db_url, mirror)
    assert set(rows) == ALL_STORED
    assert rows[NUCLEAR].body == japanese_body
    assert rows[PANEL].body == western_body
    assert (rows[NUCLEAR].title, rows[PANEL].title) == (EXPECTED[NUCLEAR]["title"], EXPECTED[PANEL]["title"])
    assert "Mojibake" not in run.dropped_by_reason


def test_a_wrong_charset_declaration_never_stores_mojibake(
    japantoday_mirror: Mirror, db_url: str, tmp_path: Path
) -> None:
    mirror = japantoday_mirror
    # Declared UTF-8 (header and meta), encoded Latin-1: é and ï are invalid UTF-8 (U+FFFD).
    with_phrase(mirror, NUCLEAR, WESTERN)
    mirror.routes[NUCLEAR].update(charset="latin-1", type="text/html; charset=utf-8")
    # Declared Windows-1252 by the header (it beats the meta), sent as UTF-8: "Ã©", "â€œ".
    with_phrase(mirror, PANEL, WESTERN)
    mirror.routes[PANEL]["type"] = "text/html; charset=windows-1252"
    run = crawl(mirror, db_url, tmp_path)

    rows = stored(db_url, mirror)
    assert set(rows) == ALL_STORED - {NUCLEAR, PANEL}
    assert run.dropped_by_reason == {"ExpiredArticle": 1, "Mojibake": 2}
    for row in rows.values():
        for text in (row.title, row.body, row.summary or ""):
            assert "\ufffd" not in text and "Ã" not in text and "â€" not in text
