"""Crawl throughput against a bare-Scrapy reference, and the cost of an incremental re-run.

Not a test: run it by hand (issue 6, items 4 and 5), e.g.::

    PYTHONPATH=. .venv/bin/python bench/throughput.py                    # 2,000 articles
    PYTHONPATH=. .venv/bin/python bench/throughput.py --pages 20000
    PYTHONPATH=. .venv/bin/python bench/throughput.py --repeat 3 --concurrent-items 10,100
    PYTHONPATH=. .venv/bin/python bench/throughput.py --only sqlite --only reference
    PYTHONPATH=. .venv/bin/python bench/throughput.py --pg-url postgresql+psycopg://u@127.0.0.1/db

A generated Japan Today mirror of N articles (``bench/genmirror.py``: real page
templates, 20 teasers per listing page) is served from memory by a separate process
on 127.0.0.1. Each variant is a real subprocess, side by side in one run:

* ``reference``: ``scrapy runspider bench/reference_spider.py`` outside the project,
  fetching the same pages and extracting only the title (the limit to measure against);
* ``sqlite``: ``scrapy crawl japantoday`` with every pipeline, middleware and
  extension, into a fresh SQLite file;
* ``sqlite-noarchive``: the same with the WARC archive off (``ARCHIVE_ENABLED=False``): the
  archive's cost is the difference to ``sqlite`` (its size per 1,000 articles is printed);
* ``postgresql``: the same into a fresh PostgreSQL database (a throwaway cluster
  from ``tests/support/postgres.py`` unless ``--pg-url`` is given).

Every crawl gets the same mirror settings (no delay, no autothrottle, 16 concurrent
requests, robots.txt obeyed, the same CONCURRENT_ITEMS). Seconds and pages come from
Scrapy's own stats (``elapsed_time_seconds``, ``response_received_count``), peak RSS
of the largest process from ``/usr/bin/time -v`` and of the whole process tree (the crawl
and any child process) by sampling ``/proc``, writes/s = article rows in the
database / seconds. After
the first database crawl the same command runs again on the unchanged mirror (the
incremental re-run) and its requests and seconds are printed against the first run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import genmirror  # noqa: E402  (bench/ is not a package)

SCRAPY = Path(sys.executable).with_name("scrapy")
TIME = Path("/usr/bin/time")
VARIANTS = ("reference", "sqlite", "sqlite-noarchive", "postgresql")
#: Identical for the reference and the real crawls.
MIRROR_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "RETRY_TIMES": "2",
    "ROBOTSTXT_OBEY": "True",
    "COOKIES_ENABLED": "False",
    "TELNETCONSOLE_ENABLED": "False",
    "REMOTE_CONTROL_ENABLED": "False",
    "USER_AGENT": "newscrawl-bench",
    "LOG_LEVEL": "INFO",
}
_STAT = re.compile(r"'([^']+)':\s*(-?\d+(?:\.\d+)?)\s*[,}]")
_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")
_CPU_TIME = re.compile(r"(?:User|System) time \(seconds\):\s*([\d.]+)")


@dataclass
class Run:
    """One crawl subprocess, measured."""

    variant: str
    concurrent_items: int
    pages: int
    seconds: float
    wall: float
    rss_mb: float | None
    tree_rss_mb: float | None
    cpu_seconds: float | None
    rows: int | None
    requests: int
    returncode: int
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def writes_per_s(self) -> float | None:
        return self.rows / self.seconds if self.rows is not None and self.seconds else None


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` (the crawl under /usr/bin/time and its children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class TreeRss(threading.Thread):
    """Samples the summed RSS of a process's descendants every 50 ms; keeps the peak (MB).

    /usr/bin/time reports the largest single process; the sum over the tree is what a machine
    must hold.
    """

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        while not self.done.wait(0.05):
            total = 0
            for pid in _descendants(self.root):
                try:
                    total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page_kb
                except (OSError, ValueError, IndexError):
                    continue
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> float | None:
        self.done.set()
        self.join()
        return self.peak_kb / 1024 if self.peak_kb else None


def parse_stats(log: str) -> dict[str, float]:
    """Numeric values of the ``Dumping Scrapy stats`` block at the end of a crawl log."""
    start = log.rfind("Dumping Scrapy stats")
    if start < 0:
        return {}
    block = log[start: log.find("}", start) + 1]
    return {key: float(value) for key, value in _STAT.findall(block)}


def count_rows(database_url: str) -> int:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM articles")).scalar_one())
    finally:
        engine.dispose()


class Bench:
    """Runs the variants against one served mirror, in one scratch folder."""

    def __init__(
        self, base_url: str, pages: int, workdir: Path, profile_dir: Path | None
    ) -> None:
        self.start_url = f"{base_url}{genmirror.SECTION}"
        self.pages = pages
        self.max_pages = pages // genmirror.PER_PAGE + 1
        self.workdir = workdir
        self.profile_dir = profile_dir
        self.timeout = 120 + pages * 0.25
        self.counter = 0

    def command(self, variant: str, concurrent_items: int, database_url: str | None) -> list[str]:
        if variant == "reference":
            command = [str(SCRAPY), "runspider", str(ROOT / "bench" / "reference_spider.py")]
        else:
            command = [str(SCRAPY), "crawl", "japantoday"]
        command += ["-a", f"start_url={self.start_url}", "-a", f"max_pages={self.max_pages}"]
        settings = {**MIRROR_SETTINGS, "CONCURRENT_ITEMS": str(concurrent_items)}
        if variant == "sqlite-noarchive":
            settings["ARCHIVE_ENABLED"] = "False"
        if database_url:
            settings["DATABASE_URL"] = database_url
        for name, value in settings.items():
            command += ["-s", f"{name}={value}"]
        return command

    def run(self, variant: str, concurrent_items: int, database_url: str | None, label: str) -> Run:
        self.counter += 1
        command = self.command(variant, concurrent_items, database_url)
        if self.profile_dir and variant != "reference":
            target = self.profile_dir / f"{label}-{self.counter}.prof"
            command = [sys.executable, "-m", "cProfile", "-o", str(target), *command]
        if TIME.exists():
            command = [str(TIME), "-v", *command]
        env = {k: v for k, v in os.environ.items() if k not in {"NEWSCRAWL_DATABASE_URL", "SCRAPY_SETTINGS_MODULE"}}
        if variant == "reference":
            # Outside the project: no scrapy.cfg above the folder, no newscrawl settings.
            env.pop("PYTHONPATH", None)
        else:
            env["SCRAPY_SETTINGS_MODULE"] = "newscrawl.settings"
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        cwd = self.workdir / f"{self.counter:03d}-{label}"
        cwd.mkdir()
        if variant != "reference":
            # newscrawl's console is one line per crawl; Scrapy's stats block goes to the log file.
            command += ["-s", f"LOG_FILE={cwd / 'scrapy.log'}"]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sampler = TreeRss(process.pid)
        sampler.start()
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            raise SystemExit(f"{label}: crawl did not finish in {self.timeout:.0f} s; log in {cwd}") from exc
        finally:
            tree_rss = sampler.stop()
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        wall = time.perf_counter() - started
        (cwd / "crawl.log").write_text(done.stderr)
        log_file = cwd / "scrapy.log"
        stats = parse_stats(log_file.read_text() if log_file.exists() else done.stderr)
        rss, cpu = _RSS.search(done.stderr), _CPU_TIME.findall(done.stderr)
        if not stats:
            raise SystemExit(f"{label}: no stats in the log (exit {done.returncode}); see {cwd / 'crawl.log'}")
        return Run(
            variant=variant,
            concurrent_items=concurrent_items,
            pages=int(stats.get("response_received_count", 0)),
            seconds=stats.get("elapsed_time_seconds", 0.0),
            wall=wall,
            rss_mb=int(rss.group(1)) / 1024 if rss else None,
            tree_rss_mb=tree_rss,
            cpu_seconds=sum(map(float, cpu)) if cpu else None,
            rows=count_rows(database_url) if database_url else None,
            requests=int(stats.get("downloader/request_count", 0)),
            returncode=done.returncode,
            stats=stats,
        )


@contextmanager
def postgres_server(explicit: str | None) -> Iterator[str]:
    if explicit:
        yield explicit
        return
    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster() as url:
        yield url


class PostgresDatabases:
    """A fresh database per crawl on one server, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.server_url = server_url
        self.make_url = make_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def new(self) -> str:
        from sqlalchemy import text

        name = f"newscrawl_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))  # generated name, never input
        self.names.append(name)
        return self.make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def median_run(runs: list[Run]) -> Run:
    """The run with the median pages/s (the upper one for an even count)."""
    return sorted(runs, key=lambda r: r.pages_per_s)[len(runs) // 2]


def print_table(rows: list[Run], reference: dict[int, Run], repeat: int, expected: int) -> None:
    print()
    print(f"{'variant':<12}{'CI':>5}{'pages':>8}{'seconds':>9}{'pages/s':>9}{'ratio':>7}"
          f"{'RSS MB':>8}{'tree MB':>9}{'writes/s':>10}{'CPU s':>7}{'CPU ratio':>10}")
    for run in rows:
        ref = reference.get(run.concurrent_items)
        ratio = f"{run.pages_per_s / ref.pages_per_s:.2f}" if ref and ref.pages_per_s else "-"
        rss = f"{run.rss_mb:.0f}" if run.rss_mb is not None else "-"
        tree = f"{run.tree_rss_mb:.0f}" if run.tree_rss_mb is not None else "-"
        writes = f"{run.writes_per_s:.0f}" if run.writes_per_s is not None else "-"
        cpu = f"{run.cpu_seconds:.1f}" if run.cpu_seconds is not None else "-"
        cpu_ratio = "-"
        if ref and ref.cpu_seconds and run.cpu_seconds and run.pages:
            cpu_ratio = f"{(ref.cpu_seconds / ref.pages) / (run.cpu_seconds / run.pages):.2f}"
        flag = "" if run.pages == expected and run.returncode == 0 else f"  ! exit {run.returncode}, expected {expected} pages"
        print(f"{run.variant:<12}{run.concurrent_items:>5}{run.pages:>8}{run.seconds:>9.1f}"
              f"{run.pages_per_s:>9.1f}{ratio:>7}{rss:>8}{tree:>9}{writes:>10}{cpu:>7}{cpu_ratio:>10}{flag}")
    print(f"(median of {repeat} run(s) by pages/s; CI = CONCURRENT_ITEMS; pages = responses incl. "
          "robots.txt and listing pages; ratio = pages/s / reference pages/s at the same CI; "
          "RSS MB = peak of the largest process (/usr/bin/time), tree MB = peak of the summed RSS of the crawl "
          "and its children (sampled every 50 ms); "
          "writes/s = article rows / seconds; CPU s = user+sys of the crawl process, "
          "start-up included; "
          "CPU ratio = reference CPU per page / variant CPU per page, the ratio on an idle machine)")
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores "
          "(other work on the machine slows every variant; compare ratios and CPU s)")


