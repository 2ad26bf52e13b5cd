"""Article discovery from RSS/Atom feeds and XML sitemaps, and the declarative site-spider base.

Pure functions read a fetched document within size caps and without entity expansion
(``read_document``), then its links (``parse_feed``, ``parse_sitemap``); :class:`SiteSpider`
starts from a feed, a sitemap (index, news sitemap) or an HTML listing, within
:class:`DiscoveryLimits`, and adds the few per-site facts that a CSS selector cannot state (a
supplier line, a byline preferred to a CMS author, site-wide tags).
"""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urljoin, urlsplit

import scrapy
from lxml import etree
from parsel import Selector
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.utils import sitemap as scrapy_sitemap
from scrapy.utils.sitemap import sitemap_urls_from_robots

from newscrawl.credits import parse_byline, split_agencies, split_agency_line
from newscrawl.items import Article
from newscrawl.middlewares.oversize import DecompressionCapExceeded, bounded_gunzip, count_oversize
from newscrawl.requestmeta import META_LISTED_RAW
from newscrawl.spiders.base import SectionSpider, page_selector
from newscrawl.spiders.layouts import Layout
from newscrawl.urls import canonicalize_url, is_http_url, rebase

_XML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml|<!--|<(?:rss|feed|urlset|sitemapindex|rdf:RDF)\b)", re.I)
_GZIP_MAGIC = b"\x1f\x8b"
# A reference to another entity inside an entity's value (not a character reference "&#160;").
_ENTITY_REF = re.compile(r"[&%][^#\s;]+;")
_FEED_ROOTS = {"rss": "rss", "feed": "atom", "RDF": "rdf", "urlset": "sitemap", "sitemapindex": "sitemapindex"}


@dataclass(frozen=True)
class Listed:
    """One article URL found in a feed or sitemap, with the date the document gave it (raw)."""

    url: str
    published_raw: str | None = None
    title: str | None = None


class Unreadable(ValueError):
    """A discovery document refused before reading its links; ``reason`` names why (a stats key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Document:
    """A fetched discovery document: its kind and, for a feed, its parsed root; for a sitemap,
    its XML as read (inflated), which Scrapy's streaming reader parses (the tree is let go)."""

    kind: str
    root: etree._Element | None = None
    body: bytes = b""


def _hostile_entities(root: etree._Element, parser: etree.XMLParser) -> bool:
    """Entities that can only be an attack: external ones (XXE), nested ones (billion laughs),
    or an expansion libxml2 stopped. A plain ``<!ENTITY nbsp "&#160;">`` is left unexpanded."""
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        return True
    dtd = root.getroottree().docinfo.internalDTD
    return dtd is not None and any(
        entity.system_url or _ENTITY_REF.search(entity.orig or "") for entity in dtd.iterentities()
    )


def read_document(body: bytes, max_size: int = 0, max_ratio: int = 0) -> Document:
    """The kind (``rss``, ``atom``, ``rdf``, ``sitemap``, ``sitemapindex`` or ``html``) and XML
    root of a feed, sitemap or listing; a raw ``.gz`` body is inflated first, within the caps.

    Parsed without entity expansion, DTD loading, network or huge-tree mode (no XXE, no
    billion laughs). Raises :class:`~newscrawl.middlewares.oversize.DecompressionCapExceeded`
    for a body inflating past ``max_size`` (DOWNLOAD_MAXSIZE) or ``max_ratio`` times its size,
    and :class:`Unreadable` for a broken gzip (``gzip``), a gzipped body that is no XML
    document (``not_xml``, ``malformed``) or hostile entities (``entities``).
    """
    gzipped = body[:2] == _GZIP_MAGIC
    if gzipped:
        try:
            body = bounded_gunzip(body, max_size, max_ratio)
        except (OSError, EOFError, struct.error):
            raise Unreadable("gzip") from None
    if not _XML_START.match(body[:512]):
        if gzipped:
            raise Unreadable("not_xml")
        return Document("html")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True, remove_comments=True
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        if gzipped:
            raise Unreadable("malformed")
        return Document("html")  # e.g. an HTML page opening with a comment: the listing path reads it
    if _hostile_entities(root, parser):
        raise Unreadable("entities")
    kind = _FEED_ROOTS.get(_local(root), "html")
    if kind == "html" and gzipped:
        raise Unreadable("not_xml")
    if kind in ("sitemap", "sitemapindex"):
        return Document(kind, body=body)
    return Document(kind, root if kind != "html" else None)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in element if _local(child) == name)


