"""Wall time of ``newscrawl crawl`` over the seven site mirrors with ``--jobs 1`` and ``--jobs 2``.

Not a test: run it by hand, e.g.::

    .venv/bin/python bench/parallel_crawl.py                 # jobs 1 and 2, 3 runs each
    .venv/bin/python bench/parallel_crawl.py --jobs 1 2 4 --repeat 5 --polite

Each site's hand-built mirror (``tests/sites/<spider>/mirror``) is served on its own port of
127.0.0.1; one ``newscrawl crawl`` of every site spider points each spider at its mirror with
``-a SPIDER:start_url=URL`` and writes a fresh SQLite file. By default the crawls use the
tests' mirror settings (no delay: the figure is mostly process start and parsing, CPU-bound);
``--polite`` keeps the production delays (a scheduled crawl's real shape: mostly waiting).
Printed per run: wall seconds, exit code, articles stored, and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newscrawl.registry import scheduled_spiders  # noqa: E402
from tests.support.mirror import Mirror  # noqa: E402

SITES = ROOT / "tests" / "sites"
#: What `newscrawl crawl` runs when given no spider: every site mirror.
SPIDERS = scheduled_spiders()
MIRROR_SETTINGS = {
    "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "RETRY_TIMES": "2",
}
NEWSCRAWL = Path(sys.executable).with_name("newscrawl")


def start_path(spider: str) -> str:
    """The first reviewed crawl's start path of a site (tests/sites/<spider>/expected.json)."""
    expected = json.loads((SITES / spider / "expected.json").read_text("utf-8"))
    return expected["crawls"][0]["start_path"] if "crawls" in expected else "/category/politics"


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def one_run(mirrors: dict[str, Mirror], jobs: int, polite: bool, workdir: Path) -> tuple[float, int, int]:
    database = workdir / f"jobs{jobs}-{time.monotonic_ns()}.db"
    command = [str(NEWSCRAWL), "crawl", *mirrors, "--jobs", str(jobs), "--database", f"sqlite:///{database}",
               "--lock-file", str(workdir / "bench.lock")]
    for spider, mirror in mirrors.items():
        command += ["-a", f"{spider}:start_url={mirror.url(start_path(spider))}"]
    for name, value in ({} if polite else MIRROR_SETTINGS).items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    with sqlite3.connect(database) as conn:
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:], sep="\n", file=sys.stderr)
    return seconds, result.returncode, stored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--polite", action="store_true", help="production delays instead of the mirror settings")
    args = parser.parse_args(argv)
    print(f"{len(SPIDERS)} site mirrors; {os.cpu_count()} cores; {'polite' if args.polite else 'mirror'} settings")
    times: dict[int, list[float]] = {}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        mirrors = {spider: stack.enter_context(Mirror(SITES / spider / "mirror")) for spider in SPIDERS}
        for run in range(args.repeat):
            for jobs in args.jobs:  # interleaved, so a change in the machine's load hits both alike
                seconds, code, stored = one_run(mirrors, jobs, args.polite, workdir)
                times.setdefault(jobs, []).append(seconds)
                print(f"run {run + 1} --jobs {jobs}: {seconds:6.1f} s wall, exit {code}, {stored} articles stored "
                      f"(load {load()})", flush=True)
    print()
    base = statistics.median(times[args.jobs[0]])
    for jobs, values in times.items():
        median = statistics.median(values)
        print(f"--jobs {jobs}: median {median:.1f} s over {len(values)} runs "
              f"({base / median:.2f}x --jobs {args.jobs[0]}); load now {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
