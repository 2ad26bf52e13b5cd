"""The generic story filter's rules (newscrawl/extract/story.py), each on real lines of NAEB dev pages.

Provenance: every string below is a block trafilatura returns for the NAEB page named beside it
(tests/data/naeb, Apache-2.0; the id's first 8 hex digits and the site), dev half only. "drop"
lines are ones the page's hand-cleaned truth leaves out; "keep" lines are story sentences the
truth keeps that look like a rule's target (the cases each rule was narrowed for).
"""

from __future__ import annotations

import lxml.html
import pytest

from newscrawl.extract.story import Block, is_bio, is_furniture, standfirst, story_paragraphs
from newscrawl.review import OFFLINE_ORIGIN, OfflineReader
from tests.support import naeb

FURNITURE = [
    # newsletter and subscription prompts
    ("2348afdd thecrimson.com", "Want to keep up with breaking news? Subscribe to our email newsletter."),
    ("24201b9f weather.com", "Sign up for the Morning Brief email newsletter to get weekday updates from The Weather "
                             "Channel and our meteorologists."),
    ("9445d1c6 pcmag.com", "Your subscription has been confirmed. Keep an eye on your inbox!"),
    ("8d6464a6 hollywoodreporter.com", "Sign up for THR news straight to your inbox every day"),
    ("fed691ec apnews.com", "Get alerts on the latest AP Top 25 poll throughout the season. Sign up here. AP college "
                            "football: https://apnews.com/hub/college-football"),
    # affiliate disclosures
    ("4f6162a9 usmagazine.com", "Us Weekly has affiliate partnerships. We receive compensation when you click on a link "
                                "and make a purchase. Learn more!"),
    ("93de6fb5 popsci.com", "We may earn revenue from the products available on this page and participate in affiliate "
                            "programs. Learn more ›"),
    # cross-promotion headers and one-line teasers
    ("620e9bd1 ew.com", "Related content:"),
    ("76fbec2a thesun.co.uk", "Most read in Music"),
    ("a05f60d8 stltoday.com", "People are also reading…"),
    ("8d26870a vanityfair.com", "Vanity Fair’s Most Read Stories of 2023"),
    ("1ee0e0cb parade.com", "Related: Blue Jay's Spiritual Meaning"),
    ("93de6fb5 popsci.com", "[Related: How to tune up a table saw]"),
    ("21600759 pbs.org", "READ MORE: Stolen Banksy work honoring Bataclan victims found in Italy"),
    # media credits, embedded posts, placeholders, sound cues, bare punctuation
    ("a1b6b0f2 bbcamerica.com", "(Photo: Acorn TV)"),
    ("17c9f548 theboot.com", "Gallery Credit: Carena Liptak"),
    ("875a71d0 techspot.com", "Image credit: Paul Schultz"),
    ("8dd15e7e engadget.com", "An update regarding Insomniac and Marvel's #WolverinePS5. pic.twitter.com/CMkCCoZwwj— "
                              "Insomniac Games (@insomniacgames) December 22, 2023"),
    ("03e1eddf sfgate.com", "Article continues below this ad"),
    ("b39f2f7a tmz.com", "Waiting for your permission to load the Instagram Media."),
    ("e73cad71 scientificamerican.com", "[CLIP: Walking on pebbles]"),
    ("10f05376 medium.com", "--"),
    # contributor and republication notes
    ("2e3099eb sciencedaily.com", "Story Source:"),
    ("6956f917 miamiherald.com", "This story was originally published December 22, 2023, 11:09 AM."),
    ("1fa7c35f usatoday.com", "Includes information from The Associated Press"),
    ("afaafe2d espn.com", "ESPN's Ramona Shelburne contributed to this story."),
]

