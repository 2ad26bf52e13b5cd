"""A full disk under the database and the spool: the crawl stops, fails loudly and counts every article."""

from __future__ import annotations

import datetime
import errno
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.misc import build_from_crawler
from sqlalchemy import create_engine, event, text

from bench.genmirror import SECTION, generate, serve
from newscrawl import exceptions, spool
from newscrawl.pipelines import StorePipeline
from newscrawl.spool import Spool
from tests.conftest import MIRROR_SETTINGS, ROOT, run_crawl
from tests.support.postgres import Cluster
from tests.test_faults_db import stored, wait_for_rows
from tests.test_pipelines import RAW_BODY, cleaned, crawler_for, raw_article, validate

ARTICLES = 300  # in the generated mirror: 15 listing pages of 20
#: Fetching no faster than pages are parsed (~50 pages/s), so that stopping the crawl shows.
PACED = {"CONCURRENT_REQUESTS_PER_DOMAIN": "1", "DOWNLOAD_DELAY": "0.02"}


# In-process: ENOSPC from /dev/full, SQLITE_FULL from max_page_count ----------------------------

@pytest.fixture
def spool_on_full_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every spool file is created where asked, but its bytes go to /dev/full (a real ENOSPC)."""
    real_open = open

    def open_full(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode:
            real_open(path, mode, *args, **kwargs).close()  # the file exists, as on a full disk
            return real_open("/dev/full", mode, *args, **kwargs)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(spool, "open", open_full, raising=False)


def article(number: int) -> Any:
    return validate(cleaned(raw_article(
        url=f"https://japantoday.com/category/politics/story-{number}",
        body=RAW_BODY.replace("Sunday", f"day {number}"),
    )))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "No space left on device (ENOSPC)"),
        (OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), "Disk quota exceeded (EDQUOT)"),
        (OSError(errno.EROFS, os.strerror(errno.EROFS)), "Read-only file system (EROFS)"),
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied (EACCES)"),
        (OSError("no errno at all"), "no errno at all"),
    ],
    ids=["enospc", "edquot", "erofs", "eacces", "no-errno"],
)
def test_os_errors_are_described_in_words_and_by_name(error: OSError, expected: str) -> None:
    assert spool.describe(error) == expected


def test_a_spool_that_cannot_be_written_raises_and_leaves_no_partial_file(
    tmp_path: Path, spool_on_full_device: None
) -> None:
    directory = tmp_path / "spool"
    with pytest.raises(exceptions.SpoolWriteError) as raised:
        Spool(directory, "japantoday").add([{"url": "https://example.com/a", "title": "A"}])
    assert str(raised.value) == f"cannot write the spool {directory}: No space left on device (ENOSPC)"
    assert isinstance(raised.value.__cause__, OSError) and raised.value.__cause__.errno == errno.ENOSPC
    assert list(directory.iterdir()) == []


def test_a_spool_folder_that_cannot_be_made_raises_the_same_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(exceptions.SpoolWriteError, match=r"cannot write the spool .*\(ENOTDIR\)"):
        Spool(blocker / "spool", "japantoday").add([{"url": "https://example.com/a"}])


def fill_sqlite(engine: Any) -> None:
    """From now on the SQLite file cannot grow: every write that needs a page gets SQLITE_FULL."""

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {int(pages)}")
        cursor.close()

    event.listen(engine, "connect", cap)
    engine.dispose()  # pooled connections were opened without the cap


@pytest.mark.parametrize("writer_thread", [True, False], ids=["writer-thread", "crawl-thread"])
def test_sqlite_full_and_spool_full_counts_every_article_and_refuses_more(
    sqlite_url: str, tmp_path: Path, spool_on_full_device: None, writer_thread: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    crawler = crawler_for({"DATABASE_URL": sqlite_url, "STORE_BATCH_SIZE": 5,
                           "STORE_WRITER_THREAD": writer_thread, "STORE_SPOOL_DIR": str(tmp_path / "spool")})
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    assert crawler.stats.get_value("store/lost") == 0
    for number in range(5):
        store.process_item(article(number))
    store.wait()
    assert crawler.stats.get_value("store/inserted") == 5
    fill_sqlite(store.engine)
    accepted, refused = 5, 0
    for number in range(5, 40):
        try:
            store.process_item(article(number))
            accepted += 1
        except exceptions.StoreFailed:
            refused += 1
    caplog.clear()
    with caplog.at_level(logging.INFO):
        store.close_spider()
    store.database.close()
    stats = crawler.stats.get_stats()
    assert accepted + refused == 40 and refused > 0
    assert stats["store/lost"] > 0 and "store/spooled" not in stats
    assert stats["store/inserted"] + stats["store/lost"] == 40
    assert stats["store/failure"] == (f"cannot write the spool {tmp_path / 'spool'}: No space left on "
                                      f"device (ENOSPC); {stats['store/lost']} articles not stored")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [stats["store/failure"]]
    assert not any(r.exc_info for r in caplog.records)
    assert not list((tmp_path / "spool").glob("*.partial"))


def test_sqlite_full_with_a_working_spool_spools_and_the_crawl_goes_on(sqlite_url: str, tmp_path: Path) -> None:
    crawler = crawler_for({"DATABASE_URL": sqlite_url, "STORE_BATCH_SIZE": 5,
                           "STORE_SPOOL_DIR": str(tmp_path / "spool")})
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    fill_sqlite(store.engine)
    for number in range(12):
        store.process_item(article(number))
    store.close_spider()
    store.database.close()
    stats = crawler.stats.get_stats()
    assert stats["store/spooled"] > 0 and stats.get("store/inserted", 0) + stats["store/spooled"] == 12
    assert stats["store/lost"] == 0 and "store/failure" not in stats
    assert spooled_rows(tmp_path / "spool") == stats["store/spooled"] == stats["store/pending_in_spool"]


def test_a_refused_row_that_cannot_be_kept_either_is_counted_lost(
    sqlite_url: str, tmp_path: Path, spool_on_full_device: None
) -> None:
    crawler = crawler_for({"DATABASE_URL": sqlite_url, "STORE_BATCH_SIZE": 2, "STORE_WRITER_THREAD": False,
                           "STORE_SPOOL_DIR": str(tmp_path / "spool")})
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    store.process_item(article(1))
    store.process_item(replace(article(2), title=None))  # the database refuses it: NOT NULL
    with pytest.raises(exceptions.StoreFailed, match="^not stored: cannot write the spool .*/rejected: "):
        store.process_item(article(3))
    store.close_spider()
    store.database.close()
    stats = crawler.stats.get_stats()
    assert (stats["store/inserted"], stats["store/failed"], stats["store/lost"]) == (1, 1, 2)
    assert not list((tmp_path / "spool").rglob("*.partial"))


# A real full filesystem ------------------------------------------------------------------------

@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` mounted on a temp folder (needs root; skips when mount is refused)."""
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command on this machine")
    where = Path(tempfile.mkdtemp(prefix="newscrawl-full-"))
    result = subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(where)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        where.rmdir()
        if os.geteuid() != 0 or re.search(r"permission denied|only root|not permitted", result.stderr, re.I):
            pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
        pytest.fail(f"mount -t tmpfs failed: {result.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(where)], check=True)  # busy: detach it anyway
        where.rmdir()


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """1 MiB: the database's schema and about two batches of articles."""
    with tmpfs("1m") as where:
        yield where


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    """256 KiB: about one spooled batch of 50 articles."""
    with tmpfs("256k") as where:
        yield where


@pytest.fixture(scope="module")
def big_mirror() -> Iterator[str]:
    """A generated Japan Today mirror of ARTICLES articles (~36 KB pages), served by a child process."""
    with serve(generate(ARTICLES), "threaded") as base:
        yield base + SECTION


def own_archive(tmp_path: Path) -> dict[str, str]:
    """The WARC archive on a disk of its own: beside the database (its default) it would fill the
    small disk before the first batch, and these tests are about the database's and spool's disk."""
    return {"ARCHIVE_DIR": str(tmp_path / "newscrawl-archive")}


def crawl_args(start_url: str) -> list[str]:
    return ["-a", f"start_url={start_url}", "-a", f"max_pages={ARTICLES // 20}"]


def newscrawl_crawl(cwd: Path, database: str, *args: str, settings: dict[str, str] | None = None,
                    ) -> subprocess.Popen[str]:
    command = [str(Path(sys.executable).with_name("newscrawl")), "crawl", "japantoday",
               "--database", database, "--lock-file", str(cwd / "crawl.lock"), *args]
    for name, value in {**MIRROR_SETTINGS, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(crawl: subprocess.Popen[str], timeout: float = 240) -> tuple[str, str]:
    """The crawl's stdout and stderr once it exits; killed (and the test failed) if it hangs."""
    try:
        return crawl.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        crawl.kill()
        _, err = crawl.communicate()
        pytest.fail(f"the crawl did not end within {timeout}s: {err[-3000:]}")


def dumped_stats(stderr: str) -> dict[str, Any]:
    """The stats dict Scrapy logs at the end of a crawl (``Dumping Scrapy stats:``)."""
    dump = stderr.split("Dumping Scrapy stats:\n", 1)[1]
    dump = dump[: dump.index("}\n") + 1]
    # Our own crawl's log: a dict literal whose only non-literals are datetimes.
    return eval(dump, {"__builtins__": {}, "datetime": datetime})  # noqa: S307


def spooled_rows(folder: Path) -> int:
    return sum(sum(1 for _ in Spool.read(path)) for path in folder.glob("*.jsonl"))


def last_status(db_url: str) -> str:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT status FROM crawl_runs ORDER BY id DESC")).scalar())
    finally:
        engine.dispose()


def assert_nothing_unreported(stats: dict[str, Any], in_db: int, spool_dir: Path, stderr: str) -> None:
    """Every article the store was offered is in the database, in the spool, or counted lost."""
    offered = stats["item_scraped_count"] + stats.get("item_dropped_reasons_count/StoreFailed", 0)
    spooled = spooled_rows(spool_dir)
    assert stats["finish_reason"] == "store_failed", stderr[-3000:]
    assert stats["store/lost"] > 0 and in_db > 0
    assert in_db + spooled + stats["store/lost"] == offered
    assert offered < ARTICLES  # the crawl stopped early instead of fetching articles to throw away
    assert not list(spool_dir.glob("*.partial"))
    cause = [line for line in stderr.splitlines()
             if "cannot write the spool" in line and "ERROR" in line and "health:" not in line]
    assert len(cause) == 1, cause
    assert re.search(rf"\[newscrawl\.pipelines\.store\] ERROR: cannot write the spool {re.escape(str(spool_dir))}"
                     rf": No space left on device \(ENOSPC\); {stats['store/lost']:,} articles not stored$",
                     cause[0]), cause[0]
    assert stats["store/failure"] in cause[0]
    assert "Traceback" not in stderr


@pytest.mark.e2e
def test_newscrawl_crawl_on_a_full_disk_fails_loudly_and_counts_every_article(
    small_disk: Path, big_mirror: str, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{small_disk / 'newscrawl.db'}"
    log = tmp_path / "crawl.log"  # Scrapy's full log (the console keeps one line per error)
    crawl = newscrawl_crawl(tmp_path, db_url, *crawl_args(big_mirror),
                            settings={**PACED, **own_archive(tmp_path), "LOG_FILE": str(log)})
    out, err = finish(crawl)
    assert crawl.returncode == 1, err[-3000:]
    assert out.startswith("japantoday: failed UNHEALTHY;"), out
    stats = dumped_stats(log.read_text("utf-8"))
    assert_nothing_unreported(stats, stored(db_url), small_disk / "newscrawl-spool", log.read_text("utf-8"))
    status = last_status(db_url)
    # The end of the run is recorded when the disk leaves room for it; else it says why, once.
    assert status == "failed" or (status == "running" and "could not record the end of crawl run" in err)


@pytest.mark.e2e
def test_scrapy_crawl_on_a_full_disk_stops_with_store_failed(
    small_disk: Path, big_mirror: str, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{small_disk / 'newscrawl.db'}"
    log = tmp_path / "crawl.log"
    result = run_crawl("japantoday", tmp_path, *crawl_args(big_mirror),
                       settings={**PACED, **own_archive(tmp_path), "DATABASE_URL": db_url, "LOG_FILE": str(log)},
                       timeout=240)
    stats = dumped_stats(log.read_text("utf-8"))
    assert_nothing_unreported(stats, stored(db_url), small_disk / "newscrawl-spool", log.read_text("utf-8"))
    assert result.returncode == 1, result.stderr[-3000:]
    assert "failed UNHEALTHY" in result.stderr and "cannot write the spool" in result.stderr


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own, so stopping it disturbs no other test."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="newscrawl-full-pg-"))).init().start()
    yield cluster
    cluster.destroy()


@pytest.mark.e2e
@pytest.mark.postgres
def test_postgres_down_and_spool_disk_full_fails_loudly_and_counts_every_article(
    tiny_disk: Path, big_mirror: str, cluster: Cluster, tmp_path: Path
) -> None:
    spool_dir = tiny_disk / "spool"
    log = tmp_path / "crawl.log"
    crawl = newscrawl_crawl(tmp_path, cluster.url, *crawl_args(big_mirror),
                            settings={**PACED, "STORE_SPOOL_DIR": str(spool_dir), "LOG_FILE": str(log)})
    try:
        first = wait_for_rows(cluster.url, 1)
    except AssertionError:
        crawl.kill()
        crawl.communicate()
        raise
    cluster.stop()
    out, err = finish(crawl)
    cluster.start()
    assert crawl.returncode == 1, err[-3000:]
    assert out.startswith("japantoday: failed UNHEALTHY;"), out
    stats = dumped_stats(log.read_text("utf-8"))
    assert_nothing_unreported(stats, stored(cluster.url), spool_dir, log.read_text("utf-8"))
    assert stats["store/inserted"] == stored(cluster.url) >= first
    assert stats.get("store/spooled", 0) == stats.get("store/pending_in_spool", 0) == spooled_rows(spool_dir)
    assert "could not record the end of crawl run" in err  # the server is down: said once, not silent

