"""WarcFiles: one crawl's gzip-per-record WARC files, rotated by size, each record handed to the OS as written."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

#: Default size at which a file is closed and the next one started (the usual 1 GB of web archives).
DEFAULT_MAX_SIZE = 1_000_000_000

#: zlib level of each record. warcio's own writer uses 9. Level 1 costs half the CPU of 6 (zlib's
#: default) for files 12-18 % larger: 0.41 against 0.81 ms a 36 KB page, 9.9 against 8.6 KB
#: (bench/README.md, "WARC archive"); CPU per page is what a crawl is short of, disk is not.
DEFAULT_GZIP_LEVEL = 1

#: Hop-by-hop framing the HTTP client has already undone: the body archived is the body as
#: received after de-chunking, so a reader must not try to de-chunk it again.
_FRAMING_HEADERS = frozenset({"transfer-encoding"})


@dataclass
class Exchange:
    """One HTTP request and the response it got, as a WARC response/request record pair."""

    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None


class _GzipMember:
    """A file-like sink for warcio that writes each record as one gzip member, in one write.

    warcio calls ``flush()`` once a record is complete; only then do the record's bytes reach
    the file, in a single ``write`` to the OS, so a killed process leaves at most that record cut.
    """

    def __init__(self, file: BinaryIO, level: int) -> None:
        self.file = file
        self.level = level
        self._chunks: list[bytes] = []
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    def write(self, data: bytes) -> None:
        self._chunks.append(self._compressor.compress(data))

    def flush(self) -> None:
        self._chunks.append(self._compressor.flush())
        self.file.write(b"".join(self._chunks))
        self._chunks = []
        self._compressor = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS | 16)


class WarcFiles:
    """Writes exchanges to ``<folder>/<prefix>-<UTC time>-<pid>-<serial>.warc.gz``.

    Each file starts with a ``warcinfo`` record; each exchange is a ``response`` record
    followed by its ``request`` record, every record its own gzip member (readable from its
    offset alone). A file is never appended to or overwritten: a new crawl (or a rotation past
    ``max_size`` bytes) starts a new one.
    """

    def __init__(self, folder: Path, prefix: str, max_size: int = DEFAULT_MAX_SIZE,
                 gzip_level: int = DEFAULT_GZIP_LEVEL, info: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.prefix = prefix
        self.max_size = max(1, max_size)
        self.gzip_level = gzip_level
        self.info = info or {}
        self.serial = 0
        self.path: Path | None = None
        self.size = 0
        self.records = 0
        #: Bytes written to every file so far.
        self.written = 0
        self._file: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self._sink: _GzipMember | None = None

    def write(self, exchange: Exchange) -> tuple[str, int]:
        """Append one exchange; the file name and offset of its response record."""
        if self._file is None or self.size >= self.max_size:
            self._open()
        assert self._writer is not None and self.path is not None
        offset = self.size
        response = self._response_record(exchange)
        self._write(response)
        self._write(self._request_record(exchange, response.rec_headers.get_header("WARC-Record-ID")))
        return self.path.name, offset

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> None:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        while self._file is None:
            self.serial += 1
            self.path = self.folder / f"{self.prefix}-{stamp}-{os.getpid()}-{self.serial:05d}.warc.gz"
            # Unbuffered and exclusive: each record is one write to the OS, and no file is reused
            # (another crawl of this process in the same second takes the next serial).
            try:
                self._file = open(self.path, "xb", buffering=0)  # noqa: SIM115  (closed in close())
            except FileExistsError:
                continue
        self._sink = _GzipMember(self._file, self.gzip_level)
        self._writer = WARCWriter(self._sink, gzip=False)
        self.size = 0
        self._write(self._writer.create_warcinfo_record(self.path.name, {"format": "WARC File Format 1.0", **self.info}))

    def _write(self, record: Any) -> None:
        assert self._writer is not None and self._file is not None
        self._writer.write_record(record)
        size = self._file.tell()
        self.written += size - self.size
        self.size = size
        self.records += 1

    def _response_record(self, exchange: Exchange) -> Any:
        assert self._writer is not None
        headers = [(k, v) for k, v in exchange.headers if k.lower() not in _FRAMING_HEADERS]
        http = StatusAndHeaders(f"{exchange.status} {exchange.reason}".strip(), headers, protocol=exchange.protocol)
        warc_headers = {"WARC-IP-Address": exchange.ip_address} if exchange.ip_address else {}
        return self._writer.create_warc_record(
            exchange.url, "response", payload=BytesIO(exchange.body), length=len(exchange.body),
            http_headers=http, warc_headers_dict=warc_headers,
        )

    def _request_record(self, exchange: Exchange, response_id: str) -> Any:
        assert self._writer is not None
        target = exchange.url.split("://", 1)[-1]
        path = "/" + target.split("/", 1)[1] if "/" in target else "/"
        http = StatusAndHeaders(f"{exchange.method} {path} {exchange.protocol}", exchange.request_headers,
                                is_http_request=True)
        return self._writer.create_warc_record(
            exchange.url, "request", payload=BytesIO(exchange.request_body), length=len(exchange.request_body),
            http_headers=http, warc_headers_dict={"WARC-Concurrent-To": response_id},
        )
