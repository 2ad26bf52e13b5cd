"""An extraction worker process: reads pages on stdin, builds Articles with the spider, writes them on stdout.

Started by :class:`newscrawl.extract.pool.ExtractionPool` as ``python -m newscrawl.extract.worker``.
Frames both ways are a 4-byte big-endian length and a pickle. The first frame names the spider
(``sys.path``, module, class name, keyword arguments), answered by ``(0, True, None)`` once
the spider is loaded; then each page frame is ``(seq, url, body, explicit encoding or None,
Content-Type or None, meta)`` and each answer ``(seq, ok, article | exception)``. The worker
ends at end of input, which is also what it sees when the crawl dies, however it dies.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import signal
import sys
import traceback
from typing import Any, BinaryIO

from newscrawl.exceptions import ExtractionError

_LENGTH = 4
#: The answer number that says the spider is loaded (pages are numbered from 1).
READY = 0


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's payload, or None at end of input."""
    header = stream.read(_LENGTH)
    if len(header) < _LENGTH:
        return None
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    return payload if len(payload) == size else None


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(_LENGTH, "big") + payload


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives a pickle round trip and is a ValueError (a page the parsers refuse,
    which the spider handles), else an :class:`ExtractionError` carrying the traceback."""
    if isinstance(exc, ValueError):
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:  # noqa: BLE001 (an exception class with a custom constructor)
            return ValueError(str(exc))
    return ExtractionError("".join(traceback.format_exception(exc)).rstrip())


def find_class(module: str, qualname: str) -> Any:
    """What ``module.qualname`` names (nested classes included); ImportError/AttributeError if nothing."""
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _load_spider(init: tuple[list[str], str, str, dict[str, Any]]) -> Any:
    path, module, qualname, arguments = init
    sys.path[:] = path  # the crawl's own, so spiders outside the package are found as there
    return find_class(module, qualname)(**arguments)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    from scrapy import Request
    from scrapy.http import HtmlResponse

    first = read_frame(stdin)
    if first is None:
        return 0
    spider = _load_spider(pickle.loads(first))
    stdout.write(frame(pickle.dumps((READY, True, None))))
    stdout.flush()
    while (payload := read_frame(stdin)) is not None:
        seq, url, body, encoding, content_type, meta = pickle.loads(payload)
        try:
            headers = {b"Content-Type": content_type} if content_type is not None else None
            response = HtmlResponse(url=url, body=body, encoding=encoding, headers=headers,
                                    request=Request(url, meta=meta))
            answer: tuple[int, bool, Any] = (seq, True, spider.build_article(response))
        except Exception as exc:  # noqa: BLE001 (every failure goes back to the crawl, typed)
            answer = (seq, False, _portable(exc))
        stdout.write(frame(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)))
        stdout.flush()
    return 0


def main() -> int:
    # Ctrl-C reaches the whole process group; the crawl ends its workers by closing their input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Frames own fd 1; a stray print() in a spider must not corrupt them, so it goes to stderr.
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [extract worker %(process)d] %(levelname)s: %(message)s")
    return serve(sys.stdin.buffer, stdout)


if __name__ == "__main__":
    # Run as the importable module, so what it pickles names newscrawl.extract.worker, not __main__.
    from newscrawl.extract.worker import main as worker_main

    sys.exit(worker_main())
