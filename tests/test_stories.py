"""Story clustering: shingling and verification, the band index and stories on both databases, queries, CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newscrawl import neardup, query, stories
from newscrawl.cli import EXIT_NO_RESULTS, EXIT_OK
from newscrawl.db import open_database
from newscrawl.db.models import ArticleRow, Story, StoryBand, StoryMember
from newscrawl.db.store import Outcome, save_articles
from newscrawl.db.stories import WINDOW, attribute
from tests.conftest import ROOT, SITES, run_cli, run_crawl
from tests.support.mirror import Mirror

pytestmark = pytest.mark.usefixtures("no_env_database")

#: A real Kyodo text (the Japan Today mirror's reviewed body) and two other real stories.
_EXPECTED = {row["path"]: row for row in json.loads((SITES / "japantoday" / "expected.json").read_text())["stored"]}
KYODO = next(r["body"] for p, r in _EXPECTED.items() if "outreach-to-russia" in p)
OTHER = next(r["body"] for p, r in _EXPECTED.items() if "ldp-seeks-defense-funding" in p)
# Same topic (the imperial family law), different stories: they must stay apart.
TOPIC_A = next(r["body"] for p, r in _EXPECTED.items() if "major-parties-back-draft" in p)
TOPIC_B = next(r["body"] for p, r in _EXPECTED.items() if "panel-drafts-consensus" in p)
PARAS = KYODO.split("\n\n")
T0 = datetime(2026, 6, 9, 11, 40, tzinfo=timezone.utc)


# --- Shingling and verification (pure) -----------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('He said "free and open" -- twice', "He said “free and open” — twice"),
        ("Japan's  PM", "Japan’s PM"),
        ("ＴＯＫＹＯ (Kyodo)", "tokyo kyodo"),
        ("One paragraph.\n\nAnother one.", "One paragraph. Another one."),
        ("Ｕ.Ｓ. tariffs", "U.S. Tariffs"),
    ],
)
def test_quotes_dashes_case_width_and_paragraph_breaks_do_not_change_the_words(first: str, second: str) -> None:
    assert neardup.words(first) == neardup.words(second)
    assert neardup.shingles(first) == neardup.shingles(second)


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("  — ", 0), ("one", 1), ("one two three", 1), ("a b c d", 1), ("a b c d e", 2), ("a b c d a b c d", 4)],
)
def test_shingles_are_the_distinct_runs_of_four_words(text: str, count: int) -> None:
    assert len(neardup.shingles(text)) == count


def _trimmed() -> str:
    return "\n\n".join(PARAS[: len(PARAS) // 2])


def _extended() -> str:
    return KYODO + "\n\nLocal officials said they would brief residents of the prefecture later this week."


def _edited() -> str:
    words = KYODO.split(" ")
    for i in range(0, len(words), 30):
        words[i] = words[i].upper() + "x"
    return " ".join(words)


@pytest.mark.parametrize(
    ("first", "second", "copy"),
    [
        pytest.param(KYODO, KYODO, True, id="identical"),
        pytest.param(_trimmed(), KYODO, True, id="trimmed-to-half"),
        pytest.param(KYODO, _trimmed(), True, id="trimmed-either-way"),
        pytest.param(_extended(), KYODO, True, id="paragraph-added"),
        pytest.param(_edited(), KYODO, True, id="a-word-in-30-edited"),
        pytest.param("\n\nAdvertisement\n\n".join(PARAS), KYODO, True, id="ad-lines"),
        pytest.param(" ".join(PARAS), KYODO, True, id="paragraphs-merged"),
        pytest.param(KYODO, OTHER, False, id="other-story"),
        pytest.param(TOPIC_A, TOPIC_B, False, id="same-topic-other-story"),
        pytest.param(PARAS[0], KYODO, True, id="the-lead-paragraph-alone-is-a-brief-of-it"),
        pytest.param(OTHER + "\n\n" + PARAS[0], KYODO, False, id="a-paragraph-quoted-in-another-story"),
        pytest.param(" ".join(KYODO.split()[:12]), KYODO, False, id="below-min-shingles"),
    ],
)
def test_verification(first: str, second: str, copy: bool) -> None:
    assert neardup.is_copy(neardup.shingles(first), neardup.shingles(second)) is copy


def test_overlap_records_containment_both_ways() -> None:
    trimmed, whole = neardup.shingles(_trimmed()), neardup.shingles(KYODO)
    found = neardup.overlap(trimmed, whole)
    assert found.contained == 1.0  # all of the trimmed copy is in the whole story
    assert 0.3 < found.covers < 0.7  # about half of the whole story is in the trimmed copy
    assert found.containment == 1.0 and found.jaccard == pytest.approx(found.covers)
    assert neardup.overlap(frozenset(), whole) == neardup.Overlap(0, 0.0, 0.0)


def test_band_keys_are_stable_signed_64_bit_and_shared_by_copies() -> None:
    keys = neardup.band_keys(neardup.signature(neardup.shingles(KYODO)))
    assert len(keys) == neardup.BANDS and all(-(2**63) <= k < 2**63 for k in keys)
    # Every process, and every later version, must compute the keys the archive stores: no
    # salted hash(), and a change of datasketch's permutations or of the hashing shows here
    # (then the archive needs `newscrawl cluster --rebuild`).
    digest = "2828817823f48363a9667ad80dda769a14a6d5fbbedb6078b9b0279fc0fb98f0"
    assert hashlib.sha256(json.dumps(keys).encode()).hexdigest() == digest
    edited = set(neardup.band_keys(neardup.signature(neardup.shingles(_edited()))))
    other = set(neardup.band_keys(neardup.signature(neardup.shingles(OTHER))))
    assert edited & set(keys) and not other & set(keys)


@pytest.mark.parametrize(
    ("credits", "expected"),
    [
        (["Kyodo", None], "Kyodo"),
        ([None, "Kyodo"], "Kyodo"),
        (["Japan Today", "Kyodo"], "Kyodo"),
        (["Reuters", "AP", "AP"], "AP"),
        (["Reuters", "AP"], "Reuters"),
        (["Japan Today", None], "Japan Today"),
        ([None, None], None),
    ],
)
def test_a_story_is_credited_to_the_agency_most_copies_name(credits: list[str | None], expected: str | None) -> None:
    assert attribute(credits) == expected


#: Band keys of real and edge-case texts, computed by the code before the batched signatures
#: (tests/data/stories/PROVENANCE.md): the keys an archive stores must never change.
_FIXED = json.loads((ROOT / "tests" / "data" / "stories" / "band-keys.json").read_text("utf-8"))["texts"]


def _fixed_text(entry: dict[str, Any]) -> str:
    if "text" in entry:
        return entry["text"]
    site, slug = entry["name"].split("/")
    rows = json.loads((SITES / site / "expected.json").read_text("utf-8"))["stored"]
    return next(r["body"] for r in rows if slug in r["path"])


@pytest.mark.parametrize("entry", _FIXED, ids=[e["name"] for e in _FIXED])
def test_band_keys_are_those_the_archive_already_stores(entry: dict[str, Any]) -> None:
    shingles = neardup.shingles(_fixed_text(entry))
    assert (len(shingles), sum(shingles)) == (entry["shingles"], entry["shingle_hashes_sum"])
    assert neardup.band_keys(neardup.signature(shingles)) == entry["keys"]


def test_batched_signatures_and_keys_equal_one_by_one_and_datasketchs() -> None:
    from datasketch import MinHash

    sets = [neardup.shingles(_fixed_text(e)) for e in _FIXED] + [frozenset()]
    rows = neardup.signatures(sets)
    for shingles, row in zip(sets, rows, strict=True):
        minhash = MinHash(num_perm=neardup.NUM_PERM, seed=neardup.SEED, scheme="affine32", hashfunc=int)
        minhash.update_batch(list(shingles))
        assert row.tolist() == minhash.hashvalues.tolist()
    assert rows[-1].tolist() == [2**32 - 1] * neardup.NUM_PERM  # nothing seen: datasketch's start
    assert neardup.band_key_rows(rows[:-1]) == [e["keys"] for e in _FIXED]


# --- The index and stories in the database ------------------------------------------------


def article(url: str, body: str, published: datetime = T0, source: str = "japantoday",
            credit: str | None = None, title: str = "A headline", dateline: str | None = None) -> dict[str, Any]:
    return {
        "url": url, "source": source, "section": "politics", "title": title, "body": body,
        "summary": None, "published_at": published, "published_raw": None, "modified_at": None,
        "authors": [], "credit": credit, "dateline": dateline, "comment_count": None,
        "image_url": None, "tags": [], "language": "en", "word_count": len(body.split()),
        "body_method": "selectors",
        "content_hash": hashlib.sha256((title + body).encode()).hexdigest(),
    }


def store(url: str, *rows: dict[str, Any]) -> list[Outcome]:
    engine = open_database(url)
    try:
        with Session(engine) as session, session.begin():
            return save_articles(session, list(rows), datetime.now(timezone.utc))
    finally:
        engine.dispose()


def test_the_store_indexes_the_fixed_band_keys(db_url: str) -> None:
    # A year apart: no two of them are candidates for each other.
    rows = [article(f"https://fixed.example/{n}", _fixed_text(e), T0 + timedelta(days=365 * n))
            for n, e in enumerate(_FIXED)]
    store(db_url, *rows)
    engine = open_database(db_url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(ArticleRow.url, StoryBand.key).join(StoryBand, StoryBand.article_id == ArticleRow.id)
        ).all()
    engine.dispose()
    for n, entry in enumerate(_FIXED):
        assert sorted(k for url, k in stored if url == f"https://fixed.example/{n}") == sorted(set(entry["keys"]))


def groups(url: str) -> dict[str, int]:
    """Article URL -> story id."""
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ArticleRow.url, StoryMember.story_id).join(StoryMember, StoryMember.article_id == ArticleRow.id)
            )
            return {row.url: row.story_id for row in rows}
    finally:
        engine.dispose()


def test_copies_across_sources_are_one_story_with_the_earliest_as_origin(db_url: str) -> None:
    store(db_url, article("https://a.example/1", _trimmed(), T0 + timedelta(hours=3), source="courier"))
    store(db_url, article("https://jt.example/1", KYODO, T0, credit="Kyodo", dateline="TOKYO"),
          article("https://jt.example/2", OTHER, T0))
    story = groups(db_url)
    assert story["https://a.example/1"] == story["https://jt.example/1"] != story["https://jt.example/2"]
    [found] = stories.list_stories(db_url)
    assert (found.articles, found.sources, found.credit, found.dateline) == (2, ["courier", "japantoday"], "Kyodo", "TOKYO")
    assert found.first_published == T0 and found.last_published == T0 + timedelta(hours=3)
    engine = open_database(db_url)
    with engine.connect() as conn:
        origin = conn.scalar(select(ArticleRow.id).where(ArticleRow.url == "https://jt.example/1"))
    engine.dispose()
    assert found.origin_id == origin
    copies = {c.url: c for c in stories.story_articles(db_url, found.id)}
    # The whole story was linked to the trimmed copy stored first: all of that copy is in it.
    whole = copies["https://jt.example/1"]
    assert whole.origin and whole.covers == 1.0 and 0.3 < whole.contained < 0.7
    assert copies["https://a.example/1"].linked_to is None
    assert [c.url for c in stories.other_copies(db_url, origin)] == ["https://a.example/1"]
    # Uncredited on its own site, it is listed as the Kyodo story.
    assert [s.id for s in stories.list_stories(db_url, stories.StoryFilter(credit="kyodo", source="courier"))] == [found.id]


def test_distinct_stories_on_one_topic_stay_apart_and_every_article_has_a_story(db_url: str) -> None:
    store(db_url, article("https://a.example/1", TOPIC_A), article("https://a.example/2", TOPIC_B),
          article("https://a.example/3", "Too short to tell anything apart."))
    story = groups(db_url)
    assert len(story) == 3 and len(set(story.values())) == 3
    assert stories.list_stories(db_url) == []
    assert len(stories.list_stories(db_url, stories.StoryFilter(min_articles=1))) == 3


def test_copies_outside_the_time_window_are_separate_stories(db_url: str) -> None:
    store(db_url, article("https://a.example/1", KYODO, T0),
          article("https://b.example/1", KYODO, T0 + WINDOW + timedelta(days=1), source="b"),
          article("https://c.example/1", KYODO, T0 - WINDOW + timedelta(hours=1), source="c"))
    story = groups(db_url)
    assert story["https://a.example/1"] == story["https://c.example/1"] != story["https://b.example/1"]


def test_an_article_bridging_two_stories_merges_them(db_url: str) -> None:
    first, second = "\n\n".join(PARAS[:6]), "\n\n".join(PARAS[6:])
    store(db_url, article("https://a.example/1", first), article("https://b.example/1", second, source="b"))
    assert len(set(groups(db_url).values())) == 2
    store(db_url, article("https://c.example/1", KYODO, T0 + timedelta(hours=1), source="c"))
    assert len(set(groups(db_url).values())) == 1
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Story)) == 1
    engine.dispose()


def test_a_revision_reclusters_the_article_and_the_rest_of_its_story(db_url: str) -> None:
    store(db_url, article("https://a.example/1", KYODO, credit="Kyodo"),
          article("https://b.example/1", _trimmed(), T0 + timedelta(hours=1), source="b"),
          article("https://c.example/1", OTHER, T0 + timedelta(hours=2), source="c"))
    before = groups(db_url)
    assert before["https://a.example/1"] == before["https://b.example/1"]
    # A new headline only: same text, same story.
    assert store(db_url, article("https://a.example/1", KYODO, credit="Kyodo", title="New")) == [Outcome.UPDATED]
    assert groups(db_url) == before
    # The site replaced the article's text with another story's: it leaves, and joins that one.
    assert store(db_url, article("https://a.example/1", OTHER, credit="Kyodo")) == [Outcome.UPDATED]
    after = groups(db_url)
    assert after["https://a.example/1"] == after["https://c.example/1"] != after["https://b.example/1"]
    # The copy left behind keeps the story's id and is its origin now.
    assert after["https://b.example/1"] == before["https://b.example/1"]
    [alone] = [s for s in stories.list_stories(db_url, stories.StoryFilter(min_articles=1)) if s.id == after["https://b.example/1"]]
    assert alone.articles == 1 and alone.credit is None
    engine = open_database(db_url)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(ArticleRow.url, ArticleRow.id)).all())
        bands = conn.scalar(select(func.count()).select_from(StoryBand).where(StoryBand.article_id == ids["https://a.example/1"]))
    engine.dispose()
    assert bands == neardup.BANDS  # the old text's keys are gone


def test_two_revisions_of_one_story_in_one_batch(db_url: str) -> None:
    store(db_url, article("https://a.example/1", KYODO), article("https://b.example/1", _trimmed(), source="b"),
          article("https://c.example/1", OTHER, T0 + timedelta(hours=2), source="c"))
    before = groups(db_url)
    assert store(db_url, article("https://a.example/1", OTHER), article("https://b.example/1", OTHER, source="b")) == [
        Outcome.UPDATED, Outcome.UPDATED]
    after = groups(db_url)
    assert len(set(after.values())) == 1 and before["https://a.example/1"] != before["https://c.example/1"]
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Story)) == 1
        assert conn.scalar(select(func.count()).select_from(StoryMember)) == 3
    engine.dispose()


def test_rebuild_reproduces_the_stories(db_url: str) -> None:
    store(db_url, article("https://a.example/1", _trimmed(), T0 + timedelta(hours=3), source="a"),
          article("https://b.example/1", KYODO, T0, credit="Kyodo", source="b"),
          article("https://c.example/1", OTHER, T0, source="c"))
    before = groups(db_url)
    assert stories.rebuild_stories(db_url) == 3
    after = groups(db_url)
    same = lambda g: {frozenset(u for u in g if g[u] == s) for s in g.values()}  # noqa: E731
    assert same(after) == same(before) and len(same(after)) == 2
    [found] = stories.list_stories(db_url)
    assert found.credit == "Kyodo" and found.origin_source == "b"


def test_story_id_in_listings_exports_and_collapsed_search(db_url: str) -> None:
    store(db_url, article("https://a.example/1", KYODO, T0, credit="Kyodo", title="Japan outreach to Russia"),
          article("https://b.example/1", _trimmed(), T0 + timedelta(hours=1), source="b", title="Europe uneasy"),
          article("https://c.example/1", OTHER, T0, source="c", title="LDP funding"))
    story = groups(db_url)
    listed = {a.url: a.story_id for a in query.list_articles(db_url)}
    assert listed == story
    exported = {row["url"]: row["story_id"] for row in query.iter_articles(db_url)}
    assert exported == story and query.export_columns()[-1] == "story_id"
    assert query.get_article(db_url, "https://b.example/1").story_id == story["https://b.example/1"]
    hits = query.search(db_url, "Motegi")
    assert len(hits) == 2
    collapsed = query.search(db_url, "Motegi", collapse=True)
    assert [h.id for h in collapsed] == [hits[0].id]
    assert query.search(db_url, "Motegi", collapse=True, offset=1) == []


# --- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def archive(sqlite_url: str) -> str:
    store(sqlite_url, article("https://jt.example/1", KYODO, T0, credit="Kyodo", dateline="TOKYO", title="Japan's outreach to Russia"),
          article("https://b.example/1", _trimmed(), T0 + timedelta(hours=1), source="courier", title="Europe uneasy"),
          article("https://c.example/1", OTHER, T0, title="LDP funding"))
    return sqlite_url


def test_cli_stories_lists_sources_and_credit(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    code, out, err = run_cli(capsys, "stories", "--database", archive)
    assert code == EXIT_OK and err == ""
    header, line = out.splitlines()
    assert header.split()[:4] == ["STORY", "FIRST", "(UTC)", "LAST"]
    assert "2026-06-09 11:40" in line and "courier, japantoday" in line and "Kyodo" in line
    code, out, _ = run_cli(capsys, "stories", "--database", archive, "--json", "--source", "courier")
    [found] = json.loads(out)
    assert found["articles"] == 2 and found["credit"] == "Kyodo" and found["first_published"] == "2026-06-09T11:40:00+00:00"
    code, out, err = run_cli(capsys, "stories", "--database", archive, "--credit", "Reuters")
    assert code == EXIT_NO_RESULTS and "no stories match" in err
    code, out, err = run_cli(capsys, "stories", "--database", archive, "--min-articles", "0")
    assert code == 2 and "--min-articles" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "invalid date '2026-13-01' for --since"),
        (["--since", "2026-06-02", "--until", "2026-06-01"], "--since 2026-06-02 is after --until 2026-06-01"),
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_cli_stories_refuses_bad_filters_in_one_line(capsys: pytest.CaptureFixture[str], archive: str, args: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, "stories", "--database", archive, *args)
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1


def test_cli_cluster_on_a_missing_database_leaves_nothing_behind(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "cluster", "--rebuild", "--database", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 3 and "no database at" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_show_lists_the_other_copies(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    code, out, _ = run_cli(capsys, "show", "https://jt.example/1", "--database", archive)
    assert code == EXIT_OK
    tail = out[out.index("Other copies"):]
    assert "Other copies (story" in tail and "courier" in tail and "https://b.example/1" in tail
    code, out, _ = run_cli(capsys, "show", "https://c.example/1", "--database", archive)
    assert "Other copies (story" in out and out.rstrip().endswith("none")
    code, out, _ = run_cli(capsys, "show", "https://b.example/1", "--database", archive, "--json")
    shown = json.loads(out)
    assert shown["story_id"] and [c["url"] for c in shown["copies"]] == ["https://jt.example/1"]
    assert shown["copies"][0]["origin"] is True


def test_cli_search_collapse_export_and_rebuild(capsys: pytest.CaptureFixture[str], archive: str, tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "search", "Motegi", "--database", archive, "--json")
    assert len(json.loads(out)) == 2
    code, out, _ = run_cli(capsys, "search", "Motegi", "--database", archive, "--json", "--collapse")
    assert len(json.loads(out)) == 1
    code, out, _ = run_cli(capsys, "export", "--format", "csv", "--database", archive)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["url"]: r["story_id"] for r in rows}["https://b.example/1"] == {r["url"]: r["story_id"] for r in rows}["https://jt.example/1"] != ""
    code, out, err = run_cli(capsys, "cluster", "--rebuild", "--database", archive, "--lock-file", str(tmp_path / "lock"))
    assert code == EXIT_OK and "clustered 3 articles: 1 stories carried by more than one article" in out
    assert "clustered 3 of 3 articles" in err


# --- End to end -----------------------------------------------------------------------------


@pytest.mark.e2e
def test_two_sites_carrying_one_wire_story_make_one_story(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Japan Today credits the story to Kyodo; a regional site prints it trimmed and uncredited."""
    url = f"sqlite:///{tmp_path / 'news.db'}"
    with Mirror(SITES / "japantoday" / "mirror") as japantoday:
        result = run_crawl("japantoday", tmp_path, "-a", f"start_url={japantoday.base_url}/category/politics",
                           settings={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
    with Mirror(ROOT / "tests" / "data" / "stories" / "wire-mirror") as courier:
        result = run_crawl("news", tmp_path, "-a", f"start_url={courier.base_url}/world/feed/",
                           settings={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
    code, out, _ = run_cli(capsys, "stories", "--database", url, "--json", "--credit", "Kyodo")
    shared = [s for s in json.loads(out) if len(s["sources"]) > 1]
    assert len(shared) == 1, out
    [story] = shared
    assert story["sources"] == ["127.0.0.1", "japantoday"] and story["articles"] == 2
    assert story["title"] == "Japan's outreach to Russia raises concerns among European partners"
    members = stories.story_articles(url, story["id"])
    courier_copy = next(c for c in members if c.source == "127.0.0.1")
    # The trimmed copy is nearly all in the Japan Today one, which has more besides.
    assert courier_copy.credit is None and courier_copy.contained > 0.9 and courier_copy.covers < 0.8
