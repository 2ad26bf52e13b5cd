"""Tests for newscrawl.dates: parsing page dates into UTC and judging them."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from newscrawl.dates import implausible_reason, parse_datetime, to_utc

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "default_tz", "expected"),
    [
        # Japan Today 2018 `time[datetime]`: Japan time, no offset
        ("2021-03-22 06:05", "Asia/Tokyo", utc(2021, 3, 21, 21, 5)),
        ("2021-03-22 06:05:07", "Asia/Tokyo", utc(2021, 3, 21, 21, 5, 7)),
        ("2021-03-22 06:05", "UTC", utc(2021, 3, 22, 6, 5)),
        ("2021-03-22T06:05", "Asia/Tokyo", utc(2021, 3, 21, 21, 5)),
        # ISO-8601 with an offset: the default zone is irrelevant
        ("2026-06-01T14:30:00+09:00", "America/New_York", utc(2026, 6, 1, 5, 30)),
        ("2026-06-01T14:30:00+0900", "UTC", utc(2026, 6, 1, 5, 30)),
        ("2026-06-01T05:30:00Z", "Asia/Tokyo", utc(2026, 6, 1, 5, 30)),
        ("2026-06-01T05:30:00.123Z", "Asia/Tokyo", utc(2026, 6, 1, 5, 30, 0, 123000)),
        ("2026-06-01T05:30:00.123456789+00:00", "UTC", utc(2026, 6, 1, 5, 30, 0, 123456)),
        ("2026-06-01T00:30:00-05:00", "UTC", utc(2026, 6, 1, 5, 30)),
        ("2023-09-28T21:46:53+00:00", "Asia/Tokyo", utc(2023, 9, 28, 21, 46, 53)),  # feed TSV
        ("2021-03-22 06:05 JST", "UTC", utc(2021, 3, 21, 21, 5)),
        # Date only: midnight in the default zone
        ("2021-03-22", "Asia/Tokyo", utc(2021, 3, 21, 15, 0)),
        ("2021-03-22", "UTC", utc(2021, 3, 22)),
        # RFC 2822 (feeds)
        ("Mon, 22 Mar 2021 06:05:00 +0900", "UTC", utc(2021, 3, 21, 21, 5)),
        ("Mon, 22 Mar 2021 06:05:00 GMT", "Asia/Tokyo", utc(2021, 3, 22, 6, 5)),
        ("22 Mar 2021 06:05:00 -0400", "UTC", utc(2021, 3, 22, 10, 5)),
        # Page strings
        ("Mar. 22, 2021 | 06:05 am JST", "UTC", utc(2021, 3, 21, 21, 5)),
        ("March 22, 2021 6:05 AM JST", "UTC", utc(2021, 3, 21, 21, 5)),
        ("March 22, 2021 6:05 PM JST", "UTC", utc(2021, 3, 22, 9, 5)),
        ("March 22, 2021 12:05 am JST", "UTC", utc(2021, 3, 21, 15, 5)),
        ("March 22, 2021 12:05 pm JST", "UTC", utc(2021, 3, 22, 3, 5)),
        ("March 22, 2021 6:05 p.m. EDT", "UTC", utc(2021, 3, 22, 22, 5)),
        ("Sept. 5, 2023 | 11:30 pm JST", "UTC", utc(2023, 9, 5, 14, 30)),
        ("Monday, March 22, 2021", "Asia/Tokyo", utc(2021, 3, 21, 15, 0)),
        ("22 March 2021", "Asia/Tokyo", utc(2021, 3, 21, 15, 0)),
        ("22 March 2021 06:05 UTC", "Asia/Tokyo", utc(2021, 3, 22, 6, 5)),
        ("January 5, 2024 8:00 AM EST", "UTC", utc(2024, 1, 5, 13, 0)),
        ("July 4, 2024 9:00 AM PDT", "UTC", utc(2024, 7, 4, 16, 0)),
        ("December 1, 2024 9:00 AM PST", "UTC", utc(2024, 12, 1, 17, 0)),
        # An abbreviation not in the table: read in the default zone
        ("March 22, 2021 6:05 AM CST", "Asia/Tokyo", utc(2021, 3, 21, 21, 5)),
        ("  2021-03-22\u00a006:05 ", "Asia/Tokyo", utc(2021, 3, 21, 21, 5)),
        # DST in the default zone: 2024-07-01 noon New York is EDT
        ("2024-07-01 12:00", "America/New_York", utc(2024, 7, 1, 16, 0)),
        ("2024-01-01 12:00", "America/New_York", utc(2024, 1, 1, 17, 0)),
    ],
    ids=[
        "jt-2018-jst", "jt-2018-seconds", "naive-utc", "iso-t-naive", "iso-offset",
        "iso-offset-no-colon", "iso-z", "iso-z-fraction", "iso-nanoseconds", "iso-negative",
        "feed-tsv", "iso-jst-abbr", "date-only-tokyo", "date-only-utc", "rfc2822-offset",
        "rfc2822-gmt", "rfc2822-no-weekday", "jt-pipe", "month-name-am", "pm", "midnight-12am",
        "noon-12pm", "dotted-pm-edt", "sept", "weekday-date-only", "day-month-year",
        "day-month-year-time-utc", "est", "pdt", "pst", "unknown-abbr", "messy-whitespace",
        "dst-summer", "dst-winter",
    ],
)
def test_parse_datetime(raw, default_tz, expected):
    parsed = parse_datetime(raw, default_tz)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        None, "", "   ", "garbage", "yesterday", "2021-13-45", "2021-02-30", "2021-03-22 25:00",
        "2021-03-22 06:61", "0000-01-01", "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00+09:00", "March 22, 2021 13:05 pm", "March 22, 2021 0:05 am",
        "Foo 22, 2021", "32 March 2021", "Mon, 99 Mar 2021 06:05:00 +0900",
        "2021-03-22T06:05+99:99",
        "\x00", "2021",
    ],
    ids=[
        "none", "empty", "blank", "garbage", "relative", "month-13", "feb-30", "hour-25",
        "minute-61", "year-0", "overflow-high", "overflow-low", "pm-hour-13", "am-hour-0",
        "unknown-month", "day-32", "rfc-day-99", "bad-offset", "nul", "year-only",
    ],
)
def test_parse_datetime_unreadable(raw):
    assert parse_datetime(raw, "Asia/Tokyo") is None


def test_parse_datetime_bad_default_zone_is_a_config_error():
    with pytest.raises(ZoneInfoNotFoundError):
        parse_datetime("2021-03-22 06:05", "Mars/Olympus")


@pytest.mark.parametrize(
    ("dt", "default_tz", "expected"),
    [
        (datetime(2021, 3, 22, 6, 5), "Asia/Tokyo", utc(2021, 3, 21, 21, 5)),
        (datetime(2021, 3, 22, 6, 5), "UTC", utc(2021, 3, 22, 6, 5)),
        (datetime(2021, 3, 22, 6, 5, tzinfo=ZoneInfo("Asia/Tokyo")), "UTC",
         utc(2021, 3, 21, 21, 5)),
        (datetime(2021, 3, 22, 6, 5, tzinfo=timezone(timedelta(hours=-4))), "Asia/Tokyo",
         utc(2021, 3, 22, 10, 5)),
        (utc(2021, 3, 22, 6, 5), "Asia/Tokyo", utc(2021, 3, 22, 6, 5)),
    ],
    ids=["naive-tokyo", "naive-utc", "zoneinfo", "fixed-offset", "already-utc"],
)
def test_to_utc(dt, default_tz, expected):
    converted = to_utc(dt, default_tz)
    assert converted == expected
    assert converted.tzinfo is UTC


NOW = utc(2026, 6, 10, 12, 0)


@pytest.mark.parametrize(
    ("dt", "kwargs", "expected"),
    [
        (utc(2026, 6, 10, 11, 0), {}, None),
        (NOW, {}, None),
        (NOW + timedelta(hours=6), {}, None),
        (NOW + timedelta(hours=6, seconds=1), {}, "future"),
        (NOW + timedelta(days=365), {}, "future"),
        (NOW + timedelta(hours=2), {"future_slack": timedelta(hours=1)}, "future"),
        (utc(1990, 1, 1), {}, None),
        (utc(1989, 12, 31, 23, 59), {}, "too_old"),
        (utc(1970, 1, 1), {}, "too_old"),
        (utc(2010, 1, 1), {"earliest_year": 2015}, "too_old"),
        # 1990-01-01 05:00 in Tokyo is still 1989 in UTC
        (datetime(1990, 1, 1, 5, 0, tzinfo=ZoneInfo("Asia/Tokyo")), {}, "too_old"),
        # 20:00 in Tokyo is 11:00 UTC: an hour ago, not fourteen hours ahead
        (datetime(2026, 6, 10, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo")), {}, None),
    ],
    ids=["past-hour", "now", "slack-edge", "past-slack", "next-year", "custom-slack",
         "earliest-edge", "before-earliest", "epoch", "custom-earliest", "compared-in-utc",
         "aware-other-zone"],
)
def test_implausible_reason(dt, kwargs, expected):
    assert implausible_reason(dt, NOW, **kwargs) == expected


def test_implausible_reason_accepts_other_zone_for_now():
    now_tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    assert implausible_reason(NOW + timedelta(hours=7), now_tokyo) == "future"
    assert implausible_reason(NOW + timedelta(hours=5), now_tokyo) is None
