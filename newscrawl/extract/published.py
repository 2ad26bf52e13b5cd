"""The publication date of a page no site rule knows: every date the page states, weighed by agreement."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from newscrawl.dates import (
    DAY_MONTH_YEAR, ISO_DATETIME, MONTH_DAY_YEAR, MONTHS, datetime_from_match, parse_date_text, written_zone,
)
from newscrawl.extract.authors import article_nodes
from newscrawl.extract.body import NON_TEXT_TAGS

# /2023/12/18/, /2023-12-18-slug, /20231218-…: a path segment that is a whole calendar date.
_URL_DATE = re.compile(
    r"(?<![0-9])(?P<year>(?:19|20)\d\d)(?P<sep>[/_-]?)(?P<month>[01]?\d)(?P=sep)(?P<day>[0-3]?\d)(?![0-9])"
)
_DATE_WORDS = (MONTH_DAY_YEAR, DAY_MONTH_YEAR)
# A month name or ISO date must start a word: "xDec 23, 2023" or "12023-01-02" is no date.
_WORD_START = re.compile(r"(?<![\w])")
_WEEKDAY_WORD = re.compile(r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.I)
# What a page prints before a date it changed later ("Updated Dec. 23", "Last modified: …").
_UPDATE_LABEL = re.compile(r"\b(?:updated?|modified|edited|revised)\b[^.]*$", re.I)
LABEL_WINDOW = 30
#: Visible dates read after the headline (the dateline sits within the first few).
VISIBLE_DATES = 3
#: Text read after the headline for them (characters): a dateline is printed near the top.
VISIBLE_WINDOW = 3000
# Meta names (lower-cased) that state when the story was published / last changed.
PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "article:publicationdate", "pubdate",
    "publishdate", "publish-date", "published_time", "parsely-pub-date", "sailthru.date", "date",
    "dc.date", "dc.date.issued", "dcterms.issued", "dcterms.created", "itemprop:datepublished",
    "datepublished", "cxenseparse:recs:publishtime",
)
MODIFIED_META = ("article:modified_time", "og:updated_time", "itemprop:datemodified", "datemodified", "dcterms.modified")


@dataclass(frozen=True)
class Stated:
    """One date the page states: where (``source``), its text as found (``raw``) and its value
    (aware when the page wrote an offset or a known zone, else naive wall time)."""

    source: str  # json-ld | json-ld-modified | meta | meta-modified | time | visible | url | htmldate
    raw: str
    value: datetime
    updated: bool = False  # printed as an update ("Updated Dec. 23, 2023"), not the first publication

    @property
    def day(self) -> date:
        """The calendar day the page wrote (in the offset it wrote, not UTC)."""
        return self.value.date()

    @property
    def has_time(self) -> bool:
        return self.value.tzinfo is not None or (self.value.hour, self.value.minute) != (0, 0)


def read_date(text: str | None) -> datetime | None:
    """A date string as the page wrote it (naive when it names no zone); None when unreadable."""
    if not text:
        return None
    try:
        return parse_date_text(" ".join(text.split()))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def url_date(url: str) -> Stated | None:
    """The date written in a URL's path (``/2023/12/18/``, ``/2023-12-18-slug``, ``/20231218-p5es82``)."""
    path = unquote(urlsplit(url).path)
    for match in _URL_DATE.finditer(path):
        if not match.group("sep") and len(match.group(0)) != 8:
            continue  # "2023125" is no date; an 8-digit run is
        try:
            value = datetime(int(match.group("year")), int(match.group("month")), int(match.group("day")))
        except ValueError:
            continue
        return Stated("url", value.date().isoformat(), value)  # ISO: the clean pipeline reads it
    return None


_URL_MONTH = re.compile(r"/((?:19|20)\d\d)/([01]?\d)/")


def url_month(url: str) -> tuple[int, int] | None:
    """(year, month) a URL's path names as folders (``/2023/12/``); None when it names none."""
    match = _URL_MONTH.search(urlsplit(url).path)
    if match and 1 <= int(match.group(2)) <= 12:
        return int(match.group(1)), int(match.group(2))
    return None


