"""Author names of a page no site rule knows: JSON-LD anywhere in its graph, meta tags, byline elements."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from newscrawl.credits import is_credit_line, split_agencies, split_byline
from newscrawl.extract.metadata import ARTICLE_TYPES, clean_text, json_ld_types
from newscrawl.extract.title import fold
from newscrawl.text import normalize_text

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//|^www\.|@|\.(?:com|org|net)\b", re.I)
# A profile handle or a CMS placeholder is no name.
_NOT_NAMES = frozenset({"no author", "unknown", "anonymous", "n/a", "none", "admin", "staff", "editor", "editors"})
# Credentials after a name ("Robert E. Moffit, Ph.D."), not a second person.
_CREDENTIAL = re.compile(r"^(?:ph\.?\s?d|m\.?\s?d|jr|sr|ii|iii|esq|mba|rn|dds)\.?$", re.I)
_BY_PREFIX = re.compile(r"^\s*(?:written\s+|words\s+|reported\s+)?by\b[:\s]*", re.I)
# JSON-LD keys under which an article node may sit (besides @graph and lists).
_NESTING = ("mainEntity", "mainEntityOfPage", "hasPart", "itemListElement", "item", "about")
MAX_DEPTH = 12
# A role or a desk, not a person ("Contributing Opinion Writer", "TMZ Staff", "Staff reports").
_ROLE_WORDS = frozenset({
    "staff", "reports", "report", "writer", "writers", "editor", "editors", "reporter", "correspondent",
    "contributor", "desk", "team", "newsroom", "brandroom", "company", "columnist", "officer", "network",
})
# Words that make a phrase a job title rather than a name ("Contributing Opinion", "Head of Reality Labs").
_TITLE_WORDS = frozenset({
    "contributing", "opinion", "senior", "assistant", "associate", "chief", "deputy", "managing",
    "executive", "special", "guest", "head", "of", "features", "published", "updated", "posted",
    # Page chrome printed beside a byline ("Plus Icon", "Follow", "Email", "Latest").
    "icon", "follow", "email", "share", "toggle", "menu", "latest", "twitter", "facebook", "instagram", "linkedin",
})
_MONTH_TAIL = re.compile(
    r"\s+(?:[-|–—]\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d.*$", re.I
)
# A name its element ends with "and" (the next name sits in the next element): "Travis Andersen and".
_TRAILING_JOIN = re.compile(r"(?:\s+(?:and|&)|\s*,)\s*$", re.I)
_NOT_NAME_CHARS = re.compile(r"[\[\]{}()<>/=+*#_]")
_PARTICLES = frozenset({"bin", "binti", "van", "von", "de", "del", "der", "den", "da", "di", "du", "dos", "la", "le", "al", "el", "ibn", "y", "e"})
_LABEL_TAIL = re.compile(r"\s+(?:published|updated|posted|last updated)\b.*$", re.I)
_CAPS_WORD = re.compile(r"^[A-Z][A-Z.&'-]+$")
_OTHER_CREDIT = re.compile(
    r"\b(?:illustrations?|illustrated|photos?|photographs?|photography|images?|videos?|graphics?|edited|produced)\s+by\s",
    re.I,
)
_UP_TO_BY = re.compile(r"^.*?\bby\s+", re.I)


def article_nodes(nodes: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Article-typed JSON-LD objects anywhere below ``nodes`` (``mainEntity``, ``@graph``, lists…)."""
    stack: list[tuple[Any, int]] = [(node, 0) for node in reversed(list(nodes))]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in reversed(item))
        elif isinstance(item, dict):
            if json_ld_types(item) & ARTICLE_TYPES:
                yield item
            for key in ("@graph", *_NESTING):
                if key in item:
                    stack.append((item[key], depth + 1))


def _headlined(nodes: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Top-level nodes with a headline (a Recipe, a VideoObject…): the page's work when no article node says who wrote it."""
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("headline"), str):
            yield node


