"""Tests for newscrawl.credits: credit lines, agencies, datelines and bylines."""

import pytest

from newscrawl.credits import (
    headline_byline,
    normalize_credit,
    parse_byline,
    pick_credit,
    split_credit_lines,
    split_byline,
    split_dateline,
)

AP_NOTICE = (
    "© Copyright 2023 The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed without permission."
)


@pytest.mark.parametrize(
    ("paragraphs", "remaining", "removed"),
    [
        # The seed page (2021-03-22): a Reuters story, then the site's own line.
        (["Body one.", "Body two.", "© Thomson Reuters 2021.", "©2021 GPlusMedia Inc."],
         ["Body one.", "Body two."], ["© Thomson Reuters 2021.", "©2021 GPlusMedia Inc."]),
        (["Body.", AP_NOTICE], ["Body."], [AP_NOTICE]),
        (["Body.", "© Japan Today"], ["Body."], ["© Japan Today"]),
        (["Body.", "(c) 2024 Some Paper"], ["Body."], ["(c) 2024 Some Paper"]),
        (["Body.", "(C) KYODO"], ["Body."], ["(C) KYODO"]),
        (["Body.", "Copyright 2024 Some Paper"], ["Body."], ["Copyright 2024 Some Paper"]),
        (["Body.", "COPYRIGHT © AFP"], ["Body."], ["COPYRIGHT © AFP"]),
        (["Body.", " ©\u00a0Jiji Press "], ["Body."], [" ©\u00a0Jiji Press "]),
        # Only the trailing run goes: a © earlier in the body is article text.
        (["Body.", "© Thomson Reuters 2021.", "More body."],
         ["Body.", "© Thomson Reuters 2021.", "More body."], []),
        (["© AFP", "Body."], ["© AFP", "Body."], []),
        (["The © sign was redrawn, the agency said."],
         ["The © sign was redrawn, the agency said."], []),
        # Prose that opens with the word
        (["Body.", "Copyright holders sued the platform in 2023."],
         ["Body.", "Copyright holders sued the platform in 2023."], []),
        (["Body.", "©" + " long prose" * 40], ["Body.", "©" + " long prose" * 40], []),
        (["© Thomson Reuters 2021."], [], ["© Thomson Reuters 2021."]),
        ([], [], []),
    ],
    ids=["seed-reuters-and-site", "ap-notice", "japan-today", "paren-c-lower", "paren-c-upper",
         "copyright-word", "copyright-and-symbol", "unnormalised", "mid-body-stays",
         "leading-stays", "symbol-in-prose", "copyright-prose", "too-long", "only-credit",
         "empty"],
)
def test_split_credit_lines(paragraphs, remaining, removed):
    assert split_credit_lines(paragraphs) == (remaining, removed)


