"""``newscrawl search|list|show|export|stats`` on both databases: output, files, exit codes."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from newscrawl.cli import EXIT_DATABASE, EXIT_NO_RESULTS, EXIT_OK, EXIT_USAGE, main
from newscrawl.db import open_database
from tests.conftest import ROOT, run_cli
from tests.test_query import HOSTILE_QUERIES, REVISED_PATH, all_rows, archive  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_env_database")


@pytest.fixture
def rows(archive: str) -> list[dict[str, Any]]:
    engine = open_database(archive)
    try:
        return all_rows(engine)
    finally:
        engine.dispose()


def as_json(value: Any) -> Any:
    """What the export writes for a database value."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(as_json(value))


# --- search ----------------------------------------------------------------------------------


def test_search_table(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    code, out, err = run_cli(capsys, "search", "Hormuz", "--database", archive, "--tz", "Asia/Tokyo")
    assert code == EXIT_OK and err == ""
    lines = out.splitlines()
    assert lines[0].lstrip().startswith("1. ") and "Hormuz" in lines[0]
    assert "[Hormuz]" in out


def test_search_json(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    code, out, _ = run_cli(capsys, "search", '"prime minister" defen*', "--json", "--database", archive)
    hits = json.loads(out)
    assert code == EXIT_OK and hits
    by_id = {r["id"]: r for r in rows}
    for hit in hits:
        row = by_id[hit["id"]]
        assert (
            hit["title"] == row["title"] and hit["published_at"] == row["published_at"].isoformat()
        )
        assert hit["published_at"].endswith("+00:00") and isinstance(hit["rank"], float)
    assert any("[" in hit["snippet"] for hit in hits)


def test_search_with_filters(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    code, out, _ = run_cli(
        capsys,
        "search",
        "Takaichi",
        "--credit",
        "Kyodo",
        "--since",
        "2026-06-05",
        "--json",
        "--database",
        archive,
    )
    hits = json.loads(out)
    assert code == EXIT_OK and hits
    assert all(h["credit"] == "Kyodo" and h["published_at"] >= "2026-06-05" for h in hits)


@pytest.mark.parametrize("hostile", HOSTILE_QUERIES)
def test_search_hostile_queries(
    capsys: pytest.CaptureFixture[str], archive: str, hostile: str
) -> None:
    # "--" ends the options, so a query may start with "-" (argparse's rule).
    code, out, err = run_cli(capsys, "search", "--database", archive, "--", hostile)
    assert code in (EXIT_OK, EXIT_NO_RESULTS)
    if code == EXIT_NO_RESULTS:
        assert (out, err) == ("", "newscrawl: no articles match\n")


def test_search_without_matches(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    assert run_cli(capsys, "search", "zzyzx", "--database", archive) == (
        EXIT_NO_RESULTS,
        "",
        "newscrawl: no articles match\n",
    )
    code, out, _ = run_cli(capsys, "search", "zzyzx", "--json", "--database", archive)
    assert (code, json.loads(out)) == (EXIT_NO_RESULTS, [])


@pytest.mark.e2e
def test_search_in_a_real_process(archive: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEWSCRAWL_DATABASE_URL"}
    command = [
        sys.executable,
        "-m",
        "newscrawl",
        "search",
        "defense",
        "--database",
        archive,
        "--limit",
        "3",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_OK, result.stderr
    assert len([line for line in result.stdout.splitlines() if line[:5].strip().endswith(".")]) == 3
    assert "[defense]" in result.stdout.lower() and result.stderr == ""
    hostile = subprocess.run(
        command[:4] + ["'; DROP TABLE articles; --", *command[5:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert hostile.returncode == EXIT_NO_RESULTS and "Traceback" not in hostile.stderr
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == EXIT_OK


# --- list --------------------------------------------------------------------------------------


def test_list_table(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    code, out, _ = run_cli(capsys, "list", "--limit", "5", "--database", archive)
    lines = out.splitlines()
    assert code == EXIT_OK and lines[0].split()[:3] == ["ID", "PUBLISHED", "(UTC)"]
    assert [int(line.split()[0]) for line in lines[1:]] == [r["id"] for r in rows[:5]]
    assert all(len(line) <= 100 for line in lines)  # fits the (default) terminal width


def test_list_json_with_filters_and_paging(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    code, out, _ = run_cli(
        capsys,
        "list",
        "--json",
        "--source",
        "japantoday",
        "--section",
        "politics",
        "--credit",
        "kyodo",
        "--limit",
        "2",
        "--offset",
        "1",
        "--database",
        archive,
    )
    expected = [r["id"] for r in rows if r["credit"] == "Kyodo"][1:3]
    assert code == EXIT_OK and [a["id"] for a in json.loads(out)] == expected
    code, out, _ = run_cli(capsys, "list", "--json", "--author", "ortiz", "--database", archive)
    assert [a["authors"] for a in json.loads(out)] == [
        r["authors"] for r in rows if "Lena Ortiz" in r["authors"]
    ]


def test_list_tz_days(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    day = rows[0]["published_at"].astimezone(tokyo).date()
    code, out, _ = run_cli(
        capsys,
        "list",
        "--json",
        "--since",
        day.isoformat(),
        "--until",
        day.isoformat(),
        "--tz",
        "Asia/Tokyo",
        "--database",
        archive,
    )
    expected = [r["id"] for r in rows if r["published_at"].astimezone(tokyo).date() == day]
    assert code == EXIT_OK and [a["id"] for a in json.loads(out)] == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--source", "nosuchsite"],
            r"unknown source 'nosuchsite' \(known: (\w+, )*japantoday(, \w+)*\)",
        ),
        (["--since", "2026-13-01"], "invalid date '2026-13-01' for --since: expected YYYY-MM-DD"),
        (["--until", "June 1"], "invalid date 'June 1' for --until: expected YYYY-MM-DD"),
        (
            ["--since", "2026-06-02", "--until", "2026-06-01"],
            "--since 2026-06-02 is after --until 2026-06-01",
        ),
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--limit", "0"], "--limit must be at least 1, not 0"),
        (["--offset", "-1"], "--offset must be 0 or more, not -1"),
    ],
)
def test_list_bad_arguments(
    capsys: pytest.CaptureFixture[str], archive: str, argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "list", *argv, "--database", archive)
    assert (code, out) == (EXIT_USAGE, "")
    pattern = message if message.startswith("unknown source") else re.escape(message)
    assert re.fullmatch(f"newscrawl: error: {pattern}\n", err), err


def test_list_empty(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    assert run_cli(capsys, "list", "--since", "2030-01-01", "--database", archive) == (
        EXIT_NO_RESULTS,
        "",
        "newscrawl: no articles match\n",
    )


def test_missing_sqlite_file_is_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nothing.db"
    for command in (["list"], ["search", "x"], ["show", "1"], ["stats"], ["export"]):
        code, out, err = run_cli(capsys, *command, "--database", f"sqlite:///{missing}")
        assert (code, out) == (EXIT_DATABASE, "")
        assert err == f"newscrawl: error: no database at {missing}; run a crawl first\n"
    assert not missing.exists()


def test_unreachable_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSCRAWL_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, out, err = run_cli(capsys, "list")
    assert (code, out) == (EXIT_DATABASE, "")
    assert (
        err.startswith("newscrawl: error: cannot open database postgresql") and err.count("\n") == 1
    )


def test_not_a_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite " * 100)
    code, _, err = run_cli(capsys, "stats", "--database", f"sqlite:///{junk}")
    assert code == EXIT_DATABASE and err.count("\n") == 1 and "Traceback" not in err


# --- show --------------------------------------------------------------------------------------


def test_show_with_revisions(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    row = next(r for r in rows if r["url"].endswith(REVISED_PATH))
    code, out, _ = run_cli(capsys, "show", str(row["id"]), "--database", archive)
    assert code == EXIT_OK
    assert out.splitlines()[0] == row["title"] and row["url"] in out
    assert "vowing to keep strengthening" in " ".join(out.split())
    assert "Earlier versions: 1" in out and "replaced " in out
    code, out, _ = run_cli(capsys, "show", row["url"], "--json", "--database", archive)
    shown = json.loads(out)
    assert code == EXIT_OK and shown["id"] == row["id"] and shown["body"] == row["body"]
    [revision] = shown["revisions"]
    assert "pledging to keep strengthening" in revision["body"]
    assert revision["replaced_at"].endswith("+00:00")


def test_show_unknown(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    assert run_cli(capsys, "show", "999999", "--database", archive) == (
        EXIT_NO_RESULTS,
        "",
        "newscrawl: no article with id or URL '999999'\n",
    )


# --- export ------------------------------------------------------------------------------------


def test_export_jsonl(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    code, out, err = run_cli(
        capsys, "export", "--format", "jsonl", "--output", str(target), "--database", archive
    )
    assert (code, out) == (
        EXIT_OK,
        "",
    ) and err == f"newscrawl: exported {len(rows)} articles to {target}\n"
    exported = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert exported == [{k: as_json(v) for k, v in r.items()} for r in rows]
    assert all(e["published_at"].endswith("+00:00") for e in exported)
    assert not list(tmp_path.glob("*.part"))


def test_export_jsonl_to_stdout_with_filters(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    code, out, _ = run_cli(capsys, "export", "--credit", "AP", "--database", archive)
    assert code == EXIT_OK
    assert [json.loads(line)["id"] for line in out.splitlines()] == [
        r["id"] for r in rows if r["credit"] == "AP"
    ]


def test_export_csv(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    code, _, _ = run_cli(capsys, "export", "--format", "csv", "-o", str(target), "--database", archive)
    assert code == EXIT_OK
    with target.open(encoding="utf-8", newline="") as stream:
        exported = list(csv.DictReader(stream))
    assert exported == [{k: as_csv(v) for k, v in r.items()} for r in rows]
    assert any(json.loads(e["authors"]) for e in exported)


def test_export_parquet(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    target = tmp_path / "out.parquet"
    code, _, err = run_cli(
        capsys, "export", "--format", "parquet", "-o", str(target), "--json", "--database", archive
    )
    assert code == EXIT_OK
    assert json.loads(err) == {"format": "parquet", "output": str(target), "articles": len(rows)}
    table = pq.read_table(target)
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert table.to_pylist() == rows


def test_export_parquet_in_record_batches(
    archive: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newscrawl.cli import query as cli_query

    monkeypatch.setattr(cli_query, "PARQUET_BATCH", 4)
    target = tmp_path / "small-batches.parquet"
    assert (
        main(["export", "--format", "parquet", "-o", str(target), "--database", archive]) == EXIT_OK
    )
    assert pq.ParquetFile(target).metadata.num_row_groups > 1


def test_export_parquet_needs_a_file(capsys: pytest.CaptureFixture[str], archive: str) -> None:
    assert run_cli(capsys, "export", "--format", "parquet", "--database", archive) == (
        EXIT_USAGE,
        "",
        "newscrawl: error: parquet cannot be written to stdout: give --output FILE\n",
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_nothing(
    capsys: pytest.CaptureFixture[str], archive: str, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"empty.{fmt}"
    code, _, err = run_cli(
        capsys,
        "export",
        "--format",
        fmt,
        "-o",
        str(target),
        "--since",
        "2030-01-01",
        "--database",
        archive,
    )
    assert (code, err) == (EXIT_NO_RESULTS, "newscrawl: no articles match\n")
    if fmt == "parquet":
        assert pq.read_table(target).num_rows == 0
    else:
        assert len(target.read_text().splitlines()) == (1 if fmt == "csv" else 0)


def test_export_unwritable(
    capsys: pytest.CaptureFixture[str], archive: str, tmp_path: Path
) -> None:
    code, _, err = run_cli(
        capsys, "export", "-o", str(tmp_path / "no" / "such" / "dir.jsonl"), "--database", archive
    )
    assert (
        code == EXIT_USAGE
        and err.startswith("newscrawl: error: cannot write ")
        and err.count("\n") == 1
    )


# --- stats -------------------------------------------------------------------------------------


def test_stats_table(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    code, out, _ = run_cli(capsys, "stats", "--database", archive, "--tz", "Asia/Tokyo", "--days", "3")
    assert code == EXIT_OK
    assert out.startswith(f"Articles: {len(rows)}\n")
    assert f"japantoday  {len(rows)}" in out
    kyodo = sum(r["credit"] == "Kyodo" for r in rows)
    assert any(line.split() == ["Kyodo", str(kyodo)] for line in out.splitlines())
    assert "DAY (Asia/Tokyo)" in out and "finished" in out


def test_stats_json(
    capsys: pytest.CaptureFixture[str], archive: str, rows: list[dict[str, Any]]
) -> None:
    code, out, _ = run_cli(capsys, "stats", "--json", "--days", "2", "--database", archive)
    stats = json.loads(out)
    assert code == EXIT_OK and stats["articles"] == len(rows)
    assert len(stats["days"]) == 2 and date.fromisoformat(stats["days"][0]["day"])
    assert stats["last_crawls"][0]["spider"] == "japantoday"
    assert stats["last_crawls"][0]["started_at"].endswith("+00:00")


@pytest.mark.e2e
def test_stats_subprocess_json(archive: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEWSCRAWL_DATABASE_URL"}
    env["NEWSCRAWL_DATABASE_URL"] = archive
    result = subprocess.run(
        [sys.executable, "-m", "newscrawl", "stats", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["sources"][0]["source"] == "japantoday"
