"""Crawl jobs in Redis: their keys, who works on them, when one is done, and its final bookkeeping.

A job is one enqueued crawl of one spider with its arguments. Its requests live in a
scrapy-redis priority queue and its request fingerprints in a set of its own (so the next
enqueue of the spider reads its listings again: the ``articles`` table, not Redis, is the
seen-state). Each worker crawling it is a member, ``1`` while it holds requests and ``0``
once idle; a member whose heartbeat key expired (a killed worker) is dropped and the job is
marked ``lost``, so its listing walk stays unfinished and the next enqueue walks it whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import socket
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newscrawl.db.resume import Walk, finish_walk
from newscrawl.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)

#: Redis errors that mean the server is gone or unreachable (a worker stops on them).
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
#: Finished jobs kept for ``newscrawl status``.
DONE_KEPT = 50


_reported: set[str] = set()


def report_lost(url: str, exc: Exception) -> None:
    """Logs the loss of the Redis at ``url`` once per process, however many components notice it."""
    if url not in _reported:
        _reported.add(url)
        logger.error("lost the connection to Redis at %s (%s): the worker stops its crawls", safe_redis_url(url),
                     exc)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (no I/O yet): short timeouts, so a lost server is noticed in seconds."""
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5,
                                health_check_interval=30)


def safe_redis_url(url: str) -> str:
    """``url`` with any password hidden."""
    try:
        parsed = redis.connection.parse_url(url)
    except ValueError:
        return "<unparseable Redis URL>"
    host = parsed.get("host") or parsed.get("path", "")
    port = f":{parsed['port']}" if parsed.get("port") else ""
    return f"redis://{host}{port}/{parsed.get('db', 0)}"