def print_incremental(first: Run, again: Run) -> None:
    print(f"incremental re-run ({first.variant}, unchanged mirror): {again.requests} requests in "
          f"{again.seconds:.2f} s crawl / {again.wall:.1f} s process, vs {first.requests} requests in "
          f"{first.seconds:.1f} s / {first.wall:.1f} s on the first run "
          f"({again.rows} rows, stop: {', '.join(k.split('/')[-1] for k in again.stats if k.startswith('incremental/stopped/')) or 'none'})")


def default_concurrent_items() -> int:
    from newscrawl import settings

    return int(settings.CONCURRENT_ITEMS)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="articles in the mirror (default 2000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant; the median is shown")
    parser.add_argument("--concurrent-items", default=None,
                        help="comma-separated CONCURRENT_ITEMS values to try (default: newscrawl.settings')")
    parser.add_argument("--only", action="append", choices=VARIANTS, help="run only these variants (repeatable)")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (a database is created per crawl)")
    parser.add_argument("--server", choices=sorted(genmirror.SERVERS), default="aiohttp",
                        help="the mirror's server (default aiohttp; threaded = the tests' http.server)")
    parser.add_argument("--no-incremental", action="store_true", help="skip the re-run")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each newscrawl crawl into this folder")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, SQLite files)")
    args = parser.parse_args(argv)

    variants = [v for v in VARIANTS if not args.only or v in args.only]
    values = ([int(v) for v in args.concurrent_items.split(",")] if args.concurrent_items
              else [default_concurrent_items()])
    started = time.perf_counter()
    site = genmirror.generate(args.pages)
    expected = args.pages + (args.pages // genmirror.PER_PAGE + 1) + 1  # articles, listings, robots.txt
    print(f"mirror: {args.pages} articles, {len(site)} pages, generated in {time.perf_counter() - started:.1f} s; "
          f"server {args.server}; variants {', '.join(variants)}; CONCURRENT_ITEMS {values}; repeat {args.repeat}")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="newscrawl-bench-"))
    rows: list[Run] = []
    reference: dict[int, Run] = {}
    incremental: list[tuple[Run, Run]] = []
    try:
        with ExitStack() as stack:
            base = stack.enter_context(genmirror.serve(site, args.server))
            pg = None
            if "postgresql" in variants:
                pg = PostgresDatabases(stack.enter_context(postgres_server(args.pg_url)))
                stack.callback(pg.close)
            bench = Bench(base, args.pages, workdir, args.profile)
            for value in values:
                for variant in variants:
                    runs = []
                    for attempt in range(args.repeat):
                        url = {"reference": None, "sqlite": f"sqlite:///{workdir}/run-{value}-{attempt}.db",
                               "sqlite-noarchive": f"sqlite:///{workdir}/run-{value}-{attempt}-noarchive.db",
                               "postgresql": pg.new() if pg else None}[variant]
                        label = f"{variant}-ci{value}-{attempt}"
                        run = bench.run(variant, value, url, label)
                        print(f"  {label}: {run.pages} pages in {run.seconds:.1f} s ({run.pages_per_s:.1f}/s), "
                              f"RSS {run.rss_mb or 0:.0f} MB (tree {run.tree_rss_mb or 0:.0f} MB), rows {run.rows}, "
                              f"CPU {run.cpu_seconds or 0:.1f} s (load {os.getloadavg()[0]:.1f})"
                              + (f", archive {run.stats['archive/bytes'] / 1e6:.1f} MB in {run.stats['archive/records']:.0f} "
                                 f"responses ({run.stats['archive/bytes'] / run.rows * 1000 / 1e6:.1f} MB per 1,000 articles)"
                                 if run.stats.get("archive/bytes") and run.rows else ""),
                              flush=True)
                        runs.append(run)
                        if url and attempt == 0 and value == values[0] and not args.no_incremental:
                            again = bench.run(variant, value, url, f"{label}-rerun")
                            incremental.append((run, again))
                    rows.append(median_run(runs))
                    if variant == "reference":
                        reference[value] = rows[-1]
        print_table(rows, reference, args.repeat, expected)
        for first, again in incremental:
            print_incremental(first, again)
        print(f"total {time.perf_counter() - started:.0f} s")
    finally:
        if args.keep:
            print(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
