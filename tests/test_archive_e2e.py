"""The WARC archive end to end: real crawls of the Japan Today mirror, SIGKILL, `newscrawl reparse` and `import-warc`."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.archive.reader import iter_records, read_record
from newscrawl.db.models import ArticleRevision, ArticleRow, CrawlRun
from newscrawl.db.store import CONTENT_COLUMNS, REEXTRACTION
from tests.conftest import MIRROR_SETTINGS, ROOT, SITES, run_crawl
from tests.support.commands import environment
from tests.support.mirror import Mirror

pytestmark = pytest.mark.e2e

LISTING = "/category/politics"
ARTICLES = 19  # what a crawl of the mirror stores (tests/sites/japantoday/expected.json)
NEWSCRAWL = str(Path(sys.executable).with_name("newscrawl"))
#: `newscrawl` after a deliberate extraction change: the title suffix " Taiwan" is cut, as a
#: site's " | Site" suffix is; only the titles ending so change.
CHANGED_EXTRACTION = (
    "import sys; from newscrawl.spiders.japantoday import JapanTodaySpider as S; "
    "S.title_suffixes = (' Taiwan',); from newscrawl.cli import main; sys.exit(main(sys.argv[1:]))"
)


def rows(db: str, model: Any = ArticleRow) -> list[dict[str, Any]]:
    """Every row of the model's table, every column, in id order."""
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(model.__table__).order_by(model.id))]
    finally:
        engine.dispose()


def newscrawl(cwd: Path, *args: str, program: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(program or [NEWSCRAWL]), *args], cwd=cwd, env=environment(),
                          capture_output=True, text=True, timeout=180)


def crawl(mirror: Mirror, folder: Path, **settings: str) -> str:
    folder.mkdir(exist_ok=True)
    db = f"sqlite:///{folder / 'newscrawl.db'}"
    result = run_crawl("japantoday", folder, "-a", f"start_url={mirror.url(LISTING)}",
                       settings={"DATABASE_URL": db, **settings})
    assert result.returncode == 0, result.stderr[-2000:]
    return db