def json_ld_authors(nodes: Iterable[Any], index: dict[str, Any]) -> list[str]:
    """Names in the ``author`` of the first article node that has one (objects, lists, @id references,
    strings), else of the first headlined node that has one."""
    nodes = list(nodes)
    for node in itertools.chain(article_nodes(nodes), _headlined(nodes)):
        names: list[str] = []
        for author in node.get("author") if isinstance(node.get("author"), list) else [node.get("author")]:
            if isinstance(author, dict) and set(author) <= {"@id", "@type"} and author.get("@id") in index:
                author = index[author["@id"]]
            name = author.get("name") if isinstance(author, dict) else author
            if isinstance(name, list):
                name = name[0] if name else None
            names.extend(split_names(clean_text(name) or ""))
        if names:
            return names
    return []


def is_name(value: str) -> bool:
    """A person's name: not a URL, handle, placeholder, role, job title, date or sentence."""
    value = value.strip()
    words = value.split()
    return (
        bool(words)
        and not any(word.casefold() in _TITLE_WORDS for word in words)
        and not _NOT_NAME_CHARS.search(value)
        # Names are capitalised but for their particles ("Sajid bin Mohammad"): "Talton writes about business" is prose.
        and all(word[0].isupper() or word in _PARTICLES for word in words)
        and
        0 < len(value) <= 60
        and not _URL.search(value)
        and value.casefold() not in _NOT_NAMES
        and 0 < len(words) <= 6
        and not value.endswith(":")
        and not any(ch.isdigit() for ch in value)
        and words[-1].casefold() not in _ROLE_WORDS
    )


def _trim(part: str) -> str:
    """A name without what bylines print around it: "— A", "View all posts by A", "A - Dec 21", "A Feb 6",
    "A Columnist", "A USA TODAY NETWORK", "A Published:"."""
    if other := _OTHER_CREDIT.search(part):
        part = part[: other.start()]  # "Illustrations by A", "Photos by A": a credit, not the story's author
    part = _UP_TO_BY.sub("", part, count=1) if re.search(r"\bby\s", part, re.I) else part
    part = _MONTH_TAIL.sub("", part)
    part = _LABEL_TAIL.sub("", part)
    words = part.strip(" .,|-–—•·:").split()
    # A trailing organisation in capitals ("Craig Meyer USA TODAY NETWORK"): two words or more, so
    # that initials and suffixes ("JR", "III") stay.
    caps = 0
    while len(words) - caps > 2 and _CAPS_WORD.match(words[-1 - caps]):
        caps += 1
    if caps >= 2:
        words = words[:-caps]
    if len(words) == 3 and words[-1].casefold() in _ROLE_WORDS:
        words = words[:-1]  # "Jon Talton Columnist"
    half = len(words) // 2
    if half and len(words) % 2 == 0 and words[:half] == words[half:]:
        words = words[:half]  # the name printed twice (a visible and a screen-reader copy)
    return " ".join(words).strip(" .,|-–—•·:")


def split_names(text: str) -> list[str]:
    """One author string into names: "A and B", "A, B & C", "By A | Desk"; credentials stay with their name."""
    text = _TRAILING_JOIN.sub("", normalize_text(_BY_PREFIX.sub("", text, count=1))).strip(" ,|;")
    if not text:
        return []
    people, wires = split_byline("By " + text)
    if people or wires:
        return [p for p in map(_trim, people) if is_name(p) and not _CREDENTIAL.match(p)] + wires
    parts = [p.strip(" .,") for p in re.split(r"\s*(?:,\s*and\s+|,|;|\s+and\s+|\s*&\s*)\s*", text) if p.strip(" .,")]
    names: list[str] = []
    for part in map(_trim, parts):
        if _CREDENTIAL.match(part) and names:
            continue
        names.append(part)
    return [n for n in names if is_name(n)]


def clean_names(names: Iterable[str], is_site: Callable[[str], bool] | None = None) -> tuple[list[str], list[str]]:
    """(people, canonical wires) of candidate names, duplicates (by case) dropped, and the site's
    own name (``is_site``: "USA TODAY" credited on usatoday.com) too: it is no author."""
    seen: dict[str, str] = {}
    for name in names:
        for part in split_names(name):
            if is_site is None or not is_site(part):
                seen.setdefault(part.casefold(), part)
    return split_agencies(list(seen.values()))


