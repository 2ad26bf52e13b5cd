"""How many NAEB pages' date and authors truth can be reached from the page at all: the ceiling.

    .venv/bin/python bench/field_reach.py [--half dev|held-out] [--misses]

Date: the truth's day is *reachable* when some date-bearing place of the page states that day:
any ``<meta>`` content, any JSON-LD string under a key holding "date" (anywhere in the graph),
``<time datetime>`` or its text, the URL's path, or a date written out in the visible text
(anywhere on the page). *Reachable with a zone* also counts an instant whose day in some offset
from UTC-12 to UTC+14 is the truth's (the page writes a UTC instant, the truth is a local day).
Authors: reachable when every name of the truth (folded: NFKC, case, spaces) appears in the page's
visible text (and, second column, anywhere in its HTML, metadata included); an empty truth is
reachable. Beside each ceiling: what the ``news`` spider gets (as score_extraction.py scores it),
and how many of its misses are reachable. ``--misses``: every miss, classed.
"""

from __future__ import annotations

import argparse
import html as html_lib
import os
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from parsel import Selector  # noqa: E402

from newscrawl.extract.metadata import find_json_ld  # noqa: E402
from newscrawl.extract.published import could_be_day, read_date, text_dates, url_date  # noqa: E402
from newscrawl.review import OFFLINE_ORIGIN, OfflineReader  # noqa: E402
from score_extraction import ours  # noqa: E402
from tests.support.naeb import HALVES, authors_match, fold_name, html_pages, pages  # noqa: E402

_SKIP = "ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"


def _json_ld_dates(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [d for k, v in value.items() for d in _json_ld_dates(v, str(k))]
    if isinstance(value, list):
        return [d for v in value for d in _json_ld_dates(v, key)]
    return [value] if isinstance(value, str) and "date" in key.lower() else []


def stated_values(sel: Selector, url: str) -> list[datetime]:
    """Every date any date-bearing place of the page states (see the module docstring)."""
    raws = [m.attrib.get("content", "") for m in sel.xpath("//meta[@content]")]
    raws += _json_ld_dates(find_json_ld(sel))
    for time in sel.xpath("//time"):
        raws += [time.attrib.get("datetime") or "", " ".join(time.xpath("string()").get().split())]
    values = [v for v in map(read_date, (r for r in raws if r and len(r) < 80)) if v is not None]
    values += [v for raw in raws if raw for _, v, _ in text_dates(raw)]
    text = " ".join(" ".join(sel.xpath(f"//body//text()[not({_SKIP})]").getall()).split())
    values += [v for _, v, _ in text_dates(text)]
    if (in_url := url_date(url)) is not None:
        values.append(in_url.value)
    return values


def date_reach(sel: Selector, url: str, day: str) -> tuple[bool, bool]:
    """(the day is stated literally, or an instant falls on it in some zone); a truth that is no
    day (one held-out page's is "NaT") is reachable by no extractor."""
    try:
        want = date.fromisoformat(day)
    except ValueError:
        return False, False
    values = stated_values(sel, url)
    literal = any(v.date() == want for v in values)
    return literal, literal or any(could_be_day(want, v) for v in values if v.tzinfo is not None)


def _folded(text: str) -> str:
    return " " + fold_name(text) + " "


def authors_reach(sel: Selector, raw_html: str, names: frozenset[str]) -> tuple[bool, bool]:
    """(every name in the visible text, every name anywhere in the HTML)."""
    visible = _folded(" ".join(sel.xpath(f"//body//text()[not({_SKIP})]").getall()))
    anywhere = _folded(html_lib.unescape(re.sub(r"<[^>]+>", " ", raw_html)) + " " + raw_html)
    return all(n in visible for n in names), all(n in anywhere for n in names)


def run(half: str, show_misses: bool) -> None:
    reader = OfflineReader("news", f"{OFFLINE_ORIGIN}/")
    rows = []
    for page in pages(half):
        raw = html_pages()[page.id]
        text = raw.decode("utf-8", errors="replace")
        sel = Selector(text)
        got = ours(reader, raw, page.url)
        rows.append((page, got, date_reach(sel, page.url, page.day), authors_reach(sel, text, page.authors)))
    n = len(rows)
    date_hit = [got.day == page.day for page, got, _, _ in rows]
    auth_hit = [authors_match(page.authors, got.authors, got.credit) for page, got, _, _ in rows]

    def pct(k: int) -> str:
        return f"{k} ({k / n:.1%})"

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nNAEB {half} half ({n} pages), load average {load}")
    print("| field | reachable (ceiling) | reachable, wider | ours | ours' misses reachable | ours' misses unreachable |")
    print("|---|---|---|---|---|---|")
    for name, hits, reach, wide, label in (
        ("date (day)", date_hit, [r[2][0] for r in rows], [r[2][1] for r in rows], "with a zone shift"),
        ("authors", auth_hit, [r[3][0] for r in rows], [r[3][1] for r in rows], "anywhere in the HTML"),
    ):
        missed_reach = sum(1 for h, r in zip(hits, wide) if not h and r)
        print(f"| {name} | {pct(sum(reach))} | {pct(sum(wide))} {label} | {pct(sum(hits))}"
              f" | {missed_reach} | {n - sum(hits) - missed_reach} |")
    if show_misses:
        for (page, got, dates, names), d, a in zip(rows, date_hit, auth_hit):
            if not d:
                print(f"  day {page.id[:8]} want {page.day} got {got.day} reachable={dates[0]} zone={dates[1]} {page.url[:80]}")
            if not a:
                print(f"  authors {page.id[:8]} want {sorted(page.authors)} got {got.authors} credit={got.credit}"
                      f" visible={names[0]} html={names[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=HALVES, action="append", help="NAEB half (default both)")
    parser.add_argument("--misses", action="store_true", help="list every miss with its reachability")
    args = parser.parse_args(argv)
    for half in args.half or HALVES:
        run(half, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
