"""Import speed of `newscrawl import-warc` from a WARC of generated Japan Today pages, and the read pass alone.

Not a test: run it by hand (issue 16), e.g.::

    PYTHONPATH=. .venv/bin/python bench/warc_import.py                  # 20,000 records
    PYTHONPATH=. .venv/bin/python bench/warc_import.py --records 2000 --keep

Builds one gzip-per-record WARC of ``--records`` response records (the article pages of
``bench/genmirror.py``, the real page template, ~36 KB each, as ``https://japantoday.com/…``
URLs: routed to the japantoday spider as a CC-NEWS file of the site would be), written with
warcio as another crawler would. Then, each figure printed with the machine's load average:

* ``read``: the classifying pass alone (every record read and routed), in this process;
  with FastWARC's reader too when ``fastwarc`` is importable (not a newscrawl dependency);
* ``import``: ``newscrawl import-warc FILE`` into a fresh SQLite file, a real subprocess under
  ``/usr/bin/time -v``: wall seconds, articles/s, CPU (user+sys) seconds per 1,000 articles,
  peak RSS;
* ``again``: the same import a second time (every article unchanged).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import genmirror  # noqa: E402  (bench/ is not a package)

NEWSCRAWL = Path(sys.executable).with_name("newscrawl")
TIME = Path("/usr/bin/time")
SITE = "https://japantoday.com"
_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")
_CPU = re.compile(r"(?:User|System) time \(seconds\):\s*([\d.]+)")


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def build_warc(path: Path, records: int) -> int:
    """A WARC of ``records`` article responses; its size in bytes."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    site = genmirror.generate(records)
    articles = [(p, body) for p, body in site.items() if p.startswith(genmirror.SECTION + "/")]
    with open(path, "wb") as file:
        writer = WARCWriter(file, gzip=True)
        for raw_path, body in articles[:records]:
            http = StatusAndHeaders("200 OK", [("Content-Type", genmirror.HTML),
                                               ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(SITE + raw_path, "response", payload=BytesIO(body),
                                                          length=len(body), http_headers=http))
    return path.stat().st_size


def read_pass(path: Path) -> None:
    from newscrawl.cli.warc import classify, site_routing

    routing = site_routing({}, False)  # imports every spider: not part of the pass
    routing.route(SITE + genmirror.SECTION + "/warm-up")
    cpu, wall = time.process_time(), time.perf_counter()
    groups, skipped, _ = classify([path], routing, None)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    routed = sum(map(len, groups.values()))
    print(f"read (warcio, newscrawl's classify pass): {routed} records routed, {sum(skipped.values())} skipped, "
          f"{wall:.1f} s wall, {routed / wall:.0f} records/s, {cpu / routed * 1000:.2f} ms CPU per record ({load()})")
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    cpu, wall = time.process_time(), time.perf_counter()
    count = 0
    with open(path, "rb") as file:
        for raw in WarcioIterator(file, check_digests=False):
            raw.raw_stream.read()
            count += 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"read (warcio, records and bodies only, no routing): {count} records, {wall:.1f} s wall, "
          f"{count / wall:.0f} records/s, {cpu / count * 1000:.2f} ms CPU per record ({load()})")
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType  # type: ignore[import-not-found]
    except ImportError:
        print("read (FastWARC): not installed (pip install fastwarc to compare)")
        return
    cpu, wall = time.process_time(), time.perf_counter()
    count = 0
    with open(path, "rb") as file:
        for record in ArchiveIterator(file, record_types=WarcRecordType.response):
            record.reader.read()
            count += 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"read (FastWARC, records and bodies only, no routing): {count} records, {wall:.1f} s wall, "
          f"{count / wall:.0f} records/s, {cpu / count * 1000:.2f} ms CPU per record ({load()})")


def run_import(path: Path, db: Path, label: str, timeout: float) -> None:
    command = [str(NEWSCRAWL), "import-warc", str(path), "--database", f"sqlite:///{db}",
               "-s", f"LOG_FILE={db.parent / (label + '.log')}"]
    if TIME.exists():
        command = [str(TIME), "-v", *command]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=db.parent, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{label}: exit {done.returncode}\n{done.stderr[-3000:]}")
    with sqlite3.connect(db) as conn:
        rows = int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    summary = next((line for line in done.stdout.splitlines() if "inserted" in line), "")
    cpu = sum(map(float, _CPU.findall(done.stderr))) or None
    rss = _RSS.search(done.stderr)
    per_k = f"{cpu / rows * 1000:.1f} CPU s per 1,000 articles" if cpu and rows else "CPU not measured"
    print(f"{label}: {rows} rows, {wall:.1f} s wall (start-up included), {rows / wall:.0f} articles/s, {per_k}, "
          f"peak RSS {int(rss.group(1)) / 1024:.0f} MB, [{summary.strip()}] ({load()})" if rss else
          f"{label}: {rows} rows, {wall:.1f} s, {rows / wall:.0f} articles/s, {per_k} ({load()})", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="article records in the WARC (default 20000)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="newscrawl-warc-bench-"))
    try:
        warc = workdir / "japantoday.warc.gz"
        started = time.perf_counter()
        size = build_warc(warc, args.records)
        print(f"WARC: {args.records} response records, {size / 1e6:.1f} MB ({size / args.records / 1024:.1f} KB a record "
              f"gzipped), built in {time.perf_counter() - started:.0f} s ({load()})", flush=True)
        read_pass(warc)
        db = workdir / "import.db"
        timeout = 300 + args.records * 0.2
        run_import(warc, db, "import", timeout)
        run_import(warc, db, "again", timeout)
    finally:
        if args.keep:
            print(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
