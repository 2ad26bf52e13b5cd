"""Shared fixtures: real SQLite files, a throwaway PostgreSQL cluster, the site mirrors, crawls."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from newscrawl.cli import main
from tests.support.mirror import Mirror
from tests.support.postgres import throwaway_cluster

ROOT = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"

#: Settings that make a crawl of a local mirror fast; production keeps polite defaults.
MIRROR_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "RETRY_TIMES": "2",
}


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server: NEWSCRAWL_TEST_PG_URL if set, else a cluster started for this session."""
    explicit = os.environ.get("NEWSCRAWL_TEST_PG_URL")
    if explicit:
        yield explicit
        return
    with throwaway_cluster() as url:
        yield url


@pytest.fixture
def postgresql_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"newscrawl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    # Identifiers cannot be bound parameters; the name is generated above, never input.
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'newscrawl.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def japantoday_mirror() -> Iterator[Mirror]:
    """The hand-built Japan Today politics mirror, served on 127.0.0.1 (fresh per test)."""
    with Mirror(SITES / "japantoday" / "mirror") as mirror:
        yield mirror


def run_crawl(
    spider: str, cwd: Path, *args: str, settings: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``scrapy crawl SPIDER ARGS`` command in ``cwd`` and return its result."""
    command = [str(Path(sys.executable).with_name("scrapy")), "crawl", spider, *args]
    for name, value in {**MIRROR_SETTINGS, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def no_env_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``NEWSCRAWL_DATABASE_URL`` from the caller's environment: each test names its database."""
    monkeypatch.delenv("NEWSCRAWL_DATABASE_URL", raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``newscrawl ARGV`` in this process: the exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A Redis server: NEWSCRAWL_TEST_REDIS_URL if set (its database is flushed by each test that
    uses it), else a redis-server started for this session on a free loopback port."""
    explicit = os.environ.get("NEWSCRAWL_TEST_REDIS_URL")
    if explicit:
        yield explicit
        return
    from tests.support.redis import throwaway_redis

    with throwaway_redis() as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The Redis server, emptied for one test."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    yield redis_server_url
    client.flushdb()
    client.close()
