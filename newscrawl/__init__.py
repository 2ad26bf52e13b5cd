"""newscrawl: scheduled crawls of news sites' politics sections into a queryable database."""

__version__ = "0.1.0"
