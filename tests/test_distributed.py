"""End to end on several workers: `newscrawl worker` processes and `newscrawl enqueue` against the site
mirrors, a real redis-server and the throwaway PostgreSQL; politeness from the mirrors' access log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, CrawlRun, open_database
from tests.conftest import MIRROR_SETTINGS, SITES
from tests.support.commands import environment
from tests.support.mirror import Mirror, Reply
from tests.support.redis import RedisServer
from tests.test_lock import GatedMirror

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

NEWSCRAWL = str(Path(sys.executable).with_name("newscrawl"))
#: Requests at once to one host from all workers (every mirror is on 127.0.0.1: one host).
HOST_LIMIT = 2
WORKER_SETTINGS = {**MIRROR_SETTINGS, "CONCURRENT_REQUESTS_PER_DOMAIN": str(HOST_LIMIT),
                   "DISTRIBUTED_WORKER_TTL": "3", "DISTRIBUTED_HEARTBEAT_SECONDS": "0.5",
                   "DISTRIBUTED_POLL_SECONDS": "0.2"}


def site_crawls() -> dict[str, dict[str, Any]]:
    """Each site spider's first reviewed crawl (start path, stored paths); Japan Today's listing."""
    crawls = {}
    for site in sorted(p.name for p in SITES.iterdir() if (p / "expected.json").is_file()):
        if site == "news":
            continue  # not scheduled; its crawls are variations of the sites' feeds
        expected = json.loads((SITES / site / "expected.json").read_text("utf-8"))
        if expected.get("crawls"):
            crawls[site] = expected["crawls"][0]
        else:
            crawls[site] = {"start_path": "/category/politics",
                            "stores": sorted(r["path"] for r in expected["stored"])}
    return crawls


def settings_args(settings: dict[str, str]) -> list[str]:
    return [part for name, value in settings.items() for part in ("-s", f"{name}={value}")]


def spider_args(mirrors: dict[str, Mirror], crawls: dict[str, dict[str, Any]]) -> list[str]:
    args = []
    for site, mirror in mirrors.items():
        args += ["-a", f"{site}:start_url={mirror.url(crawls[site]['start_path'])}"]
    return args


class Cluster:
    """Workers started on the test's PostgreSQL and Redis; stopped with SIGTERM at the end."""

    def __init__(self, database: str, redis_url: str, cwd: Path) -> None:
        self.database, self.redis_url, self.cwd = database, redis_url, cwd
        self.workers: list[subprocess.Popen[str]] = []
        self.files: list[Any] = []
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)

    def start_worker(self, settings: dict[str, str] = WORKER_SETTINGS) -> subprocess.Popen[str]:
        log = open(self.cwd / f"worker{len(self.workers)}.log", "w")  # noqa: SIM115 (closed in stop())
        self.files.append(log)
        worker = subprocess.Popen([NEWSCRAWL, "worker", "--database", self.database, "--redis", self.redis_url,
                                   *settings_args(settings)], cwd=self.cwd, env=environment(),
                                  stdout=subprocess.DEVNULL, stderr=log, text=True)
        self.workers.append(worker)
        return worker

    def enqueue(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([NEWSCRAWL, "enqueue", "--database", self.database, "--redis", self.redis_url,
                                 *args], cwd=self.cwd, env=environment(), capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        return result

    def wait_until_done(self, timeout: float = 120) -> None:
        """Until no job is queued or running (the jobs' last workers finalized them)."""
        deadline = time.monotonic() + timeout
        while self.client.scard("newscrawl:jobs"):
            assert time.monotonic() < deadline, f"jobs left: {self.client.smembers('newscrawl:jobs')}; {self.logs()}"
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join((self.cwd / f"worker{i}.log").read_text()[-1500:] for i in range(len(self.workers)))

    def stop(self) -> list[int | None]:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        codes = []
        for worker in self.workers:
            try:
                codes.append(worker.wait(60))
            except subprocess.TimeoutExpired:
                worker.kill()
                codes.append(None)
        self.client.close()
        for log in self.files:
            log.close()
        self.files.clear()
        return codes


@pytest.fixture
def cluster(postgresql_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(postgresql_url, redis_url, tmp_path)
    yield running
    running.stop()


def stored(database: str, prefixes: dict[str, str]) -> dict[tuple[str, str], str]:
    """``(source, path) -> content_hash`` of every stored article, its mirror's address removed."""
    engine = open_database(database)
    with Session(engine) as session:
        rows = {(r.source, r.url.removeprefix(prefixes[r.source])): r.content_hash
                for r in session.scalars(select(ArticleRow))}
    engine.dispose()
    return rows


def run_totals(database: str) -> dict[str, Any]:
    engine = open_database(database)
    with Session(engine) as session:
        runs = list(session.scalars(select(CrawlRun)))
    engine.dispose()
    return {"inserted": sum(r.inserted or 0 for r in runs), "updated": sum(r.updated or 0 for r in runs),
            "pids_with_requests": {r.pid for r in runs if r.requests}}


def test_three_workers_store_exactly_what_a_local_crawl_stores_politely_and_a_second_enqueue_fetches_no_article(
    cluster: Cluster, tmp_path: Path
) -> None:
    crawls = site_crawls()
    with ExitStack() as stack:
        mirrors = {site: stack.enter_context(Mirror(SITES / site / "mirror")) for site in crawls}
        prefixes = {site: mirror.base_url for site, mirror in mirrors.items()}
        local_db = f"sqlite:///{tmp_path / 'local.db'}"
        local = subprocess.run([NEWSCRAWL, "crawl", *crawls, "--database", local_db, *spider_args(mirrors, crawls),
                                *settings_args(MIRROR_SETTINGS)], cwd=tmp_path, env=environment(),
                               capture_output=True, text=True, timeout=300)
        assert local.returncode == 0, local.stderr[-3000:]
        for mirror in mirrors.values():
            mirror.spans.clear()
            mirror.requests.clear()

        for _ in range(3):
            cluster.start_worker()
        enqueued = cluster.enqueue(*crawls, *spider_args(mirrors, crawls))
        assert enqueued.stdout.count("enqueued job") == len(crawls), enqueued.stdout
        cluster.wait_until_done()
        first_round = {site: list(m.requests) for site, m in mirrors.items()}
        peak = next(iter(mirrors.values())).peak_concurrency(tuple(mirrors.values())[1:])

        cluster.enqueue(*crawls, *spider_args(mirrors, crawls))
        cluster.wait_until_done()
        second_round = {site: m.requested_paths()[len(first_round[site]):] for site, m in mirrors.items()}

    expected = stored(local_db, prefixes)
    assert sorted(path for _, path in expected) == sorted(p for c in crawls.values() for p in c["stores"])
    assert stored(cluster.database, prefixes) == expected  # same URLs, same content hashes
    totals = run_totals(cluster.database)
    assert totals["inserted"] == len(expected) and totals["updated"] == 0, totals  # each stored once
    assert len(totals["pids_with_requests"]) >= 2, totals  # the work was shared
    assert 1 <= peak <= HOST_LIMIT, peak
    articles = {p for c in crawls.values() for p in c["stores"]}
    refetched = {site: [p for p in paths if p in articles] for site, paths in second_round.items()}
    assert not any(refetched.values()), refetched
    assert all(second_round.values()), second_round  # the listings were read again, not filtered as seen
    assert cluster.stop() == [0, 0, 0], cluster.logs()


class SlowMirror(Mirror):
    """A mirror whose article pages take ``delay`` seconds: a crawl that lasts long enough to be killed."""

    def __init__(self, root: Path, delay: float) -> None:
        super().__init__(root)
        self.delay = delay

    def reply(self, raw_path: str) -> Reply:
        reply = super().reply(raw_path)
        if raw_path.startswith("/category/politics/"):
            reply.sleep = self.delay
        return reply


def japantoday_paths() -> list[str]:
    expected = json.loads((SITES / "japantoday" / "expected.json").read_text("utf-8"))
    return sorted(r["path"] for r in expected["stored"])


def test_a_worker_killed_mid_crawl_loses_no_article_after_the_next_enqueue(cluster: Cluster) -> None:
    with SlowMirror(SITES / "japantoday" / "mirror", delay=0.4) as mirror:
        start = ["japantoday", "-a", f"start_url={mirror.url('/category/politics')}"]
        victim = cluster.start_worker()
        cluster.enqueue(*start)
        busy_key = next(iter(cluster.client.smembers("newscrawl:jobs")))
        deadline = time.monotonic() + 60
        # Once the victim holds article requests (it alone is working), a second worker joins.
        while len(mirror.requested_paths()) < 6:
            assert time.monotonic() < deadline, cluster.logs()
            time.sleep(0.05)
        cluster.start_worker()
        time.sleep(1.0)
        victim.kill()
        victim.wait()
        cluster.wait_until_done()
        done = json.loads(cluster.client.lindex("newscrawl:done", 0))
        assert done["job"] == busy_key and done["lost"], done  # the job knows a worker was lost
        prefixes = {"japantoday": mirror.base_url}
        before = stored(cluster.database, prefixes)
        missing = set(japantoday_paths()) - {path for _, path in before}
        assert missing, "the killed worker held no article: the test did not test a loss"

        again = cluster.enqueue(*start)
        assert "resuming an unfinished walk" in again.stdout, again.stdout
        cluster.wait_until_done()
        after = stored(cluster.database, prefixes)
    assert sorted(path for _, path in after) == japantoday_paths()
    totals = run_totals(cluster.database)
    assert totals["inserted"] == len(after), totals  # every article stored exactly once


def test_a_lost_redis_stops_the_worker_cleanly_with_one_clear_line(postgresql_url: str, tmp_path: Path) -> None:
    server = RedisServer().start()
    running = Cluster(postgresql_url, server.url, tmp_path)
    try:
        with SlowMirror(SITES / "japantoday" / "mirror", delay=0.3) as mirror:
            worker = running.start_worker()
            running.enqueue("japantoday", "-a", f"start_url={mirror.url('/category/politics')}")
            deadline = time.monotonic() + 60
            while len(mirror.requested_paths()) < 5:
                assert time.monotonic() < deadline, running.logs()
                time.sleep(0.05)
            server.stop()
            code = worker.wait(60)
    finally:
        server.stop()
        running.stop()
    log = (tmp_path / "worker0.log").read_text()
    assert code == 3, log[-3000:]
    assert log.count("lost the connection to Redis at redis://127.0.0.1:") == 1, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    engine = open_database(postgresql_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(ArticleRow)))
        runs = list(session.scalars(select(CrawlRun)))
    engine.dispose()
    assert all(r.title and r.body and r.content_hash for r in rows)  # whole rows only
    assert runs and all(r.status != "running" for r in runs), [(r.status, r.finish_reason) for r in runs]


def test_two_crawls_of_one_spider_on_one_postgresql_database_with_different_lock_files_one_exits_4(
    postgresql_url: str, tmp_path: Path
) -> None:
    mirror = GatedMirror(SITES / "japantoday" / "mirror")
    with mirror:
        command = [NEWSCRAWL, "crawl", "japantoday", "--database", postgresql_url,
                   "-a", f"start_url={mirror.url('/category/politics')}", *settings_args(MIRROR_SETTINGS)]
        first = subprocess.Popen([*command, "--lock-file", str(tmp_path / "a.lock")], cwd=tmp_path,
                                 env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert mirror.listing_asked.wait(60), "the first crawl never started"
            second = subprocess.run([*command, "--lock-file", str(tmp_path / "b.lock")], cwd=tmp_path,
                                    env=environment(), capture_output=True, text=True, timeout=60)
        finally:
            mirror.gate.set()
            _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-3000:]
    assert second.returncode == 4, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another crawl is running (advisory lock of japantoday in" in lines[0], lines
    assert f"pid {first.pid}" in lines[0]


def test_two_processes_migrating_an_empty_database_at_once_both_succeed(postgresql_url: str, tmp_path: Path) -> None:
    command = [NEWSCRAWL, "db", "upgrade", "--database", postgresql_url]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=environment(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(120), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert all("is at revision" in out for _, out, _ in results), results
