"""Article body paragraphs: by a site's CSS selector, or by a generic text-density heuristic."""

from __future__ import annotations

import copy
import functools
import re
import weakref
from collections.abc import Iterator
from typing import Any

import lxml.html
import parsel
from lxml import etree
from parsel.csstranslator import css2xpath

# Their text is never reader-visible prose, wherever they sit. Beyond script/style/noscript/template:
# form controls and iframe fallback, and the raw-text relics xmp/plaintext/noembed/noframes, whose
# "text" is whatever markup follows (libxml2 reads <plaintext> to the end of the page).
NON_TEXT_TAGS = frozenset({
    "script", "style", "noscript", "template",
    "textarea", "select", "button", "iframe", "xmp", "plaintext", "noembed", "noframes",
})
# Text inside them still flows with its neighbours ("<p>a<br>b</p>" is "a b", not "ab").
BREAKING_TAGS = frozenset({"br", "p", "div", "li", "td", "th", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})
CHROME_TAGS = NON_TEXT_TAGS | {
    "nav", "header", "footer", "aside", "figure", "figcaption", "iframe", "svg", "button", "select", "textarea",
}
CONTAINER_TAGS = frozenset({"article", "main", "div", "section", "body"})
# Never dropped for their class/id: pages put "has-sidebar"-like classes on the article wrapper itself.
PROTECTED_TAGS = frozenset({"html", "body", "article", "main"})
BOILERPLATE_RE = re.compile(
    r"(?:^|[-_\s])(comments?|sidebar|share|sharing|social|related|promo\w*|advert\w*|ads?|newsletter|footer|nav"
    r"|navigation|menu|login|cookies?|consent|subscribe|subscription|popup|modal|breadcrumbs?|widget|banner"
    r"|sponsor\w*|outbrain|taboola|recommend\w*|most-?popular|trending|caption|paywall)(?=$|[-_\s])",
    re.I,
)
MAX_LINK_DENSITY = 0.5
# A boilerplate-named element is a layout frame, not boilerplate, when it holds this share of the prose.
FRAME_SHARE = 0.8
SHORT_PARAGRAPH = 25
SENTENCE_END = tuple(".!?…:;\"'”’)»。！？」』")
_TAG_RE = re.compile(r"<(?:/?[A-Za-z][^<>]*|!--.*?--)>", re.S)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _tag(element: etree._Element) -> str | None:
    return element.tag.lower() if isinstance(element.tag, str) else None  # None: comment, PI


_NON_TEXT_NAMES = tuple(sorted(NON_TEXT_TAGS))


def _inside_non_text(element: etree._Element) -> bool:
    if isinstance(element, lxml.html.HtmlMixin):
        # libxml2's HTML parser lowercases tag names: lxml matches them in C, ~2x faster.
        return next(element.iterancestors(*_NON_TEXT_NAMES), None) is not None
    return any(_tag(a) in NON_TEXT_TAGS for a in element.iterancestors())


def element_text(element: etree._Element) -> str:
    """All descendant text of ``element`` except script/style/noscript/template, whitespace-normalised."""
    if _inside_non_text(element):
        return ""
    tag = _tag(element)
    if tag is not None and tag not in NON_TEXT_TAGS and not len(element):
        # No children (most paragraphs): the walk below would give its text between spaces.
        return " ".join((element.text or "").split())
    parts: list[str] = []
    hidden = 0  # depth inside a skipped subtree; iterative because libxml2 nests 2,000+ levels deep
    for event, node in etree.iterwalk(element, events=("start", "end", "comment", "pi")):
        tag = _tag(node)
        if event in ("comment", "pi"):  # reported once, never as start/end: only the tail counts
            parts.append("" if hidden else node.tail or "")
            continue
        if event == "start":
            if hidden or tag is None or tag in NON_TEXT_TAGS:
                hidden += 1
            else:
                parts.append(" " if tag in BREAKING_TAGS else "")
                parts.append(node.text or "")
            continue
        if hidden:
            hidden -= 1
        elif tag in BREAKING_TAGS:
            parts.append(" ")
        if not hidden and node is not element:
            parts.append(node.tail or "")  # a skipped node's tail still belongs to its parent
    # str.split() splits on exactly the Unicode whitespace of the regex \s+, ~3x faster than its sub().
    return " ".join("".join(parts).split())


