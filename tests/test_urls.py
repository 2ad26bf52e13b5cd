"""Tests for newscrawl.urls: canonical URLs and site checks."""

import pytest

from newscrawl.urls import canonicalize_url, is_http_url, url_path

POLITICS = "https://japantoday.com/category/politics/"
# Real article URLs from Japan Today's RSS feed, 2023-09-28 to 2023-12-31, as archived in
# rumca-js/RSS-Link-Database-2023 (commit 08b89dd9bdbd20633c994bb4a74411f204225b0f); the mirror's
# 2023 articles use the same feed's slugs (tests/sites/japantoday/PROVENANCE.md).
KISHIDA_FEED = POLITICS + "japan-pm-kishida%27s-political-groups-misreported-2021-donations"
KISHIDA = POLITICS + "japan-pm-kishida's-political-groups-misreported-2021-donations"
DEFENSE_FEED = (
    POLITICS + "update1-japan%27s-new-defense-chief-agrees-with-u.s.-to-step-up-deterrence"
)
MIXED_CASE_FEED = (
    POLITICS + "Kishida-to-deliver-policy-speech-as-gov%27t-maps-out-new-economic-stimulus-package"
)
QUOTED_FEED = (
    POLITICS + "israeli-envoy-says-japan-should-be-%27vigilant%27-with-its-aid-to-palestine"
)
DOTS_FEED = POLITICS + "japan-parliament-to-convene-extraordinary-session-on-oct.-20"
DUPLICATE_FEED = (
    POLITICS + "japan-to-keep-imf%27s-no.-2-shareholder-status-even-after-quota-reform-1"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # One article, many spellings: the feed's %27 or a plain quote, comment-order queries,
        # comment anchors, letter case and the default port.
        (KISHIDA_FEED, KISHIDA),
        (KISHIDA, KISHIDA),
        (KISHIDA_FEED + "?comment-order=latest#comments", KISHIDA),
        (KISHIDA + "?comment-order=popular", KISHIDA),
        (KISHIDA + "#comment-123456", KISHIDA),
        ("HTTPS://JapanToday.COM" + KISHIDA_FEED[len("https://japantoday.com"):], KISHIDA),
        ("https://japantoday.com:443" + KISHIDA_FEED[len("https://japantoday.com"):], KISHIDA),
        (DEFENSE_FEED,
         POLITICS + "update1-japan's-new-defense-chief-agrees-with-u.s.-to-step-up-deterrence"),
        (MIXED_CASE_FEED,
         POLITICS
         + "Kishida-to-deliver-policy-speech-as-gov't-maps-out-new-economic-stimulus-package"),
        (QUOTED_FEED,
         POLITICS + "israeli-envoy-says-japan-should-be-'vigilant'-with-its-aid-to-palestine"),
        (DOTS_FEED, DOTS_FEED),
        (DUPLICATE_FEED,
         POLITICS + "japan-to-keep-imf's-no.-2-shareholder-status-even-after-quota-reform-1"),
        # Curly quotes stay encoded, in upper-case hex, whatever the input spelling
        (POLITICS + "japan%E2%80%99s-plan", POLITICS + "japan%E2%80%99s-plan"),
        (POLITICS + "japan%e2%80%99s-plan", POLITICS + "japan%E2%80%99s-plan"),
        (POLITICS + "japan’s-plan", POLITICS + "japan%E2%80%99s-plan"),
        # Hex case is irrelevant, slug case is not
        (POLITICS + "Japan%2ds-Plan", POLITICS + "Japan-s-Plan"),
        (POLITICS + "a%20b c", POLITICS + "a%20b%20c"),
        (POLITICS + "100%25-sure", POLITICS + "100%25-sure"),
        (POLITICS + "a%2Fb", POLITICS + "a%2Fb"),  # an encoded slash is not a separator
        ("https://example.com/%FF", "https://example.com/%FF"),  # not UTF-8: kept as bytes
        # Host, port, path edge cases
        ("http://japantoday.com:80/a", "http://japantoday.com/a"),
        ("https://japantoday.com:8443/a", "https://japantoday.com:8443/a"),
        ("http://japantoday.com:443/a", "http://japantoday.com:443/a"),
        ("https://japantoday.com", "https://japantoday.com/"),
        ("https://japantoday.com?page=2", "https://japantoday.com/"),
        ("https://japantoday.com/category/politics/", "https://japantoday.com/category/politics/"),
        ("https://japantoday.com/category/politics", "https://japantoday.com/category/politics"),
        ("http://www.japantoday.com/category/politics/view/x",
         "http://www.japantoday.com/category/politics/view/x"),
        ("  https://japantoday.com/a \n", "https://japantoday.com/a"),
        ("https://User@Example.com/a", "https://example.com/a"),
        ("https://user:secret@Example.com:8443/a", "https://example.com:8443/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
    ],
    ids=[
        "feed-%27", "listing-apostrophe", "query-and-fragment", "comment-order",
        "comment-fragment", "host-case", "default-https-port", "update1-prefix",
        "mixed-case-slug", "quoted-word", "dots-kept", "duplicate-digit", "curly-encoded",
        "curly-lower-hex", "curly-raw", "hex-case", "space", "percent-sign", "encoded-slash",
        "invalid-utf8", "default-http-port", "other-port", "https-port-on-http", "empty-path",
        "empty-path-query", "trailing-slash-kept", "no-trailing-slash-kept", "old-www-view",
        "surrounding-space", "userinfo-dropped", "credentials-dropped", "ipv6",
    ],
)
def test_canonicalize_url(url, expected):
    assert canonicalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (POLITICS + "?page=2", POLITICS + "?page=2"),
        (POLITICS + "?page=2#top", POLITICS + "?page=2"),
        ("https://x.com/a?b=2&a=1", "https://x.com/a?a=1&b=2"),
        ("https://x.com/a?utm_source=rss&utm_medium=feed&page=3", "https://x.com/a?page=3"),
        ("https://x.com/a?fbclid=IwAR0&gclid=abc&UTM_Campaign=x", "https://x.com/a"),
        ("https://x.com/a?q=caf%C3%A9&q=a", "https://x.com/a?q=a&q=caf%C3%A9"),
        ("https://x.com/a?empty=", "https://x.com/a?empty="),
        ("https://x.com/a?", "https://x.com/a"),
    ],
    ids=["page", "page-fragment", "sorted", "utm-dropped", "click-ids-dropped",
         "repeated-key", "blank-value", "empty-query"],
)
def test_canonicalize_url_keep_query(url, expected):
    assert canonicalize_url(url, keep_query=True) == expected


