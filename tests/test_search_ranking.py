"""PostgreSQL search ranks a bounded set: exactly when a query matches few articles, the best of
the newest when it matches many (found in a recency window sized from the planner's estimate,
with the whole archive as the fallback)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sqlalchemy import text

from newscrawl import query
from newscrawl.db import open_database
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


def many(url: str, count: int = 40, phrase_in: int = 0) -> list[dict]:
    """``count`` articles, oldest first, all holding "budget" and "debate" (more mentions the
    older); the oldest ``phrase_in`` say "budget debate", the others never put the words side
    by side. ANALYZEd, so the planner knows how common each word is."""
    articles = [
        article_values(
            f"https://example.com/politics/{i}", START + timedelta(hours=i), title=f"Story {i}",
            body=" ".join(
                (["The budget debate."] if i < phrase_in else ["The budget, then a debate."])
                * (count - i) + ["Filler text."] * 6
            ),
        )
        for i in range(count)
    ]
    eng = insert_articles(url, articles)
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE articles"))
    eng.dispose()
    return articles


def test_a_common_word_is_looked_for_in_a_window_of_the_newest_articles(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    many(postgresql_url)
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 4)
    eng = open_database(postgresql_url)
    try:
        with eng.connect() as conn:
            cutoffs = list(query._recency_cutoffs(conn, query.search_terms("budget"), [], 4))
    finally:
        eng.dispose()
    # Every article matches: a window of the newest 4 x 1.5 + 1 = 7 holds enough, then all.
    assert cutoffs == [START + timedelta(hours=33), None]
    # The best of the newest four, as ranking all matches with no window would give.
    expected = [f"https://example.com/politics/{i}" for i in (36, 37, 38, 39)]
    assert ranked_urls(postgresql_url, "budget") == expected
    monkeypatch.setattr(query, "PG_WINDOW_MARGIN", 1000.0)  # window wider than the archive
    assert ranked_urls(postgresql_url, "budget") == expected


def test_a_window_with_too_few_matches_falls_back_to_the_whole_archive(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The planner estimates a phrase as its words anywhere (all 40 articles), but only the
    # three oldest have it: the window of the newest finds none, the archive finds them.
    many(postgresql_url, phrase_in=3)
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 2)
    eng = open_database(postgresql_url)
    try:
        with eng.connect() as conn:
            terms = query.search_terms('"budget debate"')
            window, whole = query._recency_cutoffs(conn, terms, [], 2)
    finally:
        eng.dispose()
    assert window > START + timedelta(hours=2) and whole is None  # a window was tried first
    assert ranked_urls(postgresql_url, '"budget debate"') == [
        f"https://example.com/politics/{i}" for i in (1, 2)
    ]
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 1000)
    assert ranked_urls(postgresql_url, '"budget debate"') == [
        f"https://example.com/politics/{i}" for i in (0, 1, 2)
    ]


def test_the_search_vector_is_kept_in_the_row(postgresql_url: str) -> None:
    # Migration 0008: STORAGE MAIN keeps the compressed vector in the heap tuple, so ranking
    # and phrase rechecks do not read TOAST (~10 buffers a row before).
    many(postgresql_url, count=3)
    eng = open_database(postgresql_url)
    try:
        with eng.connect() as conn:
            storage = conn.execute(text(
                "SELECT attstorage FROM pg_attribute "
                "WHERE attrelid = 'articles'::regclass AND attname = 'search_vector'"
            )).scalar_one()
    finally:
        eng.dispose()
    assert storage == "m"
