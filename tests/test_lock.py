"""One crawl per database: the lock (whatever the URL's spelling, never through a planted symlink,
its holder printed safely) and the runs a killed crawl left 'running' (aborted only when gone)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from newscrawl.cli import CommandError
from newscrawl.cli.crawl import mark_aborted_runs
from newscrawl.cli.lock import crawl_lock
from newscrawl.db import CrawlRun, open_database
from tests.conftest import SITES, run_crawl
from tests.support.commands import LISTING, environment, newscrawl_crawl
from tests.support.mirror import Mirror, Reply


class GatedMirror(Mirror):
    """The Japan Today mirror whose first listing page waits for ``gate``: a crawl held mid-way."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.listing_asked = threading.Event()

    def reply(self, raw_path: str) -> Reply:
        if raw_path == LISTING:
            self.listing_asked.set()
            self.gate.wait(45)
        return super().reply(raw_path)


@pytest.fixture
def gated_mirror() -> Iterator[GatedMirror]:
    mirror = GatedMirror(SITES / "japantoday" / "mirror")
    with mirror:
        yield mirror
        mirror.gate.set()


def runs(database: str) -> list[tuple[str, str]]:
    engine = open_database(database)
    with Session(engine) as session:
        found = [(r.spider, r.status) for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))]
    engine.dispose()
    return found


@pytest.fixture
def role_url(postgresql_url: str) -> Iterator[str]:
    """The test database, owned by and reached as a plain role (no superuser, no pg_monitor)."""
    role = f"crawler_{uuid.uuid4().hex[:8]}"
    url = make_url(postgresql_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    # Identifiers cannot be bound parameters; both names are generated here, never input.
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO "{role}"'))
    yield url.set(username=role).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER'))
        conn.execute(text(f'DROP OWNED BY "{role}"'))
    admin.dispose()
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP ROLE "{role}"'))
    server.dispose()


def two_spellings(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if kind == "sqlite-symlink":
        (tmp_path / "real").mkdir()
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "news.db").symlink_to(tmp_path / "real" / "news.db")
        return f"sqlite:///{tmp_path / 'real' / 'news.db'}", f"sqlite:///{tmp_path / 'elsewhere' / 'news.db'}"
    url = make_url(request.getfixturevalue("role_url"))
    if url.host != "127.0.0.1":
        pytest.skip("needs the suite's own cluster on 127.0.0.1 (to reach it as localhost too)")
    return url.render_as_string(hide_password=False), url.set(host="localhost").render_as_string(hide_password=False)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["sqlite-symlink", pytest.param("postgresql-spellings", marks=pytest.mark.postgres)])
