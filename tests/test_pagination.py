"""Pagination ends at the section's end: a listing page with nothing new stops the walk, whatever max_pages says."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.genmirror import SECTION, generate, serve
from newscrawl.db import open_database
from newscrawl.db.models import CrawlRun
from tests.conftest import run_crawl

pytestmark = pytest.mark.e2e


def test_a_backfill_past_the_last_listing_page_stops_there(tmp_path: Path) -> None:
    # 60 articles = 3 listing pages of 20; past them the generated section answers its template
    # with no teasers, as the real site does, but still with the sidebar's article links.
    database = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    with serve(generate(60), "threaded") as base:
        result = run_crawl("japantoday", tmp_path, "-a", f"start_url={base}{SECTION}", "-a", "max_pages=50",
                           settings={"DATABASE_URL": database})
    assert result.returncode == 0, result.stderr[-3000:]
    engine = open_database(database)
    with Session(engine) as session:
        stats = session.scalars(select(CrawlRun.stats)).one()
    engine.dispose()
    assert stats["newscrawl/listing_pages"] == 4  # pages 1-3 and the first empty one, not 50
    assert stats["newscrawl/listing/nothing_new"] == 1
    assert stats["store/inserted"] == 60
