"""The distributed mode's parts on a real redis-server and PostgreSQL: the request codec, the job
bookkeeping (settled, lost, finalized), the host gate, the per-spider advisory lock, the refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis
from scrapy import Request
from scrapy.utils.request import request_from_dict

from newscrawl.cli import CommandError
from newscrawl.cli.lock import advisory_lock
from newscrawl.distributed import serializer
from newscrawl.distributed.jobs import (
    Job,
    Keys,
    claim_crawl,
    create_job,
    finalize,
    heartbeat,
    join,
    leave,
    needs_work,
    settled,
    snapshot,
)
from newscrawl.distributed.politeness import ACQUIRE
from tests.conftest import run_cli

KEYS = Keys()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


class Spiderish:
    name = "japantoday"

    def parse_article(self, response: object) -> None:
        pass


def test_a_request_survives_the_json_codec_with_bytes_headers_body_and_meta() -> None:
    spider = Spiderish()
    request = Request("http://example.com/a?b=1", callback=spider.parse_article, method="POST", body=b"\x00\xff",
                      headers={"X-Bin": b"\x01"}, priority=-1, dont_filter=True,
                      meta={"newscrawl_listing_page": 3, "depth": 2, "redirect_urls": ["http://x/"], "$odd": {1: b"z"}},
                      cb_kwargs={"n": 1})
    text = serializer.dumps(request.to_dict(spider=spider))
    assert isinstance(text, str) and "pickle" not in text
    back = request_from_dict(serializer.loads(text), spider=spider)
    assert (back.url, back.method, back.body, back.priority, back.dont_filter) == (
        request.url, "POST", b"\x00\xff", -1, True)
    assert back.headers.getlist("X-Bin") == [b"\x01"]
    assert back.meta == request.meta and back.cb_kwargs == {"n": 1}
    assert back.callback == spider.parse_article


def test_the_codec_refuses_what_json_cannot_carry() -> None:
    with pytest.raises(TypeError, match="set"):
        serializer.dumps({"meta": {"x": {1, 2}}})


def alive(client: redis.Redis, worker: str) -> None:
    heartbeat(client, KEYS, worker, {"host": "h", "pid": 1}, ttl=30)


def new_job(client: redis.Redis, job_id: str = "j1", args: dict[str, str] | None = None) -> Job:
    job = Job(job_id, "japantoday", args or {}, None, "2026-12-02T00:00:00+00:00")
    assert claim_crawl(client, KEYS, job.spider, job.args, job.id) is None
    create_job(client, KEYS, job)
    return job


def test_a_job_is_settled_only_when_seeded_empty_and_every_live_worker_idle(client: redis.Redis) -> None:
    new_job(client)
    alive(client, "a")
    alive(client, "b")
    join(client, KEYS, "j1", "a")
    join(client, KEYS, "j1", "b")
    assert needs_work(client, KEYS, "j1")  # not seeded yet
    assert not settled(client, KEYS, "j1", "a")  # not seeded
    client.set(KEYS.seeded("j1"), "a")
    client.zadd(KEYS.queue("j1"), {"request": 0})
    assert needs_work(client, KEYS, "j1")
    assert not settled(client, KEYS, "j1", "a")  # a request is queued
    client.delete(KEYS.queue("j1"))
    assert not needs_work(client, KEYS, "j1")
    assert not settled(client, KEYS, "j1", "a")  # b still holds requests
    assert settled(client, KEYS, "j1", "b")  # now both idle
    assert client.hget(KEYS.job("j1"), "lost") is None


def test_a_dead_member_marks_the_job_lost_and_the_last_one_to_leave_finalizes_it(client: redis.Redis) -> None:
    new_job(client)
    alive(client, "a")
    join(client, KEYS, "j1", "a")
    join(client, KEYS, "j1", "dead")  # no heartbeat key: a killed worker
    client.set(KEYS.seeded("j1"), "a")
    client.sadd(KEYS.dupefilter("j1"), "fp")
    assert settled(client, KEYS, "j1", "a")  # the dead member holds nothing any more
    assert client.hget(KEYS.job("j1"), "lost") == "dead"
    assert leave(client, KEYS, "j1", "a", clean=True)
    assert not leave(client, KEYS, "j1", "a", clean=True)  # finalized once only
    record = finalize(client, KEYS, "j1", engine=None)
    assert record["lost"] == "dead" and not record["walk_finished"]
    assert not client.exists(KEYS.job("j1"), KEYS.queue("j1"), KEYS.dupefilter("j1"), KEYS.busy("j1"))
    assert client.smembers(KEYS.jobs) == set()
    assert json.loads(client.lindex(KEYS.done, 0))["job"] == "j1"
    assert not join(client, KEYS, "j1", "late")  # a worker arriving now does not open a crawl of it
    assert settled(client, KEYS, "j1", "late")
    assert not client.exists(KEYS.busy("j1"))
    new_job(client, "j2")  # the crawl may be enqueued again


def test_a_crawl_is_not_enqueued_twice_while_its_job_runs_but_other_arguments_are(client: redis.Redis) -> None:
    new_job(client, "j1", {"start_url": "http://a/"})
    assert claim_crawl(client, KEYS, "japantoday", {"start_url": "http://a/"}, "j2") == "j1"
    assert claim_crawl(client, KEYS, "japantoday", {"start_url": "http://b/"}, "j3") is None


def test_an_unclean_leave_marks_the_job_lost(client: redis.Redis) -> None:
    new_job(client)
    alive(client, "a")
    join(client, KEYS, "j1", "a")
    client.set(KEYS.seeded("j1"), "a")
    client.zadd(KEYS.queue("j1"), {"request": 0})
    assert not leave(client, KEYS, "j1", "a", clean=False)  # requests are left: others take them
    assert client.hget(KEYS.job("j1"), "lost") == "a"


def test_the_host_gate_holds_the_limit_and_a_lease_runs_out(client: redis.Redis) -> None:
    acquire = client.register_script(ACQUIRE)
    slots, nxt = KEYS.host_slots("h"), KEYS.host_next("h")
    assert acquire(keys=[slots, nxt], args=["t1", 2, 300, 0]) == 0
    assert acquire(keys=[slots, nxt], args=["t2", 2, 60_000, 0]) == 0
    assert acquire(keys=[slots, nxt], args=["t3", 2, 60_000, 0]) > 0  # two in flight: wait
    client.zrem(slots, "t2")  # a response came back
    assert acquire(keys=[slots, nxt], args=["t3", 2, 60_000, 0]) == 0
    assert acquire(keys=[slots, nxt], args=["t4", 2, 60_000, 0]) > 0
    time.sleep(0.35)  # t1's holder died: its lease ran out
    assert acquire(keys=[slots, nxt], args=["t4", 2, 60_000, 0]) == 0


def test_the_host_gate_spaces_request_starts_by_the_delay(client: redis.Redis) -> None:
    acquire = client.register_script(ACQUIRE)
    slots, nxt = KEYS.host_slots("h"), KEYS.host_next("h")
    assert acquire(keys=[slots, nxt], args=["t1", 8, 60_000, 400]) == 0
    wait = acquire(keys=[slots, nxt], args=["t2", 8, 60_000, 400])
    assert 0 < wait <= 400


@pytest.mark.postgres
def test_the_crawl_lock_on_postgresql_is_per_spider(postgresql_url: str) -> None:
    with advisory_lock(postgresql_url, ["japantoday"]):
        with pytest.raises(CommandError) as raised:
            with advisory_lock(postgresql_url, ["foxnews", "japantoday"]):
                pass
        assert raised.value.code == 4 and "another crawl is running (advisory lock of japantoday in" in str(raised.value)
        with advisory_lock(postgresql_url, ["foxnews"]):  # another spider runs side by side
            pass
    with advisory_lock(postgresql_url, ["foxnews", "japantoday"]):  # all released
        pass


@pytest.mark.parametrize("command", ["worker", "enqueue"])
def test_sqlite_is_refused_in_one_line(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, command, "--database", "sqlite:///news.db", "--redis", "redis://127.0.0.1:1/0")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"newscrawl {command} needs PostgreSQL" in err and "not sqlite" in err


@pytest.mark.postgres
def test_an_unreachable_redis_is_one_line_and_exit_3(postgresql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "enqueue", "japantoday", "--database", postgresql_url,
                           "--redis", "redis://:secret@127.0.0.1:1/0")
    assert code == 3 and err.count("\n") == 1
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in err and "secret" not in err


@pytest.mark.postgres
def test_enqueue_then_status_shows_the_queue_and_a_second_enqueue_skips_it(
    postgresql_url: str, redis_url: str, client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "enqueue", "japantoday", "foxnews", "--database", postgresql_url,
                             "--redis", redis_url)
    assert code == 0, err
    assert out.count("enqueued job") == 2
    code, out, _ = run_cli(capsys, "enqueue", "japantoday", "--database", postgresql_url, "--redis", redis_url)
    assert code == 0 and "is still queued or running; not enqueued again" in out
    alive(client, "vm:1:ab")
    code, out, _ = run_cli(capsys, "status", "--database", postgresql_url, "--redis", redis_url)
    assert code == 0
    assert "workers (1 at redis://" in out and "vm:1:ab" in out
    assert "queues (2 jobs):" in out and "japantoday" in out and "foxnews" in out
    state = snapshot(client, KEYS)
    walks = [json.loads(client.hget(KEYS.job(j["job"]), "walk")) for j in state["jobs"]]
    assert all(w["max_pages"] == 3 and not w["resuming"] for w in walks)  # each began its listing walk


def test_the_job_scheduler_shares_one_queue_counts_duplicates_and_warns_nothing(
    client: redis.Redis, redis_url: str
) -> None:
    # pytest turns warnings into errors: scrapy-redis' own scheduler would fail here (deprecated
    # stats calls on every queue operation).
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from newscrawl.distributed.scheduler import JobScheduler

    job = new_job(client)
    spider_class = type("JobSpider", (Spider,), {"name": "japantoday", "newscrawl_job": job})
    settings = {"DISTRIBUTED_REDIS_URL": redis_url, "DISTRIBUTED_WORKER_ID": "w1"}
    schedulers = []
    for _ in range(2):  # two workers of one job
        crawler = get_crawler(spider_class, settings)
        scheduler = JobScheduler.from_crawler(crawler)
        scheduler.open(spider_class())
        schedulers.append((crawler, scheduler))
    (first_crawler, first), (second_crawler, second) = schedulers
    assert first.enqueue_request(Request("http://example.com/a", priority=-1))
    assert first.enqueue_request(Request("http://example.com/b"))
    assert not second.enqueue_request(Request("http://example.com/a"))  # seen in this job
    assert second.enqueue_request(Request("http://example.com/a", dont_filter=True))
    assert second_crawler.stats.get_value("dupefilter/filtered") == 1
    assert first_crawler.stats.get_value("scheduler/enqueued/redis") == 2
    assert second.has_pending_requests()
    popped = [second.next_request(), second.next_request(), first.next_request()]
    # Higher priority first (a listing's -1 comes after the articles), whichever worker asks.
    assert sorted(r.url for r in popped[:2]) == ["http://example.com/a", "http://example.com/b"]
    assert (popped[2].url, popped[2].priority) == ("http://example.com/a", -1)
    assert first.next_request() is None and not first.has_pending_requests()
    assert client.hget(KEYS.busy("j1"), "w1") == "1"  # popping marked the worker busy
    assert all(not raw.startswith(b"\x80") for raw in redis.Redis.from_url(redis_url).zrange(KEYS.queue("j1"), 0, -1))
