"""The story's paragraphs from trafilatura's structured output, without the blocks that are not the story."""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from newscrawl.text import normalize_text

_WORDS = re.compile(r"\w+")
# A horizontal rule typed as text: wire stories put contributor notes after one.
_SEPARATOR = re.compile(r"^[_*=~-]{3,}$")
# A line that is only a date/time stamp ("Saturday 23 December 2023 05:39, UK", "9/26/2023 8:59 AM PT").
_DATE_LINE = re.compile(
    r"^(?:(?:published|updated|posted|first published|last updated)(?: on)?:?\s+)?"
    r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)[a-z]*\.?,?\s+)?"
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}\s+[a-z]{3,9}\.?,?\s+\d{4}|[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})"
    r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?)?(?:,?\s+[a-z]{2,4})?$",
    re.I,
)
# Link text over this share of a block's text: a teaser, a "Read more" line or a related-links item.
MAX_LINK_SHARE = 0.8
# ... unless it is this long: a paragraph of prose whose words all link somewhere (rare, but real).
LINKED_PROSE = 200
# Labels of an advert slot printed once ("Advertisement" repeated is caught as repeated furniture).
_AD_LABELS = frozenset({"advertisement", "advertisements", "ad", "sponsored", "sponsored content"})
# Share of the page's <p> text under which the fast pass is checked against the full one.
RECHECK_SHARE = 0.5
# A line this short repeated on the page is page furniture ("Advertisement", a section kicker).
REPEATED_MAX_WORDS = 6

