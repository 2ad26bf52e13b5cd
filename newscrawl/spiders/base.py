"""SectionSpider: how any news section is crawled (listing -> links -> pagination -> article)."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from weakref import WeakKeyDictionary
from datetime import date
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

import scrapy
from lxml import etree
from parsel import Selector
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.utils.response import get_base_url

from newscrawl.boilerplate import GENERIC_BOILERPLATE, Boilerplate
from newscrawl.credits import MAX_BYLINE_LEN, SiteCredit, headline_byline, split_byline
from newscrawl.extract.body import NON_TEXT_TAGS, extract_paragraphs, generic_paragraphs, select
from newscrawl.extract.metadata import Metadata, extract_metadata
from newscrawl.contact import warn_without_contact
from newscrawl.items import Article
from newscrawl.requestmeta import LISTING_PRIORITY, META_ARTICLE, META_LISTED_RAW, META_LISTING_PAGE
from newscrawl.text import fingerprint
from newscrawl.urls import canonicalize_url, is_http_url, split_http_url, url_path


#: Fields whose absence the health check watches (``newscrawl/fields/missing/<name>``).
WATCHED_FIELDS = ("title", "body", "published_raw")


#: Spider arguments that deployment tools add on their own (Scrapyd passes ``_job``).
TOOL_ARGUMENTS = frozenset({"_job"})



class SpiderArgumentError(ValueError):
    """A ``-a name=value`` spider argument is invalid."""


def unknown_arguments(spider: str, given: Iterable[str], known: Iterable[str]) -> str | None:
    """The one-line complaint about argument names ``spider`` does not take, or None when all are known."""
    known = list(known)
    unknown = [name for name in given if name not in known and name not in TOOL_ARGUMENTS]
    if not unknown:
        return None
    guesses = [
        f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(name, known, 1)) else repr(name)
        for name in unknown
    ]
    return f"{', '.join(guesses)} is not an argument of {spider}; it takes {', '.join(known)}"


@dataclass(frozen=True)
class ArticleSelectors:
    """CSS selectors for a site's article template; ``None`` = the site has no such element."""

    title: str | None = "h1"
    body: str | None = "[itemprop=articleBody] p"
    published: str | None = "time[datetime]::attr(datetime)"
    modified: str | None = None
    byline: str | None = None
    dateline: str | None = None
    comment_count: str | None = None
    image: str | None = "figure img::attr(src)"
    #: Elements outside the body that may hold copyright lines (only ``©…`` texts are kept).
    credit: str | None = None


_BYLINE = re.compile(r"^by\s+\S", re.IGNORECASE)
_DIGITS = re.compile(r"\d[\d,]*")
_COPYRIGHT = re.compile(r"^(©|\(c\)|copyright\b)", re.IGNORECASE)


_TEXT_NODES = etree.XPath(
    ".//text()[not({})]".format(" or ".join(f"ancestor::{tag}" for tag in sorted(NON_TEXT_TAGS))),
    smart_strings=False,
)


# Each page's selector, kept for as long as its response lives.
_SELECTORS: WeakKeyDictionary[TextResponse, Selector] = WeakKeyDictionary()


def page_selector(response: TextResponse) -> Selector:
    """``response.selector`` without its reference back to the response.

    Scrapy's selector keeps the response it was made from, and the response caches the selector:
    a reference cycle that holds every page (its body, headers and parsed tree) until the garbage
    collector finds it. Measured on a 2,000-page crawl: ~50 MB of peak RSS and ~0.5 CPU s of
    collection. This one is parsed the same way (the same text, type and ``<base href>``) and is
    freed with its response.
    """
    sel = _SELECTORS.get(response)
    if sel is None:
        sel = Selector(
            text=response.text, type="xml" if isinstance(response, XmlResponse) else "html",
            base_url=get_base_url(response),
        )
        _SELECTORS[response] = sel
    return sel


