"""Tests for newscrawl.text (normalisation, paragraphs, fingerprints) and Japan Today's declared boilerplate."""

from pathlib import Path

import pytest

from newscrawl.spiders.japantoday import BOILERPLATE as JAPANTODAY
from newscrawl.text import (
    ZERO_WIDTH,
    content_hash,
    join_paragraphs,
    normalize_paragraphs,
    normalize_text,
    split_paragraphs,
    word_count,
)

BODIES = Path(__file__).parent / "data" / "bodies-2026"
PROMO_TAIL = (
    "Join us for an unforgettable evening of networking, aloha-inspired live music by SHEN and "
    "free flowing drinks and buffet at TWO ROOMS NIHOMBASHI. July 2 (Thurs), 7pm to 9:30pm. Get "
    "your ticket now for a 50% Discount. Only 50 Early Bird Tickets Available. Use your Facebook "
    "account to login or register with JapanToday. By doing so, you will also receive an email "
    "inviting you to receive our news alerts."
)


def body_lines(name: str) -> list[str]:
    """Return the lines (one paragraph each) of a copied bodies-2026 text."""
    return (BODIES / name).read_text(encoding="utf-8").splitlines()


def test_zero_width_set():
    assert set(ZERO_WIDTH) == {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("  padded\t", "padded"),
        ("a\u00a0b", "a b"),
        ("a\u3000b", "a b"),
        ("a\u202fb\u2009c", "a b c"),
        ("line\nbreak\r\nand\ttab", "line break and tab"),
        ("para\u2028sep\u2029end", "para sep end"),
        ("a \u200b b", "a b"),
        # Reuters copy (iran-announces-end-to-attacks-on-israel): U+2060 between spaces
        ("oil prices up around \u2060 4%", "oil prices up around 4%"),
        ("Donald \u200cTrump", "Donald Trump"),
        ("in\u200bside\u200cword\u200d\u2060\ufeff", "insideword"),
        ("co\u00adoperate", "cooperate"),
        ("\ufeffBOM at start", "BOM at start"),
        ("bell\x07 and\x00 nul", "bell and nul"),
        ("c1\x85next", "c1 next"),  # NEL is whitespace, not noise
        ("c1\x9bcontrol", "c1control"),
        ("Cafe\u0301", "Café"),  # NFC composes e + combining acute
        ("Cafe\u200b\u0301", "Café"),  # composes once the zero-width between them is gone
        ("“curly” ‘quotes’ — kept", "“curly” ‘quotes’ — kept"),
        ("", ""),
        (" \u200b\u00a0\n ", ""),
    ],
    ids=[
        "plain", "strip", "nbsp", "ideographic-space", "narrow-and-thin-spaces",
        "newlines-tabs", "unicode-line-separators", "zwsp-between-spaces", "real-wj",
        "real-zwnj", "zero-width-inside-word", "soft-hyphen", "bom", "c0-controls",
        "nel-is-space", "c1-control", "nfc", "nfc-after-zw", "typography-kept", "empty",
        "only-invisible",
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        (["a", "", " b ", "\u200b", "\u00a0"], ["a", "b"]),
        (iter(["x\n y"]), ["x y"]),
        ([], []),
    ],
    ids=["drops-empty", "any-iterable", "nothing"],
)
def test_normalize_paragraphs(paragraphs, expected):
    assert normalize_paragraphs(paragraphs) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("One.\n\nTwo.", ["One.", "Two."]),
        ("One\nstill one.\n\n\n\nTwo.", ["One still one.", "Two."]),
        ("One.\r\n\r\nTwo.", ["One.", "Two."]),
        ("One.\n \t\nTwo.", ["One.", "Two."]),
        ("One.\n\u200b\u00a0\nTwo.", ["One.", "Two."]),
        ("\n\nOne.\n\n", ["One."]),
        ("", []),
    ],
    ids=["blank-line", "soft-break-joined", "crlf", "whitespace-line", "invisible-line",
         "leading-trailing", "empty"],
)
def test_split_paragraphs(body, expected):
    assert split_paragraphs(body) == expected


def test_join_then_split_round_trips():
    paragraphs = ["First paragraph.", "Second “one”."]
    assert join_paragraphs(paragraphs) == "First paragraph.\n\nSecond “one”."
    assert split_paragraphs(join_paragraphs(paragraphs)) == paragraphs


