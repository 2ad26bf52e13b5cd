"""Article metadata from a page's structured data: JSON-LD, OpenGraph, article:* and plain meta tags, <link>, <html>."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import parsel
from lxml import etree

from newscrawl.extract.body import markup_to_text

# Every article-like schema.org type ranks equally (first in the page wins); a bare WebPage is
# only a last resort because its name/description usually describe the site section, not the story.
ARTICLE_TYPES = frozenset(
    {
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Article",
    }
)
PAGE_TYPES = frozenset({"WebPage", "ItemPage"})

_TAG_RE = re.compile(r"<(?:/?[A-Za-z][^<>]*|!--.*?--)>", re.S)
_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//|^www\.", re.I)
_LANG_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")
# Wrappers that CMSs put around script bodies for pre-HTML5 browsers; they make JSON invalid.
_SCRIPT_WRAPPER_RE = re.compile(r"(?://\s*)?(?:<!--|-->|<!\[CDATA\[|\]\]>)")
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Metadata:
    """Article metadata found in a page's structured data; every value None/[] when not found."""

    title: str | None = None
    description: str | None = None
    published_raw: str | None = None  # raw string as in the page, never parsed here
    modified_raw: str | None = None
    authors: tuple[str, ...] = ()
    section: str | None = None
    tags: tuple[str, ...] = ()
    image_url: str | None = None  # absolute (joined with the page URL)
    canonical_url: str | None = None  # absolute
    language: str | None = None  # primary subtag only, lowercased: "en"
    publisher: str | None = None
    body: str | None = None  # JSON-LD articleBody when present (raw text)
    # Every headline the page declares, best source first: JSON-LD headline, og:title,
    # twitter:title, <title> (affixes such as " | Site" kept), for callers that weigh them.
    titles: tuple[str, ...] = ()
    site_name: str | None = None  # og:site_name, else the JSON-LD publisher's name
    # field name -> "json-ld" | "opengraph" | "article-meta" | "meta" | "link" | "html"
    provenance: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- small string helpers


def clean_text(value: Any) -> str | None:
    """Tag-stripped, HTML-unescaped, whitespace-normalised string; None for non-strings and blanks."""
    if not isinstance(value, str):
        return None
    # Tags go before unescaping so that escaped markup ("&lt;b&gt;") survives as literal text.
    text = " ".join(html.unescape(_TAG_RE.sub(" ", value)).split())  # = re.sub(r"\s+", " ", …).strip()
    return text or None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
    return tuple(seen)


def _split_keywords(value: str) -> list[str | None]:
    return [clean_text(part) for part in value.split(",")]


def _is_url(value: str) -> bool:
    return bool(_URL_RE.match(value))


# CMS placeholders printed where no author was entered (The Japan Times 2020: "No Author").
_NO_AUTHOR = frozenset({"no author", "unknown", "anonymous", "n/a", "none"})


def _is_person(value: str | None) -> bool:
    return bool(value) and not _is_url(value) and value.casefold() not in _NO_AUTHOR  # type: ignore[union-attr]


def normalize_language(value: Any) -> str | None:
    """'en-US' / 'en_US' / 'EN' -> 'en'; None when the value is not a language tag."""
    text = clean_text(value)
    match = _LANG_RE.match(text) if text else None
    return match.group(1).lower() if match else None


def _absolute(base: str, value: Any) -> str | None:
    text = clean_text(value)
    if not text or text.lower().startswith(("javascript:", "data:")):
        return None
    try:
        return urljoin(base, text)
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return None


# ---------------------------------------------------------------- JSON-LD parsing


def _decode_all(text: str) -> list[Any]:
    """Every JSON value found back to back in ``text`` (some pages concatenate objects)."""
    decoder = json.JSONDecoder(strict=False)  # strict=False: raw newlines/tabs inside strings
    values: list[Any] = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n;":
            pos += 1
        if pos >= len(text):
            break
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)
    return values


def parse_json_ld_text(text: str) -> list[Any]:
    """Parsed JSON values of one ld+json script; [] when it cannot be repaired. Never raises."""
    # The repair is only a fallback: it would also damage a "-->" or ",}" inside a string value.
    repaired = _TRAILING_COMMA_RE.sub(r"\1", _CONTROL_RE.sub(" ", _SCRIPT_WRAPPER_RE.sub(" ", text)))
    for candidate in (text, repaired):
        try:
            return _decode_all(candidate)
        except (ValueError, RecursionError):
            continue
    return []


def _flatten(value: Any) -> Iterator[dict[str, Any]]:
    # Iterative: json accepts nesting close to the recursion limit, and callers sit deeper in the stack.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            graph = item.get("@graph")
            if graph is None:
                yield item
                continue
            # A graph wrapper carrying only @context holds no data of its own; its members are the nodes.
            if set(item) - {"@context", "@graph", "@id"}:
                yield item
            stack.append(graph)


