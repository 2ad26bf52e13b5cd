"""Security: no remote shells, a polite and honest crawler, text stays text, SQL only with bound parameters."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler, get_reactor_settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from newscrawl.db import ArticleRow, open_database
from newscrawl.extract.body import markup_to_text
from newscrawl.items import Article
from newscrawl.pipelines import CleanPipeline, StorePipeline, ValidatePipeline
from newscrawl.spiders.japantoday import JapanTodaySpider
from tests.test_pipelines import WITH_DATABASE

PACKAGE = Path(__file__).resolve().parent.parent / "newscrawl"


def project_crawler() -> Crawler:
    """A crawler configured from the project settings alone (get_crawler() would switch
    RemoteControl and telnet off by itself), without a reactor."""
    settings: Settings = get_project_settings()
    settings.setdict(get_reactor_settings(), priority="cmdline")
    crawler = Crawler(JapanTodaySpider, settings)
    crawler._apply_settings()
    return crawler


# --- Settings ----------------------------------------------------------------------------


def test_remote_control_and_telnet_are_off() -> None:
    settings = get_project_settings()
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    base = settings.getwithbase("EXTENSIONS")
    assert any(path.endswith(".RemoteControl") for path in base)  # Scrapy 2.19 ships it on by default
    enabled = {type(ext).__name__ for ext in project_crawler().extensions.middlewares}
    assert enabled.isdisjoint({"RemoteControl", "TelnetConsole"}), enabled
    assert {"CoreStats", "CrawlRunRecorder", "HealthMonitor"} <= enabled


def test_polite_and_honest_defaults() -> None:
    settings = get_project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    # The contact URL is the operator's own (NEWSCRAWL_CONTACT_URL); without it, no made-up one.
    assert re.fullmatch(r"newscrawl/\S+(?: \(\+\S+\))?", settings["USER_AGENT"]), settings["USER_AGENT"]
    assert 0 < settings.getint("DOWNLOAD_MAXSIZE") <= 64 * 1024 * 1024
    assert 0 < settings.getint("DOWNLOAD_WARNSIZE") < settings.getint("DOWNLOAD_MAXSIZE")
    assert 0 < settings.getint("DOWNLOAD_TIMEOUT") <= 60
    assert 0 < settings.getfloat("RETRY_AFTER_MAX_SECONDS") <= 300
    assert settings.getbool("COOKIES_ENABLED") is False
    middlewares = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    assert middlewares["scrapy.downloadermiddlewares.offsite.OffsiteMiddleware"] is not None
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is not None


def test_offsite_links_are_not_followed() -> None:
    crawler = get_crawler(JapanTodaySpider)
    spider = crawler._create_spider(start_url="https://japantoday.com/category/politics")
    crawler.spider = spider
    html = """<html><body>
      <a href="/category/politics/on-site-story">ok</a>
      <a href="https://evil.example/category/politics/off-site-story">other host</a>
      <a href="https://japantoday.com.evil.example/category/politics/lookalike">lookalike</a>
      <a href="//evil.example/category/politics/protocol-relative">protocol-relative</a>
      <a href="javascript:alert(1)//category/politics/x">script</a>
      <a href="file:///etc/passwd">file</a>
    </body></html>"""
    url = "https://japantoday.com/category/politics"
    response = HtmlResponse(url, body=html, encoding="utf-8", request=Request(url))
    urls = [request.url for request in spider.parse_listing(response, page=1)]
    assert [u for u in urls if "story" in u] == ["https://japantoday.com/category/politics/on-site-story"]
    assert spider.allowed_domains == ["japantoday.com"]


# --- Text stays text ---------------------------------------------------------------------


def build(html: str) -> Article:
    crawler = get_crawler(JapanTodaySpider)
    spider = crawler._create_spider()
    crawler.spider = spider
    url = "https://japantoday.com/category/politics/x"
    response = HtmlResponse(url, body=html, encoding="utf-8", request=Request(url))
    return CleanPipeline.from_crawler(crawler).process_item(spider.build_article(response))


HIDDEN = {
    "script": "<script>document.write('SECRET')</script>",
    "style": "<style>p::after{content:'SECRET'}</style>",
    "noscript": "<noscript><img src=x onerror=alert(1)>SECRET</noscript>",
    "template": "<template><b>SECRET</b></template>",
    "textarea": "<textarea>&lt;/p&gt;SECRET</textarea>",
    "iframe": "<iframe>SECRET</iframe>",
    "xmp": "<xmp><b>SECRET</b></xmp>",
    "select": "<select><option>SECRET</option></select>",
}


@pytest.mark.parametrize("tag", sorted(HIDDEN))
def test_non_text_elements_inside_the_article_body_never_reach_it(tag: str) -> None:
    html = f"""<html><body><h1>Title</h1><div itemprop="articleBody">
      <p>The cabinet met on Friday {HIDDEN[tag]} and approved the budget.</p>
      <p>{HIDDEN[tag]}</p>
      <p>It goes to the Diet next week.</p></div>
      <time datetime="2026-06-05T10:00:00+09:00"></time></body></html>"""
    article = build(html)
    assert article.body_method == "selectors"
    assert article.body is not None and "SECRET" not in article.body and "<" not in article.body
    # (libxml2 closes the <p> at a block-level <xmp>, so there the rest of the sentence is lost.)
    assert article.body.startswith("The cabinet met on Friday")
    assert article.body.endswith("\n\nIt goes to the Diet next week.")


def test_plaintext_cannot_pull_the_rest_of_the_page_into_the_body() -> None:
    # libxml2 reads everything after <plaintext> as its text, markup included.
    html = """<html><body><h1>Title</h1><div itemprop="articleBody"><p>First paragraph of the story.</p>
      <p><plaintext><b>x</b></p></div><footer>More</footer></body></html>"""
    assert build(html).body == "First paragraph of the story."


def test_escaped_markup_is_literal_text_and_stays() -> None:
    # Decision: "&lt;script&gt;" is what the author wrote (an article about XSS quoting a payload);
    # the body is plain text, never rendered as HTML, so keeping it as text is correct and safe.
    html = """<html><body><h1>Title</h1><div itemprop="articleBody">
      <p>The attacker posted &lt;script&gt;alert(1)&lt;/script&gt; in a comment field.</p>
      <p>Prices rose 3% &amp; wages &lt; 2%.</p></div></body></html>"""
    assert build(html).body == (
        "The attacker posted <script>alert(1)</script> in a comment field.\n\nPrices rose 3% & wages < 2%."
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Plain text, AT&T, x < 2 and y > 3.", "Plain text, AT&T, x < 2 and y > 3."),
        ("One.\nTwo.", "One.\nTwo."),
        ("<p>One.</p><p>Two<br>three.</p>", "One.\n\nTwo\n\nthree."),
        ("Hi <script>alert(1)</script><style>b{}</style>there", "Hi there"),
        ("<b onclick='x()'>Bold</b> &amp; &lt;i&gt;", "Bold & <i>"),
        ("<!-- note -->Text", "Text"),
        ("", ""),
    ],
)
def test_markup_to_text(value: str, text: str) -> None:
    assert markup_to_text(value) == text


def test_markup_in_a_json_ld_article_body_never_reaches_the_body() -> None:
    ld = {
        "@type": "NewsArticle",
        "headline": "Budget",
        "datePublished": "2026-06-05T10:00:00+09:00",
        "articleBody": "<p>The cabinet met.</p>\n<script>alert(1)</script><p onclick='x()'>It approved the budget.</p>",
    }
    script = json.dumps(ld).replace("</", "<\\/")
    html = f'<html><head><script type="application/ld+json">{script}</script></head><body></body></html>'
    body = build(html).body or ""
    assert "<" not in body and "alert" not in body
    assert body == "The cabinet met.\n\nIt approved the budget."


# --- SQL ---------------------------------------------------------------------------------

_SQL_CALLS = {"text", "execute", "exec_driver_sql", "executemany", "executescript", "literal_column"}


def _is_formatted(node: ast.expr) -> bool:
    """An expression that builds a string from values: an f-string with fields, ``%``, ``+``, ``.format()``."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return any(isinstance(side, (ast.Constant, ast.JoinedStr)) and not isinstance(getattr(side, "value", ""), (int, float))
                   for side in (node.left, node.right)) or _is_formatted(node.left) or _is_formatted(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    return False


def formatted_sql(source: str) -> list[int]:
    """Line numbers of SQL calls (text(), execute(), exec_driver_sql()…) given a formatted string."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in _SQL_CALLS and _is_formatted(node.args[0]):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ('conn.execute(text(f"SELECT * FROM articles WHERE url = \'{url}\'"))', True),
        ('conn.execute(text("SELECT * FROM t WHERE id = %s" % ident))', True),
        ('conn.execute(text("SELECT * FROM t WHERE id = " + ident))', True),
        ('conn.exec_driver_sql("DELETE FROM t WHERE id = {}".format(ident))', True),
        ('cursor.execute(f"DROP TABLE {name}")', True),
        ('conn.execute(text("SELECT * FROM t WHERE id = :id"), {"id": ident})', False),
        ('conn.execute(select(ArticleRow).where(ArticleRow.url == url))', False),
        ('conn.exec_driver_sql("PRAGMA journal_mode=WAL")', False),
        ('log.info(f"stored {n}")', False),
    ],
)
def test_the_sql_scan_itself(source: str, bad: bool) -> None:
    assert bool(formatted_sql(source)) is bad


def test_no_module_builds_sql_by_formatting_strings() -> None:
    offenders = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := formatted_sql(path.read_text("utf-8")))
    }
    assert offenders == {}, "SQL must use bound parameters or SQLAlchemy constructs"


HOSTILE = [
    "'); DROP TABLE articles;--",
    "Robert'); DELETE FROM crawl_runs WHERE ('1'='1",
    "100% %s %(name)s %% {0} {name}",
    ":name :1 ? $1 @p",
    '"quoted" \\backslash\\ `tick`',
    "日本語 😀 \u202eRTL",
]


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_hostile_strings_round_trip_unchanged(request: pytest.FixtureRequest, db: str) -> None:
    db_url = request.getfixturevalue(f"{db}_url")
    crawler = get_crawler(JapanTodaySpider, {"DATABASE_URL": db_url, **WITH_DATABASE})
    crawler.spider = crawler._create_spider()
    clean, validate = CleanPipeline.from_crawler(crawler), ValidatePipeline.from_crawler(crawler)
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    try:
        for i, hostile in enumerate(HOSTILE):
            item = Article(
                url=f"https://japantoday.com/category/politics/{i}",
                source="japantoday",
                section="politics",
                title=f"Title {hostile}",
                body=f"Body {hostile}\n\nSecond paragraph {i}.",
                published_raw="2026-06-05 10:00",
                authors=[f"Author {hostile}"],
                tags=[hostile],
            )
            store.process_item(validate.process_item(clean.process_item(item)))
    finally:
        store.close_spider()
        store.database.close()
    engine = open_database(db_url)
    with Session(engine) as session:
        rows = {row.url: row for row in session.scalars(select(ArticleRow))}
    engine.dispose()
    assert len(rows) == len(HOSTILE)
    for i, hostile in enumerate(HOSTILE):
        row = rows[f"https://japantoday.com/category/politics/{i}"]
        assert (row.title, row.body, row.authors, row.tags) == (
            f"Title {hostile}", f"Body {hostile}\n\nSecond paragraph {i}.", [f"Author {hostile}"], [hostile],
        )