def test_split_credit_lines_accepts_tuples():
    assert split_credit_lines(("Body.", "© AFP")) == (["Body."], ["© AFP"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("© Thomson Reuters 2021.", "Reuters"),
        ("(Reuters)", "Reuters"),
        ("Reuters", "Reuters"),
        ("REUTERS", "Reuters"),
        (AP_NOTICE, "AP"),
        ("(AP)", "AP"),
        ("Associated Press", "AP"),
        ("AP Photo/Eugene Hoshiko", "AP"),
        ("© 2026 AFP", "AFP"),
        ("Agence France-Presse", "AFP"),
        ("AFP-JIJI", "AFP"),  # the first agency named
        ("© KYODO", "Kyodo"),
        ("Kyodo News", "Kyodo"),
        ("© Jiji Press", "Jiji"),
        ("JIJI", "Jiji"),
        ("© 2025 Bloomberg L.P.", "Bloomberg"),
        ("(Yonhap)", "Yonhap"),
        ("Central News Agency", "CNA"),
        ("(CNA)", "CNA"),
        ("Xinhua", "Xinhua"),
        ("© dpa", "dpa"),
        ("Deutsche Presse-Agentur", "dpa"),
        ("EFE", "EFE"),
        ("ANSA", "ANSA"),
        ("© Japan Today", "Japan Today"),
        ("©2021 GPlusMedia Inc.", "Japan Today"),
        ("©2026 GPlusMedia Inc.", "Japan Today"),
        ("© Japan Today / Reuters", "Reuters"),  # a wire outranks the site inside one line
        ("© 2024 Some Paper", "Some Paper"),
        ("© 2024 Some Paper. All rights reserved.", "Some Paper"),
        ("Copyright (c) 2019-2024 The Daily Foo", "The Daily Foo"),
        ("(c) Mainichi Shimbun", "Mainichi Shimbun"),
        ("© 2024", None),
        ("©", None),
        ("Some Paper", None),
        ("By Mari Yamaguchi", None),
        ("APEC leaders met in San Francisco", None),  # "AP" is not matched inside words
        ("Japan", None),
        ("Chapter", None),
        ("© 2024 The Ap Daily", "The Ap Daily"),  # the acronym needs capitals
        ("", None),
        ("\u200b", None),
    ],
    ids=["reuters-notice", "reuters-paren", "reuters-bare", "reuters-upper", "ap-notice",
         "ap-paren", "ap-name", "ap-photo", "afp-notice", "afp-name", "afp-jiji", "kyodo-notice",
         "kyodo-news", "jiji-press", "jiji-upper", "bloomberg", "yonhap", "cna-name",
         "cna-paren", "xinhua", "dpa", "dpa-name", "efe", "ansa", "japan-today",
         "gplusmedia-2021", "gplusmedia-2026", "wire-beats-site", "holder", "holder-rights",
         "holder-copyright-c-range", "holder-paren-c", "year-only", "symbol-only",
         "not-a-notice", "byline", "apec", "japan", "chapter", "acronym-case", "empty",
         "invisible"],
)
def test_normalize_credit(text, expected):
    assert normalize_credit(text) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["© Thomson Reuters 2021.", "©2021 GPlusMedia Inc."], "Reuters"),
        (["©2021 GPlusMedia Inc.", "© Thomson Reuters 2021."], "Reuters"),
        (["© Japan Today", "©2021 GPlusMedia Inc."], "Japan Today"),
        (["© KYODO", "© Thomson Reuters 2021."], "Kyodo"),
        (["© Japan Today", "© 2024 Some Paper"], "Some Paper"),
        (["© 2024 Some Paper", "© AFP"], "AFP"),
        (["nothing here"], None),
        ([], None),
    ],
    ids=["wire-then-site", "site-then-wire", "site-only", "first-wire", "holder-beats-site",
         "wire-beats-holder", "unrecognised", "empty"],
)
def test_pick_credit(lines, expected):
    assert pick_credit(lines) == expected


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("TOKYO (Kyodo) -- Japan's ruling party said on Monday.",
         ("TOKYO", "Kyodo", "Japan's ruling party said on Monday.")),
        ("WASHINGTON (AP) — President Joe Biden said.",
         ("WASHINGTON", "AP", "President Joe Biden said.")),
        ("NEW YORK — Stocks fell.", ("NEW YORK", None, "Stocks fell.")),
        ("ST. LOUIS (Reuters) - A jury found.", ("ST. LOUIS", "Reuters", "A jury found.")),
        ("SEOUL, South Korea (AP) — North Korea fired.", ("SEOUL", "AP", "North Korea fired.")),
        ("TOKYO, Japan — Officials said.", ("TOKYO", None, "Officials said.")),
        ("TOKYO – Officials said.", ("TOKYO", None, "Officials said.")),
        ("TOKYO—Officials said.", ("TOKYO", None, "Officials said.")),
        ("WINSTON-SALEM (AP) — A man.", ("WINSTON-SALEM", "AP", "A man.")),
        ("BEIJING (Xinhua) — “We oppose it,” he said.",
         ("BEIJING", "Xinhua", "“We oppose it,” he said.")),
        ("TOKYO (Some Outlet) — Text.", ("TOKYO", None, "Text.")),
        ("TOKYO\u00a0(AP)\u00a0—\u00a0Text.", ("TOKYO", "AP", "Text.")),
        # Not datelines
        ("U.S. President Joe Biden — said to be angry — left.", None),
        ("NATO — the alliance said.", None),
        ("COVID-19 cases rose in Tokyo.", None),
        ("Tokyo — Officials said.", None),
        ("TOKYO", None),
        ("TOKYO —", None),
        ("The PM said - again - that he would stay.", None),
        ("THIS IS A VERY LONG CAPITALISED PREFIX THAT IS NO PLACE NAME — Text.", None),
        ("", None),
    ],
    ids=["kyodo-double-hyphen", "ap-em-dash", "two-word-city", "dotted-city-hyphen",
         "city-country", "city-country-no-agency", "en-dash", "no-spaces", "hyphenated-city",
         "quote-after", "unknown-agency", "nbsp", "sentence-with-dashes", "lowercase-after-dash",
         "hyphen-in-word", "not-capitals", "city-only", "nothing-after", "prose-hyphens",
         "too-long", "empty"],
)
def test_split_dateline(paragraph, expected):
    if expected is None:
        expected = (None, None, paragraph)
    assert split_dateline(paragraph) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("By Mari Yamaguchi", ["Mari Yamaguchi"]),
        ("By Mari Yamaguchi and Kanako Takahara", ["Mari Yamaguchi", "Kanako Takahara"]),
        ("By Ann Lee, Bob Ray and Cy Wu", ["Ann Lee", "Bob Ray", "Cy Wu"]),
        ("By Ann Lee, Bob Ray, and Cy Wu", ["Ann Lee", "Bob Ray", "Cy Wu"]),
        ("By Ann Lee & Bob Ray", ["Ann Lee", "Bob Ray"]),
        ("BY MARI YAMAGUCHI", ["MARI YAMAGUCHI"]),
        ("by Mari Yamaguchi", ["Mari Yamaguchi"]),
        ("By Mari Yamaguchi | AP", ["Mari Yamaguchi"]),
        ("By Mari Yamaguchi, Associated Press", ["Mari Yamaguchi"]),
        ("By Mari Yamaguchi, The Associated Press", ["Mari Yamaguchi"]),
        ("By Ann Lee, Reuters", ["Ann Lee"]),
        ("By Reuters Staff", ["Reuters Staff"]),
        ("By Ursula von der Leyen", ["Ursula von der Leyen"]),
        ("By\u00a0Mari Yamaguchi\u200b", ["Mari Yamaguchi"]),
        ("By Anderson Cooper", ["Anderson Cooper"]),  # "and" inside a word is no separator
        # Not bylines
        ("By The Associated Press", []),
        ("By doing so, you will also receive an email inviting you to receive our news alerts.",
         []),
        ("By Monday, the ministry had approved the plan.", []),
        ("Mari Yamaguchi", []),
        ("Bystanders filmed the arrest.", []),
        ("By", []),
        ("", []),
    ],
    ids=["one", "two", "three", "oxford-comma", "ampersand", "upper", "lower-by", "pipe-agency",
         "comma-agency", "comma-the-agency", "comma-reuters", "reuters-staff", "particles",
         "invisible", "and-in-name", "agency-only", "facebook-prose", "date-prose", "no-by",
         "by-prefix-word", "by-alone", "empty"],
)
def test_parse_byline(text, expected):
    assert parse_byline(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("By Haruto Kisaragi and Lena Ortiz", (["Haruto Kisaragi", "Lena Ortiz"], [])),
        ("By Ann Lee, Bob Ray and Cy Wu", (["Ann Lee", "Bob Ray", "Cy Wu"], [])),
        ("By Ann Lee | AP", (["Ann Lee"], ["AP"])),
        ("By Ann Lee, Associated Press", (["Ann Lee"], ["AP"])),
        ("By Ann Lee and Bob Ray / Yomiuri Shimbun Staff Writers", (["Ann Lee", "Bob Ray"], [])),
        ("By Reuters", ([], ["Reuters"])),
        ("By Kyodo", ([], ["Kyodo"])),
        ("By KYODO NEWS", ([], ["Kyodo"])),
        ("By The Associated Press", ([], ["AP"])),
        ("By AP and Reuters", ([], ["AP", "Reuters"])),
        ("By Reuters Staff", (["Reuters Staff"], [])),
        ("By Japan Today", ([], [])),
        ("By Monday, the ministry had approved the plan.", ([], [])),
        ("AP", ([], [])),
        ("", ([], [])),
    ],
    ids=["two", "three", "pipe-wire", "comma-wire", "desk", "reuters", "kyodo", "kyodo-news-upper",
         "the-ap", "two-wires", "reuters-staff", "site", "prose", "no-by", "empty"],
)
def test_split_byline(text, expected):
    assert split_byline(text) == expected


