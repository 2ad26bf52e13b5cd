"""AP News politics section (https://apnews.com/politics)."""

import re
from datetime import date

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider
from newscrawl.spiders.layouts import Layout, versioned


class APNewsSpider(SiteSpider):
    """Discovery: the section listing only; AP offers no politics RSS and its hub does not paginate.

    Every story is ``/article/<slug>-<32 hex>``; its two templates are :attr:`layouts`. A
    paragraph of underscores ends the story; the contributor notes after it are not article text. Tags mix topics with AP's distribution
    labels ("NE State Wire", "AP Top News") and a slug echo, which are dropped.
    """

    name = "apnews"
    start_url = "https://apnews.com/politics"
    section = "politics"
    article_path = re.compile(r"/article/[^/]+")
    page_param = None
    timezone = "UTC"
    layouts = (
        Layout("2024 RichTextStoryBody", date(2024, 9, 3), {
            "body": ".RichTextStoryBody > p, .RichTextStoryBody > h2",
            "byline": ".Page-authors",
        }),
        Layout("2023 div.Article", date(2023, 4, 28), {
            "body": "div.Article > p",
            "byline": ".CardHeadline [class*=byline]",
        }),
    )
    selectors = versioned(
        ArticleSelectors(
            title="h1",
            body=None,
            published=None,  # JSON-LD datePublished (UTC)
            image=None,
        ),
        *layouts,
    )
    body_end_markers = ("___",)
    ignored_tags = re.compile(
        r"State Wire$|^(?:General|Domestic|Washington|U\.S\.) [Nn]ews$|^AP Top News$|^\w$"
        r"|^[a-z0-9]+(?: [a-z0-9]+){3,}$"
    )
