"""The WARC writer's records are the bytes warcio's own writer makes for the same exchange."""

from __future__ import annotations

import gzip
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.archive.writer import Exchange, WarcFiles

REQUEST = [("Accept", "text/html"), ("User-Agent", "newscrawl/test"), ("Accept-Encoding", "gzip, deflate")]
EXCHANGES = {
    "page": Exchange("http://news.test/a/1?q=1", 200, "OK",
                     [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                      ("Transfer-Encoding", "chunked")],
                     b"<html><p>caf\xc3\xa9</p>" + bytes(range(256)) * 40 + b"</html>",
                     request_headers=REQUEST, ip_address="127.0.0.1"),
    "no-ip-no-reason-empty-body": Exchange("http://news.test/", 599, "", [("Server", "x")], b"",
                                           request_headers=REQUEST),
    # Scrapy hands header bytes over as latin-1 text: warcio percent-encodes what is not ASCII.
    "latin-1-header": Exchange("http://news.test/b", 301, "Moved Permanently",
                               [("Location", "http://news.test/caf\xe9"), ("Content-Disposition", "inline; filename=\"r\xe9sum\xe9.html\"")],
                               b"moved", request_headers=[("Referer", "http://news.test/\xe9t\xe9")]),
    "post-http2": Exchange("https://news.test/search", 200, "OK", [("Content-Length", "2")], b"{}",
                           method="POST", request_headers=REQUEST, request_body=b"q=tokyo", protocol="HTTP/2",
                           ip_address="::1"),
}


def members(path: Path) -> list[bytes]:
    """Each gzip member of the file, decompressed on its own."""
    data, out = path.read_bytes(), []
    while data:
        inflater = zlib.decompressobj(31)
        out.append(inflater.decompress(data))
        assert inflater.eof
        data = inflater.unused_data
    return out


def warcio_bytes(exchange: Exchange, record_type: str, record: bytes) -> bytes:
    """What warcio's WARCWriter writes for this exchange's record, with the written record's
    id, date (and response id) put in place of the fresh ones warcio draws."""
    head = record.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    written = dict(line.split(": ", 1) for line in head)
    writer = WARCWriter(BytesIO(), gzip=False)
    if record_type == "response":
        headers = [(k, v) for k, v in exchange.headers if k.lower() != "transfer-encoding"]
        http = StatusAndHeaders(f"{exchange.status} {exchange.reason}".strip(), headers, protocol=exchange.protocol)
        extra = {"WARC-IP-Address": exchange.ip_address} if exchange.ip_address else {}
        body = exchange.body
    else:
        path = "/" + exchange.url.split("://", 1)[1].split("/", 1)[1]
        http = StatusAndHeaders(f"{exchange.method} {path} {exchange.protocol}", list(exchange.request_headers),
                                is_http_request=True)
        extra = {"WARC-Concurrent-To": written["WARC-Concurrent-To"]}
        body = exchange.request_body
    built = writer.create_warc_record(exchange.url, record_type, payload=BytesIO(body), length=len(body),
                                      http_headers=http, warc_headers_dict=extra)
    for name in ("WARC-Record-ID", "WARC-Date"):
        built.rec_headers.replace_header(name, written[name])
    writer.write_record(built)
    return writer.out.getvalue()


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_records_are_warcios_bytes(tmp_path: Path, name: str) -> None:
    exchange = EXCHANGES[name]
    files = WarcFiles(tmp_path, "japantoday", info={"software": "newscrawl/test", "isPartOf": "japantoday"})
    _, offset = files.write(exchange)
    files.close()
    assert files.path is not None
    info, response, request = members(files.path)
    assert response == warcio_bytes(exchange, "response", response)
    assert request == warcio_bytes(exchange, "request", request)
    assert b"WARC-Concurrent-To: " + response.split(b"WARC-Record-ID: ", 1)[1].split(b"\r\n", 1)[0] in request
    assert info.startswith(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n") and b"isPartOf: japantoday\r\n" in info
    # warcio reads it back with its digests checked, and the offset points at the response.
    with files.path.open("rb") as stream:
        records = [(r.rec_type, stream.tell()) for r in ArchiveIterator(stream, check_digests="raise")
                   if r.content_stream().read() is not None]
    assert [kind for kind, _ in records] == ["warcinfo", "response", "request"]
    with files.path.open("rb") as stream:
        stream.seek(offset)
        first = next(iter(ArchiveIterator(stream)))
        assert (first.rec_type, first.rec_headers.get_header("WARC-Target-URI")) == ("response", exchange.url)
        assert first.content_stream().read() == exchange.body


def test_every_record_is_its_own_gzip_member_and_the_size_counts_the_bytes_written(tmp_path: Path) -> None:
    files = WarcFiles(tmp_path, "japantoday")
    offsets = [files.write(e)[1] for e in EXCHANGES.values()]
    files.close()
    assert files.path is not None
    data = files.path.read_bytes()
    assert files.size == files.written == len(data) and files.records == 1 + 2 * len(EXCHANGES)
    for offset, exchange in zip(offsets, EXCHANGES.values(), strict=True):
        inflater = zlib.decompressobj(31)
        record = inflater.decompress(data[offset:])
        assert record.startswith(b"WARC/1.0\r\n") and record.endswith(exchange.body + b"\r\n\r\n")
    assert gzip.decompress(data).count(b"WARC/1.0\r\n") == files.records