STORY = [
    ("337929df zdnet.com", "You can sign up for Vertex AI as a free trial when you sign up to Google Cloud as a free "
                           "trial. Using Gemini Pro in preview mode in Vertex AI has the same free allotment of 60 "
                           "requests per minute."),
    ("ddd256a8 techreport.com", "That said, if you’re looking for free spy apps for iPhone because you don’t want to "
                                "commit to a monthly subscription before seeing how the app works in practice, we have "
                                "good news for you."),
    ("51e86330 yahoo.com", "Wall Street is ready for the next big media merger."),
    ("fed691ec apnews.com", "Florida State is not the only ACC school to push for more revenue. Clemson, North Carolina "
                            "and others have also made the case, but Alford and the Seminoles have been the most vocal."),
    ("b39f2f7a tmz.com", "Rapper Mickey Factz was first to report Nashawn's death, remembering him for his "
                         "\"tenacity and aggressiveness\" as a battle rapper."),
    ("3ac9004a apnews.com", "___"),  # a typed rule: the contributor-note cut needs it
]

BIOS = [
    ("3cc792ad bostonglobe.com", "Travis Andersen can be reached at travis.andersen@globe.com. Adam Sennott can be "
                                 "reached at adam.sennott@globe.com."),
    ("7bde7518 thedailyjournal.com", "Jim Walsh is a senior reporter for the Courier-Post, Burlington County Times and "
                                     "The Daily Journal. Email: Jwalsh@cpsj.com."),
    ("7a2d3e5c usatoday.com", "Contact Kayla Jimenez at kjimenez@usatoday.com. Follow her on X, formerly Twitter, at "
                              "@kaylajjimenez."),
    ("cd7d3107 techradar.com", "Al Griffin has been writing about and reviewing A/V tech since the days LaserDiscs "
                               "roamed the earth, and was previously the editor of Sound & Vision magazine."),
]


@pytest.mark.parametrize(("page", "text"), FURNITURE, ids=[f"{p.split()[0]}-{i}" for i, (p, _) in enumerate(FURNITURE)])
def test_furniture_is_recognised(page: str, text: str) -> None:
    assert is_furniture(text)


@pytest.mark.parametrize(("page", "text"), STORY, ids=[p.split()[0] for p, _ in STORY])
def test_story_sentences_are_not_furniture(page: str, text: str) -> None:
    assert not is_furniture(text) and not is_bio(text)


@pytest.mark.parametrize(("page", "text"), BIOS, ids=[p.split()[0] for p, _ in BIOS])
def test_bios_and_contact_lines(page: str, text: str) -> None:
    assert is_bio(text)


def _block(text: str, kind: str = "p", links: float = 0.0) -> Block:
    return Block(kind, None, text, links)


def test_a_bio_goes_only_among_the_last_blocks() -> None:
    bio = BIOS[1][1]
    blocks = [_block(bio), _block("The story's first paragraph."), _block("Its second paragraph."),
              _block("Its third paragraph."), _block("Its last paragraph."), _block(bio)]
    assert story_paragraphs(blocks, []) == [bio, "The story's first paragraph.", "Its second paragraph.",
                                            "Its third paragraph.", "Its last paragraph."]


def test_a_cross_promotion_header_takes_its_linked_cards_with_it() -> None:
    # yahoo.com 6defa098: "Don't Miss:" then two teaser items with links, then the story goes on.
    blocks = [
        _block("In recent years, IRS data revealed an exodus of wealth from major urban centers."),
        _block("Don't Miss:", "head"),
        _block("Ken Griffin says Miami will take New York's place as the U.S. Financial Capital.", "item", 0.37),
        _block("Investing in real estate just got a whole lot simpler.", "item", 0.15),
        _block("In California, personal income taxes are as high as 12.3%."),
        _block("A list item of the story itself", "item"),
    ]
    assert story_paragraphs(blocks, []) == [
        "In recent years, IRS data revealed an exodus of wealth from major urban centers.",
        "In California, personal income taxes are as high as 12.3%.", "A list item of the story itself",
    ]


# sbnation.com 2c711e69: the description printed as the dek under the headline, which the truth keeps.
_DEK = "Wilson definitely had a concussion, and the NFL screwed it up."
_STORY = ["Zach Wilson left Sunday's game with what the team called dehydration."]