JT_HEAD = ["Jun. 10, 2026 02:05 pm JST", "3 Comments", "FILE PHOTO (caption)", "TOKYO"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # Japan Today: date, comment count, photo caption and dateline come before the byline.
        ([*JT_HEAD, "By Haruto Kisaragi and Lena Ortiz"], (["Haruto Kisaragi", "Lena Ortiz"], [])),
        (["By Mio Tanabe , Kenji Arakawa and Sofia Brandt", *JT_HEAD],
         (["Mio Tanabe", "Kenji Arakawa", "Sofia Brandt"], [])),
        ([*JT_HEAD, "By Kyodo"], ([], ["Kyodo"])),
        ([*JT_HEAD, "By Reuters"], ([], ["Reuters"])),
        ([*JT_HEAD, "AP"], ([], ["AP"])),
        ([*JT_HEAD, "Associated Press"], ([], ["AP"])),
        (["By Ann Lee | AP"], (["Ann Lee"], ["AP"])),
        # The first byline wins.
        (["By Ann Lee", "By Bob Ray"], (["Ann Lee"], [])),
        # Not bylines
        ([*JT_HEAD, "By Monday, the ministry had approved the plan."], ([], [])),
        (["By " + "Ann Lee, " * 20 + "and Bob Ray"], ([], [])),  # longer than a byline line
        (["AP Photo/Eugene Hoshiko"], ([], [])),
        (["politics", "Japan Today"], ([], [])),
        (JT_HEAD, ([], [])),
        ([], ([], [])),
    ],
    ids=["after-head", "before-head", "kyodo", "reuters", "bare-ap", "bare-wire-name", "pipe",
         "first-wins", "prose", "too-long", "photo-credit", "site", "head-only", "nothing"],
)
def test_headline_byline(lines, expected):
    assert headline_byline(lines) == expected
