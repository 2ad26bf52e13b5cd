"""Log handlers for crawl commands: a short console for people, the full log for LOG_FILE."""

from __future__ import annotations

import logging
import sys
from typing import Any

from newscrawl.exceptions import first_line

#: The logger of the console's own lines (start, progress, summary), shown at INFO.
CONSOLE_LOGGER = "newscrawl.console"
_TRACEBACK = "Traceback (most recent call last)"


def _level(value: Any) -> int:
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    return level if isinstance(level, int) else logging.INFO


def one_line(record: logging.LogRecord) -> str:
    """The record's message as one line, with the exception's type and message instead of its
    traceback: ``Error downloading <GET URL>: CannotResolveHostError: DNS lookup failed…`` (pure)."""
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        text = str(record.msg)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    line = lines[0]
    if _TRACEBACK in text and len(lines) > 1:  # a traceback inside the message (Twisted's)
        line = f"{line} {lines[-1]}"
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        detail = first_line(exc)
        if not detail or detail not in line:
            line = f"{line}: {type(exc).__name__}" + (f": {detail}" if detail else "")
    spider = getattr(getattr(record, "spider", None), "name", None)
    if spider and not line.startswith(f"{spider}:"):
        line = f"{spider}: {line}"
    return line


class OneLineFormatter(logging.Formatter):
    """``2026-06-09 10:00:00 WARNING japantoday: Dropped: expired article: URL`` — never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.formatTime(record, self.datefmt)} {record.levelname} {one_line(record)}"


class ConsoleFilter(logging.Filter):
    """Below DEBUG the console shows the console's own lines, warnings and errors; Scrapy's banner,
    settings, per-page lines and stats dump stay in the log file. So does the retry middleware's
    "Gave up retrying": the "Error downloading" line that follows says it with the URL; and so
    are the robots.txt middleware's errors (see below)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "scrapy.downloadermiddlewares.retry":
            return not str(record.msg).startswith("Gave up retrying")
        if record.name == "scrapy.downloadermiddlewares.robotstxt":
            # A robots.txt that cannot be fetched is logged as "Error downloading" the *page* that
            # asked for it, a line that reads like the page's own failure; the crawl goes on as
            # Scrapy allows, and the page's real outcome has its own line.
            return False
        if record.name == "scrapy.middleware" and str(record.msg).startswith("Disabled"):
            return False  # a component switched off on purpose (scrapy parse, newscrawl check)
        return record.levelno >= logging.WARNING or record.name == CONSOLE_LOGGER


class _Handler:
    """Marks the handlers installed here, so a second install replaces them."""

    newscrawl = True


class ConsoleHandler(_Handler, logging.StreamHandler):  # type: ignore[type-arg]
    pass


class LogFileHandler(_Handler, logging.FileHandler):
    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is None:
            # Scrapy's configure_logging (dictConfig) closes every handler after we install
            # ours; reopen for appending, not truncating what this run already wrote.
            self.mode = "a"
        super().emit(record)


def install_logging(settings: Any) -> None:
    """Replace Scrapy's root handler by a console on stderr and, with ``LOG_FILE``, a full log file.

    Settings: ``LOG_ENABLED`` (no console when off), ``LOG_LEVEL`` (``DEBUG``: the console shows
    everything Scrapy logs, tracebacks included), ``LOG_FILE`` (every record at ``LOG_LEVEL`` in
    Scrapy's format, tracebacks included), ``LOG_FILE_APPEND``, ``LOG_ENCODING``, ``LOG_FORMAT``,
    ``LOG_DATEFORMAT``. Call before the crawler process is made, with ``LOG_INSTALL_ROOT_HANDLER``
    off so Scrapy adds no handler of its own.
    """
    root = logging.root
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.NOTSET)
    level = _level(settings.get("LOG_LEVEL", "INFO"))
    full = logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT"))
    if settings.getbool("LOG_ENABLED", True):
        console = ConsoleHandler(sys.stderr)
        console.setLevel(level)
        if level <= logging.DEBUG:
            console.setFormatter(full)
        else:
            console.addFilter(ConsoleFilter())
            console.setFormatter(OneLineFormatter(datefmt=settings.get("LOG_DATEFORMAT")))
        root.addHandler(console)
    filename = settings.get("LOG_FILE")
    if filename:
        mode = "a" if settings.getbool("LOG_FILE_APPEND", True) else "w"
        log_file = LogFileHandler(filename, mode=mode, encoding=settings.get("LOG_ENCODING") or "utf-8")
        log_file.setLevel(level)
        log_file.setFormatter(full)
        root.addHandler(log_file)
