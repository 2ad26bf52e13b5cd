"""Spider arguments are declared and checked; `scrapy parse` looks without recording; the User-Agent
names only a contact the operator set; a test mirror can be served by hand."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from newscrawl.registry import spider_class, spider_names
from newscrawl.spiders.base import SpiderArgumentError
from tests.conftest import MIRROR_SETTINGS, ROOT, SITES, run_crawl
from tests.support.mirror import Mirror

README = (ROOT / "README.md").read_text("utf-8")
ARTICLE = ("/category/politics/japan's-prime-minister-visits-manila-to-boost-defense-ties-in-the-face-of-"
           "china's-growing-aggression")


def valid_arguments(name: str) -> dict[str, str]:
    return {"start_url": "https://example.com/politics/"} if name == "news" else {}


# --- Declared arguments, refused unknown names -------------------------------------------------


@pytest.mark.parametrize("name", spider_names())
def test_every_spider_declares_its_arguments_and_the_readme_names_them(name: str) -> None:
    declared = spider_class(name).arguments
    assert {"start_url", "max_pages", "since"} <= set(declared)
    for argument, help_line in declared.items():
        assert help_line.strip() and "\n" not in help_line, (name, argument)
        assert f"`{argument}`" in README, f"README.md does not document the spider argument {argument!r}"


@pytest.mark.parametrize("name", spider_names())
@pytest.mark.parametrize(("bad", "hint"), [("maxpages", "max_pages"), ("foo", None), ("startURL", None)])
def test_an_unknown_argument_is_refused_naming_the_known_ones(name: str, bad: str, hint: str | None) -> None:
    cls = spider_class(name)
    with pytest.raises(SpiderArgumentError) as refused:
        cls.check_arguments(**valid_arguments(name), **{bad: "3"})
    message = str(refused.value)
    assert "\n" not in message and repr(bad) in message
    assert all(known in message for known in cls.arguments)
    assert (f"did you mean {hint!r}" in message) == (hint is not None)


@pytest.mark.parametrize("name", spider_names())
def test_known_arguments_and_scrapyd_s_job_id_are_accepted(name: str) -> None:
    cls = spider_class(name)
    args = {**valid_arguments(name), "max_pages": "2", "since": "2026-01-01", "_job": "4f2a"}
    if "section" in cls.arguments:
        args["section"] = "politics"
    start_url, pages, since = cls.check_arguments(**args)
    assert pages == 2 and str(since) == "2026-01-01" and start_url.startswith("https://")


def newscrawl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    command = [str(Path(sys.executable).with_name("newscrawl")), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("newscrawl: error:")]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("command", "spider", "args", "says"),
    [
        ("scrapy", "japantoday", ["maxpages=3"], "did you mean 'max_pages'"),
        ("scrapy", "japantoday", ["foo=bar"], "'foo' is not an argument of japantoday"),
        ("scrapy", "news", ["sectoin=politics"], "did you mean 'section'"),
        ("newscrawl", "japantoday", ["maxpages=3"], "did you mean 'max_pages'"),
        ("newscrawl", "japantoday", ["foo=bar"], "'foo' is not an argument of japantoday"),
        ("check", "japantoday", ["maxpages=1"], "did you mean 'max_pages'"),
    ],
)
def test_a_misspelt_argument_ends_the_command_before_any_request(
    japantoday_mirror: Mirror, tmp_path: Path, command: str, spider: str, args: list[str], says: str
) -> None:
    spargs = [f"start_url={japantoday_mirror.url('/category/politics')}", *args]
    flags = [part for arg in spargs for part in ("-a", arg)]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    if command == "scrapy":
        result = run_crawl(spider, tmp_path, *flags, settings={"DATABASE_URL": db})
    elif command == "check":  # the live canary
        result = newscrawl(tmp_path, "check", spider, *flags)
    else:
        result = newscrawl(tmp_path, "crawl", spider, *flags, "--database", db)
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = error_lines(result.stderr)
    assert says in line and "start_url, max_pages, since" in line
    assert "Traceback" not in result.stderr
    assert japantoday_mirror.requested_paths() == []


# --- scrapy parse ------------------------------------------------------------------------------


def scrapy(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("scrapy")), *args]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings", "PYTHONPATH": str(ROOT)}
    env.pop("NEWSCRAWL_DATABASE_URL", None)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def tables_with_rows(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        # Table names come from the database's own catalogue, never from input.
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                  for t in inspect(conn).get_table_names()}
    engine.dispose()
    return {t: n for t, n in counts.items() if n and t != "alembic_version"}


@pytest.mark.e2e
def test_scrapy_parse_reads_an_article_without_a_callback_and_records_nothing(
    japantoday_mirror: Mirror, tmp_path: Path
) -> None:
    db = tmp_path / "newscrawl.db"
    result = scrapy(tmp_path, "parse", japantoday_mirror.url(ARTICLE), "--spider", "japantoday",
                    "--nocolour", "-s", f"DATABASE_URL=sqlite:///{db}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "NotImplementedError" not in result.stderr
    assert "'title': 'Japan, Philippines to negotiate defense pact" in result.stdout
    assert "'authors': ['Haruto Kisaragi', 'Lena Ortiz']" in result.stdout
    assert tables_with_rows(db) == {}  # no crawl_runs row, no article
    assert japantoday_mirror.requested_paths() == ["/robots.txt", ARTICLE]


@pytest.mark.e2e
def test_scrapy_parse_reads_a_mirror_listing_page_as_the_site_s(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    result = scrapy(tmp_path, "parse", japantoday_mirror.url("/category/politics?page=2"), "--spider", "japantoday",
                    "--nocolour", "-s", f"DATABASE_URL=sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 0, result.stderr[-3000:]
    requests = re.findall(r"<GET (\S+)>", result.stdout)
    base = japantoday_mirror.base_url
    assert f"{base}/category/politics?page=3" in requests  # the next listing page, numbered from ?page=2
    articles = [u for u in requests if "/category/politics/" in u]
    assert len(articles) >= 5 and all(u.startswith(base) for u in articles)
    assert tables_with_rows(tmp_path / "x.db") == {}


@pytest.mark.e2e
def test_scrapy_parse_refuses_an_unknown_argument(japantoday_mirror: Mirror, tmp_path: Path) -> None:
    result = scrapy(tmp_path, "parse", japantoday_mirror.url(ARTICLE), "--spider", "japantoday", "-a", "maxpages=1")
    assert result.returncode == 2
    [line] = error_lines(result.stderr)
    assert "did you mean 'max_pages'" in line
    assert japantoday_mirror.requested_paths() == []


# --- The contact URL ---------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("contact", [None, "https://news.example.org/crawler"])
def test_the_user_agent_names_only_a_contact_the_operator_set(
    contact: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if contact:
        monkeypatch.setenv("NEWSCRAWL_CONTACT_URL", contact)
    else:
        monkeypatch.delenv("NEWSCRAWL_CONTACT_URL", raising=False)
    user_agent = scrapy(tmp_path, "settings", "--get", "USER_AGENT").stdout.strip()
    assert "github.com" not in user_agent
    if contact:
        assert re.fullmatch(rf"newscrawl/\S+ \(\+{re.escape(contact)}\)", user_agent), user_agent
    else:
        assert re.fullmatch(r"newscrawl/\S+", user_agent), user_agent


@pytest.mark.e2e
@pytest.mark.parametrize("contact", [None, "mailto:crawler@news.example.org"])
def test_one_warning_line_while_no_contact_url_is_set(
    contact: str | None, japantoday_mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if contact:
        monkeypatch.setenv("NEWSCRAWL_CONTACT_URL", contact)
    else:
        monkeypatch.delenv("NEWSCRAWL_CONTACT_URL", raising=False)
    start = f"start_url={japantoday_mirror.url('/category/politics')}"
    settings = [arg for name, value in MIRROR_SETTINGS.items() for arg in ("-s", f"{name}={value}")]
    # Two spiders in one process: still one line.
    result = newscrawl(tmp_path, "crawl", "japantoday", "taipeitimes", "-a", start, "-a", "max_pages=1",
                       "--database", f"sqlite:///{tmp_path / 'x.db'}", *settings)
    assert result.returncode in (0, 1), result.stderr[-3000:]  # taipeitimes finds nothing on this mirror
    warned = [line for line in result.stderr.splitlines() if "NEWSCRAWL_CONTACT_URL" in line]
    if contact:
        assert warned == []
    else:
        [line] = warned
        assert "WARNING" in line and "is not set" in line


# --- Serving a mirror by hand ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, deadline: float) -> Any:
    while True:
        try:
            return urllib.request.urlopen(url, timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.e2e
def test_a_mirror_is_served_on_a_chosen_port_by_one_command() -> None:
    port = free_port()
    command = [sys.executable, "-m", "tests.support.mirror", "tests/sites/japantoday/mirror", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with fetch(f"http://127.0.0.1:{port}/category/politics?page=2", time.monotonic() + 15) as page:
            assert page.status == 200
            assert page.read() == (SITES / "japantoday/mirror/listing-2.html").read_bytes()
    finally:
        server.terminate()
        server.communicate(timeout=10)


@pytest.mark.e2e
def test_the_mirror_command_refuses_a_folder_without_routes(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tests.support.mirror", str(tmp_path), "--port", "0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("has no routes.json")


def test_the_readme_serves_and_crawls_the_mirror_with_these_commands() -> None:
    assert ".venv/bin/python -m tests.support.mirror tests/sites/japantoday/mirror --port 8000" in README
    assert "-a start_url=http://127.0.0.1:8000/category/politics" in README