def _texts(node: Any) -> list[str]:
    """Stripped, non-empty descendant text nodes of a :func:`select` match, non-text elements
    (script, template…) excluded; none for a string match (``::text``, ``::attr()``)."""
    if not isinstance(node, etree._Element):
        return []
    return [t.strip() for t in _TEXT_NODES(node) if t.strip()]


def _following(node: etree._Element, limit: int = 40) -> list[etree._Element]:
    """``following::*[position() <= limit]``: the first elements after ``node`` in document order,
    its descendants excluded. Walked by lxml: libxml2's XPath builds the whole following axis
    before taking the first ``limit`` (~140 against ~30 us after a headline)."""
    found: list[etree._Element] = []
    while node is not None and len(found) < limit:
        for sibling in node.itersiblings(tag=etree.Element):
            found.append(sibling)
            found.extend(itertools.islice(sibling.iterdescendants(tag=etree.Element), limit))
            if len(found) >= limit:
                break
        node = node.getparent()
    return found[:limit]


#: The elements after a headline that may hold its byline (the body usually starts sooner).
_BYLINE_SCAN = 40


def _short_text(node: etree._Element) -> str | None:
    """The element's text as one line, or None when it is longer than a byline can be.

    Read lazily: the body's container follows the headline too, and is not read to its end.
    """
    parts: list[str] = []
    size = 0
    for text in node.itertext():
        size += len(text)
        if size > MAX_BYLINE_LEN * 2:  # whitespace between tags counts; bylines are far shorter
            return None
        if text.strip():
            parts.append(text.strip())
    return " ".join(parts) or None


def _first(sel: Selector | etree._Element, css: str) -> str | None:
    """``sel.css(css).get()``: the first match as a string (an element as its markup), or None."""
    matches = select(sel, css)
    if not matches:
        return None
    if isinstance(matches[0], etree._Element):
        return etree.tostring(matches[0], method="html", encoding="unicode", with_tail=False)
    return str(matches[0])


