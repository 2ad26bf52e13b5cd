"""The database layer: schema, connections, migrations and idempotent writes."""

from newscrawl.db.engine import open_database, resolve_database_url
from newscrawl.db.models import ArticleRow, ArticleRevision, Base, CrawlRun

__all__ = [
    "ArticleRevision",
    "ArticleRow",
    "Base",
    "CrawlRun",
    "open_database",
    "resolve_database_url",
]
