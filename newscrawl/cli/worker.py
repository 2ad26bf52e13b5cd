"""``newscrawl worker|enqueue|db upgrade``: crawling on several machines through Redis and PostgreSQL."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from newscrawl.cli import EXIT_DATABASE, EXIT_OK, EXIT_USAGE, CommandError
from newscrawl.cli.crawl import (
    _crawler_process,
    _positive_int,
    _select_spiders,
    _settings,
    check_spider_arguments,
    spider_arguments,
)
from newscrawl.cli.database import database_url
from newscrawl.db.engine import open_database, safe_url
from newscrawl.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)


def require_postgresql(url: str, command: str) -> None:
    """Several machines share one database: PostgreSQL. Anything else is refused in one line."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = "unknown"
    if backend != "postgresql":
        raise CommandError(f"newscrawl {command} needs PostgreSQL (workers on several machines share one "
                           f"database), not {backend} ({safe_url(url)}): pass --database "
                           "postgresql+psycopg://… or set NEWSCRAWL_DATABASE_URL", EXIT_USAGE)


def redis_client(args: argparse.Namespace, settings: Any, command: str) -> tuple[Any, str]:
    """The Redis client of ``--redis`` (else ``NEWSCRAWL_REDIS_URL``), checked with a PING."""
    from newscrawl.distributed.jobs import REDIS_ERRORS, connect, safe_redis_url

    url = getattr(args, "redis", None) or settings.get("DISTRIBUTED_REDIS_URL")
    if not url:
        raise CommandError(f"newscrawl {command} needs Redis: pass --redis redis://HOST:6379/0 "
                           "or set NEWSCRAWL_REDIS_URL", EXIT_USAGE)
    try:
        client = connect(url)
        client.ping()
    except ValueError as exc:
        raise CommandError(f"invalid Redis URL {safe_redis_url(url)}: {exc}", EXIT_USAGE) from None
    except REDIS_ERRORS as exc:
        raise CommandError(f"cannot reach Redis at {safe_redis_url(url)}: {exc}", EXIT_DATABASE) from None
    return client, url


def _open(url: str, what: str) -> Any:
    try:
        return open_database(url)
    except DatabaseUnavailable as exc:
        raise CommandError(f"{exc}; {what}", EXIT_DATABASE) from None


