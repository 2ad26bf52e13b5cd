"""AP News politics section (https://apnews.com/politics)."""

import re

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider


class APNewsSpider(SiteSpider):
    """Discovery: the section listing only; AP offers no politics RSS and its hub does not paginate.

    Every story is ``/article/<slug>-<32 hex>``. Two templates seen: 2023 (``div.Article > p``)
    and 2024 (``.RichTextStoryBody``). A paragraph of underscores ends the story; the
    contributor notes after it are not article text. Tags mix topics with AP's distribution
    labels ("NE State Wire", "AP Top News") and a slug echo, which are dropped.
    """

    name = "apnews"
    start_url = "https://apnews.com/politics"
    section = "politics"
    article_path = re.compile(r"/article/[^/]+")
    page_param = None
    timezone = "UTC"
    selectors = ArticleSelectors(
        title="h1",
        body=".RichTextStoryBody > p, .RichTextStoryBody > h2, div.Article > p",
        published=None,  # JSON-LD datePublished (UTC)
        byline=".Page-authors, .CardHeadline [class*=byline]",
        image=None,
    )
    body_end_markers = ("___",)
    ignored_tags = re.compile(
        r"State Wire$|^(?:General|Domestic|Washington|U\.S\.) [Nn]ews$|^AP Top News$|^\w$"
        r"|^[a-z0-9]+(?: [a-z0-9]+){3,}$"
    )