def test_each_stored_article_points_at_the_exact_response_and_reparse_reextracts(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    db = crawl(japantoday_mirror, tmp_path)
    stored = rows(db)
    assert len(stored) == ARTICLES
    archive = tmp_path / "newscrawl-archive"
    for row in stored:
        record = read_record(archive / row["warc_file"], row["warc_offset"])
        assert record is not None and record.type == "response", row["url"]
        served = japantoday_mirror.reply(urlsplit(row["url"]).path)
        assert (record.url, record.status, record.body) == (row["url"], 200, served.body)

    unchanged = newscrawl(tmp_path, "reparse", "--database", db)
    assert unchanged.returncode == 0, unchanged.stderr[-2000:]
    assert f"reparse: {ARTICLES} archived responses read (japantoday {ARTICLES})" in unchanged.stdout
    assert "changed per field: none" in unchanged.stdout
    assert rows(db) == stored and rows(db, ArticleRevision) == []
    assert [r["spider"] for r in rows(db, CrawlRun)] == ["japantoday", "japantoday (reparse)"]

    taiwan = {r["url"] for r in stored if r["title"].endswith(" Taiwan")}
    assert taiwan
    changed = f"content_hash {len(taiwan)}, title {len(taiwan)}"
    dry = newscrawl(tmp_path, "reparse", "--dry-run", "--database", db, program=[sys.executable, "-c", CHANGED_EXTRACTION])
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert f"would change per field: {changed}" in dry.stdout
    assert rows(db) == stored and len(rows(db, CrawlRun)) == 2  # the dry run wrote nothing

    real = newscrawl(tmp_path, "reparse", "--source", "japantoday", "--database", db,
                     program=[sys.executable, "-c", CHANGED_EXTRACTION])
    assert real.returncode == 0, real.stderr[-2000:]
    assert f"changed per field: {changed}" in real.stdout
    after = {r["url"]: r for r in rows(db)}
    for before in stored:
        differs = {k for k, v in after[before["url"]].items() if v != before[k]}
        assert differs == ({"title", "content_hash"} if before["url"] in taiwan else set()), before["url"]
    revisions = rows(db, ArticleRevision)
    assert {(r["kind"], r["title"]) for r in revisions} == {
        (REEXTRACTION, r["title"]) for r in stored if r["url"] in taiwan}
    shown = newscrawl(tmp_path, "show", sorted(taiwan)[0], "--database", db)
    assert shown.returncode == 0 and "by a re-extraction: " in shown.stdout, shown.stdout[-2000:]


def test_sigkill_loses_at_most_the_record_being_written_and_the_next_crawl_starts_a_new_file(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'newscrawl.db'}"
    command = [str(Path(sys.executable).with_name("scrapy")), "crawl", "japantoday",
               "-a", f"start_url={japantoday_mirror.url(LISTING)}"]
    slow = {**MIRROR_SETTINGS, "DOWNLOAD_DELAY": "0.1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
            "RANDOMIZE_DOWNLOAD_DELAY": "False", "DATABASE_URL": db}
    for name, value in slow.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings", "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    killed = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    archive = tmp_path / "newscrawl-archive"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            files = list(archive.glob("*.warc.gz"))
            if files and sum(r.type == "response" for r in iter_records(files[0])) >= 8:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the crawl archived fewer than 8 responses in 60 s")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    [first] = archive.glob("*.warc.gz")
    records = list(iter_records(first))
    assert all(r.truncated is None for r in records[:-1])  # at most the last one is cut…
    assert records[-1].type in ("", "response", "request")  # …and then it is named as such
    responses = [r for r in records if r.type == "response"]
    assert len(responses) >= 8
    for response in responses:  # each whole record reads back alone
        assert read_record(first, response.offset).body == response.body  # type: ignore[union-attr]
    size = first.stat().st_size

    crawl(japantoday_mirror, tmp_path)
    files = sorted(archive.glob("*.warc.gz"))
    assert len(files) == 2 and first.stat().st_size == size
    [second] = [f for f in files if f != first]
    assert all(r.truncated is None for r in iter_records(second))
    for row in rows(db):
        assert read_record(archive / row["warc_file"], row["warc_offset"]) is not None


def fetch(mirror: Mirror, raw_path: str) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """What the mirror serves for ``raw_path``: status, reason, headers, body."""
    parts = urlsplit(mirror.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", raw_path)
        answer = conn.getresponse()
        return answer.status, answer.reason, answer.getheaders(), answer.read()
    finally:
        conn.close()


def response_record(writer: WARCWriter, url: str, status: int, reason: str,
                    headers: list[tuple[str, str]], body: bytes) -> Any:
    http = StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")
    return writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body), http_headers=http)


