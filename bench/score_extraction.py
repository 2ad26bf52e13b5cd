"""Score body extraction on every real page in tests/sites, as the article-extraction benchmark does.

    .venv/bin/python bench/score_extraction.py [--min-site-f1 0.99]

Metric (re-implemented from the definition of scrapinghub/article-extraction-benchmark's
evaluate.py): texts are split into ``\\w+`` tokens; each text becomes the multiset of its
4-token shingles (a text shorter than 4 tokens is one shorter shingle); per page, TP/FP/FN
are the multiset overlaps, normalised by their sum so that every page weighs the same;
precision and recall are averaged over pages (precision over pages with TP+FP > 0, recall
over pages with TP+FN > 0; a page with no error at all scores 1) and F1 is their harmonic mean.

Columns: the site spider of the page's folder (its ``build_article`` body, before the
pipelines, so datelines and credit lines count as the truth has them), the generic ``news``
spider's path (structured metadata + trafilatura), and plain ``trafilatura.extract(html)``.
Truth: each folder's ``bodies.json`` (reviewed upstream output, see its PROVENANCE.md).
A second table compares the crawled fields with the upstream reviewed values.
Exit status 1 when a site spider scores under ``--min-site-f1`` on its own pages, or the
generic path scores under plain trafilatura.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newscrawl.review import OFFLINE_ORIGIN, OfflineReader  # noqa: E402

SITES = ROOT / "tests" / "sites"
_TOKEN = re.compile(r"\w+")
Counts = tuple[float, float, float]


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def match(true: str, pred: str) -> Counts:
    """Normalised (TP, FP, FN) of one page."""
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))


def recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))


def scores(pages: list[Counts]) -> tuple[float, float, float]:
    """(precision, recall, F1) over pages, averaged per page as the benchmark does."""
    p = statistics.mean([precision(*c) for c in pages if c[0] + c[1] > 0] or [0.0])
    r = statistics.mean([recall(*c) for c in pages if c[0] + c[2] > 0] or [0.0])
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-site-f1", type=float, default=0.99)
    args = parser.parse_args(argv)

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

    failing = [s for s, counts in by_site.items() if scores(counts)[2] < args.min_site_f1]
    generic_f1, plain_f1 = scores(totals["generic"])[2], scores(totals["trafilatura"])[2]
    if failing:
        print(f"\nFAIL: site spiders under F1 {args.min_site_f1}: {', '.join(failing)}")
    if generic_f1 < plain_f1:
        print(f"\nFAIL: generic path F1 {generic_f1:.3f} < plain trafilatura {plain_f1:.3f}")
    return 1 if failing or generic_f1 < plain_f1 else 0


if __name__ == "__main__":
    sys.exit(main())