@pytest.mark.parametrize(
    ("paragraph", "kind"),
    [
        # Boilerplate seen on real pages (seed-article.txt, bodies-2026)
        (PROMO_TAIL, "promo"),
        ("Get your ticket now for a 50% Discount.", "promo"),
        ("Only 50 Early Bird Tickets Available.", "promo"),
        ("Early Bird Tickets", "promo"),
        ("Login to comment", "login"),
        ("Login to leave a comment", "login"),
        ("Register / Login", "login"),
        ("Forgot password?", "login"),
        ("User registration", "login"),
        ("Forgot password? User registration", "login"),
        ("Login with your JapanToday account", "login"),
        ("No Comment", "login"),
        ("No Comment Login to comment", "login"),
        ("Facebook users", "social"),
        ("Use your Facebook account to login or register with JapanToday. By doing so, you will "
         "also receive an email inviting you to receive our news alerts.", "social"),
        ("Facebook Connect", "social"),
        ("Share this article on Facebook", "social"),
        ("Tweet", "social"),
        ("Take this healthcare survey and receive a ¥1000 Amazon Voucher", "survey"),
        ("Help improve healthcare access for foreigners by filling out this questionnaire from "
         "the University of Tokyo.", "survey"),
        ("Department of Community and Global Health, the University of Tokyo", "survey"),
        ("Apply Now", "survey"),
        ("Articles, Offers & Useful Resources", "related"),
        ("A mix of what's trending on our other sites", "related"),
        ("Top Jobs in Japan", "related"),
        ("Find Your Apartment in Japan", "related"),
        ("Newsletter Signup", "newsletter"),
        ("Newsletter Signup Register / Login", "newsletter"),
        ("0 Comments", "comments"),
        ("12 Comments", "comments"),
        ("1 Comment", "comments"),
        ("0 ( +2 / -2 )", "comments"),
        ("5 ( +7 / -2 )", "comments"),
        ("JapanToday Sotokanda S Bldg. 4F 5-2-1 Sotokanda Chiyoda-ku Tokyo 101-0021 Japan "
         "Tel: +81 3 "
         "5829 5900 Fax: +81 3 5829 5919 Email: editor@japantoday.com ©2026 GPlusMedia Inc.",
         "site-footer"),
        ("Please upgrade to a more modern version to fully experience JapanToday site and for "
         "security reasons", "browser-warning"),
        ("login\u00a0to\u200b comment", "login"),  # un-normalised input is normalised first
        # Real prose that mentions the same words: article text, never boilerplate
        ('"I believed it was a legitimate place to trade tickets," a woman in her 20s who resold '
         "around 90 tickets for concerts by male idol groups told Kyodo News.", None),
        ("Japan enforced a law prohibiting the illegal resale of admission tickets in 2019, "
         "banning the repeated resale of tickets above face value without the consent of "
         "organizers.", None),
        ("A fiscal 2019 survey identified the castle as being at risk of collapse in the event of "
         "a major earthquake.", None),
        ("An American student who disappeared while on a family vacation in Japan has been found "
         "dead outside Kyoto, his mother wrote in a Facebook post on Saturday.", None),
        ("No immediate comment from U.S. Embassy in Japan was available. Representatives for the "
         "Japanese defense ministry could not be reached for comment.", None),
        ("The Justice Department did not immediately return messages seeking comment Monday.",
         None),
        ("As a share of the overall economy, the deficit last year was 5.8%.", None),
        ("Users must login to comment on the forum, the company said.", None),
        ('The poster read "Get your ticket now" in large red letters.', None),
        ("Fans mocked the banner saying Get your ticket now for a 50% Discount.", None),
        ("Early bird tickets for the Expo sold out within an hour, organizers said.", None),
        ("Applicants were told to apply now rather than wait for the next round.", None),
        ("The 2 comments drew 300 replies.", None),
        ("politics", None),
        ("TOKYO", None),
        ("© Thomson Reuters 2021.", None),  # credits belong to newscrawl.credits
        ("©2021 GPlusMedia Inc.", None),
        ("", None),
    ],
    ids=[
        "promo-full", "promo-ticket", "promo-early-bird", "promo-early-bird-short",
        "login-comment", "login-leave", "login-register", "login-forgot", "login-registration",
        "login-forgot-and-registration", "login-japantoday", "login-no-comment",
        "login-no-comment-glued", "social-users", "social-use-facebook", "social-connect",
        "social-share", "social-tweet", "survey-voucher", "survey-help", "survey-sponsor",
        "survey-apply", "related-offers", "related-mix", "related-jobs", "related-apartment",
        "newsletter", "newsletter-header", "comments-zero", "comments-many", "comments-one",
        "votes-zero", "votes-positive", "site-footer", "browser-warning", "unnormalised",
        "prose-tickets-quote", "prose-tickets-law", "prose-survey", "prose-facebook",
        "prose-no-comment", "prose-seeking-comment", "prose-share", "prose-login",
        "prose-quoted-promo", "prose-promo-mid-sentence", "prose-early-bird", "prose-apply-now",
        "prose-comments-count",
        "category-label", "dateline", "credit-reuters", "credit-site", "empty",
    ],
)
def test_boilerplate_kind(paragraph, kind):
    assert JAPANTODAY.kind(paragraph) == kind


