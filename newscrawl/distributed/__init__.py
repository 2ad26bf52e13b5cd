"""Several machines: crawl jobs shared through Redis (scrapy-redis) by ``newscrawl worker`` processes."""
