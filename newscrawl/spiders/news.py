"""The generic ``news`` spider: any site's section page, RSS/Atom feed or XML sitemap."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import scrapy
from lxml import etree
from parsel import Selector
from scrapy.http import TextResponse

from newscrawl.extract.authors import (
    agree, byline_names, clean_names, contributors, is_name, json_ld_authors, meta_author_names, without_contributors,
    without_holders,
)
from newscrawl.extract.body import select
from newscrawl.extract.links import LinkCandidate, choose_article_links, looks_like_article
from newscrawl.extract.metadata import Metadata, elements_by_tag, find_json_ld, meta_index
from newscrawl.extract.published import PUBLISHED_SOURCES, choose, stated_dates
from newscrawl.extract.story import page_blocks, standfirst, story_blocks, story_paragraphs
from newscrawl.extract.title import choose_title, is_site, site_names
from newscrawl.credits import split_dateline
from newscrawl.dates import to_utc
from newscrawl.items import Article
from newscrawl.requestmeta import LISTING_PRIORITY
from newscrawl.spiders.base import _BYLINE, ArticleSelectors, SpiderArgumentError, page_selector
from newscrawl.spiders.discovery import SiteSpider
from newscrawl.urls import canonicalize_url, is_http_url, registrable_domain, url_path

__all__ = ["NewsSpider", "looks_like_article", "detect_language", "find_date"]

#: Elements that may hold a byline, with or without "By" (the site's own markup, whatever its name).
BYLINE_CSS = "[rel=author], [itemprop=author], .byline, .author, .author-name, .byline__name, [class*=byline]"
#: Looser author markup, read after the headline only (before it, such links are the site's menus).
AUTHOR_CSS = "[class*=author], a[href*='/author/'], a[href*='/authors/'], a[href*='/reporters/'], a[href*='/bios/']"
#: Byline elements read (the article's own come first; later ones are teasers' and comments').
BYLINE_ELEMENTS = 6
#: A byline element longer than this holds more than the byline (a bio, the next teaser).
MAX_BYLINE_TEXT = 200
#: Teaser markup on a section page: a link inside one is more likely a story.
_TEASER_TAGS = frozenset({"article", "h2", "h3", "h4"})
#: The source label of a day htmldate found (no statement of the page's own agreed on one).
HTMLDATE = "htmldate"
#: Under this many characters trafilatura's text is checked against the fallbacks' (a teaser, not a story) ...
TEASER_CHARS = 400
#: ... which win when they are this many times longer.
TEASER_GAIN = 2
#: Body text read to guess the language of a page that declares none.
LANGUAGE_SAMPLE = 2000


def _element_text(element: etree._Element) -> str:
    return " ".join(" ".join(element.itertext()).split()) if isinstance(element, etree._Element) else ""


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` by py3langid (trafilatura's choice); None for too little text."""
    if len(text) < 40:
        return None
    import py3langid  # loads its model on first use (~0.3 s): only crawls that need it pay

    return str(py3langid.classify(text[:LANGUAGE_SAMPLE])[0])


def find_date(html: str, url: str, extensive: bool = True) -> str | None:
    """The publication day htmldate finds in the page's markup, text and URL (YYYY-MM-DD); None if none.
    ``extensive``: also the dates in free text (slower; for pages with no date metadata)."""
    import htmldate

    try:
        return htmldate.find_date(html, url=url, original_date=True, extensive_search=extensive) or None
    except (ValueError, TypeError):
        return None


def _byline_block(nodes: list[Any], own: Callable[[str], bool]) -> list[str]:
    """Texts of the first byline element that names someone and of the byline elements inside it
    (one name each, or a name its parent ran into the next); later bylines are teasers' and comments'."""
    texts = [(node, _element_text(node)) for node in nodes]
    for node, text in texts:
        if 0 < len(text) <= MAX_BYLINE_TEXT and any(clean_names([text], own)):
            inner = [t for n, t in texts if n is not node and isinstance(n, etree._Element) and node in n.iterancestors()]
            return [text, *inner]
    return []


def _after_headline(root: Any, nodes: list[Any]) -> list[Any]:
    """``nodes`` that come after the page's first <h1> in document order (all of them when it has none)."""
    if not isinstance(root, etree._Element) or not nodes:
        return []
    wanted = {id(node) for node in nodes if isinstance(node, etree._Element)}
    after, seen_h1 = [], next(root.iter("h1"), None) is None
    for element in root.iter():
        if element.tag == "h1":
            seen_h1 = True
        elif seen_h1 and id(element) in wanted:
            after.append(element)
    return after


