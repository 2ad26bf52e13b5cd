"""Taipei Times Taiwan news (https://www.taipeitimes.com/News/taiwan)."""

import re

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.discovery import SiteSpider


class TaipeiTimesSpider(SiteSpider):
    """Discovery: the section listing (no pagination known) and the site RSS feed
    ``https://www.taipeitimes.com/xml/index.rss`` (linked from every page).

    Taiwan stories are filed under ``/News/taiwan/archives/YYYY/MM/DD/<id>``, the lead ones
    under ``/News/front/archives/…``; both count. The JSON-LD author and the keywords are the
    paper's own name; the supplier line ``.archives .name`` says "AFP, MANILA" or
    "By Chen Yu-fu / Staff reporter". Dates are Taipei time.
    """

    name = "taipeitimes"
    start_url = "https://www.taipeitimes.com/News/taiwan"
    section = "taiwan"
    article_path = re.compile(r"/News/(?:taiwan|front)/archives/\d{4}/\d{2}/\d{2}/\d+")
    page_param = None
    feeds = ("https://www.taipeitimes.com/xml/index.rss",)
    timezone = "Asia/Taipei"
    selectors = ArticleSelectors(
        title="h1",
        body=".archives > p",
        published=None,  # JSON-LD datePublished (+08:00)
        byline=".archives .name",
        image=None,
    )
    byline_first = True
    agency_line = ".archives .name"
    site_names = ("台北時報", "The Taipei Times", "Taipei Times")
    title_suffixes = (" - Taipei Times",)
