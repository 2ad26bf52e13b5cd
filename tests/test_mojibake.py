"""The mojibake check: a truth table for the pure function, and the Mojibake drop in ValidatePipeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from scrapy.utils.test import get_crawler

from newscrawl.exceptions import ArticleDropped, Mojibake
from newscrawl.items import Article
from newscrawl.pipelines import CleanPipeline, ValidatePipeline
from newscrawl.pipelines.validate import find_mojibake
from newscrawl.spiders.japantoday import JapanTodaySpider


def as_cp1252(text: str) -> str:
    """``text`` encoded as UTF-8 and read back as Windows-1252, as a wrong declaration does."""
    return text.encode("utf-8").decode("cp1252", errors="replace")


@pytest.mark.parametrize(
    ("text", "mojibake"),
    [
        # Right text, in many scripts: never reported.
        ("Prime Minister Sanae Takaichi said on Friday.", False),
        ("café, naïve, Ångström, Øresund, Łódź, Zürich, São Paulo, SÃO PAULO", False),
        ("“Quoted” – dashed — ‘single’ … €5 © Kyodo ™ ° ½", False),
        ("CAFÉ’s “ÉTÉ” BJÖRK… ÑANDÚ» Strauß’", False),  # a capital before a symbol is fine
        ("経済産業省は金曜日、原子炉の建て替えを提案した。", False),
        ("Москва, Αθήνα, עברית, العربية, 한국어", False),
        ("Â", False),
        ("", False),
        # Bytes invalid in the declared charset.
        ("caf\ufffd", True),
        ("\ufffd", True),
        # UTF-8 read as Windows-1252 / Latin-1.
        (as_cp1252("café"), True),  # cafÃ©
        (as_cp1252("it’s"), True),  # itâ€™s
        (as_cp1252("“quoted”"), True),
        (as_cp1252("© Kyodo"), True),  # Â© Kyodo
        (as_cp1252("Zürich"), True),
        (as_cp1252("Москва"), True),  # ÐœÐ¾ÑÐºÐ²Ð°
        (as_cp1252("日本"), True),  # æ—¥æœ¬
        (as_cp1252("Ångström"), True),
        ("SÃ©ance", True),
    ],
)
def test_find_mojibake(text: str, mojibake: bool) -> None:
    assert (find_mojibake(text) is not None) is mojibake


def test_the_sample_shows_where() -> None:
    assert find_mojibake("The ministry said itâ€™s ready, officials added.") == "ry said itâ€™s ready, o"


def article(**fields: object) -> Article:
    base = Article(
        url="https://japantoday.com/category/politics/x",
        source="japantoday",
        section="politics",
        title="Cabinet approves budget",
        body="The cabinet approved the budget on Friday.\n\nIt goes to the Diet next.",
        published_raw="2026-06-05 10:00",
    )
    return replace(base, **fields)


def pipelines() -> tuple[CleanPipeline, ValidatePipeline]:
    crawler = get_crawler(JapanTodaySpider)
    crawler.spider = crawler._create_spider()
    return CleanPipeline.from_crawler(crawler), ValidatePipeline.from_crawler(crawler)


@pytest.mark.parametrize(
    "fields",
    [
        {"body": "The cabinet approved the budget on Friday.\n\nThe minister\ufffds office said so."},
        {"title": as_cp1252("Takaichi’s cabinet")},
        {"summary": as_cp1252("“A budget” for 2026")},
        {"authors": ["Jane Doe", as_cp1252("José Pérez")]},
    ],
    ids=["body-fffd", "title", "summary", "authors"],
)
def test_validate_drops_mojibake_with_its_own_reason(fields: dict[str, object]) -> None:
    clean, validate = pipelines()
    with pytest.raises(Mojibake) as raised:
        validate.process_item(clean.process_item(article(**fields)))
    assert isinstance(raised.value, ArticleDropped)
    assert "wrong charset" in str(raised.value)


def test_validate_keeps_right_text_in_any_script() -> None:
    clean, validate = pipelines()
    item = article(title="経済産業省 “plan” – café", body="Zürich, Москва, 日本.\n\n“Quoted” — it’s © Kyodo.")
    kept = validate.process_item(clean.process_item(item))
    assert kept.published_at == datetime(2026, 6, 5, 1, 0, tzinfo=timezone.utc)
