"""StorePipeline: writes articles through SQLAlchemy with idempotent upserts."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newscrawl.db.engine import open_database, resolve_database_url, safe_url
from newscrawl.db.store import CONTENT_COLUMNS, save_article

logger = logging.getLogger(__name__)


class StorePipeline:
    """Saves each article in its own short transaction, keyed on the canonical URL.

    Settings: ``DATABASE_URL`` (any SQLAlchemy URL; default from
    ``NEWSCRAWL_DATABASE_URL`` or ``sqlite:///newscrawl.db``), ``STORE_ENABLED``.
    Stats: ``store/inserted``, ``store/updated``, ``store/unchanged``.
    The database is opened (and migrated) in ``open_spider``: an unreachable
    database fails the crawl before any article is fetched.
    """

    def __init__(self, database_url: str, stats: StatsCollector) -> None:
        self.database_url = database_url
        self.stats = stats
        self.engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        if not crawler.settings.getbool("STORE_ENABLED", True):
            raise NotConfigured("STORE_ENABLED is off")
        return cls(resolve_database_url(crawler.settings.get("DATABASE_URL")), crawler.stats)

    def open_spider(self) -> None:
        self.engine = open_database(self.database_url)
        logger.info("Storing articles in %s", safe_url(self.database_url))

    def close_spider(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def process_item(self, item: Any) -> Any:
        assert self.engine is not None, "open_spider() was not called"
        adapter = ItemAdapter(item)
        values = {name: adapter.get(name) for name in CONTENT_COLUMNS}
        with Session(self.engine) as session, session.begin():
            outcome = save_article(session, values, datetime.now(timezone.utc))
        self.stats.inc_value(f"store/{outcome.value}")
        return item
