"""Versions of a site's article template, each dated, joined into the one selector set a spider uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from newscrawl.spiders.base import ArticleSelectors


@dataclass(frozen=True)
class Layout:
    """One version of a site's article template: the selectors only it needs, and the publication
    date of the newest fixture page in it (tests/test_layouts.py holds it to the fixtures).

    A layout whose ``last_seen`` is long past can be deleted with its selectors: no other layout
    relies on them.
    """

    name: str
    last_seen: date
    #: ArticleSelectors field -> CSS for this layout alone.
    selectors: Mapping[str, str]


def versioned(common: ArticleSelectors, *layouts: Layout) -> ArticleSelectors:
    """``common`` with every field a layout names set to the layouts' selectors, newest layout
    first, as one CSS group: a page matches the part of whichever layout it has."""
    fields: dict[str, list[str]] = {}
    for layout in layouts:
        for field, css in layout.selectors.items():
            fields.setdefault(field, []).append(css)
    return replace(common, **{field: ", ".join(parts) for field, parts in fields.items()})
