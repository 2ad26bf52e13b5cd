"""Every spider ships a fixture folder with real pages, hand-built discovery documents and reviewed output."""

from __future__ import annotations

import json
import re

import pytest
from newscrawl.registry import spider_class, spider_names
from tests.conftest import SITES

RECIPE = "see README 'Add a site': build tests/sites/{name}/, then `python -m newscrawl.review {name} tests/sites/{name} --write` and review"


@pytest.mark.parametrize("name", spider_names())
def test_every_spider_has_fixtures_and_reviewed_output(name: str) -> None:
    folder = SITES / name
    hint = RECIPE.format(name=name)
    for required in ("PROVENANCE.md", "expected.json", "mirror/routes.json"):
        assert (folder / required).is_file(), f"spider {name!r} has no tests/sites/{name}/{required}: {hint}"
    expected = json.loads((folder / "expected.json").read_text("utf-8"))
    assert expected.get("stored"), f"tests/sites/{name}/expected.json stores nothing: {hint}"
    routes = json.loads((folder / "mirror/routes.json").read_text("utf-8"))
    for route in routes.values():
        files = [route["file"]] if "file" in route else list(route.get("pages", {}).values())
        for file in files:
            assert (folder / "mirror" / file).is_file(), f"tests/sites/{name}/mirror/{file} is routed but missing"
    provenance = (folder / "PROVENANCE.md").read_text("utf-8")
    assert "HAND-BUILT" in provenance, f"tests/sites/{name}/PROVENANCE.md must say which files are HAND-BUILT"


@pytest.mark.parametrize("name", [n for n in spider_names() if n != "japantoday"])
def test_every_new_spider_is_crawled_end_to_end_and_scored(name: str) -> None:
    folder = SITES / name
    expected = json.loads((folder / "expected.json").read_text("utf-8"))
    assert expected.get("crawls"), f"tests/sites/{name}/expected.json has no 'crawls' (start_path + stores) for tests/test_sources.py"
    stored = {r["path"] for r in expected["stored"]}
    for crawl in expected["crawls"]:
        missing = set(crawl["stores"]) - stored
        assert not missing, f"tests/sites/{name}: crawl {crawl['start_path']} stores {missing} with no reviewed record"
    assert (folder / "bodies.json").is_file(), (
        f"spider {name!r} has no tests/sites/{name}/bodies.json (truth bodies for bench/score_extraction.py)"
    )


@pytest.mark.parametrize("name", spider_names())
def test_every_spider_states_its_discovery(name: str) -> None:
    cls = spider_class(name)
    assert "Discovery" in (cls.__doc__ or "") or "start_url" in (cls.__doc__ or ""), (
        f"{cls.__name__} must say in its docstring how it discovers articles (listing, feed, sitemap)"
    )
    assert isinstance(getattr(cls, "scheduled", True), bool)
    if name == "news":
        assert cls.scheduled is False, "the generic news spider needs -a start_url and is never scheduled"


def test_the_readme_lists_every_spider() -> None:
    readme = (SITES.parent.parent / "README.md").read_text("utf-8")
    section = readme.split("## Supported sources", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| (\w+) \|", section, flags=re.MULTILINE)
    assert sorted(name for name in listed if name != "spider") == spider_names()
