"""The Article item: the typed contract between spiders and pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Article:
    """One news article as a spider saw it and the pipelines refine it.

    ``None`` always means "not found on the page", never an empty value.
    Spiders fill the raw fields; :class:`~newscrawl.pipelines.clean.CleanPipeline`
    normalises text and turns the raw date strings into UTC instants.
    """

    url: str
    """Canonical article URL: query and fragment dropped, path percent-encoded one way."""

    source: str
    """Spider name, e.g. ``japantoday``."""

    section: str | None = None
    """Section of the site the article was listed in, e.g. ``politics``."""

    title: str | None = None
    """Headline, whitespace-normalised, never derived from the URL slug."""

    body: str | None = None
    """Plain text, paragraphs separated by exactly one blank line (``\\n\\n``)."""

    summary: str | None = None
    """Lead or teaser as the site publishes it (JSON-LD/OpenGraph description, listing teaser)."""

    published_raw: str | None = None
    """The publication date exactly as found on the page, before parsing."""

    published_at: datetime | None = None
    """Publication instant, timezone-aware UTC (set by the clean pipeline)."""

    modified_raw: str | None = None
    """The modification date exactly as found on the page, before parsing."""

    modified_at: datetime | None = None
    """Last modification instant, timezone-aware UTC, or ``None`` when the page does not say."""

    authors: list[str] = field(default_factory=list)
    """Author names in page order; ``[]`` when the page names none."""

    credit: str | None = None
    """Normalised wire or copyright holder: ``Reuters``, ``AP``, ``AFP``, ``Kyodo``, ``Jiji``, ``Japan Today``…"""

    credit_lines: list[str] = field(default_factory=list)
    """Raw copyright lines (``© Thomson Reuters 2021.``) as found; ``credit`` is derived from them."""

    dateline: str | None = None
    """Place line of the story, e.g. ``TOKYO``."""

    comment_count: int | None = None
    """Number of reader comments shown on the page."""

    image_url: str | None = None
    """Absolute URL of the lead image."""

    tags: list[str] = field(default_factory=list)
    """Keywords or tags the site gives the article; ``[]`` when none."""

    language: str | None = None
    """ISO 639-1 code of the text, e.g. ``en``."""

    word_count: int | None = None
    """Number of whitespace-separated words in ``body`` (set by the clean pipeline)."""

    body_method: str | None = None
    """Which extractor produced ``body``: ``structured`` (JSON-LD), ``selectors`` (site CSS),
    ``generic`` (newscrawl's own fallback) or ``trafilatura`` (the generic ``news`` spider)."""

    expired: bool = False
    """True when the site replaced the body with an "article has expired" notice (dropped by validation)."""

    content_hash: str | None = None
    """SHA-256 hex of the normalised title and body (set by the clean pipeline)."""

    warc_file: str | None = None
    """WARC file holding the response the article was read from: a name in the crawl's archive
    folder, or an absolute path (an imported file); ``None`` when not archived."""

    warc_offset: int | None = None
    """Byte offset of that response record in ``warc_file`` (the start of its gzip member)."""
