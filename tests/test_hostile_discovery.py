"""Hostile discovery documents and hosts, end to end: `scrapy crawl news` against a mirror serving one each.

Gzip bombs, nested sitemap indexes, billion laughs, oversized sitemaps, redirect loops, a
robots.txt that forbids the listing, a flood of response headers and tenants of a shared
host: each must stay bounded (memory, requests), end the crawl without a traceback, and be
counted under the stat the health check reads.
"""

from __future__ import annotations

import gzip
import os
import resource
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, CrawlRun, open_database
from newscrawl.middlewares.oversize import (
    RATIO_FLOOR,
    DecompressionCapExceeded,
    OversizeMiddleware,
    bounded_gunzip,
    decompression_cap,
)
from newscrawl.spiders.discovery import Unreadable, parse_sitemap, read_document
from tests.conftest import MIRROR_SETTINGS, ROOT, SITES
from tests.support.mirror import Mirror

SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
ARTICLE = (SITES / "news" / "mirror" / "articles" / "FoxNews_2023_04_28.html").read_bytes()
MiB = 1024 * 1024


def gzip_bomb(inflated_mib: int) -> bytes:
    """A sitemap gzipped to ~1 KB per MiB inflated: one gzip member of spaces, repeated."""
    spaces = gzip.compress(b" " * MiB, 9, mtime=0)
    return (
        gzip.compress(f'<?xml version="1.0"?><urlset {SITEMAP_NS}>'.encode(), mtime=0)
        + spaces * inflated_mib
        + gzip.compress(b"</urlset>", mtime=0)
    )


def billion_laughs(kind: str = "rss") -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE {kind} [{entities}]><rss version="2.0"><channel>'
        '<item><title>&lol9;</title><link>/a/a-story-about-laughs-here</link></item></channel></rss>'
    ).encode()


def rss(*links: str) -> bytes:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()


def sitemap(*locs: str, index: bool = False) -> bytes:
    root, entry = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    entries = "".join(f"<{entry}><loc>{loc}</loc></{entry}>" for loc in locs)
    return f'<?xml version="1.0"?><{root} {SITEMAP_NS}>{entries}</{root}>'.encode()


# --- Pure functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compressed", "max_size", "max_ratio", "cap"),
    [(MiB, 8 * MiB, 100, (8 * MiB, "decompressed")),  # the ratio allows more: the size cap holds
     (1000, 8 * MiB, 100, (RATIO_FLOOR, "ratio")),  # 1 KB may inflate to the 1 MiB floor, no further
     (1000, 0, 100, (RATIO_FLOOR, "ratio")),
     (MiB, 0, 100, (100 * MiB, "ratio")),
     (MiB, 200 * MiB, 100, (100 * MiB, "ratio")),
     (MiB, 8 * MiB, 0, (8 * MiB, "decompressed")),
     (MiB, 0, 0, (0, "ratio"))],  # both off: unbounded, as configured
)
def test_decompression_cap(compressed: int, max_size: int, max_ratio: int, cap: tuple[int, str]) -> None:
    assert decompression_cap(compressed, max_size, max_ratio) == cap


@pytest.mark.parametrize(("max_size", "kind"), [(8 * MiB, "decompressed"), (0, "ratio")])
def test_a_gzip_bomb_stops_at_the_cap(max_size: int, kind: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DecompressionCapExceeded) as over:
        read_document(gzip_bomb(512), max_size=max_size, max_ratio=100)
    assert over.value.kind == kind
    # 512 MiB inflated without the caps; at most ~8 MiB (size) or ~50 MiB (ratio) with them.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024


def test_inflation_within_the_caps_is_whole() -> None:
    body = sitemap(*(f"https://example.com/a/story-{i}" for i in range(1000)))
    assert bounded_gunzip(gzip.compress(body), 8 * MiB, 100) == body


