"""Credits, datelines and bylines: who supplied an article and where it was filed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from newscrawl.text import normalize_text


@dataclass(frozen=True)
class SiteCredit:
    """How a site names itself in its copyright lines (a spider's ``site_credit``): ``name`` is
    the credit of its own stories, ``pattern`` (a case-insensitive regex of whole words) finds
    any of its names or its publisher's in a line ("©2021 GPlusMedia Inc." is Japan Today's)."""

    name: str
    pattern: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(rf"\b(?:{self.pattern})\b", re.IGNORECASE))

    def names(self, text: str) -> bool:
        """Whether ``text`` names the site."""
        return self._regex.search(text) is not None


# Canonical agency name -> aliases. Upper-case acronyms are matched case-sensitively so that
# "AP" cannot fire on "Japan", "APEC" or "ap" in a URL; full names are case-insensitive.
_WIRES: dict[str, tuple[str, str | None]] = {
    "Reuters": (r"reuters", None),
    "AP": (r"(?:the )?associated press", r"AP"),
    "AFP": (r"agence france[- ]presse", r"AFP"),
    "Kyodo": (r"kyodo(?: news)?", None),
    "Jiji": (r"jiji(?: press)?", None),
    "Bloomberg": (r"bloomberg(?: news)?", None),
    "Yonhap": (r"yonhap(?: news agency)?", None),
    "CNA": (r"central news agency", r"CNA"),
    "Xinhua": (r"xinhua(?: news agency)?", None),
    "dpa": (r"deutsche presse-agentur|dpa", None),
    "EFE": (r"agencia efe", r"EFE"),
    "ANSA": (r"agenzia nazionale stampa associata", r"ANSA"),
    "Anadolu": (r"anadolu(?: agency| ajansi)?", None),
    "PTI": (r"press trust of india", r"PTI"),
    "Bernama": (r"bernama", None),
}
#: The canonical names of the news agencies above, as ``credit`` stores them.
WIRE_AGENCIES = frozenset(_WIRES)


def _alias_re(name: str, *, whole: bool) -> re.Pattern[str]:
    """Compile the aliases of one wire, either to search inside text or to match it whole."""
    words, acronym = _WIRES[name]
    parts = [f"(?i:{words})"] + ([acronym] if acronym else [])
    body = "|".join(parts)
    return re.compile(f"(?:{body})" if whole else rf"\b(?:{body})\b")


_WIRE_SEARCH = {name: _alias_re(name, whole=False) for name in _WIRES}
# Every wire's search pattern in one alternation, in name order: the leftmost match is the first
# wire mentioned, and at one position the first alternative is the least name, as with
# ``min((start, name))`` over the searches one by one (one scan instead of fifteen).
_ANY_WIRE = re.compile("|".join(f"(?P<{name}>{_WIRE_SEARCH[name].pattern})" for name in sorted(_WIRES)))
_WIRE_WHOLE = {name: _alias_re(name, whole=True) for name in _WIRES}

# After the word "Copyright" a notice goes on with a symbol, a year or a capitalised holder.
_COPYRIGHT_START = re.compile(r"(?:©|\([cC]\)|(?i:copyright)\s+(?:©|\([cC]\)|\d{4}|[A-Z]))")
_MAX_CREDIT_LEN = 300  # the AP notice, the longest seen, is ~150 characters

# What surrounds the holder's name in a copyright notice.
_NOTICE_NOISE = re.compile(
    r"©|\(c\)|\bcopyright\b|\b\d{4}(?:\s*[-–]\s*\d{4})?\b|\ball rights reserved\b.*$",
    re.IGNORECASE,
)


def is_credit_line(paragraph: str) -> bool:
    """Tell whether a paragraph is a copyright notice ("©…", "(c)…", "Copyright 2021…")."""
    text = normalize_text(paragraph)
    # Length is the guard against a prose paragraph that happens to open with "©".
    return len(text) <= _MAX_CREDIT_LEN and _COPYRIGHT_START.match(text) is not None


def split_credit_lines(paragraphs: Sequence[str]) -> tuple[list[str], list[str]]:
    """Remove the trailing copyright paragraphs; return (remaining, removed in order)."""
    end = len(paragraphs)
    while end and is_credit_line(paragraphs[end - 1]):
        end -= 1
    return list(paragraphs[:end]), list(paragraphs[end:])


def _find_wire(text: str) -> str | None:
    """Return the wire mentioned first in ``text``, if any."""
    match = _ANY_WIRE.search(text)
    return match.lastgroup if match else None


def normalize_credit(text: str, site: SiteCredit | None = None) -> str | None:
    """Map a credit, copyright notice or byline to one canonical source name, or None
    (``site``: the crawled site's own names, which map to its ``name``)."""
    text = normalize_text(text)
    if not text:
        return None
    wire = _find_wire(text)
    if wire is not None:
        return wire
    if site is not None and site.names(text):
        return site.name
    if not is_credit_line(text):
        return None
    holder = _NOTICE_NOISE.sub(" ", text)
    holder = normalize_text(holder).strip(" .,;:-–—")
    return holder or None


def pick_credit(lines: Sequence[str], site: SiteCredit | None = None) -> str | None:
    """Choose the source of an article from its credit lines.

    A wire wins (the first in order), then any other named holder, then the site itself
    (``site``): "©2021 GPlusMedia Inc." ends every Japan Today page whoever wrote the story.
    """
    names = [n for n in (normalize_credit(line, site) for line in lines) if n is not None]
    own = site.name if site is not None else None
    for preferred in (lambda n: n in _WIRES, lambda n: n != own, lambda n: True):
        for name in names:
            if preferred(name):
                return name
    return None


_UPPER = "A-ZÀ-ÖØ-Þ"
_CITY_WORD = rf"[{_UPPER}][{_UPPER}.']*(?:-[{_UPPER}][{_UPPER}.']*)*"
_DATELINE = re.compile(
    rf"(?P<city>{_CITY_WORD}(?:,? {_CITY_WORD})*)"
    r"(?:, (?P<region>[A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)*))?"
    # Malay Mail style: "PUTRAJAYA, Nov 22 — …" (the filing date after the place).
    r"(?:,? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)[a-z]*\.? \d{1,2})?"
    r"(?: ?\((?P<agency>[^()]{1,40})\))?"
    # A lone hyphen must stand between spaces, else "COVID-19 cases…" would be a dateline.
    r"(?: ?(?:—|–|--) ?| - )"
    # Datelines open a sentence; "NATO — the alliance…" continues one.
    r"(?P<rest>[\"“‘'(\d" + _UPPER + r"].*)"
)
_MAX_PLACE_LEN = 40


def split_dateline(paragraph: str) -> tuple[str | None, str | None, str]:
    """Split "CITY[, Region] [(AGENCY)] — text" into (city, agency, text).

    No dateline gives (None, None, paragraph). The agency is canonicalised with
    ``normalize_credit`` (None when absent or unknown).
    """
    text = normalize_text(paragraph)
    m = _DATELINE.fullmatch(text)
    if m is None:
        return None, None, paragraph
    place = m.group("city") + (m.group("region") or "")
    if len(place) > _MAX_PLACE_LEN:
        return None, None, paragraph
    agency = normalize_credit(m.group("agency")) if m.group("agency") else None
    return m.group("city"), agency, m.group("rest")


_BY = re.compile(r"by\s+(?P<names>.+)", re.IGNORECASE)
_DESK_SEP = re.compile(r"\||\s/\s")
_NAME_SEP = re.compile(r"\s*(?:,\s*and\s+|,|\s+and\s+|\s*&\s*)\s*", re.IGNORECASE)
_NAME_PARTICLES = {
    "al", "bin", "da", "de", "del", "der", "di", "dos", "du", "la", "le", "van", "von",
}
_MAX_NAME_WORDS = 5


def _is_agency(part: str) -> bool:
    """Tell whether a byline part is just an agency ("Associated Press")."""
    return any(rx.fullmatch(part) for rx in _WIRE_WHOLE.values())


def _whole_wire(text: str) -> str | None:
    """The canonical wire when ``text`` is nothing but a wire's name ("Associated Press" -> "AP")."""
    return next((w for w, rx in _WIRE_WHOLE.items() if rx.fullmatch(text)), None)


def _looks_like_name(part: str) -> bool:
    """Tell whether ``part`` reads as a person's name: a few capitalised words."""
    words = part.split()
    return 0 < len(words) <= _MAX_NAME_WORDS and all(
        w[0].isupper() or w in _NAME_PARTICLES for w in words
    )


def split_byline(text: str) -> tuple[list[str], list[str]]:
    """Return (people, canonical wires) of a "By A, B and C" byline; ([], []) when it is not one.

    "By Reuters" gives ([], ["Reuters"]); "By A | AP" and "By A, Associated Press" give
    (["A"], ["AP"]); "Reuters Staff" is a person because it is the credit Reuters gives its own desk.
    """
    text = normalize_text(text)
    m = _BY.fullmatch(text)
    if m is None:
        return [], []
    # "By A | AP", "By A and B / Yomiuri Shimbun Staff Writers": the desk follows the names.
    names_part, *desks = _DESK_SEP.split(m.group("names"))
    parts = [p.strip(" .") for p in _NAME_SEP.split(names_part)]
    names = [p for p in parts if p and not _is_agency(p)]
    # "By Monday, the ministry said…" is prose: one non-name part disqualifies the line.
    if not all(_looks_like_name(p) for p in names):
        return [], []
    wires = [w for w in map(_whole_wire, parts + [d.strip(" .") for d in desks]) if w]
    return names, list(dict.fromkeys(wires))


def parse_byline(text: str) -> list[str]:
    """Return the author names of a "By A, B and C" byline; [] when it is not one.

    Agencies named in the byline ("By A | AP", "By A, Associated Press") are dropped;
    "Reuters Staff" is kept because it is the credit Reuters gives its own desk.
    """
    return split_byline(text)[0]


#: A byline near the headline is one short line; longer text there is a standfirst or the story.
MAX_BYLINE_LEN = 120
#: "By …", or a line short enough to be a wire's name alone (the longest is 34 characters).
_MAY_BE_BYLINE = re.compile(r"\W*(?:by\W|.{1,40}$)", re.IGNORECASE | re.DOTALL)


def headline_byline(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """(people, wires) of the first byline among the text lines printed near a headline.

    A line is a byline when it reads "By A and B" (people, agencies split off), "By Reuters"
    (a wire), or is nothing but a wire's name ("AP", "Kyodo News"). Dates, datelines, photo
    captions and comment counts around the headline are skipped; ([], []) when none is found.
    """
    for line in lines:
        if len(line) > MAX_BYLINE_LEN * 2 or not _MAY_BE_BYLINE.match(line):
            continue  # cheap first: most lines near a headline are dates, places and captions
        line = normalize_text(line)
        if not line or len(line) > MAX_BYLINE_LEN:
            continue
        people, wires = split_byline(line)
        if people or wires:
            return people, wires
        wire = _whole_wire(line)
        if wire:
            return [], [wire]
    return [], []


def split_agencies(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split author names into (people, canonical wires): "Associated Press" is a credit, not a person."""
    people: list[str] = []
    wires: list[str] = []
    for name in names:
        wire = _whole_wire(normalize_text(name))
        if wire is None:
            people.append(name)
        elif wire not in wires:
            wires.append(wire)
    return people, wires


_PLACE = re.compile(rf"{_CITY_WORD}(?: {_CITY_WORD})*")


def split_agency_line(text: str) -> tuple[str | None, str | None]:
    """Read a supplier line printed apart from the body: (canonical wire, PLACE).

    "AFP, MANILA" -> ("AFP", "MANILA") (Taipei Times); "JIJI" -> ("Jiji", None) (The Japan
    Times); "Staff writer, with CNA" -> ("CNA", None); a staff byline gives (None, None).
    """
    text = normalize_text(text)
    wire = _find_wire(text) if text else None
    if wire is None:
        return None, None
    parts = [p.strip() for p in text.split(",")]
    place = next((p for p in parts[1:] if _PLACE.fullmatch(p) and not _find_wire(p)), None)
    return wire, place
