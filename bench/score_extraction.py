"""Score article extraction: the real pages in tests/sites, and the 421 NAEB pages of 212 sites.

    .venv/bin/python bench/score_extraction.py [--only fixtures|naeb] [--half dev|held-out] [--worst N]

Metric (re-implemented from the definition of scrapinghub/article-extraction-benchmark's
evaluate.py, in tests/support/naeb.py): texts are split into ``\\w+`` tokens; each text becomes
the multiset of its 4-token shingles (a text shorter than 4 tokens is one shorter shingle); per
page, TP/FP/FN are the multiset overlaps, normalised by their sum so that every page weighs the
same; precision and recall are averaged over pages (precision over pages with TP+FP > 0, recall
over pages with TP+FN > 0; a page with no error at all scores 1) and F1 is their harmonic mean.

First table (tests/sites): the site spider of the page's folder (its ``build_article`` body,
before the pipelines, so datelines and credit lines count as the truth has them), the generic
``news`` spider's path, and plain ``trafilatura.extract(html)``, against each folder's
``bodies.json``; then the crawled fields against the upstream reviewed values.

NAEB tables (tests/data/naeb, one per half: ``dev`` is what the generic rules were tuned on,
``held-out`` judges them): the ``news`` spider (body as built, title/authors/credit/date after
the clean pipeline), ``trafilatura.extract`` with its defaults and with
``include_comments=False`` (title, author and date from ``trafilatura.extract_metadata``,
untimed), and newspaper4k when it is installed (it is not in requirements.txt). Title exact,
and exact after folding quotes, dashes, case and spaces; authors as a set of names (a wire the
truth names may stand in ``credit``); date = the truth's day (the page's own calendar day);
CPU ms/page = process time of the extraction alone (for ours: building the article from the
response, parsing included, and the clean pipeline). The load average is printed with each table.

Exit status 1 when a site spider scores under ``--min-site-f1`` on its own pages, or the
generic path scores under plain trafilatura on them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newscrawl.review import OFFLINE_ORIGIN, OfflineReader  # noqa: E402
from newscrawl.dates import parse_date_text  # noqa: E402
from tests.support.naeb import (  # noqa: E402
    HALVES, Counts, Page, authors_match, day_of, match, scores, title_exact, title_folded,
)
from tests.support.naeb import html_pages as naeb_html  # noqa: E402
from tests.support.naeb import pages as naeb_pages  # noqa: E402

try:  # optional: not in requirements.txt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "nltk is not installed": only its NLP extras need it
        import newspaper
except ImportError:
    newspaper = None

SITES = ROOT / "tests" / "sites"

def real_pages() -> list[tuple[str, str, Path, str]]:
    """(folder, path, page file, truth body) for every page listed in a bodies.json."""
    found = []
    for bodies in sorted(SITES.glob("*/bodies.json")):
        for path, entry in json.loads(bodies.read_text("utf-8")).items():
            found.append((bodies.parent.name, path, bodies.parent / entry["file"], entry["body"]))
    return found


def fmt(p: float, r: float, f: float) -> str:
    return f"{p:5.3f} {r:5.3f} {f:5.3f}"


def upstream_fields(folder: str, page: Path) -> dict | None:
    """The upstream reviewed record (fundus format) of a page, matched by title."""
    upstream = SITES / folder / "upstream" / "expected.json"
    if not upstream.exists():
        return None
    html = page.read_text("utf-8", errors="replace")
    records = json.loads(upstream.read_text("utf-8"))
    if "title" in records:  # trafilatura's format: one flat record
        return records
    return next((r for r in records.values() if isinstance(r, dict) and str(r.get("title", ""))[:40] in html), None)


def field_agreement(stored: dict, want: dict) -> dict[str, bool | None]:
    published = want.get("publishing_date") or want.get("date")
    got_published = stored.published_at
    same_minute = None
    if published and got_published:
        try:
            ref = datetime.fromisoformat(published)
            same_minute = ref.tzinfo is None and ref.date() == got_published.date() or (
                ref.tzinfo is not None and abs((ref - got_published).total_seconds()) < 60
            )
        except ValueError:
            same_minute = None
    authors = want.get("authors", want.get("author"))
    authors = [authors] if isinstance(authors, str) else authors
    topics = want.get("topics")
    return {
        "title": stored.title == want.get("title"),
        "published": same_minute,
        "authors": None if authors is None else [a.casefold() for a in stored.authors] == [a.casefold() for a in authors],
        "tags": None if topics is None else stored.tags == topics,
    }


# ---------------------------------------------------------------- NAEB: 421 real pages of 212 sites


@dataclass
class Extracted:
    """What one extractor found on one page."""

    body: str
    title: str | None
    authors: list[str]
    credit: str | None
    day: str | None
    seconds: float  # CPU time


def ours(reader: OfflineReader, html: bytes, url: str) -> Extracted:
    """The generic ``news`` path: build_article (body as extracted) then the clean pipeline."""
    start = time.process_time()
    raw = reader.raw(html, url)
    body = raw.body or ""
    article = reader.cleaner.process_item(raw)
    seconds = time.process_time() - start
    # The day as the page wrote it (its own offset), not the UTC day.
    try:
        local = parse_date_text(" ".join(article.published_raw.split())) if article.published_raw else None
    except (ValueError, TypeError, IndexError, OverflowError):
        local = None
    day = day_of(local) if local else day_of(article.published_at)
    return Extracted(body, article.title, article.authors, article.credit, day, seconds)


def plain_trafilatura(html: bytes, **options: object) -> Extracted:
    """``trafilatura.extract(html)`` timed; its metadata (title, author, date) read untimed."""
    text = html.decode("utf-8", errors="replace")
    start = time.process_time()
    body = trafilatura.extract(text, **options) or ""  # type: ignore[arg-type]
    seconds = time.process_time() - start
    meta = trafilatura.extract_metadata(text)
    authors = [a.strip() for a in (meta.author or "").split(";") if a.strip()] if meta else []
    return Extracted(body, meta.title if meta else None, authors, None, day_of(meta.date) if meta else None, seconds)


def newspaper4k(html: bytes, url: str) -> Extracted:
    start = time.process_time()
    # Offline: no image downloads (top-image scoring) and no "read more" page fetches.
    article = newspaper.Article(url, fetch_images=False)
    article.download(input_html=html.decode("utf-8", errors="replace"), ignore_read_more=True)
    article.parse()
    seconds = time.process_time() - start
    return Extracted(article.text or "", article.title, list(article.authors), None, day_of(article.publish_date), seconds)


@dataclass
class Tally:
    """Per-extractor totals over one half."""

    counts: list[Counts] = field(default_factory=list)
    title: int = 0
    title_folded: int = 0
    authors: int = 0
    day: int = 0
    seconds: float = 0.0

    def add(self, page: Page, got: Extracted) -> Counts:
        counts = match(page.body, got.body)
        self.counts.append(counts)
        self.title += title_exact(page.title, got.title)
        self.title_folded += title_folded(page.title, got.title)
        self.authors += authors_match(page.authors, got.authors, got.credit)
        self.day += got.day == page.day
        self.seconds += got.seconds
        return counts

    def row(self, name: str) -> str:
        n = len(self.counts)
        p, r, f = scores(self.counts)
        return (f"| {name} | {n} | {p:.3f} | {r:.3f} | **{f:.3f}** | {self.title / n:.1%} | {self.title_folded / n:.1%}"
                f" | {self.authors / n:.1%} | {self.day / n:.1%} | {1000 * self.seconds / n:.1f} |")


def naeb_main(halves: list[str], worst: int, with_newspaper: bool) -> dict[str, dict[str, Tally]]:
    reader = OfflineReader("news", f"{OFFLINE_ORIGIN}/")
    extractors = ["ours (news spider)", "trafilatura defaults", "trafilatura include_comments=False"]
    if with_newspaper and newspaper is None:
        print("note: newspaper4k is not installed (pip install newspaper4k): its row is skipped")
    if with_newspaper and newspaper is not None:
        extractors.append("newspaper4k")
    results: dict[str, dict[str, Tally]] = {}
    for half in halves:
        tallies = {name: Tally() for name in extractors}
        losses = []
        for page in naeb_pages(half):
            html = naeb_html()[page.id]
            got = {
                "ours (news spider)": ours(reader, html, page.url),
                "trafilatura defaults": plain_trafilatura(html),
                "trafilatura include_comments=False": plain_trafilatura(html, include_comments=False),
            }
            if "newspaper4k" in tallies:
                got["newspaper4k"] = newspaper4k(html, page.url)
            counts = {name: tallies[name].add(page, value) for name, value in got.items()}
            mine = got["ours (news spider)"]
            losses.append((
                scores([counts["ours (news spider)"]])[2] - scores([counts["trafilatura defaults"]])[2],
                page, mine,
            ))
        results[half] = tallies
        print(f"\nNAEB {half} half ({len(losses)} pages), load average {_load()}")
        print("| extractor | pages | body P | body R | body F1 | title exact | title folded | authors | date (day) | CPU ms/page |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, tally in tallies.items():
            print(tally.row(name))
        if worst:
            print(f"\nworst {worst} pages of ours against trafilatura defaults ({half}):")
            for delta, page, mine in sorted(losses, key=lambda x: x[0])[:worst]:
                print(f"  {delta:+.3f} {page.id} {page.site}")
            print("title / author / date misses:")
            for _, page, mine in losses:
                if not title_folded(page.title, mine.title):
                    print(f"  title {page.id}: want {page.title!r} got {mine.title!r}")
                if not authors_match(page.authors, mine.authors, mine.credit):
                    print(f"  authors {page.id}: want {sorted(page.authors)} got {mine.authors} credit={mine.credit}")
                if mine.day != page.day:
                    print(f"  day {page.id}: want {page.day} got {mine.day}")
    return results


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-site-f1", type=float, default=0.99)
    parser.add_argument("--only", choices=("fixtures", "naeb"), help="one of the two tables")
    parser.add_argument("--half", choices=HALVES, action="append", help="NAEB half (default both)")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst NAEB pages and every field miss")
    parser.add_argument("--no-newspaper", action="store_true", help="leave newspaper4k out")
    args = parser.parse_args(argv)
    status = 0
    if args.only != "naeb":
        status = fixtures_main(args.min_site_f1)
    if args.only != "fixtures":
        naeb_main(args.half or list(HALVES), args.worst, not args.no_newspaper)
    return status


def fixtures_main(min_site_f1: float) -> int:
    """The site spiders, the generic path and trafilatura on the real pages in tests/sites."""
    generic = OfflineReader("news", f"{OFFLINE_ORIGIN}/")
    readers: dict[str, OfflineReader] = {}
    rows, by_site = [], {}
    totals: dict[str, list[Counts]] = {"site": [], "generic": [], "trafilatura": []}
    fields: dict[str, list[dict[str, bool | None]]] = {}
    for folder, path, page, truth in real_pages():
        html = page.read_bytes()
        url = OFFLINE_ORIGIN + path
        generic_body = generic.raw(html, url).body or ""
        plain = trafilatura.extract(html.decode("utf-8", errors="replace")) or ""
        site_counts = None
        if folder != "news":
            reader = readers.setdefault(folder, OfflineReader(folder))
            raw = reader.raw(html, url)
            site_counts = match(truth, raw.body or "")
            totals["site"].append(site_counts)
            by_site.setdefault(folder, []).append(site_counts)
            want = upstream_fields(folder, page)
            if want:
                fields.setdefault(folder, []).append(field_agreement(reader.cleaner.process_item(raw), want))
        g, t = match(truth, generic_body), match(truth, plain)
        totals["generic"].append(g)
        totals["trafilatura"].append(t)
        rows.append((f"{folder}:{page.name}", site_counts, g, t))

    width = max(len(r[0]) for r in rows) + 2
    print(f"{'page':<{width}}{'site spider P/R/F1':<20}{'generic path P/R/F1':<20}{'trafilatura P/R/F1':<20}")
    for name, site, g, t in rows:
        site_text = fmt(*scores([site])) if site else "  -     -     -"
        print(f"{name:<{width}}{site_text:<20}{fmt(*scores([g])):<20}{fmt(*scores([t])):<20}")
    print(f"{'ALL (benchmark aggregate)':<{width}}{fmt(*scores(totals['site'])):<20}"
          f"{fmt(*scores(totals['generic'])):<20}{fmt(*scores(totals['trafilatura'])):<20}")

    print("\nField agreement with the upstream reviewed values (True/False per page; None = upstream has no value)")
    for folder, results in fields.items():
        for result in results:
            print(f"  {folder:<14}" + "  ".join(f"{k}={v}" for k, v in result.items()))

    failing = [s for s, counts in by_site.items() if scores(counts)[2] < min_site_f1]
    generic_f1, plain_f1 = scores(totals["generic"])[2], scores(totals["trafilatura"])[2]
    if failing:
        print(f"\nFAIL: site spiders under F1 {min_site_f1}: {', '.join(failing)}")
    if generic_f1 < plain_f1:
        print(f"\nFAIL: generic path F1 {generic_f1:.3f} < plain trafilatura {plain_f1:.3f}")
    return 1 if failing or generic_f1 < plain_f1 else 0


if __name__ == "__main__":
    sys.exit(main())
