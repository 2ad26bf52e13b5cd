"""Produce a site fixture's expected output for review: ``python -m newscrawl.review SPIDER DIR``.

Every page the fixture's ``mirror/routes.json`` serves from ``mirror/articles/`` is read by the
spider's own ``build_article`` and the clean pipeline, exactly as a crawl would (no network),
and printed as the JSON records ``expected.json`` keeps under ``"stored"``. ``--write`` puts
them into ``DIR/expected.json`` (its other keys are kept); review the diff field by field.
:func:`store_rows` gives the same articles as the rows the store receives, so tests of the
read side can seed an archive with real content without running a crawl.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from newscrawl.db.store import CONTENT_COLUMNS
from newscrawl.items import Article
from newscrawl.pipelines.clean import CleanPipeline
from newscrawl.pipelines.validate import ValidatePipeline
from newscrawl.registry import spider_class

#: Origin the pages are read under; a mirror serves them on 127.0.0.1 as well.
OFFLINE_ORIGIN = "http://127.0.0.1"
#: Fields an expected record holds, in review order.
FIELDS = (
    "title", "published_at", "authors", "section", "tags", "credit", "dateline",
    "language", "body_method", "body",
)


class OfflineReader:
    """Builds articles from saved pages with a spider's ``build_article`` and the clean pipeline."""

    def __init__(self, spider_name: str, start_url: str | None = None, **spider_args: str) -> None:
        cls = spider_class(spider_name)
        self.crawler = get_crawler(cls)
        args = dict(spider_args)
        if start_url or not getattr(cls, "start_url", None):
            args["start_url"] = start_url or f"{OFFLINE_ORIGIN}/"
        self.spider = cls.from_crawler(self.crawler, **args)
        self.crawler.spider = self.spider
        self.cleaner = CleanPipeline.from_crawler(self.crawler)

    def raw(self, html: bytes, url: str) -> Article:
        """The spider's article before the pipelines (body as extracted)."""
        return self.spider.build_article(HtmlResponse(url=url, body=html, encoding="utf-8", request=Request(url)))

    def read(self, html: bytes, url: str) -> Article:
        """The article as the store pipeline would receive it."""
        return self.cleaner.process_item(self.raw(html, url))


def record(article: Article, path: str) -> dict[str, Any]:
    """The reviewed fields of a cleaned article, JSON-ready."""
    values = {name: getattr(article, name) for name in FIELDS}
    values["published_at"] = article.published_at.isoformat() if article.published_at else None
    return {"path": path, **values}


def article_routes(fixture: Path) -> Iterator[tuple[str, Path]]:
    """``(path, file)`` of every route that serves a page from ``mirror/articles/``."""
    routes = json.loads((fixture / "mirror" / "routes.json").read_text("utf-8"))
    for path, route in routes.items():
        name = route.get("file", "")
        if name.startswith("articles/"):
            yield path, fixture / "mirror" / name


def expected_records(spider_name: str, fixture: Path) -> list[dict[str, Any]]:
    reader = OfflineReader(spider_name, f"{OFFLINE_ORIGIN}/" if spider_name == "news" else None)
    return [
        record(reader.read(page.read_bytes(), OFFLINE_ORIGIN + path), path)
        for path, page in sorted(article_routes(fixture))
    ]


def store_rows(
    spider_name: str, fixture: Path, overrides: Mapping[str, bytes] | None = None
) -> list[dict[str, Any]]:
    """The rows a crawl of the fixture's mirror hands the store, without the network.

    Each article page is read, cleaned and validated as in a crawl (an article the
    validator drops is left out) and becomes the store pipeline's column values.
    ``overrides`` replaces a page's bytes by its file name (``articles/x.html``), as
    :class:`tests.support.mirror.Mirror` does, to make a changed version of it.
    """
    reader = OfflineReader(spider_name, f"{OFFLINE_ORIGIN}/" if spider_name == "news" else None)
    validator = ValidatePipeline.from_crawler(reader.crawler)
    mirror = fixture / "mirror"
    rows = []
    for path, page in sorted(article_routes(fixture)):
        html = (overrides or {}).get(page.relative_to(mirror).as_posix()) or page.read_bytes()
        try:
            article = validator.process_item(reader.read(html, OFFLINE_ORIGIN + path))
        except DropItem:
            continue
        adapter = ItemAdapter(article)
        rows.append({name: adapter.get(name) for name in CONTENT_COLUMNS})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newscrawl.review", description=__doc__.splitlines()[0])
    parser.add_argument("spider")
    parser.add_argument("fixture", type=Path, help="tests/sites/<site>")
    parser.add_argument("--write", action="store_true", help="update FIXTURE/expected.json")
    args = parser.parse_args(argv)
    records = expected_records(args.spider, args.fixture)
    if not args.write:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    target = args.fixture / "expected.json"
    current = json.loads(target.read_text("utf-8")) if target.exists() else {}
    current["stored"] = records
    target.write_text(json.dumps(current, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"wrote {len(records)} records to {target}; review the diff field by field", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
