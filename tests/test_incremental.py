"""Cron-ready crawls against the mirror: seen-state in the articles table, stop-at-known,
refresh with revisions, backfill, the lock, health alerts and the `newscrawl` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newscrawl.cli.lock import crawl_lock, default_lock_path
from newscrawl.db import ArticleRevision, ArticleRow, CrawlRun, open_database
from tests.conftest import MIRROR_SETTINGS, ROOT, run_crawl
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e

KOIZUMI = "/category/politics/koizumi-takes-veiled-swipe-at-china-at-shangri-la-dialogue"
KOIZUMI_FILE = "articles/koizumi-takes-veiled-swipe-at-china-at-shangri-la-dialogue.html"


def crawl(mirror: Mirror, db_url: str, cwd: Path, *args: str, **settings: str) -> Any:
    result = run_crawl(
        "japantoday", cwd, "-a", f"start_url={mirror.url('/category/politics')}", *args,
        settings={"DATABASE_URL": db_url, **settings},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def newscrawl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `newscrawl` console script, as cron runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    command = [str(Path(sys.executable).with_name("newscrawl")), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def mirror_settings() -> list[str]:
    return [arg for name, value in MIRROR_SETTINGS.items() for arg in ("-s", f"{name}={value}")]


def count(db_url: str, model: Any, *where: Any) -> int:
    engine = open_database(db_url)
    with Session(engine) as session:
        value = session.scalar(select(func.count()).select_from(model).where(*where))
    engine.dispose()
    return int(value or 0)


def last_run(db_url: str) -> CrawlRun:
    engine = open_database(db_url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        session.expunge(run)
    engine.dispose()
    return run


def test_unchanged_second_run_fetches_only_the_first_listing_page(
    japantoday_mirror: Mirror, db_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, db_url, tmp_path)
    stored = count(db_url, ArticleRow)
    assert stored == 19
    japantoday_mirror.requests.clear()
    crawl(japantoday_mirror, db_url, tmp_path)
    assert japantoday_mirror.requested_paths() == ["/robots.txt", "/category/politics"]
    run = last_run(db_url)
    assert (run.inserted, run.updated, run.scraped) == (0, 0, 0)
    assert run.links_skipped >= 5 and run.links_new == 0
    assert run.stats["incremental/stopped/known"] == 1
    assert count(db_url, ArticleRow) == stored


def add_teaser(mirror: Mirror, slug: str, title: str) -> str:
    """Put a new article at the top of listing page 1, served from an edited copy of another."""
    path = f"/category/politics/{slug}"
    name = f"articles/{slug}.html"
    page = (mirror.root / KOIZUMI_FILE).read_text("utf-8")
    page = page.replace("Koizumi takes veiled swipe at China at Shangri-La Dialogue", title)
    page = page.replace("Japan's defense minister took a veiled swipe", f"{title}: the minister took a swipe")
    mirror.overrides[name] = page.encode()
    mirror.routes[path] = {"file": name}
    listing = mirror.overrides.get("listing-1.html", (mirror.root / "listing-1.html").read_bytes()).decode()
    teaser = (f'<div class="media media-sm"><div class="media-body"><h3><a href="{path}">{title}</a></h3>'
              f'<time datetime="2026-11-20 09:00">Nov. 20</time><p>New.</p></div></div>\n')
    mirror.overrides["listing-1.html"] = listing.replace('<div class="media media-sm">', teaser + '<div class="media media-sm">', 1).encode()
    return path


def test_stop_at_known_when_page_one_mixes_new_and_known_articles(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, sqlite_url, tmp_path)
    new_paths = [
        add_teaser(japantoday_mirror, "diet-passes-new-budget", "Diet passes new budget"),
        add_teaser(japantoday_mirror, "upper-house-election-date-set", "Upper house election date set"),
    ]
    japantoday_mirror.requests.clear()
    crawl(japantoday_mirror, sqlite_url, tmp_path)
    requested = japantoday_mirror.requested_paths()
    assert sorted(requested) == sorted(["/robots.txt", "/category/politics", *new_paths])
    run = last_run(sqlite_url)
    assert (run.inserted, run.links_new) == (2, 2)
    assert run.links_skipped >= 5
    assert count(sqlite_url, ArticleRow) == 21


def test_a_refreshed_article_edited_between_runs_yields_one_revision(
    japantoday_mirror: Mirror, db_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, db_url, tmp_path)
    page = (japantoday_mirror.root / KOIZUMI_FILE).read_text("utf-8")
    assert "took a veiled swipe at China on Sunday" in page
    edited = page.replace("took a veiled swipe at China on Sunday", "took a veiled swipe at China on Saturday")
    edited = re.sub(r'"dateModified":\s*"[^"]+"', '"dateModified": "2026-06-02T10:00:00+09:00"', edited)
    edited = re.sub(r'(<meta property="article:modified_time" content=")[^"]+', r"\g<1>2026-06-02T10:00:00+09:00", edited)
    japantoday_mirror.overrides[KOIZUMI_FILE] = edited.encode()
    # Every stored article is inside this (huge) refresh window, so all are fetched again.
    crawl(japantoday_mirror, db_url, tmp_path, INCREMENTAL_REFRESH_HOURS="1000000")
    run = last_run(db_url)
    assert (run.inserted, run.updated, run.unchanged) == (0, 1, 18)
    assert run.links_refreshed >= 19
    engine = open_database(db_url)
    with Session(engine) as session:
        row = session.scalars(select(ArticleRow).where(ArticleRow.url.endswith(KOIZUMI))).one()
        assert "on Saturday" in row.body
        assert row.modified_at is not None and row.modified_at.isoformat() == "2026-06-02T01:00:00+00:00"
        revision = session.scalars(select(ArticleRevision)).one()
        assert revision.article_id == row.id and "on Sunday" in revision.body
        assert revision.replaced_at >= revision.last_seen_at
    engine.dispose()


def test_backfill_with_since_walks_past_known_articles_to_the_watermark(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, sqlite_url, tmp_path, "-a", "max_pages=1")
    first = count(sqlite_url, ArticleRow)
    japantoday_mirror.requests.clear()
    crawl(japantoday_mirror, sqlite_url, tmp_path, "-a", "max_pages=3", "-a", "since=2000-01-01")
    assert count(sqlite_url, ArticleRow) == 19 > first
    assert "/category/politics" in japantoday_mirror.requested_paths()
    assert any("page=3" in raw for raw in japantoday_mirror.requests)


def test_since_watermark_stops_pagination_at_older_teasers(
    japantoday_mirror: Mirror, sqlite_url: str, tmp_path: Path
) -> None:
    crawl(japantoday_mirror, sqlite_url, tmp_path, "-a", "since=2026-06-08")
    run = last_run(sqlite_url)
    assert run.stats["incremental/stopped/watermark"] == 1
    assert not any("page=2" in raw for raw in japantoday_mirror.requests)
    # Teasers dated before the watermark are not fetched (sidebar links carry no date and are).
    assert run.stats["incremental/skipped_old"] >= 1
    stored = {row_url.rsplit("/", 1)[1] for row_url in urls(sqlite_url)}
    assert "japan-ruling-party-urges-gov't-to-protect-farmers-in-mercosur-talks" not in stored
    assert "japan's-outreach-to-russia-raises-concerns-among-european-partners" in stored


def urls(db_url: str) -> list[str]:
    engine = open_database(db_url)
    with Session(engine) as session:
        found = list(session.scalars(select(ArticleRow.url)))
    engine.dispose()
    return found


def test_newscrawl_crawl_summarises_and_exits_zero_then_status_shows_the_runs(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    start = f"start_url={japantoday_mirror.url('/category/politics')}"
    result = newscrawl(tmp_path, "crawl", "japantoday", "-a", start, *mirror_settings())
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()
    assert summary[0].startswith("japantoday: finished;")
    assert "inserted 19" in summary[0] and "ExpiredArticle 1" in summary[0]
    assert (tmp_path / "newscrawl.db").exists()

    status = newscrawl(tmp_path, "status", "--json")
    assert status.returncode == 0, status.stderr
    runs = json.loads(status.stdout)
    assert runs[0]["spider"] == "japantoday" and runs[0]["status"] == "finished"
    assert runs[0]["inserted"] == 19 and runs[0]["health"] == []


def test_an_overlapping_crawl_exits_at_once_with_code_4(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    with crawl_lock(default_lock_path(database)):
        result = newscrawl(
            tmp_path, "crawl", "japantoday", "--database", database,
            "-a", f"start_url={japantoday_mirror.url('/category/politics')}",
        )
    assert result.returncode == 4
    assert "another crawl is running" in result.stderr
    assert japantoday_mirror.requests == []


def test_a_broken_article_template_makes_newscrawl_crawl_fail_naming_spider_and_field(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    start = f"start_url={japantoday_mirror.url('/category/politics')}"
    assert newscrawl(tmp_path, "crawl", "japantoday", "-a", start, *mirror_settings()).returncode == 0
    # The site ships a new article template: no h1, no datetime, body in an unknown wrapper.
    for route in japantoday_mirror.routes.values():
        name = route.get("file", "")
        if name.startswith("articles/"):
            page = (japantoday_mirror.root / name).read_text("utf-8")
            page = re.sub(r"<h1([^>]*)>(.*?)</h1>", r"<div class='headline'>\2</div>", page, flags=re.S)
            page = page.replace("<time", "<span").replace("</time>", "</span>")
            page = page.replace('itemprop="articleBody"', 'class="story"')
            page = re.sub(r'<script type="application/ld\+json">.*?</script>', "", page, flags=re.S)
            page = re.sub(r'<meta property="(og:title|article:published_time)"[^>]*>', "", page)
            japantoday_mirror.overrides[name] = page.encode()
    result = newscrawl(
        tmp_path, "crawl", "japantoday", "-a", start, "-s", "INCREMENTAL_ENABLED=False", *mirror_settings()
    )
    assert result.returncode == 1
    assert "japantoday: finished UNHEALTHY" in result.stdout
    assert "field 'title' missing" in result.stdout
    # The teasers' dates stand in for the pages' lost ones (every site spider falls back so).
    assert "field 'published_at' missing" not in result.stdout
    assert re.search(r"japantoday: health: field 'title' missing", result.stderr)
    runs = json.loads(newscrawl(tmp_path, "status", "--json").stdout)
    assert [r["status"] for r in runs if r["spider"] == "japantoday"] == ["unhealthy", "finished"]


def test_schedule_prints_a_crontab_line_that_logs_to_a_file(tmp_path: Path) -> None:
    result = newscrawl(tmp_path, "schedule", "--cron", "5 * * * *", "--workdir", str(tmp_path))
    assert result.returncode == 0
    line = [l for l in result.stdout.splitlines() if not l.startswith("#")][0]
    assert line.startswith(f"5 * * * * cd {tmp_path} && ")
    assert line.endswith(f"crawl >> {tmp_path}/logs/newscrawl.log 2>&1")
    assert "/newscrawl crawl" in line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["crawl", "nosuch"], 2, "unknown spider(s) nosuch"),
        (["crawl", "japantoday", "-a", "max_pages=x"], 2, "max_pages must be a whole number"),
        (["crawl", "japantoday", "-a", "since=yesterday"], 2, "since must be a date"),
        (["crawl", "--database", "postgresql+psycopg://nobody@127.0.0.1:9/none"], 3, "cannot open database"),
        (["status", "--database", "sqlite:///does-not-exist.db"], 3, "no database at"),
    ],
    ids=["unknown-spider", "bad-max-pages", "bad-since", "database-down",
         "status-without-database"],
)
def test_bad_input_gives_one_line_and_a_documented_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = newscrawl(tmp_path, *args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_seen_state_lookup_takes_any_number_of_urls(db_url: str) -> None:
    """A 1M-URL sitemap once failed with "too many SQL variables" (SQLite allows 32,766 bound
    parameters upstream, 250,000 as Debian builds it) or over PostgreSQL's 65,535: 300k links
    on one page must be one lookup, done in slices."""
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from newscrawl.middlewares.incremental import known_articles

    urls = [f"https://example.test/category/politics/story-{i}" for i in range(300_000)]
    stored = urls[::250] + [urls[-1]]
    published = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
    engine = open_database(db_url)
    with Session(engine) as session, session.begin():
        session.execute(insert(ArticleRow), [
            {"url": url, "source": "japantoday", "title": "t", "body": "b", "published_at": published,
             "authors": [], "tags": [], "content_hash": "0" * 64, "first_seen_at": published,
             "last_seen_at": published}
            for url in stored
        ])
    # Repeats in the input (a sitemap listing a URL twice) are looked up once.
    found = known_articles(engine, urls + urls[:50])
    engine.dispose()
    assert set(found) == set(stored) and len(stored) == 1201
    assert set(found.values()) == {published}
