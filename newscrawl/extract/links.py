"""Whether a link on a section page of an unknown site leads to one story, by several signals of its path and text."""

from __future__ import annotations

import re

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

# Path segments of pages that list articles (a tag, an author…) or are no story at all.
_NOT_ARTICLE = re.compile(
    r"/(?:tags?|topics?|category|categories|author|authors|page|search|about|contact|newsletters?"
    r"|subscribe|login|feed|rss|privacy|terms)(?:/|$)",
    re.I,
)
# Media sections: their index is no story, but one item under them with a story's path (a slug,
# a date, an ID) is one: a video or podcast page carries its transcript or write-up.
_MEDIA = re.compile(r"/(?:video|videos|live|podcasts?|gallery|photos?)(?:/|$)", re.I)
# A last segment this short and plain ("/<slug>/story", "/<slug>/amp") leaves the slug to the one before.
_SUFFIX = re.compile(r"^[a-z]{1,8}$", re.I)
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

    Path shape: a slug of 4+ words (in the last segment, or the one before a short suffix such as
    ``/story``), a numeric ID of 6+ digits, an opaque ID of mixed letters and digits, a year/month or
    ISO date segment followed by more path, a file-like last segment. Each counts 2 (one is
    enough). A media section (``/video/``, ``/podcasts/``) is no story without one of them. Link text of 5+ words (a headline) and a link inside teaser markup
    (``<article>``, an ``<h2>``/``<h3>``) count 1 each: together they make a short path a story.
    """
    if _NOT_ARTICLE.search(path):
        return -1
    trimmed = path.rstrip("/")
    slug = trimmed.rsplit("/", 1)[-1]
    stem = _FILE.sub("", slug)
    segments = [s for s in trimmed.split("/") if s]
    stems = [stem, segments[-2]] if len(segments) >= 3 and _SUFFIX.match(stem) else [stem]
    score = 0
    if any(len(re.split(r"[-_]", s)) >= 4 or _NUMERIC_ID.search(s) or _OPAQUE.match(s) for s in stems):
        score += 2
    dated = _YEAR_MONTH.search(trimmed + "/") or _ISO_DATE.search(trimmed)
    if dated and dated.end() < len(trimmed) and len(stem) > 3:
        score += 2
    if _FILE.search(slug) and len(stem) > 8 and len(segments) >= 2:
        score += 2
    if score == 0 and _MEDIA.search(path):
        return -1
    if text and len(text.split()) >= HEADLINE_WORDS:
        score += 1
    if teaser and len(segments) >= 2:
        score += 1
    return score


def looks_like_article(path: str, text: str | None = None, teaser: bool = False) -> bool:
    """A path (with its link text and teaser markup) that names one story; never a tag/author/listing page."""
    return article_signals(path, text, teaser) >= THRESHOLD


#: A link shaped like at least this many story links of its page (the same markup around it)
#: is a story too: a section page lists its stories in repeated teasers, and a short headline or
#: a short slug in one of them is no reason to skip it.
REPEATED_TEASERS = 3


@dataclass(frozen=True)
class LinkCandidate:
    """One on-site link of a section page: its URL and path, its text, whether it sits in
    teaser markup, and its ``shape`` (the markup around it, equal for links of one teaser list)."""

    url: str
    path: str
    text: str | None
    teaser: bool
    shape: Hashable


def choose_article_links(candidates: Iterable[LinkCandidate]) -> tuple[list[str], list[str]]:
    """(story URLs in page order, URLs judged no story) among a page's links.

    A link is a story by its own signals (:func:`looks_like_article`), or, when nothing vetoes it
    and its path has two segments or more, by sharing its shape with :data:`REPEATED_TEASERS`
    stories of the page (navigation and footer lists share a shape with no story).
    """
    items = list(candidates)
    best: dict[str, int] = {}  # a URL linked twice (image and headline) is judged by its best link
    shapes: Counter[Hashable] = Counter()
    for c in items:
        signals = article_signals(c.path, c.text, c.teaser)
        best[c.url] = max(best.get(c.url, signals), signals)
        if signals >= THRESHOLD:
            shapes[c.shape] += 1
    stories: dict[str, None] = {}
    for c in items:
        if best[c.url] >= THRESHOLD or (
            best[c.url] >= 0 and c.path.strip("/").count("/") >= 1 and shapes[c.shape] >= REPEATED_TEASERS
        ):
            stories.setdefault(c.url, None)
    rejected = list(dict.fromkeys(c.url for c in items if c.url not in stories))
    return list(stories), rejected
