"""ValidatePipeline: required fields present, dates sane, body not empty; else a typed drop."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from newscrawl.dates import EARLIEST_YEAR, FUTURE_SLACK_HOURS, implausible_reason
from newscrawl.exceptions import (
    EmptyBody,
    ExpiredArticle,
    ImplausibleDate,
    MissingField,
    Mojibake,
    UnparseableDate,
)

# UTF-8 continuation bytes (0x80-0xBF) as Latin-1 shows them, or as Windows-1252 shows 0x80-0x9F.
_CONT = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
MOJIBAKE_RE = re.compile(
    "\ufffd"  # bytes invalid in the declared charset
    f"|[ÂÃ][{_CONT}]"  # one Latin-1 letter or sign: "Ã©" = é, "Â©" = ©
    f"|â[{_CONT}]{{2}}"  # General Punctuation: "â€™" = ’, "â€”" = —
    f"|(?:[Ä-ß][{_CONT}]){{2}}"  # two 2-byte letters in a row: Cyrillic "Ð¼Ð¾", Greek, Polish
    f"|(?:[à-ï][{_CONT}]{{2}}){{2}}"  # two 3-byte characters in a row: CJK "æ—¥æœ¬" = 日本
)
#: Text fields the mojibake check reads (lists: each element).
TEXT_FIELDS = ("title", "summary", "body", "dateline", "credit", "authors", "tags")


def find_mojibake(text: str) -> str | None:
    """The first sign that ``text`` was decoded with the wrong charset, with a little context;
    ``None`` if there is none (pure). Single accented capitals before a symbol ("CAFÉ’s") are
    legitimate and not reported; see MOJIBAKE_RE for what is."""
    # Every pattern starts with U+FFFD or a Latin-1 letter: pure ASCII (most text) cannot match.
    match = None if text.isascii() else MOJIBAKE_RE.search(text)
    if match is None:
        return None
    return text[max(0, match.start() - 10) : match.end() + 10]


class ValidatePipeline:
    """Drops articles that must not reach the database, each with its own reason class.

    Settings: ``VALIDATE_EARLIEST_YEAR`` (default :data:`~newscrawl.dates.EARLIEST_YEAR`),
    ``VALIDATE_FUTURE_SLACK_HOURS`` (how far ahead of now a publication date may be, for clock
    skew; default :data:`~newscrawl.dates.FUTURE_SLACK_HOURS`).
    """

    def __init__(self, earliest_year: int = EARLIEST_YEAR, future_slack_hours: float = FUTURE_SLACK_HOURS) -> None:
        self.earliest_year = earliest_year
        self.future_slack = timedelta(hours=future_slack_hours)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        settings = crawler.settings
        return cls(
            earliest_year=settings.getint("VALIDATE_EARLIEST_YEAR", EARLIEST_YEAR),
            future_slack_hours=settings.getfloat("VALIDATE_FUTURE_SLACK_HOURS", FUTURE_SLACK_HOURS),
        )

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("url")
        if adapter.get("expired"):
            raise ExpiredArticle(f"expired article: {url}")
        for name in ("url", "source", "title"):
            if not adapter.get(name):
                raise MissingField(f"no {name}: {url}")
        if not adapter.get("body"):
            raise EmptyBody(f"empty body: {url}")
        self._check_charset(adapter, url)
        published = adapter.get("published_at")
        if published is None:
            if adapter.get("published_raw"):
                raise UnparseableDate(f"unparseable date {adapter['published_raw']!r}: {url}")
            raise MissingField(f"no published date: {url}")
        self._check_date(published, url, "published")
        if adapter.get("modified_at") is not None:
            try:
                self._check_date(adapter["modified_at"], url, "modified")
            except ImplausibleDate:
                # A bad modification date does not make the article wrong.
                adapter["modified_at"] = None
        return item

    def _check_charset(self, adapter: ItemAdapter, url: str) -> None:
        # Dropped, not flagged: stored mojibake would be served as text; a dropped article is
        # fetched again by the next run (it is not in the database), after the site is fixed.
        for name in TEXT_FIELDS:
            value = adapter.get(name)
            for text in value if isinstance(value, list) else [value]:
                sample = find_mojibake(text) if isinstance(text, str) else None
                if sample is not None:
                    raise Mojibake(f"{name} decoded with a wrong charset ({sample!r}): {url}")

    def _check_date(self, value: datetime, url: str, name: str) -> None:
        now = datetime.now(timezone.utc)
        reason = implausible_reason(value, now, self.earliest_year, self.future_slack)
        if reason:
            raise ImplausibleDate(f"{name} date {value.isoformat()} is {reason}: {url}")