# Furniture the story container holds, in wordings no reporter's sentence takes. Each rule is
# checked on the NAEB dev pages against what the hand-cleaned truth keeps (tests/test_story.py).
# A newsletter or subscription prompt: short, addressed to the reader, about an inbox or signing up.
_PROMPT = re.compile(
    r"\bnewsletters?\b|\binbox\b|\bsubscrib(?:e|ing)\b|^sign(?:ing)?[ -]up\b|\bsigning up\b"
    r"|\bsign up (?:here|now|today)\b|\bsubscription (?:has been|is) confirmed",
    re.I,
)
_TO_READER = re.compile(r"\b(?:you|your|our|us)\b|^(?:sign|subscribe|get|join|want|like|don'?t miss|thanks)\b", re.I)
PROMPT_MAX_WORDS = 40
# An affiliate-link disclosure ("we may earn a commission…").
_AFFILIATE = re.compile(
    r"\baffiliate\b.*\b(?:commissions?|compensation|earn|revenue|fees?|links?|partnerships?)\b"
    r"|\b(?:commissions?|compensation|earn|revenue|fees?|links?|partnerships?)\b.*\baffiliate\b",
    re.I,
)
# A cross-promotion header ("Related content:", "Most read in Music", "People are also reading…").
_RELATED_HEADER = re.compile(
    r"^\W*(?:related(?: (?:content|stories|articles|coverage|videos?|links|reading|news|posts))?"
    r"|read (?:more|next|also)(?: (?:on|about|from) .{0,40})?|more (?:from|on|about) .{0,40}"
    r"|most (?:read|popular|viewed)(?: (?:in|on|from) .{0,30})?|recommended(?: (?:for you|stories|reading))?"
    r"|you (?:may|might) also (?:like|enjoy)|people are also reading|don'?t miss|see also|also read"
    r"|trending(?: now| stories)?|editor'?s picks|top stories|latest (?:news|stories)|more stories"
    r"|watch (?:next|now|more))\W*$"
    r"|^.{0,40}\b(?:most (?:read|popular|viewed)|related|recommended|trending|more)"
    r" (?:stories|articles|posts|reads|videos|news)\b.{0,20}$",
    re.I,
)
# A one-line teaser for another story ("Related: …", "[Related: …]", "READ MORE: …").
_TEASER = re.compile(
    r"^\W{0,2}(?:related|read more|read next|read also|see also|also read|more|watch|listen|recommended"
    r"|don'?t miss)\s*:",
    re.I,
)
TEASER_MAX_CHARS = 250
# A photo or video credit printed as a line ("(Photo: Acorn TV)", "Image credit: …", "Submitted photo").
_MEDIA_CREDIT = re.compile(
    r"^\(?(?:(?:photos?|images?|videos?|gallery|pictures?)(?: credit)?(?: by)?\s*:"
    r"|(?:submitted|file|staff) photo\b|(?:photo|image|video)s? (?:by|courtesy|credit)\b)"
    r"|^\((?:photos?|images?|credit)\b.*\)$",
    re.I,
)
MEDIA_CREDIT_MAX_CHARS = 200
# An embedded post's text: its link or its "— Name (@handle) Month d, yyyy" signature.
_EMBED = re.compile(r"pic\.twitter\.com/\w+|https?://t\.co/\w+|— .{1,80}\(@\w+\)\s*\w+ \d{1,2}, \d{4}$")
# A placeholder for an advert or an embed, or a sound cue of a podcast transcript ("[CLIP: …]").
_PLACEHOLDER = re.compile(
    r"^(?:article|story) continues (?:below|after)|^continue reading below|^waiting for your permission to load"
    r"|^scroll to continue|^\[(?:clip|music|sound|laughter|applause|theme music)\b[^\]]*\]$",
    re.I,
)
# Where the story came from, printed after (or before) it: contributor and republication notes.
_SOURCE_NOTE = re.compile(
    r"^(?:story source:?$|materials? provided by\b"
    r"|this (?:story|article) (?:was )?(?:originally|first) (?:published|appeared)\b"
    r"|originally published\b|cross-posted from\b|includes information from\b|contributing:"
    r"|.{0,120}\bcontributed (?:to )?(?:this|the) (?:story|report|article)\.?$)",
    re.I,
)
NOTE_MAX_CHARS = 300
# The author's bio or contact line, among the story's last blocks only ("Jim Walsh is a senior
# reporter for …", "Contact Kayla Jimenez at …", "… can be reached at …").
_BIO = re.compile(
    r"^(?:[A-Z][\w.'’-]+ ){1,3}[A-Z][\w.'’-]+,? (?:is|was|has been|covers|writes|reports)\b.{0,120}\b"
    r"(?:reporter|writer|correspondent|editor|journalist|columnist|contributor|critic|freelancer?|producer"
    r"|author|intern|analyst)\b"
)
_CONTACT = re.compile(
    r"\bcan be reached at\b|^\W*(?:contact|email|e-mail|reach|follow)\b.{0,60}"
    r"(?:@|\bon (?:twitter|x|facebook|instagram|threads|linkedin)\b)|[\w.+-]+@[\w-]+\.[\w.]{2,}",
    re.I,
)
BIO_MAX_CHARS = 400
# Longer than this, a block is checked for an embedded post only (the other rules are about short lines).
SHORT_BLOCK = 400
# How many of the story's last blocks may be a bio or contact line.
BIO_TAIL = 3


@dataclass(frozen=True)
class Block:
    """One element of trafilatura's output: ``kind`` is its element type (p, head, item, quote, table…)."""

    kind: str
    rend: str | None
    text: str
    link_share: float


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _link_share(element: etree._Element, text: str) -> float:
    linked = sum(len(_text(ref)) for ref in element.iter("ref"))
    return min(1.0, linked / len(text))


def story_blocks(html: str | etree._Element, fast: bool = True) -> list[Block]:
    """trafilatura's main-text elements (no comments, no tables), lists split into their items.

    ``html``: the page, or a parsed tree that trafilatura may change (pass a copy). ``fast``:
    trafilatura's own extraction alone, without its readability/jusText comparison: on the NAEB
    development pages it scored higher (F1 0.943 against 0.936) in 30 % less time.
    """
    import trafilatura  # ~0.4 s to import: site spiders' crawls never need it

    document = trafilatura.bare_extraction(
        html, fast=fast, include_comments=False, include_tables=False, include_links=True, deduplicate=False,
        with_metadata=False,
    )
    if document is None or document.body is None:
        return []
    blocks = []
    for element in document.body:
        parts = list(element.iter("item")) if element.tag == "list" else [element]
        for part in parts:
            text = _text(part)
            if text:
                kind = "item" if part.tag == "item" else str(element.tag)
                blocks.append(Block(kind, element.get("rend"), text, _link_share(part, text)))
    return blocks


