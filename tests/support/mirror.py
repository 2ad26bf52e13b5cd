"""Serves a hand-built site mirror (a folder with routes.json) on 127.0.0.1 for crawl tests."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class Mirror:
    """A site mirror: ``routes.json`` maps percent-decoded paths to files, pages or statuses.

    Route values: ``{"file": F}``, ``{"file": F, "type": T}``, ``{"pages": {"1": F, …}}``
    (the ``page`` query parameter picks one), ``{"status": 404}``, and
    ``{"file": F, "fail_first": N, "fail_status": 503}``. Every request is logged
    in ``requests`` (raw path with query) so tests can assert what was fetched.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.routes: dict[str, dict[str, Any]] = json.loads((root / "routes.json").read_text("utf-8"))
        self.overrides: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.failures: Counter[str] = Counter()
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

    def respond(self, raw_path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a request path (with its query)."""
        with self._lock:
            self.requests.append(raw_path)
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        route = self.routes.get(path)
        if route is None:
            return 404, "text/html; charset=utf-8", b"<h1>Not Found</h1>"
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

    def start(self) -> Mirror:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status, content_type, body = mirror.respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
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