def build_warcs(mirror: Mirror, raw_paths: list[str], folder: Path) -> tuple[Path, Path]:
    """Two WARC files of what the mirror serves at ``raw_paths``, as another crawler would write
    them (request records, a duplicate, a revisit), plus an image and a cut last record."""
    main, extra = folder / "mirror.warc.gz", folder / "extra.warc.gz"
    with open(main, "wb") as file:
        writer = WARCWriter(file, gzip=True)
        writer.write_record(writer.create_warcinfo_record(main.name, {"software": "test"}))
        first_article = None
        for raw_path in raw_paths:
            url = mirror.url(raw_path)
            record = response_record(writer, url, *fetch(mirror, raw_path))
            writer.write_record(record)
            writer.write_record(writer.create_warc_record(url, "request", payload=BytesIO(b""), length=0))
            if first_article is None and raw_path.startswith(LISTING + "/"):
                first_article = (url, raw_path, record)
        assert first_article is not None
        url, raw_path, record = first_article
        writer.write_record(response_record(writer, url, *fetch(mirror, raw_path)))  # fetched twice
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        writer.write_record(writer.create_revisit_record(url, digest, url, record.rec_headers.get_header("WARC-Date"),
                                                         http_headers=StatusAndHeaders("200 OK", [], protocol="HTTP/1.1")))
    with open(extra, "wb") as file:
        writer = WARCWriter(file, gzip=True)
        writer.write_record(response_record(writer, mirror.url("/images/lead.png"), 200, "OK",
                                            [("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n" + b"\0" * 64))
        whole = file.tell()
        status, reason, headers, body = fetch(mirror, raw_paths[-1])
        writer.write_record(response_record(writer, mirror.url(LISTING + "/cut-short"), status, reason, headers, body))
    extra.write_bytes(extra.read_bytes()[: whole + 300])  # a writer killed mid-record
    return main, extra


def test_import_of_mirror_warcs_stores_what_a_crawl_stores_and_a_second_import_changes_nothing(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    crawled = crawl(japantoday_mirror, tmp_path / "crawl", ARCHIVE_ENABLED="False")
    raw_paths = list(dict.fromkeys(japantoday_mirror.requests))
    main, extra = build_warcs(japantoday_mirror, raw_paths, tmp_path)
    listing = tmp_path / "warcs.txt"
    listing.write_text(f"# the second file\n{extra.name}\n", "utf-8")
    db = f"sqlite:///{tmp_path / 'import.db'}"
    site = f"{urlsplit(japantoday_mirror.base_url).netloc}=japantoday"
    command = ["import-warc", str(main), "--list", str(listing), "--site", site, "--database", db]

    first = newscrawl(tmp_path, *command)
    assert first.returncode == 0, first.stderr[-2000:]
    summary = first.stdout.splitlines()[0]
    for reason in ("duplicate 1", "revisit 1", "truncated 1", "not_ok 1", "not_article 3", "not_html 2"):
        assert reason in summary, summary
    compared = [c for c in CONTENT_COLUMNS if c not in ("warc_file", "warc_offset")]
    imported = rows(db)

    def content(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(({c: r[c] for c in compared} for r in table), key=lambda r: r["url"])

    assert len(imported) == ARTICLES and content(imported) == content(rows(crawled))
    assert all(read_record(Path(r["warc_file"]), r["warc_offset"]) is not None for r in imported)
    [run] = rows(db, CrawlRun)
    assert (run["spider"], run["status"], run["inserted"]) == ("japantoday (import-warc)", "finished", ARTICLES)
    assert run["stats"]["replay/skipped/duplicate"] == 1

    second = newscrawl(tmp_path, *command)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"inserted 0, updated 0, unchanged {ARTICLES}" in second.stdout
    assert rows(db) == imported and rows(db, ArticleRevision) == []


def test_generic_import_stores_what_the_news_spider_crawl_stores(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    crawled = f"sqlite:///{folder / 'newscrawl.db'}"
    with Mirror(SITES / "news" / "mirror") as mirror:
        result = run_crawl("news", folder, "-a", f"start_url={mirror.url('/politics/')}", "-a", "section=politics",
                           settings={"DATABASE_URL": crawled, "ARCHIVE_ENABLED": "False"})
        assert result.returncode == 0, result.stderr[-2000:]
        warc = tmp_path / "news.warc.gz"
        with open(warc, "wb") as file:
            writer = WARCWriter(file, gzip=True)
            for raw_path in dict.fromkeys(mirror.requests):
                writer.write_record(response_record(writer, mirror.url(raw_path), *fetch(mirror, raw_path)))
    db = f"sqlite:///{tmp_path / 'import.db'}"
    imported = newscrawl(tmp_path, "import-warc", str(warc), "--generic", "--section", "politics", "--database", db)
    assert imported.returncode == 0, imported.stderr[-2000:]
    # The listing pages are not story-like; robots.txt is not HTML.
    assert "articles 2 (news 2); skipped 3 (not_article 2, not_html 1)" in imported.stdout, imported.stdout
    compared = [c for c in CONTENT_COLUMNS if c not in ("warc_file", "warc_offset")]

    def content(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(({c: r[c] for c in compared} for r in table), key=lambda r: r["url"])

    stored = rows(crawled)
    assert len(stored) == 2 and {(r["source"], r["section"]) for r in stored} == {("127.0.0.1", "politics")}
    assert content(rows(db)) == content(stored)
    assert [r["spider"] for r in rows(db, CrawlRun)] == ["news (import-warc)"]