# The page's <script>, <meta> and <link> elements are read by walking the tree for their tag
# names (lxml does that in C, ~7 µs on a 36 KB page) and testing attributes in Python, as the
# XPath queries below would (each 25-40 µs, plus a parsel wrapper per match).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # XPath normalize-space() splits on these only
_TEXT_CHILDREN = etree.XPath("text()", smart_strings=False)
_HTML_LANG = etree.XPath("/html/@lang", smart_strings=False)


_HEAD_TAGS = ("script", "meta", "link", "title")


def elements_by_tag(selector: parsel.Selector, *tags: str) -> dict[str, list[Any]]:
    """The page's elements of each of ``tags`` in document order (``//tag``), bare lxml
    elements, found in one walk of the tree."""
    found: dict[str, list[Any]] = {tag: [] for tag in tags}
    if isinstance(selector.root, etree._Element):
        for element in selector.root.iter(*tags):
            found[element.tag].append(element)
        return found
    for tag in tags:
        found[tag] = [match.root for match in selector.xpath(f"//{tag}")]
    return found


def find_json_ld(selector: parsel.Selector, scripts: list[Any] | None = None) -> list[dict[str, Any]]:
    """All JSON-LD objects of the page, in document order, top-level lists and @graph expanded.
    ``scripts``: the page's script elements when already found."""
    if scripts is None:
        scripts = elements_by_tag(selector, "script")["script"]
    # //script[contains(translate(@type, <ASCII upper>, <ASCII lower>), 'ld+json')]/text()
    texts = [
        str(text)
        for script in scripts
        if "ld+json" in (script.get("type") or "").translate(_ASCII_LOWER)
        for text in _TEXT_CHILDREN(script)
    ]
    return [node for text in texts for value in parse_json_ld_text(text) for node in _flatten(value)]


def json_ld_types(node: Mapping[str, Any]) -> set[str]:
    """Bare schema.org type names of a node: 'http://schema.org/NewsArticle' -> 'NewsArticle'."""
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str) and name}


# ---------------------------------------------------------------- JSON-LD field readers


def _resolve(value: Any, index: Mapping[str, dict[str, Any]]) -> Any:
    # Yoast-style graphs reference authors/publishers/images by {"@id": ...} only.
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and isinstance(value.get("@id"), str):
        return index.get(value["@id"], value)
    return value


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _name_of(value: Any, index: Mapping[str, dict[str, Any]]) -> str | None:
    value = _resolve(value, index)
    if isinstance(value, dict):
        name = value.get("name")
        return clean_text(name[0] if isinstance(name, list) and name else name)
    return clean_text(value)


def _url_of(value: Any, index: Mapping[str, dict[str, Any]], keys: tuple[str, ...] = ("url", "contentUrl")) -> str | None:
    for item in _items(_resolve(value, index)):
        item = _resolve(item, index)
        if isinstance(item, dict):
            item = next((item[k] for k in keys if isinstance(item.get(k), str) and item[k].strip()), None)
        if isinstance(item, str) and item.strip():
            return item
    return None


