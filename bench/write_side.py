"""CPU per stored article of the crawl's write side: story clustering, the store, the WARC writer.

Not a test: run it by hand (issue 12), e.g.::

    PYTHONPATH=. .venv/bin/python bench/write_side.py                 # 2,000 articles, SQLite
    PYTHONPATH=. .venv/bin/python bench/write_side.py --pages 500 --batch 50
    PYTHONPATH=. .venv/bin/python bench/write_side.py --profile       # cProfile of the clustered store
    # instruction counts: one step, once, under callgrind; subtract the count of --step none
    PYTHONPATH=. valgrind --tool=callgrind .venv/bin/python bench/write_side.py --pages 300 --step store

The articles are those a crawl of ``bench/throughput.py``'s generated Japan Today mirror
stores: each generated page is read by the spider and the clean and validate pipelines in
this process (:class:`newscrawl.review.OfflineReader`), without a server. Then, each timed
as process CPU seconds (the best of ``--repeat`` runs, the load average printed beside it):

* the near-duplicate steps alone over every body (words, shingles, MinHash signature, band
  keys; the store computes them once per new or changed article), and the first band keys
  of a fresh process (the imports they need: once per crawl, shown per article);
* ``save_articles`` in batches of ``--batch`` into a fresh SQLite file, without story
  clustering (the clustering hook replaced by a no-op) and with it: the difference is what
  clustering costs;
* ``WarcFiles.write`` of every article page with the headers an aiohttp mirror sends (the
  response and its request record, gzip per record).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import genmirror  # noqa: E402  (bench/ is not a package)
from sqlalchemy.orm import Session  # noqa: E402

from newscrawl import neardup  # noqa: E402
from newscrawl.archive.writer import Exchange, WarcFiles  # noqa: E402
from newscrawl.db import open_database, store  # noqa: E402

#: What the generated mirror's aiohttp server answers, and what Scrapy sends (bench/throughput.py).
RESPONSE_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "36000"),
                    ("Date", "Wed, 02 Dec 2026 16:00:00 GMT"), ("Server", "Python/3.11 aiohttp/3.13.2")]
REQUEST_HEADERS = [("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                   ("Accept-Language", "en"), ("User-Agent", "newscrawl-bench"),
                   ("Accept-Encoding", "gzip, deflate, br, zstd")]


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def articles(pages: int) -> tuple[list[dict[str, Any]], list[Exchange]]:
    """The store's rows and the archive's exchanges of a generated mirror's article pages."""
    from scrapy.exceptions import DropItem

    from newscrawl.pipelines.validate import ValidatePipeline
    from newscrawl.review import OfflineReader

    site = genmirror.generate(pages)
    origin = "http://127.0.0.1:8000"
    reader = OfflineReader("japantoday", f"{origin}{genmirror.SECTION}")
    validator = ValidatePipeline.from_crawler(reader.crawler)
    rows, exchanges = [], []
    for path, body in site.items():
        if not path.startswith(genmirror.SECTION + "/"):
            continue
        exchanges.append(Exchange(origin + path, 200, "OK", RESPONSE_HEADERS, body,
                                  request_headers=REQUEST_HEADERS, ip_address="127.0.0.1"))
        try:
            article = validator.process_item(reader.read(body, origin + path))
        except DropItem:
            continue
        rows.append({name: getattr(article, name, None) for name in store.CONTENT_COLUMNS})
    return rows, exchanges


def best(run: Callable[[], float], repeat: int) -> float:
    return min(run() for _ in range(repeat))


def cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def store_run(rows: Sequence[dict[str, Any]], batch: int, cluster: bool) -> float:
    """CPU seconds of storing ``rows`` into a fresh SQLite file, ``batch`` rows a transaction."""
    folder = tempfile.mkdtemp(prefix="write-side-")
    engine = open_database(f"sqlite:///{folder}/bench.db")
    hook = store.cluster_urls
    if not cluster:  # the store alone: clustering is what the difference costs
        store.cluster_urls = lambda session, urls: None  # type: ignore[assignment]
    try:
        now = datetime.now(timezone.utc)
        start = time.process_time()
        for i in range(0, len(rows), batch):
            with Session(engine) as session, session.begin():
                store.save_articles(session, rows[i : i + batch], now)
        return time.process_time() - start
    finally:
        store.cluster_urls = hook
        engine.dispose()