def cmd_enqueue(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from sqlalchemy.orm import Session

    from newscrawl.db.resume import begin_walk
    from newscrawl.distributed.jobs import Job, Keys, claim_crawl, create_job, new_job_id, walk_record
    from newscrawl.registry import spider_class

    out = out or sys.stdout
    settings = _settings(args)
    url = settings["DATABASE_URL"]
    require_postgresql(url, "enqueue")
    names = _select_spiders(args.spiders)
    arguments = spider_arguments(args.arg, names)
    check_spider_arguments(arguments)
    client, _ = redis_client(args, settings, "enqueue")
    keys = Keys(settings.get("DISTRIBUTED_REDIS_PREFIX", "newscrawl"))
    engine = _open(url, "nothing was enqueued")
    try:
        for name in names:
            job_id = new_job_id(name)
            running = claim_crawl(client, keys, name, arguments[name], job_id)
            if running is not None:
                print(f"{name}: job {running} (same arguments) is still queued or running; not enqueued again",
                      file=out)
                continue
            checked = spider_class(name).check_arguments(**arguments[name])
            walk = None
            if isinstance(checked, tuple) and len(checked) >= 3:
                start_url, max_pages, since = checked[:3]
                with Session(engine) as session, session.begin():
                    walk = begin_walk(session, name, start_url, max_pages, since, datetime.now(timezone.utc))
            job = Job(job_id, name, arguments[name], walk_record(walk),
                      datetime.now(timezone.utc).isoformat(timespec="seconds"))
            create_job(client, keys, job)
            resumed = (f" (resuming an unfinished walk: listing pages down to {walk.max_pages})"
                       if walk is not None and walk.resuming else "")
            print(f"{name}: enqueued job {job_id}{resumed}", file=out)
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.ossignal import install_shutdown_handlers

    from newscrawl.distributed.jobs import Keys, new_worker_id
    from newscrawl.distributed.worker import Worker, worker_settings

    settings = _settings(args)
    url = settings["DATABASE_URL"]
    require_postgresql(url, "worker")
    client, redis_url = redis_client(args, settings, "worker")
    engine = _open(url, "the worker did not start")  # migrates once, under the advisory lock
    prefix = settings.get("DISTRIBUTED_REDIS_PREFIX", "newscrawl")
    worker_id = new_worker_id()
    worker_settings(settings, redis_url, prefix, worker_id)
    process = _crawler_process(settings)
    worker = Worker(process, client, Keys(prefix), worker_id, args.jobs,
                    settings.getfloat("DISTRIBUTED_HEARTBEAT_SECONDS", 2),
                    settings.getfloat("DISTRIBUTED_WORKER_TTL", 10),
                    settings.getfloat("DISTRIBUTED_POLL_SECONDS", 0.5), engine)
    result: dict[str, int] = {}
    from twisted.internet import reactor

    def on_signal(signum: int, _frame: Any) -> None:
        install_shutdown_handlers(force)
        reactor.callFromThread(worker.stop, f"signal {signum}: stopping the crawls")

    def force(signum: int, _frame: Any) -> None:
        reactor.callFromThread(reactor.stop)

    def begin() -> None:
        install_shutdown_handlers(on_signal)
        logger.info("worker %s: waiting for jobs in %s (up to %d at once)", worker_id,
                    Keys(prefix).jobs, args.jobs)
        done = deferred_from_coro(worker.run())
        done.addCallback(lambda code: result.update(code=code))
        done.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(begin)
    try:
        process.start(stop_after_crawl=False, install_signal_handlers=False)
    finally:
        engine.dispose()
    return result.get("code", 1)


def cmd_db_upgrade(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from alembic.runtime.migration import MigrationContext

    out = out or sys.stdout
    url = database_url(args)
    engine = _open(url, "not migrated")
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    print(f"database {safe_url(url)} is at revision {revision}", file=out)
    return EXIT_OK


def print_cluster(redis_url: str, out: TextIO, as_json: bool = False) -> None:
    """Workers, queued jobs and the last finished jobs, for ``newscrawl status``."""
    from newscrawl.distributed.jobs import REDIS_ERRORS, Keys, connect, safe_redis_url, snapshot
    from newscrawl.settings import DISTRIBUTED_REDIS_PREFIX

    try:
        state = snapshot(connect(redis_url), Keys(DISTRIBUTED_REDIS_PREFIX))
    except REDIS_ERRORS as exc:
        raise CommandError(f"cannot reach Redis at {safe_redis_url(redis_url)}: {exc}", EXIT_DATABASE) from None
    if as_json:
        print(json.dumps(state, indent=2), file=out)
        return
    print(f"workers ({len(state['workers'])} at {safe_redis_url(redis_url)}):", file=out)
    for worker in state["workers"]:
        jobs = ", ".join(worker.get("jobs") or []) or "idle"
        print(f"  {worker['id']:<40} pid {worker.get('pid')} on {worker.get('host')}, since "
              f"{str(worker.get('started'))[:19]}: {jobs}", file=out)
    print(f"queues ({len(state['jobs'])} jobs):", file=out)
    for job in state["jobs"]:
        lost = f", worker {job['lost']} lost" if job["lost"] else ""
        print(f"  {job['spider'] or '?':<14} {job['queued']:>6} queued, {job['seen']:>6} requests seen, "
              f"{job['workers']} workers ({job['busy']} busy){lost}  [job {job['job']}]", file=out)
    for job in state["done"][:5]:
        how = "a worker was lost: next enqueue walks again" if job.get("lost") else "complete"
        print(f"  done: {job.get('spider')} job {job.get('job')} at {str(job.get('finished'))[:19]} ({how})",
              file=out)


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser(
        "worker", help="crawl the jobs queued in Redis (long-running; one per core)",
        description="Takes the crawl jobs `newscrawl enqueue` puts in Redis and crawls them with every "
        "pipeline into PostgreSQL, sharing each job's requests with the other workers on any machine. "
        "Runs until SIGTERM/Ctrl-C (exit 0); exit 3 when Redis or the database is lost.",
    )
    worker.add_argument("-j", "--jobs", type=_positive_int, default=4, metavar="N",
                        help="jobs (spiders) crawled at once by this worker (default %(default)s)")
    enqueue = subparsers.add_parser(
        "enqueue", help="queue crawls of spiders (all scheduled ones by default) for the workers",
        description="Puts one crawl job per spider into Redis for `newscrawl worker` processes; a spider "
        "whose previous job is still queued or running is skipped. Run it from cron on one machine.",
    )
    enqueue.add_argument("spiders", nargs="*", metavar="SPIDER")
    enqueue.add_argument("-a", dest="arg", action="append", metavar="[SPIDER:]NAME=VALUE",
                         help="spider argument, for every spider or (SPIDER:NAME=VALUE) for one")
    for parser in (worker, enqueue):
        parser.add_argument("-s", dest="set", action="append", metavar="NAME=VALUE", help="Scrapy setting")
        parser.add_argument("--database", help="PostgreSQL URL (default: NEWSCRAWL_DATABASE_URL)")
        parser.add_argument("--redis", help="Redis URL (default: NEWSCRAWL_REDIS_URL)")
    worker.set_defaults(func=cmd_worker)
    enqueue.set_defaults(func=cmd_enqueue)

    db = subparsers.add_parser("db", help="database maintenance (upgrade)")
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(db))
    upgrade = actions.add_parser("upgrade", help="migrate the schema to the newest revision (safe to run at once from several machines)")
    upgrade.add_argument("--database", help="SQLAlchemy URL (default: NEWSCRAWL_DATABASE_URL or newscrawl.db)")
    upgrade.set_defaults(func=cmd_db_upgrade)


def cluster_url(args: argparse.Namespace) -> str | None:
    """``--redis`` of ``newscrawl status``, else ``NEWSCRAWL_REDIS_URL`` (None: no cluster to show)."""
    from newscrawl.settings import DISTRIBUTED_REDIS_URL

    return getattr(args, "redis", None) or DISTRIBUTED_REDIS_URL
