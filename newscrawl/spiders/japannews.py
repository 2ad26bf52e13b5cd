"""The Japan News (Yomiuri) politics section (https://japannews.yomiuri.co.jp/politics/)."""

import re

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider


class JapanNewsSpider(SiteSpider):
    """Discovery: the section listing with WordPress path pagination (``/politics/page/2/``).

    Article URLs carry a sub-section and a dated ID:
    ``/politics/politics-government/20241013-216478/``. The JSON-LD author is the web
    editor's name in Japanese (``新間``); the printed byline names the reporters, so it wins.
    """

    name = "japannews"
    start_url = "https://japannews.yomiuri.co.jp/politics/"
    section = "politics"
    article_path = re.compile(r"/politics/[a-z0-9-]+/\d{8}-\d+/?")
    page_param = None
    page_path = "page/{page}/"
    timezone = "Asia/Tokyo"
    selectors = ArticleSelectors(
        title="h1",
        body="#p-article-block > p:not(.byline):not(.postdate), #p-article-block > h2",
        published=None,  # JSON-LD datePublished; p.postdate prints only "17:41 JST, October 13, 2024"
        byline="#p-article-block p.byline",
        image="#p-article-block figure img::attr(src)",
    )
    byline_first = True
    site_names = ("The Japan News", "The Yomiuri Shimbun")
    # "(1) 無料記事" ("free article") is a paywall label in the JSON-LD keywords.
    ignored_tags = re.compile("無料記事")
