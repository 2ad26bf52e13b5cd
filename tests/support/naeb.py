"""The NAEB pages (tests/data/naeb): loading, the dev/held-out split by site, and the scoring rules."""

from __future__ import annotations

import functools
import hashlib
import json
import lzma
import re
import statistics
import tarfile
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "naeb"
HALVES = ("dev", "held-out")
_TOKEN = re.compile(r"\w+")
Counts = tuple[float, float, float]


@dataclass(frozen=True)
class Page:
    """One NAEB page and its hand-cleaned truth (``authors`` split on commas, ``day`` ISO)."""

    id: str
    site: str
    url: str
    half: str
    title: str
    authors: frozenset[str]
    day: str
    body: str


def half_of(site: str) -> str:
    """'dev' or 'held-out': a fixed split by site (first byte of SHA-256 of the site's URL, even = dev)."""
    return HALVES[hashlib.sha256(site.encode("utf-8")).digest()[0] % 2]


def truth_authors(value: str) -> frozenset[str]:
    """The curators' one-string author list ("A, B", "Laura Baisas |") as a folded set."""
    return frozenset(fold_name(part) for part in re.split(r"[,|]", value) if part.strip())


def fold_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@functools.lru_cache(maxsize=1)
def truth() -> dict[str, dict]:
    with lzma.open(DATA / "truth.json.xz", "rt", encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=1)
def html_pages() -> dict[str, bytes]:
    """Every page's HTML by id (the archive is read once: ~2 s)."""
    with tarfile.open(DATA / "pages.tar.xz") as archive:
        return {
            member.name.removesuffix(".html"): archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive
            if member.isfile()
        }


def pages(half: str | None = None) -> list[Page]:
    """The pages with truth, in id order; ``half`` = 'dev' or 'held-out' for one half only."""
    html = html_pages()
    found = []
    for page_id, t in sorted(truth().items()):
        if page_id not in html or (half and half_of(t["site"]) != half):
            continue
        found.append(Page(
            id=page_id, site=t["site"], url=t["url"], half=half_of(t["site"]), title=t["title"],
            authors=truth_authors(t["authors"]), day=t["date"], body=t["articleBody"],
        ))
    return found


# ---------------------------------------------------------------- body: the benchmark's token F1


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


def page_f1(true: str, pred: str) -> float:
    return scores([match(true, pred)])[2]


# ---------------------------------------------------------------- title, authors, date

_FOLD = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‐": "-", "‑": "-", "‒": "-", "―": "-", "−": "-",
    "\u00a0": " ", "…": "...",
})


def title_exact(true: str, got: str | None) -> bool:
    return got is not None and " ".join(got.split()) == " ".join(true.split())


def title_folded(true: str, got: str | None) -> bool:
    """Equal after NFKC, quotes and dashes folded to ASCII, case and whitespace ignored."""
    def fold(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).translate(_FOLD).casefold().split())
    return got is not None and fold(true) == fold(got)


def authors_match(true: frozenset[str], got: list[str], credit: str | None = None) -> bool:
    """Same folded set of names; a wire agency the truth names may stand in ``credit`` instead."""
    found = {fold_name(a) for a in got}
    if credit and fold_name(credit) not in found:
        wires = {fold_name(credit), *_WIRE_NAMES.get(credit, ())}
        if true & wires:
            found.add(next(iter(true & wires)))
    return found == set(true)


_WIRE_NAMES = {
    "AP": ("associated press", "the associated press", "ap"),
    "Reuters": ("reuters",),
    "AFP": ("afp", "agence france-presse"),
    "Bloomberg": ("bloomberg", "bloomberg news"),
}


def day_of(value: datetime | str | None) -> str | None:
    """The ISO day of a datetime (its own offset's calendar day) or of a date string's first 10 characters."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value[:10] or None
