"""End to end: what a default `scrapy crawl` prints on the console, and what goes to the log file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_crawl
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e

NUCLEAR = "/category/politics/japan-seeks-to-replace-up-to-5-nuclear-reactors-by-2040s"
PROGRESS = re.compile(r" INFO japantoday: progress: ")


def crawl(mirror: Mirror, tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    result = run_crawl(
        "japantoday", tmp_path, "-a", f"start_url={mirror.url('/category/politics')}", "-a", "max_pages=3",
        *args, settings={"DATABASE_URL": f"sqlite:///{tmp_path / 'news.db'}"},
    )
    assert result.stdout == ""
    return result.returncode, result.stderr.splitlines()


def test_a_default_crawl_prints_a_start_line_warnings_and_a_summary(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    code, lines = crawl(japantoday_mirror, tmp_path)
    assert code == 0, "\n".join(lines[-40:])
    others = [line for line in lines if not PROGRESS.search(line)]
    # Start, the expired article's drop, perhaps a configuration warning, the summary.
    assert 3 <= len(others) <= 5, "\n".join(lines)
    start = re.compile(r"INFO japantoday: crawling http://127\.0\.0\.1:\d+/category/politics "
                       r"into sqlite:///\S+news\.db$")
    assert [line for line in others[:2] if start.search(line)], others
    assert [line for line in others if "WARNING japantoday: Dropped: expired article: http://" in line], others
    summary = others[-1]
    assert "japantoday: finished;" in summary and "inserted 19" in summary, summary
    # The 404 and the fetched articles are explained in the summary: links 21, scraped 19.
    assert "failed 1 (HTTP 404 1)" in summary, summary
    for noise in ("Overridden settings", "Enabled extensions", "Dumping Scrapy stats", "Versions:", "Crawled 0 pages"):
        assert noise not in "\n".join(lines)


def test_an_error_is_one_line_on_the_console_and_a_traceback_in_the_log_file(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    japantoday_mirror.routes[NUCLEAR]["reset"] = True
    log_file = tmp_path / "crawl.log"
    log_file.write_text("an older run\n", "utf-8")
    code, lines = crawl(japantoday_mirror, tmp_path, "-s", f"LOG_FILE={log_file}", "-s", "LOG_FILE_APPEND=False")
    assert code == 0, "\n".join(lines[-40:])  # one failed article of 20: within the error ratio
    errors = [line for line in lines if " ERROR " in line and NUCLEAR.rsplit("/", 1)[1] in line]
    assert errors, "\n".join(lines)
    assert any("Error downloading <GET" in line and "onnection" in line for line in errors), errors
    assert not any(line.startswith((" ", "Traceback")) for line in lines), "\n".join(lines)
    logged = log_file.read_text("utf-8")
    assert "Traceback (most recent call last)" in logged
    assert "Dumping Scrapy stats" in logged  # the file still gets everything
    assert "an older run" not in logged and re.search(r"Scrapy \S+ started", logged)


def test_debug_shows_scrapy_s_own_output_on_the_console(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    code, lines = crawl(japantoday_mirror, tmp_path, "-L", "DEBUG")
    assert code == 0
    assert any("Overridden settings" in line for line in lines)
    assert any("Dumping Scrapy stats" in line for line in lines)


def test_a_slow_crawl_prints_progress_lines(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    japantoday_mirror.routes[NUCLEAR]["sleep"] = 1.6
    code, lines = crawl(japantoday_mirror, tmp_path, "-s", "CONSOLE_PROGRESS_INTERVAL=0.5")
    assert code == 0, "\n".join(lines[-40:])
    progress = [line for line in lines if PROGRESS.search(line)]
    assert len(progress) >= 2, "\n".join(lines)
    assert re.search(r"progress: \d+ pages, \d+ articles scraped \(\d+ stored\), dropped \d+.*, failed \d+", progress[-1])