def _text(element: etree._Element, *names: str) -> str | None:
    """Stripped text of the first child named one of ``names`` (namespaces ignored), in that order."""
    for name in names:
        for child in _children(element, name):
            text = (child.text or "").strip()
            if text:
                return text
    return None


def document_kind(body: bytes) -> str:
    """``rss``, ``atom``, ``rdf``, ``sitemap``, ``sitemapindex``, ``html`` (any other text) or
    ``unreadable``; with no size cap, for tests and tools, never for a crawl's bodies."""
    try:
        return read_document(body).kind
    except Unreadable:
        return "unreadable"


def _absolute(base_url: str, href: str | None) -> str | None:
    url = urljoin(base_url, href.strip()) if href and href.strip() else None
    return url if url and is_http_url(url) else None


def _rss_link(item: etree._Element) -> str | None:
    # feedburner:origLink is the publisher's URL behind a feedburner redirect.
    link = _text(item, "origLink", "link")
    if link:
        return link
    for guid in _children(item, "guid"):
        if guid.get("isPermaLink", "true").lower() != "false" and (guid.text or "").strip():
            return guid.text.strip()
    return None


def _atom_link(entry: etree._Element) -> str | None:
    links = list(_children(entry, "link"))
    for link in links:
        if link.get("rel", "alternate") == "alternate" and link.get("type", "text/html").startswith("text/html"):
            return link.get("href")
    return links[0].get("href") if links else None


def parse_feed(document: Document, base_url: str) -> list[Listed]:
    """Entries of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, in feed order; [] for anything else."""
    root, kind = document.root, document.kind
    if root is None or kind not in ("rss", "atom", "rdf"):
        return []
    found: list[Listed] = []
    for node in root.iter():
        name = _local(node)
        if kind == "atom" and name == "entry":
            url, date = _atom_link(node), _text(node, "published", "updated", "issued")
        elif kind != "atom" and name == "item":
            url, date = _rss_link(node), _text(node, "pubDate", "date", "published", "updated")
        else:
            continue
        absolute = _absolute(base_url, url)
        if absolute:
            found.append(Listed(absolute, date, _text(node, "title")))
    return found


@dataclass(frozen=True)
class Sitemap:
    """What a sitemap or sitemap index lists: pages, child sitemaps, and whether the cap cut it."""

    pages: list[Listed]
    children: list[str]
    capped: bool = False


class _NewsSitemap(scrapy_sitemap.Sitemap):
    """Scrapy's streaming sitemap reader, keeping the Google News fields it drops.

    Scrapy flattens an entry to its direct children's text, so ``<news:news>`` arrives as ``""``;
    its ``publication_date`` and ``title`` are read here before Scrapy clears the element. The
    override is of a private method: tests/test_discovery.py's news-sitemap case fails if a Scrapy
    upgrade changes it.
    """

    __slots__ = ()

    def _process_sitemap_element(self, elem: etree._Element) -> dict[str, Any] | None:
        news: dict[str, str] = {}
        for child in elem:
            if self._get_tag_name(child) == "news":
                for field in child:
                    name, text = self._get_tag_name(field), (field.text or "").strip()
                    if name in ("publication_date", "title") and text:
                        news.setdefault(f"news_{name}", text)
        entry = super()._process_sitemap_element(elem)
        return {**entry, **news} if entry is not None and news else entry


