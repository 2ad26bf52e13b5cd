"""Fuzzing with hypothesis: hostile article and listing pages through parsing and every pipeline.

Truncated HTML, deep nesting, huge attributes, script-injected text, absurd dates, empty bodies,
wrong charsets and binary junk go through ``build_article`` / ``parse_listing`` on real
``HtmlResponse`` objects, then Clean -> Validate -> Deduplicate -> Store into a real database.
Properties: nothing raises but a typed ``ArticleDropped``; the database refuses no row; no
markup from tags is stored as text; a listing page yields only on-site article requests.
1,100 generated pages in all (700 + 300 on SQLite, 100 on PostgreSQL).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow
from newscrawl.exceptions import ArticleDropped
from newscrawl.pipelines import CleanPipeline, DeduplicatePipeline, StorePipeline, ValidatePipeline
from newscrawl.spiders.japantoday import JapanTodaySpider
from tests.test_pipelines import WITH_DATABASE

SITE = "https://japantoday.com"
FUZZ = settings(deadline=None, database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
#: Generated pages per test: 1,100 in all.
ARTICLE_EXAMPLES, LISTING_EXAMPLES, POSTGRES_EXAMPLES = 700, 300, 100

# ---------------------------------------------------------------- strategies

#: Prose without "<", ">" and "&": any of them in stored text can only have come from markup.
prose = st.text(
    st.characters(blacklist_characters="<>&", blacklist_categories=("Cs",)), max_size=120
)
words = st.text(st.characters(whitelist_categories=("L", "N"), max_codepoint=0x2FFF), min_size=1, max_size=12)
#: Text that must never be stored: it only ever sits inside non-text elements.
SECRET = "SECRETMARK"
hidden = st.sampled_from([
    f"<script>document.write('{SECRET}')</script>",
    f"<script type=\"text/template\"><p>{SECRET}</p></script>",
    f"<style>p::after{{content:'{SECRET}'}}</style>",
    f"<noscript><img src=x onerror=alert(1)>{SECRET}</noscript>",
    f"<template><p>{SECRET}</p></template>",
    f"<textarea>{SECRET}</textarea>",
    f"<iframe src=\"javascript:alert(1)\">{SECRET}</iframe>",
    f"<!-- {SECRET} -->",
    f"<svg><script>{SECRET}</script></svg>",
])
absurd_date = st.one_of(
    st.sampled_from([
        "", "0000-00-00", "0000-00-00T00:00:00Z", "9999-12-31T23:59:59Z", "99999-01-01", "-0001-01-01",
        "2026-13-45 25:61", "2026-02-30", "1e308", "NaN", "yesterday", "1970-01-01T00:00:00Z",
        "1900-01-01", "2100-01-01T00:00:00+14:00", "2026-06-05T10:00:00+99:00", "20260605", "2026-06-05 10:00",
        "Fri, 05 Jun 2026 10:00:00 GMT", "2026-06-05T10:00:00.999999999999Z", "\u0662\u0660\u0662\u0666-06-05",
    ]),
    st.datetimes().map(lambda d: d.isoformat()),
    prose,
)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One element around generated children: formatting, blocks, huge or hostile attributes."""
    tag = st.sampled_from(["b", "i", "span", "a", "em", "div", "p", "section", "li", "blockquote", "font"])
    attribute = st.one_of(
        st.just(""),
        st.integers(0, 60_000).map(lambda n: f' class="{"x" * n}"'),
        st.sampled_from([' onclick="alert(1)"', ' style="display:none"', ' href="javascript:alert(1)"',
                         ' data-x="&quot;&gt;&lt;script&gt;"', " itemprop=articleBody", ' id="comments"']),
    )
    return st.tuples(tag, attribute, children).map(lambda t: f"<{t[0]}{t[1]}>{t[2]}</{t[0]}>")


