"""The Japan Times politics section (https://www.japantimes.co.jp/news/japan/politics/)."""

import re

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider


class JapanTimesSpider(SiteSpider):
    """Discovery: the section listing with WordPress path pagination (``…/politics/page/2/``).

    Stories live at dated paths whose category part has changed over the years
    (``/news/2020/02/18/national/crime-legal/<slug>/``, ``/news/2024/10/13/japan/politics/<slug>/``),
    so any dated story the politics listing links counts as one of the section's.
    Wire copy is credited in ``header p.credit`` ("JIJI", "KYODO"); the meta author then says
    "No Author". The site-wide ``/feed/topstories`` is not used: it mixes every section.
    """

    name = "japantimes"
    start_url = "https://www.japantimes.co.jp/news/japan/politics/"
    section = "politics"
    article_path = re.compile(r"/news/\d{4}/\d{2}/\d{2}/(?:[a-z0-9-]+/)+[^/]+/?")
    page_param = None
    page_path = "page/{page}/"
    timezone = "Asia/Tokyo"
    selectors = ArticleSelectors(
        title="h1",
        body="#jtarticle > p",
        published="time[datetime]::attr(datetime)",
        byline="header p.author",
        image="article figure img::attr(src)",
    )
    agency_line = "article header p.credit"
    title_suffixes = (" | The Japan Times",)
    site_names = ("The Japan Times",)
