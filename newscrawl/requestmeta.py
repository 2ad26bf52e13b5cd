"""Request meta keys and priorities that spiders set and the middlewares read: shared facts, so no middleware imports spider code."""

#: A listing document (HTML page, feed or sitemap) and its 1-based page number.
META_LISTING_PAGE = "newscrawl_listing_page"
#: An article page.
META_ARTICLE = "newscrawl_article"
#: The raw date the article's teaser showed on the listing (for the ``since`` watermark).
META_LISTED_RAW = "newscrawl_listed_raw"

#: Scheduling priority of listing requests (articles keep Scrapy's default, 0): a page's articles
#: are fetched and stored before the next page is read.
LISTING_PRIORITY = -1
