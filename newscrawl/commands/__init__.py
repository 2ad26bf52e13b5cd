"""Scrapy commands that newscrawl overrides (``COMMANDS_MODULE``)."""
