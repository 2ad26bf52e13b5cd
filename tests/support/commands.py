"""The real `newscrawl crawl` command line against a mirror, and the environment cron gives it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import MIRROR_SETTINGS, ROOT
from tests.support.mirror import Mirror

LISTING = "/category/politics"


def newscrawl_crawl(mirror: Mirror, database: str, *args: str) -> list[str]:
    """``newscrawl crawl japantoday`` of ``mirror`` into ``database``, with the fast mirror settings."""
    command = [str(Path(sys.executable).with_name("newscrawl")), "crawl", "japantoday", "--database", database,
               "-a", f"start_url={mirror.url(LISTING)}", *args]
    for name, value in MIRROR_SETTINGS.items():
        command += ["-s", f"{name}={value}"]
    return command


def environment() -> dict[str, str]:
    """This environment, the checkout importable, no database URL inherited."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    return env