def markup_to_text(value: str) -> str:
    """Plain text of a string that may hold HTML (a CMS's JSON-LD ``articleBody``): non-text
    elements dropped with their content, other tags dropped, entities decoded, block elements and
    line breaks kept as line breaks. Escaped markup (``&lt;b&gt;``) is literal text and stays."""
    if "<" not in value and "&" not in value:
        return value
    try:
        root = lxml.html.fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):  # nothing parseable, or NUL/control characters
        return _TAG_RE.sub(" ", value)
    parts: list[str] = []
    hidden = 0
    for event, node in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = _tag(node)
        if event in ("comment", "pi"):
            parts.append("" if hidden else node.tail or "")
        elif event == "start":
            if hidden or tag is None or tag in NON_TEXT_TAGS:
                hidden += 1
            else:
                parts.append(("\n" if tag in BREAKING_TAGS else "") + (node.text or ""))
        else:
            if hidden:
                hidden -= 1
            elif tag in BREAKING_TAGS:
                parts.append("\n")
            if not hidden and node is not root:
                parts.append(node.tail or "")
    return "".join(parts).strip()


# ---------------------------------------------------------------- CSS selection without parsel wrappers

# cssselect tests attributes with a predicate on every element ("*[@itemprop = 'x']"), which
# libxml2 evaluates node by node; walking the attribute axis by name and stepping back to the
# owner ("*/@itemprop[. = 'x']/..") selects the same elements in the same order 2-5x faster on
# a 36 KB page. Only whole predicates right after a node test are rewritten (the attribute axis
# holds one attribute of a name per element, so counts and :has() tests are unchanged too).
_ATTR_EQUALS = re.compile(r"(?<=[\w*])\[@([\w-]+) = ('[^']*')\](?!\[)")
_CLASS_INCLUDES = re.compile(
    r"(?<=[\w*])\[@class and contains\(@class, ('[^']*')\) and "
    r"contains\(concat\(' ', normalize-space\(@class\), ' '\), ('[^']*')\)\](?!\[)"
)


def css_to_fast_xpath(css: str) -> str:
    """parsel's XPath for ``css`` (``::text``/``::attr()`` included), attribute tests rewritten as above."""
    xpath = _ATTR_EQUALS.sub(r"/@\1[. = \2]/..", css2xpath(css))
    return _CLASS_INCLUDES.sub(
        r"/@class[contains(., \1) and contains(concat(' ', normalize-space(.), ' '), \2)]/..", xpath
    )


@functools.lru_cache(maxsize=512)  # keyed by the sites' selector strings, not by pages
def _compiled_css(css: str) -> etree.XPath:
    return etree.XPath(css_to_fast_xpath(css), smart_strings=False)


# A class test costs libxml2 a string copy per class attribute of the page (~0.2 µs each, ~100 µs
# for ".dateline" on a 36 KB page); reading all class values once and looking for the names in
# Python costs ~60 µs. So a list of bare class selectors (".byline, .author") is answered from
# those values: no match (the usual case for optional fields) without any XPath, a single match
# by its position (~40 µs), several by the selector's own XPath.
_CLASS_LIST = re.compile(r"\s*\.([A-Za-z_][\w-]*)\s*(?:,\s*\.([A-Za-z_][\w-]*)\s*)*", re.ASCII)
_CLASS_NAME = re.compile(r"\.([A-Za-z_][\w-]*)", re.ASCII)
_CLASS_VALUES = etree.XPath("descendant-or-self::*/@class", smart_strings=False)


