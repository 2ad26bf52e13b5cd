"""The headline of a page no site rule knows: the visible <h1> and the metadata titles weighed by agreement."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence

# What sites put between the headline and their own name ("Story | Site", "Site - Story", "Story :: Site").
_AFFIX_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s+")
_NOT_ALNUM = re.compile(r"[\W_]+")
# An <h1> this similar to a metadata title is the same headline (a variant of it, or it with an affix).
AGREEMENT = 0.6
MAX_TITLE_LEN = 400


def fold(text: str) -> str:
    """Letters and digits only, casefolded: what two spellings of one name have in common."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def site_names(host: str, *names: str | None) -> set[str]:
    """Folded names a site may print beside its headlines: its declared names, and its host's labels
    ("www.dailynewsegypt.com" -> "dailynewsegypt")."""
    labels = [label for label in host.lower().split(".") if label not in ("www", "m", "amp", "com", "org", "net", "co")]
    found = {fold(name) for name in names if name}
    found.update(fold(label) for label in labels[:-1] or labels)
    return {name for name in found if len(name) >= 2}


def is_site(segment: str, sites: set[str]) -> bool:
    """Whether ``segment`` names the site (one of ``sites``, folded), or is empty of letters and digits."""
    key = fold(segment)
    if not key:
        return True
    # "Weather.com" and "The Weather Channel" name the host "weather"; "IGN" is "ign".
    return any(key == site or (len(site) >= 4 and (site in key or key in site)) for site in sites)


def strip_site_affixes(title: str, sites: set[str]) -> str:
    """``title`` without a leading or trailing site-name segment ("Story | Section | Site" -> "Story | Section")."""
    parts = _AFFIX_SEPARATOR.split(title)
    if len(parts) < 2:
        return title.strip()
    separators = _AFFIX_SEPARATOR.findall(title)
    end = next((i for i in range(len(parts) - 1, 0, -1) if is_site(parts[i], sites)), len(parts))
    start = 1 if is_site(parts[0], sites) and end > 1 else 0
    kept = [parts[start]]
    for i in range(start + 1, end):
        kept.append(separators[i - 1] + parts[i])
    return "".join(kept).strip() or title.strip()


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, fold(a), fold(b), autojunk=False).ratio()


def choose_title(h1s: Iterable[str], metadata: Sequence[str | None], sites: set[str]) -> str | None:
    """The page's headline.

    ``metadata``: the structured titles, best first (JSON-LD headline, og:title, twitter:title,
    <title>). Each loses its site-name prefix or suffix. The visible <h1> wins when one agrees
    with a metadata title (the headline is what readers see; metadata holds SEO variants of it)
    or when there is no metadata; an <h1> that only names the site is no headline. Otherwise the
    metadata title most others agree with, the first on a tie.
    """
    titles = [strip_site_affixes(t, sites) for t in metadata if t and len(t) <= MAX_TITLE_LEN]
    headlines = [h for h in (" ".join(h.split()) for h in h1s) if h and len(h) <= MAX_TITLE_LEN and not is_site(h, sites)]
    if headlines and not titles:
        return headlines[0]
    best = max(
        ((max(similarity(h, t) for t in titles), -i, h) for i, h in enumerate(headlines)),
        default=None,
    )
    if best is not None and best[0] >= AGREEMENT:
        return best[2]
    if not titles:
        return None
    votes = [sum(similarity(t, other) >= AGREEMENT for other in titles) for t in titles]
    return titles[votes.index(max(votes))]