def _json_ld_fields(node: Mapping[str, Any], index: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Raw (not yet URL-joined) field values of one JSON-LD node; absent fields omitted."""
    title = clean_text(node.get("headline")) or clean_text(node.get("name"))
    section = next(filter(None, (clean_text(s) for s in _items(node.get("articleSection")))), None)
    keywords = node.get("keywords")
    tags = _split_keywords(keywords) if isinstance(keywords, str) else [clean_text(k) for k in _items(keywords)]
    authors = [a for a in (_name_of(item, index) for item in _items(node.get("author"))) if _is_person(a)]
    language = node.get("inLanguage")
    if isinstance(language, dict):
        language = language.get("alternateName") or language.get("name")
    body = node.get("articleBody")
    values: dict[str, Any] = {
        "title": title,
        "description": clean_text(node.get("description")),
        "published_raw": clean_text(node.get("datePublished")),
        "modified_raw": clean_text(node.get("dateModified")),
        "authors": _unique(authors),
        "section": section,
        "tags": _unique(tags),
        "image_url": _url_of(node.get("image"), index) or _url_of(node.get("thumbnailUrl"), index),
        # Only a page's @id is its URL; an image's @id is a graph-local name like "#primaryimage".
        "canonical_url": _url_of(node.get("mainEntityOfPage"), index, ("@id", "url")) or _url_of(node.get("url"), index),
        "language": normalize_language(language),
        "publisher": next(filter(None, (_name_of(p, index) for p in _items(node.get("publisher")))), None),
        # JSON-LD articleBody is sometimes HTML: keep its text only.
        "body": (markup_to_text(body) or None) if isinstance(body, str) else None,
    }
    return {name: value for name, value in values.items() if value}


def _primary_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    articles = [n for n in nodes if json_ld_types(n) & ARTICLE_TYPES]
    pages = [n for n in nodes if json_ld_types(n) & PAGE_TYPES]
    # The page node only fills gaps (e.g. inLanguage in Yoast graphs) behind the first article.
    return articles[:1] + pages[:1]


# ---------------------------------------------------------------- meta / link / html readers


def meta_index(metas: list[Any]) -> dict[str, list[str]]:
    """Lower-cased meta property/name/itemprop -> contents in document order."""
    index: dict[str, list[str]] = {}
    for meta in metas:
        if meta.get("content") is None:
            continue
        try:
            attrib = dict(meta.attrib)
        except ValueError:  # lxml refuses attribute names holding control characters
            continue
        content = attrib.get("content", "")
        for attr in ("property", "name", "itemprop"):
            key = attrib.get(attr)
            if key:
                prefix = "itemprop:" if attr == "itemprop" else ""
                index.setdefault(prefix + key.strip().lower(), []).append(content)
    return index


def _canonical_href(links: list[Any]) -> str | None:
    """``//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href``, first."""
    for link in links:
        href = link.get("href")
        if href is not None and "canonical" in _XML_SPACE.split(link.get("rel") or ""):
            return str(href)
    return None


def _first(meta: Mapping[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        for value in meta.get(key, []):
            text = clean_text(value)
            if text:
                return text
    return None


def _people(values: Iterable[str]) -> tuple[str, ...]:
    # article:author is often a profile URL rather than a name; a URL is no author name.
    return _unique(a for a in (clean_text(v) for v in values) if _is_person(a))


def _meta_sources(
    selector: parsel.Selector, meta: Mapping[str, list[str]], links: list[Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Non-JSON-LD sources, best first, each with the fields it offers."""
    opengraph = {
        "title": _first(meta, "og:title"),
        "description": _first(meta, "og:description"),
        "image_url": _first(meta, "og:image", "og:image:url", "og:image:secure_url"),
        "canonical_url": _first(meta, "og:url"),
        "language": normalize_language(_first(meta, "og:locale")),
        "publisher": _first(meta, "og:site_name"),
    }
    article_meta = {
        "published_raw": _first(meta, "article:published_time"),
        "modified_raw": _first(meta, "article:modified_time"),
        "authors": _people(meta.get("article:author", [])),
        "section": _first(meta, "article:section"),
        "tags": _unique(clean_text(t) for t in meta.get("article:tag", [])),
    }
    plain_meta = {
        "description": _first(meta, "description"),
        "authors": _people(meta.get("author", [])),
        "tags": _unique(t for value in meta.get("keywords", [])[:1] for t in _split_keywords(value)),
        "published_raw": _first(
            meta, "pubdate", "date", "parsely-pub-date", "itemprop:datepublished", "dc.date.issued", "dcterms.issued"
        ),
    }
    link = {"canonical_url": _canonical_href(links)}
    # No <title> fallback: it carries a " | Site" suffix, and callers prefer their own h1 selector to it.
    lang = _HTML_LANG(selector.root) if isinstance(selector.root, etree._Element) else []
    page = {"language": normalize_language(lang[0] if lang else None)}
    return [("opengraph", opengraph), ("article-meta", article_meta), ("meta", plain_meta), ("link", link), ("html", page)]


# ---------------------------------------------------------------- public entry point


def extract_metadata(selector: parsel.Selector, url: str) -> Metadata:
    """Metadata of the article page ``selector`` fetched from ``url``, each field from its best source."""
    head = elements_by_tag(selector, *_HEAD_TAGS)
    nodes = find_json_ld(selector, head["script"])
    index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    sources = [("json-ld", _json_ld_fields(node, index)) for node in _primary_nodes(nodes)]
    meta = meta_index(head["meta"])
    sources += _meta_sources(selector, meta, head["link"])

    values: dict[str, Any] = {
        "titles": _unique([
            *(offered.get("title") for origin, offered in sources[:1] if origin == "json-ld"),
            _first(meta, "og:title"), _first(meta, "twitter:title"),
            *(clean_text(element.text) for element in head["title"][:1]),
        ]),
    }
    provenance: dict[str, str] = {}
    for origin, offered in sources:
        for name, value in offered.items():
            if name in ("image_url", "canonical_url"):
                value = _absolute(url, value)
            if value and name not in values:
                values[name] = value
                provenance[name] = origin
    values["site_name"] = _first(meta, "og:site_name") or values.get("publisher")
    return Metadata(**values, provenance=provenance)
