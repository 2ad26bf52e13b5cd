"""The storage layer on SQLite and PostgreSQL: migrations, UTC round trips, idempotent upserts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRevision, ArticleRow, open_database, resolve_database_url
from newscrawl.db.store import Outcome, save_articles
from newscrawl.exceptions import DatabaseUnavailable

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def article(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "url": "https://japantoday.com/category/politics/japan's-budget",
        "source": "japantoday",
        "section": "politics",
        "title": "Japan's budget passes",
        "body": "First paragraph.\n\nSecond paragraph.",
        "summary": None,
        "published_at": datetime(2026, 10, 31, 21, 5, tzinfo=timezone.utc),
        "published_raw": "2026-11-01 06:05",
        "modified_at": None,
        "authors": ["Mari Yamaguchi"],
        "credit": "AP",
        "dateline": "TOKYO",
        "comment_count": 3,
        "image_url": None,
        "tags": [],
        "language": "en",
        "word_count": 4,
        "body_method": "selectors",
        "content_hash": "a" * 64,
    }
    values.update(overrides)
    return values


def save(engine: Any, values: dict[str, Any], now: datetime) -> Outcome:
    with Session(engine) as session, session.begin():
        [outcome] = save_articles(session, [values], now)
        return outcome


def test_migrations_create_the_documented_tables_and_columns(db_url: str) -> None:
    engine = open_database(db_url)
    inspector = inspect(engine)
    assert {"articles", "article_revisions", "crawl_runs", "resume_points", "alembic_version"} <= set(
        inspector.get_table_names()
    )
    columns = {c["name"] for c in inspector.get_columns("articles")}
    assert {
        "url", "source", "section", "title", "body", "published_at", "modified_at", "authors",
        "credit", "dateline", "comment_count", "language", "content_hash", "first_seen_at",
        "last_seen_at", "summary", "image_url", "tags", "word_count", "body_method",
    } <= columns
    unique = [u["column_names"] for u in inspector.get_unique_constraints("articles")]
    assert ["url"] in unique
    assert {"host", "pid", "process_start"} <= {c["name"] for c in inspector.get_columns("crawl_runs")}
    assert ["source", "start_url"] in [u["column_names"] for u in inspector.get_unique_constraints("resume_points")]
    # Opening again is a no-op, not an error.
    open_database(db_url).dispose()
    engine.dispose()


def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_insert_then_unchanged_then_updated_keeps_one_row_and_one_revision(db_url: str) -> None:
    engine = open_database(db_url)
    assert save(engine, article(), T0) is Outcome.INSERTED
    later = T0 + timedelta(hours=1)
    assert save(engine, article(comment_count=5), later) is Outcome.UNCHANGED
    with Session(engine) as session:
        row = session.scalars(select(ArticleRow)).one()
        assert row.first_seen_at == T0 and row.last_seen_at == later
        assert row.comment_count == 5
        assert session.scalar(select(func.count()).select_from(ArticleRevision)) == 0

    edited = article(body="First paragraph.\n\nSecond paragraph, corrected.", content_hash="b" * 64)
    assert save(engine, edited, later + timedelta(hours=1)) is Outcome.UPDATED
    with Session(engine) as session:
        row = session.scalars(select(ArticleRow)).one()
        assert row.body.endswith("corrected.") and row.content_hash == "b" * 64
        revision = session.scalars(select(ArticleRevision)).one()
        assert revision.article_id == row.id
        assert revision.body == "First paragraph.\n\nSecond paragraph."
        assert revision.content_hash == "a" * 64
        assert revision.replaced_at == later + timedelta(hours=1)
    engine.dispose()


def test_datetimes_come_back_aware_utc_and_naive_ones_are_refused(db_url: str) -> None:
    engine = open_database(db_url)
    tokyo = timezone(timedelta(hours=9))
    save(engine, article(published_at=datetime(2021, 3, 22, 6, 5, tzinfo=tokyo)), T0)
    with Session(engine) as session:
        row = session.scalars(select(ArticleRow)).one()
        assert row.published_at == datetime(2021, 3, 21, 21, 5, tzinfo=timezone.utc)
        assert row.published_at.utcoffset() == timedelta(0)
        assert row.authors == ["Mari Yamaguchi"] and row.tags == []
    with pytest.raises(Exception, match="naive datetime"):
        save(engine, article(url="https://x.test/a", published_at=datetime(2021, 3, 22)), T0)
    engine.dispose()


def test_hostile_text_is_stored_verbatim_through_bound_parameters(db_url: str) -> None:
    engine = open_database(db_url)
    nasty = "Robert'); DROP TABLE articles;-- \"quoted\" %s %(x)s ? :name"
    save(engine, article(url="https://x.test/a';--", title=nasty, body=nasty), T0)
    with Session(engine) as session:
        row = session.scalars(select(ArticleRow)).one()
        assert (row.url, row.title, row.body) == ("https://x.test/a';--", nasty, nasty)
    engine.dispose()


def test_unknown_columns_are_refused(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with pytest.raises(ValueError, match="not article columns"):
        save(engine, {**article(), "bogus": 1}, T0)
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://nobody@127.0.0.1:9/none", "cannot open database"),
        ("sqlite:////nonexistent-dir/sub/newscrawl.db", "cannot open database"),
        ("nosuchdb://x", "cannot use database|invalid database URL"),
        ("not a url", "invalid database URL"),
    ],
)
def test_unreachable_or_invalid_databases_raise_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(DatabaseUnavailable, match=message):
        open_database(url)


def test_database_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSCRAWL_DATABASE_URL", raising=False)
    assert resolve_database_url() == "sqlite:///newscrawl.db"
    monkeypatch.setenv("NEWSCRAWL_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert resolve_database_url() == "postgresql+psycopg://u@h/db"
    assert resolve_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_batch_inserts_new_updates_changed_and_applies_repeats_in_order(db_url: str) -> None:
    from newscrawl.db.store import save_articles

    engine = open_database(db_url)
    save(engine, article(), T0)
    batch = [
        article(url="https://x.test/new-1", content_hash="1" * 64),
        article(content_hash="c" * 64, body="Changed."),  # the stored one, edited
        article(url="https://x.test/new-2", content_hash="2" * 64),
        article(url="https://x.test/new-1", content_hash="3" * 64, body="Edited again."),
    ]
    later = T0 + timedelta(hours=2)
    with Session(engine) as session, session.begin():
        outcomes = save_articles(session, batch, later)
    assert outcomes == [Outcome.INSERTED, Outcome.UPDATED, Outcome.INSERTED, Outcome.UPDATED]
    with Session(engine) as session:
        rows = {r.url: r for r in session.scalars(select(ArticleRow))}
        assert len(rows) == 3
        assert rows["https://x.test/new-1"].body == "Edited again."
        assert session.scalar(select(func.count()).select_from(ArticleRevision)) == 2
    engine.dispose()


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_and_models_agree(db_url: str) -> None:
    """Autogenerate finds nothing to do: every model change went through a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from newscrawl.db.models import include_object

    engine = open_database(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": False}
        )
        diff = compare_metadata(context, ArticleRow.metadata)
    engine.dispose()
    assert diff == []


def test_script_head_read_from_the_scripts_is_alembics_head() -> None:
    """The head a crawl compares the database with, without importing Alembic, is Alembic's."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from newscrawl.db.engine import MIGRATIONS, script_head

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert script_head() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_behind_head_is_migrated_and_one_at_head_is_left_alone(sqlite_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from newscrawl.db.engine import MIGRATIONS, create_database_engine, migrate, script_head

    engine = create_database_engine(sqlite_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")

    def version() -> str:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    assert version() == "0001"
    migrate(engine)
    assert version() == script_head()
    assert "resume_points" in inspect(engine).get_table_names()
    migrate(engine)  # at head: nothing to do
    assert version() == script_head()
    engine.dispose()
