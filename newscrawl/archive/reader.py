"""Reading WARC records back: all of a file's records with their offsets, or one record at an offset; cut records detected."""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader

#: What is read of one record's body at most: a record past it is counted, not parsed.
MAX_BODY = 64 * 1024 * 1024


@dataclass
class Record:
    """One WARC record as newscrawl needs it.

    ``truncated`` names why the record cannot be trusted (``cut``: the file ends inside it;
    ``length``: its block is shorter than its ``Content-Length``; ``declared``: the writer
    marked it ``WARC-Truncated``), else None. ``body`` is the HTTP payload as stored (still
    ``Content-Encoding``-compressed when the server sent it so), de-chunked.
    """

    path: Path
    offset: int
    type: str
    url: str | None = None
    date: str | None = None
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    truncated: str | None = None
    payload_digest: str | None = None

    def header(self, name: str) -> str | None:
        """The first HTTP header called ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case (``text/html``), or ``""``."""
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()


def _record(path: Path, offset: int, raw: Any) -> Record:
    """A :class:`Record` from warcio's record, its block read (call before asking warcio for offsets)."""
    stream = raw.raw_stream
    body = stream.read(MAX_BODY)
    truncated = None
    if getattr(stream, "limit", 0) > 0 and not stream.read(1):
        truncated = "length"
    elif raw.rec_headers.get_header("WARC-Truncated"):
        truncated = "declared"
    http = raw.http_headers if raw.rec_type in ("response", "revisit") else None
    headers = list(http.headers) if http is not None else []
    status = None
    if http is not None:
        code = (http.get_statuscode() or "").strip()
        status = int(code) if code.isdigit() else None
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        body = ChunkedDataReader(io.BytesIO(body)).read()  # falls back to the bytes as they are
    return Record(
        path=path, offset=offset, type=raw.rec_type,
        url=raw.rec_headers.get_header("WARC-Target-URI"),
        date=raw.rec_headers.get_header("WARC-Date"),
        status=status, headers=headers, body=body, truncated=truncated,
        payload_digest=raw.rec_headers.get_header("WARC-Payload-Digest"),
    )


def _member_complete(path: Path, start: int, end: int) -> bool:
    """Whether the gzip member at ``start`` ends whole by ``end`` (warcio reads a member cut in
    its last bytes without a word); True for an uncompressed file."""
    with open(path, "rb") as file:
        file.seek(start)
        data = file.read(end - start)
    if data[:2] != b"\x1f\x8b":
        return True
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        inflate.decompress(data)
    except zlib.error:
        return False
    return inflate.eof


def iter_records(path: Path) -> Iterator[Record]:
    """Every record of a WARC file (gzip or not) in order; a cut last record (a writer killed
    mid-write) comes last as a record of type ``""`` with ``truncated="cut"``, never raised."""
    size = os.path.getsize(path)
    end = 0
    last: Record | None = None
    with open(path, "rb") as file:
        records = ArchiveIterator(file, no_record_parse=False, check_digests=False)
        try:
            for raw in records:
                record = _record(path, 0, raw)
                record.offset = records.get_record_offset()
                end = record.offset + records.get_record_length()
                if last is not None:
                    yield last
                last = record
        except Exception as exc:  # noqa: BLE001  a damaged member raises ArchiveLoadFailed, zlib.error, EOFError…
            if last is not None:
                yield last
            yield Record(path=path, offset=end, type="", truncated=f"cut ({type(exc).__name__})")
            return
    if last is not None and end >= size and not _member_complete(path, last.offset, end):
        yield Record(path=path, offset=last.offset, type="", truncated="cut")  # only its gzip end lost
        return
    if last is not None:
        yield last
    if end < size:
        yield Record(path=path, offset=end, type="", truncated="cut")


def read_record(path: Path, offset: int) -> Record | None:
    """The record starting at ``offset`` of ``path`` (one gzip member), or None when there is
    no whole record there (a cut record, or an offset that is no record's start)."""
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            raw = next(iter(ArchiveIterator(file, check_digests=False)), None)
            # No Content-Length (every WARC record has one): the member was cut inside the header.
            if raw is None or raw.rec_headers.get_header("Content-Length") is None:
                return None
            record = _record(path, offset, raw)
    except Exception:  # noqa: BLE001  whatever a damaged or missing file raises: no record there
        return None
    return None if record.truncated == "length" else record
