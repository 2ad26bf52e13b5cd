"""The WARC archive's parts without a crawl: writing and reading records, cut files, revision kinds, import routing."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.archive import default_archive_dir
from newscrawl.archive.reader import iter_records, read_record
from newscrawl.archive.writer import Exchange, WarcFiles
from newscrawl.cli.warc import Routing, Site, classify
from newscrawl.db import open_database
from newscrawl.db.models import ArticleRevision, ArticleRow
from newscrawl.db.store import REEXTRACTION, Outcome, save_articles


def exchange(n: int, size: int = 2000) -> Exchange:
    body = f"<html><h1>page {n}</h1>".encode() + bytes(range(256)) * (size // 256) + b"</html>"
    return Exchange(f"http://news.test/a/{n}?q=1", 200, "OK",
                    [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                     ("Transfer-Encoding", "chunked")],
                    body, request_headers=[("Host", "news.test"), ("User-Agent", "newscrawl/test")])


def test_each_record_is_read_back_by_its_offset_with_the_exact_bytes(tmp_path: Path) -> None:
    files = WarcFiles(tmp_path, "japantoday", max_size=10_000)
    written = [(exchange(n), files.write(exchange(n))) for n in range(12)]
    files.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == files.serial > 1  # rotated by size
    assert all(re.fullmatch(r"japantoday-\d{8}T\d{6}Z-\d+-\d{5}\.warc\.gz", name) for name in names)
    for sent, (name, offset) in written:
        record = read_record(tmp_path / name, offset)
        assert record is not None and record.type == "response" and record.truncated is None
        assert (record.url, record.status, record.body) == (sent.url, 200, sent.body)
        # Both cookies kept; the framing the client undid is not claimed for the stored body.
        assert [v for k, v in record.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
        assert record.header("transfer-encoding") is None
    every = [r for name in names for r in iter_records(tmp_path / name)]
    assert Counter(r.type for r in every) == {"warcinfo": len(names), "response": 12, "request": 12}


def test_a_new_writer_never_reuses_a_file(tmp_path: Path) -> None:
    first = WarcFiles(tmp_path, "japantoday")
    first.write(exchange(1))
    first.close()
    assert first.path is not None
    before = first.path.read_bytes()
    second = WarcFiles(tmp_path, "japantoday")  # same process, same second: the next serial
    second.write(exchange(2))
    second.close()
    assert second.path != first.path and first.path.read_bytes() == before
    assert [r.url for r in iter_records(second.path) if r.type == "response"] == [exchange(2).url]  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", [1, 7, 100, 600])
def test_a_cut_last_record_is_detected_and_the_others_read(tmp_path: Path, cut: int) -> None:
    files = WarcFiles(tmp_path, "japantoday")
    offsets = [files.write(exchange(n))[1] for n in range(5)]
    files.close()
    path = files.path
    assert path is not None
    data = path.read_bytes()
    # Cut inside the last response record's gzip member (a writer killed mid-write).
    last_request = next(r.offset for r in iter_records(path) if r.type == "request" and r.offset > offsets[-1])
    path.write_bytes(data[: last_request - cut])
    records = list(iter_records(path))
    assert records[-1].type == "" and records[-1].truncated and records[-1].offset == offsets[-1]
    assert [r.offset for r in records if r.type == "response"] == offsets[:-1]
    cut_record = read_record(path, offsets[-1])  # read alone: nothing, or only its gzip trailer was lost
    assert cut_record is None or cut_record.body == exchange(4).body
    assert read_record(path, offsets[-2]).body == exchange(3).body  # type: ignore[union-attr]


def test_the_archive_sits_beside_the_sqlite_file(tmp_path: Path) -> None:
    assert default_archive_dir(f"sqlite:///{tmp_path}/db/news.db") == tmp_path / "db" / "newscrawl-archive"
    assert default_archive_dir("postgresql+psycopg://u@h/db") == Path.cwd() / "newscrawl-archive"


def _values(url: str, title: str, **extra: object) -> dict[str, object]:
    return {"url": url, "source": "japantoday", "section": "politics", "title": title, "body": "Text.",
            "published_at": datetime(2026, 1, 1, tzinfo=timezone.utc), "authors": [], "tags": [],
            "content_hash": title, "warc_file": "a.warc.gz", "warc_offset": 10, **extra}


def test_a_reextraction_is_its_own_kind_of_revision_and_leaves_last_seen(db_url: str) -> None:
    engine = open_database(db_url)
    then = datetime(2026, 2, 1, tzinfo=timezone.utc)
    later = then + timedelta(days=3)
    with Session(engine) as session, session.begin():
        save_articles(session, [_values("https://x.test/1", "Old"), _values("https://x.test/2", "Same")], then)
    changes: Counter[str] = Counter()
    with Session(engine) as session, session.begin():
        outcomes = save_articles(session, [_values("https://x.test/1", "New"),
                                           _values("https://x.test/2", "Same", dateline="TOKYO", image_url=None)],
                                 later, kind=REEXTRACTION, seen=False, changes=changes)
    assert outcomes == [Outcome.UPDATED, Outcome.UNCHANGED]
    # Without a text change a re-extraction still sets every column (dateline, not only volatile ones).
    assert changes == {"title": 1, "content_hash": 1, "dateline": 1}
    with Session(engine) as session:
        rows = {r.url: r for r in session.scalars(select(ArticleRow))}
        revisions = session.scalars(select(ArticleRevision)).all()
        assert [(r.title, r.kind) for r in revisions] == [("Old", REEXTRACTION)]
        assert rows["https://x.test/2"].dateline == "TOKYO"
        assert {r.last_seen_at for r in rows.values()} == {then}
    with Session(engine) as session, session.begin():
        save_articles(session, [_values("https://x.test/1", "Site edit", warc_offset=99)], later)
    with Session(engine) as session:
        assert [r.kind for r in session.scalars(select(ArticleRevision).order_by(ArticleRevision.id))] == [
            REEXTRACTION, "crawl"]
        row = session.scalars(select(ArticleRow).where(ArticleRow.url == "https://x.test/1")).one()
        assert (row.warc_offset, row.last_seen_at) == (99, later)
    engine.dispose()


SITES = [Site("japantoday", "japantoday.com", re.compile(r"/category/politics/[^/]+"))]


@pytest.mark.parametrize(("url", "hosts", "generic", "routed"), [
    ("https://japantoday.com/category/politics/a-story", {}, False, ("japantoday", "")),
    ("https://www.japantoday.com/category/politics/a-story", {}, False, ("japantoday", "")),
    ("https://japantoday.com/category/politics", {}, True, (None, "not_article")),
    ("https://japantoday.com/category/sports/a-story", {}, True, (None, "not_article")),
    ("http://127.0.0.1:8000/category/politics/a-story", {"127.0.0.1:8000": "japantoday"}, False, ("japantoday", "")),
    ("http://127.0.0.1:8000/category/politics/a-story", {}, False, (None, "unknown_site")),
    ("https://example.com/2026/05/01/a-long-story-slug-here", {}, True, ("news", "")),
    ("https://example.com/tag/politics", {}, True, (None, "not_article")),
])
def test_routing_by_site_and_article_pattern(url: str, hosts: dict[str, str], generic: bool,
                                             routed: tuple[str | None, str]) -> None:
    assert Routing(SITES, hosts, generic).route(url) == routed


def _http(status: str, content_type: str) -> StatusAndHeaders:
    return StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")


def test_import_classifies_every_record_by_reason(tmp_path: Path) -> None:
    path = tmp_path / "other.warc.gz"
    article = "https://japantoday.com/category/politics/a-story"
    with open(path, "wb") as file:
        writer = WARCWriter(file, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        for url, status, ctype in [
            (article, "200 OK", "text/html; charset=utf-8"),
            (article + "?utm=1", "200 OK", "text/html"),  # the same article again
            ("https://japantoday.com/category/politics", "200 OK", "text/html"),
            ("https://japantoday.com/robots.txt", "200 OK", "text/plain"),
            ("https://japantoday.com/category/politics/gone", "404 Not Found", "text/html"),
            ("https://elsewhere.test/2026/05/01/a-long-story-slug", "200 OK", "text/html"),
        ]:
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(b"<html></html>"),
                                                          length=13, http_headers=_http(status, ctype)))
        writer.write_record(writer.create_revisit_record(article, "sha1:AAAA", article, "2026-01-01T00:00:00Z",
                                                         http_headers=_http("200 OK", "text/html")))
        writer.write_record(writer.create_warc_record(article, "request", payload=BytesIO(b""), length=0))
    whole = path.read_bytes()
    with open(path, "ab") as file:  # a last record cut short
        writer = WARCWriter(file, gzip=True)
        writer.write_record(writer.create_warc_record(article + "-2", "response", payload=BytesIO(b"<html>" * 500),
                                                      length=3000, http_headers=_http("200 OK", "text/html")))
    path.write_bytes(path.read_bytes()[: len(whole) + 200])
    groups, skipped, others = classify([path], Routing(SITES), None)
    assert [r.url for r in groups["japantoday"]] == [article]
    assert skipped == {"duplicate": 1, "not_article": 1, "not_html": 1, "not_ok": 1, "unknown_site": 1,
                       "revisit": 1, "truncated": 1}
    assert others == {"warcinfo": 1, "request": 1}
    groups, skipped, _ = classify([path], Routing(SITES, generic=True), "world")
    assert [(r.source, r.section) for r in groups["news"]] == [("elsewhere.test", "world")]


def test_an_archive_that_cannot_be_written_is_dropped_once_and_the_crawl_goes_on(tmp_path: Path) -> None:
    from scrapy import Request, Spider
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from newscrawl.archive import META_WARC
    from newscrawl.archive.middleware import ArchiveMiddleware
    from newscrawl.requestmeta import META_ARTICLE

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the archive folder should be")
    crawler = get_crawler(settings_dict={"ARCHIVE_DIR": str(blocked / "archive"),
                                         "DATABASE_URL": f"sqlite:///{tmp_path}/news.db"})
    middleware = ArchiveMiddleware.from_crawler(crawler)
    crawler.stats.open_spider()
    middleware.spider_opened(Spider(name="japantoday"))
    for n in range(3):
        request = Request(f"http://news.test/a/{n}", meta={META_ARTICLE: True})
        response = HtmlResponse(request.url, body=b"<html></html>", request=request)
        assert middleware.process_response(request, response) is response
        assert META_WARC not in request.meta
    assert crawler.stats.get_value("archive/failed") == 1
    assert crawler.stats.get_value("archive/records") is None
