"""``newscrawl schedule``: a valid cron time, an existing folder, a line cron runs as written."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from newscrawl.cli import EXIT_OK, EXIT_USAGE, main
from newscrawl.cli.crawl import cron_line


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def crontab_entry(out: str) -> str:
    [line] = [line for line in out.splitlines() if not line.startswith("#")]
    return line


def cron_command(entry: str) -> str:
    """What cron hands to ``/bin/sh -c`` for a crontab entry (Vixie cron, as in Debian).

    The time is 5 fields or one @-macro; in the command an unescaped ``%`` ends it
    (the rest becomes stdin) and ``\\%`` stands for a literal ``%``.
    """
    fields = 1 if entry.startswith("@") else 5
    command = entry.split(None, fields)[fields]
    out: list[str] = []
    escaped = False
    for ch in command:
        if escaped:
            escaped = False
            if ch == "%":
                out[-1] = "%"
                continue
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            break
        out.append(ch)
    return "".join(out)


@pytest.mark.parametrize(
    "schedule",
    [
        "bogus",
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "0 24 * * *",
        "0 0 0 * *",
        "0 0 L * *",
        "0 0 * * 1#2",
        "*/0 * * * *",
        "@every",
        "@hourly 5",
        "",
    ],
)
def test_invalid_cron_times_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, schedule: str
) -> None:
    code, out, err = run(capsys, "schedule", "--cron", schedule, "--workdir", str(tmp_path))
    assert (code, out) == (EXIT_USAGE, "")
    assert err.count("\n") == 1 and "--cron" in err, err


@pytest.mark.parametrize(
    ("schedule", "written"),
    [
        ("17 * * * *", "17 * * * *"),
        ("*/15 6-22 * * mon-fri", "*/15 6-22 * * mon-fri"),
        ("0 3 1,15 jan-jun 0", "0 3 1,15 jan-jun 0"),
        ("  5  4 * * 7 ", "5 4 * * 7"),
        ("@daily", "@daily"),
        ("@reboot", "@reboot"),
    ],
)
def test_valid_cron_times_are_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, schedule: str, written: str
) -> None:
    code, out, err = run(capsys, "schedule", "--cron", schedule, "--workdir", str(tmp_path))
    assert (code, err) == (EXIT_OK, "")
    entry = crontab_entry(out)
    assert entry.startswith(written + " cd ")


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_the_workdir_must_be_an_existing_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    workdir = tmp_path / "srv" / "news"
    if kind == "file":
        workdir = tmp_path / "news.txt"
        workdir.write_text("")
    code, out, err = run(capsys, "schedule", "--workdir", str(workdir))
    assert (code, out) == (EXIT_USAGE, "")
    assert err.count("\n") == 1 and "--workdir" in err and str(workdir) in err, err


def test_percent_signs_reach_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder, a log and a password with "%" (cron would cut the command at each one).
    workdir = tmp_path / "news 100%"
    bindir = tmp_path / "venv%bin"
    logdir = tmp_path / "logs%"
    for folder in (workdir, bindir, logdir):
        folder.mkdir()
    fake = bindir / "newscrawl"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$PWD" "$NEWSCRAWL_DATABASE_URL" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(fake)])
    database = "postgresql+psycopg://news:p%25ss%40word@db.example/news"
    log = logdir / "crawl%Y.log"
    code, out, _ = run(
        capsys, "schedule", "--workdir", str(workdir), "--log", str(log), "--database", database
    )
    assert code == EXIT_OK
    command = cron_command(crontab_entry(out))
    subprocess.run(["/bin/sh", "-c", command], check=True, timeout=30)
    assert log.read_text().splitlines() == [str(workdir), database, "crawl"]


def test_cron_line_escapes_every_percent(tmp_path: Path) -> None:
    line = cron_line(
        "17 * * * *", tmp_path / "a%b", Path("/opt/x%y/newscrawl"), tmp_path / "l%.log", "s%q"
    )
    command = line.split(None, 5)[5]
    assert command.count("%") == command.count("\\%") == 4
    assert shlex.split(command.replace("\\%", "%"))[:2] == ["cd", str(tmp_path / "a%b")]


@pytest.mark.parametrize("value", ["with\nnewline", "back\\%slash"])
def test_values_cron_cannot_carry_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    code, out, err = run(
        capsys, "schedule", "--workdir", str(tmp_path), "--database", f"sqlite:///{value}.db"
    )
    assert (code, out) == (EXIT_USAGE, "")
    assert err.count("\n") == 1, err