class Keys:
    """Every Redis key newscrawl uses, under one prefix (``DISTRIBUTED_REDIS_PREFIX``)."""

    def __init__(self, prefix: str = "newscrawl") -> None:
        self.prefix = prefix
        self.jobs = f"{prefix}:jobs"
        self.workers = f"{prefix}:workers"
        self.done = f"{prefix}:done"
        self.worker_prefix = f"{prefix}:worker:"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def queue(self, job_id: str) -> str:
        return f"{self.job(job_id)}:requests"

    def dupefilter(self, job_id: str) -> str:
        return f"{self.job(job_id)}:dupefilter"

    def busy(self, job_id: str) -> str:
        return f"{self.job(job_id)}:busy"

    def seeded(self, job_id: str) -> str:
        return f"{self.job(job_id)}:seeded"

    def crawl(self, spider: str, args: dict[str, str]) -> str:
        """The claim of a crawl: one job at a time per spider and arguments (a spider may crawl
        several start URLs side by side, each as its own job)."""
        digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.prefix}:crawl:{spider}:{digest}"

    def worker(self, worker_id: str) -> str:
        return f"{self.worker_prefix}{worker_id}"

    def host_slots(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:slots"

    def host_next(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:next"


@dataclass(frozen=True)
class Job:
    """One enqueued crawl: the spider, its ``-a`` arguments and the listing walk begun for it."""

    id: str
    spider: str
    args: dict[str, str] = field(default_factory=dict)
    walk: dict[str, Any] | None = None
    created: str = ""

    def walk_state(self) -> Walk | None:
        """The :class:`~newscrawl.db.resume.Walk` the enqueue began (None for a spider without one)."""
        if self.walk is None:
            return None
        values = dict(self.walk)
        values["since"] = date.fromisoformat(values["since"]) if values.get("since") else None
        return Walk(**values)


@dataclass(frozen=True)
class CrawlContext:
    """What a component of a worker's crawl needs: its job, a Redis client, the keys, the worker."""

    job: Job
    server: redis.Redis
    keys: Keys
    worker_id: str


def crawl_context(crawler: Crawler, component: str) -> CrawlContext:
    """The context of a ``newscrawl worker`` crawl; ``NotConfigured`` in any other crawl."""
    settings = crawler.settings
    job = getattr(crawler.spidercls, "newscrawl_job", None)
    url = settings.get("DISTRIBUTED_REDIS_URL")
    if job is None or not url:
        raise NotConfigured(f"{component} runs in the crawls of `newscrawl worker` only")
    return CrawlContext(job, connect(url), Keys(settings.get("DISTRIBUTED_REDIS_PREFIX", "newscrawl")),
                        settings.get("DISTRIBUTED_WORKER_ID", ""))


def walk_record(walk: Walk | None) -> dict[str, Any] | None:
    if walk is None:
        return None
    values = asdict(walk)
    values["since"] = walk.since.isoformat() if walk.since else None
    return values


def new_job_id(spider: str) -> str:
    return f"{spider}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def claim_crawl(client: redis.Redis, keys: Keys, spider: str, args: dict[str, str], job_id: str) -> str | None:
    """Make ``job_id`` the job of this crawl (spider and arguments); the id of its unfinished job
    instead, if it has one."""
    claim = keys.crawl(spider, args)
    if client.set(claim, job_id, nx=True):
        return None
    current = client.get(claim)
    if current and not client.sismember(keys.jobs, current) and not client.exists(keys.job(current)):
        # A leftover pointer (its job was cleaned up by hand): take it over.
        client.set(claim, job_id)
        return None
    return current


def create_job(client: redis.Redis, keys: Keys, job: Job) -> None:
    """Publish ``job`` (already claimed for its spider): workers pick it up at their next poll."""
    record = {"spider": job.spider, "args": json.dumps(job.args), "walk": json.dumps(job.walk),
              "created": job.created}
    with client.pipeline() as pipe:
        pipe.hset(keys.job(job.id), mapping=record)
        pipe.sadd(keys.jobs, job.id)
        pipe.execute()


def load_job(client: redis.Redis, keys: Keys, job_id: str) -> Job | None:
    data = client.hgetall(keys.job(job_id))
    if not data or "spider" not in data:
        return None
    return Job(job_id, data["spider"], json.loads(data.get("args") or "{}"),
               json.loads(data.get("walk") or "null"), data.get("created", ""))


# Drops members whose heartbeat key is gone (marking the job lost) and counts busy ones.
_PRUNE = """
local working = 0
local members = redis.call('HGETALL', KEYS[3])
for i = 1, #members, 2 do
  if redis.call('EXISTS', ARGV[1] .. members[i]) == 0 then
    redis.call('HDEL', KEYS[3], members[i])
    redis.call('HSET', KEYS[1], 'lost', members[i])
  elseif members[i + 1] ~= '0' then
    working = working + 1
  end
end
"""

#: KEYS job, queue, busy, seeded; ARGV worker key prefix, worker id. 1 when the job has no work
#: left anywhere (seeded, queue empty, every live member idle).
SETTLED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
redis.call('HSET', KEYS[3], ARGV[2], '0')
""" + _PRUNE + """
if redis.call('EXISTS', KEYS[4]) == 1 and redis.call('ZCARD', KEYS[2]) == 0 and working == 0 then
  return 1
end
return 0
"""

#: KEYS job, queue, busy, seeded; ARGV worker key prefix, worker id ('' for none), clean ('1'/'0').
#: The member leaves; 1 when the caller is the one to finalize the job (no member left, no work).
LEAVE = """
if ARGV[2] ~= '' then
  redis.call('HDEL', KEYS[3], ARGV[2])
  if ARGV[3] ~= '1' then redis.call('HSET', KEYS[1], 'lost', ARGV[2]) end
end
""" + _PRUNE + """
if redis.call('HLEN', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[4]) == 1
   and redis.call('ZCARD', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HSETNX', KEYS[1], 'finalizing', ARGV[2]) == 1 then return 1 end
end
return 0
"""

#: KEYS queue, busy; ARGV worker id. Pops the best request and marks the worker busy, atomically,
#: so a job is never seen settled while a request is between the queue and a worker.
POP = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0)
if found[1] then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
  redis.call('HSET', KEYS[2], ARGV[1], '1')
end
return found[1]
"""


def _job_keys(keys: Keys, job_id: str) -> list[str]:
    return [keys.job(job_id), keys.queue(job_id), keys.busy(job_id), keys.seeded(job_id)]


def settled(client: redis.Redis, keys: Keys, job_id: str, worker_id: str) -> bool:
    """Marks ``worker_id`` idle in the job; True when nobody has work left in it."""
    return bool(client.eval(SETTLED, 4, *_job_keys(keys, job_id), keys.worker_prefix, worker_id))


def leave(client: redis.Redis, keys: Keys, job_id: str, worker_id: str, clean: bool) -> bool:
    """``worker_id`` stops working on the job (``clean``: its crawl finished, its rows are stored);
    True when the caller must :func:`finalize` it. ``worker_id=''`` only reaps dead members."""
    return bool(client.eval(LEAVE, 4, *_job_keys(keys, job_id), keys.worker_prefix, worker_id,
                            "1" if clean else "0"))


#: KEYS job, busy; ARGV worker id. Joins only a job that exists and is not being finalized, so a
#: job is never finalized under a worker that is opening a crawl of it.
JOIN = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'finalizing') == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], '1')
return 1
"""


def join(client: redis.Redis, keys: Keys, job_id: str, worker_id: str) -> bool:
    """``worker_id`` works on the job from now on (busy until its first idle moment); False when
    the job has ended meanwhile."""
    return bool(client.eval(JOIN, 2, keys.job(job_id), keys.busy(job_id), worker_id))


def needs_work(client: redis.Redis, keys: Keys, job_id: str) -> bool:
    """True while the job is not yet seeded or has queued requests (and is not being finalized)."""
    with client.pipeline() as pipe:
        pipe.exists(keys.seeded(job_id)).zcard(keys.queue(job_id)).hexists(keys.job(job_id), "finalizing")
        seeded, queued, finalizing = pipe.execute()
    return not finalizing and (not seeded or queued > 0)


def finalize(client: redis.Redis, keys: Keys, job_id: str, engine: Engine | None) -> dict[str, Any]:
    """The job's last step: its walk is marked finished unless a member was lost; its keys go."""
    data = client.hgetall(keys.job(job_id))
    job = load_job(client, keys, job_id)
    lost = data.get("lost")
    walk = job.walk_state() if job else None
    walk_finished = False
    if walk is not None and not lost and engine is not None:
        try:
            with Session(engine) as session, session.begin():
                finish_walk(session, walk.id, datetime.now(timezone.utc))
            walk_finished = True
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            logger.warning("job %s: resume point not closed (%s): the next enqueue walks it again", job_id, exc)
    record = {"job": job_id, "spider": data.get("spider"), "created": data.get("created"),
              "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "lost": lost, "walk_finished": walk_finished}
    with client.pipeline() as pipe:
        pipe.lpush(keys.done, json.dumps(record)).ltrim(keys.done, 0, DONE_KEPT - 1)
        pipe.delete(*_job_keys(keys, job_id), keys.dupefilter(job_id))
        pipe.srem(keys.jobs, job_id)
        pipe.execute()
    if job is not None:
        # Only when it still points at this job (compare-and-delete).
        client.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                    1, keys.crawl(job.spider, job.args), job_id)
    if lost:
        logger.warning("job %s (%s) ended with worker %s lost: the next enqueue walks its listing again",
                       job_id, data.get("spider"), lost)
    return record


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def heartbeat(client: redis.Redis, keys: Keys, worker_id: str, info: dict[str, Any], ttl: float) -> None:
    """Says ``worker_id`` is alive for ``ttl`` seconds more."""
    with client.pipeline() as pipe:
        pipe.set(keys.worker(worker_id), json.dumps(info), px=int(ttl * 1000))
        pipe.sadd(keys.workers, worker_id)
        pipe.execute()


