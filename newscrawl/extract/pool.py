"""ExtractionPool: article pages parsed into Articles in worker processes, beside the crawl's own process."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import sys
from typing import TYPE_CHECKING, Any

from scrapy.http import HtmlResponse, TextResponse
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import is_asyncio_available

from newscrawl.extract.worker import READY, find_class, frame

if TYPE_CHECKING:
    from newscrawl.items import Article
    from newscrawl.spiders.base import SectionSpider

logger = logging.getLogger(__name__)

#: Seconds a worker gets to finish its pages and exit once its input is closed.
EXIT_TIMEOUT = 5.0
#: Pipe buffer asked for each way (Linux's default limit for unprivileged processes).
PIPE_BYTES = 1 << 20


def processes_for(settings: BaseSettings, cpus: int | None = None) -> int:
    """Worker processes a crawl gets from ``EXTRACT_PROCESSES`` (a number, or ``auto``).

    ``auto``: one worker when the crawl is unthrottled (``DOWNLOAD_DELAY`` 0 and AutoThrottle
    off: a backfill or a mirror, where parsing in the crawl's single thread is the bottleneck) on
    a machine with two or more CPUs; none for a polite crawl, which waits on the network.
    """
    value = str(settings.get("EXTRACT_PROCESSES", "auto")).strip().lower()
    if value != "auto":
        try:
            return max(0, int(value))
        except ValueError:
            raise ValueError(f"EXTRACT_PROCESSES must be a whole number or 'auto', got {value!r}") from None
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    unthrottled = settings.getfloat("DOWNLOAD_DELAY") == 0 and not settings.getbool("AUTOTHROTTLE_ENABLED")
    return 1 if unthrottled and cpus >= 2 else 0


def importable(cls: type) -> bool:
    """Tell whether a worker can find ``cls`` by its module and name (not a class made in a function)."""
    try:
        return find_class(cls.__module__, cls.__qualname__) is cls
    except (ImportError, AttributeError):
        return False


def _widen(pipe: asyncio.BaseTransport | None) -> None:
    """Give a worker's pipe room for many pages (Linux: up to ``/proc/sys/fs/pipe-max-size``).

    A 64 KiB pipe holds less than two 36 KB pages: the worker would wait for the crawl's busy
    event loop to write the rest of each page, and the loop would then wait for the answer.
    """
    if pipe is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    fd = pipe.get_extra_info("pipe").fileno()
    for size in (PIPE_BYTES, PIPE_BYTES // 4):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
            return
        except OSError:  # above the system's limit
            continue


class WorkerLost(RuntimeError):
    """A worker ended before answering (a crash in the parser, the OOM killer)."""


class PageTimeout(RuntimeError):
    """The page a worker was on when it stopped answering."""


class _Worker(asyncio.SubprocessProtocol):
    """One worker process: frames out on its stdin, answers in on its stdout.

    A worker answers pages in the order they were sent, so when it has pages and has not
    answered for ``page_timeout`` seconds, it is stuck on the oldest one: that page fails with
    :class:`PageTimeout`, the worker is ended, and the pages queued behind it are lost to it
    (:class:`WorkerLost`), not refused.
    """

    def __init__(self, page_timeout: float) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.buffer = bytearray()
        self.page_timeout = page_timeout
        self.watchdog: asyncio.TimerHandle | None = None
        self.ready = False  # the worker has loaded the spider (its start-up is not a page's time)
        self.exited = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def _rearm(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        if self.pending and self.ready:
            self.watchdog = asyncio.get_running_loop().call_later(self.page_timeout, self._stuck)

    def _stuck(self) -> None:
        self.watchdog = None
        if self.pending:
            seq = next(iter(self.pending))  # the oldest: the one the worker is on
            future = self.pending.pop(seq)
            if not future.done():
                future.set_exception(PageTimeout(f"no answer after {self.page_timeout:g} s"))
            self.kill(WorkerLost(f"worker ended after {self.page_timeout:g} s on one page"))

    def send(self, seq: int, payload: bytes) -> asyncio.Future[Any]:
        assert self.transport is not None
        future = asyncio.get_running_loop().create_future()
        self.pending[seq] = future
        if self.watchdog is None:
            self._rearm()
        stdin = self.transport.get_pipe_transport(0)
        if stdin is None or stdin.is_closing():
            self._fail(WorkerLost("worker input is closed"))
        else:
            stdin.write(frame(payload))  # buffered by the loop: never blocks the crawl
        return future

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        self.buffer += data
        while len(self.buffer) >= 4:
            size = int.from_bytes(self.buffer[:4], "big")
            if len(self.buffer) < 4 + size:
                break
            try:
                seq, ok, value = pickle.loads(self.buffer[4 : 4 + size])
            except Exception as exc:  # noqa: BLE001 (an answer this process cannot read)
                self.kill(WorkerLost(f"unreadable answer from the worker ({exc!r})"))
                return
            del self.buffer[: 4 + size]
            if seq == READY:
                self.ready = True
                self._rearm()
                continue
            future = self.pending.pop(seq, None)
            self._rearm()  # progress: the next page gets its own time
            if future is not None and not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._fail(WorkerLost(f"worker output closed ({exc or 'end of file'})"))

    def process_exited(self) -> None:
        assert self.transport is not None
        self._fail(WorkerLost(f"worker exited with status {self.transport.get_returncode()}"))
        if not self.exited.done():
            self.exited.set_result(None)

    def kill(self, exc: Exception) -> None:
        """End the worker now; its pending pages fail with ``exc``."""
        self._fail(exc)
        if self.transport is not None:
            self.transport.kill()

    def _fail(self, exc: Exception) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(exc)


class ExtractionPool:
    """Runs a spider's ``build_article`` in worker processes and awaits the results.

    Scrapy spends one core; parsing a 36 KB page and querying it costs about as much as
    fetching it, so with a spare core the crawl's process only downloads, schedules and stores.
    Pages go to a worker as bytes with their Content-Type (and any explicit encoding) and the
    request meta the spider reads, over pipes the crawl's event loop reads itself (no threads, so no fight for the
    GIL); a worker builds its own copy of the spider from the same arguments and ends when its
    input closes, which is also what a crawl killed with SIGKILL leaves it. When a worker dies
    (a crash in the parser, the OOM killer), its pages and all later ones are built in the
    crawl's process and ``newscrawl/extract/worker_lost`` is counted. A worker that has
    pages but answers none for ``EXTRACT_PAGE_TIMEOUT`` seconds (60) is ended; the page it was
    on is refused as unparseable (``newscrawl/extract/timed_out``) rather than hang the crawl.
    Stats: ``newscrawl/extract/processes``, ``newscrawl/extract/in_workers``.
    """

    def __init__(
        self, spider: SectionSpider, processes: int, meta_keys: tuple[str, ...] = (), page_timeout: float = 60.0
    ) -> None:
        self.spider = spider
        self.processes = processes
        self.page_timeout = page_timeout
        self.meta_keys = meta_keys
        self.workers: list[_Worker] = []
        self.starting: asyncio.Task[None] | None = None
        self.broken = False
        self.seq = 0

    @classmethod
    def for_spider(
        cls, spider: SectionSpider, settings: BaseSettings, meta_keys: tuple[str, ...] = ()
    ) -> ExtractionPool | None:
        """A pool for ``spider`` when its settings ask for workers and they can run, else None."""
        processes = processes_for(settings)
        if processes < 1:
            return None
        if not importable(type(spider)):
            logger.info("%s is not importable by name: its pages are parsed in the crawl's process",
                        type(spider).__qualname__)
            return None
        return cls(spider, processes, meta_keys, settings.getfloat("EXTRACT_PAGE_TIMEOUT", 60.0))

    def start(self) -> None:
        """Start the workers; they import the project while the first pages download."""
        if self.starting is None and is_asyncio_available():
            self.starting = asyncio.ensure_future(self._spawn())

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        cls = type(self.spider)
        init = pickle.dumps((list(sys.path), cls.__module__, cls.__qualname__, self.spider.spider_arguments))
        for _ in range(self.processes):
            _, worker = await loop.subprocess_exec(
                lambda: _Worker(self.page_timeout), sys.executable, "-m", "newscrawl.extract.worker", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=None,
            )
            assert worker.transport is not None
            for fd in (0, 1):
                _widen(worker.transport.get_pipe_transport(fd))
            worker.transport.get_pipe_transport(0).write(frame(init))  # type: ignore[union-attr]
            self.workers.append(worker)
        self.spider.crawler.stats.set_value("newscrawl/extract/processes", self.processes)

    async def close(self) -> None:
        """Close the workers' input and wait for them to finish; kill any that will not."""
        if self.starting is None:
            return
        try:
            await self.starting
        except OSError:
            pass
        for worker in self.workers:
            stdin = worker.transport.get_pipe_transport(0) if worker.transport else None
            if stdin is not None:
                stdin.close()
        for worker in self.workers:
            try:
                await asyncio.wait_for(asyncio.shield(worker.exited), EXIT_TIMEOUT)
            except TimeoutError:
                logger.warning("extraction worker did not exit; killing it")
            if worker.transport is not None:
                worker.transport.close()  # kills a worker still running
        self.workers = []

    async def build(self, response: TextResponse) -> Article:
        """The page's Article, built by a worker; by the spider itself when no worker can."""
        if self.starting is None or self.broken or type(response) is not HtmlResponse:
            return self.spider.build_article(response)
        try:
            await self.starting
        except OSError as exc:
            return self._lost(response, exc)
        if not self.workers:  # closed
            return self.spider.build_article(response)
        self.seq += 1
        meta = {key: response.meta[key] for key in self.meta_keys if key in response.meta}
        # What the response was built from (not its inferred encoding): the worker's copy then
        # decodes the body exactly as this one does, auto-detection included.
        content_type = response.headers.get(b"Content-Type")
        payload = pickle.dumps(
            (self.seq, response.url, response.body, response._encoding, content_type, meta),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        worker = min(self.workers, key=lambda w: len(w.pending))
        try:
            article: Article = await worker.send(self.seq, payload)
        except WorkerLost as exc:
            return self._lost(response, exc)
        except PageTimeout:
            # A page that hangs the parser would hang the crawl's process too: it is not retried
            # here but refused (its worker, stuck on it, has been ended).
            self.spider.crawler.stats.inc_value("newscrawl/extract/timed_out")
            raise ValueError(f"no article after {self.page_timeout:g} s in an extraction worker") from None
        self.spider.crawler.stats.inc_value("newscrawl/extract/in_workers")
        return article

    def _lost(self, response: TextResponse, exc: Exception) -> Article:
        if not self.broken:
            self.broken = True
            logger.error("extraction worker lost (%s); parsing pages in the crawl's process", exc)
        self.spider.crawler.stats.inc_value("newscrawl/extract/worker_lost")
        return self.spider.build_article(response)