@pytest.mark.parametrize(
    ("html", "paragraphs", "expected"),
    [
        (f"<div><h1>Zach Wilson's mom</h1><div><p class='c-entry-summary p-dek'>{_DEK}</p></div></div>", _STORY, _DEK),
        # not printed on the page: a description alone is no standfirst
        ("<div><h1>Zach Wilson's mom</h1><p>Other text.</p></div>", _STORY, None),
        # printed before the headline (a teaser or a share card), not under it
        (f"<div><p>{_DEK}</p><h1>Zach Wilson's mom</h1></div>", _STORY, None),
        # the story already opens with it
        (f"<div><h1>Zach Wilson's mom</h1><p>{_DEK}</p></div>", [_DEK, *_STORY], None),
    ],
    ids=["under-h1", "not-printed", "before-h1", "already-in-story"],
)
def test_standfirst(html: str, paragraphs: list[str], expected: str | None) -> None:
    assert standfirst(lxml.html.fromstring(html), _DEK, paragraphs) == expected


@pytest.fixture(scope="module")
def reader() -> OfflineReader:
    return OfflineReader("news", f"{OFFLINE_ORIGIN}/")


@pytest.mark.parametrize(
    ("page_id", "gone", "first"),
    [
        # pcmag.com: the newsletter box inside the article, and the dek under the headline
        ("45612f70645effcbf1a1876a87179ecc", "Thanks for signing up!", "Apple has reportedly talked to NBC News"),
        # vanityfair.com: the "Most Read Stories" list in the middle of the story
        ("d727824239f0a15d08b697eb5931db0d", "The Real Housewives Reckoning", "Journalist Zoë Schiffer reveals"),
        # bostonglobe.com: the reporters' contact line, and the embedded post
        ("3cc792ad165167859918848c606e27cb", "can be reached at", None),
    ],
    ids=["pcmag", "vanityfair", "bostonglobe"],
)
def test_dev_pages_lose_their_furniture(reader: OfflineReader, page_id: str, gone: str, first: str | None) -> None:
    page = {p.id: p for p in naeb.pages("dev")}[page_id]
    body = reader.raw(naeb.html_pages()[page_id], page.url).body or ""
    assert gone not in body and "\n\n\n" not in body
    if first is not None:
        assert body.startswith(first)
    assert naeb.page_f1(page.body, body) > 0.9


@pytest.mark.parametrize("page_id", ["f37c24cc9338180ce9971b9993da592a", "4170eb0a3ccae8e7f620b9da99659dee"])
def test_a_teaser_gives_way_to_the_fallbacks_longer_text(reader: OfflineReader, page_id: str) -> None:
    # tennis.com (dev): trafilatura reads the story's header block (kicker, standfirst, date), under
    # 400 characters; the page's JSON-LD articleBody holds the story.
    page = {p.id: p for p in naeb.pages("dev")}[page_id]
    raw = reader.raw(naeb.html_pages()[page_id], page.url)
    assert raw.body_method != "trafilatura"
    assert naeb.page_f1(page.body, raw.body or "") > 0.9


_WIRE_PAGE = """<html><head><title>Minister resigns</title>
<meta name="description" content="The minister quit after a vote of no confidence in parliament."></head>
<body><div class="header"><h1>Minister resigns</h1>
<h2 class="dek">The minister quit after a vote of no confidence in parliament.</h2></div>
<div class="menu"><a href="/a">World</a> <a href="/b">Business</a></div>
<article><p>{first}</p>
<p>The vote followed weeks of pressure over the budget, and the opposition had promised to bring it.</p>
<p>Her party said a successor would be named within days, and that the coalition would hold.</p>
<p>Analysts said the government could survive until the election due next spring.</p>
</article></body></html>"""


@pytest.mark.parametrize(
    ("first", "opens_with_standfirst"),
    [("The minister of finance resigned on Tuesday after losing a vote in parliament by twelve votes.", True),
     # a wire dateline opens the body: the clean pipeline splits it from the first paragraph
     ("DUBLIN (AP) — The minister of finance resigned on Tuesday after losing a vote in parliament.", False)],
    ids=["standfirst", "dateline-first"],
)
def test_the_standfirst_never_goes_before_a_dateline(reader: OfflineReader, first: str, opens_with_standfirst: bool) -> None:
    html = _WIRE_PAGE.format(first=first).encode()
    article = reader.read(html, f"{OFFLINE_ORIGIN}/world/minister-resigns")
    assert (article.body or "").startswith("The minister quit after") is opens_with_standfirst
    assert (article.dateline == "DUBLIN") is not opens_with_standfirst
