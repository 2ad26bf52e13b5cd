"""Workers on one machine: articles/s, CPU per article and per-host peak concurrency for 1, 2, 4 workers.

A generated mirror (``bench/genmirror.py``: real Japan Today templates, 20 teasers per listing
page) split over ``--hosts`` loopback addresses (127.0.0.2, 127.0.0.3, …: each its own host
to Scrapy and to the Redis host gate), each host one Japan Today job of ``--articles``/hosts
articles with its own seed. One aiohttp process serves them all and answers every request
after a random 100-300 ms (``--latency``), like a distant site; it counts the requests each
host has in progress and reports the peak. For each worker count: a fresh PostgreSQL
database, an emptied Redis, ``newscrawl enqueue`` of every host's job, then the workers
(``newscrawl worker``, polite settings but no delay: ``CONCURRENT_REQUESTS_PER_DOMAIN=2``,
AutoThrottle off) are started and timed until every job is finalized.

CPU s = user+sys of the worker processes and their children (each crawl parses pages in a
child process), sampled from /proc until the jobs are done. Load average is
printed beside every row (the machine is shared).

    .venv/bin/python bench/distributed.py --articles 20000 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import genmirror  # noqa: E402  (bench/ is not a package)

NEWSCRAWL = str(Path(sys.executable).with_name("newscrawl"))
HOST_LIMIT = 2
SETTINGS = {
    "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": str(HOST_LIMIT),
    "CONCURRENT_REQUESTS": "8", "RETRY_TIMES": "2", "CONSOLE_PROGRESS_INTERVAL": "0",
    "DISTRIBUTED_POLL_SECONDS": "0.2", "USER_AGENT": "newscrawl-bench",
}


def _serve(sites: dict[str, dict[str, bytes]], port: int, latency: tuple[float, float], ready: object) -> None:
    from aiohttp import web

    active = {host: 0 for host in sites}
    peak = {host: 0 for host in sites}
    rng = random.Random(7)

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/__peak":
            body = json.dumps(peak).encode()
            for host in peak:
                peak[host] = 0
            return web.Response(body=body, content_type="application/json")
        host = request.transport.get_extra_info("sockname")[0]
        active[host] += 1
        peak[host] = max(peak[host], active[host])
        try:
            await asyncio.sleep(rng.uniform(*latency))
            status, content_type, body = genmirror.lookup(sites[host], request.path_qs)
        finally:
            active[host] -= 1
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for host in sites:
            await web.TCPSite(runner, host, port).start()
        ready.set()  # type: ignore[attr-defined]
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(root: int) -> float:
    """User+sys of ``root`` and every process below it (a crawl parses pages in a child process):
    the live ones' own time, plus what their exited, reaped children left in cutime/cstime."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        fields = _stat(pid)
        if fields:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        stack.extend(parents.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def count_articles(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM articles")).scalar()
    engine.dispose()
    return int(found or 0)


def run(workers: int, hosts: list[str], port: int, per_host: int, pg_server: str, redis_url: str,
        workdir: Path, env: dict[str, str], jobs: int) -> dict[str, object]:
    import redis
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"newscrawl_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # generated name, never input
    database = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    pages = per_host // genmirror.PER_PAGE + 1
    for host in hosts:
        subprocess.run([NEWSCRAWL, "enqueue", "japantoday", "--database", database, "--redis", redis_url,
                        "-a", f"start_url=http://{host}:{port}{genmirror.SECTION}", "-a", f"max_pages={pages}"],
                       check=True, env=env, cwd=workdir, capture_output=True)
    urllib.request.urlopen(f"http://{hosts[0]}:{port}/__peak").read()  # reset
    settings = [part for k, v in SETTINGS.items() for part in ("-s", f"{k}={v}")]
    started = time.monotonic()
    procs = [subprocess.Popen([NEWSCRAWL, "worker", "--database", database, "--redis", redis_url,
                               "--jobs", str(jobs), *settings], env=env, cwd=workdir,
                              stdout=subprocess.DEVNULL, stderr=open(workdir / f"w{workers}-{i}.log", "w"))
             for i in range(workers)]
    cpu = {p.pid: 0.0 for p in procs}
    while client.scard("newscrawl:jobs"):
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"worker {p.pid} exited {p.returncode}; see {workdir}")
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    for p in procs:
        cpu[p.pid] = cpu_seconds(p.pid)
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)
    peaks = json.loads(urllib.request.urlopen(f"http://{hosts[0]}:{port}/__peak").read())
    articles = count_articles(database)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    return {"workers": workers, "articles": articles, "seconds": elapsed, "cpu": sum(cpu.values()),
            "peak": max(peaks.values()), "load": load()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=2, help="jobs (hosts) one worker crawls at once (default 2)")
    parser.add_argument("--latency", type=float, nargs=2, default=[0.1, 0.3], metavar=("MIN", "MAX"))
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (a database is created per run)")
    parser.add_argument("--redis-url", help="an existing Redis (its database is flushed!)")
    args = parser.parse_args(argv)
    hosts = [f"127.0.0.{i + 2}" for i in range(args.hosts)]
    per_host = args.articles // args.hosts
    t0 = time.monotonic()
    sites = {host: genmirror.generate(per_host, seed=100 + i) for i, host in enumerate(hosts)}
    print(f"generated {per_host * len(hosts)} articles on {len(hosts)} hosts in {time.monotonic() - t0:.0f} s; "
          f"latency {args.latency[0]:.1f}-{args.latency[1]:.1f} s; per-host limit {HOST_LIMIT}; "
          f"CONCURRENT_REQUESTS {SETTINGS['CONCURRENT_REQUESTS']}; {args.jobs} jobs at once per worker", flush=True)
    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(sites, port, tuple(args.latency), ready), daemon=True)
    server.start()
    ready.wait(60)
    del sites
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    rows = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="newscrawl-bench-dist-") as scratch:
        from tests.support.postgres import throwaway_cluster
        from tests.support.redis import throwaway_redis

        pg = args.pg_url or stack.enter_context(throwaway_cluster())
        redis_url = args.redis_url or stack.enter_context(throwaway_redis())
        print(f"{'workers':>7} {'articles':>8} {'seconds':>8} {'art/s':>7} {'speedup':>7} {'CPU s':>7} "
              f"{'CPU ms/art':>10} {'host peak':>9}  load (1/5/15 min)", flush=True)
        for workers in args.workers:
            row = run(workers, hosts, port, per_host, pg, redis_url, Path(scratch), env, args.jobs)
            rate = row["articles"] / row["seconds"]
            rows.append(rate)
            print(f"{workers:>7} {row['articles']:>8} {row['seconds']:>8.1f} {rate:>7.1f} {rate / rows[0]:>6.2f}x "
                  f"{row['cpu']:>7.1f} {1000 * row['cpu'] / max(1, row['articles']):>10.2f} "
                  f"{row['peak']:>9}  {row['load']}", flush=True)
    server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
