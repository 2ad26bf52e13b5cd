"""Whether a link on a section page of an unknown site leads to one story, by several signals of its path and text."""

from __future__ import annotations

import re

# Path segments of pages that list articles rather than being one.
_NOT_ARTICLE = re.compile(
    r"/(?:tags?|topics?|category|categories|author|authors|page|search|about|contact|newsletters?"
    r"|subscribe|login|video|videos|live|podcasts?|gallery|photos?|feed|rss|privacy|terms)(?:/|$)",
    re.I,
)
_YEAR_MONTH = re.compile(r"/(?:19|20)\d{2}/[01]?\d/")
_ISO_DATE = re.compile(r"(?:^|[/_-])(?:19|20)\d{2}-?[01]\d-?[0-3]\d(?:[/_-]|$)")
_NUMERIC_ID = re.compile(r"\d{6,}")
_FILE = re.compile(r"\.(?:s?html?|php|aspx?)$", re.I)
# Opaque IDs: 8+ letters and digits mixed ("/news/articles/c4n8x2ql9k0o"), not a plain word.
_OPAQUE = re.compile(r"^(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{8,}$", re.I)
# Link text this long reads as a headline, not a navigation label.
HEADLINE_WORDS = 5
# Signals needed for a link to count as a story.
THRESHOLD = 2


def article_signals(path: str, text: str | None = None, teaser: bool = False) -> int:
    """How many signals say ``path`` (a decoded URL path) names one story; -1 when a listing segment says it does not.

    Path shape: a slug of 4+ words, a numeric ID of 6+ digits, an opaque ID of mixed letters and
    digits, a year/month or ISO date segment followed by more path, a file-like last segment. Each
    counts 2 (one is enough). Link text of 5+ words (a headline) and a link inside teaser markup
    (``<article>``, an ``<h2>``/``<h3>``) count 1 each: together they make a short path a story.
    """
    if _NOT_ARTICLE.search(path):
        return -1
    trimmed = path.rstrip("/")
    slug = trimmed.rsplit("/", 1)[-1]
    stem = _FILE.sub("", slug)
    segments = [s for s in trimmed.split("/") if s]
    score = 0
    if len(re.split(r"[-_]", stem)) >= 4 or _NUMERIC_ID.search(stem) or _OPAQUE.match(stem):
        score += 2
    dated = _YEAR_MONTH.search(trimmed + "/") or _ISO_DATE.search(trimmed)
    if dated and dated.end() < len(trimmed) and len(stem) > 3:
        score += 2
    if _FILE.search(slug) and len(stem) > 8 and len(segments) >= 2:
        score += 2
    if text and len(text.split()) >= HEADLINE_WORDS:
        score += 1
    if teaser and len(segments) >= 2:
        score += 1
    return score


def looks_like_article(path: str, text: str | None = None, teaser: bool = False) -> bool:
    """A path (with its link text and teaser markup) that names one story; never a tag/author/listing page."""
    return article_signals(path, text, teaser) >= THRESHOLD
