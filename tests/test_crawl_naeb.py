"""End to end: `scrapy crawl news` finds and reads real NAEB pages through RSS, a sitemap index and a paginated section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, open_database
from tests.conftest import run_crawl
from tests.support import naeb
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e

# Dev-half pages (see tests/test_generic_extraction.py SAMPLE), served at paths of the shapes
# the generic link rules must accept: opaque IDs, ISO dates with a slug and an ID, a short path
# that only its teaser markup and headline-long text make a story, a file-like slug.
SECTION = {
    "/news/articles/c4n8x2ql9k0o": "00c7f15fb635c360a44f126d4694369c",
    "/news/2023-12-17/federal-agency-story/105726154": "1ee0e0cb9c1d183bfa0be8c0d2ec393b",
    "/news/briefs/storm": "479f7d334e131d10c10c3e987092702a",
    "/news/politics/minister-resigns-after-vote.html": "52f3b226287efdd1ba1b1e316dee81e1",
}
FEED = {
    "/2023/12/21/first-feed-story/": "5f5bdaae8f77dbae1b7257d1a41701f2",
    "/2023/12/22/second-feed-story/": "686a2e537f989e775361450776e91513",
}
SITEMAP = {
    "/stories/marketwatch-story-one": "6dd8f086cd0733efb86e81216ec7ad6c",
    "/stories/bleacher-story-two": "88d58862c6918224d255237a7290e2ab",
}
# On the section pages too, and never a story: a section, a tag page, an author page, the feed.
NOT_ARTICLES = ["/news/world", "/news/tag/politics/", "/author/jane-doe-smith-jones/", "/feed/"]

PAGE_1 = """<!-- HAND-BUILT section page 1 (tests/test_crawl_naeb.py) -->
<html><head><title>News</title><link rel="next" href="/news/?page=2"></head><body>
<nav><a href="/news/world">World</a> <a href="/news/tag/politics/">Politics</a> <a href="/feed/">RSS</a></nav>
<main><a href="/news/articles/c4n8x2ql9k0o">Senate</a>
<div class="teaser"><a href="/news/2023-12-17/federal-agency-story/105726154">Read</a></div>
<a href="/author/jane-doe-smith-jones/">Jane Doe</a></main></body></html>"""
PAGE_2 = """<!-- HAND-BUILT section page 2 -->
<html><head><title>News, page 2</title></head><body><main>
<article><h2><a href="/news/briefs/storm">Storm cuts power to thousands across the region</a></h2></article>
<ul><li><a href="/news/politics/minister-resigns-after-vote.html">Minister</a></li></ul>
<a href="/news/world">World</a></main></body></html>"""


def _rss(urls: list[str]) -> str:
    items = "".join(f"<item><title>Story</title><link>{url}</link></item>" for url in urls)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>HAND-BUILT</title>{items}</channel></rss>'


def _urlset(urls: list[str]) -> str:
    locs = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'


def _index(url: str) -> str:
    return (f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{url}</loc></sitemap></sitemapindex>")


@pytest.fixture(scope="module")
def mirror_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("naeb-mirror")
    (root / "articles").mkdir()
    html = naeb.html_pages()
    routes: dict[str, dict[str, object]] = {
        "/robots.txt": {"file": "robots.txt", "type": "text/plain"},
        "/news/": {"pages": {"1": "page-1.html", "2": "page-2.html"}},
        "/feed/": {"file": "feed.xml", "type": "application/rss+xml"},
        "/sitemap_index.xml": {"file": "index.xml", "type": "application/xml"},
        "/sitemap-stories.xml": {"file": "stories.xml", "type": "application/xml"},
    }
    for path, page_id in {**SECTION, **FEED, **SITEMAP}.items():
        (root / "articles" / f"{page_id}.html").write_bytes(html[page_id])
        routes[path] = {"file": f"articles/{page_id}.html"}
    (root / "routes.json").write_text(json.dumps(routes), "utf-8")
    (root / "robots.txt").write_text("User-agent: *\nDisallow:\n", "utf-8")
    (root / "page-1.html").write_text(PAGE_1, "utf-8")
    (root / "page-2.html").write_text(PAGE_2, "utf-8")
    return root


def _stored(db_url: str) -> dict[str, ArticleRow]:
    engine = open_database(db_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(ArticleRow)).all())
        session.expunge_all()
    engine.dispose()
    return {row.url: row for row in rows}


@pytest.mark.parametrize(
    ("start", "served"),
    [("/news/", SECTION), ("/feed/", FEED), ("/sitemap_index.xml", SITEMAP)],
    ids=["section", "rss", "sitemap-index"],
)
def test_news_spider_stores_every_naeb_article(mirror_root: Path, tmp_path: Path, start: str, served: dict[str, str]) -> None:
    truth = {page.id: page for page in naeb.pages("dev")}
    log = tmp_path / "crawl.log"
    with Mirror(mirror_root) as mirror:
        (mirror_root / "feed.xml").write_text(_rss([mirror.url(p) for p in FEED]), "utf-8")
        (mirror_root / "stories.xml").write_text(_urlset([mirror.url(p) for p in SITEMAP]), "utf-8")
        (mirror_root / "index.xml").write_text(_index(mirror.url("/sitemap-stories.xml")), "utf-8")
        db_url = f"sqlite:///{tmp_path / 'naeb.db'}"
        result = run_crawl(
            "news", tmp_path, "-a", f"start_url={mirror.url(start)}",
            settings={"DATABASE_URL": db_url, "LOG_FILE": str(log)},
        )
        requested = set(mirror.requested_paths())
        raw_requests = list(mirror.requests)
        rows = {url.removeprefix(mirror.base_url): row for url, row in _stored(db_url).items()}
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(rows) == sorted(served)
    assert not requested & (set(NOT_ARTICLES) - {start})
    for path, row in rows.items():
        page = truth[served[path]]
        assert row.title == page.title, path
        assert naeb.page_f1(page.body, row.body) >= 0.9, path
        assert naeb.authors_match(page.authors, list(row.authors), row.credit), path
        assert row.language == "en" and row.body_method == "trafilatura"
        assert row.published_at is not None
    if start == "/news/":
        assert "/news/?page=2" in raw_requests  # the rel=next page was walked
        stats = log.read_text("utf-8")
        assert "'newscrawl/links/not_article': " in stats