fragment = st.recursive(
    st.one_of(prose, hidden, st.just("<br>"), st.just("<p>"), st.just("</div>"), st.just("<b><i>x</b></i>")),
    lambda inner: st.one_of(element(inner), st.lists(inner, max_size=4).map("".join)),
    max_leaves=12,
)
nested = st.tuples(st.integers(0, 3000), prose).map(lambda t: "<div><span>" * t[0] + t[1] + "</span></div>" * (t[0] // 2))
paragraphs = st.lists(st.one_of(fragment, nested, st.just("")), max_size=6)


@st.composite
def json_ld(draw: st.DrawFn) -> str:
    """A JSON-LD block: a NewsArticle with generated fields, or broken / hostile JSON."""
    node: dict[str, Any] = {"@context": "https://schema.org", "@type": draw(st.sampled_from(["NewsArticle", "Article", "Thing", ["NewsArticle"]]))}
    for key, value in draw(st.dictionaries(
        st.sampled_from(["headline", "datePublished", "dateModified", "articleBody", "author", "keywords", "description", "image"]),
        st.one_of(prose, absurd_date, st.lists(prose, max_size=3), st.integers(), st.none(),
                  st.builds(lambda n: {"name": n, "@type": "Person"}, prose)),
        max_size=6,
    )).items():
        node[key] = value
    text = json.dumps(node).replace("</", "<\\/")
    return draw(st.sampled_from([
        text, text[: len(text) // 2], "{" * 5000, "[" + text + "," + text + "]", '{"@graph": ' + text + "}",
    ]))


@dataclass
class Page:
    body: bytes
    headers: dict[str, str]


@st.composite
def article_page(draw: st.DrawFn) -> Page:
    """A hostile article page, as bytes on the wire with a Content-Type header."""
    head = "".join(draw(st.lists(st.one_of(
        st.builds(lambda s: f'<script type="application/ld+json">{s}</script>', json_ld()),
        st.builds(lambda t: f'<meta property="og:title" content="{t}">', prose.map(lambda s: s.replace('"', "'"))),
        st.builds(lambda d: f'<meta property="article:published_time" content="{d}">',
                  absurd_date.map(lambda s: s.replace('"', "'"))),
        st.sampled_from(['<meta charset="utf-8">', '<meta charset="shift_jis">', '<meta charset="bogus-8">',
                         '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
                         '<base href="https://evil.example/">']),
    ), max_size=4)))
    # A third of the pages are plausible (a real date, UTF-8, whole): they must reach the database.
    plausible = draw(st.integers(0, 2)) == 0
    title = draw(st.one_of(prose, fragment) if not plausible else words)
    real_date = st.datetimes(datetime(1995, 1, 1), datetime(2025, 12, 31), timezones=st.just(timezone.utc))
    date = (draw(real_date).isoformat() if plausible else draw(absurd_date)).replace('"', "'")
    body = "".join(f"<p>{p}</p>" for p in draw(paragraphs))
    if plausible:  # no metadata to contradict the date, one sure paragraph, unique (no duplicate drops)
        head = ""
        body += f"<p>Story {draw(st.uuids())} {draw(prose)}</p>"
    html = (
        f"<!DOCTYPE html><html><head>{head}</head><body>"
        f"<h1>{title}</h1><time datetime=\"{date}\">{draw(prose)}</time>"
        f"<div itemprop=\"articleBody\">{body}</div>"
        f"<p>©{draw(words)}</p><div class=\"comments\"><p>{draw(prose)}</p></div></body></html>"
    )
    if plausible:
        return Page(html.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
    raw = html.encode(draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "shift_jis", "utf-16"])), "ignore")
    cut = draw(st.one_of(st.none(), st.integers(0, len(raw))))
    if cut is not None:  # truncated anywhere: mid-tag, mid-character
        raw = raw[:cut]
    # Junk lands in text, not inside a tag: junk in a tag is the test below.
    junk = draw(st.binary(max_size=64).map(lambda b: bytes(c for c in b if c not in b"<>&")))
    raw = raw.replace(b'<div itemprop="articleBody">', b'<div itemprop="articleBody">' + junk, 1)
    content_type = draw(st.sampled_from([
        "text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1", "text/html; charset=bogus",
        "text/html; charset=shift_jis",
    ]))
    return Page(raw, {"Content-Type": content_type})


@st.composite
def listing_page(draw: st.DrawFn) -> Page:
    """A hostile listing page: teasers with odd links and dates, junk around them."""
    href = st.one_of(
        words.map(lambda w: f"/category/politics/{w}"),
        st.sampled_from([
            "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
            "//evil.example/category/politics/x", "https://evil.example/category/politics/x",
            "https://japantoday.com.evil.example/category/politics/x", "/category/politics/", "/category/politics/a/b",
            "mailto:a@b", " \t/category/politics/spaced\n", "%zz", "/category/politics/%E2%80%99s",
            "/category/politics/" + "x" * 5000, "https://user:pass@japantoday.com/category/politics/x",
        ]),
        prose.map(lambda s: s.replace('"', "")),
    )
    teaser = st.tuples(href, absurd_date, prose).map(
        lambda t: f'<div class="media"><a href="{t[0]}">{t[2]}</a><time datetime="{t[1]}"></time></div>'
    )
    items = draw(st.lists(st.one_of(teaser, fragment, nested), max_size=12))
    html = "<html><body>" + "".join(items) + "</body></html>"
    raw = html.encode("utf-8")
    cut = draw(st.one_of(st.none(), st.integers(0, len(raw))))
    if cut is not None:
        raw = raw[:cut]
    raw = raw + draw(st.binary(max_size=64))
    return Page(raw, {"Content-Type": "text/html; charset=utf-8"})


# ---------------------------------------------------------------- the pipeline under test


class Chain:
    """The spider and the four pipelines, built from one crawler the way Scrapy builds them."""

    def __init__(self, database_url: str, tmp: Path) -> None:
        self.crawler: Crawler = get_crawler(JapanTodaySpider, {
            "DATABASE_URL": database_url, "STORE_BATCH_SIZE": 1, "STORE_SPOOL_DIR": str(tmp / "spool"),
            **WITH_DATABASE,
        })
        self.spider = self.crawler._create_spider()
        self.crawler.spider = self.spider
        self.pipelines = [
            CleanPipeline.from_crawler(self.crawler), ValidatePipeline.from_crawler(self.crawler),
            DeduplicatePipeline.from_crawler(self.crawler),
        ]
        self.store = StorePipeline.from_crawler(self.crawler)
        self.numbers = itertools.count()
        self.drops: Counter[str] = Counter()

    def stat(self, key: str) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats.get_value(key, 0)

    def article(self, page: Page) -> None:
        url = f"{SITE}/category/politics/fuzz-{next(self.numbers)}"
        response = HtmlResponse(url, body=page.body, headers=page.headers, request=Request(url))
        items = list(self.spider.parse_article(response))
        for item in items:
            try:
                for pipeline in [*self.pipelines, self.store]:
                    item = pipeline.process_item(item)
            except ArticleDropped as drop:
                self.drops[type(drop).__name__] += 1
                continue  # a typed reason: the only way out but storing
            self.store.wait()  # the writer thread has written the row
            assert self.stat("store/failed") == 0, "the database refused a row"
            self.check_stored(item.url)

    def check_stored(self, url: str) -> None:
        assert self.store.engine is not None
        with Session(self.store.engine) as session:
            row = session.scalars(select(ArticleRow).where(ArticleRow.url == url)).one()
        for text in (row.title, row.body, row.summary, row.dateline, row.credit, *row.authors, *row.tags):
            if text:
                assert "<" not in text and ">" not in text, f"markup stored as text: {text[:200]!r}"
        # Titles and bylines come from base.py's own text reader, which skips script and style only.
        assert SECRET not in (row.body or ""), f"non-text element stored: {row.body[:200]!r}"
        assert row.published_at is not None and row.published_at.tzinfo is not None

    def listing(self, page: Page) -> None:
        response = HtmlResponse(f"{SITE}/category/politics", body=page.body, headers=page.headers,
                                request=Request(f"{SITE}/category/politics"))
        for output in self.spider.parse_listing(response, page=1):
            assert isinstance(output, Request)
            url = urlsplit(output.url)  # (userinfo, "https://user:pass@japantoday.com/…", is kept)
            assert (url.scheme, url.hostname) == ("https", "japantoday.com"), output.url
            assert url.path.startswith("/category/politics/") or output.url == self.spider.listing_url(2), output.url


@contextmanager
def chain(database_url: str, tmp: Path) -> Iterator[Chain]:
    built = Chain(database_url, tmp)
    built.store.open_spider()
    try:
        yield built
    finally:
        built.store.close_spider()
        built.store.database.close()


def test_hostile_article_pages_are_stored_clean_or_dropped_with_a_reason(tmp_path: Path) -> None:
    with chain(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path) as pipeline:

        @settings(FUZZ, max_examples=ARTICLE_EXAMPLES)
        @given(page=article_page())
        def run(page: Page) -> None:
            pipeline.article(page)

        run()
        # The fuzz reaches the database, and the drop reasons are many, not one catch-all.
        assert pipeline.stat("store/inserted") >= ARTICLE_EXAMPLES // 10
        assert len(pipeline.drops) >= 3, pipeline.drops


def test_hostile_listing_pages_yield_only_on_site_article_requests(tmp_path: Path) -> None:
    pipeline = Chain(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path)

    @settings(FUZZ, max_examples=LISTING_EXAMPLES)
    @given(page=listing_page())
    def run(page: Page) -> None:
        pipeline.listing(page)

    run()


@pytest.mark.postgres
def test_hostile_article_pages_on_postgresql(postgresql_url: str, tmp_path: Path) -> None:
    with chain(postgresql_url, tmp_path) as pipeline:

        @settings(FUZZ, max_examples=POSTGRES_EXAMPLES)
        @given(page=article_page())
        def run(page: Page) -> None:
            pipeline.article(page)

        run()


#: Links that crashed parse_listing before, found by this fuzz: one bad link must not lose the page.
CRASHING_LINKS = ["http://[::1/category/politics/x", "http://japantoday.com:99999/category/politics/x"]


@pytest.mark.parametrize("href", CRASHING_LINKS)
def test_one_malformed_link_does_not_lose_the_listing_page(tmp_path: Path, href: str) -> None:
    html = f'<html><body><div class="media"><a href="/category/politics/good">ok</a></div>' \
           f'<div class="media"><a href="{href}">bad</a></div></body></html>'
    pipeline = Chain(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path)
    response = HtmlResponse(f"{SITE}/category/politics", body=html.encode(), encoding="utf-8",
                            request=Request(f"{SITE}/category/politics"))
    urls = [request.url for request in pipeline.spider.parse_listing(response, page=1)]
    assert f"{SITE}/category/politics/good" in urls


#: Article pages that crashed build_article before, found by this fuzz (binary junk inside a tag).
CRASHING_PAGES = {
    "base-href-bad-ipv6": b'<html><head><base href="https://[evil.example/"></head><body><h1>T</h1></body></html>',
    "control-char-in-attribute-name": b'<html><head><meta property="og:title"\x01 content="T"></head><body></body></html>',
}


@pytest.mark.parametrize("body", CRASHING_PAGES.values(), ids=CRASHING_PAGES.keys())
def test_junk_inside_a_tag_is_a_typed_drop_or_an_article(tmp_path: Path, body: bytes) -> None:
    Chain(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path).article(Page(body, {"Content-Type": "text/html"}))
