"""End to end: `scrapy crawl <site>` and `scrapy crawl news` against hand-built mirrors serving real article pages."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, open_database
from newscrawl.registry import spider_names
from tests.conftest import SITES, run_crawl
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e

REVIEWED = ("title", "published_at", "authors", "tags", "credit", "dateline", "language", "body_method", "body")


def load_expected(site: str) -> dict[str, Any]:
    return json.loads((SITES / site / "expected.json").read_text("utf-8"))


def crawl_cases() -> list[Any]:
    """Every reviewed crawl of every spider (Japan Today's are in test_crawl_japantoday.py)."""
    cases = []
    for spider in spider_names():
        for crawl in load_expected(spider).get("crawls", []):
            cases.append(pytest.param(spider, crawl, id=f"{spider}:{crawl['start_path']}"))
    return cases


def stored_rows(db_url: str) -> list[ArticleRow]:
    engine = open_database(db_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(ArticleRow)).all())
        session.expunge_all()
    engine.dispose()
    return rows


def crawl_and_check(spider: str, crawl: dict[str, Any], db_url: str, cwd: Path) -> None:
    expected = load_expected(spider)
    records = {r["path"]: r for r in expected["stored"]}
    args = [f"start_url=", *crawl.get("args", [])]
    with Mirror(SITES / spider / "mirror") as mirror:
        args[0] = f"start_url={mirror.url(crawl['start_path'])}"
        result = run_crawl(
            spider, cwd, *[part for arg in args for part in ("-a", arg)], settings={"DATABASE_URL": db_url}
        )
        requested = set(mirror.requested_paths())
        prefix = mirror.base_url
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    rows = {row.url.removeprefix(prefix): row for row in stored_rows(db_url)}
    assert sorted(rows) == crawl["stores"]
    assert not requested & set(expected.get("never_requested", []))
    section = dict(a.split("=", 1) for a in crawl.get("args", [])).get("section")
    for path, row in rows.items():
        want = records[path]
        for name in REVIEWED:
            got = getattr(row, name)
            if name == "published_at":
                got = got.astimezone(timezone.utc)
                want_value: Any = datetime.fromisoformat(want[name])
            else:
                want_value = want[name]
            assert got == want_value, f"{spider} {path}: {name}"
        if spider == "news":
            assert (row.source, row.section) == ("127.0.0.1", section)
        else:
            assert (row.source, row.section) == (spider, want["section"])


@pytest.mark.parametrize(("spider", "crawl"), crawl_cases())
def test_crawl_stores_the_reviewed_articles(spider: str, crawl: dict[str, Any], sqlite_url: str, tmp_path: Path) -> None:
    crawl_and_check(spider, crawl, sqlite_url, tmp_path)


@pytest.mark.postgres
@pytest.mark.parametrize("spider", ["apnews", "taipeitimes"])
def test_crawl_on_postgresql(spider: str, postgresql_url: str, tmp_path: Path) -> None:
    crawl_and_check(spider, load_expected(spider)["crawls"][0], postgresql_url, tmp_path)


def test_the_news_spider_needs_a_start_url(tmp_path: Path) -> None:
    result = run_crawl("news", tmp_path, settings={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert result.returncode == 2
    assert "needs -a start_url=" in result.stderr
