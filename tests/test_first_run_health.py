"""End to end: a dead crawl is unhealthy on its first run, exits 1 and names its cause.

Each case runs the real `scrapy crawl japantoday` on a fresh SQLite database against a local
target that cannot give articles: a name that does not resolve, a closed port, a listing that
answers 404, a listing without article links, a listing whose articles all answer 500.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import CrawlRun, open_database
from tests.conftest import MIRROR_SETTINGS, ROOT, run_crawl
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def summary_line(stderr: str, spider: str = "japantoday") -> str:
    lines = [line for line in stderr.splitlines() if f"{spider}: finished" in line or f"{spider}: failed" in line]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def last_run(db_url: str) -> CrawlRun:
    engine = open_database(db_url)
    with Session(engine) as session:
        runs = session.scalars(select(CrawlRun)).all()
        assert len(runs) == 1  # a fresh database: this is the first run
        session.expunge(runs[0])
    engine.dispose()
    return runs[0]


def assert_dead(start_url: str, tmp_path: Path, cause: str, *args: str) -> None:
    db_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_crawl(
        "japantoday", tmp_path, "-a", f"start_url={start_url}", *args, settings={"DATABASE_URL": db_url}
    )
    assert result.returncode == 1, result.stderr[-3000:]
    line = summary_line(result.stderr)
    assert "UNHEALTHY" in line and cause in line, line
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    run = last_run(db_url)
    assert run.healthy is False and run.status == "unhealthy", (run.status, run.health)
    assert any(cause in problem for problem in run.health), run.health


def test_an_unresolvable_host_is_unhealthy(tmp_path: Path) -> None:
    assert_dead("http://nonexistent.invalid/category/politics", tmp_path, "cannot resolve nonexistent.invalid")


def test_a_closed_port_is_unhealthy(tmp_path: Path) -> None:
    port = closed_port()
    assert_dead(f"http://127.0.0.1:{port}/category/politics", tmp_path, f"connection refused by 127.0.0.1:{port}")


def test_a_listing_that_answers_404_is_unhealthy(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    assert_dead(japantoday_mirror.url("/category/moved"), tmp_path, "listing answered 404")


def test_a_listing_without_article_links_is_unhealthy(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "listing.html").write_text(
        "<html><body><h1>Politics</h1><a href='/category/sports/a-match-report-with-a-long-slug'>Sports</a>"
        "<a href='/about'>About</a></body></html>", "utf-8",
    )
    (site / "routes.json").write_text(json.dumps({"/category/politics": {"file": "listing.html"}}), "utf-8")
    with Mirror(site) as mirror:
        assert_dead(mirror.url("/category/politics"), tmp_path, "no article links")


def test_a_listing_whose_articles_all_answer_500_is_unhealthy(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    for path, route in japantoday_mirror.routes.items():
        if path.startswith("/category/politics/"):
            route.clear()
            route["status"] = 500
    assert_dead(japantoday_mirror.url("/category/politics"), tmp_path, "HTTP 500", "-a", "max_pages=1")


def newscrawl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `newscrawl` console script."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    settings = [arg for name, value in MIRROR_SETTINGS.items() for arg in ("-s", f"{name}={value}")]
    command = [str(Path(sys.executable).with_name("newscrawl")), *args, *settings]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_newscrawl_crawl_names_the_cause_of_a_dead_first_run(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    result = newscrawl(tmp_path, "crawl", "japantoday", "-a", f"start_url={japantoday_mirror.url('/category/moved')}")
    assert result.returncode == 1, result.stderr[-3000:]
    [summary] = result.stdout.splitlines()
    assert summary.startswith("japantoday: finished UNHEALTHY;") and "listing answered 404" in summary, summary
    assert "Traceback" not in result.stderr and "Overridden settings" not in result.stderr


def test_newscrawl_check_names_why_the_listing_could_not_be_read(tmp_path: Path) -> None:
    result = newscrawl(tmp_path, "check", "japantoday", "-a", "start_url=http://nonexistent.invalid/category/politics")
    assert result.returncode == 1
    assert "japantoday: listing pages 0 (cannot resolve nonexistent.invalid" in result.stdout, result.stdout