def page_blocks(root: etree._Element) -> list[Block]:
    """:func:`story_blocks` of a parsed page (copied: ``root`` is left as it is).

    trafilatura's fast pass keeps one container: a story cut in two by an advert block loses its
    second half. When the fast pass kept under ``RECHECK_SHARE`` of the page's <p> text, the full
    pass (with its fallback extractors) runs too, and wins when it keeps every block of the fast
    pass and more (a longer text that drops them is another block of the page, not more story).
    """
    blocks = story_blocks(_copy(root))
    kept = sum(len(block.text) for block in blocks)
    if kept >= RECHECK_SHARE * _prose_length(root):
        return blocks
    full = story_blocks(_copy(root), fast=False)
    texts = {block.text for block in full}
    if sum(len(block.text) for block in full) > kept and all(block.text in texts for block in blocks):
        return full
    return blocks


def _copy(root: etree._Element) -> etree._Element:
    """A copy of the page without comments and processing instructions, their tails kept: trafilatura
    removes them with their tails (AP's ``<a>from the pandemic</a><!-- -->, but the effects…``),
    which its own parser never meets since it drops them while parsing."""
    page = copy.deepcopy(root)
    etree.strip_tags(page, etree.Comment, etree.ProcessingInstruction)
    return page


def _prose_length(root: etree._Element) -> int:
    return sum(len(" ".join("".join(p.itertext()).split())) for p in root.iter("p"))


def is_story(block: Block, repeated: Counter[str], titles: set[str]) -> bool:
    """Whether one block belongs to the story (see :func:`story_paragraphs` for the rules)."""
    text = block.text
    if block.kind == "head" and (block.rend == "h1" or normalize_text(text).casefold() in titles):
        return False
    if normalize_text(text).casefold() in titles:
        return False
    if block.link_share >= MAX_LINK_SHARE and (block.kind != "p" or len(text) < LINKED_PROSE):
        return False
    if repeated[text] > 1 and len(text.split()) <= REPEATED_MAX_WORDS:
        return False
    if text.casefold() in _AD_LABELS:
        return False
    if text.startswith("</") or "<script" in text or "<a href" in text:
        return False  # markup a page printed as text (an unclosed <noscript>)
    return not _DATE_LINE.match(text) and not is_furniture(text)


def is_furniture(text: str) -> bool:
    """Whether a block is a prompt, notice or credit the page prints inside the story container
    (newsletter and subscription prompts, affiliate disclosures, cross-promotion headers and
    one-line teasers, photo credits, embedded posts, advert and embed placeholders, podcast sound
    cues, contributor and republication notes)."""
    if _EMBED.search(text):
        return True
    if len(text) > SHORT_BLOCK:
        return False  # every rule below is about a short block: a prose paragraph costs one search
    if not _WORDS.search(text) and not _SEPARATOR.match(text):
        return True  # no letter or digit: a bullet or a dash ("--", "•"), never prose (a rule is cut below)
    low = text.casefold()
    # Substring tests first: each regex below runs only on the few blocks holding its key word.
    if ("newsletter" in low or "inbox" in low or "subscri" in low or "sign" in low) and (
        len(text.split()) <= PROMPT_MAX_WORDS and _PROMPT.search(text) and _TO_READER.search(text)
    ):
        return True
    if _PLACEHOLDER.match(text):
        return True
    if len(text) <= NOTE_MAX_CHARS and (("affiliate" in low and _AFFILIATE.search(text)) or _SOURCE_NOTE.match(text)):
        return True
    if _RELATED_HEADER.match(text) or (len(text) <= TEASER_MAX_CHARS and _TEASER.match(text)):
        return True
    return len(text) <= MEDIA_CREDIT_MAX_CHARS and bool(_MEDIA_CREDIT.search(text))


