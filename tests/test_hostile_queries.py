"""Hostile input to the query commands: one line on stderr and exit 2 or 3, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from newscrawl.cli import EXIT_DATABASE, EXIT_NO_RESULTS, EXIT_OK, EXIT_USAGE
from tests.conftest import ROOT, run_cli
from tests.test_query import article_values, insert_articles

pytestmark = pytest.mark.usefixtures("no_env_database")

#: Distinct words and distinct prefixes, as a script or a paste accident sends them.
MANY_WORDS = " ".join(f"word{i}" for i in range(200))
MANY_PREFIXES = " ".join(f"bud{chr(ord('a') + i)}*" for i in range(20))
SAME_PREFIX = " ".join(["a*"] * 200)
SAME_LONG_PREFIX = " ".join(["budg*"] * 200)
#: What Python puts in sys.argv for bytes that are not UTF-8 (surrogate escapes).
NOT_UTF8 = os.fsdecode(b"\xff\xfe")


@pytest.fixture
def seeded(db_url: str) -> str:
    """A small archive written through the store layer."""
    published = datetime(2026, 6, 1, 3, tzinfo=timezone.utc)
    articles = [
        article_values(
            f"https://japantoday.com/category/politics/article-{i}",
            published,
            title=f"Defense budget debate {i}",
            body="Lawmakers argued about apples, alpha tests and the annual budget. " * 20,
            authors=["Haruto Kisaragi"],
        )
        for i in range(5)
    ]
    insert_articles(db_url, articles).dispose()
    return db_url


def assert_one_line(err: str) -> None:
    assert err.startswith("newscrawl") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", MANY_WORDS], "too many search terms"),
        (["search", MANY_PREFIXES], "too many prefix"),
        (["search", SAME_PREFIX], "prefix a* is too short"),
        (["search", "budget ap*"], "prefix ap* is too short"),
        (["show", str(10**30)], "article id"),
        (["list", "--limit", str(10**20)], "--limit"),
        (["search", "budget", "--limit", str(10**20)], "--limit"),
        (["list", "--offset", str(10**20)], "--offset"),
        (["list", "--until", "9999-12-31"], "--until 9999-12-31"),
        (["list", "--since", "0001-01-01", "--tz", "Asia/Tokyo"], "--since 0001-01-01"),
        (["search", "budget", "--until", "9999-12-31"], "--until"),
        (["export", "--since", "0001-01-01", "--tz", "Asia/Tokyo"], "--since"),
        (["list", "--author", NOT_UTF8], "--author"),
        (["search", "caf" + NOT_UTF8], "UTF-8"),
        (["show", "https://japantoday.com/" + NOT_UTF8], "UTF-8"),
        (["stats", "--days", "-1"], "--days"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_hostile_arguments_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], seeded: str, argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, argv[0], "--database", seeded, *argv[1:])
    assert (code, out) == (EXIT_USAGE, "")
    assert_one_line(err)
    assert message in err


def test_a_repeated_prefix_is_searched_once(
    capsys: pytest.CaptureFixture[str], seeded: str
) -> None:
    started = time.perf_counter()
    code, out, err = run_cli(capsys, "search", "--database", seeded, "--json", "--", SAME_LONG_PREFIX)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"200 x 'budg*' on {make_url(seeded).get_backend_name()}: {elapsed:.2f}s")
    assert (code, err) == (EXIT_OK, "")
    _, once, _ = run_cli(capsys, "search", "--database", seeded, "--json", "--", "budg*")
    assert [hit["id"] for hit in json.loads(out)] == [hit["id"] for hit in json.loads(once)]


def test_a_non_digit_number_is_not_an_id(capsys: pytest.CaptureFixture[str], seeded: str) -> None:
    # "²".isdigit() is true but int("²") fails.
    code, out, err = run_cli(capsys, "show", "--database", seeded, "²")
    assert (code, out) == (EXIT_NO_RESULTS, "")
    assert_one_line(err)


@pytest.mark.parametrize(
    "command", [["list"], ["search", "x"], ["show", "1"], ["export"], ["crawl", "japantoday"], ["status"]]
)
def test_a_non_numeric_port_in_the_url(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    url = "postgresql+psycopg://news:s3cret@127.0.0.1:abc/news"
    code, out, err = run_cli(capsys, *command, "--database", url)
    assert (code, out) == (EXIT_DATABASE, "")
    assert_one_line(err)
    assert "port" in err and "s3cret" not in err


@pytest.mark.e2e
def test_invalid_utf8_in_a_real_process(seeded: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEWSCRAWL_DATABASE_URL"}
    command = [sys.executable, "-m", "newscrawl", "list", "--database", seeded]
    result = subprocess.run(
        [*command, "--author", os.fsencode(NOT_UTF8)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == EXIT_USAGE and result.stdout == b""
    assert_one_line(result.stderr.decode())


# 30 s: it waits out SQLite's busy timeout while another process holds the lock.
@pytest.mark.e2e
def test_a_locked_sqlite_file(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    insert_articles(sqlite_url, [article_values("https://x.test/a", now)]).dispose()
    path = make_url(sqlite_url).database
    assert path is not None
    sqlite3.connect(path).execute("PRAGMA journal_mode=DELETE").close()
    # Another program holds an exclusive lock for longer than the busy timeout (30 s).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        code, out, err = run_cli(capsys, "list", "--database", sqlite_url)
    finally:
        holder.kill()
        holder.communicate()
    assert (code, out) == (EXIT_DATABASE, "")
    assert_one_line(err)
    assert "locked" in err
