"""The ``newscrawl`` command: one sub-command per user task (crawl, query, export…)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

#: Exit codes shared by every sub-command (documented in the README).
EXIT_OK = 0
EXIT_FAILURE = 1  # a crawl or health check failed
EXIT_USAGE = 2  # bad arguments or input
EXIT_DATABASE = 3  # the database cannot be opened
EXIT_LOCKED = 4  # another crawl holds the lock
EXIT_NO_RESULTS = 5  # a query matched nothing (only where documented)

class CommandError(Exception):
    """A user-facing failure: printed as one line, exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """An argument parser that takes only whole option names and reports errors on one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Prefix matching would let a wrong flag through as another one (--js for --json).
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: each command module's ``register(subparsers)`` adds its
    sub-commands, and each sub-parser sets ``func(args) -> int``."""
    # Imported here: the command modules import this module's exit codes and CommandError.
    from newscrawl.cli import crawl, query, reparse, stories, warc, worker

    parser = Parser(
        prog="newscrawl", description="Crawl news sites' politics sections and query the archive."
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for module in (crawl, query, stories, reparse, warc, worker):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CommandError as exc:
        print(f"newscrawl: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newscrawl export - | head` closes the pipe early: not an error.
        return EXIT_OK
