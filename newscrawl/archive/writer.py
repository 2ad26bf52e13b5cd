"""WarcFiles: one crawl's gzip-per-record WARC files, rotated by size, each record handed to the OS as written."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

#: Default size at which a file is closed and the next one started (the usual 1 GB of web archives).
DEFAULT_MAX_SIZE = 1_000_000_000

#: Compression level of each record's gzip member, 0-3 (ISA-L's deflate, through ``isal``).
#: CPU per page is what a crawl is short of, disk is not: zlib's level 1 cost 0.41 against 0.81 ms
#: (level 6) a 36 KB page for files 12-18 % larger (bench/README.md, "WARC archive"); ISA-L's level 1
#: costs a quarter of zlib's level 1 for files ~3 % smaller (bench/README.md, issue 12 third pass).
DEFAULT_GZIP_LEVEL = 1

#: Hop-by-hop framing the HTTP client has already undone: the body archived is the body as
#: received after de-chunking, so a reader must not try to de-chunk it again.
_FRAMING_HEADERS = frozenset({"transfer-encoding"})

#: gzip container (``wbits`` 16 + 15) for one member per record.
_GZIP_WBITS = 31
_WARC_VERSION = "WARC/1.0"
_END = b"\r\n\r\n"


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


def _digest(data: bytes, more: bytes = b"") -> str:
    """warcio's digest of ``data + more``: SHA-1, base32."""
    if not data and not more:
        return _NOTHING
    hasher = hashlib.sha1(data)
    hasher.update(more)
    return "sha1:" + base64.b32encode(hasher.digest()).decode("ascii")


#: The digest of no bytes: the payload of most request records.
_NOTHING = "sha1:" + base64.b32encode(hashlib.sha1().digest()).decode("ascii")


def _http_block(statusline: str, headers: list[tuple[str, str]]) -> bytes:
    """The HTTP status line and headers as warcio's ``StatusAndHeaders`` writes them: ASCII,
    CRLF, a blank line; a value that is not ASCII is percent-encoded by warcio itself."""
    text = statusline + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        protocol, _, rest = statusline.partition(" ")
        return StatusAndHeaders(rest, list(headers), protocol=protocol).to_ascii_bytes()


def _record(fields: list[tuple[str, str]], digests: tuple[str, str], kind: str,
            http: bytes, body: bytes) -> list[bytes]:
    """A request or response record's parts, its header fields in warcio's order: the caller's
    fields, then payload and block digests, content type and length."""
    fields.append(("WARC-Payload-Digest", digests[0]))
    fields.append(("WARC-Block-Digest", digests[1]))
    fields.append(("Content-Type", f"application/http; msgtype={kind}"))
    fields.append(("Content-Length", str(len(http) + len(body))))
    head = _WARC_VERSION + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
    return [head.encode("utf-8"), http, body, _END]


class WarcFiles:
    """Writes exchanges to ``<folder>/<prefix>-<UTC time>-<pid>-<serial>.warc.gz``.

    Each file starts with a ``warcinfo`` record; each exchange is a ``response`` record
    followed by its ``request`` record, every record its own gzip member (readable from its
    offset alone) handed to the OS in one write, so a killed process leaves at most that record
    cut. A file is never appended to or overwritten: a new crawl (or a rotation past
    ``max_size`` bytes) starts a new one.

    The records are the bytes warcio's ``WARCWriter`` writes for them (the same header
    fields in the same order, the same digests), built here directly: warcio's record objects,
    header lists and digest passes cost more than the compression (a test compares the two).
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

    def write(self, exchange: Exchange) -> tuple[str, int]:
        """Append one exchange; the file name and offset of its response record."""
        if self._file is None or self.size >= self.max_size:
            self._open()
        assert self.path is not None
        offset = self.size
        # warcio's date (whole seconds, UTC) and record id; both records carry the date.
        date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        response_id = f"<urn:uuid:{uuid.uuid4()}>"
        self._write(self._response_record(exchange, response_id, date))
        self._write(self._request_record(exchange, response_id, date))
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
        self.size = 0
        # Once a file: warcio builds the warcinfo record itself.
        info = BytesIO()
        writer = WARCWriter(info, gzip=False)
        writer.write_record(writer.create_warcinfo_record(self.path.name, {"format": "WARC File Format 1.0", **self.info}))
        self._write([info.getvalue()])

    def _write(self, parts: list[bytes]) -> None:
        """Compress the record's parts into one gzip member and write it in one call."""
        assert self._file is not None
        compressor = isal_zlib.compressobj(self.gzip_level, isal_zlib.DEFLATED, _GZIP_WBITS)
        member = b"".join([*map(compressor.compress, parts), compressor.flush()])
        self._file.write(member)
        self.size += len(member)
        self.written += len(member)
        self.records += 1

    def _response_record(self, exchange: Exchange, record_id: str, date: str) -> list[bytes]:
        headers = [(k, v) for k, v in exchange.headers if k.lower() not in _FRAMING_HEADERS]
        status = f"{exchange.status} {exchange.reason}".strip()
        http = _http_block(f"{exchange.protocol} {status}", headers)
        body = exchange.body
        fields = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
        fields += [("WARC-Type", "response"), ("WARC-Record-ID", record_id),
                   ("WARC-Target-URI", exchange.url), ("WARC-Date", date)]
        return _record(fields, (_digest(body), _digest(http, body)), "response", http, body)

    def _request_record(self, exchange: Exchange, response_id: str, date: str) -> list[bytes]:
        target = exchange.url.split("://", 1)[-1]
        path = "/" + target.split("/", 1)[1] if "/" in target else "/"
        http = _http_block(f"{exchange.method} {path} {exchange.protocol}", exchange.request_headers)
        body = exchange.request_body
        fields = [("WARC-Concurrent-To", response_id), ("WARC-Type", "request"),
                  ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"), ("WARC-Target-URI", exchange.url),
                  ("WARC-Date", date)]
        return _record(fields, (_digest(body), _digest(http, body)), "request", http, body)
