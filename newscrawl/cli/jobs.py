"""Runs spiders as parallel ``scrapy crawl`` processes: a machine's cores go to more crawls at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import ctypes
import ctypes.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up before any fork: the function run in the child between fork and exec only calls it.
_PRCTL = _libc_prctl()


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


def _die_with_parent() -> None:
    """In a crawl's process before it starts Scrapy: the kernel ends it with SIGKILL when
    ``newscrawl crawl`` dies, as a killed one-process crawl would have ended, so no crawl goes
    on without the database lock its parent held (Linux; elsewhere a no-op)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ParallelCrawls:
    """Runs up to ``jobs`` spider crawls at a time, each its own ``scrapy crawl`` process in the
    caller's working directory, with ``env``. A crawl's console lines (start, progress, warnings)
    go to this process's stderr as they come, whole lines at a time; what it prints on stdout
    (its summary line) is copied to ``stdout`` when it ends. One crawl's failure never stops the
    others. SIGTERM or SIGINT to this process is passed on to every running crawl, which then
    closes as Scrapy does (its run recorded, nothing half-written), and no further crawl starts;
    if this process is killed outright, its crawls die with it.
    """

    def __init__(self, jobs: int, env: Mapping[str, str] | None = None, stdout: TextIO | None = None) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be a whole number >= 1, got {jobs}")
        self.jobs = jobs
        self.env = dict(os.environ if env is None else env)
        self.stdout = stdout
        self._running: dict[int, tuple[str, subprocess.Popen[str]]] = {}
        self._stopping = False

    def _forward(self, signum: int, _frame: object) -> None:
        self._stopping = True
        for _, process in self._running.values():
            process.send_signal(signum)

    def _start(self, spider: str, command: list[str]) -> None:
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, text=True,
                                   preexec_fn=_die_with_parent)
        self._running[process.pid] = (spider, process)

    def _reap(self) -> Job | None:
        """Wait for any crawl to end; its job (None for a process that is not one of ours)."""
        pid, status = os.wait()
        if pid not in self._running:
            return None
        spider, process = self._running.pop(pid)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        assert process.stdout is not None
        out = self.stdout or sys.stdout
        out.write(process.stdout.read())
        out.flush()
        process.stdout.close()
        return Job(spider, process.returncode)

    def run(self, commands: Mapping[str, list[str]]) -> list[Job]:
        """Run every ``spider -> command``; the jobs in the order given (a crawl never started
        because of a signal counts as ended by it)."""
        pending = list(commands.items())
        ended: dict[str, int] = {}
        previous = {sig: signal.signal(sig, self._forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while self._running or (pending and not self._stopping):
                while pending and len(self._running) < self.jobs and not self._stopping:
                    self._start(*pending.pop(0))
                job = self._reap()
                if job is not None:
                    ended[job.spider] = job.returncode
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return [Job(spider, ended.get(spider, -signal.SIGTERM)) for spider in commands]