def text_dates(text: str) -> Iterator[tuple[str, datetime, int]]:
    """(raw, value, start) of the dates written out in ``text`` ("Dec. 23, 2023, 7:58 AM UTC",
    "22 December 2023", "2023-12-22"), in order."""
    found: list[tuple[int, int, str, datetime]] = []
    for pattern in (*_DATE_WORDS, ISO_DATETIME):
        pos = 0
        while (match := pattern.search(text, pos)) is not None:
            start = match.start()
            pos = start + 1  # a failed reading ("Jason Krell Mar 19": "Krell" read as a month) retries one on
            if start and (text[start - 1].isalnum()):
                continue
            try:
                month = int(match.group("month")) if pattern is ISO_DATETIME else MONTHS.get(match.group("month").lower())
                if not month:
                    continue
                value = datetime_from_match(match, month)
            except (ValueError, OverflowError):
                continue
            raw, end = match.group(0), match.end()
            pos = max(end, pos)
            if match.group("abbr") and not written_zone(match):
                end = pos = match.start("abbr")  # "1:00 AM Nov": the next word (read again), no zone
                raw = raw[: end - start]
            if pattern is not ISO_DATETIME and not _WEEKDAY_WORD.match(raw):
                lead = match.start("month" if pattern is MONTH_DAY_YEAR else "day") - start
                raw, start = raw[lead:], start + lead  # "Krell Mar 19, 2020": a name, no weekday
            found.append((start, -end, raw, value))
    last_end = -1
    for start, neg_end, raw, value in sorted(found):
        if start < last_end:
            continue  # an overlapping, shorter reading of a date already taken
        last_end = -neg_end
        yield raw.strip(" ,|-"), value, start


