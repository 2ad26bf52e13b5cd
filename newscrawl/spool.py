"""Spool: article rows that could not be written yet, kept as JSON lines until the database is back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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


class Spool:
    """A folder of ``<spider>-<UTC time>-<pid>.jsonl`` files, written with fsync.

    Each file is written whole and renamed into place, so a crash leaves either a
    complete file or none; replaying is idempotent because the store upserts.
    """

    def __init__(self, directory: Path, spider: str) -> None:
        self.directory = directory
        self.spider = spider

    def add(self, batch: Sequence[Mapping[str, Any]]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        final = self.directory / f"{self.spider}-{stamp}-{os.getpid()}.jsonl"
        partial = final.with_suffix(".partial")
        with open(partial, "w", encoding="utf-8") as handle:
            handle.writelines(encode(values) + "\n" for values in batch)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(final)
        return final

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"{self.spider}-*.jsonl"))

    def pending(self) -> int:
        return sum(1 for path in self.files() for _ in path.open(encoding="utf-8"))

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield decode(line)
