"""The project's spiders as Scrapy's spider loader finds them: the one list of spider names."""

from __future__ import annotations

from functools import cache

from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

from newscrawl import settings as project_settings


@cache
def spider_loader() -> SpiderLoader:
    """The loader over the project's ``SPIDER_MODULES``, as ``scrapy list`` sees them."""
    return SpiderLoader.from_settings(Settings({"SPIDER_MODULES": project_settings.SPIDER_MODULES}))


def spider_names() -> list[str]:
    """Every spider's name, sorted."""
    return sorted(spider_loader().list())


def spider_class(name: str) -> type:
    """The spider class called ``name`` (KeyError when there is none)."""
    return spider_loader().load(name)


def scheduled_spiders() -> list[str]:
    """The spiders ``newscrawl crawl`` runs when given none: every site, not the generic ``news``."""
    return [name for name in spider_names() if getattr(spider_class(name), "scheduled", True)]