@functools.lru_cache(maxsize=512)  # keyed by the sites' selector strings, not by pages
def _class_names(css: str) -> tuple[str, ...]:
    """The names of a selector made only of ``.name`` alternatives; () for any other selector."""
    return tuple(_CLASS_NAME.findall(css)) if _CLASS_LIST.fullmatch(css) else ()


# The element of the k-th class value above (1-based, document order), ~40 µs.
_NTH_CLASSED = etree.XPath("(descendant-or-self::*/@class)[$k]/..")
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # the whitespace normalize-space() splits on


# The class values of the element read last: a page's class selectors (byline, dateline…) are
# asked in turn of the same root, and reading ~350 values costs ~190 µs each time. Held by a
# weak reference: a freed element (a page done with) is never answered for.
_last_class_values: tuple[weakref.ref[etree._Element], list[str]] | None = None


def _class_values(element: etree._Element) -> list[str]:
    global _last_class_values
    if _last_class_values is not None and _last_class_values[0]() is element:
        return _last_class_values[1]
    values = _CLASS_VALUES(element)
    _last_class_values = (weakref.ref(element), values)
    return values


def _compiled_select(element: etree._Element, css: str) -> list[Any]:
    names = _class_names(css)
    if names:
        values = _class_values(element)
        joined = " ".join(values)
        # A class name that is no substring of any class value cannot be one of its tokens.
        if not any(name in joined for name in names):
            return []
        # 1-based positions of the values holding a name as a token (a name per pass: ~15 µs each).
        hits = sorted({
            k for name in names for k, value in enumerate(values, 1)
            if name in value and name in _XML_SPACE.split(value)
        })
        if len(hits) < 2:
            return _NTH_CLASSED(element, k=hits[0]) if hits else []
    return _compiled_css(css)(element)


def select(node: parsel.Selector | etree._Element, css: str) -> list[Any]:
    """What ``node.css(css)`` matches (``node``: an HTML selector or one of its elements), as bare
    lxml results (elements and strings) in document order: the same nodes, without a parsel
    wrapper per match, by a compiled and faster XPath."""
    if isinstance(node, etree._Element):
        return _compiled_select(node, css)
    if node.type != "html" or not isinstance(node.root, etree._Element):
        return [match.root for match in node.css(css)]
    return _compiled_select(node.root, css)


def extract_paragraphs(selector: parsel.Selector, css: str) -> list[str]:
    """Text of each element matched by ``css``, in document order; empty ones dropped."""
    texts = (
        element_text(match) if isinstance(match, etree._Element) else " ".join(str(match).split())
        for match in select(selector, css)
    )
    return [text for text in texts if text]


# ---------------------------------------------------------------- generic extractor