def is_bio(text: str) -> bool:
    """Whether a block is the author's bio or contact line (checked among the story's last blocks only)."""
    return len(text) <= BIO_MAX_CHARS and bool(_BIO.match(text) or _CONTACT.search(text))


# Elements that may print the standfirst, and how far after the headline (elements in document order).
_STANDFIRST_TAGS = frozenset({"p", "h2", "h3", "div", "span"})
STANDFIRST_REACH = 200
STANDFIRST_MIN_WORDS = 5


def _words(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def standfirst(root: etree._Element, description: str | None, paragraphs: list[str]) -> str | None:
    """The page's description when the page prints it as a standfirst under the headline (an element
    among the ``STANDFIRST_REACH`` after the first ``<h1>`` whose whole text it is) and the story
    does not hold it already; else None. On the NAEB dev pages the truth opens with such a
    standfirst 29 times and leaves it out 7 times."""
    wanted = _words(description or "")
    h1 = next(root.iter("h1"), None)
    if h1 is None or wanted.count(" ") + 1 < STANDFIRST_MIN_WORDS:
        return None
    first = wanted.split(" ", 1)[0]
    for seen, element in enumerate(_after(h1)):
        if seen >= STANDFIRST_REACH:
            return None
        if element.tag not in _STANDFIRST_TAGS or len(element) > 5:
            continue
        # The text's start first (its own, or its first child's: "<p><em>Wilson</em> definitely…"):
        # reading the whole text of every element near the headline costs ~1 ms a page.
        start = element.text if element.text and element.text.strip() else (element[0].text if len(element) else None)
        if not start or first not in start.casefold():
            continue
        if _words("".join(element.itertext())) == wanted:
            if wanted in _words(" ".join(paragraphs)):
                return None
            return normalize_text(" ".join("".join(element.itertext()).split()))
    return None


def _after(element: etree._Element) -> Iterator[etree._Element]:
    """The elements after ``element`` in document order (its descendants first)."""
    yield from element.iterdescendants()
    node: etree._Element | None = element
    while node is not None:
        for sibling in node.itersiblings():
            yield sibling
            yield from sibling.iterdescendants()
        node = node.getparent()


def story_paragraphs(blocks: list[Block], titles: list[str | None]) -> list[str]:
    """The paragraphs of the story among trafilatura's blocks.

    Kept: paragraphs, subheadings, list items (one paragraph each), block quotes. Dropped: the
    headline again (an ``h1`` or any block equal to one of ``titles``), blocks that are mostly
    link text (teasers, "Read more", related-story lists), short lines repeated on the page
    ("Advertisement"), markup printed as text, bare date stamps, the furniture of
    :func:`is_furniture`, a cross-promotion header with the linked list items after it, an author
    bio or contact line among the last ``BIO_TAIL`` blocks, and a typed separator (``___``) in the
    second half with everything after it (wire contributor notes).
    """
    wanted = {normalize_text(t).casefold() for t in titles if t}
    repeated = Counter(block.text for block in blocks)
    kept = []
    cards = False  # inside the linked list items that follow a cross-promotion header
    for block in blocks:
        cards = (cards and block.kind == "item" and block.link_share > 0) or bool(_RELATED_HEADER.match(block.text))
        if not cards and is_story(block, repeated, wanted):
            kept.append(block.text)
    cut = next((i for i, line in enumerate(kept) if _SEPARATOR.match(line) and i >= len(kept) // 2), None)
    kept = kept[:cut] if cut is not None else kept
    tail = max(len(kept) - BIO_TAIL, 1)  # a story of one block is never its own bio
    return kept[:tail] + [line for line in kept[tail:] if not is_bio(line)]
