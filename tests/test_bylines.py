"""Bylines printed as a plain ``By …`` line near the headline, with no class to find them by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, open_database
from newscrawl.items import Article
from newscrawl.pipelines.clean import CleanPipeline
from newscrawl.registry import spider_class
from tests.conftest import SITES, run_crawl
from tests.support.mirror import Mirror

FIXTURE = SITES / "japantoday" / "bylines"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text("utf-8"))


@pytest.mark.e2e
def test_a_crawl_stores_the_plain_line_bylines(sqlite_url: str, tmp_path: Path) -> None:
    with Mirror(FIXTURE / "mirror") as mirror:
        result = run_crawl("japantoday", tmp_path, "-a", f"start_url={mirror.url('/category/politics')}",
                           settings={"DATABASE_URL": sqlite_url})
        prefix = mirror.base_url
    assert result.returncode == 0, result.stderr[-3000:]
    engine = open_database(sqlite_url)
    with Session(engine) as session:
        rows = {row.url.removeprefix(prefix): row for row in session.scalars(select(ArticleRow))}
        session.expunge_all()
    engine.dispose()
    assert sorted(rows) == sorted(r["path"] for r in EXPECTED["stored"])
    for want in EXPECTED["stored"]:
        row = rows[want["path"]]
        assert (row.authors, row.credit, row.dateline, row.body) == (
            want["authors"], want["credit"], want["dateline"], want["body"]
        ), want["path"]
        assert not row.body.startswith("By ")
    by_path = {r["path"].rsplit("/", 1)[1]: r for r in EXPECTED["stored"]}
    assert by_path["ruling-bloc-and-opposition-agree-to-extend-diet-session-by-two-weeks"]["authors"] == [
        "Haruto Kisaragi", "Lena Ortiz"]
    assert by_path["finance-ministry-panel-proposes-new-rules-for-supplementary-budgets"]["authors"] == [
        "Mio Tanabe", "Kenji Arakawa", "Sofia Brandt"]
    wire = by_path["upper-house-passes-bill-to-expand-local-election-online-voting-trial"]
    assert (wire["authors"], wire["credit"]) == ([], "Kyodo")


PARAGRAPHS = [
    "The cabinet approved a plan on Monday to raise spending on public schools by 5 percent over the next "
    "three years, the education ministry said, citing a shortage of teachers in rural prefectures.",
    "Officials said most of the money would go to teachers' pay and to hiring support staff, while the rest "
    "would pay for repairs to school buildings damaged in recent earthquakes and floods.",
    "Opposition lawmakers said the increase was too small to stop teachers from leaving the profession and "
    "called for a larger budget in the extraordinary Diet session expected in the autumn.",
]
PAGE = """<html><body><header><a href="/">Home</a><p>By subscribing you agree to our terms.</p></header>
<article><h1>Cabinet approves a plan</h1>{near}<time datetime="2026-06-01 10:00">Jun 1</time>
<p class="dateline">TOKYO</p>
<div itemprop="articleBody">{first}""" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + """</div></article>
<aside><p>By Editors Of Another Page</p></aside><footer><p>By Copy Desk</p></footer></body></html>"""


def build(spider: str, html: str) -> Article:
    cls = spider_class(spider)
    crawler = get_crawler(cls)
    site = "https://example.com/politics/" if spider == "news" else cls.start_url
    crawler.spider = cls.from_crawler(crawler, start_url=site)
    url = site.rstrip("/") + "/cabinet-approves-a-plan-to-raise-school-spending"
    response = HtmlResponse(url, body=html.encode(), encoding="utf-8", request=Request(url))
    article = crawler.spider.build_article(response)
    return CleanPipeline.from_crawler(crawler).process_item(article)


@pytest.mark.parametrize("spider", ["japantoday", "news"])
@pytest.mark.parametrize(
    ("near", "first", "authors", "credit"),
    [
        ("<p>By Ann Lee</p>", "", ["Ann Lee"], None),
        ("<div>By <a href='/a/1'>Ann Lee</a> and <a href='/a/2'>Bob Ray</a></div>", "", ["Ann Lee", "Bob Ray"], None),
        ("<span>By Ann Lee, Bob Ray and Cy Wu</span>", "", ["Ann Lee", "Bob Ray", "Cy Wu"], None),
        ("<p>By Ann Lee | AP</p>", "", ["Ann Lee"], "AP"),
        ("<p>By Reuters</p>", "", [], "Reuters"),
        ("<p>AP</p>", "", [], "AP"),
        ("", "<p>By Kyodo</p>", [], "Kyodo"),
        ("", "<p>By Ann Lee and Bob Ray</p>", ["Ann Lee", "Bob Ray"], None),
        # Not bylines: prose near the headline, and "By …" lines elsewhere on the page.
        ("<p>By Monday, the ministry had approved the plan.</p>", "", [], None),
        ("", "", [], None),
    ],
    ids=["one", "two-linked", "three", "pipe-wire", "wire-only", "bare-wire", "body-wire",
         "body-two", "prose", "none"],
)
def test_a_byline_near_the_headline_is_read_without_a_class(
    spider: str, near: str, first: str, authors: list[str], credit: str | None
) -> None:
    article = build(spider, PAGE.format(near=near, first=first))
    assert article.authors == authors
    assert article.credit == credit
    assert article.body is not None and not article.body.startswith("By ")
    assert article.body == "\n\n".join(PARAGRAPHS)


AP_PAGE = (
    """<html><body><main><h1>Cabinet approves a plan</h1>{near}<div class="RichTextStoryBody">{first}"""
    + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    + "</div></main></body></html>"
)


@pytest.mark.parametrize(
    ("near", "first", "authors"),
    [
        ("<p>By Ann Lee</p>", "", ["Ann Lee"]),
        # Inside the body (the site's body selector, no schema.org container): not the byline.
        ("", "<p>WASHINGTON</p><p>By Ann Lee</p>", []),
    ],
    ids=["before-body", "inside-body"],
)
def test_a_by_line_counts_only_before_the_site_s_body(near: str, first: str, authors: list[str]) -> None:
    article = build("apnews", AP_PAGE.format(near=near, first=first))
    assert article.authors == authors


@pytest.mark.parametrize("spider", ["japantoday", "news"])
def test_a_wire_in_the_site_s_byline_element_is_the_credit(spider: str) -> None:
    page = PAGE.format(near="", first="").replace("</article>", "</article><div class='author'>By Reuters</div>")
    article = build(spider, page)
    assert (article.authors, article.credit) == ([], "Reuters")
