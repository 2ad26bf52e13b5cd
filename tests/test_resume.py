"""Killed crawls resume: SIGKILL (or SIGTERM) at random moments of a backfill of a generated mirror,
then plain reruns (no `since`) store every article exactly once; `status` says what is pending."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.genmirror import SECTION, generate, lookup
from newscrawl.cli import main
from newscrawl.db import ArticleRow, open_database
from newscrawl.db.resume import Walk, begin_walk, finish_walk, joined_since, reach_page
from newscrawl.urls import canonicalize_url
from tests.support.commands import environment, newscrawl_crawl
from tests.support.mirror import Mirror, Reply

pytestmark = pytest.mark.e2e

ARTICLES = 300  # 15 listing pages of 20


class GeneratedMirror(Mirror):
    """bench/genmirror.py's generated Japan Today section, served like the hand-built mirrors."""

    def __init__(self, site: dict[str, bytes]) -> None:
        self.site = site
        #: Listing page K serves the site's page K + offset: with offset 2, the newest 40
        #: articles are not listed yet; setting it to 0 publishes them at the top.
        self.page_offset = 0
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    def reply(self, raw_path: str) -> Reply:
        with self._lock:
            self.requests.append(raw_path)
            self.request_times.append(time.monotonic())
        if self.page_offset and raw_path.startswith(SECTION) and not raw_path.startswith(f"{SECTION}/"):
            page = int(raw_path.partition("page=")[2] or 1)
            raw_path = f"{SECTION}?page={page + self.page_offset}"
        status, content_type, body = lookup(self.site, raw_path)
        # A few ms per page, as a site answers: the crawl lasts long enough to be killed mid-way.
        return Reply(status, content_type, body, sleep=0.005)

    def article_urls(self) -> set[str]:
        return {canonicalize_url(self.url(path)) for path in self.site if path.startswith(f"{SECTION}/")}

    def listed(self, count: int) -> list[str]:
        """The ``count`` newest articles, in listing order (the site's article pages are newest first)."""
        paths = [path for path in self.site if path.startswith(f"{SECTION}/")]
        return [canonicalize_url(self.url(path)) for path in paths[:count]]


@pytest.fixture(scope="module")
def generated_site() -> dict[str, bytes]:
    return generate(ARTICLES)


@pytest.fixture
def generated_mirror(generated_site: dict[str, bytes]) -> Iterator[GeneratedMirror]:
    with GeneratedMirror(generated_site) as mirror:
        yield mirror  # type: ignore[misc]


def stored(engine: object) -> tuple[int, int]:
    """(rows, distinct URLs) in the articles table."""
    with Session(engine) as session:  # type: ignore[arg-type]
        rows = session.scalar(select(func.count()).select_from(ArticleRow))
        distinct = session.scalar(select(func.count(ArticleRow.url.distinct())))
    return int(rows or 0), int(distinct or 0)


