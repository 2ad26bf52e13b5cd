"""Database: owns a crawl's database, one SQLAlchemy Engine opened on first use and disposed when the crawl ends."""

from __future__ import annotations

import weakref

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from sqlalchemy import Engine

from newscrawl.db.engine import create_database_engine, prepare, resolve_database_url


class Database:
    """The one place a crawl gets its database from.

    Settings: ``DATABASE_URL`` (any SQLAlchemy URL; default from ``NEWSCRAWL_DATABASE_URL``
    or ``sqlite:///newscrawl.db``), resolved once here. The store, the incremental
    middleware, the crawl-run recorder and the health monitor share its engine
    (:func:`crawl_database`); a crawl whose components need no database (``scrapy parse``,
    ``newscrawl check``) never connects. :meth:`engine` connects and migrates on the first
    call; an unreachable database raises :class:`~newscrawl.exceptions.DatabaseUnavailable`
    there, and a later call tries again with the same engine. The engine is disposed at
    ``engine_stopped``, after every component's ``spider_closed`` work.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._ready = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Database:
        database = cls(crawl_database_url(crawler.settings))
        crawler.signals.connect(database.close, signal=signals.engine_stopped)
        return database

    def engine(self) -> Engine:
        """The crawl's engine, connected and migrated (on the first successful call only)."""
        if self._engine is None:
            self._engine = create_database_engine(self.url)
            # A crawl that fails to start sends no engine_stopped: its pool is closed when the
            # Database is collected (or at exit), not left to the DBAPI's own finalizers.
            weakref.finalize(self, self._engine.dispose)
        if not self._ready:
            prepare(self._engine)
            self._ready = True
        return self._engine

    def close(self) -> None:
        """Close the engine's connections (a later :meth:`engine` call reconnects)."""
        if self._engine is not None:
            self._engine.dispose()
            self._ready = False


def crawl_database_url(settings: BaseSettings) -> str:
    """The URL a crawl with ``settings`` uses: ``DATABASE_URL``, else the environment's, else the default."""
    return resolve_database_url(settings.get("DATABASE_URL"))


def crawl_database(crawler: Crawler) -> Database:
    """The crawl's :class:`Database`; from a pipeline or middleware's ``from_crawler`` (built after
    the extensions), or from an extension at ``spider_opened`` or later."""
    database = crawler.get_extension(Database)
    if database is None:
        raise RuntimeError(f"{Database.__module__}.Database is not in EXTENSIONS: a crawl that uses "
                           "the database needs it")
    return database
