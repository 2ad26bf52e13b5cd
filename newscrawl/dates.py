"""Publication dates: parse the formats news pages use and express them in UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

# Abbreviations are ambiguous in general (CST is China and Central US), so only these are
# trusted; any other one falls back to the caller's default zone.
_TZ_ABBREVIATIONS: dict[str, tzinfo] = {
    "UTC": timezone.utc,
    "UT": timezone.utc,
    "GMT": timezone.utc,
    "Z": timezone.utc,
    "JST": timezone(timedelta(hours=9), "JST"),
    "EST": timezone(timedelta(hours=-5), "EST"),
    "EDT": timezone(timedelta(hours=-4), "EDT"),
    "PST": timezone(timedelta(hours=-8), "PST"),
    "PDT": timezone(timedelta(hours=-7), "PDT"),
}

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_OFFSET = r"(?P<offset>[+-]\d{2}:?\d{2})"
_ZONE = rf"(?:{_OFFSET}|(?P<abbr>[A-Za-z]{{1,5}}))"
ISO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    rf" ?{_ZONE}?)?",
    re.IGNORECASE,
)
_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?: ?(?P<ampm>[ap])\.? ?m\.?)?"
    rf"(?: {_ZONE})?"
)
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_WEEKDAY = r"(?:[A-Za-z]{3,9}\.?,? )?"
# "Mar. 22, 2021 | 06:05 am JST", "March 22, 2021 6:05 AM JST", "Monday, March 22, 2021"
MONTH_DAY_YEAR = re.compile(
    rf"{_WEEKDAY}{_MONTH} (?P<day>\d{{1,2}}),? (?P<year>\d{{4}})(?:(?: ?[|,@-] ?| at | ){_TIME})?",
    re.IGNORECASE,
)
# "22 March 2021", "Mon, 22 Mar 2021 06:05:00 +0900" (RFC 2822)
DAY_MONTH_YEAR = re.compile(
    rf"{_WEEKDAY}(?P<day>\d{{1,2}}) {_MONTH},? (?P<year>\d{{4}})(?:(?: ?[|,@-] ?| at | ){_TIME})?",
    re.IGNORECASE,
)


def to_utc(dt: datetime, default_tz: str = "UTC") -> datetime:
    """Return ``dt`` in UTC; a naive ``dt`` is read as wall time in ``default_tz``."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=ZoneInfo(default_tz))
    return dt.astimezone(timezone.utc)


def written_zone(match: re.Match[str]) -> tzinfo | None:
    """Return the zone written in a match, or None when the text named none we trust."""
    offset, abbr = match.group("offset"), match.group("abbr")
    if offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    if abbr:
        return _TZ_ABBREVIATIONS.get(abbr.upper())
    return None


def _hour(match: re.Match[str]) -> int:
    """Return the 24-hour clock hour, rejecting "13 pm" and "0 am" with ValueError."""
    hour = int(match.group("hour") or 0)
    ampm = match.groupdict().get("ampm")
    if not ampm:
        return hour
    if not 1 <= hour <= 12:
        raise ValueError(f"hour {hour} with am/pm")
    return hour % 12 + (12 if ampm.lower() == "p" else 0)


def datetime_from_match(match: re.Match[str], month: int) -> datetime:
    """Build a datetime from the named groups of one of the patterns (may raise ValueError)."""
    fraction = (match.groupdict().get("fraction") or "")[:6].ljust(6, "0")
    return datetime(
        int(match.group("year")),
        month,
        int(match.group("day")),
        _hour(match),
        int(match.group("minute") or 0),
        int(match.group("second") or 0),
        int(fraction),
        tzinfo=written_zone(match),
    )


# The source a generic spider notes after a date it took from elsewhere than the metadata's own
# string: "Dec 23, 2023 (visible)", "2023-12-13 (htmldate)" (newscrawl.spiders.news).
_SOURCE_NOTE = re.compile(r" \((?:json-ld|json-ld-modified|meta|meta-modified|time|visible|url|htmldate)\)$")


def parse_date_text(text: str) -> datetime | None:
    """Parse ``text`` into a datetime, naive when it names no zone; None when unrecognised."""
    text = _SOURCE_NOTE.sub("", text)
    if m := ISO_DATETIME.fullmatch(text):
        return datetime_from_match(m, int(m.group("month")))
    for pattern in (MONTH_DAY_YEAR, DAY_MONTH_YEAR):
        if (m := pattern.fullmatch(text)) and (month := MONTHS.get(m.group("month").lower())):
            return datetime_from_match(m, month)
    # Last resort for RFC 2822 variants the patterns above do not spell out.
    return parsedate_to_datetime(text)


def parse_datetime(raw: str | None, default_tz: str = "UTC") -> datetime | None:
    """Parse a page's date string into an aware UTC datetime; None when it cannot be read.

    Naive values (no offset, no known abbreviation) are wall time in ``default_tz``.
    Never raises on bad input; an unknown ``default_tz`` is a configuration error and does.
    """
    if raw is None:
        return None
    text = " ".join(raw.split())
    if not text:
        return None
    try:
        parsed = parse_date_text(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    try:
        return to_utc(parsed, default_tz)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by the offset
        return None


#: No article in the archive predates the web's news sites: an earlier date is a parsing error.
EARLIEST_YEAR = 1990
#: How far ahead of now a publication time may be (clock skew between the site and us).
FUTURE_SLACK_HOURS = 6.0


def implausible_reason(
    dt: datetime,
    now: datetime,
    earliest_year: int = EARLIEST_YEAR,
    future_slack: timedelta = timedelta(hours=FUTURE_SLACK_HOURS),
) -> str | None:
    """Return "future" or "too_old" for a publication time no real article has, else None."""
    dt, now = to_utc(dt), to_utc(now)
    if dt > now + future_slack:
        return "future"
    if dt.year < earliest_year:
        return "too_old"
    return None
