"""The generic author rules (newscrawl/extract/authors.py) and the news spider's byline block.

Byline texts are copied from real NAEB dev pages (tests/data/naeb, Apache-2.0, see its
PROVENANCE.md); each case names its page id. Held-out pages are never read here.
"""

from __future__ import annotations

import pytest

from newscrawl.extract.authors import (
    agree, byline_names, contributors, is_name, json_ld_authors, meta_author_names, split_names, without_contributors,
    without_fragments, without_holders,
)
from newscrawl.review import OFFLINE_ORIGIN, OfflineReader


@pytest.mark.parametrize(("text", "names"), [
    ("Jon Talton Columnist", ["Jon Talton"]),  # seattletimes.com d33afa21
    ("Craig Meyer USA TODAY NETWORK", ["Craig Meyer"]),  # thedailyreporter.com dbbf9717
    ("Courtney Carr Courtney Carr Published: December 20, 2023", ["Courtney Carr"]),  # theboot.com 17c9f548
    ("By Charles Fried, Contributing Opinion Writer", ["Charles Fried"]),  # thecrimson.com 2348afdd
    ("By Cam E. Kettles, Crimson Staff Writer", ["Cam E. Kettles"]),  # thecrimson.com d2b439b6
    ("Andrew Bosworth, Chief Technology Officer", ["Andrew Bosworth"]),  # about.fb.com cff22339
    ("HEATHER HOLLINGSWORTH, [monthFull] [day], [year]", ["HEATHER HOLLINGSWORTH"]),  # apnews.com 3ac9004a
    ("Amrita Khalid, surveillance policy, consumer gadgets", ["Amrita Khalid"]),  # theverge.com f119e456
    ("By Sajid bin Mohammad", ["Sajid bin Mohammad"]),  # purseblog.com 60670e22
    ("By Robert Van Sias", ["Robert Van Sias"]),
    ("Travis Andersen and", ["Travis Andersen"]),  # bostonglobe.com 3cc792ad: the next name is the next element
    # sbnation.com 05297591: the illustrator is credited, not an author.
    ("By Jason Krell Mar 19, 2020, 10:00am EDT Illustrations by Tyson Whiting", ["Jason Krell"]),
    ("By Ann Lee. Photos by Bo Kim", ["Ann Lee"]),
    ("By A.J. Jr. Smith III", ["A.J. Jr. Smith III"]),  # capitals of one word stay
])
def test_split_names(text: str, names: list[str]) -> None:
    assert split_names(text) == names


@pytest.mark.parametrize(("value", "expected"), [
    ("TMZ Staff", False),  # tmz.com 5d32cf12
    ("Staff reports", False),  # stltoday.com 937d5284
    ("Head of Reality Labs", False),  # about.fb.com cff22339
    ("Talton writes about business", False),
    ("( Image: Getty Images)", False),
    ("Plus Icon", False),  # variety.com 0faff5b3: a button's label inside the byline
    ("Follow", False),
    ("Simone M. Scully", True),
    ("danah boyd", False),  # the price of the capitalisation rule: a lower-case name is read as prose
])
def test_is_name(value: str, expected: bool) -> None:
    assert is_name(value) is expected


def test_byline_names_of_a_block_run_together() -> None:
    # pbs.org 05a586a4: the outer byline element holds both bylines twice (visible and screen-reader copy).
    texts = [
        "By — Najib Jobain, Associated Press Najib Jobain, Associated Press By — Samy Magdy, Associated Press",
        "Najib Jobain, Associated Press", "Samy Magdy, Associated Press",
    ]
    assert byline_names(texts) == (["Najib Jobain", "Samy Magdy"], ["AP"])
    # bostonglobe.com 3cc792ad: one name per inner element, the outer one runs them into a desk.
    texts = ["By Travis Andersen and Adam Sennott Globe Staff and Globe Correspondent, Updated",
             "Travis Andersen and", "Adam Sennott"]
    assert byline_names(texts) == (["Travis Andersen", "Adam Sennott"], [])