def warc_run(exchanges: Sequence[Exchange]) -> float:
    files = WarcFiles(Path(tempfile.mkdtemp(prefix="write-side-warc-")), "bench")
    start = time.process_time()
    for exchange in exchanges:
        files.write(exchange)
    files.close()
    return time.process_time() - start


#: ``--step``: what runs once after the articles are read (callgrind counts the whole process).
STEPS: dict[str, Callable[[list[dict[str, Any]], list[Exchange], int], object]] = {
    "none": lambda rows, exchanges, batch: None,
    "first": lambda rows, exchanges, batch: neardup.band_keys(neardup.signature(neardup.shingles("a b c d e"))),
    "plain": lambda rows, exchanges, batch: store_run(rows, batch, cluster=False),
    "store": lambda rows, exchanges, batch: store_run(rows, batch, cluster=True),
    "warc": lambda rows, exchanges, batch: warc_run(exchanges),
}


def first_use() -> float:
    """CPU seconds of a fresh process's first band keys (the imports they need), less its start-up."""
    code = ("import time; from newscrawl import neardup; t = time.process_time(); "
            "neardup.band_keys(neardup.signature(neardup.shingles('one two three four five'))); "
            "print(time.process_time() - t)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(out.stdout)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="articles in the generated mirror (default 2000)")
    parser.add_argument("--batch", type=int, default=20, help="rows per store transaction (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is shown (default 3)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one clustered store run")
    parser.add_argument("--step", choices=STEPS,
                        help="run only this step, once, untimed (for valgrind; 'none' only reads the articles)")
    args = parser.parse_args(argv)
    if args.step:
        rows, exchanges = articles(args.pages)
        STEPS[args.step](rows, exchanges, args.batch)
        return 0

    started = time.monotonic()
    rows, exchanges = articles(args.pages)
    n = len(rows)
    print(f"{n} articles ({sum(len(r['body']) for r in rows) / n:,.0f} characters a body), "
          f"{len(exchanges)} pages ({sum(len(e.body) for e in exchanges) / len(exchanges) / 1024:.1f} KB a page), "
          f"read in {time.monotonic() - started:.1f} s; {os.cpu_count()} cores")

    def line(name: str, seconds: float, per: int, unit: str = "article") -> None:
        print(f"  {name:34s} {seconds:6.2f} CPU s  {seconds / per * 1e3:6.3f} ms/{unit}  ({load()})")

    bodies = [r["body"] for r in rows]
    shingled = [neardup.shingles(b) for b in bodies]
    signatures = [neardup.signature(s) for s in shingled]
    line("words", best(lambda: cpu(lambda: [neardup.words(b) for b in bodies]), args.repeat), n)
    line("shingles (words included)", best(lambda: cpu(lambda: [neardup.shingles(b) for b in bodies]), args.repeat), n)
    line("signature", best(lambda: cpu(lambda: [neardup.signature(s) for s in shingled]), args.repeat), n)
    line("first band keys of a process", best(first_use, args.repeat), n)
    line("band_keys", best(lambda: cpu(lambda: [neardup.band_keys(s) for s in signatures]), args.repeat), n)
    plain = best(lambda: store_run(rows, args.batch, cluster=False), args.repeat)
    line(f"store, batches of {args.batch}, no clustering", plain, n)
    clustered = best(lambda: store_run(rows, args.batch, cluster=True), args.repeat)
    line(f"store, batches of {args.batch}, clustering", clustered, n)
    line("  clustering alone (difference)", clustered - plain, n)
    line("WARC write (response + request)", best(lambda: warc_run(exchanges), args.repeat), len(exchanges), "page")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        store_run(rows, args.batch, cluster=True)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
