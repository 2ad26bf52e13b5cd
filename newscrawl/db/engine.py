"""Engines for SQLite and PostgreSQL, with the schema migrated to head on first use."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from newscrawl.exceptions import DatabaseUnavailable, first_line

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///newscrawl.db"
ENV_VAR = "NEWSCRAWL_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")
# ``revision = "0005"`` / ``down_revision = "0004"`` (or None) in a migration script.
_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)\s*$", re.M)
#: PostgreSQL advisory lock key under which the schema is migrated: processes starting at once
#: on a fresh database (workers on several machines) migrate one after the other.
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"newscrawl migrate").digest()[:8], "big", signed=True)


def resolve_database_url(setting: str | None = None) -> str:
    """The URL to use: an explicit setting, else the environment variable, else ``newscrawl.db``."""
    return setting or os.environ.get(ENV_VAR) or DEFAULT_DATABASE_URL


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        return _PASSWORD.sub(r"\1***@", url)


# user:password@ in a URL SQLAlchemy cannot parse.
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (people querying) work while a crawl writes; the busy
    # timeout makes a concurrent writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_database_engine(url: str) -> Engine:
    """An engine for ``url`` with newscrawl's per-backend connection settings (no I/O yet)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"invalid database URL {safe_url(url)}: {exc}") from exc
    except ValueError as exc:  # SQLAlchemy's int() of the port
        raise DatabaseUnavailable(f"invalid database URL {safe_url(url)}: the port is not a number") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        return create_engine(parsed, **kwargs)
    except (ImportError, ArgumentError) as exc:
        raise DatabaseUnavailable(f"cannot use database {safe_url(url)}: {exc}") from exc


def script_head(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The one head revision of the migration scripts, read from their text; None when it
    cannot be told that way (then Alembic itself decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        found = {name: value for name, value in _REVISION.findall(script.read_text("utf-8"))}
        if "revision" not in found or "down_revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _database_revision(connection: Any) -> str | None:
    """The revision stamped in ``alembic_version``, or None (no such table, or not one row)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return rows[0][0] if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when already there).

    A database already at the scripts' head is seen without Alembic, whose import and script
    loading cost every crawl ~0.3 s of CPU.
    """
    head = script_head()
    if head is not None:
        with engine.connect() as connection:
            if _database_revision(connection) == head:
                return
    from alembic import command  # only to migrate
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held to the end of this transaction (DDL is transactional in PostgreSQL): a second
            # process waits here, then finds the schema at head and does nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def prepare(engine: Engine) -> None:
    """Connect to ``engine``'s database and migrate it, or raise :class:`DatabaseUnavailable` saying why.

    On failure the engine's pooled connections are closed; the engine itself stays usable, so its
    owner can try again later with the same engine.
    """
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = first_line(exc)
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot open database {where}: {reason}") from exc


def open_database(url: str) -> Engine:
    """A new engine for ``url``, connected and migrated, or :class:`DatabaseUnavailable` saying why.

    For commands and scripts; a crawl shares the one engine of
    :class:`newscrawl.extensions.database.Database` instead.
    """
    engine = create_database_engine(url)
    prepare(engine)
    return engine