def test_feed_and_listing_spellings_collapse():
    spellings = {
        KISHIDA_FEED,
        KISHIDA,
        KISHIDA_FEED + "?comment-order=latest#comments",
        KISHIDA.replace("'", "%27") + "#comments",
        KISHIDA_FEED.replace("japantoday.com", "JapanToday.com:443"),
    }
    assert {canonicalize_url(url) for url in spellings} == {KISHIDA}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (KISHIDA_FEED, True),
        ("http://japantoday.com", True),
        ("HTTPS://japantoday.com/a", True),
        (" https://japantoday.com/a ", True),
        ("ftp://japantoday.com/a", False),
        ("mailto:editor@japantoday.com", False),
        ("javascript:void(0)", False),
        ("/category/politics/x", False),
        ("https://", False),
        ("https:///path", False),
        ("http://[::1", False),
        ("", False),
    ],
    ids=["https", "http", "upper-scheme", "spaces", "ftp", "mailto", "javascript", "relative",
         "no-host", "empty-host", "broken-ipv6", "empty"],
)
def test_is_http_url(url, expected):
    assert is_http_url(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (KISHIDA_FEED + "?comment-order=latest#comments",
         "/category/politics/japan-pm-kishida's-political-groups-misreported-2021-donations"),
        (POLITICS + "japan%E2%80%99s-plan", "/category/politics/japan’s-plan"),
        ("https://japantoday.com", "/"),
        ("https://japantoday.com/category/politics?page=2", "/category/politics"),
    ],
    ids=["decoded-apostrophe", "decoded-curly", "empty", "query-ignored"],
)
def test_url_path(url, expected):
    assert url_path(url) == expected


