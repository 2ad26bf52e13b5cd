"""The generic date rules (newscrawl/extract/published.py) and the news spider's use of them.

Snippets are cut from real NAEB dev pages (tests/data/naeb, Apache-2.0, see its PROVENANCE.md);
each case names its page id. Held-out pages are never read here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from lxml import etree
from lxml import html as lxml_html

from newscrawl.dates import parse_datetime
from newscrawl.extract.published import (
    Stated, choose, could_be_day, local_twin, read_date, stated_dates, text_dates, url_date, url_month, visible_dates,
)
from newscrawl.review import OFFLINE_ORIGIN, OfflineReader

UTC = timezone.utc


def _stated(source: str, raw: str, updated: bool = False) -> Stated:
    value = read_date(raw)
    assert value is not None, raw
    return Stated(source, raw, value, updated)


@pytest.mark.parametrize(("day", "value", "expected"), [
    # variety.com 0faff5b3: 01:06 UTC on the 24th is the 23rd in Los Angeles.
    (date(2023, 12, 23), datetime(2023, 12, 24, 1, 6, 51, tzinfo=UTC), True),
    # fastcompany.com 8c6685fc: 16:28 UTC on the 22nd is the 21st nowhere on Earth.
    (date(2023, 12, 21), datetime(2023, 12, 22, 16, 28, 52, tzinfo=UTC), False),
    # news.com.au 4837aac7: 22:03 UTC on the 25th is the 26th in Sydney.
    (date(2023, 12, 26), datetime(2023, 12, 25, 22, 3, tzinfo=UTC), True),
    # discovermagazine.com 58078b95: an offset the publisher wrote is its own; its day is the day.
    (date(2023, 11, 12), datetime(2023, 11, 11, 19, 0, tzinfo=timezone(timedelta(hours=-6))), False),
    (date(2023, 11, 11), datetime(2023, 11, 11, 19, 0, tzinfo=timezone(timedelta(hours=-6))), True),
    # A wall time (no offset) falls on its own day only.
    (date(2023, 12, 22), datetime(2023, 12, 22, 23, 30), True),
    (date(2023, 12, 23), datetime(2023, 12, 22, 23, 30), False),
])
def test_could_be_day(day: date, value: datetime, expected: bool) -> None:
    assert could_be_day(day, value) is expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.nascar.com/news-media/2023/12/18/bubba-wallace-2023-season-review/", "2023-12-18"),  # 20caadc0
    ("https://weather.com/safety/winter/news/2018-12-03-eco-friendly-ways-to-get-rid-of-christmas-tree", "2018-12-03"),
    ("https://www.smh.com.au/culture/movies/real-life-story-20231218-p5es82.html", "2023-12-18"),  # 822cf3a6
    ("https://www.sbnation.com/2020/3/19/21185093/ash-ketchum-pokemon-career-anime-tv-show", "2020-03-19"),
    # Year and month folders with a timestamp file name: no day (sciencedaily.com 2e3099eb).
    ("https://www.sciencedaily.com/releases/2023/12/231213112457.htm", None),
    # A year inside a slug followed by an ID is no date (apnews.com 3ac9004a).
    ("https://apnews.com/article/taylor-swift-eclipse-positive-stories-2023-f90116512ed7c9f776da4e3b8ae194c5", None),
    ("https://www.miamiherald.com/sports/mls/inter-miami/article283420908.html", None),
])
def test_url_date(url: str, expected: str | None) -> None:
    found = url_date(url)
    assert (found.raw if found else None) == expected
    if found:
        assert parse_datetime(found.raw) is not None  # the clean pipeline reads what the spider stores


def test_url_month() -> None:
    assert url_month("https://www.sciencedaily.com/releases/2023/12/231213112457.htm") == (2023, 12)
    assert url_month("https://www.sciencedaily.com/releases/2023/13/x.htm") is None
    assert url_month("https://www.bhg.com/best-cheap-christmas-gifts-6754455") is None


@pytest.mark.parametrize(("text", "raws"), [
    # sbnation.com 05297591: a name before the month is no weekday.
    ("By Jason Krell Mar 19, 2020, 10:00am EDT Share", ["Mar 19, 2020, 10:00am EDT"]),
    # discovermagazine.com 58078b95: the next date's month is no zone.
    ("Caballar Nov 12, 2023 1:00 AM Nov 17, 2023 5:02 PM", ["Nov 12, 2023 1:00 AM", "Nov 17, 2023 5:02 PM"]),
    ("Thursday, Dec. 21, 2023", ["Thursday, Dec. 21, 2023"]),  # fastcompany.com 8c6685fc
    ("Updated 22 December 2023", ["22 December 2023"]),  # gamesradar.com 377c75f1
    ("on 2023-12-22T10:00:00Z and 12023-01-02", ["2023-12-22T10:00:00Z"]),
    ("The 5 best games of 2023", []),
])
def test_text_dates(text: str, raws: list[str]) -> None:
    assert [raw for raw, _, _ in text_dates(text)] == raws


def test_visible_dates_follow_the_headline_and_know_updates() -> None:
    # thedailybeast.com bf715a7c: both dates printed under the headline; a date above it is chrome.
    page = lxml_html.fromstring(
        "<html><body><div>Tuesday, February 13, 2024</div><h1>Joe Rogan Corrected On Air (Dec. 1, 2023)</h1>"
        "<div>Updated Dec. 23, 2023 4:04AM EST / Published Dec. 22, 2023 12:16PM EST</div>"
        "<script>var d = 'Jan 1, 2020';</script><p>Story.</p></body></html>"
    )
    found = visible_dates(page)
    assert [(s.raw, s.updated) for s in found] == [
        ("Dec. 23, 2023 4:04AM EST", True), ("Dec. 22, 2023 12:16PM EST", False),
    ]


@pytest.mark.parametrize(("statements", "url", "day", "instant"), [
    # smh.com.au 822cf3a6: metadata in UTC, the page prints the Sydney day.
    ([("meta", "2023-12-22T18:30:00+00:00"), ("visible", "December 23, 2023")], None, "December 23, 2023",
     "2023-12-22T18:30:00+00:00"),
    # thedailybeast.com bf715a7c: a printed update yields to the printed first publication.
    ([("json-ld", "2023-12-22T17:16:03.602Z"), ("visible+updated", "Dec. 23, 2023 4:04AM EST"),
      ("visible", "Dec. 22, 2023 12:16PM EST")], None, "Dec. 22, 2023 12:16PM EST", "2023-12-22T17:16:03.602Z"),
    # miamiherald.com 6956f917: only the update is printed; the modified metadata agrees with it.
    ([("json-ld", "2023-12-22T11:09:34-05:00"), ("json-ld-modified", "2023-12-26T10:48:20-05:00"),
      ("visible+updated", "December 26, 2023 10:48 AM")], None, "December 26, 2023 10:48 AM", "2023-12-26T10:48:20-05:00"),
    # fastcompany.com 8c6685fc: a printed date no metadata can fall on is not the story's.
    ([("json-ld", "2023-12-22T16:28:52Z"), ("visible", "Thursday, Dec. 21, 2023")], None,
     "2023-12-22T16:28:52Z", "2023-12-22T16:28:52Z"),
    # variety.com 0faff5b3: the page writes the UTC instant and the publisher's wall clock.
    ([("json-ld", "2023-12-24T01:06:51+00:00"), ("meta", "2023-12-23 17:06:51")], None,
     "2023-12-23 17:06:51", "2023-12-24T01:06:51+00:00"),
    # sciencedaily.com 2e3099eb: no metadata; the printed date in the URL's year and month.
    ([("visible", "December 13, 2023"), ("visible", "February 17, 2024")],
     "https://www.sciencedaily.com/releases/2023/12/231213112457.htm", "December 13, 2023", "December 13, 2023"),
    ([("visible", "February 17, 2024")], "https://example.org/story", None, None),
])
def test_choose(statements: list[tuple[str, str]], url: str | None, day: str | None, instant: str | None) -> None:
    stated = [
        _stated(source.removesuffix("+updated"), raw, source.endswith("+updated")) for source, raw in statements
    ]
    choice = choose(stated, url)
    assert (choice.day.raw if choice else None) == day
    assert (choice.instant.raw if choice and choice.instant else None) == instant


@pytest.mark.parametrize(("utc", "naive", "expected"), [
    ("2023-12-24T01:06:51+00:00", "2023-12-23 17:06:51", "2023-12-23 17:06:51"),  # variety.com 0faff5b3: UTC-8
    ("2023-12-18T14:17:56+00:00", "2023-12-18 09:17:56", "2023-12-18 09:17:56"),  # nascar.com 20caadc0: UTC-5
    ("2023-12-24T01:06:51+00:00", "2023-12-24 01:06:51", "2023-12-24T01:06:51+00:00"),  # the same wall time
    ("2023-12-24T01:06:51+00:00", "2023-12-20 09:04:55", "2023-12-24T01:06:51+00:00"),  # days away: no twin
    ("2023-12-24T01:06:51+00:00", "2023-12-23 17:06:20", "2023-12-24T01:06:51+00:00"),  # no whole-quarter offset
])
def test_local_twin(utc: str, naive: str, expected: str) -> None:
    instant = _stated("json-ld", utc)
    assert local_twin(instant, [instant, _stated("meta", naive)]).raw == expected


def test_a_written_offset_is_kept() -> None:
    instant = _stated("json-ld", "2023-12-18T22:57-05:00")  # discovermagazine.com 855514d0
    assert local_twin(instant, [_stated("meta", "2023-12-19 03:57")]) is instant


def test_stated_dates_reads_every_place() -> None:
    page = lxml_html.fromstring(
        '<html><head><meta property="article:published_time" content="2023-12-25T22:03:00.000Z">'
        '<meta property="article:modified_time" content="2023-12-25T22:03:19.000Z"></head>'
        '<body><h1>Boxing Day sales</h1><time datetime="2023-12-26T09:03:00+11:00">December 26, 2023</time></body></html>'
    )
    nodes = [{"@type": "NewsArticle", "datePublished": "2023-12-25T22:03:00.000Z"}]
    meta = {
        "article:published_time": ["2023-12-25T22:03:00.000Z"],
        "article:modified_time": ["2023-12-25T22:03:19.000Z"],
    }
    url = "https://www.news.com.au/boxing-day/news-story/09310c6c9303accdc89c8681909fdbc4"
    sources = [s.source for s in stated_dates(page, url, nodes, meta)]
    assert sources == ["json-ld", "meta", "meta-modified", "time", "visible"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("Dec 23, 2023 (visible)", datetime(2023, 12, 23, tzinfo=UTC)),
    ("2023-12-13 (htmldate)", datetime(2023, 12, 13, tzinfo=UTC)),
    ("2023-12-18 (url)", datetime(2023, 12, 18, tzinfo=UTC)),
    ("Dec 23, 2023 (somewhere)", None),  # only the spider's own notes are read off
])
def test_source_notes_parse(raw: str, expected: datetime | None) -> None:
    assert parse_datetime(raw) == expected


# ---------------------------------------------------------------- the news spider


@pytest.fixture(scope="module")
def reader() -> OfflineReader:
    return OfflineReader("news", f"{OFFLINE_ORIGIN}/")


def _page(head: str, body: str) -> bytes:
    story = "<p>" + "A paragraph of the story that is long enough to count as prose. " * 6 + "</p>"
    return f"<html lang='en'><head>{head}</head><body><article><h1>A headline</h1>{body}{story * 4}</article></body></html>".encode()


@pytest.mark.parametrize(("head", "body", "url", "raw", "instant"), [
    # smh.com.au 822cf3a6: the instant from the metadata, the day as printed (marked).
    ('<meta property="article:published_time" content="2023-12-22T18:30:00+00:00">',
     "<p><time>December 23, 2023 — 5.30am</time></p>", "https://example.com.au/culture/story-p5es82.html",
     "December 23, 2023 (visible)", datetime(2023, 12, 22, 18, 30, tzinfo=UTC)),
    # miamiherald.com: metadata that already says the printed day is kept as it is.
    ('<meta property="article:published_time" content="2023-12-22T11:09:34-05:00">',
     "<p>December 22, 2023 11:09 AM</p>", "https://example.com/news/article283420908.html",
     "2023-12-22T11:09:34-05:00", datetime(2023, 12, 22, 16, 9, 34, tzinfo=UTC)),
    # nascar.com: no metadata, no printed date: the URL's.
    ("", "<p>No date printed here.</p>", "https://example.com/news-media/2023/12/18/a-season-review/",
     "2023-12-18 (url)", datetime(2023, 12, 18, tzinfo=UTC)),
])
def test_spider_date(reader: OfflineReader, head: str, body: str, url: str, raw: str, instant: datetime) -> None:
    article = reader.read(_page(head, body), url)
    assert (article.published_raw, article.published_at) == (raw, instant)
    source = raw.rsplit("(", 1)[1].rstrip(")") if raw.endswith(")") else None
    if source:
        assert reader.crawler.stats.get_value(f"newscrawl/published/{source}", 0) >= 1


def test_spider_falls_back_to_htmldate_marked(reader: OfflineReader) -> None:
    html = _page('<meta http-equiv="last-modified" content="2024-02-17">', "<p>No date printed here.</p>")
    article = reader.read(html, "https://example.com/releases/story.htm")
    assert article.published_raw is not None and article.published_raw.endswith(" (htmldate)")
    assert article.published_at is not None and article.published_at.tzinfo is not None
    assert article.published_at.utcoffset() == timedelta(0)


def test_visible_dates_on_a_deeply_nested_page() -> None:
    # Hostile markup: the text walk is iterative, so nesting deeper than Python's recursion limit is read.
    page = etree.Element("html")
    body = etree.SubElement(page, "body")
    etree.SubElement(body, "h1").text = "Headline"
    node = body
    for _ in range(5000):
        node = etree.SubElement(node, "div")
    node.text = "Published Dec. 22, 2023"
    assert [s.raw for s in visible_dates(page)] == ["Dec. 22, 2023"]