def parse_sitemap(document: Document, base_url: str, max_urls: int = 0) -> Sitemap:
    """Pages and child sitemaps of a sitemap or index (Google News dates preferred), at most
    ``max_urls`` entries in document order (0 = all); empty for anything else.

    Read by Scrapy's :class:`scrapy.utils.sitemap.Sitemap` (streaming, entities unexpanded), but
    only after :func:`read_document` has refused hostile entities: where Scrapy meets an entity
    reference it silently cuts the ``<loc>`` there (``https://e.com/&x;`` becomes
    ``https://e.com/``), a wrong URL instead of a counted refusal.
    """
    if document.kind not in ("sitemap", "sitemapindex"):
        return Sitemap([], [])
    pages: list[Listed] = []
    children: list[str] = []
    for entry in _NewsSitemap(document.body):
        url = _absolute(base_url, entry.get("loc"))
        if not url:
            continue
        if max_urls and len(pages) + len(children) >= max_urls:
            return Sitemap(pages, children, capped=True)
        if document.kind == "sitemapindex":
            children.append(url)
        else:
            date = entry.get("news_publication_date") or entry.get("lastmod") or None
            pages.append(Listed(url, date, entry.get("news_title")))
    return Sitemap(pages, children)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass(frozen=True)
class DiscoveryLimits:
    """The caps on what one crawl reads from feeds and sitemaps (0 = no cap)."""

    #: DOWNLOAD_MAXSIZE: a raw ``.gz`` document inflates to at most this many bytes.
    max_size: int = 0
    #: DECOMPRESSION_MAX_RATIO: ... and to at most this many times its compressed size.
    max_ratio: int = 0
    #: SITEMAP_MAX_URLS: entries read from one sitemap or sitemap index.
    max_urls: int = 0
    #: SITEMAP_MAX_DOCUMENTS: child sitemaps followed from sitemap indexes, per crawl.
    max_documents: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> DiscoveryLimits:
        return cls(
            max_size=settings.getint("DOWNLOAD_MAXSIZE"),
            max_ratio=settings.getint("DECOMPRESSION_MAX_RATIO", 100),
            max_urls=settings.getint("SITEMAP_MAX_URLS", 50_000),
            max_documents=settings.getint("SITEMAP_MAX_DOCUMENTS", 50),
        )


def _first_text(sel: Selector, css: str | None) -> str | None:
    if not css:
        return None
    for node in sel.css(css):
        text = " ".join(t.strip() for t in node.xpath(".//text()").getall() if t.strip())
        if text:
            return text
    return None