class SectionSpider(scrapy.Spider):
    """Crawls one section of a news site; subclasses only declare site facts.

    Spider arguments: :attr:`arguments` (``start_url``, ``max_pages``, ``since``); any
    other name is refused before the first request.
    Stats: ``newscrawl/links/seen``, ``newscrawl/links/offsection``,
    ``newscrawl/links/articles``, ``newscrawl/listing_pages``,
    ``newscrawl/body_method/<method>``, ``newscrawl/fields/items`` and
    ``newscrawl/fields/missing/<field>``.
    """

    #: The ``-a name=value`` arguments the spider takes, each with its one line of help (shown
    #: when an unknown name is refused, and in the README); a subclass adds its own.
    arguments: ClassVar[dict[str, str]] = {
        "start_url": "crawl a mirror or another listing URL like the real site (the allowed domain follows it)",
        "max_pages": "listing pages to walk, a whole number >= 1 (default 3)",
        "since": "YYYY-MM-DD: walk the listing on past stored articles down to that date (backfills)",
    }
    #: Whether ``newscrawl crawl`` runs this spider when none is named.
    scheduled: ClassVar[bool] = True

    #: The section's first listing page on the real site.
    start_url: ClassVar[str]
    #: Section name stored with each article, e.g. ``politics``.
    section: ClassVar[str]
    #: Matches the percent-decoded path of an article in this section.
    article_path: ClassVar[re.Pattern[str]]
    #: Query parameter that selects a listing page (``?page=2``), or None.
    page_param: ClassVar[str | None] = "page"
    default_max_pages: ClassVar[int] = 3
    #: Zone of dates the site prints without an offset.
    timezone: ClassVar[str] = "UTC"
    language: ClassVar[str | None] = "en"
    selectors: ClassVar[ArticleSelectors] = ArticleSelectors()
    #: The site's own name in its copyright lines, the credit of its own stories (None: a holder
    #: named in a notice is taken as it is written).
    site_credit: ClassVar[SiteCredit | None] = None
    #: The site's page chrome, stripped from bodies by the clean pipeline.
    boilerplate: ClassVar[Boilerplate] = GENERIC_BOILERPLATE
    #: Text that replaces the body of an article the site has withdrawn.
    expired_markers: ClassVar[tuple[str, ...]] = ()
    #: Site-name suffixes stripped from structured titles (" | Site").
    title_suffixes: ClassVar[tuple[str, ...]] = ()
    #: One teaser on a listing page (its link and date are read from inside it), or None.
    listing_item: ClassVar[str | None] = None
    #: The listed date inside a ``listing_item``.
    listing_date: ClassVar[str] = "time[datetime]::attr(datetime)"

    def __init__(
        self,
        start_url: str | None = None,
        max_pages: str | int | None = None,
        since: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.start_url, self.max_pages, self.since = self.check_arguments(start_url, max_pages, since, **kwargs)
        super().__init__(**kwargs)
        self._not_article_links: set[tuple[str, str]] = set()
        # 8-byte fingerprints of the article links listing pages showed so far in this crawl.
        self._listed: set[bytes] = set()
        # The allowed domain follows the start URL, so a mirror is crawled like the site.
        self.allowed_domains = [(urlsplit(self.start_url).hostname or "").lower()]

    @classmethod
    def check_arguments(
        cls,
        start_url: str | None = None,
        max_pages: str | int | None = None,
        since: str | None = None,
        **kwargs: Any,
    ) -> tuple[str, int, date | None]:
        """Validated ``(start_url, max_pages, since)``; raises :class:`SpiderArgumentError` saying why.

        ``kwargs`` are the other ``-a`` names given: each must be one of :attr:`arguments`.
        """
        complaint = unknown_arguments(cls.name, kwargs, cls.arguments)
        if complaint:
            raise SpiderArgumentError(complaint)
        url = start_url or cls.start_url
        if not is_http_url(url):
            raise SpiderArgumentError(f"start_url must be an http(s) URL, got {url!r}")
        pages = cls._positive_int("max_pages", max_pages, cls.default_max_pages)
        try:
            watermark = date.fromisoformat(since) if since else None
        except ValueError:
            raise SpiderArgumentError(f"since must be a date YYYY-MM-DD, got {since!r}") from None
        return url, pages, watermark

    @staticmethod
    def _positive_int(name: str, value: str | int | None, default: int) -> int:
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            raise SpiderArgumentError(f"{name} must be a whole number >= 1, got {value!r}")
        return number

    # Listing pages -----------------------------------------------------------

    def listing_url(self, page: int) -> str:
        """URL of listing page ``page`` (1-based); page 1 is the start URL itself."""
        if page == 1 or not self.page_param:
            return self.start_url
        parts = urlsplit(self.start_url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != self.page_param]
        query.append((self.page_param, str(page)))
        return urlunsplit(parts._replace(query=urlencode(query), fragment=""))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        warn_without_contact(self.crawler.settings)
        yield self.listing_request(1)

    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        """``scrapy parse URL`` without ``-c``: an article page when the URL's path is the
        section's ``article_path`` (and it is not the start URL), else a listing page."""
        url = canonicalize_url(response.url)
        if url != canonicalize_url(self.start_url) and self.article_path.fullmatch(url_path(url)):
            return self.parse_article(response)
        page = dict(parse_qsl(urlsplit(response.url).query)).get(self.page_param or "", "1")
        return self.parse_listing(response, int(page) if page.isdigit() and int(page) > 0 else 1)

    def is_article_url(self, url: str) -> bool:
        """An http(s) URL on the start URL's host whose decoded path is an article of the section."""
        split = split_http_url(url)  # parsed once: a listing page has hundreds of links
        if split is None or (split.hostname or "").lower() not in self.allowed_domains:
            return False
        return bool(self.article_path.fullmatch(unquote(split.path) or "/"))

    def article_links(self, response: TextResponse) -> dict[str, str | None]:
        """Canonical article URLs linked from a listing page, in page order, each with the
        raw date its teaser shows (``None`` for links outside a ``listing_item``)."""
        links: dict[str, str | None] = {}
        # A listing page has hundreds of links, most of them the same navigation on every page,
        # and a teaser links its article two or three times: each href is resolved once per page,
        # and one that is no article once per crawl. Only an empty, "?…" or "#…" href depends on
        # the page's query, so the others are remembered by the base URL without it.
        try:
            base = get_base_url(response)
        except ValueError:  # a malformed <base href>
            base = response.url
        base_path = base.partition("#")[0].partition("?")[0]
        not_articles = self._not_article_links
        if len(not_articles) > 20_000:  # a site whose links change on every page
            not_articles.clear()
        on_page: dict[str, str | None] = {}

        def article_url(href: str) -> str | None:
            href = href.strip()
            if href in on_page:
                return on_page[href]
            key = (base if not href or href[0] in "?#" else base_path, href)
            if key in not_articles:
                return None
            try:
                url: str | None = urljoin(base, href)
            except ValueError:  # a link that cannot be a URL (http://[::1/x)
                url = None
            article = canonicalize_url(url) if url and self.is_article_url(url) else None
            on_page[href] = article
            if article is None:  # kept across pages: the template's links, not the crawl's articles
                not_articles.add(key)
            return article

        sel = page_selector(response)
        if self.listing_item:
            for item in select(sel, self.listing_item):
                listed = _first(item, self.listing_date)
                for href in select(item, "a::attr(href)"):
                    url = article_url(href)
                    if url and links.get(url) is None:
                        links[url] = listed
        hrefs = select(sel, "a::attr(href)")
        offsection = 0
        for href in hrefs:
            url = article_url(href)
            if not url:
                offsection += 1
                continue
            links.setdefault(url, None)
        # Counted once per page: a listing has hundreds of links.
        self.crawler.stats.inc_value("newscrawl/links/seen", len(hrefs))
        self.crawler.stats.inc_value("newscrawl/links/offsection", offsection)
        return links

    def parse_listing(self, response: Response, page: int) -> Iterable[scrapy.Request]:
        if not isinstance(response, TextResponse):
            self.logger.warning("listing page %s is not text (%s)", response.url, type(response))
            return
        self.crawler.stats.inc_value("newscrawl/listing_pages")
        links = self.article_links(response)
        self.crawler.stats.inc_value("newscrawl/links/articles", len(links))
        fresh = 0
        for url, listed in links.items():
            key = fingerprint(url)
            fresh += key not in self._listed
            self._listed.add(key)
            yield self._article_request(url, listed)  # already canonical
        # Past its last page a section may answer its template, whose sidebars link articles
        # the crawl has already listed: a page with nothing new ends the walk.
        if links and not fresh:
            self.crawler.stats.inc_value("newscrawl/listing/nothing_new")
        if fresh and page < self.max_pages and self.page_param:
            yield self.listing_request(page + 1)

    def listing_request(self, page: int, url: str | None = None) -> scrapy.Request:
        """A listing document (page, feed, sitemap), marked for the incremental middleware.

        Its priority is below the articles': a page's articles are fetched (and stored) before
        the crawl reads the next page, so a deep backfill holds one page of requests in memory,
        not the whole section's, and a killed crawl has stored the newest articles first.
        """
        return scrapy.Request(
            url or self.listing_url(page),
            callback=self.parse_listing,
            cb_kwargs={"page": page},
            meta={META_LISTING_PAGE: page},
            priority=LISTING_PRIORITY,
        )

    def article_request(self, url: str, listed_raw: str | None = None) -> scrapy.Request:
        """An article page, with the date its teaser showed (for the ``since`` watermark)."""
        return self._article_request(canonicalize_url(url), listed_raw)

    def _article_request(self, url: str, listed_raw: str | None) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            meta={META_ARTICLE: True, META_LISTED_RAW: listed_raw},
        )

    # Article pages -----------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Article]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("newscrawl/article_not_text")
            self.logger.warning("article %s is not text; skipped", response.url)
            return
        try:
            article = self.build_article(response)
        except ValueError as exc:
            yield self.unparseable(response, exc)
            return
        self.count_fields(article)
        yield article

    def unparseable(self, response: Response, exc: ValueError) -> Article:
        """The empty article of a page lxml or the URL parser refuses (a malformed ``<base href>``…):
        it goes on, so validation drops it with a typed, counted reason."""
        self.crawler.stats.inc_value("newscrawl/unparseable_pages")
        self.logger.warning("cannot parse %s: %s", response.url, exc)
        return Article(url=canonicalize_url(response.url), source=self.name, section=self.section)

    def build_article(self, response: TextResponse) -> Article:
        """An :class:`Article` from a page: structured metadata first, then selectors, then generic."""
        sel = page_selector(response)
        meta = extract_metadata(sel, response.url)
        paragraphs, body_method = self.body_paragraphs(sel, meta)
        authors, byline_wires, paragraphs = self.authors(sel, meta, paragraphs)
        body_text = "\n\n".join(paragraphs)
        article = Article(
            url=canonicalize_url(response.url),
            source=self.name,
            section=self.section,
            title=self.title(sel, meta),
            body=body_text or None,
            summary=meta.description,
            published_raw=self.first(meta.published_raw, sel, self.selectors.published),
            modified_raw=self.first(meta.modified_raw, sel, self.selectors.modified),
            authors=authors,
            dateline=self.first(None, sel, self.selectors.dateline),
            credit_lines=self.credit_lines(sel, paragraphs if body_method == "selectors" else None) + byline_wires,
            comment_count=self.comment_count(sel),
            image_url=self.image_url(response, meta),
            tags=list(meta.tags),
            language=meta.language or self.language,
            body_method=body_method,
            expired=any(marker in body_text for marker in self.expired_markers),
        )
        return article

    def count_fields(self, article: Article) -> None:
        """Body method and field coverage for the health check: a changed layout shows up as
        missing fields. Counted here, in the crawl's process, wherever the article was built."""
        stats = self.crawler.stats
        if article.body_method:
            stats.inc_value(f"newscrawl/body_method/{article.body_method}")
        stats.inc_value("newscrawl/fields/items")
        for name in WATCHED_FIELDS:
            if getattr(article, name) is None:
                stats.inc_value(f"newscrawl/fields/missing/{name}")

    def title(self, sel: Selector, meta: Metadata) -> str | None:
        if meta.title:
            title = meta.title
            for suffix in self.title_suffixes:
                title = title.removesuffix(suffix)
            return title.strip()
        return self.first(None, sel, self.selectors.title)

    def first(self, structured: str | None, sel: Selector, css: str | None) -> str | None:
        """The structured value if any, else the joined text of the selector's first match."""
        if structured:
            return structured
        if not css:
            return None
        if "::" not in css:
            matches = select(sel, css)
            value = " ".join(_texts(matches[0])) if matches else ""
        else:
            value = (_first(sel, css) or "").strip()
        return value or None

    def body_paragraphs(self, sel: Selector, meta: Metadata) -> tuple[list[str], str]:
        """Body paragraphs and the method that found them: structured, selectors or generic."""
        if meta.body and "\n" in meta.body.strip():
            return [p.strip() for p in meta.body.splitlines() if p.strip()], "structured"
        if self.selectors.body:
            paragraphs = extract_paragraphs(sel, self.selectors.body)
            if paragraphs:
                return paragraphs, "selectors"
        if meta.body:
            return [meta.body.strip()], "structured"
        return generic_paragraphs(sel), "generic"

    def authors(
        self, sel: Selector, meta: Metadata, paragraphs: list[str]
    ) -> tuple[list[str], list[str], list[str]]:
        """Author names, wires named as the byline ("By Reuters"), and the paragraphs without a
        leading ``By …`` byline. Sources in order: a byline opening the body, structured
        metadata, the site's byline selector, a ``By …`` line between the headline and the body.
        The site's own name ("By Japan Today") is no author."""
        names, wires, rest = self._bylines(sel, meta, paragraphs)
        if self.site_credit is not None:
            names = [name for name in names if not self.site_credit.names(name)]
        return names, wires, rest

    def _bylines(
        self, sel: Selector, meta: Metadata, paragraphs: list[str]
    ) -> tuple[list[str], list[str], list[str]]:
        if paragraphs and _BYLINE.match(paragraphs[0]) and len(paragraphs[0]) <= MAX_BYLINE_LEN:
            names, wires = split_byline(paragraphs[0])
            if names or wires:
                return list(meta.authors) or names, wires, paragraphs[1:]
        if meta.authors:
            return list(meta.authors), [], paragraphs
        if self.selectors.byline:
            for node in select(sel, self.selectors.byline):
                names, wires = split_byline(" ".join(_texts(node)))
                if names or wires:
                    return names, wires, paragraphs
        names, wires = self.headline_byline(sel)
        return names, wires, paragraphs

    def headline_byline(self, sel: Selector) -> tuple[list[str], list[str]]:
        """(people, wires) of a ``By …`` line between the headline and the body, printed with no
        class to find it by (Japan Today's plain ``<p>By …</p>``); ([], []) when there is none."""
        headline = self._headline(sel)
        if headline is None:
            return [], []
        nodes = _following(headline, _BYLINE_SCAN)
        for index, node in enumerate(nodes):
            if not isinstance(node.tag, str) or node.tag in NON_TEXT_TAGS:
                continue
            if node.get("itemprop") == "articleBody":
                break  # schema.org's body container: the story has begun
            line = _short_text(node)
            if self.selectors.body is None and node.tag == "p" and (line is None or len(line) > MAX_BYLINE_LEN):
                break  # a paragraph of prose: the story has begun
            if not line:
                continue
            people, wires = headline_byline([line])
            if people or wires:
                # The body is looked up only now (rarely): a page is walked once per query.
                body = select(sel, self.selectors.body) if self.selectors.body else []
                return (people, wires) if not body or body[0] not in nodes[: index + 1] else ([], [])
        return [], []

    def _headline(self, sel: Selector) -> etree._Element | None:
        """The headline element: the first ``h1`` found by a walk that stops there, or the title selector's."""
        css = self.selectors.title or "h1"
        if css.isalnum():
            return next(sel.root.iter(css), None)
        return next((n for n in select(sel, css) if isinstance(n, etree._Element)), None)

    def credit_lines(self, sel: Selector, body_paragraphs: list[str] | None = None) -> list[str]:
        """Copyright lines (``© KYODO``) inside and after the article body.

        ``body_paragraphs``: the site-selector paragraphs when already extracted; else the body
        selector is queried, since a JSON-LD articleBody usually omits the page's own lines.
        """
        if body_paragraphs is None and self.selectors.body:
            body_paragraphs = extract_paragraphs(sel, self.selectors.body)
        texts = list(body_paragraphs or [])
        if self.selectors.credit:
            texts += (" ".join(_texts(node)) for node in select(sel, self.selectors.credit))
        return list(dict.fromkeys(t for t in texts if _COPYRIGHT.match(t)))

    def comment_count(self, sel: Selector) -> int | None:
        if not self.selectors.comment_count:
            return None
        match = _DIGITS.search(_first(sel, self.selectors.comment_count) or "")
        return int(match.group().replace(",", "")) if match else None

    def image_url(self, response: TextResponse, meta: Metadata) -> str | None:
        if meta.image_url:
            return meta.image_url
        src = _first(page_selector(response), self.selectors.image) if self.selectors.image else None
        return response.urljoin(src.strip()) if src and src.strip() else None
