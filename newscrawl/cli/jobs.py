"""Runs spiders as parallel ``scrapy crawl`` processes: a machine's cores go to more crawls at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Job:
    """One spider's crawl: its ``scrapy crawl`` arguments and how it ended."""

    spider: str
    returncode: int


def crawl_command(spider: str, spargs: Mapping[str, str], settings: Sequence[str]) -> list[str]:
    """The ``scrapy crawl`` command of one spider (``settings``: ``NAME=VALUE`` pairs)."""
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    for name, value in spargs.items():
        command += ["-a", f"{name}={value}"]
    for pair in settings:
        command += ["-s", pair]
    return command


def exit_code(jobs: Sequence[Job]) -> int:
    """0 when every crawl exited 0, else the largest code among them (a crawl ended by a
    signal counts as 1, a failed crawl)."""
    codes = [job.returncode if job.returncode > 0 else (1 if job.returncode < 0 else 0) for job in jobs]
    return max(codes, default=0)


class ParallelCrawls:
    """Runs up to ``jobs`` spider crawls at a time, each its own ``scrapy crawl`` process in the
    caller's working directory, with ``env``. A crawl's console lines (start, progress, warnings)
    go to this process's stderr as they come, whole lines at a time; what it prints on stdout
    (its summary line) is copied to ``stdout`` when it ends, one crawl's after another's. One
    crawl's failure never stops the others. SIGTERM or SIGINT to this process is passed on to
    every running crawl, which then closes as Scrapy does (its run recorded, nothing
    half-written), and no further crawl starts.
    """

    def __init__(self, jobs: int, env: Mapping[str, str] | None = None, stdout: TextIO | None = None) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be a whole number >= 1, got {jobs}")
        self.jobs = jobs
        self.env = dict(os.environ if env is None else env)
        self.stdout = stdout
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def _run(self, spider: str, command: list[str]) -> Job:
        with self._lock:
            if self._stopping:
                return Job(spider, -signal.SIGTERM)
            process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, text=True)
            self._running.add(process)
        try:
            printed, _ = process.communicate()
            with self._lock:
                out = self.stdout or sys.stdout
                out.write(printed)
                out.flush()
            return Job(spider, process.returncode)
        finally:
            with self._lock:
                self._running.discard(process)

    def _forward(self, signum: int, _frame: object) -> None:
        with self._lock:
            self._stopping = True
            for process in self._running:
                process.send_signal(signum)

    def run(self, commands: Mapping[str, list[str]]) -> list[Job]:
        """Run every ``spider -> command``; the jobs in the order given."""
        previous = {sig: signal.signal(sig, self._forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="newscrawl-job") as pool:
                futures = [pool.submit(self._run, spider, command) for spider, command in commands.items()]
                return [future.result() for future in futures]
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