@pytest.mark.parametrize(
    ("paragraphs", "kept", "removed"),
    [
        (["Real text.", "0 Comments", "More real text."], ["Real text.", "More real text."],
         ["comments"]),
        (["Real text. " + PROMO_TAIL], ["Real text."], ["promo"]),
        (['He said, "It is essential." ' + PROMO_TAIL], ['He said, "It is essential."'],
         ["promo"]),
        (["Real text. Use your Facebook account to login or register with JapanToday. By doing "
          "so, you will also receive an email inviting you to receive our news alerts."],
         ["Real text."], ["social"]),
        (["Real text. Login to comment"], ["Real text."], ["login"]),
        (["Fans mocked the banner saying Get your ticket now for a 50% Discount."],
         ["Fans mocked the banner saying Get your ticket now for a 50% Discount."], []),
        # The seed page's tail: credits stay (newscrawl.credits takes them), chrome goes.
        (["Real text.", "© Thomson Reuters 2021.", "©2021 GPlusMedia Inc.",
          "Take this healthcare survey and receive a ¥1000 Amazon Voucher",
          "Help improve healthcare access for foreigners by filling out this questionnaire from "
          "the University of Tokyo.",
          "Department of Community and Global Health, the University of Tokyo", "Apply Now",
          "No Comment\nLogin to comment", "Login to leave a comment", "Facebook users",
          "Facebook Connect", "Login with your JapanToday account", "Forgot password?\nUser "
          "registration"],
         ["Real text.", "© Thomson Reuters 2021.", "©2021 GPlusMedia Inc."],
         ["survey", "survey", "survey", "survey", "login", "login", "social", "social", "login",
          "login"]),
        # Cards under the cross-promotion header look like prose; the whole block goes.
        (["Real text.", "Articles, Offers & Useful Resources",
          "A mix of what's trending on our other sites", "Nature",
          "The Best Spots to See Cherry Blossoms in Kyoto", "GaijinPot Travel"],
         ["Real text."], ["related"] * 5),
        (["Real text.", "\u200b", " Second\u00a0one. "], ["Real text.", "Second one."], []),
        ([], [], []),
    ],
    ids=["whole-paragraph", "glued-promo-tail", "glued-after-quote", "glued-facebook-tail",
         "glued-login-tail", "marker-mid-sentence", "seed-tail", "related-block", "normalises",
         "empty"],
)
def test_strip_boilerplate(paragraphs, kept, removed):
    assert JAPANTODAY.strip(paragraphs) == (kept, removed)


@pytest.mark.parametrize(
    ("name", "first", "last", "n_kept", "removed"),
    [
        ("japantoday__2026-06-09__child-comes-into-store-saying-she-s-hung.txt",
         "Police in Kushiro, Hokkaido,",
         "while they went out drinking together at several establishments.", 1, ["promo"]),
        ("japantoday__2026-06-09__deteriorating-castles-in-japan-face-high.txt",
         "Several Japanese castles",
         'in cases of reconstruction or renovations."', 1, ["promo"]),
        ("japantoday__2026-06-09__iran-announces-end-to-attacks-on-israel-.txt",
         "Iran's military announced on Monday",
         "parts of the plant were damaged.", 19, ["browser-warning", "site-footer"]),
        ("japantoday__2026-06-07__missing-u-s-student-found-dead-near-kyot.txt",
         "An American student who disappeared while on a family vacation",
         "did not uncover any trace of him, CNN reported.", 9, []),
        ("japantoday__2026-06-07__japan-struggles-to-curb-ticket-scalping-.txt",
         "Lawsuits, settlement payments",
         'it will be the fans who follow the rules who suffer the consequences."', 18, []),
    ],
    ids=["child-promo", "castles-promo", "iran-header-footer", "student-facebook-prose",
         "ticket-scalping-prose"],
)
def test_strip_boilerplate_real_bodies(name, first, last, n_kept, removed):
    kept, kinds = JAPANTODAY.strip(body_lines(name))
    assert kinds == removed
    assert len(kept) == n_kept
    assert kept[0].startswith(first)
    assert kept[-1].endswith(last)
    text = join_paragraphs(kept)
    assert not set(ZERO_WIDTH) & set(text)
    for noise in ("Join us", "Facebook account", "GPlusMedia", "Please upgrade", "news alerts"):
        assert noise not in text


