"""`newscrawl crawl` runs each spider as its own `scrapy crawl` process, up to --jobs at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.cli import CommandError
from newscrawl.cli.crawl import spider_arguments
from newscrawl.cli.jobs import Job, exit_code
from newscrawl.db import open_database
from newscrawl.db.models import CrawlRun
from tests.conftest import MIRROR_SETTINGS, SITES
from tests.support.commands import environment
from tests.support.mirror import Mirror


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (["max_pages=2"], {"japantoday": {"max_pages": "2"}, "taipeitimes": {"max_pages": "2"}}),
        (["japantoday:start_url=http://a/x", "max_pages=2"],
         {"japantoday": {"start_url": "http://a/x", "max_pages": "2"}, "taipeitimes": {"max_pages": "2"}}),
        (["max_pages=2", "taipeitimes:max_pages=5"],
         {"japantoday": {"max_pages": "2"}, "taipeitimes": {"max_pages": "5"}}),
        (["start_url=http://a:8000/x"], {"japantoday": {"start_url": "http://a:8000/x"},
                                         "taipeitimes": {"start_url": "http://a:8000/x"}}),
        ([], {"japantoday": {}, "taipeitimes": {}}),
    ],
    ids=["shared", "own-and-shared", "own-overrides-shared", "colon-in-value", "none"],
)
def test_spider_arguments_go_to_every_spider_or_to_the_one_named(pairs, expected) -> None:
    assert spider_arguments(pairs, ["japantoday", "taipeitimes"]) == expected


def test_an_argument_for_a_spider_not_in_the_run_is_refused() -> None:
    with pytest.raises(CommandError, match="'apnews' is not a spider of this run"):
        spider_arguments(["apnews:max_pages=2"], ["japantoday"])


@pytest.mark.parametrize(
    ("codes", "expected"),
    [([0, 0], 0), ([0, 1], 1), ([1, 3], 3), ([0, -15], 1), ([], 0)],
    ids=["all-ok", "one-unhealthy", "largest", "killed-by-signal", "none"],
)
def test_one_exit_code_for_all(codes: list[int], expected: int) -> None:
    assert exit_code([Job(f"s{i}", code) for i, code in enumerate(codes)]) == expected


def crawl_two(tmp_path: Path, jobs: int, taipei_start: str) -> tuple[subprocess.CompletedProcess[str], str]:
    database = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    with Mirror(SITES / "japantoday" / "mirror") as japantoday:
        # Japan Today's listing answers after 5 s: longer than a crawl takes to start, so with two
        # jobs the other crawl runs meanwhile, and with one it waits.
        japantoday.routes["/category/politics"] = {**japantoday.routes["/category/politics"], "sleep": 5}
        command = [str(Path(sys.executable).with_name("newscrawl")), "crawl", "japantoday", "taipeitimes",
                   "--jobs", str(jobs), "--database", database,
                   "-a", f"japantoday:start_url={japantoday.url('/category/politics')}",
                   "-a", f"taipeitimes:start_url={taipei_start}"]
        for name, value in MIRROR_SETTINGS.items():
            command += ["-s", f"{name}={value}"]
        result = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True, text=True,
                                timeout=180)
    return result, database


def runs(database: str) -> dict[str, CrawlRun]:
    engine = open_database(database)
    with Session(engine) as session:
        found = {run.spider: run for run in session.scalars(select(CrawlRun))}
        session.expunge_all()
    engine.dispose()
    return found


@pytest.mark.e2e
@pytest.mark.parametrize("jobs", [1, 2])
def test_spiders_run_as_processes_side_by_side_with_one_summary_line_each(tmp_path: Path, jobs: int) -> None:
    start = json.loads((SITES / "taipeitimes" / "expected.json").read_text("utf-8"))["crawls"][0]["start_path"]
    with Mirror(SITES / "taipeitimes" / "mirror") as taipei:
        result, database = crawl_two(tmp_path, jobs, taipei.url(start))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert sorted(line.split(":")[0] for line in lines) == ["japantoday", "taipeitimes"]
    assert all(": finished;" in line for line in lines)
    found = runs(database)
    assert {run.status for run in found.values()} == {"finished"}
    assert found["japantoday"].pid != found["taipeitimes"].pid  # a process each
    slow, fast = found["japantoday"], found["taipeitimes"]
    # --jobs 2: the fast crawl ran while the slow one waited; --jobs 1: it started after.
    assert (fast.started_at < slow.finished_at) is (jobs == 2)


@pytest.mark.e2e
def test_a_failing_spider_does_not_stop_the_other_and_the_run_exits_1(tmp_path: Path) -> None:
    result, database = crawl_two(tmp_path, 2, "http://127.0.0.1:9/News/taiwan")  # port 9: refused
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    assert ": finished;" in lines["japantoday"]
    assert "UNHEALTHY" in lines["taipeitimes"] and "connection refused" in lines["taipeitimes"]
    found = runs(database)
    assert found["japantoday"].inserted > 0 and found["taipeitimes"].healthy is False
    assert "Traceback" not in result.stderr