def _days_apart(iso_day: str, day: date) -> int:
    try:
        return abs((date.fromisoformat(iso_day) - day).days)
    except ValueError:
        return 0


def _shape(anchor: etree._Element) -> tuple[str, ...]:
    """The markup around a link: its own and two ancestors' tag and class, equal for the links
    of one teaser list, different for a navigation bar's or a footer's."""
    shape = []
    node: etree._Element | None = anchor
    for _ in range(3):
        if node is None or not isinstance(node.tag, str):
            break
        shape.append(f"{node.tag}.{' '.join(sorted((node.get('class') or '').split()))}")
        node = node.getparent()
    return tuple(shape)


def _in_teaser(anchor: etree._Element) -> bool:
    """Whether a link sits in teaser markup: an <article> or a heading, within three levels."""
    node = anchor.getparent()
    for _ in range(3):
        if node is None:
            return False
        if node.tag in _TEASER_TAGS:
            return True
        node = node.getparent()
    return False


class NewsSpider(SiteSpider):
    """Crawls any news site from ``-a start_url=`` (required) and stores it like a site spider.

    The start URL may be a section page (article links under the section's path, or any
    story-like link on the site when none are; ``rel=next`` pagination), an RSS/Atom feed, or
    an XML sitemap / sitemap index / Google News sitemap; a site's root (``https://example.com/``)
    is read as a listing, and its robots.txt's ``Sitemap:`` lines are followed too. Articles are
    read with the shared structured-metadata extractor and trafilatura for the body (falling
    back to the JSON-LD articleBody, then the built-in generic extractor). ``source`` is the
    host name without ``www.``; ``-a section=`` names the section stored with each article.

    The site is the start host's registrable domain (:func:`~newscrawl.urls.registrable_domain`):
    links to its other subdomains are followed, links to another tenant of a shared host
    (``bob.substack.com`` from ``alice.substack.com``, ``bob.github.io``) are not.
    """

    name = "news"
    arguments: ClassVar[dict[str, str]] = {
        **SiteSpider.arguments,
        "start_url": "required: the site's section page, RSS/Atom feed, XML sitemap or root (+ its robots.txt sitemaps)",
        "section": "section name stored with each article (default: none)",
    }
    scheduled: ClassVar[bool] = False
    start_url = ""
    section = None  # type: ignore[assignment]
    article_path = re.compile(r".+")
    page_param = None
    selectors = ArticleSelectors(
        title="h1", body=None, published="time[datetime]::attr(datetime)", image=None,
        byline="[rel=author], .byline, .author",
    )

    def __init__(self, *args: Any, section: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section or None
        host = (urlsplit(self.start_url).hostname or "").lower()
        self.domain = registrable_domain(host)
        self.allowed_domains = [self.domain]
        self.source = host.removeprefix("www.")
        parts = urlsplit(self.start_url)
        self.section_prefix = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.from_root = parts.path in ("", "/") and not parts.query
        self._page_host = host
        self._title_cache: tuple[int | None, str | None] = (None, None)
        self._structured_cache: tuple[int | None, Any] = (None, None)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        async for request in super().start():
            yield request
        if self.from_root:
            # The robots middleware reads robots.txt for its rules only; this reads its sitemaps.
            yield scrapy.Request(
                urljoin(self.start_url, "/robots.txt"),
                callback=self.parse_robots,
                meta={"dont_obey_robotstxt": True},
                priority=LISTING_PRIORITY,
            )

    @classmethod
    def check_arguments(
        cls,
        start_url: str | None = None,
        max_pages: str | int | None = None,
        since: str | None = None,
        **kwargs: Any,
    ) -> tuple[str, int, date | None]:
        if not start_url:
            raise SpiderArgumentError(
                "the news spider needs -a start_url=<section page | RSS/Atom feed | XML sitemap>"
            )
        return super().check_arguments(start_url, max_pages, since, **kwargs)

    def on_site(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return is_http_url(url) and (host == self.domain or host.endswith("." + self.domain))

    def is_article_url(self, url: str) -> bool:
        # Feed and sitemap entries are articles by definition; they only have to be on the site.
        return self.on_site(url)

    def article_links(self, response: TextResponse) -> dict[str, str | None]:
        """Story links on the site (:func:`~newscrawl.extract.links.looks_like_article`: path shape,
        link text, teaser markup), those under the listing's own path when there are any. Links
        to the site judged no story are counted in ``newscrawl/links/not_article``."""
        stats = self.crawler.stats
        candidates = []
        for anchor, href in self._anchors(response):
            url = canonicalize_url(response.urljoin(href.strip()))
            stats.inc_value("newscrawl/links/seen")
            if not self.on_site(url):
                stats.inc_value("newscrawl/links/offsection")
                continue
            candidates.append(LinkCandidate(url, url_path(url), _element_text(anchor), _in_teaser(anchor), _shape(anchor)))
        stories, rejected = choose_article_links(candidates)
        stats.inc_value("newscrawl/links/offsection", len(rejected))
        stats.inc_value("newscrawl/links/not_article", len(rejected))
        links: dict[str, str | None] = dict.fromkeys(stories)
        inside = {u: d for u, d in links.items() if self.section_prefix != "/" and url_path(u).startswith(self.section_prefix)}
        return inside or links

    @staticmethod
    def _anchors(response: TextResponse) -> Iterator[tuple[etree._Element, str]]:
        root = page_selector(response).root
        if not isinstance(root, etree._Element):
            return
        for anchor in root.iter("a"):
            href = anchor.get("href")
            if href is not None:
                yield anchor, href

    def parse_html_listing(self, response: Any, page: int) -> Any:
        yield from super().parse_html_listing(response, page)
        if isinstance(response, TextResponse) and page < self.max_pages:
            next_href = page_selector(response).xpath(
                "//link[@rel='next']/@href | //a[contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href"
            ).get()
            if next_href:
                yield self.listing_request(page + 1, response.urljoin(next_href))

    def body_paragraphs(self, sel: Selector, meta: Metadata) -> tuple[list[str], str]:
        """trafilatura's structured blocks without what is not the story, opened by the page's printed
        standfirst; SectionSpider's fallbacks (JSON-LD articleBody, generic) when trafilatura finds
        nothing or only a teaser (under ``TEASER_CHARS``) and theirs is ``TEASER_GAIN`` times longer."""
        blocks = page_blocks(sel.root) if isinstance(sel.root, etree._Element) else story_blocks(sel.get())
        paragraphs = story_paragraphs(blocks, [self.title(sel, meta), *meta.titles])
        if paragraphs:
            root = sel.root if isinstance(sel.root, etree._Element) else None
            lead = standfirst(root, meta.description, paragraphs) if root is not None else None
            # After a "By …" line opening the body (the byline check reads the first paragraph); never
            # before a dateline ("DUBLIN — …"), which the clean pipeline splits from the first paragraph.
            at = 1 if _BYLINE.match(paragraphs[0]) else 0
            if lead and (at >= len(paragraphs) or split_dateline(paragraphs[at])[0] is None):
                paragraphs.insert(at, lead)
            kept = sum(map(len, paragraphs))
            if kept >= TEASER_CHARS:
                return paragraphs, "trafilatura"
            # trafilatura read a teaser (a story's header block, tennis.com): the fallbacks' longer text wins
            other, method = super().body_paragraphs(sel, meta)
            return (other, method) if sum(map(len, other)) > TEASER_GAIN * kept else (paragraphs, "trafilatura")
        return super().body_paragraphs(sel, meta)

    def title(self, sel: Selector, meta: Metadata) -> str | None:
        """The visible <h1> when it agrees with the metadata titles, else the metadata title they agree on,
        site-name affixes stripped (:func:`~newscrawl.extract.title.choose_title`)."""
        key = id(sel.root)
        if self._title_cache[0] != key:
            h1s = [_element_text(h1) for h1 in sel.root.iter("h1")] if isinstance(sel.root, etree._Element) else []
            sites = site_names(self._page_host, meta.site_name, meta.publisher)
            self._title_cache = (key, choose_title(h1s, meta.titles or ((meta.title,) if meta.title else ()), sites))
        return self._title_cache[1]

    def _structured(self, sel: Selector) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        """The page's JSON-LD nodes and meta index, read once per page (authors and date both use them)."""
        key = id(sel.root)
        if self._structured_cache[0] != key:
            head = elements_by_tag(sel, "meta", "script")
            self._structured_cache = (key, (find_json_ld(sel, head["script"]), meta_index(head["meta"])))
        return self._structured_cache[1]  # type: ignore[return-value]

    def _bylines(self, sel: Selector, meta: Metadata, paragraphs: list[str]) -> tuple[list[str], list[str], list[str]]:
        people, wires, rest = self._find_bylines(sel, meta, paragraphs)
        return without_holders(people, rest), wires, rest

    def _find_bylines(self, sel: Selector, meta: Metadata, paragraphs: list[str]) -> tuple[list[str], list[str], list[str]]:
        """JSON-LD authors anywhere in the graph, then meta tags (``author``, ``article:author``, then
        analytics ones), then a byline opening the body or under the headline, then the byline block
        (the first byline element and those inside it, with or without "By"); metadata or byline
        names widened to the block's when it names all of them and more, its contributors removed.
        The site's own name, desks and job titles are no authors."""
        people, wires, rest = super()._bylines(sel, meta, paragraphs)
        if rest is not paragraphs:  # a "By …" line opened the body: it is no paragraph
            paragraphs = rest
        nodes, metas = self._structured(sel)
        index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
        sites = site_names(self._page_host, meta.site_name, meta.publisher)

        def own(name: str) -> bool:
            return is_site(name, sites)

        nodes_found = select(sel, BYLINE_CSS)[:BYLINE_ELEMENTS]
        texts = _byline_block(nodes_found, own)
        block, block_wires = byline_names(texts, own)
        if not block and not block_wires:
            texts = _byline_block(_after_headline(sel.root, select(sel, AUTHOR_CSS))[:BYLINE_ELEMENTS], own)
            block, block_wires = byline_names(texts, own)
        helpers = contributors([*texts, *map(_element_text, nodes_found)])
        for candidates in (json_ld_authors(nodes, index), list(meta.authors), meta_author_names(metas)):
            found, found_wires = clean_names(candidates, own)
            if found or found_wires:
                return without_contributors(agree(found, block), helpers), found_wires, paragraphs
        people = [p for p in people if not own(p) and is_name(p)]  # no desk, role or site
        if people or wires:
            return without_contributors(agree(people, block), helpers), wires, paragraphs
        if block or block_wires:
            return without_contributors(block, helpers), block_wires, paragraphs
        # The metadata named only the site: a "By …" line under the headline may name the writer.
        found, found_wires = self.headline_byline(sel)
        return [p for p in found if not own(p) and is_name(p)], found_wires, paragraphs

    def check_date(self, article: Article, response: TextResponse) -> None:
        """The page's publication date by agreement of what it states
        (:func:`~newscrawl.extract.published.choose`); htmldate's day when it states none, or when the
        metadata chosen is more than a day away from htmldate's (an updated date, a related story's).
        A day taken from elsewhere than the instant's own string is marked with its source in
        ``published_raw`` ("Dec 23, 2023 (visible)", "2023-12-13 (htmldate)"), the instant kept in
        ``published_at``. Counted in ``newscrawl/published/<source>``."""
        sel = page_selector(response)  # the tree build_article parsed, not a second one
        if not isinstance(sel.root, etree._Element):
            return
        nodes, metas = self._structured(sel)
        stated = stated_dates(sel.root, response.url, nodes, metas)
        choice = choose(stated, response.url)
        if choice is None or choice.day.source != "visible":
            found = find_date(response.text, response.url, extensive=choice is None)
            if found and (choice is None or _days_apart(found, choice.day.day) > 1):
                article.published_raw, article.published_at = f"{found} ({HTMLDATE})", None
                self.crawler.stats.inc_value(f"newscrawl/published/{HTMLDATE}")
                return
        if choice is None:
            return
        day, instant = choice.day, choice.instant
        self.crawler.stats.inc_value(f"newscrawl/published/{day.source}")
        if instant is not None and instant.source in PUBLISHED_SOURCES and instant.day == day.day:
            day = instant  # the metadata's own string already says the printed day
        if day is instant and day.source in PUBLISHED_SOURCES:
            article.published_raw, article.published_at = day.raw, None  # the clean pipeline reads it
            return
        article.published_raw = f"{day.raw} ({day.source})"
        if instant is not None and instant.has_time:
            article.published_at = to_utc(instant.value, self.timezone)

    def build_article(self, response: TextResponse) -> Article:
        self._page_host = (urlsplit(response.url).hostname or "").lower()
        self._title_cache = (None, None)
        self._structured_cache = (None, None)
        article = super().build_article(response)
        article.source = self.source
        self.check_date(article, response)
        if article.language is None and article.body:
            article.language = detect_language(article.body)
            if article.language:
                self.crawler.stats.inc_value("newscrawl/language/detected")
        return article
