"""The generic ``news`` spider: any site's section page, RSS/Atom feed or XML sitemap."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import scrapy
import trafilatura
from parsel import Selector
from scrapy.http import TextResponse

from newscrawl.extract.body import main_block_text
from newscrawl.extract.metadata import Metadata
from newscrawl.items import Article
from newscrawl.requestmeta import LISTING_PRIORITY
from newscrawl.spiders.base import ArticleSelectors, SpiderArgumentError
from newscrawl.spiders.discovery import SiteSpider
from newscrawl.text import normalize_text
from newscrawl.urls import canonicalize_url, is_http_url, registrable_domain, url_path

# Path segments of pages that list articles rather than being one.
_NOT_ARTICLE = re.compile(
    r"/(?:tags?|topics?|category|categories|author|authors|page|search|about|contact|newsletters?"
    r"|subscribe|login|video|videos|live|podcasts?|gallery|photos?)(?:/|$)",
    re.I,
)
_DATED = re.compile(r"/(?:19|20)\d{2}/[01]?\d/")
_NUMERIC_ID = re.compile(r"\d{6,}")
_SEPARATOR = re.compile(r"^[_*=~-]{3,}$")
MIN_BLOCK_SHARE = 0.4


def looks_like_article(path: str) -> bool:
    """A path that names one story: a long slug, a date, or a long numeric ID; never a tag/author page."""
    if _NOT_ARTICLE.search(path):
        return False
    slug = path.rstrip("/").rsplit("/", 1)[-1]
    return (
        len(re.split(r"[-_]", slug)) >= 4
        or bool(_NUMERIC_ID.search(slug))
        or (bool(_DATED.search(path + "/")) and len(slug) > 8)
    )


def trafilatura_paragraphs(html: str) -> list[str]:
    """Main-text paragraphs by trafilatura (no comments, no tables), one per extracted line."""
    text = trafilatura.extract(html, include_comments=False, include_tables=False, deduplicate=False)
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def refine_paragraphs(lines: list[str], block_text: str, title: str | None) -> list[str]:
    """trafilatura's lines without what page structure says is not the story.

    - a first line repeating the headline;
    - a separator line (``___``) in the second half and everything after it (wire
      contributor notes: "Peoples reported from New York…");
    - lines absent from the densest-<p> block of the page (related-story teasers, photo
      credits), unless that block would keep under 40 % of the text: then it is the wrong
      block and trafilatura is trusted as it is.
    """
    if lines and title and normalize_text(lines[0]) == normalize_text(title):
        lines = lines[1:]
    cut = next((i for i, line in enumerate(lines) if _SEPARATOR.match(line) and i >= len(lines) // 2), None)
    lines = lines[:cut] if cut is not None else lines
    block = normalize_text(block_text)
    if block:
        kept = [line for line in lines if normalize_text(line) in block]
        if sum(map(len, kept)) >= MIN_BLOCK_SHARE * sum(map(len, lines)):
            return kept
    return lines


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
        """Story-like links on the site, those under the listing's own path when there are any."""
        links: dict[str, str | None] = {}
        for href in response.css("a::attr(href)").getall():
            url = canonicalize_url(response.urljoin(href.strip()))
            self.crawler.stats.inc_value("newscrawl/links/seen")
            if self.on_site(url) and looks_like_article(url_path(url)):
                links.setdefault(url, None)
            else:
                self.crawler.stats.inc_value("newscrawl/links/offsection")
        inside = {u: d for u, d in links.items() if self.section_prefix != "/" and url_path(u).startswith(self.section_prefix)}
        return inside or links

    def parse_html_listing(self, response: Any, page: int) -> Any:
        yield from super().parse_html_listing(response, page)
        if isinstance(response, TextResponse) and page < self.max_pages:
            next_href = response.xpath(
                "//link[@rel='next']/@href | //a[contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href"
            ).get()
            if next_href:
                yield self.listing_request(page + 1, response.urljoin(next_href))

    def body_paragraphs(self, sel: Selector, meta: Metadata) -> tuple[list[str], str]:
        """trafilatura (refined by the page's densest-<p> block), then SectionSpider's fallbacks."""
        # Serialised, not the parsed tree: trafilatura edits a tree in place and reads its own parse better.
        paragraphs = refine_paragraphs(trafilatura_paragraphs(sel.get()), main_block_text(sel), meta.title)
        if paragraphs:
            return paragraphs, "trafilatura"
        return super().body_paragraphs(sel, meta)

    def build_article(self, response: TextResponse) -> Article:
        article = super().build_article(response)
        article.source = self.source
        return article
