"""Tests for newscrawl.spiders.discovery and the generic spider's link rules: pure functions, truth tables."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.credits import split_agencies, split_agency_line
from newscrawl.db import ArticleRow, CrawlRun, open_database
from newscrawl.spiders.discovery import (
    Listed, Sitemap, Unreadable, document_kind, parse_feed, parse_sitemap, read_document,
)
from newscrawl.spiders.news import NewsSpider, looks_like_article
from newscrawl.urls import rebase, registrable_domain
from tests.conftest import SITES, run_crawl
from tests.support.mirror import Mirror

BASE = "https://example.com/feed/"
RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel>
 <item><title>One</title><link>https://example.com/a/one-story-here</link><pubDate>Thu, 23 Oct 2025 15:50:00 +0000</pubDate></item>
 <item><title>Two</title><link>https://feeds.example/~r/x</link><feedburner:origLink>https://example.com/a/two</feedburner:origLink></item>
 <item><title>Three</title><guid>https://example.com/a/three</guid></item>
 <item><title>Four</title><guid isPermaLink="false">tag:example.com,1</guid></item>
 <item><title>Five</title><link>/a/relative</link></item>
 <item><title>Six</title><link>javascript:alert(1)</link></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
 <entry><link rel="edit" href="/api/1"/><link rel="alternate" type="text/html" href="/a/one"/><published>2025-01-02T03:04:05Z</published></entry>
 <entry><link href="https://example.com/a/two"/><updated>2025-01-03T00:00:00Z</updated></entry>
</feed>"""
RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
 <item rdf:about="https://example.com/a/one"><link>https://example.com/a/one</link><dc:date>2025-01-02</dc:date></item>
</rdf:RDF>"""
SITEMAP = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
 <url><loc>https://example.com/a/one</loc><lastmod>2025-01-01</lastmod><news:news><news:publication_date>2025-01-02T03:04:05Z</news:publication_date><news:title>One</news:title></news:news></url>
 <url><loc>https://example.com/a/two</loc><lastmod>2025-01-03</lastmod></url>
 <url><loc></loc></url>
</urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
 <sitemap><loc>https://example.com/sitemap-news.xml</loc></sitemap><sitemap><loc>/sitemap-2.xml.gz</loc></sitemap>
</sitemapindex>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&x;</title><link>https://example.com/a/x</link></item></channel></rss>"""


@pytest.mark.parametrize(
    ("body", "kind"),
    [(RSS, "rss"), (ATOM, "atom"), (RDF, "rdf"), (SITEMAP, "sitemap"), (INDEX, "sitemapindex"),
     (gzip.compress(SITEMAP), "sitemap"), (b"\xef\xbb\xbf" + RSS, "rss"),
     (b"<!DOCTYPE html><html><body><a href='/a'>x</a></body></html>", "html"),
     (b"<?xml version='1.0'?><html/>", "html"), (b"", "html"), (b"\x1f\x8bnot gzip", "unreadable"),
     (gzip.compress(b"<html><body>x</body></html>"), "unreadable")],
    ids=["rss", "atom", "rdf", "sitemap", "index", "gzip", "bom", "html", "xhtml", "empty", "bad-gzip", "gzip-html"],
)
def test_document_kind(body: bytes, kind: str) -> None:
    assert document_kind(body) == kind


def test_parse_rss() -> None:
    assert parse_feed(read_document(RSS), BASE) == [
        Listed("https://example.com/a/one-story-here", "Thu, 23 Oct 2025 15:50:00 +0000", "One"),
        Listed("https://example.com/a/two", None, "Two"),
        Listed("https://example.com/a/three", None, "Three"),
        Listed("https://example.com/a/relative", None, "Five"),
    ]


def test_parse_atom_prefers_the_alternate_link() -> None:
    assert parse_feed(read_document(ATOM), BASE) == [
        Listed("https://example.com/a/one", "2025-01-02T03:04:05Z"),
        Listed("https://example.com/a/two", "2025-01-03T00:00:00Z"),
    ]


def test_parse_rdf() -> None:
    assert parse_feed(read_document(RDF), BASE) == [Listed("https://example.com/a/one", "2025-01-02")]


def test_parse_sitemap_prefers_the_news_date() -> None:
    assert parse_sitemap(read_document(SITEMAP), BASE) == Sitemap(
        [Listed("https://example.com/a/one", "2025-01-02T03:04:05Z", "One"),
         Listed("https://example.com/a/two", "2025-01-03")],
        [],
    )
    assert parse_sitemap(read_document(gzip.compress(SITEMAP)), BASE).pages[0].url == "https://example.com/a/one"