def crawl_and_kill(command: list[str], cwd: Path, engine: object, at_least: int, how: signal.Signals) -> int:
    """Start the crawl and send it ``how`` once ``at_least`` articles are stored; the count then."""
    process = subprocess.Popen(command, cwd=cwd, env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if stored(engine)[0] >= at_least:
                process.send_signal(how)
                break
            time.sleep(0.02)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return stored(engine)[0]


def plain_rerun(mirror: Mirror, database: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(newscrawl_crawl(mirror, database), cwd=cwd, env=environment(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize(
    ("seed", "signals"),
    [(1, (signal.SIGKILL, signal.SIGKILL)), (3, (signal.SIGTERM,))],
    ids=["two-sigkills", "sigterm"],
)
def test_a_killed_backfill_is_finished_by_plain_reruns_every_article_once(
    generated_mirror: GeneratedMirror, tmp_path: Path, seed: int, signals: tuple[signal.Signals, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    engine = open_database(database)
    rng = random.Random(seed)
    kills = []
    # The backfill asks for more pages than the section has (as in the report: max_pages=101).
    command = newscrawl_crawl(generated_mirror, database, "-a", "max_pages=101")
    for how in signals:
        before = stored(engine)[0]
        target = before + rng.randint(20, (ARTICLES - before) // 2)  # well before the end
        after = crawl_and_kill(command, tmp_path, engine, target, how)
        kills.append((how.name, target, after))
        assert after < ARTICLES, f"the crawl ended before it was killed: {kills}"
        command = newscrawl_crawl(generated_mirror, database)  # later kills hit plain reruns

    capsys.readouterr()
    assert main(["status", "--database", database, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status[0]["status"] in ("aborted", "failed") and status[0]["verdict"] != "ok", status[0]
    assert status[0]["backfill_incomplete"][0]["max_pages"] == 101, status[0]

    plain_rerun(generated_mirror, database, tmp_path)
    rows, distinct = stored(engine)
    with Session(engine) as session:
        urls = set(session.scalars(select(ArticleRow.url)))
    missing = generated_mirror.article_urls() - urls
    assert (rows, distinct, len(missing)) == (ARTICLES, ARTICLES, 0), f"kills {kills}; missing {sorted(missing)[:5]}"

    # The walk is complete: the next plain run is an ordinary one again (stop at known on page 1).
    generated_mirror.requests.clear()
    plain_rerun(generated_mirror, database, tmp_path)
    assert generated_mirror.requests == ["/robots.txt", SECTION], kills
    assert main(["status", "--database", database]) == 0
    assert "backfill incomplete" not in capsys.readouterr().out
    engine.dispose()  # type: ignore[attr-defined]


def test_status_names_an_incomplete_backfill(
    generated_mirror: GeneratedMirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    # CLOSESPIDER_PAGECOUNT ends the crawl early (finish reason closespider_pagecount): unfinished.
    result = subprocess.run(
        newscrawl_crawl(generated_mirror, database, "-a", "max_pages=101", "-s", "CLOSESPIDER_PAGECOUNT=30"),
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    assert main(["status", "--database", database]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "FAILED: ended with closespider_pagecount" in lines[1], out
    backfill = [line for line in lines if "backfill incomplete" in line]
    assert len(backfill) == 1 and backfill[0].startswith("japantoday: backfill incomplete: listing page ")
    assert " of 101 reached" in backfill[0], backfill


def test_a_resumed_walk_goes_as_much_further_as_new_articles_pushed_the_listing_down(
    generated_mirror: GeneratedMirror, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    engine = open_database(database)
    generated_mirror.page_offset = 2  # the 40 newest articles are not published yet
    command = newscrawl_crawl(generated_mirror, database, "-a", "max_pages=10")
    after = crawl_and_kill(command, tmp_path, engine, 90, signal.SIGKILL)
    assert after < 200
    generated_mirror.page_offset = 0  # 40 new articles: every listing page moved down by two
    result = plain_rerun(generated_mirror, database, tmp_path)
    with Session(engine) as session:
        urls = set(session.scalars(select(ArticleRow.url)))
    engine.dispose()  # type: ignore[attr-defined]
    # The killed walk asked for its 10 pages (articles 41-240 of today's listing); the resumed
    # one adds the 40 new ones on top: 12 pages, 240 articles, nothing older.
    wanted = set(generated_mirror.listed(240))
    assert urls == wanted, (len(urls), len(wanted - urls), len(urls - wanted), result.stdout)


@pytest.mark.parametrize(
    ("own", "pending", "joined"),
    [
        (None, None, None),
        (None, date(2026, 1, 1), date(2026, 1, 1)),  # a plain rerun keeps the killed walk's watermark
        (date(2026, 3, 1), None, date(2026, 3, 1)),
        (date(2026, 3, 1), date(2026, 1, 1), date(2026, 1, 1)),  # the deeper of the two
        (date(2025, 3, 1), date(2026, 1, 1), date(2025, 3, 1)),
    ],
)
def test_joined_since(own: date | None, pending: date | None, joined: date | None) -> None:
    assert joined_since(own, pending) == joined


def test_a_walk_is_resumed_until_a_crawl_finishes_it(db_url: str) -> None:
    engine = open_database(db_url)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    url = "https://japantoday.com/category/politics"

    def begin(max_pages: int, since: date | None = None) -> Walk:
        with Session(engine) as session, session.begin():
            return begin_walk(session, "japantoday", url, max_pages, since, now)

    first = begin(101)
    assert (first.resuming, first.max_pages) == (False, 101)
    with Session(engine) as session, session.begin():
        reach_page(session, first.id, 7, f"{url}/seventh", now)
        reach_page(session, first.id, 3, f"{url}/third", now)  # a shallower page changes nothing
    second = begin(3)  # killed: the plain rerun joins the unfinished walk
    assert second == Walk(first.id, 101, None, True, 7, f"{url}/seventh")
    with Session(engine) as session, session.begin():
        finish_walk(session, second.id, now)
    third = begin(3)
    assert (third.id, third.resuming, third.max_pages, third.deepest_page) == (first.id, False, 3, 0)
    with Session(engine) as session, session.begin():
        other = begin_walk(session, "japantoday", "http://127.0.0.1:8000/category/politics", 5, None, now)
    assert other.id != first.id and not other.resuming
    engine.dispose()
