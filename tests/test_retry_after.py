"""RetryAfterMiddleware: the Retry-After parser (truth table) and the middleware built from a crawler."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from newscrawl.middlewares import retry_after
from newscrawl.middlewares.retry_after import RetryAfterMiddleware, parse_retry_after

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (b"1", 1.0),
        ("  7 ", 7.0),
        ("0", 0.0),
        ("Wed, 25 Nov 2026 12:00:30 GMT", 30.0),  # IMF-fixdate
        ("Wednesday, 25-Nov-26 12:01:00 GMT", 60.0),  # obsolete RFC 850 date
        ("Wed Nov 25 12:00:05 2026", 5.0),  # asctime: no zone, read as GMT
        ("Wed, 25 Nov 2026 11:00:00 GMT", 0.0),  # in the past: go at once
        ("Wed, 25 Nov 2026 13:00:00 +0100", 0.0),  # an offset is honoured (= 12:00 GMT)
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),  # delay-seconds is 1*DIGIT
        ("1.5", None),
        ("١٢", None),  # Arabic-Indic digits are not DIGIT
        ("Wed, 32 Nov 2026 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | bytes | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


class _Spider(Spider):
    name = "retry_after_test"


def middleware(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> tuple[RetryAfterMiddleware, list[float]]:
    """The middleware built the way Scrapy builds it, and the list of seconds it slept."""
    crawler = get_crawler(_Spider, {"RETRY_TIMES": 2, **settings})
    crawler.spider = crawler._create_spider()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(retry_after, "sleep", fake_sleep)
    return build_from_crawler(RetryAfterMiddleware, crawler), slept


def respond(mw: RetryAfterMiddleware, status: int, header: str | None, **meta: Any) -> tuple[Request, Response]:
    request = Request("http://127.0.0.1/page", meta=meta)
    headers = {"Retry-After": header} if header is not None else {}
    response = Response(request.url, status=status, headers=headers, request=request)
    return request, asyncio.run(mw.process_response(request, response))


def stats(mw: RetryAfterMiddleware) -> dict[str, Any]:
    assert mw.crawler.stats is not None
    return {k: v for k, v in mw.crawler.stats.get_stats().items() if k.startswith("retry_after/")}


@pytest.mark.parametrize("status", [429, 503])
def test_waits_as_long_as_asked_then_passes_the_response_on_for_retry(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    mw, slept = middleware(monkeypatch)
    request, result = respond(mw, status, "3")
    assert result.status == status and not request.meta.get("dont_retry")
    assert slept == [3.0]
    assert stats(mw) == {"retry_after/waited": 1, "retry_after/waited_seconds": 3.0}


def test_a_wait_over_the_cap_is_not_retried_and_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    mw, slept = middleware(monkeypatch, RETRY_AFTER_MAX_SECONDS=10)
    request, result = respond(mw, 429, "11")
    assert result.status == 429 and request.meta["dont_retry"] is True
    assert slept == []
    assert stats(mw) == {"retry_after/gave_up": 1}


@pytest.mark.parametrize(
    ("status", "header", "meta", "counted"),
    [
        (200, "5", {}, {}),  # not an error
        (500, "5", {}, {}),  # retried by RetryMiddleware, but not one of RETRY_AFTER_HTTP_CODES
        (429, None, {}, {}),  # no header: RetryMiddleware retries at once, as before
        (429, "later", {}, {"retry_after/unreadable": 1}),
        (429, "5", {"retry_times": 2}, {}),  # retries used up: waiting would be for nothing
        (429, "5", {"max_retry_times": 0}, {}),
        (429, "5", {"dont_retry": True}, {}),
        (503, "0", {}, {"retry_after/waited": 1, "retry_after/waited_seconds": 0.0}),
    ],
)
def test_no_wait(
    monkeypatch: pytest.MonkeyPatch, status: int, header: str | None, meta: dict[str, Any], counted: dict[str, Any]
) -> None:
    mw, slept = middleware(monkeypatch)
    request, result = respond(mw, status, header, **meta)
    assert result.status == status
    assert slept == []
    assert stats(mw) == counted
    assert request.meta.get("dont_retry", False) == meta.get("dont_retry", False)


@pytest.mark.parametrize(
    "settings",
    [{"RETRY_AFTER_ENABLED": False}, {"RETRY_ENABLED": False}, {"RETRY_HTTP_CODES": [500]}],
)
def test_switched_off(monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any]) -> None:
    with pytest.raises(NotConfigured):
        middleware(monkeypatch, **settings)


def test_the_project_settings_put_it_between_retry_and_the_downloader() -> None:
    from scrapy.utils.project import get_project_settings

    order = get_project_settings().getwithbase("DOWNLOADER_MIDDLEWARES")
    assert order["scrapy.downloadermiddlewares.retry.RetryMiddleware"] < order[
        "newscrawl.middlewares.retry_after.RetryAfterMiddleware"
    ] < order["scrapy.downloadermiddlewares.stats.DownloaderStats"]