def test_parse_sitemap_index() -> None:
    assert parse_sitemap(read_document(INDEX), BASE) == Sitemap(
        [], ["https://example.com/sitemap-news.xml", "https://example.com/sitemap-2.xml.gz"]
    )


def test_a_feed_is_no_sitemap_and_back() -> None:
    assert parse_sitemap(read_document(RSS), BASE) == Sitemap([], [])
    assert parse_feed(read_document(SITEMAP), BASE) == []


def test_external_entities_are_refused() -> None:
    with pytest.raises(Unreadable) as refused:
        read_document(XXE)
    assert refused.value.reason == "entities"


@pytest.mark.parametrize(
    "doctype",
    ['<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
     '<!DOCTYPE urlset [<!ENTITY a "ha"><!ENTITY x "&a;&a;&a;&a;">]>'],
    ids=["external", "nested"],
)
def test_a_sitemap_with_hostile_entities_is_refused_before_scrapy_reads_it(doctype: str) -> None:
    # Scrapy's reader would cut the <loc> at "&x;" and list https://example.com/a/ instead.
    body = SITEMAP.replace(b"<urlset", doctype.encode() + b"<urlset", 1).replace(b"/a/one<", b"/a/&x;<")
    with pytest.raises(Unreadable) as refused:
        read_document(body)
    assert refused.value.reason == "entities"


def test_a_plain_internal_entity_is_left_unexpanded() -> None:
    body = RSS.replace(b"<rss", b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]><rss', 1).replace(b">One<", b">One&nbsp;<")
    assert [entry.url for entry in parse_feed(read_document(body), BASE)][:1] == ["https://example.com/a/one-story-here"]


def test_rebase_keeps_path_and_query() -> None:
    assert rebase("https://moxie.foxnews.com/google-publisher/politics.xml?x=1", "http://127.0.0.1:8080/politics") == (
        "http://127.0.0.1:8080/google-publisher/politics.xml?x=1"
    )


@pytest.mark.parametrize(
    ("path", "article"),
    [("/politics/house-china-committee-demands-answers-fbi", True),
     ("/politics/politics-government/20241013-216478/", True),
     ("/news/malaysia/2024/11/22/all-paid-their-own-way/157698", True),
     ("/2024/10/13/ishiba-debate/", True),
     ("/politics/", False), ("/politics/senate", False), ("/tag/election-2024-results-live/", False),
     ("/author/jane-doe-smith-jones/", False), ("/page/2/", False), ("/", False)],
)
def test_looks_like_article(path: str, article: bool) -> None:
    assert looks_like_article(path) is article


@pytest.mark.parametrize(
    ("host", "domain"),
    [("www.foxnews.com", "foxnews.com"), ("moxie.foxnews.com", "foxnews.com"),
     ("www.japantimes.co.jp", "japantimes.co.jp"), ("127.0.0.1", "127.0.0.1"), ("apnews.com", "apnews.com"),
     ("www.bbc.co.uk", "bbc.co.uk"), ("news.yahoo.co.jp", "yahoo.co.jp"), ("WWW.Example.COM.", "example.com"),
     # Tenants of shared hosts are sites of their own: the PSL's private section, and SHARED_HOSTS.
     ("alice.github.io", "alice.github.io"), ("bob.github.io", "bob.github.io"),
     ("alice.substack.com", "alice.substack.com"), ("www.alice.substack.com", "alice.substack.com"),
     ("bob.substack.com", "bob.substack.com"), ("foo.blogspot.com", "foo.blogspot.com"),
     ("localhost", "localhost"), ("::1", "::1")],
)
def test_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_the_news_spider_keeps_to_its_own_tenant() -> None:
    crawler = get_crawler(NewsSpider)
    spider = crawler._create_spider(start_url="https://alice.substack.com/archive")
    assert spider.allowed_domains == ["alice.substack.com"]
    assert spider.on_site("https://alice.substack.com/p/a-story") and spider.on_site("https://www.alice.substack.com/p/x")
    assert not spider.on_site("https://bob.substack.com/p/a-story")
    assert not spider.on_site("https://substack.com/p/a-story")
    assert spider.source == "alice.substack.com"


@pytest.mark.parametrize(
    ("names", "people", "wires"),
    [(["Associated Press"], [], ["AP"]), (["Ann Lee", "Reuters"], ["Ann Lee"], ["Reuters"]),
     (["Reuters Staff"], ["Reuters Staff"], []), (["Kyodo News", "KYODO"], [], ["Kyodo"]), ([], [], [])],
)
def test_split_agencies(names: list[str], people: list[str], wires: list[str]) -> None:
    assert split_agencies(names) == (people, wires)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("AFP, MANILA", ("AFP", "MANILA")), ("JIJI", ("Jiji", None)), ("Staff writer, with CNA", ("CNA", None)),
     ("Reuters, WASHINGTON", ("Reuters", "WASHINGTON")), ("By Chen Yu-fu / Staff reporter", (None, None)),
     ("Bloomberg", ("Bloomberg", None)), ("", (None, None))],
)
def test_split_agency_line(text: str, expected: tuple[str | None, str | None]) -> None:
    assert split_agency_line(text) == expected


