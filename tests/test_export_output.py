"""``export --output``: files appear whole; devices, symlinks and planted names stay untouched."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from newscrawl.cli import EXIT_OK, EXIT_USAGE, main
from tests.test_query import article_values, insert_articles

pytestmark = pytest.mark.usefixtures("no_env_database")
VICTIM_TEXT = "precious data\n"


@pytest.fixture
def archive(sqlite_url: str) -> str:
    published = datetime(2026, 6, 1, tzinfo=timezone.utc)
    rows = [article_values(f"https://x.test/{i}", published, title=f"t{i}") for i in range(3)]
    insert_articles(sqlite_url, rows).dispose()
    return sqlite_url


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def export(capsys: pytest.CaptureFixture[str], archive: str, *argv: str) -> tuple[int, str, str]:
    code = main(["export", "--database", archive, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_writes_a_new_file_and_replaces_a_regular_one(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path, fmt: str
) -> None:
    target = out_dir / f"articles.{fmt}"
    assert export(capsys, archive, "--format", fmt, "-o", str(target))[0] == EXIT_OK
    target.chmod(0o640)
    assert export(capsys, archive, "--format", fmt, "-o", str(target))[0] == EXIT_OK
    assert sorted(p.name for p in out_dir.iterdir()) == [target.name]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    if fmt == "parquet":
        assert pq.read_table(target).num_rows == 3
    else:
        assert len(target.read_text().splitlines()) == 3 + (fmt == "csv")


def test_a_new_file_gets_the_umask_mode(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path
) -> None:
    target = out_dir / "new.jsonl"
    old = os.umask(0o022)
    try:
        assert export(capsys, archive, "-o", str(target))[0] == EXIT_OK
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_refuses_a_device_node(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path
) -> None:
    null = out_dir / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    code, out, err = export(capsys, archive, "-o", str(null))
    assert (code, out) == (EXIT_USAGE, "") and err.count("\n") == 1
    assert "device" in err
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert sorted(p.name for p in out_dir.iterdir()) == ["null"]


def test_refuses_a_symlink_and_leaves_its_target(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    link = out_dir / "articles.jsonl"
    link.symlink_to(victim)
    code, out, err = export(capsys, archive, "-o", str(link))
    assert (code, out) == (EXIT_USAGE, "") and err.count("\n") == 1
    assert "symbolic link" in err
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert victim.read_text() == VICTIM_TEXT


def test_refuses_a_directory(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path
) -> None:
    code, out, err = export(capsys, archive, "-o", str(out_dir))
    assert (code, out) == (EXIT_USAGE, "") and err.count("\n") == 1
    assert "directory" in err and list(out_dir.iterdir()) == []


@pytest.mark.parametrize("planted", ["articles.jsonl.part", ".articles.jsonl.part"])
def test_a_planted_partial_name_is_not_followed(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path, tmp_path: Path, planted: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    (out_dir / planted).symlink_to(victim)
    target = out_dir / "articles.jsonl"
    assert export(capsys, archive, "-o", str(target))[0] == EXIT_OK
    assert victim.read_text() == VICTIM_TEXT
    assert not target.is_symlink() and len(lines(target)) == 3
    assert (out_dir / planted).is_symlink()


def test_streams_into_a_fifo(
    capsys: pytest.CaptureFixture[str], archive: str, out_dir: Path
) -> None:
    fifo = out_dir / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = export(capsys, archive, "-o", str(fifo))
    reader.join(timeout=10)
    assert code == EXIT_OK, err
    assert not reader.is_alive() and len(received[0].decode().splitlines()) == 3
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
