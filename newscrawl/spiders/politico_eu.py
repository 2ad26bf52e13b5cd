"""Politico Europe (https://www.politico.eu/), whose coverage is politics and policy."""

import re

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider


class PoliticoEuSpider(SiteSpider):
    """Discovery: the site RSS feed ``https://www.politico.eu/feed/`` (declared in its pages).

    Feed links carry ``?utm_source=RSS_Feed…``, dropped by URL canonicalisation. Stories are
    ``/article/<slug>/``; subheadings are ``h3.wp-block-heading``. The JSON-LD keywords are a
    lower-cased subset of the ``<meta name=keywords>`` topics, so the meta tag is read.
    """

    name = "politico_eu"
    start_url = "https://www.politico.eu/feed/"
    section = "politics"
    article_path = re.compile(r"/article/[^/]+/?")
    page_param = None
    timezone = "Europe/Brussels"
    selectors = ArticleSelectors(
        title="h1",
        body=".article__content > p, .article__content > h3",
        published=None,  # JSON-LD datePublished
        byline=".article-meta__authors",
        image=None,
    )
    tag_meta = "keywords"
    site_names = ("POLITICO", "Politico")