@pytest.mark.e2e
def test_a_root_start_url_finds_its_sitemaps_through_robots_txt(tmp_path: Path) -> None:
    # robots.txt -> sitemap index -> news sitemap -> two articles; the home page links none of them.
    root = tmp_path / "mirror"
    (root / "articles").mkdir(parents=True)
    pages = [SITES / "news" / "mirror" / "articles" / name for name in ("FoxNews_2023_04_28.html", "MalayMail_2024_11_22.html")]
    stories = ["/a/first-story-from-the-sitemap", "/a/second-story-from-the-sitemap"]
    routes = {"/": {"file": "home.html"}, "/robots.txt": {"file": "robots.txt", "type": "text/plain"},
              "/sitemap_index.xml": {"file": "index.xml", "type": "application/xml"},
              "/sitemap-news.xml": {"file": "news.xml", "type": "application/xml"},
              **{path: {"file": f"articles/{i}.html"} for i, path in enumerate(stories)}}
    (root / "routes.json").write_text(json.dumps(routes), "utf-8")
    (root / "home.html").write_text("<html><body><h1>Home</h1><a href='/about'>About</a></body></html>", "utf-8")
    for i, page in enumerate(pages):
        (root / "articles" / f"{i}.html").write_bytes(page.read_bytes())
    with Mirror(root) as mirror:
        (root / "robots.txt").write_text(f"User-agent: *\nDisallow: /search\n\nSitemap: {mirror.url('/sitemap_index.xml')}\n")
        (root / "index.xml").write_bytes(INDEX.replace(b"https://example.com/sitemap-news.xml", mirror.url("/sitemap-news.xml").encode()))
        (root / "news.xml").write_bytes(SITEMAP.replace(b"https://example.com/a/one", mirror.url(stories[0]).encode())
                                        .replace(b"https://example.com/a/two", mirror.url(stories[1]).encode()))
        db_url = f"sqlite:///{tmp_path / 'newscrawl.db'}"
        result = run_crawl("news", tmp_path, "-a", f"start_url={mirror.url('/')}", settings={"DATABASE_URL": db_url})
        requested = mirror.requested_paths()
        prefix = mirror.base_url
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert {"/sitemap_index.xml", "/sitemap-news.xml", "/sitemap-2.xml.gz"} <= set(requested)
    engine = open_database(db_url)
    with Session(engine) as session:
        stored = sorted(url.removeprefix(prefix) for url in session.scalars(select(ArticleRow.url)))
        stats = session.scalars(select(CrawlRun.stats)).one()
    engine.dispose()
    assert stored == stories
    assert stats["newscrawl/discovery/robots_sitemaps"] == 1
    assert stats["newscrawl/discovery/sitemapindex"] == 1 and stats["newscrawl/discovery/sitemap"] == 1


def test_a_section_start_url_does_not_read_robots_sitemaps() -> None:
    crawler = get_crawler(NewsSpider)
    assert crawler._create_spider(start_url="https://example.com/").from_root
    assert crawler._create_spider(start_url="https://example.com").from_root
    assert not crawler._create_spider(start_url="https://example.com/politics/").from_root
    assert not crawler._create_spider(start_url="https://example.com/?page=2").from_root


def test_robots_txt_sitemaps_stay_within_the_document_budget() -> None:
    crawler = get_crawler(NewsSpider, settings_dict={"SITEMAP_MAX_DOCUMENTS": 2})
    spider = crawler._create_spider(start_url="https://example.com/", max_pages="5")
    robots = b"User-agent: *\nDisallow: /search\n" + b"".join(b"Sitemap: /sitemap-%d.xml\n" % i for i in range(4))
    requests = list(spider.parse_robots(Response("https://example.com/robots.txt", body=robots)))
    assert [r.url for r in requests] == ["https://example.com/sitemap-0.xml", "https://example.com/sitemap-1.xml"]
    assert all(r.callback == spider.parse_listing and r.cb_kwargs == {"page": 1} for r in requests)
    assert crawler.stats.get_value("newscrawl/discovery/robots_sitemaps") == 4
    assert crawler.stats.get_value("newscrawl/discovery/document_budget_reached") == 1
