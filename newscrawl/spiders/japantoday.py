"""Japan Today's politics section (https://japantoday.com/category/politics)."""

import re

from newscrawl.boilerplate import GENERIC_BOILERPLATE, Boilerplate
from newscrawl.credits import SiteCredit
from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider

# Japan Today's chrome (the 2021 seed page and the 2026 article texts), on top of the generic.
BOILERPLATE = GENERIC_BOILERPLATE + Boilerplate(
    whole={
        "promo": [r"(?:only \d+ )?early bird tickets?(?: available)?[.!]?"],
        "login": [r"log ?in with your japan ?today account"],
        "social": [r"facebook users", r"facebook connect"],
        "survey": [
            r"apply now[.!]?",
            r"help improve .{0,80}? by filling out this (?:questionnaire|survey)\b.*",
            # The sponsor line of the survey card; as a paragraph of its own it is never prose.
            r"department of community and global health, (?:the )?university of tokyo",
        ],
        "related": [r"top jobs in japan", r"find your apartment in japan"],
        "comments": [r"-?\d+ \( ?\+\d+ ?/ ?-\d+ ?\)"],  # vote count "0 ( +2 / -2 )"
        "site-footer": [
            r"japan ?today sotokanda .*",
            # The lookahead changes no match (the unit needs a "©"): it fails prose without one
            # in one scan, where ".*\bsotokanda" alone backtracks through it (~8x slower).
            r"(?=[^©]*©).*\bsotokanda\b.*©\s?\d{4} gplusmedia inc\.?",
        ],
        "browser-warning": [r"please upgrade to a more modern version to fully experience japan ?today site.*"],
    },
    # The 2026 scraper glued these blocks onto the last real paragraph.
    tails={
        "promo": [r"Join us for an unforgettable evening\b", r"Get your ticket now\b"],
        "social": [r"Use your Facebook account to log ?in or register with Japan ?Today\b"],
        "login": [r"Log ?in to (?:comment|leave a comment)\b", r"Log ?in with your Japan ?Today account\b"],
        "survey": [r"Take this healthcare survey and receive\b"],
    },
    # The cross-promotion block at the foot of the page (GaijinPot, Savvy Tokyo cards).
    block_headers=[r"articles, offers (?:&|and) useful resources", r"a mix of what['’]s trending on our other sites"],
)


class JapanTodaySpider(SiteSpider):
    """Discovery: the section listing, ``?page=N`` pagination (about 10 articles a page).

    Facts (tests/sites/japantoday/PROVENANCE.md): relative links, sidebars into other
    categories, dates printed as ``YYYY-MM-DD HH:MM`` in Japan time,
    ``/category/special-promotion/…`` is sponsored (never matches the pattern).
    AP stories may print the byline as a plain ``By <Name>`` line before the body, with no
    class: the base's headline scan reads it; "By Kyodo" there is a credit, not an author.
    """

    name = "japantoday"
    start_url = "https://japantoday.com/category/politics"
    section = "politics"
    article_path = re.compile(r"/category/politics/[^/]+")
    timezone = "Asia/Tokyo"
    language = "en"
    selectors = ArticleSelectors(
        title="h1",
        body="[itemprop=articleBody] p",
        published="time[datetime]::attr(datetime)",
        byline=".byline, .author",
        dateline=".dateline",
        comment_count="[itemprop=commentCount]::text",
        image="figure img::attr(src)",
        # "©2021 GPlusMedia Inc." follows the body; wire credits sit inside it.
        credit="[itemprop=articleBody] ~ p",
    )
    boilerplate = BOILERPLATE
    # "©2021 GPlusMedia Inc." (the publisher) closes every page, whoever wrote the story.
    site_credit = SiteCredit("Japan Today", r"japan ?today|gplusmedia")
    expired_markers = ("The requested article has expired",)
    title_suffixes = (" - Japan Today", " | Japan Today")
    # Teasers on the section page (2021-22 template; the 2018 one uses the same class).
    listing_item = "div.media"