@pytest.mark.parametrize(
    ("settings", "kind"),
    [({"DOWNLOAD_MAXSIZE": 0}, "ratio"), ({"DOWNLOAD_MAXSIZE": 4 * MiB, "DECOMPRESSION_MAX_RATIO": 0}, "decompressed")],
)
def test_http_decompression_is_capped_by_size_and_ratio(settings: dict[str, int], kind: str) -> None:
    crawler = get_crawler(settings_dict=settings)
    middleware = OversizeMiddleware.from_crawler(crawler)
    request = Request("https://example.com/a/page")
    bomb = gzip.compress(b" " * 64 * MiB)  # ~64 KB: 1000x
    response = Response(request.url, body=bomb, headers={"Content-Encoding": "gzip"}, request=request)
    with pytest.raises(IgnoreRequest):
        middleware.process_response(request, response)
    assert crawler.stats.get_value(f"oversize/{kind}") == 1
    assert crawler.stats.get_value("oversize/count") == 1
    page = Response(request.url, body=gzip.compress(b"<p>x</p>" * 1000), headers={"Content-Encoding": "gzip"}, request=request)
    assert middleware.process_response(request, page).body == b"<p>x</p>" * 1000


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(Unreadable) as refused:
        read_document(billion_laughs())
    assert refused.value.reason == "entities"


def test_a_sitemap_is_read_up_to_the_cap() -> None:
    locs = [f"https://example.com/a/story-{i}" for i in range(30)]
    capped = parse_sitemap(read_document(sitemap(*locs)), "https://example.com/", max_urls=10)
    assert [page.url for page in capped.pages] == locs[:10] and capped.capped
    exact = parse_sitemap(read_document(sitemap(*locs)), "https://example.com/", max_urls=30)
    assert len(exact.pages) == 30 and not exact.capped
    index = parse_sitemap(read_document(sitemap(*locs, index=True)), "https://example.com/", max_urls=5)
    assert index.children == locs[:5] and index.capped


# --- End to end --------------------------------------------------------------------------


@dataclass
class Crawl:
    """What one `scrapy crawl news` left: exit code, stderr, its crawl_runs stats, peak RSS."""

    returncode: int
    stderr: str
    stats: dict[str, Any]
    peak_rss_mb: float
    sources: list[str]

    def stat(self, key: str) -> Any:
        return self.stats.get(key, 0)


@pytest.fixture
def mirror(tmp_path: Path) -> Any:
    """An empty mirror (robots.txt allows all); tests add routes and bodies."""
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "routes.json").write_text("{}", "utf-8")
    with Mirror(root) as served:
        serve(served, "/robots.txt", b"User-agent: *\nDisallow: /search\n", "text/plain")
        yield served


def serve(mirror: Mirror, path: str, body: bytes, content_type: str, **options: Any) -> None:
    mirror.routes[path] = {"file": path, "type": content_type, **options}
    mirror.overrides[path] = body


#: Runs argv[1:] and prints its peak RSS (KiB; wait4 gives this child's alone) and exit code.
_MEASURE = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(p.pid, 0); print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))"
)


