"""Fox News politics section (https://www.foxnews.com/politics)."""

import re

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider


class FoxNewsSpider(SiteSpider):
    """Discovery: the section listing (no pagination: "show more" is a script) and the politics
    RSS feed ``https://moxie.foxnews.com/google-publisher/politics.xml`` (served from another host).

    Stories are ``/politics/<slug>``. Inside the body, all-caps promo links to other stories
    ("CLICK HERE TO GET THE FOX NEWS APP") are ``<p><a><strong>…`` and are skipped; topics
    are in ``<meta name=classification-tags>``, not in the JSON-LD.
    """

    name = "foxnews"
    start_url = "https://www.foxnews.com/politics"
    section = "politics"
    article_path = re.compile(r"/politics/[^/]+")
    page_param = None
    feeds = ("https://moxie.foxnews.com/google-publisher/politics.xml",)
    timezone = "America/New_York"
    selectors = ArticleSelectors(
        title="h1",
        body=".article-body > p:not(:has(> a > strong))",
        published=None,  # JSON-LD datePublished with offset
        byline=".author-byline",
        image=None,
    )
    tag_meta = "classification-tags"
    site_names = ("Fox News",)
