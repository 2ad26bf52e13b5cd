"""Articles found by `scrapy crawl news` through each discovery type, on the 421 real NAEB pages.

Not a test: run it by hand, e.g.::

    .venv/bin/python bench/discovery.py                       # every type, all 421 pages
    .venv/bin/python bench/discovery.py --only rss --half dev --keep /tmp/disc

Every NAEB page (``tests/data/naeb``, real pages of 212 sites) is served on 127.0.0.1 at the
path of its real URL, so the generic link rules see the real path shapes (opaque ids, dates,
slugs, ``.html``, query-less ``/news/12345``). Pages whose paths collide are served once
(the first by id) and counted apart. The site around them is HAND-BUILT here, one per
discovery type the `news` spider supports:

- ``section``: a paginated section page (``/latest/``, ``?page=N``, ``rel=next``) of 20
  teasers a page in four real-world teaser shapes (a card with a headline link and a summary,
  an image link plus a headline link, a list item, a bare ``<h3>`` headline), among chrome a
  story must never be taken for: section and tag pages, author pages, about/contact/privacy
  pages, the feed, share links to other hosts;
- ``rss``: one RSS 2.0 feed of every page (title, link, pubDate);
- ``atom``: one Atom feed of every page;
- ``sitemap-index``: ``robots.txt`` names a sitemap index of three sitemaps, one of them a
  Google News sitemap (``news:publication_date``, ``news:title``);
- ``robots``: the site's root as the start URL, the sitemaps found through ``robots.txt``.

Each type is one real ``scrapy crawl news -a start_url=… -a max_pages=100`` (every section page
is walked) into a fresh SQLite file, the WARC archive off. Printed
per type: pages served, article pages requested, stored, found (stored / served), the drop
reasons from the crawl's stats, and the pages requested but not stored; with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from email.utils import format_datetime
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import naeb  # noqa: E402
from tests.support.mirror import Mirror  # noqa: E402

TYPES = ("section", "rss", "atom", "sitemap-index", "robots")
PER_PAGE = 20
SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "RETRY_TIMES": "2",
    "LOG_LEVEL": "INFO",
    "ARCHIVE_ENABLED": "False",
}
# Chrome on every section page: none of it is a story.
CHROME = [
    ("/world/", "World"), ("/politics/", "Politics"), ("/business/", "Business"),
    ("/tag/elections/", "Elections"), ("/tags/white-house", "White House"),
    ("/author/jane-doe/", "Jane Doe"), ("/authors/john-smith-jones", "John Smith Jones"),
    ("/about-us/", "About us"), ("/contact", "Contact"), ("/privacy-policy/", "Privacy policy"),
    ("/terms-of-service", "Terms of service"), ("/feed/", "RSS"), ("/newsletters/", "Newsletters"),
    ("/video/", "Video"), ("/podcasts/", "Podcasts"),
]
SHARE = ["https://twitter.com/intent/tweet?url=x", "https://www.facebook.com/sharer/sharer.php?u=x"]


def _path(url: str) -> str:
    path = unquote(urlsplit(url).path) or "/"
    return path


def _served(pages: list[naeb.Page]) -> tuple[dict[str, naeb.Page], int]:
    """Path -> page, first page by id wins a path; and how many pages lost their path."""
    served: dict[str, naeb.Page] = {}
    reserved = {p for p, _ in CHROME} | {"/", "/latest/", "/robots.txt", "/feed.xml", "/atom.xml"}
    lost = 0
    for page in pages:
        path = _path(page.url)
        if path in served or path in reserved or path.startswith("/sitemap"):
            lost += 1
            continue
        served[path] = page
    return served, lost


def _href(path: str, base: str = "") -> str:
    """``base + path`` percent-encoded where a URL needs it, escaped for markup."""
    return escape(base + quote(path, safe="/:?=&%-._~"))


def _teaser(k: int, path: str, title: str) -> str:
    href, text = _href(path), escape(title)
    shape = k % 4
    if shape == 0:
        return (f'<article class="story-card"><h2 class="story-card__title"><a href="{href}">{text}</a></h2>'
                f'<p class="story-card__summary">The latest on this story.</p></article>')
    if shape == 1:
        return (f'<div class="teaser"><a href="{href}"><img src="/img/{k}.jpg" alt=""></a>'
                f'<a class="teaser__link" href="{href}">{text}</a></div>')
    if shape == 2:
        return f'<li class="list-item"><a href="{href}">{text}</a></li>'
    return f'<h3 class="headline"><a href="{href}">{text}</a></h3>'


def _section_page(number: int, items: list[tuple[str, naeb.Page]], last: int) -> str:
    chrome = "".join(f'<a href="{p}">{escape(t)}</a> ' for p, t in CHROME)
    share = "".join(f'<a href="{u}">Share</a> ' for u in SHARE)
    nxt = f'<link rel="next" href="/latest/?page={number + 1}">' if number < last else ""
    more = f'<a class="pagination__next" href="/latest/?page={number + 1}">Next page</a>' if number < last else ""
    teasers = "".join(_teaser(k, path, page.title) for k, (path, page) in enumerate(items))
    return (f"<!-- HAND-BUILT section page {number} (bench/discovery.py) -->\n"
            f"<html><head><title>Latest news, page {number}</title>{nxt}</head><body>"
            f"<header><nav>{chrome}</nav></header><main><h1>Latest news</h1>{teasers}{more}</main>"
            f"<aside><h2>Follow us</h2>{share}<a href=\"/author/jane-doe/\">Our columnists</a></aside>"
            f"<footer>{chrome}</footer></body></html>")


def _when(page: naeb.Page) -> datetime:
    try:
        return datetime.fromisoformat(page.day).replace(hour=12, tzinfo=timezone.utc)
    except ValueError:
        return datetime(2023, 12, 1, 12, tzinfo=timezone.utc)


def _rss(base: str, served: dict[str, naeb.Page]) -> str:
    items = "".join(
        f"<item><title>{escape(p.title)}</title><link>{_href(path, base)}</link>"
        f"<pubDate>{format_datetime(_when(p))}</pubDate></item>"
        for path, p in served.items()
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><!-- HAND-BUILT (bench/discovery.py) -->'
            f'<rss version="2.0"><channel><title>Latest</title><link>{base}/</link>{items}</channel></rss>')


def _atom(base: str, served: dict[str, naeb.Page]) -> str:
    entries = "".join(
        f'<entry><title>{escape(p.title)}</title><link rel="alternate" href="{_href(path, base)}"/>'
        f"<id>{_href(path, base)}</id><updated>{_when(p).isoformat()}</updated></entry>"
        for path, p in served.items()
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><!-- HAND-BUILT (bench/discovery.py) -->'
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>Latest</title><id>{base}/</id>'
            f"<updated>2024-01-01T00:00:00Z</updated>{entries}</feed>")


def _urlset(base: str, items: list[tuple[str, naeb.Page]], news: bool) -> str:
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    urls = []
    for path, p in items:
        loc = _href(path, base)
        extra = (f"<news:news><news:publication><news:name>Site</news:name><news:language>en</news:language>"
                 f"</news:publication><news:publication_date>{_when(p).isoformat()}</news:publication_date>"
                 f"<news:title>{escape(p.title)}</news:title></news:news>") if news else (
                 f"<lastmod>{_when(p).date().isoformat()}</lastmod>")
        urls.append(f"<url><loc>{loc}</loc>{extra}</url>")
    return (f'<?xml version="1.0" encoding="utf-8"?><!-- HAND-BUILT (bench/discovery.py) -->'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>{"".join(urls)}</urlset>')


def build_mirror(root: Path, served: dict[str, naeb.Page], base: str) -> None:
    """Write the pages, the hand-built section pages, feeds and sitemaps, and routes.json."""
    html = naeb.html_pages()
    (root / "pages").mkdir(parents=True, exist_ok=True)
    routes: dict[str, dict[str, object]] = {}
    for path, page in served.items():
        (root / "pages" / f"{page.id}.html").write_bytes(html[page.id])
        routes[path] = {"file": f"pages/{page.id}.html", "type": "text/html"}
    items = list(served.items())
    last = (len(items) + PER_PAGE - 1) // PER_PAGE
    pages = {}
    for number in range(1, last + 1):
        name = f"latest-{number}.html"
        (root / name).write_text(_section_page(number, items[(number - 1) * PER_PAGE: number * PER_PAGE], last), "utf-8")
        pages[str(number)] = name
    routes["/latest/"] = {"pages": pages}
    for path, _ in CHROME:
        routes[path] = {"file": "chrome.html", "type": "text/html"}
    (root / "chrome.html").write_text("<html><body><h1>HAND-BUILT chrome page</h1></body></html>", "utf-8")
    (root / "feed.xml").write_text(_rss(base, served), "utf-8")
    routes["/feed.xml"] = {"file": "feed.xml", "type": "application/rss+xml"}
    (root / "atom.xml").write_text(_atom(base, served), "utf-8")
    routes["/atom.xml"] = {"file": "atom.xml", "type": "application/atom+xml"}
    thirds = [items[i::3] for i in range(3)]
    for k, part in enumerate(thirds):
        (root / f"sitemap-{k}.xml").write_text(_urlset(base, part, news=k == 0), "utf-8")
        routes[f"/sitemap-{k}.xml"] = {"file": f"sitemap-{k}.xml", "type": "application/xml"}
    index = "".join(f"<sitemap><loc>{base}/sitemap-{k}.xml</loc></sitemap>" for k in range(3))
    (root / "sitemap_index.xml").write_text(
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}</sitemapindex>',
        "utf-8")
    routes["/sitemap_index.xml"] = {"file": "sitemap_index.xml", "type": "application/xml"}
    (root / "robots.txt").write_text(f"User-agent: *\nDisallow:\nSitemap: {base}/sitemap_index.xml\n", "utf-8")
    routes["/robots.txt"] = {"file": "robots.txt", "type": "text/plain"}
    (root / "home.html").write_text(
        "<html><head><title>HAND-BUILT home</title></head><body><a href=\"/latest/\">Latest</a></body></html>", "utf-8")
    routes["/"] = {"file": "home.html", "type": "text/html"}
    (root / "routes.json").write_text(json.dumps(routes), "utf-8")


START = {"section": "/latest/", "rss": "/feed.xml", "atom": "/atom.xml", "sitemap-index": "/sitemap_index.xml", "robots": "/"}
_STAT = re.compile(r"'([^']+)': (\d+)")


def crawl(kind: str, mirror: Mirror, workdir: Path, timeout: float) -> tuple[set[str], dict[str, int], float]:
    """Run the crawl; the stored URLs' paths, the crawl's integer stats, and its CPU seconds."""
    db = workdir / f"{kind}.db"
    log = workdir / f"{kind}.log"
    command = [str(Path(sys.executable).with_name("scrapy")), "crawl", "news", "-a", f"start_url={mirror.url(START[kind])}",
               "-a", "max_pages=100"]
    for name, value in {**SETTINGS, "DATABASE_URL": f"sqlite:///{db}", "LOG_FILE": str(log)}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    before = os.times()
    subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    stored: set[str] = set()
    if db.exists():
        with sqlite3.connect(db) as conn:
            stored = {_path(url) for (url,) in conn.execute("SELECT url FROM articles")}
    text = log.read_text("utf-8", errors="replace") if log.exists() else ""
    stats = {k: int(v) for k, v in _STAT.findall(text[text.rfind("Dumping Scrapy stats"):])} if text else {}
    return stored, stats, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=TYPES, help="one discovery type (repeatable)")
    parser.add_argument("--half", choices=naeb.HALVES, help="one half of NAEB only")
    parser.add_argument("--keep", type=Path, help="build the mirror and keep the crawls' logs here")
    parser.add_argument("--misses", type=int, default=10, help="pages not stored to list per type")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    pages = naeb.pages(args.half)
    served, lost = _served(pages)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="discovery-"))
    workdir.mkdir(parents=True, exist_ok=True)
    mirror_root = workdir / "mirror"
    mirror_root.mkdir(exist_ok=True)
    (mirror_root / "routes.json").write_text("{}", "utf-8")
    with Mirror(mirror_root) as mirror:
        build_mirror(mirror_root, served, mirror.base_url)
        mirror.routes = json.loads((mirror_root / "routes.json").read_text("utf-8"))
        print(f"{len(pages)} NAEB pages ({args.half or 'both halves'}), {len(served)} served at their own paths, "
              f"{lost} sharing a path with another (not served); mirror {mirror.base_url}")
        rows = []
        for kind in args.only or TYPES:
            load = os.getloadavg()[0]
            started = len(mirror.requests)
            stored, stats, cpu = crawl(kind, mirror, workdir, args.timeout)
            paths = {unquote(urlsplit(r).path) for r in mirror.requests[started:]}
            requested = paths & set(served)
            chrome = sorted(paths & {p for p, _ in CHROME})
            found = stored & set(served)
            drops = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("item_dropped_reasons_count/")}
            rows.append((kind, len(served), len(requested), len(found), len(chrome), cpu, load))
            print(f"\n{kind}: served {len(served)}, requested {len(requested)}, stored {len(found)} "
                  f"({100 * len(found) / len(served):.1f} %), CPU {cpu:.1f} s, load {load:.1f}")
            print(f"  drops: {drops or 'none'}; links skipped as not articles: {stats.get('newscrawl/links/not_article', 0)}; "
                  f"chrome pages fetched as stories: {chrome or 'none'}")
            missing = sorted(set(served) - found)
            for path in missing[: args.misses]:
                how = "requested, not stored" if path in requested else "never requested"
                print(f"  missing {path} ({served[path].id}, {served[path].site}): {how}")
            if len(missing) > args.misses:
                print(f"  … and {len(missing) - args.misses} more")
            extra = stored - set(served)
            if extra:
                print(f"  stored but no article: {sorted(extra)[:10]}")
    print("\n| discovery | served | requested | stored | found | chrome fetched | CPU s | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, total, requested, found, chrome_count, cpu, load in rows:
        print(f"| {kind} | {total} | {requested} | {found} | {100 * found / total:.1f} % | {chrome_count} | {cpu:.1f} | {load:.1f} |")
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if not args.keep:
        print(f"(scratch folder {workdir} left for inspection)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