def _drop(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:  # keep the text that follows the dropped element
        # libxml2 parses control characters that lxml then refuses to set back: drop them (no text).
        previous = element.getprevious()
        if previous is not None:
            previous.tail = _XML_INVALID.sub("", (previous.tail or "") + element.tail)
        else:
            parent.text = _XML_INVALID.sub("", (parent.text or "") + element.tail)
    parent.remove(element)


def _is_chrome_tag(element: etree._Element) -> bool:
    tag = element.tag.lower()
    if tag == "form":
        # ASP.NET-style pages wrap the whole page in one <form>; only forms without prose are chrome.
        return not element.xpath(".//p")
    return tag in CHROME_TAGS


def _boilerplate_words(element: etree._Element) -> frozenset[str]:
    if element.tag.lower() in PROTECTED_TAGS or element.get("itemprop") == "articleBody":
        return frozenset()
    marker = f"{element.get('class', '')} {element.get('id', '')}"
    return frozenset(word.lower() for word in BOILERPLATE_RE.findall(marker))


def _prose_length(element: etree._Element) -> int:
    return sum(len(element_text(p)) for p in element.iter("p"))


def _strip_chrome(root: etree._Element) -> None:
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or _is_chrome_tag(element):
            _drop(element)  # comments too: their text must not reach the paragraphs
    total = _prose_length(root)
    # Layout frames get names like "container vertical-ad-con" or "sidebar-grid": an element holding
    # nearly all of the page's prose is the article's frame whatever its class says, and its parts
    # ("sidebar-grid__content") reuse its word without being boilerplate either.
    stack: list[tuple[etree._Element, frozenset[str]]] = [(root, frozenset())]
    while stack:
        element, frame_words = stack.pop()
        for child in list(element):
            words = _boilerplate_words(child)
            if words - frame_words:
                if _prose_length(child) < FRAME_SHARE * total:
                    _drop(child)
                    continue
                frame_words = frame_words | words
            stack.append((child, frame_words))


def _link_density(paragraph: etree._Element, text: str) -> float:
    linked = sum(len(element_text(a)) for a in paragraph.iter("a"))
    return linked / len(text)


def _prose_children(container: etree._Element) -> Iterator[str]:
    for child in container:
        if _tag(child) == "p":
            text = element_text(child)
            if text and _link_density(child, text) <= MAX_LINK_DENSITY:
                yield text


def generic_paragraphs(selector: parsel.Selector) -> list[str]:
    """Paragraphs of the page's main text block, found without any site-specific knowledge.

    On a copy of the tree: chrome tags go (script/style/nav/header/footer/aside/figure, forms
    without prose), then elements whose class/id says comment, sidebar, share, related, promo,
    advert, newsletter, cookie... unless they hold nearly all the prose (layout frames named
    "sidebar-grid" or "vertical-ad-con"). The article/main/div/section/body whose *direct* <p>
    children carry the most text wins, a paragraph counting only if at most half of its text is
    link text; same-class containers under the winner's grandparent (a body cut into chunks
    between ads) are read too, in document order. Paragraphs under 25 characters not ending like
    a sentence (bylines, "Advertisement") are dropped unless nothing else is left; short "©"
    lines stay, for the credit.

    Known limits: only <p> is prose, so subheadings, lists, tables, <div>-only or
    <br>-separated text are lost; a body with one wrapper per paragraph, or chunks with differing
    classes, yields only the best chunk; bylines/datelines of 25+ characters stay in; boilerplate
    is recognised by English class/id words only; a comment thread or teaser list rendered as
    plain <p>s longer than the article can outscore it; same-class chunking can pull in an
    unrelated block that reuses a generic grid class near the body.
    """
    best = _main_container(selector)
    if best is None:
        return []
    paragraphs = [p for part in _body_parts(best) for p in _prose_children(part)]
    # Copyright lines ("© KYODO") are short but carry the credit the cleaner extracts.
    sentences = [
        p for p in paragraphs
        if len(p) >= SHORT_PARAGRAPH or p.endswith(SENTENCE_END) or p.startswith("©")
    ]
    return sentences or paragraphs


def _main_container(selector: parsel.Selector) -> etree._Element | None:
    """The container (in a chrome-stripped copy of the page) whose direct <p> children carry the most text."""
    if not isinstance(selector.root, etree._Element):
        return None
    root = copy.deepcopy(selector.root)
    _strip_chrome(root)
    best: etree._Element | None = None
    best_score = 0
    for container in root.iter():
        if _tag(container) not in CONTAINER_TAGS:
            continue
        score = sum(len(p) for p in _prose_children(container))
        if score > best_score:  # strict: ties go to the first container in document order
            best, best_score = container, score
    return best


def main_block_text(selector: parsel.Selector) -> str:
    """All text (headings included) of the block :func:`generic_paragraphs` reads; "" if none."""
    best = _main_container(selector)
    return " ".join(element_text(part) for part in _body_parts(best)) if best is not None else ""


def _body_parts(best: etree._Element) -> list[etree._Element]:
    """``best`` plus its same-class cousins: templates that cut the body into chunks between ads."""
    frame = best.getparent()
    frame = frame.getparent() if frame is not None and frame.getparent() is not None else frame
    if not best.get("class") or frame is None:
        return [best]
    return [part for part in frame.iter(best.tag) if part.get("class") == best.get("class")]