def test_a_second_crawl_of_the_same_database_by_another_spelling_exits_4_and_leaves_the_first_alone(
    gated_mirror: GatedMirror, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    first_url, second_url = two_spellings(kind, request, tmp_path)
    first = subprocess.Popen(newscrawl_crawl(gated_mirror, first_url), cwd=tmp_path, env=environment(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert gated_mirror.listing_asked.wait(60), "the first crawl never started"
        second = subprocess.run(newscrawl_crawl(gated_mirror, second_url), cwd=tmp_path, env=environment(),
                                capture_output=True, text=True, timeout=40)
        assert second.returncode == 4, second.stderr[-2000:]
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another crawl is running" in lines[0], second.stderr
        assert f"pid {first.pid} on {socket.gethostname()}" in lines[0]
        assert runs(first_url) == [("japantoday", "running")]  # the live run was not marked aborted
    finally:
        gated_mirror.gate.set()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-3000:]
    assert runs(first_url) == [("japantoday", "finished")]



@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_crawl_killed_holding_the_lock_frees_it_and_the_next_one_marks_it_aborted(
    gated_mirror: GatedMirror, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    database = f"sqlite:///{tmp_path / 'news.db'}" if kind == "sqlite" else request.getfixturevalue("role_url")
    first = subprocess.Popen(newscrawl_crawl(gated_mirror, database), cwd=tmp_path, env=environment(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert gated_mirror.listing_asked.wait(60), "the first crawl never started"
    finally:
        first.kill()
        first.wait()
    gated_mirror.gate.set()
    second = subprocess.run(newscrawl_crawl(gated_mirror, database), cwd=tmp_path, env=environment(),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    assert runs(database) == [("japantoday", "aborted"), ("japantoday", "finished")]

def test_a_symlink_planted_at_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = tmp_path / "newscrawl.db.lock"
    lock.symlink_to(victim)
    with pytest.raises(CommandError) as raised:
        with crawl_lock(lock):
            pass
    assert raised.value.code == 4 and "symbolic link" in str(raised.value)
    assert victim.read_text() == "precious\n" and lock.is_symlink()


@pytest.mark.e2e
@pytest.mark.postgres
def test_a_postgresql_crawl_writes_no_file_in_the_shared_temp_folder(
    japantoday_mirror: Mirror, postgresql_url: str, tmp_path: Path
) -> None:
    # The old lock's name was predictable from the URL: anyone could plant a symlink there.
    planted = Path(tempfile.gettempdir()) / f"newscrawl-{hashlib.sha256(postgresql_url.encode()).hexdigest()[:16]}.lock"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    planted.symlink_to(victim)
    try:
        result = subprocess.run(newscrawl_crawl(japantoday_mirror, postgresql_url), cwd=tmp_path,
                                env=environment(), capture_output=True, text=True, timeout=120)
    finally:
        planted.unlink()
    assert result.returncode == 0, result.stderr[-2000:]
    assert victim.read_text() == "precious\n"


def test_the_holder_written_in_a_lock_file_is_printed_without_control_characters(tmp_path: Path) -> None:
    import fcntl

    lock = tmp_path / "newscrawl.db.lock"
    lock.write_bytes(b"\x1b[2J\x1b]0;owned\x07pid 1\r\n")
    holder = os.open(lock, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file: conflicts as another process would
    try:
        with pytest.raises(CommandError) as raised:
            with crawl_lock(lock):
                pass
    finally:
        os.close(holder)
    message = str(raised.value)
    assert raised.value.code == 4 and "another crawl is running" in message
    assert not any(ord(c) < 32 or ord(c) == 127 for c in message), repr(message)
    assert "\\x1b[2J" in message
    assert lock.read_bytes().startswith(b"\x1b[2J")  # the holder's file is not rewritten


def started_process() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_only_runs_whose_process_is_gone_are_marked_aborted(db_url: str) -> None:
    from newscrawl.holder import process_start

    live, dead = started_process(), started_process()
    dead.kill()
    dead.wait()  # reaped: its PID is free
    host = socket.gethostname()
    now = datetime.now(timezone.utc)
    rows = {
        "live": (host, live.pid, process_start(live.pid), "japantoday"),
        "dead": (host, dead.pid, "whatever", "japantoday"),
        "reused": (host, live.pid, "an-earlier-boot:12", "foxnews"),  # same PID, another process
        "other-host": ("another-host.example", dead.pid, None, "japantoday"),
        "legacy-crawled": (None, None, None, "japantoday"),  # from before runs kept their PID
        "legacy-other": (None, None, None, "apnews"),
    }
    engine = open_database(db_url)
    ids = {}
    try:
        with Session(engine) as session, session.begin():
            for name, (row_host, pid, start, spider) in rows.items():
                run = CrawlRun(spider=spider, started_at=now, status="running", dropped_by_reason={}, stats={},
                               host=row_host, pid=pid, process_start=start)
                session.add(run)
                session.flush()
                ids[name] = run.id
        assert mark_aborted_runs(engine, ["japantoday"]) == 3
        with Session(engine) as session:
            status = {name: session.get(CrawlRun, run_id).status for name, run_id in ids.items()}  # type: ignore[union-attr]
    finally:
        live.kill()
        live.wait()
        engine.dispose()
    assert status == {
        "live": "running", "dead": "aborted", "reused": "aborted", "other-host": "running",
        "legacy-crawled": "aborted", "legacy-other": "running",
    }


@pytest.mark.e2e
def test_the_crawls_of_a_killed_newscrawl_crawl_die_with_it(gated_mirror: GatedMirror, tmp_path: Path) -> None:
    from newscrawl.holder import is_gone

    database = f"sqlite:///{tmp_path / 'news.db'}"
    parent = subprocess.Popen(newscrawl_crawl(gated_mirror, database), cwd=tmp_path, env=environment(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert gated_mirror.listing_asked.wait(60), "the crawl never started"
    finally:
        parent.kill()
        parent.wait()
    [run] = runs_with_process(database)
    deadline = time.monotonic() + 10
    while not is_gone(run.host, run.pid, run.process_start) and time.monotonic() < deadline:
        time.sleep(0.1)
    gated_mirror.gate.set()
    # No crawl goes on without the lock its parent held: the child died with it.
    assert is_gone(run.host, run.pid, run.process_start)


def runs_with_process(database: str) -> list[CrawlRun]:
    engine = open_database(database)
    with Session(engine) as session:
        found = list(session.scalars(select(CrawlRun)))
        session.expunge_all()
    engine.dispose()
    return found


@pytest.mark.e2e
def test_a_bare_scrapy_crawl_marks_a_killed_run_aborted_and_leaves_a_live_one(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    from newscrawl.holder import process_start

    database = f"sqlite:///{tmp_path / 'news.db'}"
    live, dead = started_process(), started_process()
    dead.kill()
    dead.wait()
    host = socket.gethostname()
    engine = open_database(database)
    try:
        with Session(engine) as session, session.begin():
            for spider, pid, start in (("foxnews", live.pid, process_start(live.pid)), ("apnews", dead.pid, "x")):
                session.add(CrawlRun(spider=spider, started_at=datetime.now(timezone.utc), status="running",
                                     dropped_by_reason={}, stats={}, host=host, pid=pid, process_start=start))
        result = run_crawl("japantoday", tmp_path, "-a", f"start_url={japantoday_mirror.url(LISTING)}",
                           settings={"DATABASE_URL": database})
        assert result.returncode == 0, result.stderr[-2000:]
        with Session(engine) as session:
            status = {run.spider: run.status for run in session.scalars(select(CrawlRun))}
    finally:
        live.kill()
        live.wait()
        engine.dispose()
    assert status == {"foxnews": "running", "apnews": "aborted", "japantoday": "finished"}


@pytest.mark.e2e
def test_a_crawl_run_records_its_host_and_process(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'news.db'}"
    process = subprocess.Popen(newscrawl_crawl(japantoday_mirror, database), cwd=tmp_path, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    engine = open_database(database)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
        # The crawl's own process: newscrawl crawl runs each spider as a child `scrapy crawl`.
        assert run.host == socket.gethostname() and run.pid not in (None, process.pid)
        assert run.process_start and run.process_start.count(":") == 1
    engine.dispose()


@pytest.mark.parametrize(
    ("status", "gone", "finish_reason", "health", "shown"),
    [
        ("finished", False, "finished", [], ("finished", "ok")),
        ("unhealthy", False, "finished", ["field 'title' missing"], ("unhealthy", "field 'title' missing")),
        ("failed", False, "shutdown", [], ("failed", "FAILED: ended with shutdown")),
        ("aborted", False, None, [], ("aborted", "ABORTED: the crawl was killed before it ended")),
        ("running", True, None, [], ("aborted", "ABORTED: its process (pid 7 on h\\x1b) is gone")),
        ("running", False, None, [], ("running", "running (pid 7 on h\\x1b)")),
    ],
)
def test_status_shows_failed_aborted_and_running_runs_plainly(
    status: str, gone: bool, finish_reason: str | None, health: list[str], shown: tuple[str, str]
) -> None:
    from newscrawl.cli.crawl import run_verdict

    run = CrawlRun(spider="japantoday", status=status, finish_reason=finish_reason, health=health,
                   host="h\x1b", pid=7)
    assert run_verdict(run, gone) == shown
