"""The schema is migrated once under a PostgreSQL advisory lock: processes starting at once on an
empty database all succeed; ``newscrawl db upgrade`` says where the schema is."""

from __future__ import annotations

import threading

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from newscrawl.db.engine import MIGRATIONS, open_database
from tests.conftest import run_cli


def migration_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@pytest.mark.postgres
def test_engines_migrating_an_empty_database_at_the_same_moment_all_succeed(postgresql_url: str) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def migrate() -> None:
        barrier.wait()
        try:
            open_database(postgresql_url).dispose()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


@pytest.mark.postgres
def test_db_upgrade_reports_the_revision(postgresql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "db", "upgrade", "--database", postgresql_url)
    assert code == 0, err
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    assert out.startswith("database postgresql+psycopg://") and out.strip().endswith(f"is at revision {head}")
