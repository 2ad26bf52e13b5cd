"""The database URL of every sub-command, resolved in one function."""

from __future__ import annotations

import argparse
from typing import Any

from newscrawl.db.engine import resolve_database_url


def database_url(args: argparse.Namespace, settings: Any = None) -> str:
    """``--database``, else the Scrapy ``settings``' ``DATABASE_URL`` (with ``-s`` applied), else
    ``NEWSCRAWL_DATABASE_URL``, else ``sqlite:///newscrawl.db``."""
    explicit = getattr(args, "database", None)
    if not explicit and settings is not None:
        explicit = settings.get("DATABASE_URL")
    return resolve_database_url(explicit)
