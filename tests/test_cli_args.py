"""The query commands' arguments: pasted URLs, exact option names, accurate ``--help``."""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime, timezone

import pytest

from newscrawl.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from newscrawl.urls import canonicalize_url
from tests.conftest import run_cli
from tests.test_query import article_values, insert_articles

pytestmark = pytest.mark.usefixtures("no_env_database")

#: Commands whose parsers this file checks (crawl/status/check belong to the crawl CLI).
COMMANDS = ("search", "list", "show", "export", "stats", "schedule")
ARTICLE = "https://japantoday.com/category/politics/japan's-defense-budget"


@pytest.fixture
def stored(db_url: str) -> str:
    """An archive holding one article under its canonical URL, as the crawl stores it."""
    published = datetime(2026, 6, 1, tzinfo=timezone.utc)
    insert_articles(db_url, [article_values(canonicalize_url(ARTICLE), published)]).dispose()
    return db_url


@pytest.mark.parametrize(
    "pasted",
    [
        "https://japantoday.com/category/politics/japan%27s-defense-budget",
        "https://japantoday.com/category/politics/japan's-defense-budget?utm_source=x&utm_medium=y",
        "https://japantoday.com/category/politics/japan's-defense-budget#comments",
        "https://JAPANTODAY.COM:443/category/politics/japan's-defense-budget",
        "https://japantoday.com/category/politics/japan's-defense-budget/",
        "  https://japantoday.com/category/politics/japan's-defense-budget\n",
        "http://japantoday.com/category/politics/japan's-defense-budget",
    ],
)
def test_show_finds_a_pasted_url(
    capsys: pytest.CaptureFixture[str], stored: str, pasted: str
) -> None:
    code, out, err = run_cli(capsys, "show", pasted, "--json", "--database", stored)
    assert (code, err) == (EXIT_OK, "")
    assert json.loads(out)["url"] == canonicalize_url(ARTICLE)


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--form", "csv"],
        ["export", "--out", "x.jsonl"],
        ["list", "--lim", "3"],
        ["search", "x", "--sour", "japantoday"],
        ["stats", "--da", "3"],
        ["schedule", "--cr", "0 * * * *"],
        ["show", "1", "--js"],
    ],
)
def test_abbreviated_options_are_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--database", "sqlite:///nowhere.db"])
    _, err = capsys.readouterr()
    assert exit_info.value.code == EXIT_USAGE
    assert err.count("\n") == 1 and "unrecognized arguments" in err, err


@pytest.mark.parametrize(
    "argv",
    [["list", "--limit", "many"], ["search"], ["export", "--format", "xml"], ["nosuchcommand"]],
)
def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    _, err = capsys.readouterr()
    assert exit_info.value.code == EXIT_USAGE
    assert err.startswith("newscrawl") and err.count("\n") == 1 and "--help" in err, err


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_mentions_only_options_the_command_has(command: str) -> None:
    parser = _subparsers()[command]
    options = {option for action in parser._actions for option in action.option_strings}
    texts = [parser.description or ""] + [action.help or "" for action in parser._actions]
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", " ".join(texts)))
    assert mentioned <= options, f"{command} --help mentions {sorted(mentioned - options)}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help(command: str) -> None:
    parser = _subparsers()[command]
    assert all(action.help for action in parser._actions), command


@pytest.mark.parametrize("command", ["show", "export"])
def test_json_help_says_what_json_changes(command: str) -> None:
    parser = _subparsers()[command]
    [action] = [a for a in parser._actions if "--json" in a.option_strings]
    assert "table" not in (action.help or "")