def test_byline_names_skip_one_word_labels() -> None:
    # techradar.com 959e3e41: the section label sits in a byline element.
    texts = ["Reviews By Lance Ulanoff last updated 19 September 2023", "Reviews", "By Lance Ulanoff"]
    assert byline_names(texts) == (["Lance Ulanoff"], [])


def test_without_fragments() -> None:
    assert without_fragments(["Associated Press Najib Jobain", "Najib Jobain", "najib jobain"]) == ["Najib Jobain"]
    assert without_fragments(["Ann Lee", "Lee"]) == ["Ann Lee"]  # a part of a name goes, the name stays
    assert without_fragments(["Jo Ann", "Ann Jones"]) == ["Jo Ann", "Ann Jones"]


@pytest.mark.parametrize(("metadata", "byline", "expected"), [
    # npr.org 446a3818: JSON-LD keeps the first of three.
    (["Aaron Scott"], ["Aaron Scott", "Berly McCoy", "Rebecca Ramirez"], ["Aaron Scott", "Berly McCoy", "Rebecca Ramirez"]),
    # A byline naming someone else is no agreement: the metadata stands.
    (["Aaron Scott"], ["Berly McCoy"], ["Aaron Scott"]),
    (["Aaron Scott"], [], ["Aaron Scott"]),
    # gamesradar.com 377c75f1: the metadata names more than the byline; it stands.
    (["Grace Dean", "Jasmine Gould-Wilson", "Leon Hurley"], ["Grace Dean"],
     ["Grace Dean", "Jasmine Gould-Wilson", "Leon Hurley"]),
])
def test_agree(metadata: list[str], byline: list[str], expected: list[str]) -> None:
    assert agree(metadata, byline) == expected


# ---------------------------------------------------------------- the news spider


@pytest.fixture(scope="module")
def reader() -> OfflineReader:
    return OfflineReader("news", f"{OFFLINE_ORIGIN}/")


STORY = ("<p>" + "A paragraph of the story that is long enough to count as prose. " * 6 + "</p>") * 4


def _page(byline: str, after: str = "") -> bytes:
    return f"<html lang='en'><body><article><h1>A headline</h1>{byline}{STORY}</article>{after}</body></html>".encode()


def test_spider_reads_the_first_byline_block_only(reader: OfflineReader) -> None:
    # cbssports.com ca503969: the story's byline, then the bylines of teasers further down.
    html = _page(
        '<div class="byline">By Will Backus Dec 23, 2023 at 3:15 pm ET</div>',
        '<ul><li><span class="author">Dennis Dodd</span></li><li><span class="author">Tom Fornelli</span></li></ul>',
    )
    assert reader.read(html, "https://example.com/college-football/news/a-pick/").authors == ["Will Backus"]


def test_spider_joins_names_split_over_inner_elements(reader: OfflineReader) -> None:
    html = _page('<div class="byline">By <a class="author">Travis Andersen</a> and <a class="author">Adam Sennott</a>'
                 " Globe Staff and Globe Correspondent, Updated</div>")
    assert reader.read(html, "https://example.com/2023/12/22/metro/a-story/").authors == ["Travis Andersen", "Adam Sennott"]


def test_spider_drops_desks_from_a_byline_paragraph(reader: OfflineReader) -> None:
    # stltoday.com 937d5284: "Staff reports" is no author.
    html = _page("<p>By Staff reports</p>")
    assert reader.read(html, "https://example.com/news/local/a-chase/").authors == []


def test_json_ld_authors_of_a_headlined_work() -> None:
    # bhg.com e43d15be: the page's JSON-LD node is a Recipe, no article type.
    nodes = [{"@type": ["Recipe"], "headline": "Copycat Giant Peppermint-Chocolate Cookies",
              "author": [{"@type": "Person", "name": "Erin Hooker", "url": "https://www.bhg.com/erin-hooker-8419098"}]}]
    assert json_ld_authors(nodes, {}) == ["Erin Hooker"]
    assert json_ld_authors([{"@type": "Organization", "name": "BHG", "author": "Nobody Here"}], {}) == []


