"""Extraction workers: same Articles as in the crawl's process, and no page lost when a worker fails."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, CrawlRun, open_database
from newscrawl.db.store import CONTENT_COLUMNS
from newscrawl.extract.pool import _widen, importable, processes_for
from newscrawl.exceptions import ExtractionError
from newscrawl.extract.worker import READY, frame, read_frame
from newscrawl.spiders.base import META_LISTED_RAW
from newscrawl.spiders.japantoday import JapanTodaySpider
from tests.conftest import ROOT, SITES, run_crawl
from tests.support.mirror import Mirror
from tests.test_fuzz import SITE as FUZZ_SITE
from tests.test_fuzz import Page, article_page

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)  # Python 3.10+ on Linux names it
MIRROR = SITES / "japantoday" / "mirror"
ROUTES = json.loads((MIRROR / "routes.json").read_text("utf-8"))
#: Every article page of the hand-built mirror, by its path.
ARTICLE_PAGES = {
    path: (MIRROR / route["file"]).read_bytes()
    for path, route in ROUTES.items()
    if path.startswith("/category/politics/") and "file" in route
}
SEED_SLUG = "japan-u.s.-defense-chiefs-affirm-cooperation-on-taiwan"
#: lxml and the URL parser refuse this page (a ValueError in build_article): an unparseable page.
UNPARSEABLE = b'<html><head><base href="https://[evil.example/"></head><body><h1>T</h1>' \
              b'<figure><img src="x.jpg"></figure></body></html>'


@pytest.mark.parametrize(
    ("values", "cpus", "expected"),
    [
        ({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, 2, 1),
        ({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, 16, 1),
        ({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, 1, 0),  # nowhere to run beside the crawl
        ({"DOWNLOAD_DELAY": 1, "AUTOTHROTTLE_ENABLED": False}, 8, 0),  # polite: waits on the network
        ({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": True}, 8, 0),
        ({"EXTRACT_PROCESSES": "3", "DOWNLOAD_DELAY": 1}, 1, 3),
        ({"EXTRACT_PROCESSES": 0, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, 8, 0),
        ({"EXTRACT_PROCESSES": " Auto ", "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, 4, 1),
    ],
    ids=["unthrottled", "many-cpus", "one-cpu", "delay", "autothrottle", "explicit", "off", "auto-spelled"],
)
def test_worker_count_follows_the_settings(values: dict[str, Any], cpus: int, expected: int) -> None:
    assert processes_for(Settings(values), cpus=cpus) == expected


def test_a_worker_count_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="EXTRACT_PROCESSES must be a whole number or 'auto', got 'two'"):
        processes_for(Settings({"EXTRACT_PROCESSES": "two"}))


def test_only_spiders_a_worker_can_import_by_name_go_to_workers() -> None:
    class LocalSpider(JapanTodaySpider):
        name = "local"

    assert importable(JapanTodaySpider)
    assert not importable(LocalSpider)


# ---------------------------------------------------------------- the worker process itself


def run_worker(
    spider: type, arguments: dict[str, Any], pages: list[tuple[str, bytes, dict[str, Any]]],
    content_types: list[bytes | None] | None = None,
) -> list[Any]:
    """Feed ``pages`` to ``python -m newscrawl.extract.worker`` and return its answers in order."""
    content_types = content_types or [b"text/html; charset=utf-8"] * len(pages)
    worker = subprocess.Popen([sys.executable, "-m", "newscrawl.extract.worker"], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert worker.stdin is not None and worker.stdout is not None
    init = (list(sys.path), spider.__module__, spider.__qualname__, arguments)
    payload = frame(pickle.dumps(init)) + b"".join(
        frame(pickle.dumps((seq, url, body, None, content_type, meta)))
        for seq, ((url, body, meta), content_type) in enumerate(zip(pages, content_types, strict=True))
    )
    out, err = worker.communicate(payload, timeout=60)  # end of input: the worker finishes and exits
    assert worker.returncode == 0, err.decode()[-2000:]
    answers = []
    stream = io.BytesIO(out)
    while (answer := read_frame(stream)) is not None:
        answers.append(pickle.loads(answer))
    assert answers[0] == (READY, True, None)  # the spider is loaded
    answers = answers[1:]
    assert [seq for seq, _, _ in answers] == list(range(len(pages)))
    return answers


def test_a_worker_builds_the_same_articles_as_the_crawl_process() -> None:
    base = "http://127.0.0.1:8123"
    arguments = {"start_url": f"{base}/category/politics"}
    pages = [(base + path, body, {META_LISTED_RAW: "2026-06-09 20:40"}) for path, body in ARTICLE_PAGES.items()]
    answers = run_worker(JapanTodaySpider, arguments, pages)
    spider = JapanTodaySpider(**arguments)
    for (url, body, meta), (_, ok, article) in zip(pages, answers, strict=True):
        response = HtmlResponse(url, body=body, headers={"Content-Type": "text/html; charset=utf-8"},
                                request=Request(url, meta=meta))
        here = spider.build_article(response)
        assert ok, article
        assert asdict(article) == asdict(here), url
    assert len(answers) == len(ARTICLE_PAGES) == 20


def test_a_worker_answers_every_failure_and_goes_on() -> None:
    from tests.support.spiders import WorkerFaultSpider

    base = "http://127.0.0.1:8123/category/politics"
    seed = ARTICLE_PAGES[f"/category/politics/{SEED_SLUG}"]
    arguments = {"start_url": base, "fault_slug": "faulty", "fault": "error"}
    answers = run_worker(WorkerFaultSpider, arguments, [
        (f"{base}/unparseable", UNPARSEABLE, {}),
        (f"{base}/faulty", seed, {}),
        (f"{base}/{SEED_SLUG}", seed, {}),
    ])
    (_, ok1, refused), (_, ok2, error), (_, ok3, article) = answers
    assert not ok1 and type(refused) is ValueError and "Invalid IPv6 URL" in str(refused)
    # Anything else comes back with the worker's traceback, for the crawl's log.
    assert not ok2 and isinstance(error, ExtractionError)
    assert "RuntimeError: injected fault on" in str(error) and "build_article" in str(error)
    assert ok3 and article.title == "Japan, U.S. defense chiefs affirm cooperation on Taiwan"


def test_a_stray_print_in_a_spider_does_not_corrupt_the_answers() -> None:
    from tests.support.spiders import WorkerFaultSpider

    base = "http://127.0.0.1:8123/category/politics"
    seed = ARTICLE_PAGES[f"/category/politics/{SEED_SLUG}"]
    arguments = {"start_url": base, "fault_slug": SEED_SLUG, "fault": "print"}
    answers = run_worker(WorkerFaultSpider, arguments, [(f"{base}/{SEED_SLUG}", seed, {})] * 3)
    assert [ok for _, ok, _ in answers] == [True, True, True]
    assert {article.title for _, _, article in answers} == {"Japan, U.S. defense chiefs affirm cooperation on Taiwan"}


# ---------------------------------------------------------------- real crawls


def crawl(mirror: Mirror, tmp_path: Path, spider: str, *args: str, **settings: str) -> Any:
    """``scrapy crawl`` of the mirror into a fresh SQLite file: (rows by path, stats, status, log)."""
    number = len(list(tmp_path.glob("*.db")))
    db_url = f"sqlite:///{tmp_path / f'crawl-{number}.db'}"
    result = run_crawl(
        spider, tmp_path, "-a", f"start_url={mirror.url('/category/politics')}", *args,
        settings={"DATABASE_URL": db_url, "SPIDER_MODULES": "newscrawl.spiders,tests.support.spiders", **settings},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    engine = open_database(db_url)
    with Session(engine) as session:
        rows = {row.url.removeprefix(mirror.base_url): {c: getattr(row, c) for c in CONTENT_COLUMNS}
                for row in session.scalars(select(ArticleRow))}
        run = session.scalars(select(CrawlRun)).one()
        stats, status = dict(run.stats), run.status
    engine.dispose()
    return rows, stats, status, result.stderr


def with_fault(mirror: Mirror, tmp_path: Path, fault: str, **settings: str) -> Any:
    return crawl(mirror, tmp_path, "japantoday-worker-faults", "-a", f"fault_slug={SEED_SLUG}",
                 "-a", f"fault={fault}", EXTRACT_PROCESSES="1", **settings)


def test_a_crawl_with_workers_stores_what_a_crawl_without_them_stores(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    alone, alone_stats, _, _ = crawl(japantoday_mirror, tmp_path, "japantoday", EXTRACT_PROCESSES="0")
    pooled, pooled_stats, status, _ = crawl(japantoday_mirror, tmp_path, "japantoday", EXTRACT_PROCESSES="2")
    assert len(alone) == 19 and pooled == alone
    assert status == "finished"
    assert "newscrawl/extract/in_workers" not in alone_stats
    # 20 article pages (one of them expired, dropped as before), each built by a worker.
    assert pooled_stats["newscrawl/extract/in_workers"] == 20
    assert pooled_stats["newscrawl/extract/processes"] == 2
    for key in ("newscrawl/fields/items", "newscrawl/body_method/selectors", "item_scraped_count"):
        assert pooled_stats[key] == alone_stats[key], key


def test_a_worker_that_dies_loses_no_page(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    reference, _, _, _ = crawl(japantoday_mirror, tmp_path, "japantoday", EXTRACT_PROCESSES="0")
    rows, stats, status, log = with_fault(japantoday_mirror, tmp_path, "exit")
    assert rows == {path: {**row, "source": "japantoday-worker-faults"} for path, row in reference.items()}
    assert status == "finished"
    assert stats["newscrawl/extract/worker_lost"] >= 1
    assert stats.get("newscrawl/extract/in_workers", 0) < 20
    assert "extraction worker lost (worker" in log


def test_an_error_in_a_worker_is_logged_with_its_traceback(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    rows, stats, status, log = with_fault(japantoday_mirror, tmp_path, "error")
    assert len(rows) == 18 and f"/category/politics/{SEED_SLUG}" not in rows  # as an in-process bug would
    assert stats["spider_exceptions/ExtractionError"] == 1
    assert "RuntimeError: injected fault on" in log and "Traceback" in log
    assert status == "finished" and "newscrawl/extract/worker_lost" not in stats


def test_a_page_that_hangs_its_worker_is_refused_and_the_crawl_goes_on(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    started = time.monotonic()
    rows, stats, status, log = with_fault(japantoday_mirror, tmp_path, "hang", EXTRACT_PAGE_TIMEOUT="5")
    assert time.monotonic() - started < 60  # the worker sleeps 600 s on the page
    assert len(rows) == 18 and f"/category/politics/{SEED_SLUG}" not in rows
    assert stats["newscrawl/extract/timed_out"] == 1
    assert stats["newscrawl/unparseable_pages"] == 1
    assert stats["item_dropped_reasons_count/MissingField"] == 1  # a typed, counted drop
    assert "no article after 5 s in an extraction worker" in log
    assert status == "finished"


def worker_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"newscrawl.extract.worker" in cmdline and f"\nPPid:\t{parent}\n" in status:
            pids.append(int(entry.name))
    return pids


def test_workers_of_a_crawl_killed_with_sigkill_exit(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("scrapy")), "crawl", "japantoday",
               "-a", f"start_url={japantoday_mirror.url('/category/politics')}"]
    for name, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "EXTRACT_PROCESSES": "2",
                        "DOWNLOAD_DELAY": "0.3", "AUTOTHROTTLE_ENABLED": "False"}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings", "PYTHONPATH": str(ROOT)}
    crawl_process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(workers := worker_pids(crawl_process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2
    crawl_process.send_signal(signal.SIGKILL)
    # The workers share the crawl's stderr: this returns only once they too have closed it.
    crawl_process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_worker_pipes_hold_many_pages() -> None:
    # A 64 KiB pipe holds less than two 36 KB pages; the pool asks for 1 MiB (Linux's default cap).
    async def widened() -> int:
        read_end, write_end = os.pipe()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, os.fdopen(write_end, "wb"))
        try:
            _widen(transport)
            return fcntl.fcntl(write_end, F_GETPIPE_SZ)
        finally:
            transport.close()
            os.close(read_end)

    assert asyncio.run(widened()) >= 256 * 1024


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(article_page(), min_size=50, max_size=50))
def test_hostile_pages_get_the_same_outcome_from_a_worker(pages: list[Page]) -> None:
    # The fuzz's hostile pages (tests/test_fuzz.py), 200 in all, across the process boundary.
    arguments = {"start_url": f"{FUZZ_SITE}/category/politics"}
    spider = JapanTodaySpider(**arguments)
    responses = [HtmlResponse(f"{FUZZ_SITE}/category/politics/fuzz-{n}", body=page.body, headers=page.headers)
                 for n, page in enumerate(pages)]
    answers = run_worker(JapanTodaySpider, arguments, [(r.url, r.body, {}) for r in responses],
                         content_types=[r.headers.get(b"Content-Type") for r in responses])
    for response, (_, ok, value) in zip(responses, answers, strict=True):
        try:
            here: Any = spider.build_article(response)
        except ValueError as exc:
            here = exc
        if ok:
            assert asdict(value) == asdict(here)
        else:
            assert type(value) is type(here) and str(value) == str(here)
