"""first_line: one line of any error's message, the driver's own for a database error."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from newscrawl.exceptions import first_line


def database_error() -> OperationalError:
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": 1})
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("the query should have failed")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("bad value"), "bad value"),
        (ValueError("\n  \n  first  \nsecond"), "first"),
        (ValueError(""), ""),
        (ValueError("   \n "), ""),
        (sqlite3.OperationalError("database is locked"), "database is locked"),
    ],
)
def test_first_line(exc: BaseException, expected: str) -> None:
    assert first_line(exc) == expected


def test_a_database_error_is_the_drivers_message_without_the_sql() -> None:
    exc = database_error()
    assert "[SQL:" in str(exc)
    assert first_line(exc) == "no such table: no_such_table"


def test_an_error_whose_orig_is_none_is_its_own_message() -> None:
    exc = OperationalError("SELECT 1", {}, None)  # type: ignore[arg-type]
    assert first_line(exc) == str(exc).splitlines()[0]