@pytest.mark.parametrize(("meta", "names"), [
    ({"sailthru.author": ["Erin Hooker"]}, ["Erin Hooker"]),  # bhg.com e43d15be
    ({"twitter:label1": ["Written by"], "twitter:data1": ["Team EBONY"]}, ["Team EBONY"]),  # ebony.com f2b1a821
    ({"twitter:label1": ["Est. reading time"], "twitter:data1": ["2 minutes"]}, []),
    ({"byl": ["By Jane Roe"]}, ["By Jane Roe"]),
])
def test_meta_author_names(meta: dict[str, list[str]], names: list[str]) -> None:
    assert meta_author_names(meta) == names


def test_spider_reads_author_links_after_the_headline_only(reader: OfflineReader) -> None:
    # thedailyworld.com 9b7aa1ff: "By <a href=/author/…>" in a class no byline rule knows; the menu
    # above the headline links another writer's page.
    html = (
        "<html lang='en'><body><nav><a href='/author/paul-solman/'>Paul Solman</a></nav><article><h1>A headline</h1>"
        "<div class='latest-by'>By <a href='https://example.com/author/ryan-sparks/'>Ryan Sparks</a> • December 20, 2023</div>"
        + STORY
        + "</article></body></html>"
    ).encode()
    assert reader.read(html, "https://example.com/sports/roundup/").authors == ["Ryan Sparks"]


def test_spider_reads_the_headline_byline_when_metadata_names_the_site(reader: OfflineReader) -> None:
    # weather.com 595ed638: JSON-LD credits the site; the page prints the writer under the headline.
    html = (
        "<html lang='en'><head><meta property='og:site_name' content='The Weather Channel'>"
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"@type": "Organization", '
        '"name": "The Weather Channel"}}</script></head><body><h1>10 Eco-Friendly Ways</h1>'
        "<h4>By <span class='x'><a href='/b/x'>Simone M. Scully</a></span></h4><h4>December 11, 2023</h4>"
        + STORY
        + "</body></html>"
    ).encode()
    assert reader.read(html, "https://weather.com/safety/winter/news/a-story").authors == ["Simone M. Scully"]


@pytest.mark.parametrize(("texts", "helpers"), [
    # gamesradar.com 377c75f1 and f17ff7b9: contributors are printed in the byline, JSON-LD lists them as authors.
    (["By Grace Dean Contributions from Jasmine Gould-Wilson , Leon Hurley last updated"], {"jasmine gould-wilson", "leon hurley"}),
    (["By Robbie Dunlop Contributions from Megan Garside published 23 December 2023"], {"megan garside"}),
    (["By Ann Lee. Additional reporting by Bo Kim and Cy Young"], {"bo kim", "cy young"}),
    (["By Ann Lee and Bo Kim"], set()),
])
def test_contributors(texts: list[str], helpers: set[str]) -> None:
    assert contributors(texts) == helpers


def test_without_contributors_keeps_someone() -> None:
    assert without_contributors(["Robbie Dunlop", "Megan Garside"], {"megan garside"}) == ["Robbie Dunlop"]
    assert without_contributors(["Megan Garside"], {"megan garside"}) == ["Megan Garside"]


@pytest.mark.parametrize(("names", "paragraphs", "kept"), [
    # arstechnica.com 12d017f9: the outlet after the writers is the story's copyright holder.
    (["Javier Espinoza", "Patricia Nilsson", "Financial Times"],
     ["Three of the world's biggest pornography sites …",
      "© 2023 The Financial Times Ltd. All rights reserved. Not to be redistributed, copied, or modified in any way."],
     ["Javier Espinoza", "Patricia Nilsson"]),
    (["Jane Roe"], ["A story.", "© 2023 Jane Roe"], ["Jane Roe"]),  # the only name stays
    (["Ann Lee", "Bo Kim"], ["A story.", "Photos: Getty"], ["Ann Lee", "Bo Kim"]),
])
def test_without_holders(names: list[str], paragraphs: list[str], kept: list[str]) -> None:
    assert without_holders(names, paragraphs) == kept