class SiteSpider(SectionSpider):
    """A site's spider: starts from the start URL *and* the site's feeds, reads each as a feed,
    sitemap or HTML listing, and applies the few per-site facts a CSS selector cannot state.

    When ``-a start_url`` points elsewhere (a mirror), the declared feeds keep their path and
    query but move to the start URL's host. Every document is read within
    :class:`DiscoveryLimits` (from the settings).

    Stats: ``newscrawl/discovery/<kind>`` per document read;
    ``newscrawl/discovery/feed_unparseable`` and ``…/feed_unparseable/<reason>`` per feed or
    sitemap refused (reasons: ``oversize``, ``gzip``, ``not_xml``, ``entities``, ``malformed``;
    an oversize one is counted under ``oversize/*`` too); ``newscrawl/discovery/feed_no_links``
    per feed or sitemap that lists no link; ``newscrawl/discovery/sitemap_capped`` per sitemap cut
    at SITEMAP_MAX_URLS; ``newscrawl/discovery/document_budget_reached`` per sitemap index whose
    children were cut because SITEMAP_MAX_DOCUMENTS sitemaps had already been requested;
    ``newscrawl/discovery/robots_sitemaps``: sitemaps found in robots.txt (:meth:`parse_robots`).
    """

    #: The article template's dated versions, newest first, when ``selectors`` joins several
    #: (``selectors = versioned(common, *layouts)``); tests/test_layouts.py dates them.
    layouts: ClassVar[tuple[Layout, ...]] = ()
    #: Further discovery documents on the real site (RSS/Atom feeds, sitemaps, news sitemaps).
    feeds: ClassVar[tuple[str, ...]] = ()
    #: Hosts that serve the articles when they differ from the start URL's (feed on a CDN host).
    article_hosts: ClassVar[tuple[str, ...]] = ()
    #: Path pagination appended to the start URL ("page/{page}/" on WordPress), instead of page_param.
    page_path: ClassVar[str | None] = None
    #: Caps on reading feeds and sitemaps; set from the settings by ``from_crawler``.
    limits: DiscoveryLimits = DiscoveryLimits()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.limits = DiscoveryLimits.from_settings(crawler.settings)
        return spider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        on_own_site = _host(self.start_url) == _host(type(self).start_url or "")
        self.feed_urls = [url if on_own_site else rebase(url, self.start_url) for url in self.feeds]
        hosts = [_host(url) for url in self.feed_urls] + (list(self.article_hosts) if on_own_site else [])
        for host in hosts:
            if host not in self.allowed_domains:
                self.allowed_domains.append(host)
        self.sitemaps_requested = 0

    def listing_url(self, page: int) -> str:
        if page == 1 or not self.page_path:
            return super().listing_url(page)
        base = self.start_url if self.start_url.endswith("/") else self.start_url + "/"
        return urljoin(base, self.page_path.format(page=page))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        async for request in super().start():
            yield request
        for url in self.feed_urls:
            yield self.listing_request(1, url)

    def parse_listing(self, response: Response, page: int) -> Iterable[scrapy.Request]:
        stats = self.crawler.stats
        try:
            document = self.read(response)
        except Unreadable as exc:
            stats.inc_value("newscrawl/discovery/feed_unparseable")
            stats.inc_value(f"newscrawl/discovery/feed_unparseable/{exc.reason}")
            self.logger.warning("discovery document %s refused: %s", response.url, exc.reason)
            return
        stats.inc_value(f"newscrawl/discovery/{document.kind}")
        if document.kind == "html":
            yield from self.parse_html_listing(response, page)
            return
        stats.inc_value("newscrawl/listing_pages")
        if document.kind in ("sitemap", "sitemapindex"):
            sitemap = parse_sitemap(document, response.url, self.limits.max_urls)
            if sitemap.capped:
                stats.inc_value("newscrawl/discovery/sitemap_capped")
            listed, children = sitemap.pages, sitemap.children
        else:
            listed, children = parse_feed(document, response.url), []
        if not listed and not children:
            stats.inc_value("newscrawl/discovery/feed_no_links")
        yield from self.child_sitemaps(children, page)
        yield from self.listed_requests(listed)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """The sitemaps a robots.txt lists on ``Sitemap:`` lines (read by Scrapy), followed like an
        index's children: within ``max_pages`` and SITEMAP_MAX_DOCUMENTS."""
        urls = [url for url in sitemap_urls_from_robots(response.body, base_url=response.url) if is_http_url(url)]
        self.crawler.stats.inc_value("newscrawl/discovery/robots_sitemaps", len(urls))
        yield from self.child_sitemaps(urls, 0)

    def read(self, response: Response) -> Document:
        """The response as a discovery document, within the caps; raises :class:`Unreadable`."""
        max_size = int(response.meta.get("download_maxsize", self.limits.max_size) or 0)
        try:
            return read_document(response.body, max_size, self.limits.max_ratio)
        except DecompressionCapExceeded as exc:
            count_oversize(self.crawler.stats, exc.kind)
            raise Unreadable("oversize") from None

    def parse_html_listing(self, response: Response, page: int) -> Iterable[scrapy.Request]:
        """An HTML listing page: the section spider's link rules and pagination."""
        return super().parse_listing(response, page)

    def child_sitemaps(self, children: list[str], page: int) -> Iterator[scrapy.Request]:
        """Requests for an index's child sitemaps: ``max_pages`` deep and wide, and never more
        than SITEMAP_MAX_DOCUMENTS in the whole crawl (else nesting multiplies them)."""
        if page >= self.max_pages:
            return
        budget = self.limits.max_documents
        for url in children[: self.max_pages]:
            if budget and self.sitemaps_requested >= budget:
                self.crawler.stats.inc_value("newscrawl/discovery/document_budget_reached")
                self.logger.warning("SITEMAP_MAX_DOCUMENTS (%d) reached: child sitemaps skipped", budget)
                return
            self.sitemaps_requested += 1
            yield self.listing_request(page + 1, url)

    def listed_requests(self, listed: list[Listed]) -> Iterator[scrapy.Request]:
        seen: set[str] = set()
        for entry in listed:
            self.crawler.stats.inc_value("newscrawl/links/seen")
            url = canonicalize_url(entry.url)
            if not self.is_article_url(url):
                self.crawler.stats.inc_value("newscrawl/links/offsection")
            elif url not in seen:
                seen.add(url)
                self.crawler.stats.inc_value("newscrawl/links/articles")
                yield self.article_request(url, entry.published_raw)

    #: The site's own names; dropped where a CMS puts them as an author or a tag.
    site_names: ClassVar[tuple[str, ...]] = ()
    #: Tags that are CMS labels, not topics (``無料記事`` = "free article").
    ignored_tags: ClassVar[re.Pattern[str] | None] = None
    #: Meta tag (name=…) holding the site's comma-separated topic tags, when not in JSON-LD.
    tag_meta: ClassVar[str | None] = None
    #: Prefer the printed byline (``selectors.byline``) to the structured author.
    byline_first: ClassVar[bool] = False
    #: CSS of a supplier line printed apart from the body: "JIJI", "AFP, MANILA".
    agency_line: ClassVar[str | None] = None
    #: A paragraph that ends the story; it and all after it go (AP's "___" before contributor notes).
    body_end_markers: ClassVar[tuple[str, ...]] = ()

    def build_article(self, response: TextResponse) -> Article:
        article = super().build_article(response)
        sel = page_selector(response)
        article.body = self.trim_body(article.body)
        self.refine_authors(article, sel)
        self.refine_credit(article, sel)
        article.tags = self.site_tags(article.tags, sel)
        listed = response.meta.get(META_LISTED_RAW)
        if not article.published_raw and listed:
            article.published_raw = listed
        return article

    def trim_body(self, body: str | None) -> str | None:
        if not body or not self.body_end_markers:
            return body
        paragraphs = body.split("\n\n")
        end = next((i for i, p in enumerate(paragraphs) if p.strip() in self.body_end_markers), len(paragraphs))
        return "\n\n".join(paragraphs[:end]) or None

    def refine_authors(self, article: Article, sel: Selector) -> None:
        if self.byline_first:
            names = parse_byline(_first_text(sel, self.selectors.byline) or "")
            if names:
                article.authors = names
        people, wires = split_agencies([a for a in article.authors if a not in self.site_names])
        article.authors = people
        # A wire named as the author ("Associated Press") is the article's credit.
        article.credit_lines = [*article.credit_lines, *wires]

    def refine_credit(self, article: Article, sel: Selector) -> None:
        wire, place = split_agency_line(_first_text(sel, self.agency_line) or "")
        if wire:
            article.credit_lines = [*article.credit_lines, wire]
        if place and not article.dateline:
            article.dateline = place

    def site_tags(self, tags: list[str], sel: Selector) -> list[str]:
        if self.tag_meta:
            raw = sel.xpath(f"//meta[@name='{self.tag_meta}']/@content").get() or ""
            tags = [t.strip() for t in raw.split(",") if t.strip()] or tags
        return [
            t for t in tags
            if t not in self.site_names and not (self.ignored_tags and self.ignored_tags.search(t))
        ]
