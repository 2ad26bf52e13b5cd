"""Dated template versions (newscrawl.spiders.layouts) held to every site's reviewed fixture pages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from parsel import Selector

from newscrawl.spiders.base import ArticleSelectors
from newscrawl.spiders.layouts import Layout, versioned
from tests.conftest import SITES
from tests.test_registry import spider_class, spider_names


def fixture_pages(name: str) -> dict[date, Selector]:
    """The site's stored fixture article pages, by the publication date its review gave them."""
    folder = SITES / name
    routes = json.loads((folder / "mirror/routes.json").read_text("utf-8"))
    stored = json.loads((folder / "expected.json").read_text("utf-8"))["stored"]
    pages = {}
    for record in stored:
        route = routes.get(record["path"], {})
        if "file" in route and record.get("published_at"):
            html = Path(folder / "mirror" / route["file"]).read_text("utf-8", "replace")
            pages[date.fromisoformat(record["published_at"][:10])] = Selector(html)
    return pages


def in_layout(page: Selector, layout: Layout) -> bool:
    """A page has a layout when every CSS part of every field the layout names matches on it."""
    return all(page.css(part.strip()) for css in layout.selectors.values() for part in css.split(","))


VERSIONED = [name for name in spider_names() if spider_class(name).__dict__.get("layouts")]


def test_some_site_names_its_layouts() -> None:
    assert "apnews" in VERSIONED


@pytest.mark.parametrize("name", VERSIONED)
def test_each_layout_is_dated_by_its_newest_fixture_page(name: str) -> None:
    pages = fixture_pages(name)
    for layout in spider_class(name).layouts:
        seen = [day for day, page in pages.items() if in_layout(page, layout)]
        assert seen, f"{name}: no fixture page has layout {layout.name!r}: a dead layout, or its page is missing"
        assert layout.last_seen == max(seen), f"{name}: layout {layout.name!r} last seen {max(seen)}"


@pytest.mark.parametrize("name", VERSIONED)
def test_a_page_has_one_layout_and_layouts_are_newest_first(name: str) -> None:
    layouts = spider_class(name).layouts
    for day, page in fixture_pages(name).items():
        assert sum(in_layout(page, layout) for layout in layouts) <= 1, f"{name}: page of {day} has several layouts"
    dates = [layout.last_seen for layout in layouts]
    assert dates == sorted(dates, reverse=True)


def test_versioned_joins_layouts_newest_first_over_the_common_fields() -> None:
    new = Layout("new", date(2025, 1, 1), {"body": ".new p", "byline": ".new .by"})
    old = Layout("old", date(2020, 1, 1), {"body": ".old p"})
    common = ArticleSelectors(title="h1", image=None)
    assert versioned(common, new, old) == ArticleSelectors(
        title="h1", body=".new p, .old p", byline=".new .by", image=None
    )
    assert versioned(common) == common
    with pytest.raises(TypeError):
        versioned(common, Layout("typo", date(2020, 1, 1), {"bdy": "p"}))
