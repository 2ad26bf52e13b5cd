"""Spool: article rows that could not be written yet, kept as JSON lines until the database is back."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from newscrawl.exceptions import SpoolWriteError

#: Columns holding datetimes (serialised as ISO-8601 with offset).
DATETIME_COLUMNS = frozenset({"published_at", "modified_at"})


def encode(values: Mapping[str, Any]) -> str:
    """One JSON line for a row of article values."""
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()},
        ensure_ascii=False,
    )


def decode(line: str) -> dict[str, Any]:
    values = json.loads(line)
    for name in DATETIME_COLUMNS & values.keys():
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return values


def describe(error: OSError) -> str:
    """``No space left on device (ENOSPC)``: the system's words and the errno's name."""
    name = errno.errorcode.get(error.errno) if error.errno is not None else None
    words = error.strerror or str(error)
    return f"{words} ({name})" if name else words


class Spool:
    """A folder of ``<spider>-<UTC time>-<pid>.jsonl`` files, written with fsync.

    Each file is written whole and renamed into place, so a crash leaves either a
    complete file or none, and a write that fails (a full disk) leaves none either;
    replaying is idempotent because the store upserts.
    """

    def __init__(self, directory: Path, spider: str) -> None:
        self.directory = directory
        self.spider = spider

    def add(self, batch: Sequence[Mapping[str, Any]]) -> Path:
        """Write ``batch`` to a new file; :class:`SpoolWriteError` (and no file left) when it cannot."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        final = self.directory / f"{self.spider}-{stamp}-{os.getpid()}.jsonl"
        partial = final.with_suffix(".partial")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(partial, "w", encoding="utf-8") as handle:
                handle.writelines(encode(values) + "\n" for values in batch)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(final)
        except OSError as exc:
            # A half-written file is no use to anyone, and removing it gives the space back.
            with suppress(OSError):
                partial.unlink(missing_ok=True)
            raise SpoolWriteError(f"cannot write the spool {self.directory}: {describe(exc)}") from exc
        return final

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"{self.spider}-*.jsonl"))

    def pending(self) -> int:
        return sum(sum(1 for _ in self.read(path)) for path in self.files())

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield decode(line)
