"""Serves a hand-built site mirror (a folder with routes.json) on 127.0.0.1 for crawl tests."""

from __future__ import annotations

import argparse
import gzip
import json
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class _Server(ThreadingHTTPServer):
    """Stays quiet when a client hangs up mid-answer: the fault tests make crawls time out."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Reply:
    """One answer of the mirror: what to send, after how long, or a reset instead."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0
    reset: bool = False
    no_length: bool = False


class Mirror:
    """A site mirror: ``routes.json`` maps percent-decoded paths to files, pages or statuses.

    Route values: ``{"file": F}``, ``{"file": F, "type": T}``, ``{"pages": {"1": F, …}}``
    (the ``page`` query parameter picks one), ``{"status": 404}``, and
    ``{"file": F, "fail_first": N, "fail_status": 503}``. Every request is logged
    in ``requests`` (raw path with query) and ``request_times`` so tests can assert what
    was fetched, and when.

    Fault options, combinable with the above (for the fault tests):
    ``"headers": {name: value}`` extra response headers (e.g. ``Retry-After``);
    ``"sleep": S`` wait S seconds before answering (a timeout);
    ``"reset": true`` close the connection with a TCP reset and no response;
    ``"redirect": URL`` answer ``"status"`` (default 302) with ``Location: URL``
    (``{port}`` in URL is replaced by the mirror's port);
    ``"charset": C`` serve the file re-encoded from UTF-8 to C (characters C lacks as
    ``&#N;``), with ``Content-Type: text/html`` (no charset, so the page's own
    ``<meta charset>`` decides) unless ``"type"`` says otherwise;
    ``"pad": N`` append an HTML comment of N bytes (a size cap); ``"gzip": true`` send the
    body gzip-compressed; ``"no_length": true`` send no ``Content-Length`` and close the
    connection after the body (its size is known only once read);
    ``"first": {"times": N, …options…}`` answer the first N requests with these options
    laid over the route (e.g. ``{"times": 1, "status": 429, "headers": {"Retry-After": "1"}}``).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.routes: dict[str, dict[str, Any]] = json.loads((root / "routes.json").read_text("utf-8"))
        self.overrides: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.request_times: list[float] = []  # time.monotonic() of each entry in ``requests``
        self.failures: Counter[str] = Counter()
        #: (start, end) time.monotonic() of each answered request: the access log's concurrency.
        self.spans: list[tuple[float, float]] = []
        self.firsts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "mirror not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def requested_paths(self) -> list[str]:
        """Percent-decoded paths requested so far (query dropped)."""
        with self._lock:
            return [unquote(urlsplit(raw).path) for raw in self.requests]

    def peak_concurrency(self, others: tuple[Mirror, ...] = ()) -> int:
        """Most requests being answered at one moment, over this mirror and ``others`` together."""
        events = sorted((t, step) for m in (self, *others) for start, end in list(m.spans)
                        for t, step in ((start, 1), (end, -1)))
        peak = current = 0
        for _, step in events:  # at equal times an end (-1) sorts before a start (+1)
            current += step
            peak = max(peak, current)
        return peak

    def respond(self, raw_path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a request path (with its query)."""
        reply = self.reply(raw_path)
        return reply.status, reply.content_type, reply.body

    def reply(self, raw_path: str) -> Reply:
        """The full answer to a request path (with its query), fault options applied."""
        with self._lock:
            self.requests.append(raw_path)
            self.request_times.append(time.monotonic())
        path = unquote(urlsplit(raw_path).path)
        route = self.routes.get(path)
        if route is None:
            return Reply(404, "text/html; charset=utf-8", b"<h1>Not Found</h1>")
        first = route.get("first")
        if first:
            with self._lock:
                self.firsts[path] += 1
                early = self.firsts[path] <= int(first.get("times", 1))
            if early:  # the nested options win; the rest (file, pages…) comes from the route
                route = {**{k: v for k, v in route.items() if k != "first"}, **first}
        if route.get("reset"):
            reply = Reply(0, "", b"", reset=True)
        else:
            reply = self._reply_for(route, raw_path)
            reply.headers.update(route.get("headers") or {})
        reply.sleep = float(route.get("sleep", 0))
        return reply

    def _reply_for(self, route: dict[str, Any], raw_path: str) -> Reply:
        if "redirect" in route:
            assert self._server is not None
            location = str(route["redirect"]).replace("{port}", str(self._server.server_address[1]))
            status = int(route.get("status", 302))
            return Reply(status, "text/html; charset=utf-8", b"<h1>Moved</h1>", {"Location": location})
        status, content_type, body = self._respond_route(route, raw_path)
        if status == 200 and route.get("charset"):
            # Characters the charset lacks become &#NNNN; references, as real sites serve them.
            body = body.decode("utf-8").encode(route["charset"], "xmlcharrefreplace")
            content_type = route.get("type", "text/html")
        if status == 200 and route.get("pad"):
            body += b"<!--" + b"x" * int(route["pad"]) + b"-->"
        headers = {}
        if status == 200 and route.get("gzip"):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return Reply(status, content_type, body, headers, no_length=bool(route.get("no_length")))

    def _respond_route(self, route: dict[str, Any], raw_path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        if "status" in route:
            return int(route["status"]), "text/html; charset=utf-8", b"<h1>Error</h1>"
        if route.get("fail_first"):
            with self._lock:
                failed = self.failures[path]
                if failed < int(route["fail_first"]):
                    self.failures[path] += 1
                    return int(route.get("fail_status", 503)), "text/html", b"<h1>Busy</h1>"
        name = route.get("file")
        if "pages" in route:
            page = parse_qs(parts.query).get("page", ["1"])[0]
            name = route["pages"].get(page)
            if name is None:
                return 404, "text/html; charset=utf-8", b"<h1>No such page</h1>"
        content_type = route.get("type", "text/html; charset=utf-8")
        body = self.overrides.get(name) or (self.root / name).read_bytes()
        return 200, content_type, body

    def start(self, port: int = 0) -> Mirror:
        """Serve on 127.0.0.1:``port`` (0: any free port) from a daemon thread."""
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                started = time.monotonic()
                try:
                    self._answer()
                finally:
                    with mirror._lock:
                        mirror.spans.append((started, time.monotonic()))

            def _answer(self) -> None:
                reply = mirror.reply(self.path)
                if reply.sleep:
                    time.sleep(reply.sleep)
                if reply.reset:
                    # SO_LINGER 0: close() sends RST instead of FIN (a "connection reset by peer").
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, str(value))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.support.mirror FOLDER --port N``: serve a mirror until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.mirror",
        description="Serve a test site mirror (a folder with routes.json) on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("folder", type=Path, help="e.g. tests/sites/japantoday/mirror")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 = any free)")
    args = parser.parse_args(argv)
    if not (args.folder / "routes.json").is_file():
        parser.exit(2, f"mirror: error: {args.folder} has no routes.json\n")
    try:
        mirror = Mirror(args.folder).start(args.port)
    except OSError as exc:
        parser.exit(2, f"mirror: error: cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}\n")
    print(f"serving {args.folder} at {mirror.base_url}/ (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        mirror.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