def _subtree_texts(element: Any, tail: bool = True) -> Iterator[str]:
    """Text of ``element`` and its descendants in document order, markup skipped (iterative:
    hostile pages nest deeper than the recursion limit), then its tail."""
    stack: list[tuple[Any, bool]] = [(element, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            if node.tail and (tail or node is not element):
                yield node.tail
            continue
        stack.append((node, True))
        if isinstance(node.tag, str) and node.tag not in NON_TEXT_TAGS:
            if node.text:
                yield node.text
            stack.extend((child, False) for child in reversed(node))


def _visible_texts(root: etree._Element) -> Iterator[str]:
    """Text of the page after its first <h1> (the whole body when there is none), markup skipped,
    read lazily: the caller stops after the first few thousand characters."""
    h1 = next(root.iter("h1"), None)
    if h1 is None:
        yield from _subtree_texts(next(root.iter("body"), root), tail=False)
        return
    node = h1  # the following:: axis: the headline's tail, its later siblings, then its ancestors'
    if node.tail:
        yield node.tail
    while node is not None:
        for sibling in node.itersiblings():
            yield from _subtree_texts(sibling)
        node = node.getparent()
        if node is not None and node.tail:
            yield node.tail


def visible_dates(root: etree._Element, limit: int = VISIBLE_DATES) -> list[Stated]:
    """The first dates printed after the headline, as the reader sees them (``<time>`` text included)."""
    text, size = [], 0
    for chunk in _visible_texts(root):
        text.append(chunk)
        size += len(chunk)
        if size > VISIBLE_WINDOW:
            break
    joined = " ".join(" ".join(text).split())[:VISIBLE_WINDOW]
    found = []
    for raw, value, start in text_dates(joined):
        updated = bool(_UPDATE_LABEL.search(joined[max(0, start - LABEL_WINDOW) : start]))
        found.append(Stated("visible", raw, value, updated))
        if len(found) >= limit:
            break
    return found


def _meta_values(meta: dict[str, list[str]], names: Sequence[str], source: str) -> Iterator[Stated]:
    for name in names:
        for raw in meta.get(name, []):
            value = read_date(raw)
            if value is not None:
                yield Stated(source, raw.strip(), value)


def _json_ld_values(nodes: Iterable[Any]) -> Iterator[Stated]:
    for node in article_nodes(nodes):
        for key, source in (("datePublished", "json-ld"), ("dateModified", "json-ld-modified")):
            raw = node.get(key)
            value = read_date(raw) if isinstance(raw, str) else None
            if value is not None:
                yield Stated(source, raw.strip(), value)
        return  # the first article node is the page's story; the others are related ones


def _time_values(root: etree._Element) -> Iterator[Stated]:
    for element in root.iter("time"):
        raw = element.get("datetime")
        value = read_date(raw)
        if value is not None:
            yield Stated("time", raw.strip(), value)  # type: ignore[union-attr]


def stated_dates(root: etree._Element, url: str, nodes: Iterable[Any], meta: dict[str, list[str]]) -> list[Stated]:
    """Every date the page states about itself: JSON-LD of its story, meta tags, ``<time datetime>``,
    the dates printed after the headline, and its URL."""
    found = [*_json_ld_values(nodes), *_meta_values(meta, PUBLISHED_META, "meta")]
    found += _meta_values(meta, MODIFIED_META, "meta-modified")
    found += list(_time_values(root))[:3]
    found += visible_dates(root)
    if (in_url := url_date(url)) is not None:
        found.append(in_url)
    return found


#: The offsets a publisher may write its local time in (UTC-12 to UTC+14).
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)
PUBLISHED_SOURCES = ("json-ld", "meta", "time")
MODIFIED_SOURCES = ("json-ld-modified", "meta-modified")


def could_be_day(day: date, value: datetime) -> bool:
    """Whether ``value`` falls on ``day`` in the publisher's local time: a UTC instant on a day
    somewhere on Earth (the publisher's zone unknown), a wall time or an instant with the offset
    the publisher wrote on that very day."""
    if value.tzinfo is None or value.utcoffset():
        return value.date() == day  # a wall time, or an offset the publisher wrote: its own day
    utc = value.astimezone(timezone.utc).replace(tzinfo=None)
    return (utc + EARLIEST_OFFSET).date() <= day <= (utc + LATEST_OFFSET).date()


@dataclass(frozen=True)
class Choice:
    """The chosen publication date: ``day`` = the statement whose calendar day is the page's,
    ``instant`` = the statement that fixes the time (the same one, or metadata agreeing with it)."""

    day: Stated
    instant: Stated | None


def choose(stated: Sequence[Stated], url: str | None = None) -> Choice | None:
    """The page's publication date.

    A date printed after the headline that metadata (published, modified or URL date) agrees with
    is the page's own day: it is what the reader sees, in the publisher's local time, where
    metadata often writes the UTC instant (a US evening story is the next day in UTC). A printed
    date marked as an update yields to a printed first-publication date. With no such agreement,
    the first published metadata (JSON-LD, then meta tags, then ``<time>``) on the publisher's
    wall-clock day when the page writes it too (:func:`local_twin`), then the URL date, then a
    printed date in the year and month the URL names (``/releases/2023/12/…``).
    """
    by = {source: [s for s in stated if s.source == source] for source in {s.source for s in stated}}
    published = [s for source in PUBLISHED_SOURCES for s in by.get(source, [])]
    anchors = published + [s for source in (*MODIFIED_SOURCES, "url") for s in by.get(source, [])]
    visible = by.get("visible", [])
    for shown in [v for v in visible if not v.updated] + [v for v in visible if v.updated]:
        agreeing = [a for a in anchors if could_be_day(shown.day, a.value)]
        if agreeing:
            timed = [a for a in agreeing if a.has_time]
            return Choice(shown, timed[0] if timed else agreeing[0])
    if published:
        return Choice(local_twin(published[0], published), published[0])
    in_url = by.get("url", [])
    if in_url:
        return Choice(in_url[0], in_url[0])
    month = url_month(url) if url else None
    shown = next((v for v in visible if month and (v.day.year, v.day.month) == month), None)
    return Choice(shown, shown) if shown else None


def local_twin(instant: Stated, others: Iterable[Stated]) -> Stated:
    """The publisher's wall-clock statement of a UTC ``instant``, when the page also writes it
    without an offset ("2023-12-23 17:06:51" beside "2023-12-24T01:06:51+00:00": Pacific time);
    ``instant`` itself otherwise. Its day is the page's own day."""
    offset = instant.value.utcoffset()
    if offset is None or offset:
        return instant  # a written offset is already the publisher's
    wall = instant.value.replace(tzinfo=None)
    for other in others:
        if other.value.tzinfo is None and other.has_time and other.value != wall:
            shift = other.value - wall
            if EARLIEST_OFFSET <= shift <= LATEST_OFFSET and shift % timedelta(minutes=15) == timedelta(0):
                return other
    return instant
