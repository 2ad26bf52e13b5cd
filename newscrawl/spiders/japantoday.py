"""Japan Today's politics section (https://japantoday.com/category/politics)."""

import re

from newscrawl.spiders.base import ArticleSelectors, SectionSpider


class JapanTodaySpider(SectionSpider):
    """Discovery: the section listing, ``?page=N`` pagination (about 10 articles a page).

    Facts from notes/japantoday.md: relative links, sidebars into other
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
    expired_markers = ("The requested article has expired",)
    title_suffixes = (" - Japan Today", " | Japan Today")
    # Teasers on the section page (2021-22 template; the 2018 one uses the same class).
    listing_item = "div.media"
