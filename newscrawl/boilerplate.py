"""Boilerplate: the paragraphs of page chrome a site prints around its articles, declared per site and stripped by the clean pipeline."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from newscrawl.text import normalize_paragraphs, normalize_text


def _merge(*parts: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    merged: dict[str, tuple[str, ...]] = {}
    for part in parts:
        for kind, patterns in part.items():
            merged[kind] = (*merged.get(kind, ()), *patterns)
    return merged


class Boilerplate:
    """Which paragraphs of a body are chrome, by three kinds of rule (regexes, case-insensitive
    where noted), each rule under a kind name counted as ``clean/boilerplate/<kind>``:

    - ``whole``: units that make up a whole paragraph. A paragraph is chrome only when units
      cover all of it ("No Comment Login to comment" is two units): prose merely mentioning
      tickets, surveys or comments keeps its place. Case-insensitive.
    - ``tails``: sentences that open a block of chrome glued onto the end of a real paragraph
      (nothing real ever follows them): everything from the marker on goes. The marker must
      open a sentence. Case-sensitive, so only wordings no reporter writes qualify.
    - ``block_headers``: a paragraph matching one starts a cross-promotion block whose cards
      look like prose one by one: it and every later paragraph go (kind ``related``).

    A spider declares its site's rules as ``boilerplate``; ``a + b`` holds both sets.
    """

    def __init__(
        self,
        whole: Mapping[str, Sequence[str]] | None = None,
        tails: Mapping[str, Sequence[str]] | None = None,
        block_headers: Sequence[str] = (),
    ) -> None:
        self.whole = _merge(whole or {})
        self.tails = _merge(tails or {})
        self.block_headers = tuple(block_headers)
        self._compile()

    def __add__(self, other: Boilerplate) -> Boilerplate:
        return Boilerplate(_merge(self.whole, other.whole), _merge(self.tails, other.tails),
                           (*self.block_headers, *other.block_headers))

    def __repr__(self) -> str:
        return f"Boilerplate(kinds={sorted({*self.whole, *self.tails})}, block_headers={len(self.block_headers)})"

    def _compile(self) -> None:
        # Group names must be identifiers: kinds such as "site-footer" are spelt with "_" inside.
        headers = [*self.block_headers]
        whole = {**self.whole, "related": (*headers, *self.whole.get("related", ()))} if headers else self.whole
        any_unit = "|".join(p for patterns in whole.values() for p in patterns)
        self._whole_re = re.compile(
            "(?:" + "|".join(f"(?P<{k.replace('-', '_')}>{'|'.join(v)})" for k, v in whole.items())
            + f")(?: (?:{any_unit}))*",
            re.IGNORECASE,
        ) if whole else None
        self._tail_re = re.compile(
            r"(?:^|(?<=[.!?\"”’)])\s+)(?P<tail>"
            + "|".join(f"(?P<{k.replace('-', '_')}>{'|'.join(v)})" for k, v in self.tails.items())
            + ")"
        ) if self.tails else None
        # Any marker anywhere: a search ~8x cheaper than the sentence-opening one, which most
        # paragraphs fail anyway.
        self._tail_any_re = re.compile(
            "|".join(p for patterns in self.tails.values() for p in patterns)
        ) if self.tails else None
        self._block_re = re.compile("|".join(headers), re.IGNORECASE) if headers else None

    def _tail_start(self, paragraph: str) -> tuple[int, str] | None:
        """(offset, kind) of the first tail marker opening a sentence, if any."""
        if self._tail_re is None or self._tail_any_re is None or self._tail_any_re.search(paragraph) is None:
            return None
        m = self._tail_re.search(paragraph)
        if m is None:
            return None
        kind = next(k for k, v in m.groupdict().items() if v is not None and k != "tail")
        return m.start("tail"), kind.replace("_", "-")

    def _kind(self, text: str, tail: tuple[int, str] | None) -> str | None:
        if self._whole_re is not None and (m := self._whole_re.fullmatch(text)):
            return next(k for k, v in m.groupdict().items() if v is not None).replace("_", "-")
        if tail is not None and tail[0] == 0:
            return tail[1]
        return None

    def kind(self, paragraph: str) -> str | None:
        """The kind of chrome ``paragraph`` is (a paragraph of several units takes its first
        one's), or None for article text."""
        text = normalize_text(paragraph)
        return self._kind(text, self._tail_start(text))

    def strip(self, paragraphs: Sequence[str]) -> tuple[list[str], list[str]]:
        """The paragraphs kept (normalised), and the kinds removed: one per removed paragraph or
        cut-off tail, in order."""
        return self.strip_normalized(normalize_paragraphs(paragraphs))

    def strip_normalized(self, paragraphs: Sequence[str]) -> tuple[list[str], list[str]]:
        """:meth:`strip` of paragraphs already normalised (``text.split_paragraphs``)."""
        if self._whole_re is None and self._tail_re is None:
            return list(paragraphs), []
        kept: list[str] = []
        removed: list[str] = []
        in_related_block = False
        for text in paragraphs:
            if in_related_block or (self._block_re is not None and self._block_re.fullmatch(text)):
                in_related_block = True
                removed.append("related")
                continue
            tail = self._tail_start(text)  # one search serves the whole-paragraph and the tail test
            kind = self._kind(text, tail)
            if kind is not None:
                removed.append(kind)
                continue
            if tail is not None:
                text = text[: tail[0]].rstrip()
                removed.append(tail[1])
            kept.append(text)
        return kept, removed


#: No rules: every paragraph is kept.
NO_BOILERPLATE = Boilerplate()

#: Site-independent page furniture, in words no article paragraph consists of: comment-form,
#: share and follow buttons, newsletter prompts, comment counts. Every spider's default.
GENERIC_BOILERPLATE = Boilerplate(
    whole={
        "login": [
            r"no comments?",
            r"log ?in to (?:comment|leave a comment)",
            r"register ?/ ?log ?in",
            r"forgot (?:your )?password\??",
            r"user registration",
        ],
        "social": [
            r"(?:share|tweet)(?: (?:this|it))?(?: (?:article|story|page))?"
            r"(?: (?:on|to|via) (?:facebook|twitter|x|line|linkedin|reddit|whatsapp|email))?[.!:]?",
            r"follow us on (?:facebook|twitter|x|instagram|line|linkedin)"
            r"(?:(?:,| and| or) (?:facebook|twitter|x|instagram|line|linkedin))*[.!]?",
        ],
        "newsletter": [
            r"newsletter sign ?-?up(?: register ?/ ?log ?in)?",
            r"subscribe to (?:our )?newsletter[.!]?",
        ],
        "comments": [
            r"\d[\d,]* comments?",
        ],
    },
)
