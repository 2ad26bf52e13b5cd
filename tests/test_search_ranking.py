"""PostgreSQL search ranks a bounded set: for one word, the matches where it weighs most
(migration 0009's tiers; exactly the results of ranking every match); for several words or a
prefix, those and the matches whose title holds them all; for a phrase, the newest matches
(found in a recency window sized from the planner's estimate, the whole archive as fallback)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sqlalchemy import text

from newscrawl import query
from newscrawl.db import open_database
from tests.test_query import article_values, insert_articles

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


def exact_urls(url: str, tsquery: str, limit: int = 10) -> list[str]:
    """The first ``limit`` of ranking every match (ts_rank_cd, newest first on ties)."""
    eng = open_database(url)
    try:
        with eng.connect() as conn:
            return list(conn.execute(text(
                "SELECT url FROM articles WHERE search_vector @@ to_tsquery('english', :q) "
                "ORDER BY ts_rank_cd(search_vector, to_tsquery('english', :q)) DESC, "
                "published_at DESC, id DESC LIMIT :limit"
            ), {"q": tsquery, "limit": limit}).scalars())
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_a_query_matching_fewer_than_the_candidates_is_ranked_exactly(postgresql_url: str) -> None:
    archive(postgresql_url)
    # The most mentions first: the oldest article ranks first, the newest last.
    assert ranked_urls(postgresql_url, "budget") == [f"https://example.com/politics/{i}" for i in range(6)]


@pytest.mark.postgres
def test_a_word_matching_more_than_the_candidates_is_ranked_as_every_match_would_be(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive(postgresql_url)
    # The newest three alone (3, 4, 5) were ranked before migration 0009; now the articles
    # where "budget" weighs most are found from the tiers, whatever their age.
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 3)
    everything = [f"https://example.com/politics/{i}" for i in range(6)]
    assert exact_urls(postgresql_url, "budget") == everything
    assert ranked_urls(postgresql_url, "budget") == everything
    # Two asked: the tiers hold two articles that weigh more than any other (no fallback).
    assert [hit.url for hit in query.search(postgresql_url, "budget", limit=2)] == everything[:2]
    assert [hit.url for hit in query.search(postgresql_url, "budget", limit=2, offset=3)] == (
        everything[3:5]
    )
    # Filters narrow the matches before the candidates are taken.
    until = query.ArticleFilter(until=(START + timedelta(days=2)).date())
    assert ranked_urls(postgresql_url, "budget", filters=until) == everything[:3]
    since = query.ArticleFilter(since=(START + timedelta(days=4)).date())
    assert ranked_urls(postgresql_url, "budget", filters=since) == everything[4:]


def test_an_old_article_whose_title_holds_the_word_ranks_first(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One old article with the word in its title, thirty newer ones that mention it once.
    old = article_values("https://example.com/politics/old", START, title="Tariffs on rice",
                         body="Farmers talked about tariffs all week.")
    newer = [
        article_values(f"https://example.com/politics/{i}", START + timedelta(days=1 + i),
                       title=f"Story {i}", body="A long day of talks that touched on tariffs.")
        for i in range(30)
    ]
    insert_articles(db_url, [old, *newer]).dispose()
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 5)  # far fewer than the matches
    for search in ("tariffs", "tarif*", "tariffs rice"):
        hits = query.search(db_url, search, limit=3)
        assert hits[0].url == "https://example.com/politics/old", search


@pytest.mark.postgres
def test_the_tiers_list_what_each_word_weighs_in_an_article(postgresql_url: str) -> None:
    # tier = floor(4 * log2(weight in tenths)), title mention 10, body mention 4; one body
    # mention is left out; "a~" marks a word of the title.
    insert_articles(postgresql_url, [article_values(
        "https://example.com/politics/1", START, title="Budget talks", body="Budget, budget, tax."
    )]).dispose()
    eng = open_database(postgresql_url)
    try:
        with eng.connect() as conn:
            tiers = conn.execute(text(
                "SELECT newscrawl_search_tiers(search_vector)::text FROM articles"
            )).scalar_one()
    finally:
        eng.dispose()
    # budget: 10 + 4 + 4 = 18 -> 16; talk: 10 -> 13; tax: 4, left out.
    assert tiers == "'13~talk' '16~budget' 'a~budget' 'a~talk'"


@pytest.mark.postgres
def test_several_words_rank_the_salient_matches_and_whole_titles(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = [
        article_values("https://example.com/politics/title", START, title="Defense budget grows",
                       body="Lawmakers met. The defense plan and the budget were discussed."),
        article_values("https://example.com/politics/often", START + timedelta(hours=1),
                       title="Story", body=" ".join(["Defense budget talks."] * 8)),
    ]
    newer = [
        article_values(f"https://example.com/politics/{i}", START + timedelta(days=1 + i),
                       title=f"Story {i}",
                       body="The defense minister spoke. Later that day, a budget was passed.")
        for i in range(30)
    ]
    insert_articles(postgresql_url, [*old, *newer]).dispose()
    monkeypatch.setattr(query, "PG_SEARCH_CANDIDATES", 2)
    monkeypatch.setattr(query, "PG_SALIENT_CANDIDATES", 1)
    expected = exact_urls(postgresql_url, "defense & budget", limit=2)
    assert set(expected) == {"https://example.com/politics/often", "https://example.com/politics/title"}
    assert ranked_urls(postgresql_url, "defense budget")[:2] == expected


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


@pytest.mark.postgres
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
    # A word is ranked from the tiers, not the window: the best four of all the matches.
    expected = [f"https://example.com/politics/{i}" for i in (0, 1, 2, 3)]
    assert ranked_urls(postgresql_url, "budget")[:4] == expected


@pytest.mark.postgres
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


@pytest.mark.postgres
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


@pytest.mark.postgres
@pytest.mark.parametrize("lexeme", ["it's", "back\\slash", "a | b & !c", "x:*", "'", "\\'", "é~1"])
def test_a_tier_token_is_only_text(postgresql_url: str, lexeme: str) -> None:
    cue = query._tier_token(12, lexeme, False)
    eng = open_database(postgresql_url)
    try:
        with eng.connect() as conn:
            nodes, matched = conn.execute(
                text("SELECT numnode(CAST(:cue AS tsquery)), "
                     "array_to_tsvector(ARRAY[:token]) @@ CAST(:cue AS tsquery)"),
                {"cue": cue, "token": f"12~{lexeme}"},
            ).one()
    finally:
        eng.dispose()
    assert (nodes, matched) == (1, True)
