"""Each pipeline built from a crawler the way Scrapy builds it, fed real-shaped articles."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from newscrawl import exceptions
from newscrawl.db import ArticleRow, open_database
from newscrawl.items import Article
from newscrawl.pipelines import CleanPipeline, DeduplicatePipeline, StorePipeline, ValidatePipeline
from newscrawl.pipelines.store import MAX_PENDING_BATCHES
from newscrawl.spiders.japantoday import JapanTodaySpider
from newscrawl.spiders.news import NewsSpider
from newscrawl.spiders.taipeitimes import TaipeiTimesSpider
from newscrawl.text import content_hash

RAW_BODY = "\n\n".join(
    [
        "Japanese and U.S.\u00a0defense chiefs agreed in their meeting last week to cooperate, "
        "Kyodo\u200b News reported\u2060 on Sunday.",
        "Join us for an unforgettable evening of networking, aloha-inspired live music by SHEN "
        "and free flowing drinks and buffet at TWO ROOMS NIHOMBASHI. Get your ticket now for a "
        "50% Discount. Only 50 Early Bird Tickets Available.",
        "No immediate comment   from U.S. Embassy in Japan was available.",
        "© Thomson Reuters 2021.",
    ]
)


def raw_article(**overrides: Any) -> Article:
    article = Article(
        url="https://japantoday.com/category/politics/japan-u.s.-defense-chiefs",
        source="japantoday",
        section="politics",
        title="  Japan, U.S. defense chiefs\u200b affirm cooperation on Taiwan ",
        body=RAW_BODY,
        published_raw="2021-03-22 06:05",
        dateline="TOKYO",
        comment_count=0,
    )
    return replace(article, **overrides)


#: The crawl's database owner, which the store takes its engine from (project settings enable it).
WITH_DATABASE = {"EXTENSIONS": {"newscrawl.extensions.database.Database": 0}}


def crawler_for(settings: dict[str, Any] | None = None, spidercls: type = JapanTodaySpider, **spider_args: str) -> Any:
    crawler = get_crawler(spidercls, settings_dict={**WITH_DATABASE, **(settings or {})})
    crawler.spider = crawler._create_spider(**spider_args)
    crawler.stats.open_spider()
    return crawler


def cleaned(article: Article, crawler: Any = None) -> Article:
    pipeline = build_from_crawler(CleanPipeline, crawler or crawler_for())
    return pipeline.process_item(article)


def test_clean_normalises_text_strips_promo_and_splits_credit() -> None:
    crawler = crawler_for()
    item = cleaned(raw_article(), crawler)
    assert item.title == "Japan, U.S. defense chiefs affirm cooperation on Taiwan"
    assert item.body == (
        "Japanese and U.S. defense chiefs agreed in their meeting last week to cooperate, "
        "Kyodo News reported on Sunday.\n\n"
        "No immediate comment from U.S. Embassy in Japan was available."
    )
    assert item.credit == "Reuters"
    assert item.credit_lines == ["© Thomson Reuters 2021."]
    assert item.word_count == len(item.body.split())
    assert item.content_hash == content_hash(item.title, item.body)
    assert crawler.stats.get_value("clean/boilerplate/promo") == 1


# Paragraphs that are Japan Today chrome, and could be prose anywhere else.
SPIDER_ARGS = {NewsSpider: {"start_url": "https://example.com/politics/"}}
JAPANTODAY_CHROME = ["Apply Now", "Facebook users", "Top jobs in Japan", "0 ( +2 / -2 )",
                     "Articles, Offers & Useful Resources", "Nature"]


@pytest.mark.parametrize(
    ("spidercls", "kept"),
    [(JapanTodaySpider, []), (TaipeiTimesSpider, JAPANTODAY_CHROME), (NewsSpider, JAPANTODAY_CHROME)],
    ids=["japantoday-strips-its-own", "taipeitimes-keeps", "news-keeps"],
)
def test_site_boilerplate_applies_only_to_its_own_site(spidercls: type, kept: list[str]) -> None:
    body = "\n\n".join(["Real text.", *JAPANTODAY_CHROME])
    item = cleaned(raw_article(body=body), crawler_for(spidercls=spidercls, **SPIDER_ARGS.get(spidercls, {})))
    assert item.body.split("\n\n") == ["Real text.", *kept]


def test_generic_boilerplate_applies_to_every_site() -> None:
    body = "Real text.\n\nShare this article on Facebook\n\n12 Comments"
    for spidercls in (JapanTodaySpider, TaipeiTimesSpider, NewsSpider):
        crawler = crawler_for(spidercls=spidercls, **SPIDER_ARGS.get(spidercls, {}))
        assert cleaned(raw_article(body=body), crawler).body == "Real text."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-03-22 06:05", datetime(2021, 3, 21, 21, 5, tzinfo=timezone.utc)),
        ("2026-06-01T14:30:00+09:00", datetime(2026, 6, 1, 5, 30, tzinfo=timezone.utc)),
        ("2026-06-01T05:30:00Z", datetime(2026, 6, 1, 5, 30, tzinfo=timezone.utc)),
    ],
    ids=["japan-time-no-offset", "iso-offset", "iso-z"],
)
def test_clean_turns_dates_into_utc_using_the_spiders_zone(raw: str, expected: datetime) -> None:
    item = cleaned(raw_article(published_raw=raw))
    assert item.published_at == expected
    assert item.published_at.tzinfo == timezone.utc


def test_clean_takes_the_dateline_prefix_and_wire_credit_from_the_first_paragraph() -> None:
    body = "TOKYO (AP) — Japan's ruling party chose a new leader.\n\nSecond paragraph."
    item = cleaned(raw_article(body=body, dateline=None))
    assert item.dateline == "TOKYO"
    assert item.credit == "AP"
    assert item.body == "Japan's ruling party chose a new leader.\n\nSecond paragraph."


def validate(article: Article, settings: dict[str, Any] | None = None) -> Article:
    return build_from_crawler(ValidatePipeline, crawler_for(settings)).process_item(article)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"expired": True}, exceptions.ExpiredArticle),
        ({"title": None}, exceptions.MissingField),
        ({"body": "Login to comment\n\nFacebook users"}, exceptions.EmptyBody),
        ({"body": None}, exceptions.EmptyBody),
        ({"published_raw": None}, exceptions.MissingField),
        ({"published_raw": "not a date at all"}, exceptions.UnparseableDate),
        ({"published_raw": "1985-01-01 10:00"}, exceptions.ImplausibleDate),
        ({"published_raw": "2999-01-01 10:00"}, exceptions.ImplausibleDate),
    ],
    ids=["expired", "no-title", "only-boilerplate", "no-body", "no-date", "bad-date", "too-old", "future"],
)
def test_validate_drops_bad_articles_with_a_typed_reason(
    overrides: dict[str, Any], reason: type[Exception]
) -> None:
    with pytest.raises(reason):
        validate(cleaned(raw_article(**overrides)))


def test_validate_passes_a_good_article_and_forgets_an_absurd_modified_date() -> None:
    item = validate(cleaned(raw_article(modified_raw="2999-01-01T00:00:00Z")))
    assert item.published_at is not None and item.modified_at is None


def test_validate_earliest_year_is_a_setting() -> None:
    item = cleaned(raw_article(published_raw="1985-01-01 10:00"))
    assert validate(item, {"VALIDATE_EARLIEST_YEAR": 1980}).published_at.year == 1985


def test_dedup_drops_repeated_urls_and_repeated_content() -> None:
    dedup = build_from_crawler(DeduplicatePipeline, crawler_for())
    first = cleaned(raw_article())
    assert dedup.process_item(first) is first
    with pytest.raises(exceptions.DuplicateUrl):
        dedup.process_item(cleaned(raw_article()))
    copy = cleaned(raw_article(url="https://japantoday.com/category/politics/copy-of-it"))
    with pytest.raises(exceptions.DuplicateContent):
        dedup.process_item(copy)


def test_dedup_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured):
        build_from_crawler(DeduplicatePipeline, crawler_for({"DEDUP_ENABLED": False}))


@pytest.mark.parametrize(
    ("writer_thread", "batch_size"), [(True, 50), (True, 1), (False, 1)],
    ids=["writer-one-batch", "writer-batch-per-item", "in-the-crawl-thread"],
)
def test_store_upserts_through_the_pipeline(db_url: str, writer_thread: bool, batch_size: int) -> None:
    crawler = crawler_for({"DATABASE_URL": db_url, "STORE_WRITER_THREAD": writer_thread, "STORE_BATCH_SIZE": batch_size})
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    item = validate(cleaned(raw_article()))
    store.process_item(item)
    store.process_item(item)
    edited = validate(cleaned(raw_article(body=RAW_BODY.replace("Sunday", "Monday"))))
    store.process_item(edited)
    store.close_spider()
    store.database.close()  # the crawl's owner does this when the engine stops
    assert crawler.stats.get_value("store/inserted") == 1
    assert crawler.stats.get_value("store/unchanged") == 1
    assert crawler.stats.get_value("store/updated") == 1
    engine = open_database(db_url)
    with Session(engine) as session:
        row = session.scalars(select(ArticleRow)).one()
        assert "Monday" in row.body and len(row.revisions) == 1
        assert row.published_at == datetime(2021, 3, 21, 21, 5, tzinfo=timezone.utc)
        assert row.credit == "Reuters" and row.dateline == "TOKYO" and row.comment_count == 0
        assert row.last_seen_at - row.first_seen_at < timedelta(minutes=1)
    engine.dispose()


def test_store_writes_from_its_own_thread_and_never_falls_far_behind(sqlite_url: str) -> None:
    crawler = crawler_for({"DATABASE_URL": sqlite_url, "STORE_BATCH_SIZE": 1})
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    writers: set[str] = set()

    def record_thread(*_: Any) -> None:
        writers.add(threading.current_thread().name)

    assert store.engine is not None
    event.listen(store.engine, "before_cursor_execute", record_thread)
    backlog = []
    for number in range(40):
        store.process_item(validate(cleaned(raw_article(
            url=f"https://japantoday.com/category/politics/story-{number}",
            body=RAW_BODY.replace("Sunday", f"day {number}"),
        ))))
        backlog.append(len(store.writes))
    store.close_spider()
    store.database.close()  # the crawl's owner does this when the engine stops
    assert max(backlog) <= MAX_PENDING_BATCHES
    assert writers and all(name.startswith("newscrawl-store") for name in writers)
    assert crawler.stats.get_value("store/inserted") == 40
    assert crawler.stats.get_value("store/batches") == 40
    engine = open_database(sqlite_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == 40
    engine.dispose()


def test_store_fails_loudly_when_the_database_is_unreachable() -> None:
    crawler = crawler_for({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    store = build_from_crawler(StorePipeline, crawler)
    with pytest.raises(exceptions.DatabaseUnavailable, match="cannot open database"):
        store.open_spider()
