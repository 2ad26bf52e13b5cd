"""Author names of a page no site rule knows: JSON-LD anywhere in its graph, meta tags, byline elements."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from newscrawl.credits import split_agencies, split_byline
from newscrawl.extract.metadata import ARTICLE_TYPES, clean_text, json_ld_types
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
    "contributor", "desk", "team", "newsroom", "brandroom", "company",
})
_MONTH_TAIL = re.compile(
    r"\s+(?:[-|–—]\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d.*$", re.I
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


def json_ld_authors(nodes: Iterable[Any], index: dict[str, Any]) -> list[str]:
    """Names in the ``author`` of the first article node that has one (objects, lists, @id references, strings)."""
    for node in article_nodes(nodes):
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
    """A person's name: not a URL, handle, placeholder, role, date or sentence."""
    value = value.strip()
    words = value.split()
    return (
        0 < len(value) <= 60
        and not _URL.search(value)
        and value.casefold() not in _NOT_NAMES
        and 0 < len(words) <= 6
        and not value.endswith(":")
        and not any(ch.isdigit() for ch in value)
        and words[-1].casefold() not in _ROLE_WORDS
    )


def _trim(part: str) -> str:
    """A name without what bylines print around it: "— A", "View all posts by A", "A - Dec 21", "A Feb 6"."""
    part = _UP_TO_BY.sub("", part, count=1) if re.search(r"\bby\s", part, re.I) else part
    part = _MONTH_TAIL.sub("", part)
    return part.strip(" .,|-–—•·:")


def split_names(text: str) -> list[str]:
    """One author string into names: "A and B", "A, B & C", "By A | Desk"; credentials stay with their name."""
    text = normalize_text(_BY_PREFIX.sub("", text, count=1)).strip(" ,|;")
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