@pytest.mark.parametrize(
    ("title", "body", "same"),
    [
        ("Title", "One.\n\nTwo.", True),
        (" title\u00a0", "one.\n\n\n\ntwo.", True),
        ("TITLE", "ONE.\n\nTWO.", True),
        ("Ti\u200btle", "O\u2060ne.\r\n\r\nTwo.\n", True),
        ("Title", "One.\n \n\u200b\nTwo.", True),
        ("Title", "One.\n\nThree.", False),
        ("Other title", "One.\n\nTwo.", False),
        ("Title", "One. Two.", False),  # paragraph boundaries are content
        (None, "One.\n\nTwo.", False),
    ],
    ids=["identical", "whitespace", "case", "zero-width-and-crlf", "invisible-blank-line",
         "changed-word", "changed-title", "merged-paragraphs", "no-title"],
)
def test_content_hash(title, body, same):
    reference = content_hash("Title", "One.\n\nTwo.")
    assert (content_hash(title, body) == reference) is same


def test_content_hash_format():
    digest = content_hash(None, None)
    assert digest == content_hash("", "")
    # sha256 of the bare separator: the documented formula, not just "some hex"
    assert digest == "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b"
    assert len(content_hash("t", "b")) == 64


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("One two three.", 3),
        ("One.\n\nTwo three.", 3),
        ("U.S. President Joe Biden's cabinet", 5),
        ("A mid-sized, well-known firm — really.", 5),
        ("He paid ¥1,000 (about $6.50) at 9:30 pm.", 8),
        ("in\u200bside", 1),
        ("— – - …", 0),
        ("", 0),
    ],
    ids=["simple", "paragraphs", "abbreviations", "dash-not-a-word", "numbers", "zero-width",
         "punctuation-only", "empty"],
)
def test_word_count(body, count):
    assert word_count(body) == count


def test_word_count_real_body():
    # 531 is what `wc -w` reports for the file: the body has no punctuation-only tokens.
    lines = body_lines("japantoday__2026-06-07__japan-struggles-to-curb-ticket-scalping-.txt")
    assert word_count("\n\n".join(lines)) == 531


def _reference_normalize(s: str) -> str:
    """normalize_text as first written (regex whitespace collapse), the spec of the faster one."""
    import re
    import unicodedata

    from newscrawl.text import _DELETE

    s = unicodedata.normalize("NFC", s.translate(_DELETE))
    return re.sub(r"\s+", " ", s).strip()


# Every kind of whitespace, control and zero-width character the rules treat specially.
_TRICKY = list("ab1 —-.,_'’日\t\n\r\f\v\u00a0\u1680\u2000\u2028\u2029\u202f\u205f\u3000\u200b\ufeff\u00ad"
               "\x00\x1c\x1f\x85\x7f\u0301e")


def test_normalize_text_matches_the_regex_spec():
    import random

    rng = random.Random(6)
    for _ in range(20_000):
        s = "".join(rng.choice(_TRICKY) for _ in range(rng.randint(0, 12)))
        assert normalize_text(s) == _reference_normalize(s), repr(s)


def test_word_count_matches_the_regex_spec():
    import random
    import re

    rng = random.Random(6)
    for _ in range(20_000):
        s = "".join(rng.choice(_TRICKY) for _ in range(rng.randint(0, 12)))
        assert word_count(s) == len(re.findall(r"\S*\w\S*", s)), repr(s)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://japantoday.com/category/politics/a", "https://japantoday.com/category/politics/a", True),
        ("https://japantoday.com/category/politics/a", "https://japantoday.com/category/politics/b", False),
        ("", " ", False),
        ("日本", "日本", True),
    ],
)
def test_fingerprint_is_eight_stable_bytes(a: str, b: str, same: bool) -> None:
    from newscrawl.text import fingerprint

    assert len(fingerprint(a)) == 8
    assert (fingerprint(a) == fingerprint(b)) is same
