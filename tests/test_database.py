"""The crawl's Database extension: one engine per crawl, shared by every component, none when nothing needs it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.utils.test import get_crawler
from sqlalchemy import text

from newscrawl.cli.database import database_url
from newscrawl.db import open_database
from newscrawl.exceptions import DatabaseUnavailable
from newscrawl.extensions.database import Database, crawl_database
from newscrawl.middlewares.incremental import IncrementalMiddleware
from newscrawl.pipelines import StorePipeline
from newscrawl.spiders.japantoday import JapanTodaySpider
from tests.conftest import MIRROR_SETTINGS, ROOT
from tests.support.commands import environment, newscrawl_crawl
from tests.support.mirror import Mirror

#: A crawl in a process of its own, built the way ``scrapy crawl`` builds it (project settings,
#: a crawler process), counting the SQLAlchemy engines created and the ones that connected.
COUNTING_CRAWL = """
import json, sys
import sqlalchemy, sqlalchemy.engine
created, connected = [], []
real_create_engine = sqlalchemy.create_engine

def create_engine(*args, **kwargs):
    engine = real_create_engine(*args, **kwargs)
    created.append(engine)
    return engine

sqlalchemy.create_engine = sqlalchemy.engine.create_engine = create_engine  # before newscrawl imports it

def on_connect(connection):
    if not any(engine is connection.engine for engine in connected):
        connected.append(connection.engine)

sqlalchemy.event.listen(sqlalchemy.Engine, "engine_connect", on_connect)
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.utils.project import get_project_settings
settings = get_project_settings()
for pair in sys.argv[2:]:
    name, _, value = pair.partition("=")
    settings.set(name, value, priority="cmdline")
process = AsyncCrawlerProcess(settings)
crawler = process.create_crawler("japantoday")
process.crawl(crawler, start_url=sys.argv[1], max_pages="2")
process.start()
print(json.dumps({"created": len(created), "connected": len(connected),
                  "stats": {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)}}))
"""

OFF = {"STORE_ENABLED": "False", "CRAWLRUN_ENABLED": "False", "INCREMENTAL_ENABLED": "False",
       "HEALTH_ENABLED": "False"}


def counting_crawl(mirror: Mirror, cwd: Path, settings: dict[str, str]) -> dict[str, object]:
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    pairs = [f"{name}={value}" for name, value in {**MIRROR_SETTINGS, **settings}.items()]
    result = subprocess.run([sys.executable, "-c", COUNTING_CRAWL, mirror.url("/category/politics"), *pairs],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.e2e
def test_a_crawl_creates_one_engine_that_every_component_shares(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    counts = counting_crawl(japantoday_mirror, tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"})
    stats = counts["stats"]
    assert isinstance(stats, dict)
    # The store, the seen-state, the run record and the health check all used the database.
    assert stats["store/inserted"] > 0 and stats["incremental/links"] > 0 and stats["crawlrun/id"] == 1
    assert (counts["created"], counts["connected"]) == (1, 1)


@pytest.mark.e2e
def test_a_crawl_whose_components_need_no_database_never_opens_one(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    counts = counting_crawl(japantoday_mirror, tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", **OFF})
    assert (counts["created"], counts["connected"]) == (0, 0)
    assert not (tmp_path / "n.db").exists()


def test_an_unreachable_database_is_tried_again_with_the_same_engine(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet"
    database = Database(f"sqlite:///{folder / 'n.db'}")
    with pytest.raises(DatabaseUnavailable, match="cannot open database"):
        database.engine()
    first = database._engine
    folder.mkdir()  # the database comes back
    engine = database.engine()
    try:
        assert engine is first
        with engine.connect() as connection:  # migrated
            assert connection.execute(text("SELECT count(*) FROM articles")).scalar() == 0
    finally:
        database.close()


def test_components_get_the_crawls_database_and_the_engine_is_disposed_when_the_engine_stops(
    sqlite_url: str,
) -> None:
    crawler = get_crawler(JapanTodaySpider, {"DATABASE_URL": sqlite_url,
                                             "EXTENSIONS": {"newscrawl.extensions.database.Database": 0}})
    crawler.spider = crawler._create_spider()
    database = crawl_database(crawler)
    store = StorePipeline.from_crawler(crawler)
    incremental = IncrementalMiddleware.from_crawler(crawler)
    assert store.database is database and incremental.database is database
    assert database.url == sqlite_url
    engine = database.engine()
    assert engine.pool.checkedin() == 1  # the connection that migrated it, pooled
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert engine.pool.checkedin() == 0


def test_a_crawl_without_the_database_extension_is_refused_with_what_to_add() -> None:
    crawler = get_crawler(JapanTodaySpider, {})
    with pytest.raises(RuntimeError, match=r"newscrawl\.extensions\.database\.Database is not in EXTENSIONS"):
        StorePipeline.from_crawler(crawler)


@pytest.mark.e2e
def test_newscrawl_crawl_sends_its_crawls_to_the_database_it_locked(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    # --database wins over -s DATABASE_URL=: the crawls must not write where the lock is not.
    locked, other = tmp_path / "locked.db", tmp_path / "other.db"
    command = newscrawl_crawl(japantoday_mirror, f"sqlite:///{locked}", "-a", "max_pages=1",
                              "-s", f"DATABASE_URL=sqlite:///{other}")
    result = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert not other.exists()
    engine = open_database(f"sqlite:///{locked}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM articles")).scalar() > 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("database", "setting", "environ", "expected"),
    [
        ("sqlite:///a.db", "sqlite:///b.db", "sqlite:///c.db", "sqlite:///a.db"),
        (None, "sqlite:///b.db", "sqlite:///c.db", "sqlite:///b.db"),
        (None, None, "sqlite:///c.db", "sqlite:///c.db"),
        (None, None, None, "sqlite:///newscrawl.db"),
    ],
    ids=["--database", "setting", "environment", "default"],
)
def test_every_sub_command_resolves_the_url_the_same_way(
    monkeypatch: pytest.MonkeyPatch, database: str | None, setting: str | None, environ: str | None, expected: str
) -> None:
    if environ:
        monkeypatch.setenv("NEWSCRAWL_DATABASE_URL", environ)
    else:
        monkeypatch.delenv("NEWSCRAWL_DATABASE_URL", raising=False)
    settings = {"DATABASE_URL": setting} if setting else {}
    assert database_url(argparse.Namespace(database=database), settings) == expected
