"""Database faults: lost mid-crawl (spooled, then written), killed crawls (consistent, completed next run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, CrawlRun, open_database
from tests.conftest import MIRROR_SETTINGS, ROOT
from tests.support.mirror import Mirror
from tests.support.postgres import Cluster

pytestmark = pytest.mark.e2e

ARTICLES = 19  # what the mirror holds (tests/sites/japantoday/expected.json)
SLOW = {"DOWNLOAD_DELAY": "0.15", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "RANDOMIZE_DOWNLOAD_DELAY": "False"}


def start_crawl(mirror: Mirror, db_url: str, cwd: Path, **settings: str) -> subprocess.Popen[str]:
    command = [str(Path(sys.executable).with_name("scrapy")), "crawl", "japantoday",
               "-a", f"start_url={mirror.url('/category/politics')}"]
    for name, value in {**MIRROR_SETTINGS, **SLOW, "DATABASE_URL": db_url, **settings}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings", "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stored(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM articles")).scalar() or 0)
    except Exception:
        return 0
    finally:
        engine.dispose()


def wait_for_rows(db_url: str, at_least: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = stored(db_url)
        if count >= at_least:
            return count
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} rows after {timeout}s")


def last_run(db_url: str) -> CrawlRun:
    engine = open_database(db_url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        session.expunge(run)
    engine.dispose()
    return run


def distinct_urls(db_url: str) -> tuple[int, int]:
    engine = open_database(db_url)
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(ArticleRow))
        distinct = session.scalar(select(func.count(func.distinct(ArticleRow.url))))
    engine.dispose()
    return int(total or 0), int(distinct or 0)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own, so stopping it disturbs no other test."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="newscrawl-fault-pg-"))).init().start()
    yield cluster
    cluster.destroy()


def test_postgres_lost_mid_crawl_spools_and_writes_on_recovery(
    japantoday_mirror: Mirror, cluster: Cluster, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    crawl = start_crawl(japantoday_mirror, cluster.url, tmp_path, STORE_BATCH_SIZE="1",
                        STORE_SPOOL_DIR=str(spool))
    wait_for_rows(cluster.url, 3)
    cluster.stop()
    time.sleep(1.0)  # several articles arrive while the server is down
    cluster.start()
    _, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, err[-3000:]
    assert "spooled to" in err
    assert distinct_urls(cluster.url) == (ARTICLES, ARTICLES)
    run = last_run(cluster.url)
    assert run.stats["store/spooled"] >= 1
    assert run.stats["store/replayed"] == run.stats["store/spooled"]
    assert not list(spool.glob("*.jsonl"))


def test_postgres_down_at_the_end_is_written_by_the_next_run(
    japantoday_mirror: Mirror, cluster: Cluster, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    crawl = start_crawl(japantoday_mirror, cluster.url, tmp_path, STORE_BATCH_SIZE="1",
                        STORE_SPOOL_DIR=str(spool))
    first = wait_for_rows(cluster.url, 3)
    cluster.stop()
    _, err = crawl.communicate(timeout=120)
    # Nothing is lost, but the run could not write everything: it exits 1 and says why.
    assert crawl.returncode == 1, err[-3000:]
    assert "wait in" in err and list(spool.glob("*.jsonl"))
    cluster.start()
    assert first <= stored(cluster.url) < ARTICLES
    crawl = start_crawl(japantoday_mirror, cluster.url, tmp_path, STORE_SPOOL_DIR=str(spool))
    _, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, err[-3000:]
    assert distinct_urls(cluster.url) == (ARTICLES, ARTICLES)
    assert last_run(cluster.url).stats["store/replayed"] >= 1
    assert not list(spool.glob("*.jsonl"))


def test_sigkill_mid_crawl_leaves_a_consistent_database_and_the_next_run_completes(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    crawl = start_crawl(japantoday_mirror, db_url, tmp_path, STORE_BATCH_SIZE="2")
    wait_for_rows(db_url, 2)
    crawl.send_signal(signal.SIGKILL)
    crawl.communicate(timeout=30)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        partial = conn.execute(text("SELECT count(*) FROM articles")).scalar()
        statuses = conn.execute(text("SELECT status FROM crawl_runs")).scalars().all()
    engine.dispose()
    assert 2 <= partial < ARTICLES
    assert statuses == ["running"]  # the killed run could not record its end

    crawl = start_crawl(japantoday_mirror, db_url, tmp_path, DOWNLOAD_DELAY="0")
    _, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, err[-3000:]
    assert distinct_urls(db_url) == (ARTICLES, ARTICLES)
    run = last_run(db_url)
    assert run.status == "finished" and run.inserted == ARTICLES - partial


def test_newscrawl_crawl_marks_a_killed_run_as_aborted(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    crawl = start_crawl(japantoday_mirror, db_url, tmp_path, STORE_BATCH_SIZE="2")
    wait_for_rows(db_url, 2)
    crawl.send_signal(signal.SIGKILL)
    crawl.communicate(timeout=30)
    command = [str(Path(sys.executable).with_name("newscrawl")), "crawl", "japantoday",
               "--database", db_url, "-a", f"start_url={japantoday_mirror.url('/category/politics')}"]
    for name, value in MIRROR_SETTINGS.items():
        command += ["-s", f"{name}={value}"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        statuses = conn.execute(text("SELECT status FROM crawl_runs ORDER BY id")).scalars().all()
    engine.dispose()
    assert statuses == ["aborted", "finished"]
    assert distinct_urls(db_url) == (ARTICLES, ARTICLES)
