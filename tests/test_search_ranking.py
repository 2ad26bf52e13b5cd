"""PostgreSQL search ranks a bounded set: exactly when a query matches few articles, the best of the newest when it matches many."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from newscrawl import query
from tests.test_query import article_values, insert_articles

pytestmark = pytest.mark.postgres

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def archive(url: str) -> list[dict]:
    """Six articles, oldest first, that mention "budget" more the older they are."""
    articles = [
        article_values(f"https://example.com/politics/{i}", START + timedelta(days=i),
                       title=f"Story {i}", body=" ".join(["The budget debate."] * (6 - i) + ["Filler text."] * 6))
        for i in range(6)
    ]
    insert_articles(url, articles).dispose()
    return articles


def ranked_urls(url: str, text: str, **kwargs: object) -> list[str]:
    return [hit.url for hit in query.search(url, text, limit=10, **kwargs)]


def test_a_query_matching_fewer_than_the_candidates_is_ranked_exactly(postgresql_url: str) -> None:
    archive(postgresql_url)
    # The most mentions first: the oldest article ranks first, the newest last.
    assert ranked_urls(postgresql_url, "budget") == [f"https://example.com/politics/{i}" for i in range(6)]


def test_a_query_matching_more_is_ranked_among_the_newest_matches(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive(postgresql_url)
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 3)
    # Only the three newest matches (3, 4, 5) are ranked, still by how well they match.
    assert ranked_urls(postgresql_url, "budget") == [f"https://example.com/politics/{i}" for i in (3, 4, 5)]
    # Filters narrow the matches before the candidates are taken.
    until = query.ArticleFilter(until=(START + timedelta(days=2)).date())
    assert ranked_urls(postgresql_url, "budget", filters=until) == [
        f"https://example.com/politics/{i}" for i in (0, 1, 2)
    ]
