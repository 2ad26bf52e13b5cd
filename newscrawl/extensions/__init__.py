"""Scrapy extensions: crawl bookkeeping that is not tied to one item."""
