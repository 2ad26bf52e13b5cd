"""StorePipeline: writes articles in batches of idempotent upserts from a writer thread, spooling when the database is down."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from newscrawl.db.engine import safe_url
from newscrawl.db.store import CONTENT_COLUMNS, CRAWL, save_articles
from newscrawl.exceptions import DatabaseUnavailable, SpoolWriteError, StoreFailed, first_line
from newscrawl.extensions.database import Database, crawl_database
from newscrawl.spool import Spool

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)


def default_spool_dir(database_url: str) -> Path:
    """Beside a SQLite file (one spool per database), else ``newscrawl-spool`` in the working directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "newscrawl-spool"
    return Path("newscrawl-spool").resolve()


def _connection_lost(exc: SQLAlchemyError) -> bool:
    """True when the failure is the database being unreachable, not the data being wrong."""
    if isinstance(exc, DatabaseUnavailable | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


#: Batches handed to the writer thread and not yet written before the crawl waits for them.
MAX_PENDING_BATCHES = 4

#: Finish reason of a crawl stopped because articles could be neither written nor spooled.
STORE_FAILED = "store_failed"


class StorePipeline:
    """Saves articles in batches, each batch one short transaction keyed on canonical URLs.

    Settings: ``STORE_ENABLED``,
    ``STORE_BATCH_SIZE`` (rows per transaction, default 50; batches are also
    flushed when the spider goes idle and at close), ``STORE_SPOOL_DIR``,
    ``STORE_REVISION_KIND`` (``crawl``; ``re-extraction`` for ``newscrawl reparse``),
    ``STORE_TOUCH_SEEN`` (default on: stored rows get ``last_seen_at``; off when replaying an
    archive), ``STORE_DRY_RUN`` (write each batch, count it, roll it back),
    ``STORE_WRITER_THREAD`` (default on: batches are written by one thread of
    their own, in order, while the crawl goes on; the database's work, and the
    wait for a PostgreSQL server, no longer stop the crawl; when the writer falls
    more than 4 batches behind, the crawl waits for it).

    When the database is lost mid-crawl (or its disk is full), a batch that
    cannot be written is spooled to a JSON-lines file and written as soon as a
    later write succeeds, or at the start of the next crawl: nothing is lost. A
    row the database refuses (not a connection problem) is logged, counted
    (``store/failed``) and spooled under ``rejected/`` for inspection. When the
    spool cannot be written either (its disk is full too), the batch is counted
    lost, the crawl is closed with finish reason ``store_failed``, and articles
    arriving after that are dropped (``StoreFailed``) and counted lost too; the
    cause is logged once, as one ERROR line, at the end.
    Stats: ``store/inserted``, ``store/updated``, ``store/unchanged``,
    ``store/spooled``, ``store/replayed``, ``store/failed``, ``store/batches``
    (counted once a batch is written, all of them by the end of the crawl),
    ``store/changed/<column>`` (stored rows whose column changed),
    ``store/lost`` (neither written nor spooled; 0 in a good crawl) and
    ``store/failure`` (the one-line cause, only when articles were lost).
    The crawl's :class:`~newscrawl.extensions.database.Database` is opened (and
    migrated) in ``open_spider``: an unreachable database fails the crawl before any
    article is fetched. The engine is the crawl's, shared and disposed by its owner.
    """

    def __init__(
        self,
        database: Database,
        stats: StatsCollector,
        batch_size: int = 50,
        spool_dir: Path | None = None,
        writer_thread: bool = True,
        revision_kind: str = CRAWL,
        seen: bool = True,
        dry_run: bool = False,
    ) -> None:
        self.database = database
        self.stats = stats
        self.batch_size = max(1, batch_size)
        self.spool_dir = spool_dir or default_spool_dir(database.url)
        self.writer_thread = writer_thread
        self.revision_kind = revision_kind
        self.seen = seen
        self.dry_run = dry_run
        self.engine: Engine | None = None
        self.spool: Spool | None = None
        self.rejected: Spool | None = None
        self.buffer: list[dict[str, Any]] = []
        self.writer: ThreadPoolExecutor | None = None
        self.writes: deque[Future[Counter[str]]] = deque()
        self.crawler: Crawler | None = None
        #: Why articles could be neither written nor spooled (set once, by the writing thread).
        self.failure: str | None = None
        self.stopping = False
        self.closing: Deferred[None] | None = None  # the engine closing the crawl for us

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        if not settings.getbool("STORE_ENABLED", True):
            raise NotConfigured("STORE_ENABLED is off")
        spool_dir = settings.get("STORE_SPOOL_DIR")
        pipeline = cls(
            crawl_database(crawler),
            crawler.stats,
            batch_size=settings.getint("STORE_BATCH_SIZE", 50),
            spool_dir=Path(spool_dir) if spool_dir else None,
            writer_thread=settings.getbool("STORE_WRITER_THREAD", True),
            revision_kind=settings.get("STORE_REVISION_KIND", CRAWL),
            seen=settings.getbool("STORE_TOUCH_SEEN", True),
            dry_run=settings.getbool("STORE_DRY_RUN", False),
        )
        pipeline.crawler = crawler
        crawler.signals.connect(pipeline.spider_idle, signal=signals.spider_idle)
        return pipeline

    def open_spider(self) -> None:
        self.stats.set_value("store/lost", 0)
        self.engine = self.database.engine()
        spider = getattr(getattr(self.crawler, "spider", None), "name", "articles")
        self.spool = Spool(self.spool_dir, spider)
        self.rejected = Spool(self.spool_dir / "rejected", spider)
        logger.info("Storing articles in %s", safe_url(self.database.url))
        if not self.dry_run:
            self._count(self._run(self.replay))
        if self.writer_thread:
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newscrawl-store")

    def close_spider(self) -> None:
        self.stopping = True  # the crawl is closing already, whatever the reason
        self.wait()
        if self.writer is not None:
            self.writer.shutdown(wait=True)
            self.writer = None
        pending = self.spool.pending() if self.spool else 0
        if pending:
            logger.error("%d articles could not be written and wait in %s; the next crawl writes "
                         "them", pending, self.spool_dir)
            self.stats.set_value("store/pending_in_spool", pending)
        if self.failure is not None:
            cause = f"{self.failure}; {self.stats.get_value('store/lost', 0):,} articles not stored"
            self.stats.set_value("store/failure", cause)
            logger.error("%s", cause)

    def spider_idle(self) -> None:
        # Wait for the writer before the engine calls the crawl finished: a last batch
        # that could not be kept must still make the finish reason store_failed.
        self.wait()
        if self.failure is not None:
            raise CloseSpider(STORE_FAILED)

    def process_item(self, item: Any) -> Any:
        if self.failure is not None:
            self._stop()
            self.stats.inc_value("store/lost")
            raise StoreFailed(f"not stored: {self.failure}", log_level="DEBUG")
        adapter = ItemAdapter(item)
        self.buffer.append({name: adapter.get(name) for name in CONTENT_COLUMNS})
        if len(self.buffer) >= self.batch_size:
            self.flush()
        if self.failure is not None:  # the article is handed over: counted where its batch ends
            self._stop()
        return item

    def _stop(self) -> None:
        """Close the crawl (once): what it fetches from now on could not be kept."""
        if self.stopping:
            return
        self.stopping = True
        if self.crawler is not None and self.crawler.crawling:  # not when built outside a crawl
            engine = self.crawler.engine
            self.closing = deferred_from_coro(engine.close_spider_async(reason=STORE_FAILED))

    def flush(self) -> None:
        """Hand the buffered rows to the writer (write them here without one)."""
        batch, self.buffer = self.buffer, []
        if batch and self.writer is not None:
            self.writes.append(self.writer.submit(self._run, self._store, batch))
            while len(self.writes) > MAX_PENDING_BATCHES:  # the database is slower than the crawl
                self._count(self.writes.popleft().result())
        elif batch:
            self._count(self._run(self._store, batch))
        while self.writes and self.writes[0].done():
            self._count(self.writes.popleft().result())

    def wait(self) -> None:
        """Write every row handed over so far, and count the outcomes."""
        self.flush()
        while self.writes:
            self._count(self.writes.popleft().result())

    def _count(self, counts: Counter[str]) -> None:
        # Stats are counted by the crawl's thread: the stats collector is not thread-safe.
        for key, value in counts.items():
            self.stats.inc_value(key, value)

    @staticmethod
    def _run(method: Any, *args: Any) -> Counter[str]:
        counts: Counter[str] = Counter()
        method(*args, counts)
        return counts

    # Everything below runs in the writer thread (or the crawl's, without one), one batch at a time.

    def _store(self, batch: list[dict[str, Any]], counts: Counter[str]) -> None:
        if self.spool and self.spool.files() and not self.replay(counts):
            self._spool(batch, "replay of earlier spooled articles failed", counts)
            return
        try:
            self._write(batch, counts)
        except SQLAlchemyError as exc:
            if _connection_lost(exc):
                self._spool(batch, first_line(exc), counts)
            else:
                self._write_one_by_one(batch, counts)

    def replay(self, counts: Counter[str]) -> bool:
        """Write spooled batches (oldest first); True when the spool is empty afterwards."""
        assert self.spool is not None
        for path in self.spool.files():
            rows = list(Spool.read(path))
            try:
                self._write(rows, counts)
            except SQLAlchemyError as exc:
                if not _connection_lost(exc):
                    self._write_one_by_one(rows, counts)
                else:
                    return False
            path.unlink()
            counts["store/replayed"] += len(rows)
            logger.info("Wrote %d spooled articles from %s", len(rows), path.name)
        return True

    def _write(self, batch: Sequence[Mapping[str, Any]], counts: Counter[str]) -> None:
        assert self.engine is not None, "open_spider() was not called"
        changes: Counter[str] = Counter()
        with Session(self.engine) as session, session.begin():
            outcomes = save_articles(session, batch, datetime.now(timezone.utc), kind=self.revision_kind,
                                     seen=self.seen, changes=changes)
            if self.dry_run:  # counted as if written, then undone
                session.rollback()
        counts["store/batches"] += 1
        for column, changed in changes.items():
            counts[f"store/changed/{column}"] += changed
        for outcome in outcomes:
            counts[f"store/{outcome.value}"] += 1

    def _write_one_by_one(self, batch: Sequence[Mapping[str, Any]], counts: Counter[str]) -> None:
        for values in batch:
            try:
                self._write([values], counts)
            except SQLAlchemyError as exc:
                if _connection_lost(exc):
                    self._spool([values], str(exc), counts)
                    continue
                assert self.rejected is not None
                path = self._keep(self.rejected, [values], counts)
                counts["store/failed"] += 1
                logger.error("Database refused %s (%s); %s", values.get("url"),
                             first_line(exc),
                             f"kept in {path}" if path else "lost")

    def _spool(self, batch: Sequence[Mapping[str, Any]], reason: str, counts: Counter[str]) -> None:
        assert self.spool is not None
        path = self._keep(self.spool, batch, counts)
        if path is not None:
            counts["store/spooled"] += len(batch)
            logger.warning("Database unavailable (%s): %d articles spooled to %s", reason, len(batch), path)

    def _keep(self, spool: Spool, batch: Sequence[Mapping[str, Any]], counts: Counter[str]) -> Path | None:
        """Spool ``batch``; when even that fails, count it lost and remember the first cause."""
        try:
            return spool.add(batch)
        except SpoolWriteError as exc:
            counts["store/lost"] += len(batch)
            if self.failure is None:
                self.failure = str(exc)
            return None