def crawl(start_url: str, cwd: Path, *args: str, **settings: str) -> Crawl:
    """Run the real `scrapy crawl news -a start_url=…` and measure the peak RSS of its process."""
    db_url = f"sqlite:///{cwd / 'newscrawl.db'}"
    command = [str(Path(sys.executable).with_name("scrapy")), "crawl", "news", "-a", f"start_url={start_url}"]
    command += [part for arg in args for part in ("-a", arg)]
    for name, value in {**MIRROR_SETTINGS, "DATABASE_URL": db_url, **settings}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    stderr_path = cwd / "crawl.stderr"
    with stderr_path.open("wb") as stderr:
        # Through a small launcher: Linux carries the spawning process's peak RSS into a child's
        # ru_maxrss across exec, and pytest itself may have grown past the bound.
        launcher = subprocess.Popen(
            [sys.executable, "-c", _MEASURE, *command], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=stderr, start_new_session=True,
        )
        killer = threading.Timer(180, os.killpg, (launcher.pid, signal.SIGKILL))
        killer.start()
        out, _ = launcher.communicate()
        killer.cancel()
    maxrss_kib, returncode = (int(part) for part in out.split())
    engine = open_database(db_url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        stats = dict(run.stats) if run is not None else {}
        sources = [row.source for row in session.scalars(select(ArticleRow))]
    engine.dispose()
    return Crawl(returncode, stderr_path.read_text("utf-8", "replace"), stats, maxrss_kib / 1024, sources)


def assert_clean_exit(result: Crawl) -> None:
    """Exit 0, or 1 when the health check saw the hostile input; never a traceback."""
    assert result.returncode in (0, 1), result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stats, "no crawl_runs row"
    assert not any(key.startswith("spider_exceptions") for key in result.stats)



@pytest.mark.e2e
def test_a_raw_gzip_bomb_sitemap_is_dropped_at_the_size_cap(mirror: Mirror, tmp_path: Path) -> None:
    # ~1 MB on the wire, 1 GiB inflated, served as a file (no Content-Encoding: HTTP
    # decompression never sees it). Before the cap, the crawl held >2 GB.
    serve(mirror, "/sitemap.xml.gz", gzip_bomb(1024), "application/x-gzip")
    result = crawl(mirror.url("/sitemap.xml.gz"), tmp_path)

    assert_clean_exit(result)
    assert result.peak_rss_mb < 400, f"peak RSS {result.peak_rss_mb:.0f} MB"
    assert result.stat("oversize/decompressed") == 1
    assert result.stat("oversize/count") == 1
    assert result.stat("newscrawl/discovery/feed_unparseable") == 1
    assert result.stat("newscrawl/discovery/feed_unparseable/oversize") == 1


@pytest.mark.e2e
def test_nested_sitemap_indexes_stay_within_the_document_budget(mirror: Mirror, tmp_path: Path) -> None:
    # Every index lists five more: max_pages=5 used to fetch 1 + 5 + 25 + 125 + 625 = 781.
    def add(path: str, depth: int) -> None:
        children = [f"{path.removesuffix('.xml')}-{i}.xml" for i in range(5)]
        serve(mirror, path, sitemap(*children, index=True), "application/xml")
        if depth < 5:
            for child in children:
                add(child, depth + 1)

    add("/sitemap.xml", 1)
    result = crawl(mirror.url("/sitemap.xml"), tmp_path, "max_pages=5", SITEMAP_MAX_DOCUMENTS="20")

    assert_clean_exit(result)
    fetched = [path for path in mirror.requested_paths() if path.endswith(".xml")]
    assert len(fetched) == 1 + 20  # the start document and the budget
    assert result.stat("newscrawl/discovery/document_budget_reached") >= 1
    assert result.stat("newscrawl/discovery/sitemapindex") == 21


@pytest.mark.e2e
def test_a_billion_laughs_feed_is_refused_and_counted(mirror: Mirror, tmp_path: Path) -> None:
    serve(mirror, "/feed/", billion_laughs(), "application/rss+xml")
    result = crawl(mirror.url("/feed/"), tmp_path)

    assert_clean_exit(result)
    assert result.stat("newscrawl/discovery/feed_unparseable") == 1
    assert result.stat("newscrawl/discovery/feed_unparseable/entities") == 1
    assert mirror.requested_paths() == ["/robots.txt", "/feed/"]
    assert result.peak_rss_mb < 400


@pytest.mark.e2e
def test_a_sitemap_over_the_url_cap_is_cut_and_counted(mirror: Mirror, tmp_path: Path) -> None:
    paths = [f"/a/story-number-{i}-of-thirty" for i in range(30)]
    serve(mirror, "/sitemap.xml", sitemap(*(mirror.url(p) for p in paths)), "application/xml")
    for path in paths:
        serve(mirror, path, ARTICLE, "text/html; charset=utf-8")
    result = crawl(mirror.url("/sitemap.xml"), tmp_path, SITEMAP_MAX_URLS="10")

    assert_clean_exit(result)
    assert sorted(set(mirror.requested_paths()) & set(paths)) == sorted(paths[:10])
    assert result.stat("newscrawl/discovery/sitemap_capped") == 1


@pytest.mark.e2e
def test_a_feed_without_links_is_counted(mirror: Mirror, tmp_path: Path) -> None:
    serve(mirror, "/feed/", rss(), "application/rss+xml")
    result = crawl(mirror.url("/feed/"), tmp_path)

    assert_clean_exit(result)
    assert result.stat("newscrawl/discovery/rss") == 1
    assert result.stat("newscrawl/discovery/feed_no_links") == 1


@pytest.mark.e2e
def test_a_listing_forbidden_by_robots_txt_is_counted(mirror: Mirror, tmp_path: Path) -> None:
    serve(mirror, "/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    serve(mirror, "/feed/", rss("/a/a-story-never-fetched-here"), "application/rss+xml")
    result = crawl(mirror.url("/feed/"), tmp_path)

    assert_clean_exit(result)
    assert mirror.requested_paths() == ["/robots.txt"]
    assert result.stat("robotstxt/forbidden") == 1
    assert result.stat("newscrawl/discovery/robots_disallowed_listing") == 1


@pytest.mark.e2e
def test_redirect_loops_and_overlong_chains_are_counted(mirror: Mirror, tmp_path: Path) -> None:
    # A loop (one -> two -> one), a chain of 8 (over REDIRECT_MAX_TIMES=5), and a redirect that arrives.
    mirror.routes["/a/loop-one-story-here"] = {"redirect": "/a/loop-two-story-here"}
    mirror.routes["/a/loop-two-story-here"] = {"redirect": "/a/loop-one-story-here"}
    for i in range(8):
        mirror.routes[f"/a/chain-{i}-story-here"] = {"redirect": f"/a/chain-{i + 1}-story-here"}
    serve(mirror, "/a/chain-8-story-here", ARTICLE, "text/html; charset=utf-8")
    mirror.routes["/a/moved-story-here"] = {"redirect": "/a/chain-8-story-here", "status": 301}
    feed = rss("/a/loop-one-story-here", "/a/chain-0-story-here", "/a/moved-story-here")
    serve(mirror, "/feed/", feed, "application/rss+xml")
    result = crawl(mirror.url("/feed/"), tmp_path)

    assert_clean_exit(result)
    assert result.stat("newscrawl/discovery/redirect_loop") == 2
    assert result.sources == ["127.0.0.1"]  # the redirect that arrives is stored
    assert mirror.requested_paths().count("/a/loop-one-story-here") == 1
    assert "/a/chain-6-story-here" not in mirror.requested_paths()


@pytest.mark.e2e
def test_a_flood_of_response_headers_is_refused_and_counted(mirror: Mirror, tmp_path: Path) -> None:
    flood = {f"X-Flood-{i}": "y" for i in range(20_000)}
    serve(mirror, "/a/a-story-with-many-headers", ARTICLE, "text/html; charset=utf-8", headers=flood)
    serve(mirror, "/feed/", rss("/a/a-story-with-many-headers"), "application/rss+xml")
    result = crawl(mirror.url("/feed/"), tmp_path)

    assert_clean_exit(result)
    assert result.stat("oversize/headers") == 1
    assert result.stat("oversize/count") == 1
    assert mirror.requested_paths().count("/a/a-story-with-many-headers") == 1  # not retried
    assert result.sources == []


@pytest.mark.e2e
def test_tenants_of_a_shared_host_are_separate_sites(mirror: Mirror, tmp_path: Path) -> None:
    # Every host name resolves to the mirror; the paths tell the tenants apart.
    port = mirror.base_url.rsplit(":", 1)[1]
    alice, bob = f"http://alice.substack.com:{port}", f"http://bob.substack.com:{port}"
    serve(mirror, "/p/alice-writes-a-long-story", ARTICLE, "text/html; charset=utf-8")
    serve(mirror, "/p/bob-writes-a-long-story", ARTICLE, "text/html; charset=utf-8")
    feed = rss(f"{alice}/p/alice-writes-a-long-story", f"{bob}/p/bob-writes-a-long-story")
    serve(mirror, "/feed", feed, "application/rss+xml")
    result = crawl(f"{alice}/feed", tmp_path, TWISTED_DNS_RESOLVER="tests.support.resolver.LoopbackResolver")

    assert_clean_exit(result)
    assert "/p/alice-writes-a-long-story" in mirror.requested_paths()
    assert "/p/bob-writes-a-long-story" not in mirror.requested_paths()
    assert result.sources == ["alice.substack.com"]
    assert result.stat("newscrawl/links/offsection") == 1
