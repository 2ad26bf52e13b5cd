"""The generic ``news`` spider: any site's section page, RSS/Atom feed or XML sitemap."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import scrapy
from lxml import etree
from parsel import Selector
from scrapy.http import TextResponse

from newscrawl.extract.authors import clean_names, json_ld_authors
from newscrawl.extract.body import select
from newscrawl.extract.links import LinkCandidate, choose_article_links, looks_like_article
from newscrawl.extract.metadata import Metadata, find_json_ld
from newscrawl.extract.story import page_blocks, standfirst, story_blocks, story_paragraphs
from newscrawl.extract.title import choose_title, is_site, site_names
from newscrawl.credits import split_dateline
from newscrawl.dates import parse_datetime
from newscrawl.items import Article
from newscrawl.requestmeta import LISTING_PRIORITY
from newscrawl.spiders.base import _BYLINE, ArticleSelectors, SpiderArgumentError, page_selector
from newscrawl.spiders.discovery import SiteSpider
from newscrawl.urls import canonicalize_url, is_http_url, registrable_domain, url_path

__all__ = ["NewsSpider", "looks_like_article", "detect_language", "find_date"]

#: Elements that may hold a byline, with or without "By" (the site's own markup, whatever its name).
BYLINE_CSS = "[rel=author], [itemprop=author], .byline, .author, .author-name, .byline__name, [class*=byline]"
#: Teaser markup on a section page: a link inside one is more likely a story.
_TEASER_TAGS = frozenset({"article", "h2", "h3", "h4"})
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

    def _bylines(self, sel: Selector, meta: Metadata, paragraphs: list[str]) -> tuple[list[str], list[str], list[str]]:
        """JSON-LD authors anywhere in the graph, then meta tags, then a byline opening the body, then
        byline elements (with or without "By"), then a "By" line under the headline."""
        people, wires, rest = super()._bylines(sel, meta, paragraphs)
        if rest is not paragraphs:  # a "By …" line opened the body: it is no paragraph
            paragraphs = rest
        nodes = find_json_ld(sel)
        index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
        sites = site_names(self._page_host, meta.site_name, meta.publisher)

        def own(name: str) -> bool:
            return is_site(name, sites)

        for candidates in (json_ld_authors(nodes, index), list(meta.authors)):
            found, found_wires = clean_names(candidates, own)
            if found or found_wires:
                return found, found_wires, paragraphs
        people = [p for p in people if not own(p)]
        if people or wires:
            return people, wires, paragraphs
        for node in select(sel, BYLINE_CSS)[:5]:
            text = _element_text(node)
            if 0 < len(text) <= 80:
                found, found_wires = clean_names([text], own)
                if found or found_wires:
                    return found, found_wires, paragraphs
        return [], [], paragraphs

    def check_date(self, article: Article, response: TextResponse) -> None:
        """htmldate's day when the page has no date metadata, or when the metadata's day is more than a
        day away from it (an updated date, a related story's date): on the NAEB dev pages htmldate's
        day was right more often in such disagreements (84.5 % against 80.5 % by day). The metadata's
        instant is kept when the two agree. Counted in ``newscrawl/published/htmldate``."""
        found = find_date(response.text, response.url, extensive=article.published_raw is None)
        if found is None:
            return
        # An unparseable stated date is replaced too: the clean pipeline could not read it either.
        stated = parse_datetime(article.published_raw, self.timezone)
        if stated is not None:
            try:
                if abs((date.fromisoformat(found) - stated.date()).days) <= 1:
                    return
            except ValueError:
                return
        article.published_raw = found
        self.crawler.stats.inc_value("newscrawl/published/htmldate")

    def build_article(self, response: TextResponse) -> Article:
        self._page_host = (urlsplit(response.url).hostname or "").lower()
        self._title_cache = (None, None)
        article = super().build_article(response)
        article.source = self.source
        self.check_date(article, response)
        if article.language is None and article.body:
            article.language = detect_language(article.body)
            if article.language:
                self.crawler.stats.inc_value("newscrawl/language/detected")
        return article