def without_fragments(names: Iterable[str]) -> list[str]:
    """Names without run-together ones that hold a whole other name ("Associated Press Najib Jobain"
    beside "Najib Jobain": two bylines in one element) and one-word parts of another ("Lee" beside
    "Ann Lee"); duplicates by case dropped, order kept."""
    unique = list({name.casefold(): name for name in reversed(list(names))}.values())[::-1]
    folded = [name.casefold() for name in unique]

    def inside(part: str, whole: str) -> bool:
        return part != whole and re.search(rf"(?:^|\s){re.escape(part)}(?:\s|$)", whole) is not None

    return [
        name for name, key in zip(unique, folded)
        if not any(len(other.split()) > 1 and inside(other, key) for other in folded)
        and not (len(key.split()) == 1 and any(inside(key, other) for other in folded))
    ]


def byline_names(texts: Iterable[str], is_site: Callable[[str], bool] | None = None) -> tuple[list[str], list[str]]:
    """(people, wires) named by all of a page's byline elements together: one element often holds
    part of the byline ("Travis Andersen and", "Adam Sennott") or all of it twice."""
    people: list[str] = []
    wires: list[str] = []
    for text in texts:
        found, found_wires = clean_names([text], is_site)
        people += [name for name in found if " " in name]  # a one-word byline element is a label ("Reviews")
        wires += [w for w in found_wires if w not in wires]
    wire_names = {w.casefold() for w in wires}
    people = [p for p in people if not any(p.casefold().startswith(w) or p.casefold().endswith(w) for w in wire_names)]
    return without_fragments(people), wires


def agree(metadata: list[str], byline: list[str]) -> list[str]:
    """The metadata's names, or the byline's when it names every one of them and more (metadata
    often keeps the first author of "By A, B and C" only)."""
    keys = {name.casefold() for name in metadata}
    return byline if keys < {name.casefold() for name in byline} else metadata


#: Meta tags naming the author besides ``author`` and ``article:author`` (analytics and CMS tags).
AUTHOR_META = ("sailthru.author", "parsely-author", "byl", "dc.creator", "dcterms.creator")


def meta_author_names(meta: Mapping[str, list[str]]) -> list[str]:
    """Author strings of the page's other meta tags, and of a Slack/Twitter "Written by" label pair."""
    names = [value for key in AUTHOR_META for value in meta.get(key, [])]
    for label_key, data_key in (("twitter:label1", "twitter:data1"), ("twitter:label2", "twitter:data2")):
        labels, data = meta.get(label_key, []), meta.get(data_key, [])
        if labels and data and labels[0].strip().casefold() in ("written by", "author", "by"):
            names.append(data[0])
    return names


# What a byline prints before people who helped but did not write ("By A Contributions from B").
_CONTRIBUTORS = re.compile(
    r"\b(?:contributions?\s+(?:from|by)|additional\s+reporting(?:\s+(?:by|from))?|with\s+reporting\s+(?:by|from)"
    r"|reporting\s+contributed\s+by)\s*:?\s+(?P<names>.+)$",
    re.I,
)


def contributors(texts: Iterable[str]) -> set[str]:
    """Folded names a byline credits as contributors, not writers ("Contributions from B, C")."""
    found: set[str] = set()
    for text in texts:
        if match := _CONTRIBUTORS.search(text):
            found.update(name.casefold() for name in split_names(match.group("names")))
    return found


def without_contributors(names: list[str], helpers: set[str]) -> list[str]:
    """``names`` without the byline's contributors, unless that would leave none."""
    kept = [name for name in names if name.casefold() not in helpers]
    return kept or names


def without_holders(names: list[str], paragraphs: Iterable[str]) -> list[str]:
    """``names`` without the copyright holder the story's credit line names ("Javier Espinoza and
    Patricia Nilsson, Financial Times" above "© 2023 The Financial Times Ltd."): an outlet, not a
    person; kept when it is the only name (a writer may hold the copyright of their own text)."""
    holders = [fold(p) for p in paragraphs if is_credit_line(p)]
    if not holders:
        return names
    kept = [name for name in names if not (len(fold(name)) >= 6 and any(fold(name) in line for line in holders))]
    return kept or names