def unregister(client: redis.Redis, keys: Keys, worker_id: str) -> None:
    with client.pipeline() as pipe:
        pipe.delete(keys.worker(worker_id)).srem(keys.workers, worker_id)
        pipe.execute()


def snapshot(client: redis.Redis, keys: Keys) -> dict[str, Any]:
    """Live workers, active jobs with their queue lengths and members, and the last finished jobs."""
    workers = []
    for worker_id in sorted(client.smembers(keys.workers)):
        info = client.get(keys.worker(worker_id))
        if info is None:
            client.srem(keys.workers, worker_id)  # its heartbeat expired: gone
            continue
        workers.append({"id": worker_id, **json.loads(info)})
    jobs = []
    for job_id in sorted(client.smembers(keys.jobs)):
        job = load_job(client, keys, job_id)
        members = client.hgetall(keys.busy(job_id))
        jobs.append({"job": job_id, "spider": job.spider if job else None,
                     "queued": client.zcard(keys.queue(job_id)),
                     "seen": client.scard(keys.dupefilter(job_id)),
                     "workers": len(members), "busy": sum(1 for v in members.values() if v != "0"),
                     "lost": client.hget(keys.job(job_id), "lost")})
    done = [json.loads(entry) for entry in client.lrange(keys.done, 0, 9)]
    return {"workers": workers, "jobs": jobs, "done": done}
